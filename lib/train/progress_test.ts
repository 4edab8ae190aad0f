import assert from "node:assert/strict";
import {
  formatDuration,
  formatProgress,
  formatTaskProgress,
  plainIntervalSeconds,
  Progress,
  progressBar,
} from "./progress.ts";

const FIELDS = {
  epoch: 3,
  epochs: 100,
  step: 48,
  steps: 96,
  loss: 4.21301,
  cls: 2.1,
  loc: 2.11301,
  lr: 0.01,
  imgPerSec: 13.24,
};

Deno.test("formatProgress, formatTaskProgress, progressBar, formatDuration", () => {
  assert.equal(
    formatProgress(FIELDS, { epoch: 62, run: 7810 }),
    "epoch 3/100 [#####.....] 48/96 steps 13.2 img/s ETA 1m02s (run 2h10m) loss 4.2130 (cls 2.1000 loc 2.1130) " +
      "lr 1.00e-2",
  );
  assert.equal(
    formatProgress({ ...FIELDS, epoch: 100 }),
    "epoch 100/100 [#####.....] 48/96 steps 13.2 img/s ETA -- loss 4.2130 (cls 2.1000 loc 2.1130) lr 1.00e-2",
  );
  assert.equal(
    formatTaskProgress("evaluating val", 320, 930, "images", 45.06, 13.5),
    "evaluating val [###.......] 320/930 images 45.1 images/s ETA 14s",
  );
  assert.equal(formatTaskProgress("x", 0, 4, "runs", null, null), "x [..........] 0/4 runs ETA --");
  assert.equal(progressBar(5, 10, 10), "[#####.....]");
  assert.equal(progressBar(0, 0, 4), "[....]");
  assert.equal(progressBar(12, 10, 4), "[####]");
  assert.deepEqual(
    [0, 44.6, 62, 3599, 3600, 7810, 90061, null, -1, NaN].map(formatDuration),
    ["0s", "45s", "1m02s", "59m59s", "1h00m", "2h10m", "1d01h", "--", "--", "--"],
  );
});

Deno.test("plainIntervalSeconds: FACEMASK_PROGRESS_SECONDS when it is a number >= 0, else 30", () => {
  const env = (v: string | undefined) => () => v;
  assert.equal(plainIntervalSeconds(env(undefined)), 30);
  assert.equal(plainIntervalSeconds(env("5")), 5);
  assert.equal(plainIntervalSeconds(env("0")), 0);
  assert.equal(plainIntervalSeconds(env("")), 30);
  assert.equal(plainIntervalSeconds(env("-1")), 30);
  assert.equal(plainIntervalSeconds(env("soon")), 30);
});

Deno.test("Progress, not a terminal: one plain line per interval, never a \\r; messages always print", () => {
  const out: string[] = [];
  let t = 0;
  const p = new Progress({ tty: false, write: (s) => out.push(s), intervalMs: 30_000, now: () => t });
  // One step a second for two 60-step epochs of 2 epochs.
  for (let epoch = 1; epoch <= 2; epoch++) {
    for (let step = 1; step <= 60; step++) {
      p.update({ ...FIELDS, epoch, epochs: 2, step, steps: 60 });
      t += 1000;
    }
    p.line(`epoch ${epoch}/2: loss 1.0000`);
  }
  const bars = out.filter((s) => s.startsWith("epoch ") && s.includes("steps"));
  // t = 0, 30, 60, 90 s (epoch 1 steps 1 and 31, epoch 2 steps 1 and 31); epoch summaries in between.
  assert.deepEqual(bars.map((s) => s.split(" [")[0] + " " + s.split("] ")[1].split(" ")[0]), [
    "epoch 1/2 1/60",
    "epoch 1/2 31/60",
    "epoch 2/2 1/60",
    "epoch 2/2 31/60",
  ]);
  assert.ok(out.every((s) => s.endsWith("\n") && !s.includes("\r")));
  assert.deepEqual(out.filter((s) => s.includes(": loss")), ["epoch 1/2: loss 1.0000\n", "epoch 2/2: loss 1.0000\n"]);
  // Step 31 of epoch 1: 30 steps in 30 s, 29 steps left in this epoch and 60 in the next.
  assert.match(bars[1], /ETA 29s \(run 1m29s\)/);
  // The first step of epoch 2 has no rate of its own yet: the previous epoch's rate (1 s a step) stands in.
  assert.match(bars[2], /ETA 59s loss/);
  assert.match(bars[0], /ETA -- loss/);
});

Deno.test("Progress, on a terminal: redrawn in place, cut to the width, ended by a message", () => {
  const tty: string[] = [];
  let t = 0;
  const q = new Progress({ tty: true, write: (s) => tty.push(s), columns: 60, now: () => t });
  q.update({ ...FIELDS, step: 1 });
  t = 2000;
  q.update({ ...FIELDS, step: 2 });
  q.line("done");
  assert.equal(tty.length, 4);
  assert.ok(tty.slice(0, 2).every((s) => s.startsWith("\r\x1b[2K") && s.length === "\r\x1b[2K".length + 59));
  assert.deepEqual(tty.slice(2), ["\n", "done\n"]);
  const wide: string[] = [];
  new Progress({ tty: true, write: (s) => wide.push(s), columns: null, now: () => t }).update(FIELDS);
  assert.equal(wide[0], `\r\x1b[2K${formatProgress(FIELDS)}`);
});

Deno.test("Progress.task: an onProgress callback with rate and ETA from its creation", () => {
  const out: string[] = [];
  let t = 10_000;
  const p = new Progress({ tty: false, write: (s) => out.push(s), intervalMs: 5000, now: () => t });
  const onProgress = p.task("evaluating val");
  for (let done = 16; done <= 160; done += 16) {
    t += 1000; // 16 images a second
    onProgress(done, 160);
  }
  assert.deepEqual(out, [
    "evaluating val [#.........] 16/160 images 16.0 images/s ETA 9s\n",
    "evaluating val [######....] 96/160 images 16.0 images/s ETA 4s\n",
  ]);
});

Deno.test("Progress: the rate is measured when a step completes, not at every micro-batch update", () => {
  const out: string[] = [];
  let t = 0;
  const p = new Progress({ tty: false, write: (s) => out.push(s), intervalMs: 0, now: () => t });
  // Two micro-batches a step, 500 ms each: a step takes 1 s.
  for (const [step, time] of [[0, 0], [1, 500], [1, 1000], [2, 1500], [2, 2000], [3, 2500]]) {
    t = time;
    p.update({ ...FIELDS, epochs: 1, epoch: 1, step, steps: 10 });
  }
  const etas = out.map((s) => /ETA (\S+)/.exec(s)![1]);
  // 1 step in 500 ms at the first completed step (9 left: 4.5 s), then 2 in 1.5 s and 3 in 2.5 s: the mean rate.
  assert.deepEqual(etas, ["--", "5s", "5s", "6s", "6s", "6s"]);
});
