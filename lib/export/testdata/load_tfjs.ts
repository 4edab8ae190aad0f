/**
 * A consumer of an exported TF.js model that knows nothing of this repository: it imports only @tensorflow/tfjs
 * (so none of our layer classes is registered), adds a `file://` load handler, and loads with plain
 * `tf.loadLayersModel('file://.../model.json')`. lib/export/tfjs_test.ts runs it in a subprocess.
 *
 * usage: deno run --allow-read --allow-write load_tfjs.ts <model.json> <input.f32> <n,h,w,c> <out-prefix>
 * Writes `<out-prefix>.<k>.f32` (raw float32 of output k) and `<out-prefix>.json` (output names and shapes, the
 * model's user-defined metadata and the layer classes of the loaded topology).
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A tfjs load handler for a model.json on disk and the shards its manifest names. */
function fileHandler(jsonPath: string): tf.io.IOHandler {
  const dir = jsonPath.slice(0, jsonPath.lastIndexOf("/") + 1);
  return {
    load: async () => {
      const json = JSON.parse(await Deno.readTextFile(jsonPath)) as tf.io.ModelJSON;
      const specs: tf.io.WeightsManifestEntry[] = [];
      const parts: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) parts.push(await Deno.readFile(dir + p));
      }
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        bytes.set(p, o);
        o += p.length;
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: specs,
        weightData: bytes.buffer,
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

if (import.meta.main) {
  const [jsonPath, inputPath, shapeText, outPrefix] = Deno.args;
  if (!outPrefix) throw new Error("usage: load_tfjs.ts <model.json> <input.f32> <n,h,w,c> <out-prefix>");
  tf.io.registerLoadRouter((url) => {
    const u = Array.isArray(url) ? url[0] : url;
    // a router answers null for URLs it does not handle (tfjs' own routers do the same; its type says otherwise)
    return u.startsWith("file://") ? fileHandler(u.slice("file://".length)) : null as unknown as tf.io.IOHandler;
  });
  await tf.setBackend("cpu");
  const model = await tf.loadLayersModel(`file://${jsonPath}`);
  const shape = shapeText.split(",").map(Number);
  const raw = await Deno.readFile(inputPath);
  const x = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4), shape, "float32");
  const ys = model.predict(x) as tf.Tensor[];
  const outputs = [];
  for (let k = 0; k < ys.length; k++) {
    const data = ys[k].dataSync() as Float32Array;
    await Deno.writeFile(`${outPrefix}.${k}.f32`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    outputs.push({ name: model.outputNames[k], shape: ys[k].shape });
  }
  const layerClasses = [...new Set(model.layers.map((l) => l.getClassName()))].sort();
  await Deno.writeTextFile(
    `${outPrefix}.json`,
    JSON.stringify({ outputs, metadata: model.getUserDefinedMetadata() ?? null, layerClasses }),
  );
  tf.dispose([x, ...ys]);
  model.dispose();
}
