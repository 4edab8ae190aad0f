// @ts-check
/**
 * The face-mask detector in the browser: loads the TF.js model exported by `deno task export --format tfjs`
 * (model/), prepares an image as lib/data/image.ts `loadImage` + `normalize` do (full decode, libvips' resize in
 * ./resize.js, value = pixel / 255 - 0.5), runs it on the first TF.js backend that starts (webgl, then wasm, then
 * cpu) and decodes the outputs with the settings in the model's `userDefinedMetadata`: priors generated here from
 * the prior config, softmax, per-class threshold + pre-NMS top-k + greedy NMS, top-k over classes — the maths of
 * lib/detect/priors.ts and lib/detect/postprocess.ts, line for line, so the page reports what `deno task detect`
 * reports.
 *
 * The pure functions are exported so that Deno tests can check them against lib/detect; the page wiring runs only
 * where there is a `document`. `window.detectImageUrl(url)` resolves to the detections of an image URL (drawn on the
 * page too); `window.preprocessImageUrl(url)` to the model's 8-bit input pixels (for the tests).
 * @module
 */
import { resizeFill } from "./resize.js";

/** Display threshold: detections scoring below it are not shown (DESIGN.md; `deno task detect --threshold`). */
export const DEFAULT_MIN_SCORE = 0.5;

/** Box colours: face_mask green, face red (as cli/detect.ts draws them). */
export const COLOURS = { face_mask: "#1a9850", face: "#d73027" };

/**
 * Priors from the exported prior config, as lib/detect/priors.ts `generatePriors`: per feature map k
 * (`ceil(H / step) x ceil(W / step)`), row i, column j, anchor size s: `[(j + .5) step / W, (i + .5) step / H,
 * s / W, s / H]`, optionally clipped to [0, 1].
 * @param {{ inputSize: number[], steps: number[], sizes: number[][], clip?: boolean }} config
 * @returns {Float32Array} `P * 4` values
 */
export function generatePriors(config) {
  const [h, w] = config.inputSize;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) {
    throw new Error(`demo.js: priors.inputSize must be [height, width], got ${JSON.stringify(config.inputSize)}`);
  }
  if (!Array.isArray(config.steps) || !Array.isArray(config.sizes) || config.steps.length !== config.sizes.length) {
    throw new Error("demo.js: priors.steps and priors.sizes must be arrays of the same length");
  }
  const maps = config.steps.map((s) => [Math.ceil(h / s), Math.ceil(w / s)]);
  const count = maps.reduce((n, [r, c], k) => n + r * c * config.sizes[k].length, 0);
  const out = new Float32Array(count * 4);
  let o = 0;
  maps.forEach(([rows, cols], k) => {
    const step = config.steps[k];
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const cx = ((j + 0.5) * step) / w;
        const cy = ((i + 0.5) * step) / h;
        for (const size of config.sizes[k]) {
          out[o++] = cx;
          out[o++] = cy;
          out[o++] = size / w;
          out[o++] = size / h;
        }
      }
    }
  });
  if (config.clip) { for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i])); }
  return out;
}

/**
 * Row-wise softmax of a flat `[N, C]` array (max-subtracted), as lib/detect/postprocess.ts `softmaxRows`.
 * @param {Float32Array} logits
 * @param {number} C
 * @returns {Float32Array}
 */
export function softmaxRows(logits, C) {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i += C) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[i + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += out[i + c] = Math.exp(logits[i + c] - m);
    for (let c = 0; c < C; c++) out[i + c] /= s;
  }
  return out;
}

/** Room for the prior index in a packed sort key (2^20; 2^32 * 2^20 stays below 2^53, exact in a double). */
const INDEX_SLOTS = 1048576;

