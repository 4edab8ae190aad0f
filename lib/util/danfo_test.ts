import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";

Deno.test("danfo: loading it through lib/util/danfo.ts keeps tfjs 4.22's cpu kernels and gradients", async () => {
  const ops = ["Conv2D", "Relu", "Softmax", "Sum", "Concat", "DepthwiseConv2dNative", "BatchMatMul"];
  const grads = ops.map((op) => tf.getGradient(op)?.gradFunc);
  const kernels = new Map(tf.getKernelsForBackend("cpu").map((k) => [k.kernelName, k.kernelFunc]));
  assert.ok(grads.every((g) => typeof g === "function"));
  assert.ok(kernels.size > 100);
  const { loadDanfo } = await import("./danfo.ts");
  const dfd = await loadDanfo();
  assert.deepEqual(new dfd.DataFrame({ a: [1, 2] }).shape, [2, 1]);
  ops.forEach((op, i) => assert.equal(tf.getGradient(op)?.gradFunc, grads[i], `gradient of ${op} was replaced`));
  const after = tf.getKernelsForBackend("cpu");
  assert.equal(after.length, kernels.size);
  for (const k of after) assert.equal(k.kernelFunc, kernels.get(k.kernelName), `cpu kernel ${k.kernelName} replaced`);
});

Deno.test("danfo: loading it prints none of the second tfjs's registration warnings, nor punycode's", async () => {
  const code = `const { loadDanfo } = await import("./lib/util/danfo.ts"); await loadDanfo(); console.error("done");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.match(text, /done/);
  assert.doesNotMatch(text, /already registered/);
  assert.doesNotMatch(text, /punycode|DeprecationWarning/);
});

Deno.test("danfo: not loaded by importing the module, loaded once by loadDanfo", async () => {
  // A fresh process: this test file's other tests load danfo into this one.
  const code = `import { danfoLoaded, loadDanfo } from "./lib/util/danfo.ts";
    const before = danfoLoaded();
    const [a, b] = await Promise.all([loadDanfo(), loadDanfo()]);
    console.log(JSON.stringify([before, danfoLoaded(), a === b, a === await loadDanfo()]));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", "--ext=ts", code],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [false, true, true, true]);
});

Deno.test("withTfRegistriesKept: kernels and gradients registered while loading are undone", async () => {
  const { withTfRegistriesKept } = await import("./danfo.ts");
  const relu = tf.getKernel("Relu", "cpu")!.kernelFunc;
  const grad = tf.getGradient("Relu")!.gradFunc;
  const fake = () => {
    throw new Error("a second tfjs's kernel ran");
  };
  const value = await withTfRegistriesKept(() => {
    // What a second copy of tfjs-core does on import: the registries are global, so it overwrites.
    tf.unregisterKernel("Relu", "cpu");
    tf.registerKernel({ kernelName: "Relu", backendName: "cpu", kernelFunc: fake });
    tf.registerGradient({ kernelName: "Relu", gradFunc: fake });
    tf.registerKernel({ kernelName: "NoSuchOp", backendName: "cpu", kernelFunc: fake });
    assert.equal(tf.getKernel("Relu", "cpu")!.kernelFunc, fake);
    return Promise.resolve(42);
  });
  assert.equal(value, 42);
  assert.equal(tf.getKernel("Relu", "cpu")!.kernelFunc, relu);
  assert.equal(tf.getGradient("Relu")!.gradFunc, grad);
  assert.equal(tf.getKernel("NoSuchOp", "cpu"), undefined);
});
