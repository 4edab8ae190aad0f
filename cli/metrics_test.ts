import assert from "node:assert/strict";

const run = async (args: string[]) => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./metrics.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
};

Deno.test("cli metrics: prints exactly { voc, map, map11, coco } for small COCO files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // One 10x10 face_mask (small) and one 120x120 face (large) in a 400x300 image.
    const gt = {
      images: [{ id: 7, width: 400, height: 300 }],
      annotations: [
        { image_id: 7, category_id: 1, bbox: [0, 0, 10, 10] },
        { image_id: 7, category_id: 2, bbox: [100, 100, 120, 120] },
      ],
      categories: [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }],
    };
    const dets = [
      { image_id: 7, category_id: 2, bbox: [280, 0, 100, 100], score: 0.9 }, // face miss, large (10,000 px^2)
      { image_id: 7, category_id: 2, bbox: [100, 100, 120, 120], score: 0.8 }, // face hit
      { image_id: 7, category_id: 1, bbox: [0, 0, 10, 10], score: 0.7 }, // face_mask hit
    ];
    await Deno.writeTextFile(`${dir}/gt.json`, JSON.stringify(gt));
    await Deno.writeTextFile(`${dir}/dets.json`, JSON.stringify(dets));
    const r = await run(["--gt", `${dir}/gt.json`, "--dets", `${dir}/dets.json`, "--pr-dir", `${dir}/pr`]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), ["voc", "map", "map11", "coco"]);
    assert.deepEqual(Object.keys(out.coco), ["ap", "ap50", "ap75", "small", "medium", "large"]);
    // face: FP then TP -> precision 1/2 at recall 1: all-point 1/2, 11-point 1/2; face_mask: 1.
    assert.deepEqual(out.voc, { face_mask: { ap: 1, ap11: 1 }, face: { ap: 0.5, ap11: 0.5 } });
    assert.equal(out.map, 0.75);
    // COCO: both hits are exact, so every threshold gives the VOC picture: face 1/2 on all 101 recall points.
    assert.ok(Math.abs(out.coco.ap - 0.75) < 1e-12);
    // small: only face_mask has a small box (AP 1); large: only face, and the large miss counts (1/2); a miss
    // outside the range would be ignored, as in pycocotools. medium: no ground truth.
    assert.equal(out.coco.small, 1);
    assert.equal(out.coco.medium, null);
    assert.ok(Math.abs(out.coco.large - 0.5) < 1e-12);
    const pr = JSON.parse(await Deno.readTextFile(`${dir}/pr/pr_face.json`));
    assert.deepEqual(pr.precision, [0, 0.5]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli metrics: --help, missing options and bad files", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--gt FILE/);
  const missing = await run(["--gt", "x.json"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^metrics: --gt FILE \(or --gt-voc DIR\) and --dets FILE are required .*\n$/);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/gt.json`, JSON.stringify({ images: [], annotations: [] }));
    const bad = await run(["--gt", `${dir}/gt.json`, "--dets", `${dir}/gt.json`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /gt\.json: field "categories" must be an array/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli metrics: --gt-voc DIR scores as --gt with the file deno task data:coco writes", async () => {
  const { generateDataset } = await import("../lib/data/generate.ts");
  const { main: dataCoco } = await import("./data_coco.ts");
  const dir = await Deno.makeTempDir();
  try {
    await generateDataset(`${dir}/data`, { seed: 23, train: 0, val: 4 });
    const quiet = { log: () => {}, error: () => {} };
    assert.equal(await dataCoco(["--data", `${dir}/data`, "--split", "val", "--out", `${dir}/gt.json`], quiet), 0);
    const gt = JSON.parse(await Deno.readTextFile(`${dir}/gt.json`));
    // Every other box shifted by half its width (IoU 1/3, a miss at 0.5): AP strictly between 0 and 1.
    const dets = gt.annotations.map((a: { image_id: string; category_id: number; bbox: number[] }, i: number) => ({
      image_id: a.image_id,
      category_id: a.category_id,
      bbox: [a.bbox[0] + (i % 2 ? a.bbox[2] / 2 : 0), a.bbox[1], a.bbox[2], a.bbox[3]],
      score: 1 - i / 100,
    }));
    await Deno.writeTextFile(`${dir}/dets.json`, JSON.stringify(dets));
    const fromFile = await run(["--gt", `${dir}/gt.json`, "--dets", `${dir}/dets.json`]);
    const fromVoc = await run(["--gt-voc", `${dir}/data`, "--split", "val", "--dets", `${dir}/dets.json`]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(fromVoc.code, 0, fromVoc.stderr);
    assert.equal(fromVoc.stdout, fromFile.stdout);
    const map = JSON.parse(fromFile.stdout).map;
    assert.ok(map > 0 && map < 1, `map ${map}`);
    const both = await run(["--gt", `${dir}/gt.json`, "--gt-voc", `${dir}/data`, "--dets", `${dir}/dets.json`]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --gt or --gt-voc, not both/);
    const noSplit = await run(["--gt-voc", `${dir}/data`, "--split", "test", "--dets", `${dir}/dets.json`]);
    assert.equal(noSplit.code, 1);
    assert.match(noSplit.stderr, /data\/test: no usable annotated images/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
