import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";

Deno.test("danfo: importing it through lib/util/danfo.ts keeps tfjs 4.22's cpu kernels and gradients", async () => {
  const ops = ["Conv2D", "Relu", "Softmax", "Sum", "Concat", "DepthwiseConv2dNative", "BatchMatMul"];
  const grads = ops.map((op) => tf.getGradient(op)?.gradFunc);
  const kernels = new Map(tf.getKernelsForBackend("cpu").map((k) => [k.kernelName, k.kernelFunc]));
  assert.ok(grads.every((g) => typeof g === "function"));
  assert.ok(kernels.size > 100);
  const { dfd } = await import("./danfo.ts");
  assert.deepEqual(new dfd.DataFrame({ a: [1, 2] }).shape, [2, 1]);
  ops.forEach((op, i) => assert.equal(tf.getGradient(op)?.gradFunc, grads[i], `gradient of ${op} was replaced`));
  const after = tf.getKernelsForBackend("cpu");
  assert.equal(after.length, kernels.size);
  for (const k of after) assert.equal(k.kernelFunc, kernels.get(k.kernelName), `cpu kernel ${k.kernelName} replaced`);
});

Deno.test("danfo: importing it prints none of the second tfjs's registration warnings", async () => {
  const code = `await import("./lib/util/danfo.ts"); console.error("done");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.match(text, /done/);
  assert.doesNotMatch(text, /already registered/);
});

Deno.test("danfo: a plain import of danfojs-node would replace them (the guard is needed)", async () => {
  // Runs in a child process so this test's own registries stay clean.
  const code = `import * as tf from "@tensorflow/tfjs";
const g = tf.getGradient("Conv2D").gradFunc;
await import("danfojs-node");
console.log(tf.getGradient("Conv2D").gradFunc === g ? "kept" : "replaced");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "replaced");
});