/** @param {number} v */
function clip01(v) {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/**
 * Greedy NMS over candidates sorted by descending score; stops after `maxKeep` kept (they are all a class can
 * contribute to the final top-k).
 * @param {Float32Array} boxes
 * @param {number} count
 * @param {number} iouThreshold
 * @param {number} maxKeep
 */
function nms(boxes, count, iouThreshold, maxKeep) {
  const kept = [];
  const area = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    area[i] = (boxes[i * 4 + 2] - boxes[i * 4]) * (boxes[i * 4 + 3] - boxes[i * 4 + 1]);
  }
  for (let i = 0; i < count && kept.length < maxKeep; i++) {
    const x1 = boxes[i * 4], y1 = boxes[i * 4 + 1], x2 = boxes[i * 4 + 2], y2 = boxes[i * 4 + 3];
    let keep = true;
    for (const k of kept) {
      const iw = Math.min(x2, boxes[k * 4 + 2]) - Math.max(x1, boxes[k * 4]);
      const ih = Math.min(y2, boxes[k * 4 + 3]) - Math.max(y1, boxes[k * 4 + 1]);
      if (iw <= 0 || ih <= 0) continue;
      const inter = iw * ih;
      const union = area[i] + area[k] - inter;
      if (union > 0 && inter / union > iouThreshold) {
        keep = false;
        break;
      }
    }
    if (keep) kept.push(i);
  }
  return kept;
}

/**
 * @typedef {{ box: number[], label: number, score: number }} Detection
 * A detection: corner box `[x1, y1, x2, y2]`, class id (>= 1), class probability.
 */

/**
 * One image's raw outputs to detections (normalised corner boxes clipped to [0, 1], by descending score), as
 * lib/detect/postprocess.ts `decodeDetections`: softmax, per class the candidates scoring above
 * `scoreThreshold`, the `preNmsTopK` best decoded against their priors, greedy NMS at `nmsIou`, then the `topK`
 * best over classes.
 * @param {Float32Array} logits `P * C` values before softmax
 * @param {Float32Array} offsets `P * 4` values
 * @param {Float32Array} priors `P * 4` values
 * @param {{ scoreThreshold: number, nmsIou: number, topK: number, preNmsTopK: number }} settings
 * @param {number[]} variances `[v0, v1]`
 * @returns {Detection[]}
 */
export function decodeDetections(logits, offsets, priors, settings, variances) {
  const P = priors.length / 4;
  if (!Number.isInteger(P) || P === 0) throw new Error("demo.js: priors must hold P * 4 values");
  if (offsets.length !== P * 4) throw new Error(`demo.js: ${offsets.length} offsets for ${P} priors`);
  const C = logits.length / P;
  if (!Number.isInteger(C) || C < 2) throw new Error(`demo.js: ${logits.length} logits for ${P} priors`);
  if (P > INDEX_SLOTS) throw new Error(`demo.js: at most ${INDEX_SLOTS} priors are supported, got ${P}`);
  const scores = softmaxRows(logits, C);
  const { scoreThreshold, nmsIou, topK, preNmsTopK } = settings;
  const [v0, v1] = variances;
  const keys = new Float64Array(P);
  const candBoxes = new Float32Array(Math.min(P, preNmsTopK) * 4);
  /** @type {Detection[]} */
  const dets = [];
  for (let c = 1; c < C; c++) {
    let n = 0;
    for (let p = 0; p < P; p++) {
      const sc = scores[p * C + c];
      // sort key: the score quantised to 2^-32 (descending), then the prior index, in one exact double
      if (sc > scoreThreshold) keys[n++] = Math.floor((1 - sc) * 4294967296) * INDEX_SLOTS + p;
    }
    if (n === 0) continue;
    const order = keys.subarray(0, n).sort();
    for (let k = 0; k < n; k++) order[k] %= INDEX_SLOTS;
    const m = Math.min(n, preNmsTopK);
    for (let k = 0; k < m; k++) {
      const p = order[k];
      const q = p * 4;
      const pw = priors[q + 2], ph = priors[q + 3];
      const cx = priors[q] + offsets[q] * v0 * pw;
      const cy = priors[q + 1] + offsets[q + 1] * v0 * ph;
      const w = pw * Math.exp(offsets[q + 2] * v1);
      const h = ph * Math.exp(offsets[q + 3] * v1);
      candBoxes[k * 4] = clip01(cx - w / 2);
      candBoxes[k * 4 + 1] = clip01(cy - h / 2);
      candBoxes[k * 4 + 2] = clip01(cx + w / 2);
      candBoxes[k * 4 + 3] = clip01(cy + h / 2);
    }
    for (const k of nms(candBoxes, m, nmsIou, topK)) {
      const box = [candBoxes[k * 4], candBoxes[k * 4 + 1], candBoxes[k * 4 + 2], candBoxes[k * 4 + 3]];
      dets.push({ box, label: c, score: scores[order[k] * C + c] });
    }
  }
  dets.sort((a, d) => d.score - a.score);
  return dets.length > topK ? dets.slice(0, topK) : dets;
}

