import assert from "node:assert/strict";
import type { Box } from "../types.ts";
import { Rng } from "../util/rng.ts";
import type { GroundTruthImage, ImageDetection } from "./types.ts";
import { ap11Point, apAllPoint, prCornerIndices, rankByScore, thinPrCurve, vocCurve } from "./voc.ts";

const close = (a: number | null, b: number, tol = 1e-12) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `expected ${b}, got ${a}`);

const gt = (imageId: string, boxes: Box[], difficult: boolean[] = boxes.map(() => false)): GroundTruthImage => ({
  imageId,
  boxes,
  labels: boxes.map(() => 1),
  difficult,
});
const det = (imageId: string, box: Box, score: number, label = 1): ImageDetection => ({ imageId, box, label, score });

// Three images, one class. Image a has a difficult box at [20,20,30,30].
const GTS = [
  gt("a", [[0, 0, 10, 10], [20, 20, 30, 30]], [false, true]),
  gt("b", [[0, 0, 10, 10]]),
  gt("c", [[50, 50, 60, 60]]),
];
const DETS = [
  det("a", [0, 0, 10, 10], 0.9), // hit
  det("a", [0, 0, 10, 10], 0.8), // duplicate of a taken box: false positive
  det("a", [20, 20, 30, 30], 0.7), // on the difficult box: ignored
  det("b", [0, 0, 10, 10], 0.6), // hit
  det("c", [0, 0, 10, 10], 0.5), // no overlap: false positive
  det("c", [50, 50, 60, 60], 0.4), // hit
];

Deno.test("vocCurve: hand-worked case with a duplicate and a difficult box", () => {
  const c = vocCurve(GTS, DETS, { classId: 1 });
  assert.equal(c.npos, 3);
  // Ranks without the ignored one: TP FP TP FP TP.
  assert.deepEqual(c.scores, [0.9, 0.8, 0.6, 0.5, 0.4]);
  assert.deepEqual(c.recall, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1]);
  assert.deepEqual(c.precision, [1, 1 / 2, 2 / 3, 1 / 2, 3 / 5]);
  assert.deepEqual(c.interpolated, [1, 2 / 3, 2 / 3, 3 / 5, 3 / 5]);
  // Envelope 1 on (0, 1/3], 2/3 on (1/3, 2/3], 3/5 on (2/3, 1]: 1/3 + 2/9 + 1/5 = 34/45.
  close(c.ap, 34 / 45);
  // t = 0..0.3 -> 1 (4 points), 0.4..0.6 -> 2/3 (3 points), 0.7..1 -> 3/5 (4 points): (4 + 2 + 12/5) / 11.
  close(c.ap11, 42 / 55);
});

Deno.test("vocCurve: the same box not difficult is a hit and counts in recall", () => {
  const gts = GTS.map((g) => ({ ...g, difficult: g.difficult.map(() => false) }));
  const c = vocCurve(gts, DETS, { classId: 1 });
  assert.equal(c.npos, 4);
  // TP FP TP TP FP TP over 4: envelope 1, 3/4, 3/4, 2/3 on quarter steps = 19/24.
  close(c.ap, 19 / 24);
});

Deno.test("vocCurve: ties keep input order, deterministically", () => {
  const gts = [gt("a", [[0, 0, 10, 10]])];
  const fp = det("a", [50, 50, 60, 60], 0.5);
  const tp = det("a", [0, 0, 10, 10], 0.5);
  // FP then TP: recall 0, 1 with precision 0, 1/2 -> AP 1/2. TP then FP: AP 1.
  close(vocCurve(gts, [fp, tp], { classId: 1 }).ap, 1 / 2);
  close(vocCurve(gts, [tp, fp], { classId: 1 }).ap, 1);
  close(vocCurve(gts, [fp, tp], { classId: 1 }).ap, 1 / 2);
  assert.deepEqual(rankByScore([{ score: 0.5 }, { score: 0.9 }, { score: 0.5 }]), [1, 0, 2]);
});

