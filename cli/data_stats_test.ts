import assert from "node:assert/strict";
import { generateDataset } from "../lib/data/mod.ts";
import { main } from "./data_stats.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

Deno.test("data:stats prints counts per split and class and writes the CSV tables", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli_stats_" });
  try {
    const info = await generateDataset(`${dir}/data`, { seed: 2, train: 4, val: 2 });
    const s = capture();
    assert.equal(await main(["--data", `${dir}/data`, "--csv", `${dir}/csv`], s.io), 0, s.err.join("\n"));
    const row = (split: "train" | "val") => {
      const b = info.boxes[split];
      return [split, info.images[split], b.face + b.face_mask, b.face_mask, b.face].map((v) => String(v).padStart(10))
        .join("");
    };
    assert.ok(s.out.includes(row("train")), s.out.join("\n"));
    assert.ok(s.out.includes(row("val")));
    const summary = (await Deno.readTextFile(`${dir}/csv/summary.csv`)).trim().split("\n");
    assert.equal(summary[0], "split,images,boxes,face_mask,face");
    const b = info.boxes.train;
    assert.equal(summary[1], `train,4,${b.face + b.face_mask},${b.face_mask},${b.face}`);
    const boxes = (await Deno.readTextFile(`${dir}/csv/boxes.csv`)).trim().split("\n");
    assert.equal(boxes.length - 1, Object.values(info.boxes).flatMap(Object.values).reduce((x, y) => x + y, 0));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data:stats: --help exits 0", async () => {
  const h = capture();
  assert.equal(await main(["--help"], h.io), 0);
  assert.match(h.out[0], /^Usage: deno task data:stats/);
});