/**
 * @typedef {{ label: number, class: string, score: number, box: number[] }} PixelDetection
 * A detection in pixels of the original image, shaped like `deno task detect`'s output.
 */

/**
 * Detections scoring at least `minScore`, boxes scaled to an image of `width x height` pixels.
 * @param {Detection[]} dets
 * @param {number} width
 * @param {number} height
 * @param {string[]} classNames
 * @param {number} minScore
 * @returns {PixelDetection[]}
 */
export function toPixelDetections(dets, width, height, classNames, minScore) {
  return dets.filter((d) => d.score >= minScore).map((d) => ({
    label: d.label,
    class: classNames[d.label],
    score: d.score,
    box: [d.box[0] * width, d.box[1] * height, d.box[2] * width, d.box[3] * height],
  }));
}

/**
 * A copy of JPEG bytes whose EXIF orientation tag reads 1 (as stored). sharp, and so `deno task detect`, does not
 * apply EXIF rotations, while browsers do when decoding; neutralising the tag makes both see the same pixels.
 * Bytes that are not a JPEG or carry no orientation tag come back unchanged.
 * @param {Uint8Array} bytes
 * @returns {Uint8Array}
 */
export function withoutExifOrientation(bytes) {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return bytes;
  let pos = 2;
  while (pos + 4 <= bytes.length && bytes[pos] === 0xff) {
    const marker = bytes[pos + 1];
    if (marker === 0xda || marker === 0xd9) break; // start of scan / end of image: no more metadata
    const len = (bytes[pos + 2] << 8) | bytes[pos + 3];
    const start = pos + 4;
    const isExif = marker === 0xe1 && len >= 8 && bytes[start] === 0x45 && bytes[start + 1] === 0x78 &&
      bytes[start + 2] === 0x69 && bytes[start + 3] === 0x66 && bytes[start + 4] === 0 && bytes[start + 5] === 0;
    if (isExif) {
      const tiff = start + 6;
      const end = Math.min(pos + 2 + len, bytes.length);
      const little = bytes[tiff] === 0x49;
      const u16 = (/** @type {number} */ o) => little ? bytes[o] | (bytes[o + 1] << 8) : (bytes[o] << 8) | bytes[o + 1];
      const u32 = (/** @type {number} */ o) =>
        little
          ? (bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16)) + bytes[o + 3] * 16777216
          : bytes[o] * 16777216 + ((bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]);
      if (tiff + 8 > end) return bytes;
      const ifd = tiff + u32(tiff + 4);
      if (ifd + 2 > end) return bytes;
      const entries = u16(ifd);
      for (let e = 0; e < entries; e++) {
        const entry = ifd + 2 + e * 12;
        if (entry + 12 > end) break;
        if (u16(entry) === 0x0112) {
          if (u16(entry + 8) === 1) return bytes;
          const copy = bytes.slice();
          copy[entry + 8] = little ? 1 : 0;
          copy[entry + 9] = little ? 0 : 1;
          return copy;
        }
      }
      return bytes;
    }
    pos += 2 + len;
  }
  return bytes;
}

/**
 * The reduction sharp's JPEG loader applies inside libjpeg before resizing ("shrink-on-load", sharp 0.34
 * pipeline.cc): 8, 4 or 2 when the image is at least that many times the model input on both axes, halved when the
 * factor is a whole number; 1 when none.
 * @param {number} width
 * @param {number} height
 * @param {number} inWidth
 * @param {number} inHeight
 */
export function jpegShrinkOnLoad(width, height, inWidth, inHeight) {
  const shrink = Math.min(width / inWidth, height / inHeight);
  let j = shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1;
  if (j > 1 && Math.trunc(shrink) === j) j /= 2;
  return j;
}

/**
 * Model input pixels (8-bit RGB, `inHeight x inWidth`) from decoded RGBA pixels, as `loadImage` makes them. For a
 * JPEG that sharp would shrink on load, the image is first box-averaged by that factor, which comes close to
 * libjpeg's scaled decode but is not bit-identical.
 * @param {Uint8ClampedArray | Uint8Array} rgba
 * @param {number} width
 * @param {number} height
 * @param {number} inWidth
 * @param {number} inHeight
 * @param {number} shrinkOnLoad 1, 2, 4 or 8
 * @returns {Uint8Array}
 */