Deno.test("vocCurve: IoU must be strictly above the threshold; the best-overlap box decides", () => {
  // IoU exactly 1/2 is a miss.
  const c = vocCurve([gt("a", [[0, 0, 2, 1]])], [det("a", [0, 0, 1, 1], 1)], { classId: 1 });
  assert.deepEqual(c.precision, [0]);
  close(c.ap, 0);
  // Second detection overlaps the taken box most (9.8/10.2) and a free one by 9.2/10.8 > 0.5: still a false
  // positive, as in the devkit (no fall-back to the next box).
  const gts = [gt("a", [[0, 0, 10, 10], [1, 0, 11, 10]])];
  const d = vocCurve(gts, [det("a", [0, 0, 10, 10], 0.9), det("a", [0.2, 0, 10.2, 10], 0.8)], { classId: 1 });
  assert.deepEqual(d.precision, [1, 1 / 2]);
  close(d.ap, 1 / 2);
});

Deno.test("vocCurve: other classes, no detections, no ground truth", () => {
  const gts = [gt("a", [[0, 0, 10, 10]])];
  const c = vocCurve(gts, [det("a", [0, 0, 10, 10], 0.9, 2)], { classId: 1 });
  assert.equal(c.scores.length, 0);
  close(c.ap, 0);
  close(c.ap11, 0);
  const none = vocCurve(gts, [det("a", [0, 0, 10, 10], 0.9, 2)], { classId: 2 });
  assert.equal(none.npos, 0);
  assert.equal(none.ap, null);
  assert.equal(none.ap11, null);
});

Deno.test("apAllPoint / ap11Point: direct values", () => {
  close(apAllPoint([0.5, 1], [1, 0.5]), 0.5 + 0.25);
  // Recall 0.3 exactly reaches t = 0.3: t = 0..0.3 -> 1, others 0 -> 4/11.
  close(ap11Point([0.3], [1]), 4 / 11);
  close(apAllPoint([], []), 0);
});

// ---- Property test against a slow, separately written implementation ----

function slowIou(a: Box, b: Box): number {
  const x1 = Math.max(a[0], b[0]), y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[2], b[2]), y2 = Math.min(a[3], b[3]);
  const inter = x2 > x1 && y2 > y1 ? (x2 - x1) * (y2 - y1) : 0;
  const u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return u > 0 ? inter / u : 0;
}

function slowAp(gts: GroundTruthImage[], dets: ImageDetection[], cls: number): { ap: number; ap11: number } {
  const items = dets.map((d, i) => ({ d, i })).filter((x) => x.d.label === cls);
  // Selection of the next detection: highest score, then lowest input index.
  const ranked: ImageDetection[] = [];
  while (items.length) {
    let k = 0;
    for (let j = 1; j < items.length; j++) {
      if (items[j].d.score > items[k].d.score || (items[j].d.score === items[k].d.score && items[j].i < items[k].i)) {
        k = j;
      }
    }
    ranked.push(items.splice(k, 1)[0].d);
  }
  const used = new Set<string>();
  let npos = 0;
  for (const g of gts) g.labels.forEach((l, j) => l === cls && !g.difficult[j] && npos++);
  const outcome: ("tp" | "fp")[] = [];
  for (const d of ranked) {
    const g = gts.find((x) => x.imageId === d.imageId)!;
    let best = -1, bj = -1;
    g.boxes.forEach((b, j) => {
      if (g.labels[j] !== cls) return;
      const o = slowIou(d.box, b);
      if (o > best) [best, bj] = [o, j];
    });
    if (bj < 0 || best <= 0.5) outcome.push("fp");
    else if (g.difficult[bj]) continue;
    else if (used.has(`${d.imageId}/${bj}`)) outcome.push("fp");
    else {
      used.add(`${d.imageId}/${bj}`);
      outcome.push("tp");
    }
  }
  const rec: number[] = [], prec: number[] = [];
  outcome.forEach((_, k) => {
    const tp = outcome.slice(0, k + 1).filter((o) => o === "tp").length;
    rec.push(tp / npos);
    prec.push(tp / (k + 1));
  });
  // For every recall level reached, the best precision at that recall or above, times the recall step.
  let ap = 0, prev = 0;
  for (let k = 0; k < rec.length; k++) {
    if (rec[k] > prev) {
      ap += (rec[k] - prev) * Math.max(...prec.filter((_, j) => rec[j] >= rec[k]));
      prev = rec[k];
    }
  }
  let ap11 = 0;
  for (const t of [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]) {
    ap11 += Math.max(0, ...prec.filter((_, j) => rec[j] >= t)) / 11;
  }
  return { ap, ap11 };
}

