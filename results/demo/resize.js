// @ts-check
/**
 * The resize of lib/data/image.ts `loadImage` (sharp 0.34.5 `resize(w, h, { fit: "fill" })`, i.e. libvips 8.17
 * `vips_resize` with the lanczos3 kernel) redone in plain JavaScript, so that the browser feeds the model the same
 * 8-bit pixels as `deno task detect`. A canvas `drawImage` resize is bilinear-ish and shifts scores by more than the
 * demo's test tolerates, hence this port. It follows libvips' integer arithmetic step for step:
 *
 * - downsizing an axis by s: `vips_reducev` then `vips_reduceh`, each with an integer box pre-shrink
 *   (`vips_shrinkv`/`vips_shrinkh`, "ceil") when s >= 4 (the default gap of 2), then a lanczos3 mask of
 *   2 * rint(3 * s') + 1 taps (s' the residual factor) in 12-bit fixed point, 65 sub-pixel phases, edge pixels
 *   copied outwards;
 * - upsizing an axis: `vips_affine` with the bicubic (Catmull-Rom) interpolator, input offset 0.5, edges copied.
 *
 * One input case cannot be matched: for JPEGs at least 3x larger than 320x240 on both axes sharp decodes at 1/2,
 * 1/4 or 1/8 scale inside libjpeg ("shrink-on-load"), which a browser cannot do; such images come out close, not
 * identical. Every image of the AIZOO validation split is below that size.
 * @module
 */

const TRANSFORM_SCALE = 64; // VIPS_TRANSFORM_SCALE: sub-pixel phases of the masks
const INTERPOLATE_SHIFT = 12; // VIPS_INTERPOLATE_SHIFT: fixed-point bits of the masks
const INTERPOLATE_SCALE = 1 << INTERPOLATE_SHIFT;
const HALF = INTERPOLATE_SCALE >> 1;
const GAP = 2.0; // vips_resize's default reducing gap

/**
 * @typedef {{ data: Uint8Array, width: number, height: number, bands: number }} Img
 * Interleaved 8-bit pixels.
 */

/**
 * C `rint` in the default rounding mode: halves go to the even neighbour.
 * @param {number} x
 */
function rint(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/**
 * `VIPS_ROUND_UINT`.
 * @param {number} x
 */
function roundUint(x) {
  return Math.trunc(x + 0.5);
}

/**
 * `VIPS_ROUND_INT`.
 * @param {number} x
 */
function roundInt(x) {
  return x > 0 ? Math.trunc(x + 0.5) : -Math.trunc(0.5 - x);
}

/** @param {number} x */
function sinc(x) {
  if (x === 0) return 1;
  const y = x * Math.PI;
  return Math.sin(y) / y;
}

/** @param {number} x */
function lanczos3(x) {
  return x >= -3 && x <= 3 ? sinc(x) * sinc(x / 3) : 0;
}

/**
 * libvips' reduce masks: `TRANSFORM_SCALE + 1` phases of `n` 12-bit taps (truncated like C's `(short)`).
 * @param {number} n
 * @param {number} shrink
 * @returns {Int32Array[]}
 */
function reduceMasks(n, shrink) {
  const masks = [];
  for (let t = 0; t <= TRANSFORM_SCALE; t++) {
    const x = t / TRANSFORM_SCALE;
    const half = x + n / 2.0 - 1;
    const c = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const l = lanczos3((i - half) / shrink);
      c[i] = l;
      sum += l;
    }
    const s = new Int32Array(n);
    for (let i = 0; i < n; i++) s[i] = Math.trunc((c[i] / sum) * INTERPOLATE_SCALE);
    masks.push(s);
  }
  return masks;
}

/**
 * The mask phase of a sub-pixel position, as libvips rounds it.
 * @param {number} pos
 */
function phase(pos) {
  const s = Math.trunc(pos * TRANSFORM_SCALE * 2);
  return ((s & (TRANSFORM_SCALE * 2 - 1)) + 1) >> 1;
}

/**
 * @param {number} v
 * @param {number} lo
 * @param {number} hi
 */
function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * `vips_shrinkv(n, ceil: true)`: box average of `n` rows, the last rows repeated to fill the final box.
 * @param {Img} img
 * @param {number} n
 * @returns {Img}
 */
function shrinkv(img, n) {
  const { data, width, height, bands } = img;
  const outH = Math.ceil(height / n);
  const ne = width * bands;
  const out = new Uint8Array(outH * ne);
  const mult = Math.floor(4294967296 / (256 * n));
  const amend = n >> 1;
  const sum = new Uint32Array(ne);
  for (let y = 0; y < outH; y++) {
    sum.fill(0);
    for (let k = 0; k < n; k++) {
      const row = Math.min(y * n + k, height - 1) * ne;
      for (let z = 0; z < ne; z++) sum[z] += data[row + z];
    }
    for (let z = 0; z < ne; z++) out[y * ne + z] = Math.min(255, Math.floor(((sum[z] + amend) * mult) / 16777216));
  }
  return { data: out, width, height: outH, bands };
}