export function modelPixels(rgba, width, height, inWidth, inHeight, shrinkOnLoad = 1) {
  let rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4) {
    rgb[j++] = rgba[i];
    rgb[j++] = rgba[i + 1];
    rgb[j++] = rgba[i + 2];
  }
  let w = width, h = height;
  if (shrinkOnLoad > 1) {
    const sw = Math.ceil(width / shrinkOnLoad), sh = Math.ceil(height / shrinkOnLoad);
    const small = new Uint8Array(sw * sh * 3);
    for (let y = 0; y < sh; y++) {
      for (let x = 0; x < sw; x++) {
        for (let b = 0; b < 3; b++) {
          let sum = 0, n = 0;
          for (let dy = 0; dy < shrinkOnLoad && y * shrinkOnLoad + dy < height; dy++) {
            for (let dx = 0; dx < shrinkOnLoad && x * shrinkOnLoad + dx < width; dx++) {
              sum += rgb[((y * shrinkOnLoad + dy) * width + x * shrinkOnLoad + dx) * 3 + b];
              n++;
            }
          }
          small[(y * sw + x) * 3 + b] = Math.round(sum / n);
        }
      }
    }
    rgb = small;
    w = sw;
    h = sh;
  }
  return resizeFill(rgb, w, h, 3, inWidth, inHeight);
}

// ---------------------------------------------------------------------------------------------------------------
// The page.

/** Browser globals, typed loosely so that Deno type-checks this module without the DOM library. */
const web = /** @type {any} */ (globalThis);

/** The order in which backends are tried; `?backend=NAME` in the page URL asks for one. */
const BACKENDS = ["webgl", "wasm", "cpu"];

/**
 * Sets up the first backend of `wanted` that starts and computes; returns its name.
 * @param {any} tf
 * @param {string[]} wanted
 */
async function chooseBackend(tf, wanted) {
  for (const name of wanted) {
    if (!tf.findBackendFactory(name)) continue;
    try {
      if (!(await tf.setBackend(name))) continue;
      await tf.ready();
      // A backend may start and still fail on its first kernel (a WebGL context without float textures).
      const probe = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(1)));
      const v = await probe.data();
      probe.dispose();
      if (v[0] === 2 && v[1] === 3) return name;
    } catch (e) {
      console.warn(`backend ${name} could not start: ${e instanceof Error ? e.message : e}`);
    }
  }
  throw new Error(`none of the backends ${wanted.join(", ")} could start`);
}

/**
 * @param {string} id
 * @returns {any}
 */
function $(id) {
  const el = web.document.getElementById(id);
  if (!el) throw new Error(`demo.js: index.html has no element #${id}`);
  return el;
}

/** @param {number} ms */
function fmtMs(ms) {
  return ms < 10 ? ms.toFixed(1) : ms.toFixed(0);
}

/**
 * @typedef {{ tf: any, model: any, meta: any, priors: Float32Array, inW: number, inH: number }} Loaded
 * The loaded model and what decoding needs.
 */

/** @param {string} url */
async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Decodes image bytes at full size to RGBA (EXIF orientation ignored, transparency flattened onto black, as sharp
 * does) and tells whether sharp would shrink this JPEG on load.
 * @param {Loaded} m
 * @param {Uint8Array} bytes
 */
async function decodeBytes(m, bytes) {
  const blob = new Blob([/** @type {BlobPart} */ (withoutExifOrientation(bytes))]);
  const bitmap = await web.createImageBitmap(blob, { premultiplyAlpha: "none", colorSpaceConversion: "default" });
  const { width, height } = bitmap;
  const canvas = new web.OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  const shrink = isJpeg ? jpegShrinkOnLoad(width, height, m.inW, m.inH) : 1;
  return { bitmap, width, height, rgba, shrink };
}

/**
 * Runs the detector on image bytes, draws the result on the page and returns the detections shown.
 * @param {Loaded} m
 * @param {Uint8Array} bytes
 * @param {string} name
 * @returns {Promise<PixelDetection[]>}
 */
