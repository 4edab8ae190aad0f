import assert from "node:assert/strict";
import { timeIt } from "./model.ts";
import {
  checkProtocol,
  DEFAULT_PROTOCOL,
  median,
  protocolArgs,
  QUICK_PROTOCOL,
  timeItAsync,
  timingOf,
} from "./protocol.ts";

Deno.test("protocol: the defaults are the benchmark's documented settings, quick is the smallest", () => {
  assert.deepEqual(
    [DEFAULT_PROTOCOL.batch, DEFAULT_PROTOCOL.inferBatch, DEFAULT_PROTOCOL.minSeconds, DEFAULT_PROTOCOL.repeats],
    [16, 32, 3, 5],
  );
  assert.deepEqual([QUICK_PROTOCOL.batch, QUICK_PROTOCOL.minSeconds, QUICK_PROTOCOL.repeats], [2, 0.2, 1]);
  assert.deepEqual(timingOf(DEFAULT_PROTOCOL, "infer"), { minSeconds: 3, repeats: 5, maxIters: 1000, warmup: 2 });
  assert.deepEqual(timingOf(DEFAULT_PROTOCOL, "train").warmup, 1);
});

Deno.test("protocolArgs: every field reaches the peer script as an option", () => {
  const args = protocolArgs({ ...DEFAULT_PROTOCOL, batch: 4, warmup: { train: 3, infer: 5, inferBatch: 7 } });
  const get = (k: string) => args[args.indexOf(k) + 1];
  assert.deepEqual(
    [
      "--batch",
      "--infer-batch",
      "--min-seconds",
      "--repeats",
      "--max-iters",
      "--warmup-train",
      "--warmup-infer",
      "--warmup-batch",
    ]
      .map(get),
    ["4", "32", "3", "5", "1000", "3", "5", "7"],
  );
  assert.equal(args.length, 16);
});

Deno.test("checkProtocol: names the bad field", () => {
  assert.throws(() => checkProtocol({ ...DEFAULT_PROTOCOL, batch: 0 }), /batch must be a positive integer, got 0/);
  assert.throws(() => checkProtocol({ ...DEFAULT_PROTOCOL, repeats: 1.5 }), /repeats must be a positive integer/);
  assert.throws(() => checkProtocol({ ...DEFAULT_PROTOCOL, minSeconds: -1 }), /minSeconds must be a finite number/);
  assert.throws(
    () => checkProtocol({ ...DEFAULT_PROTOCOL, warmup: { train: -1, infer: 0, inferBatch: 0 } }),
    /warmup\.train must be an integer >= 0/,
  );
  assert.equal(checkProtocol(QUICK_PROTOCOL), QUICK_PROTOCOL);
});

Deno.test("median: odd and even counts", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /empty/);
});

Deno.test("timeItAsync: the same calls as timeIt (warm-up, windows, maxIters) and the median window", async () => {
  for (
    const opts of [{ warmup: 3, minSeconds: 0, maxIters: 5 }, { warmup: 0, minSeconds: 10, maxIters: 7, repeats: 3 }]
  ) {
    let syncCalls = 0, asyncCalls = 0;
    const a = timeIt(() => syncCalls++, opts);
    const b = await timeItAsync(() => Promise.resolve(asyncCalls++), opts);
    assert.equal(asyncCalls, syncCalls);
    assert.equal(b.iters, a.iters);
  }
  let call = 0;
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // Five windows of one call each: 1, 1, 60, 1, 1 ms; the median ignores the slow one.
  const r = await timeItAsync(() => wait(call++ === 3 ? 60 : 1), { warmup: 1, minSeconds: 0, repeats: 5 });
  assert.equal(r.iters, 5);
  assert.ok(r.seconds < 0.03, `median ${r.seconds}`);
  assert.ok(r.range[1] >= 0.05, `range ${r.range}`);
  await assert.rejects(() => timeItAsync(() => Promise.resolve(), { repeats: 0 }), /repeats/);
});
