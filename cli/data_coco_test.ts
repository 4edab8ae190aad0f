import assert from "node:assert/strict";
import { generateDataset } from "../lib/data/generate.ts";
import { scanSplit } from "../lib/data/dataset.ts";
import { type ImageDetection, scoreDetections, toCocoDetections } from "../lib/metrics/mod.ts";
import type { Io } from "./command_args.ts";
import { main } from "./data_coco.ts";

function capture(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, log: (l) => out.push(l), error: (l) => err.push(l) };
}

/** Runs `deno task metrics` in a process of its own and returns its exit code and parsed stdout. */
async function metricsCli(args: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./metrics.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  return {
    code: out.code,
    json: out.code === 0 ? JSON.parse(stdout) : {},
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Marks the first object of the first image with two or more boxes as difficult; returns that image's stem. */
async function markDifficult(splitDir: string): Promise<string> {
  const names = [...Deno.readDirSync(splitDir)].map((e) => e.name).filter((n) => n.endsWith(".xml")).sort();
  for (const n of names) {
    const xml = await Deno.readTextFile(`${splitDir}/${n}`);
    if ((xml.match(/<object>/g) ?? []).length >= 2) {
      await Deno.writeTextFile(`${splitDir}/${n}`, xml.replace("<difficult>0</difficult>", "<difficult>1</difficult>"));
      return n.replace(/\.xml$/, "");
    }
  }
  throw new Error(`${splitDir}: no image with two boxes`);
}

Deno.test("data:coco: a VOC split as COCO ground truth that metrics scores as lib/metrics scores the records", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await generateDataset(`${tmp}/data`, { seed: 17, train: 0, val: 6 });
    const hard = await markDifficult(`${tmp}/data/val`);
    const io = capture();
    assert.equal(await main(["--data", `${tmp}/data`, "--split", "val", "--out", `${tmp}/gt/gt.json`], io), 0);
    const records = (await scanSplit(`${tmp}/data`, "val")).records;
    const gt = JSON.parse(await Deno.readTextFile(`${tmp}/gt/gt.json`));
    const boxes = records.reduce((n, r) => n + r.boxes.length, 0);
    assert.match(io.err.at(-1)!, new RegExp(`6 images, ${boxes} boxes \\(1 difficult\\)`));
    assert.deepEqual(
      gt.images,
      records.map((r) => ({ id: r.id, file_name: `${r.id}.jpg`, width: r.width, height: r.height })),
    );
    assert.deepEqual(gt.categories, [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }]);
    assert.equal(gt.annotations.length, boxes);
    const crowd = gt.annotations.filter((a: { iscrowd: number }) => a.iscrowd === 1);
    assert.equal(crowd.length, 1);
    assert.equal(crowd[0].image_id, hard);
    assert.equal(crowd[0].difficult, 1);
    const r0 = records[0];
    const a0 = gt.annotations.filter((a: { image_id: string }) => a.image_id === r0.id)[0];
    const b = r0.boxes[0];
    const want = [b[0] * r0.width, b[1] * r0.height, (b[2] - b[0]) * r0.width, (b[3] - b[1]) * r0.height];
    a0.bbox.forEach((v: number, i: number) => assert.ok(Math.abs(v - want[i]) < 1e-9, `${v} vs ${want[i]}`));

    // Detections: a hit on the difficult box, hits on the other boxes of that image, a false positive elsewhere.
    const hardRec = records.find((r) => r.id === hard)!;
    const other = records.find((r) => r.id !== hard)!;
    const dets: ImageDetection[] = hardRec.boxes.map((box, j) => ({
      imageId: hard,
      box,
      label: hardRec.labels[j],
      score: 0.9 - 0.1 * j,
    }));
    dets.push({ imageId: other.id, box: [0.1, 0.1, 0.2, 0.2], label: hardRec.labels[1], score: 0.95 });
    const imageSizes = Object.fromEntries(records.map((r) => [r.id, { width: r.width, height: r.height }]));
    const gts = records.map((r) => ({ imageId: r.id, boxes: r.boxes, labels: r.labels, difficult: r.difficult }));
    const ours = scoreDetections(gts, dets, { imageSizes });
    // The hit on the difficult box counts neither way: dropping it changes nothing.
    assert.deepEqual(scoreDetections(gts, dets.slice(1), { imageSizes }).voc, ours.voc);
    await Deno.writeTextFile(`${tmp}/dets.json`, JSON.stringify(toCocoDetections(dets, { imageSizes })));
    const cli = await metricsCli(["--gt", `${tmp}/gt/gt.json`, "--dets", `${tmp}/dets.json`]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(ours.map! > 0 && ours.map! < 1, `map ${ours.map}`);
    assert.ok(Math.abs((cli.json.map as number) - ours.map!) < 1e-12);
    assert.ok(Math.abs((cli.json.coco as { ap: number }).ap - ours.coco.ap!) < 1e-12);
    assert.deepEqual(cli.json.voc, ours.voc);

    // Without --out the file goes to stdout.
    const toStdout = capture();
    assert.equal(await main(["--data", `${tmp}/data`], toStdout), 0);
    assert.deepEqual(JSON.parse(toStdout.out[0]), gt);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("data:coco: bad samples are listed and left out; bad arguments exit 2, missing data 1", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await generateDataset(`${tmp}/data`, { seed: 18, train: 0, val: 3 });
    const first = [...Deno.readDirSync(`${tmp}/data/val`)].map((e) => e.name).filter((n) => n.endsWith(".jpg")).sort();
    await Deno.writeTextFile(`${tmp}/data/val/${first[0]}`, "not an image");
    const io = capture();
    assert.equal(await main(["--data", `${tmp}/data`, "--out", `${tmp}/gt.json`], io), 0);
    assert.match(io.err.join("\n"), new RegExp(`${first[0]}: .*\\n.*1 problem\\(s\\) left samples out`));
    assert.equal(JSON.parse(await Deno.readTextFile(`${tmp}/gt.json`)).images.length, 2);

    const missing = capture();
    assert.equal(await main(["--data", `${tmp}/data`, "--split", "test"], missing), 1);
    assert.match(missing.err.at(-1)!, /data\/test: no usable annotated images \(.*split folder does not exist\)/);
    const bad = capture();
    assert.equal(await main(["--data", `${tmp}/data`, "--bogus"], bad), 2);
    assert.match(bad.err[0].split("\n")[0], /^data:coco: .*--bogus/);
    const help = capture();
    assert.equal(await main(["--help"], help), 0);
    assert.match(help.out[0], /usage: deno task data:coco/);
    const saved = Deno.env.get("FACEMASK_DATA");
    Deno.env.delete("FACEMASK_DATA");
    try {
      const none = capture();
      assert.equal(await main([], none), 2);
      assert.deepEqual(none.err.length, 1);
      assert.match(
        none.err[0],
        /^data:coco: --data DIR is required .*\(deno task data:coco --help lists the options\)$/,
      );
    } finally {
      if (saved !== undefined) Deno.env.set("FACEMASK_DATA", saved);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
