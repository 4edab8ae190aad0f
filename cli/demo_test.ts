import assert from "node:assert/strict";
import sharp from "sharp";
import * as tf from "@tensorflow/tfjs";
import { generatePriors as libPriors, slicePriorConfig, SSDV2_PRIORS } from "../lib/detect/priors.ts";
import { decodeDetections as libDecode } from "../lib/detect/postprocess.ts";
import { DEFAULT_VARIANCES } from "../lib/detect/boxes.ts";
import { loadImage } from "../lib/data/image.ts";
import { parseVocXml } from "../lib/data/voc.ts";
import { planScene, renderScene } from "../lib/data/generate.ts";
import { loadDetector, type PixelDetection } from "../lib/inference/mod.ts";
import { findChromium, inspectPage } from "../lib/util/devtools.ts";
import { Rng } from "../lib/util/rng.ts";
import { resizeFill } from "../results/demo/resize.js";
import {
  decodeDetections,
  generatePriors,
  jpegShrinkOnLoad,
  softmaxRows,
  toPixelDetections,
  withoutExifOrientation,
} from "../results/demo/demo.js";

const DEMO = new URL("../results/demo", import.meta.url).pathname;
const RUN = new URL("../results/ablation/branches-4-20261129-122037", import.meta.url).pathname;
const DATA = Deno.env.get("FACEMASK_DATA");
const chromium = findChromium();

/** sharp's resize as lib/data/image.ts `loadImage` runs it, on raw pixels (no JPEG shrink-on-load involved). */
async function sharpFill(data: Uint8Array, width: number, height: number, outW: number, outH: number) {
  const png = await sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return new Uint8Array(await loadImage(png, { width: outW, height: outH }));
}

/** Smooth content with 10% salt noise, so both the kernels and the clipping to 0..255 are exercised. */
function testImage(width: number, height: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let b = 0; b < 3; b++) {
        data[(y * width + x) * 3 + b] = rng.next() < 0.1
          ? rng.int(0, 255)
          : Math.floor(127.5 + 127.5 * Math.sin((x + 2 * y) / (7 + b * 5)));
      }
    }
  }
  return data;
}

function countDiff(a: Uint8Array, b: Uint8Array): { values: number; max: number } {
  assert.equal(a.length, b.length);
  let values = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d) values++;
    if (d > max) max = d;
  }
  return { values, max };
}

Deno.test("demo resize.js gives sharp's fill resize bit for bit: reduce, box pre-shrink, upsizing and mixed axes", async () => {
  // 320x240 is the identity; 321x240 a tiny reduce; 640x480 exactly 2x; 1500x1100 and 2600x1950 take the integer
  // pre-shrink (>= 4x); 2000x300 and 100x1000 shrink one axis and enlarge the other; 170x127 and 3x3 enlarge both.
  const sizes = [[320, 240], [321, 240], [640, 480], [1500, 1100], [2600, 1950], [2000, 300], [100, 1000], [170, 127], [
    3,
    3,
  ], [333, 777]];
  for (const [w, h] of sizes) {
    const data = testImage(w, h, w * 7 + h);
    const ref = await sharpFill(data, w, h, 320, 240);
    const mine = resizeFill(data, w, h, 3, 320, 240);
    assert.deepEqual(countDiff(mine, ref), { values: 0, max: 0 }, `${w}x${h}`);
  }
  // Another output size and a single band.
  const grey = testImage(90, 50, 3).filter((_, i) => i % 3 === 0);
  const png = await sharp(grey, { raw: { width: 90, height: 50, channels: 1 } }).png().toBuffer();
  const ref = new Uint8Array(await sharp(png).resize(37, 61, { fit: "fill" }).toColourspace("b-w").raw().toBuffer());
  assert.deepEqual(countDiff(resizeFill(grey, 90, 50, 1, 37, 61), ref), { values: 0, max: 0 });
  assert.throws(() => resizeFill(new Uint8Array(5), 2, 2, 3, 4, 4), /5 values for a 2x2x3 image/);
});

Deno.test({
  name: "demo resize.js matches loadImage on real validation JPEGs (decoded by sharp at full size)",
  ignore: !DATA,
  fn: async () => {
    const dir = `${DATA}/val`;
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".jpg")).sort();
    // Every 40th image: both reduced and enlarged ones come up.
    const picked = names.filter((_, i) => i % 40 === 0);
    let enlarged = 0;
    for (const name of picked) {
      const { data, info } = await sharp(`${dir}/${name}`).raw().toBuffer({ resolveWithObject: true });
      if (info.width < 320 || info.height < 240) enlarged++;
      assert.equal(jpegShrinkOnLoad(info.width, info.height, 320, 240), 1, name);
      const mine = resizeFill(new Uint8Array(data), info.width, info.height, info.channels, 320, 240);
      assert.deepEqual(countDiff(mine, await loadImage(`${dir}/${name}`)), { values: 0, max: 0 }, name);
    }
    assert.ok(enlarged > 0, "the sample holds no image smaller than the model input");
  },
});