/**
 * `vips_shrinkh(n, ceil: true)`.
 * @param {Img} img
 * @param {number} n
 * @returns {Img}
 */
function shrinkh(img, n) {
  const { data, width, height, bands } = img;
  const outW = Math.ceil(width / n);
  const out = new Uint8Array(outW * height * bands);
  const mult = Math.floor(4294967296 / (256 * n));
  const amend = n >> 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outW; x++) {
      for (let b = 0; b < bands; b++) {
        let sum = amend;
        for (let k = 0; k < n; k++) sum += data[(y * width + Math.min(x * n + k, width - 1)) * bands + b];
        out[(y * outW + x) * bands + b] = Math.min(255, Math.floor((sum * mult) / 16777216));
      }
    }
  }
  return { data: out, width: outW, height, bands };
}

/**
 * `vips_reducev(vshrink, kernel: lanczos3, gap: 2)`.
 * @param {Img} img
 * @param {number} vshrink
 * @returns {Img}
 */
function reducev(img, vshrink) {
  const outH = roundUint(img.height / vshrink);
  let extra = outH * vshrink - img.height;
  let residual = vshrink;
  const intShrink = Math.max(1, Math.floor(img.height / outH / GAP));
  if (intShrink > 1) {
    img = shrinkv(img, intShrink);
    extra /= intShrink;
    residual /= intShrink;
  }
  if (residual === 1.0) return img;
  const { data, width, height, bands } = img;
  const n = 2 * rint(3 * residual) + 1;
  const offset = (1 + extra) / 2.0 - 1;
  const masks = reduceMasks(n, residual);
  const top = Math.ceil(n / 2.0) - 1; // rows copied above the image (vips_embed, extend copy)
  const ne = width * bands;
  const out = new Uint8Array(outH * ne);
  const rows = new Int32Array(n);
  let Y = 0.5 * residual - 0.5 - offset;
  for (let y = 0; y < outH; y++) {
    const py = Math.trunc(Y);
    const mask = masks[phase(Y)];
    for (let i = 0; i < n; i++) rows[i] = clamp(py + i - top, 0, height - 1) * ne;
    for (let z = 0; z < ne; z++) {
      let sum = HALF;
      for (let i = 0; i < n; i++) sum += mask[i] * data[rows[i] + z];
      out[y * ne + z] = clamp(sum >> INTERPOLATE_SHIFT, 0, 255);
    }
    Y += residual;
  }
  return { data: out, width, height: outH, bands };
}

/**
 * `vips_reduceh(hshrink, kernel: lanczos3, gap: 2)`.
 * @param {Img} img
 * @param {number} hshrink
 * @returns {Img}
 */
function reduceh(img, hshrink) {
  const outW = roundUint(img.width / hshrink);
  let extra = outW * hshrink - img.width;
  let residual = hshrink;
  const intShrink = Math.max(1, Math.floor(img.width / outW / GAP));
  if (intShrink > 1) {
    img = shrinkh(img, intShrink);
    extra /= intShrink;
    residual /= intShrink;
  }
  if (residual === 1.0) return img;
  const { data, width, height, bands } = img;
  const n = 2 * rint(3 * residual) + 1;
  const offset = (1 + extra) / 2.0 - 1;
  const masks = reduceMasks(n, residual);
  const left = Math.ceil(n / 2.0) - 1;
  const out = new Uint8Array(outW * height * bands);
  // Column positions and masks are the same for every row.
  const cols = new Int32Array(outW * n);
  const phases = [];
  let X = 0.5 * residual - 0.5 - offset;
  for (let x = 0; x < outW; x++) {
    const ix = Math.trunc(X);
    phases.push(masks[phase(X)]);
    for (let i = 0; i < n; i++) cols[x * n + i] = clamp(ix + i - left, 0, width - 1) * bands;
    X += residual;
  }
  for (let y = 0; y < height; y++) {
    const row = y * width * bands;
    for (let x = 0; x < outW; x++) {
      const mask = phases[x];
      for (let b = 0; b < bands; b++) {
        let sum = HALF;
        for (let i = 0; i < n; i++) sum += mask[i] * data[row + cols[x * n + i] + b];
        out[(y * outW + x) * bands + b] = clamp(sum >> INTERPOLATE_SHIFT, 0, 255);
      }
    }
  }
  return { data: out, width: outW, height, bands };
}

/** libvips' Catmull-Rom table: `TRANSFORM_SCALE + 1` phases of 4 taps in 12-bit fixed point. */
const CATMULL = (() => {
  const table = [];
  for (let t = 0; t <= TRANSFORM_SCALE; t++) {
    const x = t / TRANSFORM_SCALE;
    const cr1 = 1 - x;
    const cr2 = -0.5 * x;
    const cr3 = cr1 * cr2;
    const cone = cr1 * cr3;
    const cfou = x * cr3;
    const cr4 = cfou - cone;
    const ctwo = cr1 - cone + cr4;
    const cthr = x - cfou - cr4;
    table.push(Int32Array.from([cone, ctwo, cthr, cfou], (c) => Math.trunc(c * INTERPOLATE_SCALE)));
  }
  return table;
})();

