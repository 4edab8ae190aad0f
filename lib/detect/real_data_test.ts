import assert from "node:assert/strict";
import { scanSplit } from "../data/dataset.ts";
import { matchBatch, matchPriors } from "./match.ts";
import { generatePriors, SSDV2_PRIORS } from "./priors.ts";
import { decodeBoxes } from "./boxes.ts";

const DATA = Deno.env.get("FACEMASK_DATA");

Deno.test({
  name: "real data: every val box is matched to priors that decode back to it; matching is fast",
  ignore: !DATA,
  fn: async () => {
    const { records } = await scanSplit(DATA!, "val");
    assert.ok(records.length > 0);
    const priors = generatePriors(SSDV2_PRIORS);
    const P = priors.length / 4;
    let boxes = 0, unmatched = 0, positives = 0;
    const t0 = performance.now();
    const m = matchBatch(records.map((r) => r.boxes), records.map((r) => r.labels), { priors });
    const ms = performance.now() - t0;
    records.forEach((r, i) => {
      const labels = m.labels.subarray(i * P, (i + 1) * P);
      const offsets = m.offsets.subarray(i * P * 4, (i + 1) * P * 4);
      const decoded = decodeBoxes(offsets, priors);
      const hit = new Array(r.boxes.length).fill(false);
      for (let p = 0; p < P; p++) {
        if (!labels[p]) continue;
        positives++;
        // the decoded target of a positive prior is one of the image's boxes with that box's label
        const g = r.boxes.findIndex((b, k) =>
          r.labels[k] === labels[p] && b.every((v, j) => Math.abs(v - decoded[p * 4 + j]) < 1e-4)
        );
        assert.ok(g >= 0, `${r.id}: prior ${p} decodes to no ground-truth box`);
        hit[g] = true;
      }
      boxes += r.boxes.length;
      unmatched += hit.filter((h) => !h).length;
    });
    // Only a box that lost its best prior to a later box and overlaps no other prior by 0.45 stays unmatched (SSD's
    // rule, kept from the public code): tiny crowded faces. Measured: 4 of 1,625 val boxes, 74 of 7,238 train boxes.
    assert.ok(unmatched <= 0.02 * boxes, `${unmatched} of ${boxes} boxes unmatched`);
    assert.equal(matchPriors([], [], { priors }).labels.length, P);
    console.log(
      `val: ${records.length} images, ${boxes} boxes, ${(positives / boxes).toFixed(2)} positive priors per box, ` +
        `${unmatched} boxes without a prior, matching ${(ms / records.length).toFixed(2)} ms/image`,
    );
  },
});