async function detectBytes(m, bytes, name) {
  const { tf, model, meta, priors, inW, inH } = m;
  const t0 = performance.now();
  const img = await decodeBytes(m, bytes);
  const pixels = modelPixels(img.rgba, img.width, img.height, inW, inH, img.shrink);
  const input = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) input[i] = pixels[i] / 255 - 0.5;
  const t1 = performance.now();
  const [logitsT, offsetsT] = tf.tidy(() => model.predict(tf.tensor4d(input, [1, inH, inW, 3])));
  let logits, offsets;
  try {
    logits = await logitsT.data();
    offsets = await offsetsT.data();
  } finally {
    tf.dispose([logitsT, offsetsT]);
  }
  const t2 = performance.now();
  const normalised = decodeDetections(logits, offsets, priors, meta.eval, meta.variances);
  const dets = toPixelDetections(normalised, img.width, img.height, meta.classNames, DEFAULT_MIN_SCORE);
  const t3 = performance.now();
  show(name, img, dets, { prep: t1 - t0, model: t2 - t1, decode: t3 - t2 });
  img.bitmap.close();
  return dets;
}

/**
 * Draws the image with its boxes, the timing and the table of detections.
 * @param {string} name
 * @param {{ bitmap: any, width: number, height: number, shrink: number }} img
 * @param {PixelDetection[]} dets
 * @param {{ prep: number, model: number, decode: number }} ms
 */
function show(name, img, dets, ms) {
  // Drawn at display size (640 to 960 px wide), so that labels stay legible on small and large images alike.
  const scale = Math.min(960, Math.max(640, img.width)) / img.width;
  const canvas = $("view");
  canvas.width = Math.round(img.width * scale);
  canvas.height = Math.round(img.height * scale);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(img.bitmap, 0, 0, canvas.width, canvas.height);
  const font = 14;
  ctx.lineWidth = 3;
  ctx.font = `600 ${font}px sans-serif`;
  for (const d of dets) {
    const [x1, y1, x2, y2] = d.box.map((v) => v * scale);
    const colour = colourOf(d.class);
    ctx.strokeStyle = colour;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const text = `${d.class} ${(d.score * 100).toFixed(0)}%`;
    const tw = ctx.measureText(text).width + 8;
    const th = font + 6;
    // Above the box when there is room, else inside its top edge; never past the right edge.
    const tx = Math.max(0, Math.min(x1 - 1.5, canvas.width - tw));
    const ty = y1 >= th ? y1 - th : y1;
    ctx.fillStyle = colour;
    ctx.fillRect(tx, ty, tw, th);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, tx + 4, ty + font);
  }
  $("image-name").textContent = `${name} (${img.width}x${img.height})`;
  const total = ms.prep + ms.model + ms.decode;
  $("time").textContent = `${fmtMs(total)} ms per image (decode + resize ${fmtMs(ms.prep)}, model ` +
    `${fmtMs(ms.model)}, boxes + NMS ${fmtMs(ms.decode)})`;
  $("note").textContent = img.shrink > 1
    ? `This JPEG is at least 3x the model input on both axes: deno task detect decodes it at 1/${img.shrink} ` +
      "scale inside libjpeg, which a browser cannot do, so its scores can differ slightly from these."
    : "";
  const body = $("detections");
  body.replaceChildren();
  dets.forEach((d, i) => {
    const tr = web.document.createElement("tr");
    const cells = [String(i + 1), d.class, d.score.toFixed(3), ...d.box.map((v) => v.toFixed(1))];
    for (const [k, text] of cells.entries()) {
      const td = web.document.createElement("td");
      td.textContent = text;
      if (k === 1) td.style.color = colourOf(d.class);
      tr.append(td);
    }
    body.append(tr);
  });
  $("count").textContent = `${dets.length} detection${dets.length === 1 ? "" : "s"}: ` +
    `${dets.filter((d) => d.class === "face_mask").length} face_mask, ` +
    `${dets.filter((d) => d.class === "face").length} face`;
}

/** @param {string} name */
function colourOf(name) {
  return name === "face_mask" ? COLOURS.face_mask : name === "face" ? COLOURS.face : "#ffff00";
}

/**
 * @param {Loaded} m
 * @param {{ name: string, arrayBuffer: () => Promise<ArrayBuffer> }} file
 */