/**
 * `vips_affine([a, 0, 0, d], interpolate: bicubic, idx: 0.5, idy: 0.5, extend: copy)`, the upsizing step.
 * @param {Img} img
 * @param {number} a horizontal scale
 * @param {number} d vertical scale
 * @returns {Img}
 */
function affine(img, a, d) {
  const { data, width, height, bands } = img;
  const det = a * d;
  const tmp = 1.0 / det;
  const ia = tmp * d;
  const id = tmp * a;
  const outW = roundInt(a * width);
  const outH = roundInt(d * height);
  // The input is embedded with a 2-pixel copied border (window offset 1 plus 1); positions below are in that
  // embedded frame, hence the -2 when reading.
  const px = (/** @type {number} */ e) => clamp(e - 2, 0, width - 1);
  const py = (/** @type {number} */ e) => clamp(e - 2, 0, height - 1);
  const out = new Uint8Array(outW * outH * bands);
  const xs = [];
  let ix = 0.5 + 1; // ia * 0 - (idx - 1) + window offset
  for (let x = 0; x < outW; x++) {
    const fx = Math.trunc(ix);
    xs.push({ cx: CATMULL[phase(ix)], cols: [px(fx - 1), px(fx), px(fx + 1), px(fx + 2)].map((c) => c * bands) });
    ix += ia;
  }
  const r = new Int32Array(4);
  for (let y = 0; y < outH; y++) {
    const iy = id * y + 0.5 + 1;
    const fy = Math.trunc(iy);
    const cy = CATMULL[phase(iy)];
    const rows = [py(fy - 1), py(fy), py(fy + 1), py(fy + 2)].map((v) => v * width * bands);
    for (let x = 0; x < outW; x++) {
      const { cx, cols } = xs[x];
      for (let b = 0; b < bands; b++) {
        for (let k = 0; k < 4; k++) {
          const row = rows[k] + b;
          r[k] = (cx[0] * data[row + cols[0]] + cx[1] * data[row + cols[1]] + cx[2] * data[row + cols[2]] +
            cx[3] * data[row + cols[3]] + HALF) >> INTERPOLATE_SHIFT;
        }
        const v = (cy[0] * r[0] + cy[1] * r[1] + cy[2] * r[2] + cy[3] * r[3] + HALF) >> INTERPOLATE_SHIFT;
        out[(y * outW + x) * bands + b] = clamp(v, 0, 255);
      }
    }
  }
  return { data: out, width: outW, height: outH, bands };
}

/**
 * Resizes interleaved 8-bit pixels to `outWidth x outHeight` without keeping the aspect ratio, exactly as
 * `sharp(file).resize(outWidth, outHeight, { fit: "fill" })` does (libvips `vips_resize`, lanczos3).
 * @param {Uint8Array | Uint8ClampedArray} data row-major pixels, `bands` values each
 * @param {number} width
 * @param {number} height
 * @param {number} bands values per pixel (3 for RGB)
 * @param {number} outWidth
 * @param {number} outHeight
 * @returns {Uint8Array} `outHeight * outWidth * bands` values
 */
export function resizeFill(data, width, height, bands, outWidth, outHeight) {
  if (!(width > 0 && height > 0 && outWidth > 0 && outHeight > 0 && bands > 0)) {
    throw new Error(`resize.js: sizes must be positive, got ${width}x${height}x${bands} -> ${outWidth}x${outHeight}`);
  }
  if (data.length !== width * height * bands) {
    throw new Error(`resize.js: ${data.length} values for a ${width}x${height}x${bands} image`);
  }
  /** @type {Img} */
  let img = { data: Uint8Array.from(data), width, height, bands };
  // sharp: hshrink = width / targetWidth, then image.resize(1 / hshrink, { vscale: 1 / vshrink }).
  const hshrink = width / outWidth;
  const vshrink = height / outHeight;
  if (hshrink === 1.0 && vshrink === 1.0) return img.data;
  let hscale = 1.0 / hshrink;
  let vscale = 1.0 / vshrink;
  hscale = Math.max(hscale, 1.0 / img.width);
  vscale = Math.max(vscale, 1.0 / img.height);
  if (vscale < 1.0) img = reducev(img, 1.0 / vscale);
  if (hscale < 1.0) img = reduceh(img, 1.0 / hscale);
  if (hscale > 1.0 && vscale > 1.0) img = affine(img, hscale, vscale);
  else if (hscale > 1.0) img = affine(img, hscale, 1.0);
  else if (vscale > 1.0) img = affine(img, 1.0, vscale);
  if (img.width !== outWidth || img.height !== outHeight) {
    throw new Error(`resize.js: resized to ${img.width}x${img.height}, expected ${outWidth}x${outHeight}`);
  }
  return img.data;
}
