import assert from "node:assert/strict";
import { parseVocXml, readVocXml } from "./voc.ts";
import { DataError } from "./problems.ts";

function voc(objects: string, size = "<size><width>200</width><height>100</height><depth>3</depth></size>"): string {
  return `<annotation><folder>train</folder><filename>a.jpg</filename>${size}${objects}</annotation>`;
}

function obj(name: string, x1: number | string, y1: number | string, x2: number | string, y2: number | string, d = 0) {
  return `<object><name>${name}</name><difficult>${d}</difficult>` +
    `<bndbox><xmin>${x1}</xmin><ymin>${y1}</ymin><xmax>${x2}</xmax><ymax>${y2}</ymax></bndbox></object>`;
}

Deno.test("parseVocXml reads size, names, class ids, difficult and pixel boxes", () => {
  const a = parseVocXml(voc(obj("face", 10, 20, 50, 60) + obj("face_mask", 100, 5, 150, 95, 1)), { file: "a.xml" });
  assert.equal(a.filename, "a.jpg");
  assert.equal(a.width, 200);
  assert.equal(a.height, 100);
  assert.deepEqual(a.objects, [
    { name: "face", classId: 2, box: [10, 20, 50, 60], difficult: false },
    { name: "face_mask", classId: 1, box: [100, 5, 150, 95], difficult: true },
  ]);
});

Deno.test("a single object is still a list; aliases mask/unmask map to face_mask/face", () => {
  assert.deepEqual(parseVocXml(voc(obj("mask", 1, 1, 2, 2)), { file: "a.xml" }).objects.map((o) => o.classId), [1]);
  assert.deepEqual(parseVocXml(voc(obj("Unmask ", 1, 1, 2, 2)), { file: "a.xml" }).objects.map((o) => o.classId), [
    2,
  ]);
});

Deno.test("a box crossing the border is clipped, not an error", () => {
  const r = readVocXml(voc(obj("face", -1, -1, 210, 40)), { file: "a.xml" });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.annotation?.objects[0].box, [0, 0, 200, 40]);
});

Deno.test("malformed XML is an error naming the file", () => {
  assert.throws(
    () => parseVocXml("<annotation><size><width>1</width></annotation>", { file: "/d/bad.xml" }),
    (e: unknown) => e instanceof DataError && e.message.startsWith("/d/bad.xml: malformed XML"),
  );
});

Deno.test("an XML file without an <annotation> root is an error", () => {
  assert.throws(() => parseVocXml("<foo/>", { file: "f.xml" }), /f\.xml: not a VOC annotation/);
});

Deno.test("unknown class name, inverted boxes and a box wholly outside are errors, each listed", () => {
  const xml = voc(
    obj("helmet", 1, 1, 5, 5) + obj("face", 50, 10, 50, 20) + obj("face", 10, 30, 20, 29) +
      obj("face", 201, 10, 230, 20) + obj("face", -30, 10, 0, 20) + obj("face", 1, 1, 9, 9),
  );
  const r = readVocXml(xml, { file: "b.xml" });
  const msgs = r.problems.map((p) => `${p.severity}|${p.file}|${p.problem}`);
  assert.equal(msgs.length, 5);
  assert.match(msgs[0], /^error\|b\.xml\|object 1: unknown class name 'helmet'/);
  assert.match(msgs[1], /^error\|b\.xml\|object 2 \(face\): box xmax 50 <= xmin 50/);
  assert.match(msgs[2], /^error\|b\.xml\|object 3 \(face\): box ymax 29 <= ymin 30/);
  assert.match(msgs[3], /object 4 \(face\): box \[201, 10, 230, 20\] lies wholly outside the 200x100 image/);
  assert.match(msgs[4], /object 5 \(face\): box \[-30, 10, 0, 20\] lies wholly outside/);
  assert.deepEqual(r.annotation?.objects.map((o) => o.box), [[1, 1, 9, 9]]);
  assert.throws(() => parseVocXml(xml, { file: "b.xml" }), /b\.xml: object 1: unknown class name 'helmet'.*; object 2/);
});

Deno.test("a missing coordinate is an error", () => {
  assert.throws(
    () => parseVocXml(voc(obj("face", 1, "", 5, 5)), { file: "c.xml" }),
    /c\.xml: object 1 \(face\).*numeric/,
  );
});

Deno.test("missing <size> is an error alone, a warning when the decoded size is known", () => {
  assert.throws(() => parseVocXml(voc(obj("face", 1, 1, 5, 5), ""), { file: "s.xml" }), /s\.xml: missing or invalid/);
  const r = readVocXml(voc(obj("face", 1, 1, 5, 5), ""), { file: "s.xml", imageSize: { width: 40, height: 30 } });
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].severity, "warning");
  assert.equal(r.annotation?.width, 40);
});

Deno.test("<size> with the same aspect ratio as the image scales boxes; another size is an error", () => {
  // XML says 200x100, image is 100x50: boxes halve.
  const r = readVocXml(voc(obj("face", 10, 20, 50, 60)), { file: "s.xml", imageSize: { width: 100, height: 50 } });
  assert.equal(r.problems[0].severity, "warning");
  assert.deepEqual(r.annotation?.objects[0].box, [5, 10, 25, 30]);
  const bad = readVocXml(voc(obj("face", 10, 20, 50, 60)), { file: "s.xml", imageSize: { width: 100, height: 200 } });
  assert.equal(bad.annotation, null);
  assert.match(bad.problems[0].problem, /<size> 200x100 disagrees with the decoded image 100x200/);
});