async function detectFile(m, file) {
  const status = $("status");
  try {
    status.textContent = `detecting on ${file.name} ...`;
    await detectBytes(m, new Uint8Array(await file.arrayBuffer()), file.name);
    status.textContent = "ready: pick or drop another image";
  } catch (e) {
    status.textContent = `${file.name}: ${e instanceof Error ? e.message : e}`;
    console.error(e);
  }
}

/** Loads TF.js' backend and the model, fills in what the page says about them. */
async function load() {
  const tf = web.tf;
  if (!tf) throw new Error("vendor/tf.min.js did not load");
  tf.env().set("PROD", true);
  if (tf.wasm) tf.wasm.setWasmPaths(new URL("vendor/", web.location.href).href);
  const asked = new URLSearchParams(web.location.search).get("backend");
  const backend = await chooseBackend(tf, asked ? [asked] : BACKENDS);
  $("backend").textContent = backend;
  $("status").textContent = "loading the model ...";
  const model = await tf.loadLayersModel("model/model.json");
  const meta = model.getUserDefinedMetadata();
  if (!meta || meta.format !== "ssdv2-ts detector") {
    throw new Error("model/model.json has no ssdv2-ts metadata (export it with deno task export --format tfjs)");
  }
  const priors = generatePriors(meta.priors);
  if (priors.length / 4 !== meta.priors.count) {
    throw new Error(
      `the prior config gives ${priors.length / 4} priors, the model was exported with ${meta.priors.count}`,
    );
  }
  const [, inH, inW] = meta.input.shape;
  const o = meta.origin ?? {};
  $("weights").textContent = `${o.name ?? "?"} (${o.run ?? "?"}), epoch ${o.epoch ?? "?"}` +
    (o.which === "best"
      ? `: the epoch selected on validation (val mAP ${Number(o.valMap).toFixed(4)}, measured on the split it ` +
        "was selected on), not the last epoch"
      : "");
  $("settings").textContent = `input ${inW}x${inH}, ${meta.priors.count} priors, score > ` +
    `${meta.eval.scoreThreshold}, NMS IoU ${meta.eval.nmsIou}, top ${meta.eval.topK}; shown: score >= ` +
    `${DEFAULT_MIN_SCORE}`;
  // The first run compiles shaders / sets up kernels; it is kept out of the per-image time.
  const t0 = performance.now();
  tf.tidy(() => {
    for (const t of model.predict(tf.zeros([1, inH, inW, 3]))) t.dataSync();
  });
  $("warmup").textContent = `${fmtMs(performance.now() - t0)} ms`;
  return { backend, loaded: /** @type {Loaded} */ ({ tf, model, meta, priors, inW, inH }) };
}

async function start() {
  const status = $("status");
  try {
    const { backend, loaded: m } = await load();
    const picker = $("file");
    picker.addEventListener("change", () => {
      if (picker.files?.[0]) detectFile(m, picker.files[0]);
    });
    const drop = $("drop");
    drop.addEventListener("dragover", (/** @type {any} */ ev) => {
      ev.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (/** @type {any} */ ev) => {
      ev.preventDefault();
      drop.classList.remove("over");
      const file = ev.dataTransfer?.files?.[0];
      if (file) detectFile(m, file);
    });
    /** @param {string} url */
    web.detectImageUrl = async (url) => detectBytes(m, await fetchBytes(url), url.slice(url.lastIndexOf("/") + 1));
    /** @param {string} url */
    web.preprocessImageUrl = async (url) => {
      const img = await decodeBytes(m, await fetchBytes(url));
      img.bitmap.close();
      const pixels = modelPixels(img.rgba, img.width, img.height, m.inW, m.inH, img.shrink);
      let s = "";
      for (let i = 0; i < pixels.length; i += 8192) s += String.fromCharCode(...pixels.subarray(i, i + 8192));
      return { width: img.width, height: img.height, shrink: img.shrink, pixels: web.btoa(s) };
    };
    web.demoBackend = backend;
    status.textContent = "ready: pick or drop an image";
    web.document.body.dataset.ready = backend;
  } catch (e) {
    status.textContent = `error: ${e instanceof Error ? e.message : e}`;
    console.error(e);
    web.document.body.dataset.ready = "error";
  }
}

if (typeof web.document !== "undefined") start();
