import assert from "node:assert/strict";
import sharp from "sharp";
import { dataChecksum, listSplits, resolveData, scanSplit } from "./dataset.ts";
import { DataError } from "./problems.ts";

const REAL = Deno.env.get("FACEMASK_DATA");

async function withTmp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "data_dataset_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function xml(w: number, h: number, objects: [string, number, number, number, number][]): string {
  const objs = objects.map(([n, a, b, c, d]) =>
    `<object><name>${n}</name><difficult>0</difficult><bndbox><xmin>${a}</xmin><ymin>${b}</ymin>` +
    `<xmax>${c}</xmax><ymax>${d}</ymax></bndbox></object>`
  ).join("");
  return `<annotation><size><width>${w}</width><height>${h}</height><depth>3</depth></size>${objs}</annotation>`;
}

async function jpeg(path: string, w: number, h: number) {
  await sharp({ create: { width: w, height: h, channels: 3, background: "#808080" } }).jpeg().toFile(path);
}

Deno.test("scanSplit pairs files, normalises and clips boxes, and reads a PNG named .jpg", async () => {
  await withTmp(async (root) => {
    await Deno.mkdir(`${root}/train`);
    await jpeg(`${root}/train/b.jpg`, 200, 100);
    await Deno.writeTextFile(
      `${root}/train/b.xml`,
      xml(200, 100, [["face", -1, 10, 50, 60], ["face_mask", 100, 0, 220, 100]]),
    );
    await sharp({ create: { width: 40, height: 20, channels: 4, background: "#ff000080" } }).png()
      .toFile(`${root}/train/a.jpg`);
    await Deno.writeTextFile(`${root}/train/a.xml`, xml(40, 20, [["mask", 4, 2, 8, 10]]));
    const { records, problems } = await scanSplit(root, "train", { verify: true });
    assert.deepEqual(problems, []);
    assert.deepEqual(records.map((r) => r.id), ["a", "b"]);
    const [a, b] = records;
    assert.equal(a.imagePath, `${root}/train/a.jpg`);
    assert.deepEqual([a.width, a.height], [40, 20]);
    assert.deepEqual(a.boxes, [[0.1, 0.1, 0.2, 0.5]]);
    assert.deepEqual(a.labels, [1]);
    assert.deepEqual(b.boxes, [[0, 0.1, 0.25, 0.6], [0.5, 0, 1, 1]]);
    assert.deepEqual(b.labels, [2, 1]);
    assert.deepEqual(b.difficult, [false, false]);
    assert.equal(b.split, "train");
    assert.deepEqual(await listSplits(root), ["train"]);
  });
});

Deno.test("scanSplit reports every kind of bad input with its file and problem, and keeps the good samples", async () => {
  await withTmp(async (root) => {
    const d = `${root}/val`;
    await Deno.mkdir(d);
    await jpeg(`${d}/good.jpg`, 64, 48);
    await Deno.writeTextFile(`${d}/good.xml`, xml(64, 48, [["face", 1, 1, 20, 20]]));
    // truncated image
    const full = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#123456" } })
      .jpeg().toBuffer();
    await Deno.writeFile(`${d}/cut.jpg`, full.subarray(0, 400));
    await Deno.writeTextFile(`${d}/cut.xml`, xml(300, 200, [["face", 1, 1, 20, 20]]));
    // non-image
    await Deno.writeTextFile(`${d}/text.jpg`, "hello");
    await Deno.writeTextFile(`${d}/text.xml`, xml(10, 10, [["face", 1, 1, 5, 5]]));
    // malformed XML
    await jpeg(`${d}/badxml.jpg`, 10, 10);
    await Deno.writeTextFile(`${d}/badxml.xml`, "<annotation><size>");
    // unknown class, inverted box, box outside
    await jpeg(`${d}/boxes.jpg`, 64, 48);
    await Deno.writeTextFile(
      `${d}/boxes.xml`,
      xml(64, 48, [["hat", 1, 1, 5, 5], ["face", 9, 1, 3, 5], ["face", 1, 9, 5, 3], ["face", 70, 1, 90, 5]]),
    );
    // orphans, size mismatch, stray file
    await Deno.writeTextFile(`${d}/lonely.xml`, xml(10, 10, []));
    await jpeg(`${d}/noxml.jpg`, 10, 10);
    await jpeg(`${d}/size.jpg`, 64, 48);
    await Deno.writeTextFile(`${d}/size.xml`, xml(48, 64, [["face", 1, 1, 5, 5]]));
    await Deno.writeTextFile(`${d}/notes.txt`, "x");

    const { records, problems } = await scanSplit(root, "val", { verify: true });
    assert.deepEqual(records.map((r) => r.id), ["good"]);
    const lines = problems.map((p) => `${p.severity} ${p.file.slice(d.length + 1)}: ${p.problem}`).sort();
    const expect = [
      /^error badxml\.xml: malformed XML/,
      /^error boxes\.xml: object 1: unknown class name 'hat'/,
      /^error boxes\.xml: object 2 \(face\): box xmax 3 <= xmin 9$/,
      /^error boxes\.xml: object 3 \(face\): box ymax 3 <= ymin 9$/,
      /^error boxes\.xml: object 4 \(face\): box \[70, 1, 90, 5\] lies wholly outside the 64x48 image$/,
      /^error cut\.jpg: corrupt or truncated image/,
      /^error lonely\.xml: XML has no image beside it/,
      /^error noxml\.jpg: image has no XML annotation beside it \(noxml\.xml\)$/,
      /^error size\.xml: <size> 48x64 disagrees with the decoded image 64x48$/,
      /^error text\.jpg: not an image \(unknown format\)$/,
      /^warning notes\.txt: ignored: neither an image nor an XML file$/,
    ];
    assert.equal(lines.length, expect.length, lines.join("\n"));
    expect.forEach((re, i) => assert.match(lines[i], re));
  });
});