Deno.test("demo.js jpegShrinkOnLoad follows sharp's shrink-on-load rule", () => {
  assert.equal(jpegShrinkOnLoad(640, 480, 320, 240), 1); // 2x: halved because the factor is whole
  assert.equal(jpegShrinkOnLoad(959, 719, 320, 240), 1);
  assert.equal(jpegShrinkOnLoad(960, 720, 320, 240), 2);
  assert.equal(jpegShrinkOnLoad(1280, 960, 320, 240), 2); // 4x: halved
  assert.equal(jpegShrinkOnLoad(1600, 1200, 320, 240), 4);
  assert.equal(jpegShrinkOnLoad(2560, 1920, 320, 240), 4); // 8x: halved
  assert.equal(jpegShrinkOnLoad(4000, 3000, 320, 240), 8);
  assert.equal(jpegShrinkOnLoad(4000, 300, 320, 240), 1); // the smaller factor counts
});

Deno.test("demo.js generatePriors equals lib/detect generatePriors", () => {
  const configs = [
    SSDV2_PRIORS,
    slicePriorConfig(SSDV2_PRIORS, 2, "own"),
    slicePriorConfig(SSDV2_PRIORS, 1, "carry"),
    { ...SSDV2_PRIORS, clip: true },
    { inputSize: [100, 130] as [number, number], steps: [7, 33], sizes: [[5], [40, 90]] },
  ];
  for (const c of configs) {
    const mine = generatePriors(c);
    const ref = libPriors(c);
    assert.equal(mine.length, ref.length);
    assert.deepEqual(mine, ref, JSON.stringify(c));
  }
  assert.throws(() => generatePriors({ inputSize: [240], steps: [8], sizes: [[10]] }), /inputSize/);
});

Deno.test("demo.js decodeDetections equals lib/detect decodeDetections (softmax, pre-NMS top-k, NMS, top-k)", () => {
  const priors = libPriors(SSDV2_PRIORS);
  const P = priors.length / 4;
  const rng = new Rng(11);
  for (const [threshold, preK, topK] of [[0.02, 1000, 200], [0.3, 50, 20], [0.6, 1000, 5]]) {
    const logits = new Float32Array(P * 3);
    const offsets = new Float32Array(P * 4);
    for (let i = 0; i < logits.length; i++) logits[i] = rng.uniform(-3, 3);
    for (let i = 0; i < offsets.length; i++) offsets[i] = rng.uniform(-2, 2);
    const settings = { scoreThreshold: threshold, nmsIou: 0.4, topK, preNmsTopK: preK };
    const mine = decodeDetections(logits, offsets, priors, settings, [...DEFAULT_VARIANCES]);
    const [ref] = libDecode({ logits, offsets }, { priors, ...settings });
    assert.ok(ref.length > 0);
    assert.deepEqual(mine, ref.map((d) => ({ box: [...d.box], label: d.label, score: d.score })));
  }
  assert.deepEqual(softmaxRows(new Float32Array([0, 0, Math.log(2)]), 3), new Float32Array([0.25, 0.25, 0.5]));
  const px = toPixelDetections(
    [{ box: [0.1, 0.2, 0.5, 1], label: 2, score: 0.7 }, { box: [0, 0, 1, 1], label: 1, score: 0.4 }],
    200,
    100,
    ["background", "face_mask", "face"],
    0.5,
  );
  assert.deepEqual(px, [{ label: 2, class: "face", score: 0.7, box: [20, 20, 100, 100] }]);
  assert.throws(() =>
    decodeDetections(new Float32Array(6), new Float32Array(7), priors.slice(0, 8), {
      scoreThreshold: 0,
      nmsIou: 0.4,
      topK: 1,
      preNmsTopK: 1,
    }, [0.1, 0.2]), /7 offsets for 2 priors/);
});

