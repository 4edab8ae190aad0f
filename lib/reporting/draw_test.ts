import assert from "node:assert/strict";
import { CLASS_COLORS } from "./charts.ts";
import { classColor, fitText, pictureGrid } from "./draw.ts";

// A 1x1 PNG's signature is all the grid looks at; the rest is carried through base64 untouched.
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0]);

Deno.test("pictureGrid scales boxes to the cell and lays out rows", () => {
  const svg = pictureGrid([
    { bytes: PNG, width: 400, height: 200, boxes: [[0.25, 0.5, 0.75, 1]], labels: [1], scores: [0.876], caption: "a" },
    { bytes: JPG, width: 100, height: 100, boxes: [[0, 0, 0.5, 0.5]], labels: [2], dashed: [true] },
    { bytes: PNG, width: 200, height: 100, boxes: [], labels: [] },
  ], { columns: 2, cellWidth: 200 });
  // Cell 1: image 200x100 at (0,0); box x 50..150, y 50..100 -> rect (50,50) 100x50.
  assert.ok(
    svg.includes('<rect x="50" y="50" width="100" height="50" fill="none" stroke="#1a9850" stroke-width="2"/>'),
  );
  assert.ok(svg.includes(">face_mask 0.88</text>"));
  // Cell 2 at x = 200 + gap 6 = 206, image 200x200: box 100x100, dashed, red, no score.
  assert.ok(
    svg.includes(
      '<rect x="206" y="0" width="100" height="100" fill="none" stroke="#d73027" stroke-width="2" stroke-dasharray="4 3"/>',
    ),
  );
  assert.ok(svg.includes(">face</text>"));
  assert.ok(svg.includes('href="data:image/jpeg;base64,/9j/4A=="'));
  // Row 2 starts below the taller image of row 1 (200) + caption 18 + gap 6 = 224; total = 224 + 100 + 24.
  assert.ok(svg.includes('<image x="0" y="224" width="200" height="100"'));
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="406" height="348"'));
});

Deno.test("pictureGrid rejects mismatched labels, bad sizes and unknown image formats", () => {
  assert.throws(
    () => pictureGrid([{ bytes: PNG, width: 1, height: 1, boxes: [[0, 0, 1, 1]], labels: [], caption: "x" }]),
    /1 boxes but 0 labels \(x\)/,
  );
  assert.throws(() => pictureGrid([{ bytes: PNG, width: 0, height: 1, boxes: [], labels: [] }]), /bad image size 0x1/);
  assert.throws(
    () => pictureGrid([{ bytes: new Uint8Array([1, 2]), width: 1, height: 1, boxes: [], labels: [] }]),
    /neither JPEG nor PNG/,
  );
});

Deno.test("pictureGrid draws per-box colours and texts, and no text for an empty one", () => {
  const svg = pictureGrid([{
    bytes: PNG,
    width: 100,
    height: 100,
    boxes: [[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]],
    labels: [0, 0],
    colors: ["#123456", "#abcdef"],
    texts: ["10 px", ""],
  }], { cellWidth: 100 });
  assert.ok(svg.includes('<rect x="0" y="0" width="50" height="50" fill="none" stroke="#123456" stroke-width="2"/>'));
  assert.ok(svg.includes('stroke="#abcdef"'));
  assert.ok(svg.includes(">10 px</text>"));
  assert.equal(svg.match(/<text /g)?.length, 1);
  assert.ok(!svg.includes("background"));
});

Deno.test("classColor takes lib/reporting's CLASS_COLORS by class id; grey for background and unknown ids", () => {
  assert.equal(classColor(1), CLASS_COLORS.face_mask);
  assert.equal(classColor(2), CLASS_COLORS.face);
  assert.equal(classColor(0), "#888888");
  assert.equal(classColor(7), "#888888");
});

Deno.test("fitText cuts a caption's middle to the cell width; short ones stay whole", () => {
  // 110 px at 11 px: 110 / 6.6 = 16 characters: 6 of the start, an ellipsis, 9 of the end.
  assert.equal(fitText("short", 110, 11), "short");
  const cut = fitText("13_Interview_Interview_2_People_Visible_13_107: 2 faces", 110, 11);
  assert.equal(cut, "13_Int\u2026: 2 faces");
  assert.equal(cut.length, 16);
  const svg = pictureGrid([{ bytes: PNG, width: 2, height: 1, boxes: [], labels: [], caption: "x".repeat(80) }], {
    cellWidth: 110,
  });
  assert.ok(svg.includes(`>${"x".repeat(6)}\u2026${"x".repeat(9)}</text>`));
});