Deno.test("an empty or missing split folder is an error naming the folder", async () => {
  await withTmp(async (root) => {
    await Deno.mkdir(`${root}/train`);
    assert.deepEqual((await scanSplit(root, "train")).problems, [
      { file: `${root}/train`, problem: "empty split folder: no images and no XML files", severity: "error" },
    ]);
    assert.deepEqual((await scanSplit(root, "test")).problems, [
      { file: `${root}/test`, problem: "split folder does not exist", severity: "error" },
    ]);
  });
});

Deno.test("resolveData: --data, then FACEMASK_DATA, then the default folder, then generated data", async () => {
  await withTmp(async (dir) => {
    const a = `${dir}/a`;
    const b = `${dir}/b`;
    await Deno.mkdir(a);
    await Deno.mkdir(b);
    const base = { defaultRoot: `${dir}/default`, generatedRoot: `${dir}/gen` };
    assert.deepEqual(await resolveData({ ...base, data: a, env: b }), {
      root: a,
      source: "flag",
      generated: false,
      description: `data at ${a} (from --data)`,
    });
    assert.equal((await resolveData({ ...base, env: b })).source, "env");
    assert.equal((await resolveData({ ...base, env: b })).root, b);
    await assert.rejects(resolveData({ ...base, data: `${dir}/nope` }), (e: unknown) => e instanceof DataError);
    await assert.rejects(resolveData({ ...base, env: `${dir}/nope` }), /nope: FACEMASK_DATA is not an existing folder/);
    await Deno.mkdir(`${dir}/default`);
    assert.equal((await resolveData({ ...base, env: null })).source, "default");
    await Deno.remove(`${dir}/default`);

    const counts = { seed: 3, train: 3, val: 2 };
    const g = await resolveData({ ...base, env: null, generatedCounts: counts });
    assert.equal(g.source, "generated");
    assert.equal(g.generated, true);
    assert.equal(g.root, `${dir}/gen`);
    assert.match(g.description, /^GENERATED/);
    const scanned = await scanSplit(g.root, "train");
    assert.equal(scanned.records.length, 3);
    assert.deepEqual(scanned.problems, []);
    assert.equal((await scanSplit(g.root, "val")).records.length, 2);
    // Reused when complete: a file we add survives a second call.
    await Deno.writeTextFile(`${dir}/gen/sentinel`, "x");
    await resolveData({ ...base, env: null, generatedCounts: counts });
    assert.equal(await Deno.readTextFile(`${dir}/gen/sentinel`), "x");
    // Other settings make a fresh set.
    await resolveData({ ...base, env: null, generatedCounts: { seed: 4, train: 1, val: 1 } });
    await assert.rejects(Deno.stat(`${dir}/gen/sentinel`));
    assert.equal((await scanSplit(g.root, "train")).records.length, 1);
  });
});

Deno.test("dataChecksum is SHA-256 over sorted (path, length, bytes) and sees any change", async () => {
  await withTmp(async (root) => {
    await Deno.mkdir(`${root}/val`);
    await Deno.mkdir(`${root}/train`);
    await Deno.writeTextFile(`${root}/val/x.xml`, "XY");
    await Deno.writeTextFile(`${root}/train/b.txt`, "hello");
    await Deno.writeTextFile(`${root}/.hidden`, "ignored");
    // The stream written out by hand, hashed by WebCrypto (an implementation independent of node:crypto).
    const stream = new TextEncoder().encode("train/b.txt\x005\x00hello" + "val/x.xml\x002\x00XY");
    const expected = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", stream)))
      .map((v) => v.toString(16).padStart(2, "0")).join("");
    assert.equal(await dataChecksum(root), expected);
    const onlyVal = new TextEncoder().encode("val/x.xml\x002\x00XY");
    const expectedVal = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", onlyVal)))
      .map((v) => v.toString(16).padStart(2, "0")).join("");
    assert.equal(await dataChecksum(root, { splits: ["val"] }), expectedVal);
    await Deno.writeTextFile(`${root}/val/x.xml`, "XZ");
    assert.notEqual(await dataChecksum(root), expected);
  });
});

Deno.test({
  name: "real data: every image pairs, no errors, 3,069 train / 930 val records",
  ignore: !REAL,
  fn: async () => {
    for (const [split, n] of [["train", 3069], ["val", 930]] as const) {
      const { records, problems } = await scanSplit(REAL!, split);
      assert.deepEqual(problems.filter((p) => p.severity === "error"), []);
      assert.equal(records.length, n);
      for (const r of records) {
        for (const b of r.boxes) {
          assert.ok(b[0] >= 0 && b[1] >= 0 && b[2] <= 1 && b[3] <= 1 && b[2] > b[0] && b[3] > b[1]);
        }
      }
    }
  },
});