Deno.test("demo.js withoutExifOrientation makes a browser see the stored pixels, as sharp does", async () => {
  const raw = testImage(40, 30, 5);
  const plain = new Uint8Array(await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).jpeg().toBuffer());
  const rotated = new Uint8Array(
    await sharp(plain).withMetadata({ orientation: 6 }).jpeg().toBuffer(),
  );
  assert.equal((await sharp(rotated).metadata()).orientation, 6);
  const fixed = withoutExifOrientation(rotated);
  assert.equal((await sharp(fixed).metadata()).orientation, 1);
  assert.equal(fixed.length, rotated.length);
  assert.deepEqual(await sharp(fixed).raw().toBuffer(), await sharp(rotated).raw().toBuffer());
  assert.equal((await sharp(rotated).metadata()).orientation, 6, "the input bytes are left alone");
  // Without a tag, or not a JPEG: the same bytes.
  assert.equal(withoutExifOrientation(plain), plain);
  const png = new Uint8Array(await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).png().toBuffer());
  assert.equal(withoutExifOrientation(png), png);
});

/** The image(s) the browser test runs on, with where they come from. */
async function testImages(dir: string): Promise<{ files: string[]; source: string }> {
  let base: string;
  let source: string;
  if (DATA) {
    // test_00003047.jpg (468x326, six annotated faces): the model finds both classes on it, and the resize reduces
    // it (enlarging is covered above). Where the split lacks it: the first image (by name) annotated with both
    // classes and at least three faces, at least 400 px wide.
    const val = `${DATA}/val`;
    let pick: string | undefined = "test_00003047.jpg";
    try {
      await Deno.stat(`${val}/${pick}`);
    } catch {
      pick = undefined;
      const names = [...Deno.readDirSync(val)].map((e) => e.name).filter((n) => n.endsWith(".xml")).sort();
      for (const n of names) {
        const ann = parseVocXml(await Deno.readTextFile(`${val}/${n}`), { file: n });
        const labels = new Set(ann.objects.map((o) => o.classId));
        if (ann.objects.length >= 3 && labels.size === 2 && ann.width >= 400) {
          pick = n.replace(/\.xml$/, ".jpg");
          break;
        }
      }
    }
    assert.ok(pick, "no validation image with both classes");
    base = `${dir}/${pick}`;
    await Deno.copyFile(`${val}/${pick}`, base);
    source = `${DATA}/val/${pick}`;
  } else {
    const scene = planScene(new Rng(2024));
    const rgb = await renderScene(scene);
    base = `${dir}/generated.jpg`;
    await sharp(rgb, { raw: { width: scene.width, height: scene.height, channels: 3 } }).jpeg({ quality: 90 })
      .toFile(base);
    source = "lib/data/generate.ts scene, seed 2024";
  }
  // The same picture tagged "rotate 90°": sharp ignores the tag, so the page must too.
  const rotated = `${dir}/rotated.jpg`;
  await sharp(base).withMetadata({ orientation: 6 }).jpeg({ quality: 92 }).toFile(rotated);
  return { files: [base, rotated], source };
}

