import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { dataChecksum, scanSplit } from "./dataset.ts";
import { generateDataset, planScene, renderScene } from "./generate.ts";
import { countBoxes } from "./stats.ts";

Deno.test("planScene: 1-6 faces of 12-200 px, inside the image, never overlapping", () => {
  for (let s = 0; s < 200; s++) {
    const scene = planScene(new Rng(s));
    assert.ok(scene.width >= 320 && scene.width <= 640 && scene.height >= 240 && scene.height <= 480);
    assert.ok(scene.faces.length >= 1 && scene.faces.length <= 6, `seed ${s}: ${scene.faces.length} faces`);
    for (const [i, f] of scene.faces.entries()) {
      const [x1, y1, x2, y2] = f.box;
      assert.ok(y2 - y1 >= 12 && y2 - y1 <= 200, `height ${y2 - y1}`);
      assert.ok(x1 >= 0 && y1 >= 0 && x2 <= scene.width && y2 <= scene.height);
      assert.ok([x1, y1, x2, y2].every(Number.isInteger));
      for (const g of scene.faces.slice(i + 1)) {
        const apart = x2 <= g.box[0] || g.box[2] <= x1 || y2 <= g.box[1] || g.box[3] <= y1;
        assert.ok(apart, `seed ${s}: faces overlap`);
      }
    }
  }
});

Deno.test("a drawn face fills its box exactly: skin just inside the left and right edges, background outside", async () => {
  let checked = 0;
  for (let s = 0; s < 6; s++) {
    const scene = planScene(new Rng(100 + s));
    const withFaces = await renderScene(scene);
    const without = await renderScene(scene, { faces: false });
    const at = (px: Uint8Array, x: number, y: number) =>
      Array.from(px.subarray((y * scene.width + x) * 3, (y * scene.width + x) * 3 + 3));
    for (const f of scene.faces) {
      const [x1, y1, x2, y2] = f.box;
      if (x2 - x1 < 16) continue;
      // The pixel row just above the centre line: clear of the eyes above and the mask or nose below.
      const y = Math.ceil((y1 + y2) / 2) - 1;
      for (const x of [x1 + 1, x2 - 2]) {
        at(withFaces, x, y).forEach((v, c) =>
          assert.ok(Math.abs(v - f.skin[c]) <= 40, `inside ${x},${y}: ${v} vs ${f.skin[c]}`)
        );
      }
      // Just outside the box: nothing of the face was painted (the background render is identical there).
      if (x1 >= 1) assert.deepEqual(at(withFaces, x1 - 1, y), at(without, x1 - 1, y));
      if (x2 < scene.width) assert.deepEqual(at(withFaces, x2, y), at(without, x2, y));
      const cx = Math.floor((x1 + x2) / 2);
      if (y1 >= 1) assert.deepEqual(at(withFaces, cx, y1 - 1), at(without, cx, y1 - 1));
      if (y2 < scene.height) assert.deepEqual(at(withFaces, cx, y2), at(without, cx, y2));
      checked++;
    }
  }
  assert.ok(checked >= 5, `checked ${checked} faces`);
});

Deno.test("generateDataset writes a deterministic, clean AIZOO-layout set labelled as generated", async () => {
  const a = await Deno.makeTempDir({ prefix: "data_gen_" });
  const b = await Deno.makeTempDir({ prefix: "data_gen_" });
  const c = await Deno.makeTempDir({ prefix: "data_gen_" });
  try {
    const info = await generateDataset(a, { seed: 9, train: 6, val: 3 });
    await generateDataset(b, { seed: 9, train: 6, val: 3 });
    await generateDataset(c, { seed: 10, train: 6, val: 3 });
    assert.equal(await dataChecksum(a), await dataChecksum(b));
    assert.notEqual(await dataChecksum(a), await dataChecksum(c));
    assert.match(await Deno.readTextFile(`${a}/README.txt`), /^GENERATED DATA - not the AIZOO/);
    const train = await scanSplit(a, "train", { verify: true });
    const val = await scanSplit(a, "val", { verify: true });
    assert.deepEqual([...train.problems, ...val.problems], []);
    assert.equal(train.records.length, 6);
    assert.equal(val.records.length, 3);
    assert.deepEqual(countBoxes([...train.records, ...val.records]), info.boxes);
    assert.match(await Deno.readTextFile(train.records[0].xmlPath), /<folder>generated<\/folder>/);
    const all = Object.values(info.boxes).flatMap((x) => Object.values(x)).reduce((s, v) => s + v, 0);
    assert.ok(all >= 9, `${all} boxes in 9 images`);
    await assert.rejects(generateDataset(a, { seed: 1, train: -1, val: 0 }), /train must be a whole number/);
  } finally {
    for (const d of [a, b, c]) await Deno.remove(d, { recursive: true });
  }
});