Deno.test("vocCurve: agrees with a slow implementation on random data (with ties and difficult boxes)", () => {
  const rng = new Rng(7);
  const randBox = (): Box => {
    const x = rng.uniform(0, 0.8), y = rng.uniform(0, 0.8);
    return [x, y, x + rng.uniform(0.05, 0.2), y + rng.uniform(0.05, 0.2)];
  };
  let compared = 0;
  for (let trial = 0; trial < 300; trial++) {
    const gts: GroundTruthImage[] = [];
    const dets: ImageDetection[] = [];
    for (let m = 0; m < rng.int(1, 5); m++) {
      const n = rng.int(0, 5);
      const g: GroundTruthImage = { imageId: `img${m}`, boxes: [], labels: [], difficult: [] };
      for (let j = 0; j < n; j++) {
        g.boxes.push(randBox());
        g.labels.push(rng.int(1, 2));
        g.difficult.push(rng.chance(0.15));
      }
      gts.push(g);
      for (let k = 0; k < rng.int(0, 8); k++) {
        let box = randBox();
        if (n > 0 && rng.chance(0.6)) {
          const b = g.boxes[rng.int(0, n - 1)];
          const s = 0.03;
          box = [
            b[0] + rng.uniform(-s, s),
            b[1] + rng.uniform(-s, s),
            b[2] + rng.uniform(-s, s),
            b[3] + rng.uniform(-s, s),
          ];
        }
        dets.push({ imageId: g.imageId, box, label: rng.int(1, 2), score: rng.int(0, 5) / 5 });
      }
    }
    for (const cls of [1, 2]) {
      const fast = vocCurve(gts, dets, { classId: cls });
      if (fast.npos === 0) {
        assert.equal(fast.ap, null);
        continue;
      }
      const slow = slowAp(gts, dets, cls);
      close(fast.ap, slow.ap, 1e-12);
      close(fast.ap11, slow.ap11, 1e-12);
      compared++;
    }
  }
  assert.ok(compared > 300, `only ${compared} class cases had ground truth`);
});

Deno.test("thinPrCurve: keeps the corner ranks, and both APs of the thinned curve equal the full curve's", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 50; trial++) {
    const n = 5 + rng.int(0, 300), npos = 1 + rng.int(0, 40);
    const recall: number[] = [], precision: number[] = [], scores: number[] = [];
    let tp = 0;
    for (let i = 0; i < n; i++) {
      if (tp < npos && rng.chance(0.3)) tp++;
      recall.push(tp / npos);
      precision.push(tp / (i + 1));
      scores.push(1 - i / n);
    }
    const interpolated = precision.map((_, i) => Math.max(...precision.slice(i)));
    const curve = { name: "c", npos, scores, recall, precision, interpolated, ap: null, ap11: null };
    const thin = thinPrCurve(curve);
    assert.equal(thin.rankedDetections, n);
    assert.ok(thin.recall.length <= Math.min(n, 2 * tp + 2));
    assert.ok(Math.abs(apAllPoint(thin.recall, thin.precision) - apAllPoint(recall, precision)) < 1e-12);
    assert.ok(Math.abs(ap11Point(thin.recall, thin.precision) - ap11Point(recall, precision)) < 1e-12);
  }
  // TP FP FP TP FP TP: ranks 0, 2, 3, 4, 5 stay (rank 1 is the inside of a run of false positives).
  assert.deepEqual(prCornerIndices([1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1]), [0, 2, 3, 4, 5]);
  assert.deepEqual(prCornerIndices([]), []);
});