/** A static server for the demo folder, with `/__test__/` mapped to `testDir`. */
function serve(testDir: string) {
  const types: Record<string, string> = {
    html: "text/html",
    js: "text/javascript",
    json: "application/json",
    wasm: "application/wasm",
    jpg: "image/jpeg",
  };
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    const file = path.startsWith("/__test__/")
      ? `${testDir}/${path.slice("/__test__/".length)}`
      : `${DEMO}${path.endsWith("/") ? `${path}index.html` : path}`;
    try {
      const body = await Deno.readFile(file);
      const ext = file.slice(file.lastIndexOf(".") + 1);
      return new Response(body, { headers: { "content-type": types[ext] ?? "application/octet-stream" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

interface PageResult {
  backend: string;
  tensorsBefore: number;
  tensorsAfter: number;
  detections: PixelDetection[][];
  pixels: { width: number; height: number; shrink: number; pixels: string };
  table: number;
  shown: string;
}

function compare(page: PixelDetection[], ref: PixelDetection[], what: string): { box: number; score: number } {
  assert.equal(page.length, ref.length, `${what}: ${page.length} boxes in the page, ${ref.length} from lib/inference`);
  let box = 0, score = 0;
  // Both lists are by descending score; near-equal scores may swap, so pair each reference box with its best match.
  const left = [...page];
  for (const r of ref) {
    let best = -1, bestD = Infinity;
    left.forEach((p, i) => {
      if (p.label !== r.label) return;
      const d = Math.max(...p.box.map((v, k) => Math.abs(v - r.box[k])));
      if (d < bestD) [best, bestD] = [i, d];
    });
    assert.ok(best >= 0, `${what}: no ${r.class} box in the page for ${JSON.stringify(r)}`);
    const p = left.splice(best, 1)[0];
    assert.equal(p.class, r.class);
    box = Math.max(box, bestD);
    score = Math.max(score, Math.abs(p.score - r.score));
  }
  assert.ok(box <= 1, `${what}: boxes differ by ${box} px`);
  assert.ok(score <= 1e-3, `${what}: scores differ by ${score}`);
  return { box, score };
}

/**
 * The page's backend cases: its own choice (webgl here, through Chromium's software GL), its fallback when there is
 * no WebGL at all (no software rasterizer under --disable-gpu), and the cpu backend asked for in the URL.
 */
const CASES = [
  { label: "its own backend choice", query: "", args: [], expect: null },
  { label: "no WebGL: falls back to wasm", query: "", args: ["--disable-software-rasterizer"], expect: "wasm" },
  { label: "?backend=cpu", query: "?backend=cpu", args: [], expect: "cpu" },
];

for (const c of CASES) {
  Deno.test({
    name: `demo page in headless Chromium (${c.label}) matches lib/inference, offline, without console errors`,
    ignore: !chromium,
    sanitizeResources: false,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "demo_test_" });
      const server = serve(dir);
      try {
        const { files, source } = await testImages(dir);
        const urls = files.map((f) => `/__test__/${f.slice(dir.length + 1)}`);
        const origin = `http://127.0.0.1:${server.addr.port}`;
        const expression = `(async () => {
          const tensorsBefore = tf.memory().numTensors;
          const detections = [];
          for (const u of ${JSON.stringify([...urls].reverse())}) detections.unshift(await detectImageUrl(u));
          const tensorsAfter = tf.memory().numTensors;
          const pixels = await preprocessImageUrl(${JSON.stringify(urls[0])});
          return { backend: demoBackend, tensorsBefore, tensorsAfter, detections, pixels,
            table: document.querySelectorAll("#detections tr").length,
            shown: document.getElementById("image-name").textContent };
        })()`;
        const report = await inspectPage(`${origin}/index.html${c.query}`, {
          chromiumArgs: c.args,
          evaluate: expression,
          screenshot: true,
          width: 1100,
          height: 1400,
          readyTimeoutMs: 120000,
        });
        assert.deepEqual(report.exceptions, []);
        assert.deepEqual(report.consoleErrors, []);
        assert.deepEqual(report.networkRequests.filter((u) => !u.startsWith(`${origin}/`)), []);
        assert.ok(report.ready && report.ready !== "error", `page not ready: '${report.ready}'`);
        const page = report.evaluated as PageResult;
        if (c.expect) assert.equal(page.backend, c.expect);
        assert.equal(page.backend, report.ready);
        assert.equal(page.tensorsAfter, page.tensorsBefore, "tensors left behind by detectImageUrl");

        // The model input: bit-identical to lib/data/image.ts loadImage.
        const pixels = Uint8Array.from(atob(page.pixels.pixels), (c) => c.charCodeAt(0));
        assert.deepEqual(countDiff(pixels, await loadImage(files[0])), { values: 0, max: 0 });

        const detector = await loadDetector(RUN, { backend: "auto", log: () => {} });
        const tensors = tf.memory().numTensors;
        const diffs: { box: number; score: number }[] = [];
        try {
          for (let k = 0; k < files.length; k++) {
            const ref = await detector.detect(files[k], { minScore: 0.5 });
            diffs.push(compare(page.detections[k], ref, `${source}${k ? " (EXIF-rotated copy)" : ""}`));
            if (DATA && k === 0) assert.ok(ref.length >= 2, `only ${ref.length} detections on ${source}`);
          }
          assert.equal(tf.memory().numTensors, tensors, "the reference detections left tensors behind");
        } finally {
          detector.dispose();
        }
        // The page shows the first image last: its table lists its boxes.
        assert.equal(page.table, page.detections[0].length);
        assert.match(page.shown, new RegExp(files[0].slice(dir.length + 1).replace(".", "\\.")));
        const shot = Deno.env.get("DEMO_SCREENSHOT");
        if (shot) await Deno.writeFile(shot.replace(/\.png$/, `-${page.backend}.png`), report.screenshot!);
        console.log(
          `demo (${page.backend}) on ${source}: ${page.detections.map((d) => d.length).join(" + ")} boxes, max box ` +
            `diff ${Math.max(...diffs.map((d) => d.box)).toExponential(2)} px, max score diff ` +
            `${Math.max(...diffs.map((d) => d.score)).toExponential(2)}`,
        );
      } finally {
        await server.shutdown();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
