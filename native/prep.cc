// See prep.h. The resize follows libvips 8.17 step for step (as results/demo/resize.js does in JavaScript): integer
// box pre-shrinks, lanczos3 reduce masks in 12-bit fixed point with 65 sub-pixel phases, the bicubic affine for
// upsizing, edges copied outwards. Every step is integer arithmetic except the masks, which are made once per call
// in double precision with C's sin, as libvips makes them. The photometric part repeats lib/data/augment.ts in the
// same double operations, in the same order (the build keeps the compiler from contracting them into FMAs).
#include "prep.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace prep {
namespace {

constexpr int kTransformScale = 64;   // VIPS_TRANSFORM_SCALE
constexpr int kInterpolateShift = 12;  // VIPS_INTERPOLATE_SHIFT
constexpr int kInterpolateScale = 1 << kInterpolateShift;
constexpr int kHalf = kInterpolateScale >> 1;
constexpr double kGap = 2.0;  // vips_resize's default reducing gap

struct Img {
  std::vector<uint8_t> data;
  int width = 0, height = 0, bands = 0;
};

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
inline int roundUint(double x) { return static_cast<int>(x + 0.5); }
inline int roundInt(double x) { return x > 0 ? static_cast<int>(x + 0.5) : -static_cast<int>(0.5 - x); }

double sinc(double x) {
  if (x == 0) return 1;
  const double y = x * M_PI;
  return std::sin(y) / y;
}
double lanczos3(double x) { return x >= -3 && x <= 3 ? sinc(x) * sinc(x / 3) : 0; }

// The mask phase of a sub-pixel position, as libvips rounds it.
inline int phase(double pos) {
  const int s = static_cast<int>(pos * kTransformScale * 2);
  return ((s & (kTransformScale * 2 - 1)) + 1) >> 1;
}

// kTransformScale + 1 phases of n taps each, row after row.
std::vector<int> reduceMasks(int n, double shrink) {
  std::vector<int> masks((kTransformScale + 1) * n);
  std::vector<double> c(n);
  for (int t = 0; t <= kTransformScale; t++) {
    const double x = static_cast<double>(t) / kTransformScale;
    const double half = x + n / 2.0 - 1;
    double sum = 0;
    for (int i = 0; i < n; i++) {
      c[i] = lanczos3((i - half) / shrink);
      sum += c[i];
    }
    for (int i = 0; i < n; i++) masks[t * n + i] = static_cast<int>(std::trunc((c[i] / sum) * kInterpolateScale));
  }
  return masks;
}

// vips_shrinkv(n, ceil): box average of n rows, the last row repeated to fill the final box.
__attribute__((target_clones("avx2", "default"))) void shrinkvRows(const uint8_t* data, int height, int ne, int n,
                                                                    int outH, uint8_t* out) {
  const uint64_t mult = static_cast<uint64_t>(4294967296.0 / (256.0 * n));
  const uint32_t amend = n >> 1;
  std::vector<uint32_t> sum(ne);
  for (int y = 0; y < outH; y++) {
    std::fill(sum.begin(), sum.end(), amend);
    for (int k = 0; k < n; k++) {
      const uint8_t* row = data + static_cast<int64_t>(std::min(y * n + k, height - 1)) * ne;
      for (int z = 0; z < ne; z++) sum[z] += row[z];
    }
    uint8_t* o = out + static_cast<int64_t>(y) * ne;
    for (int z = 0; z < ne; z++) o[z] = static_cast<uint8_t>(std::min<uint64_t>(255, (sum[z] * mult) >> 24));
  }
}

Img shrinkv(const Img& img, int n) {
  Img o;
  o.width = img.width;
  o.bands = img.bands;
  o.height = (img.height + n - 1) / n;
  const int ne = img.width * img.bands;
  o.data.resize(static_cast<size_t>(o.height) * ne);
  shrinkvRows(img.data.data(), img.height, ne, n, o.height, o.data.data());
  return o;
}

Img shrinkh(const Img& img, int n) {
  Img o;
  o.height = img.height;
  o.bands = img.bands;
  o.width = (img.width + n - 1) / n;
  const int B = img.bands;
  o.data.resize(static_cast<size_t>(o.width) * o.height * B);
  const uint64_t mult = static_cast<uint64_t>(4294967296.0 / (256.0 * n));
  const uint32_t amend = n >> 1;
  for (int y = 0; y < img.height; y++) {
    const uint8_t* row = img.data.data() + static_cast<int64_t>(y) * img.width * B;
    uint8_t* orow = o.data.data() + static_cast<int64_t>(y) * o.width * B;
    for (int x = 0; x < o.width; x++) {
      for (int b = 0; b < B; b++) {
        uint32_t sum = amend;
        for (int k = 0; k < n; k++) sum += row[std::min(x * n + k, img.width - 1) * B + b];
        orow[x * B + b] = static_cast<uint8_t>(std::min<uint64_t>(255, (sum * mult) >> 24));
      }
    }
  }
  return o;
}

// One output row of the vertical reduce: acc = HALF + sum_i mask[i] * rows[i][z], shifted and clamped.
__attribute__((target_clones("avx2", "default"))) void reduceRow(const uint8_t* const* rows, const int* mask, int n,
                                                                  int ne, int32_t* acc, uint8_t* out) {
  for (int z = 0; z < ne; z++) acc[z] = kHalf;
  for (int i = 0; i < n; i++) {
    const int m = mask[i];
    const uint8_t* r = rows[i];
    for (int z = 0; z < ne; z++) acc[z] += m * static_cast<int32_t>(r[z]);
  }
  for (int z = 0; z < ne; z++) {
    const int v = acc[z] >> kInterpolateShift;
    out[z] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

// What vips_reduceh / vips_reducev (kernel lanczos3, gap 2) do along one axis of `in` pixels shrunk by `shrink`:
// the output size, the integer box pre-shrink, then (when a residual factor is left) its masks, their taps, the
// pixels copied beyond the edge and the first sub-pixel position.
struct ReducePlan {
  int out = 0, intShrink = 1, n = 0, edge = 0;
  double residual = 1, start = 0;
  std::vector<int> masks;
};

ReducePlan planReduce(int in, double shrink) {
  ReducePlan p;
  p.out = roundUint(in / shrink);
  double extra = p.out * shrink - in;
  p.residual = shrink;
  p.intShrink = std::max(1, static_cast<int>(std::floor(in / static_cast<double>(p.out) / kGap)));
  if (p.intShrink > 1) {
    extra /= p.intShrink;
    p.residual /= p.intShrink;
  }
  if (p.residual == 1.0) return p;
  p.n = 2 * static_cast<int>(std::rint(3 * p.residual)) + 1;
  const double offset = (1 + extra) / 2.0 - 1;
  p.masks = reduceMasks(p.n, p.residual);
  p.edge = static_cast<int>(std::ceil(p.n / 2.0)) - 1;
  p.start = 0.5 * p.residual - 0.5 - offset;
  return p;
}

// vips_reducev(vshrink, kernel lanczos3, gap 2).
Img reducev(Img img, double vshrink) {
  const ReducePlan p = planReduce(img.height, vshrink);
  if (p.intShrink > 1) img = shrinkv(img, p.intShrink);
  if (p.residual == 1.0) return img;
  const int outH = p.out, n = p.n, top = p.edge;
  const double residual = p.residual;
  const std::vector<int>& masks = p.masks;
  const int ne = img.width * img.bands;
  Img o;
  o.width = img.width;
  o.bands = img.bands;
  o.height = outH;
  o.data.resize(static_cast<size_t>(outH) * ne);
  std::vector<const uint8_t*> rows(n);
  std::vector<int32_t> acc(ne);
  double Y = p.start;
  for (int y = 0; y < outH; y++) {
    const int py = static_cast<int>(Y);
    const int* mask = &masks[phase(Y) * n];
    for (int i = 0; i < n; i++) rows[i] = img.data.data() + static_cast<int64_t>(clampi(py + i - top, 0, img.height - 1)) * ne;
    reduceRow(rows.data(), mask, n, ne, acc.data(), o.data.data() + static_cast<int64_t>(y) * ne);
    Y += residual;
  }
  return o;
}

// One row of the horizontal reduce; RGB, the common case, with its three sums side by side.
__attribute__((target_clones("avx2", "default"))) void reduceRowH(const uint8_t* row, const int* const* phases,
                                                                   const int* cols, int n, int outW, int B,
                                                                   uint8_t* orow) {
  auto put = [](int32_t sum) {
    const int v = sum >> kInterpolateShift;
    return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  };
  for (int x = 0; x < outW; x++) {
    const int* mask = phases[x];
    const int* c = &cols[x * n];
    if (B == 3) {
      int32_t s0 = kHalf, s1 = kHalf, s2 = kHalf;
      for (int i = 0; i < n; i++) {
        const int m = mask[i];
        const uint8_t* p = row + c[i];
        s0 += m * p[0];
        s1 += m * p[1];
        s2 += m * p[2];
      }
      orow[x * 3] = put(s0);
      orow[x * 3 + 1] = put(s1);
      orow[x * 3 + 2] = put(s2);
      continue;
    }
    for (int b = 0; b < B; b++) {
      int32_t sum = kHalf;
      for (int i = 0; i < n; i++) sum += mask[i] * static_cast<int32_t>(row[c[i] + b]);
      orow[x * B + b] = put(sum);
    }
  }
}

// vips_reduceh(hshrink, kernel lanczos3, gap 2).
Img reduceh(Img img, double hshrink) {
  const ReducePlan p = planReduce(img.width, hshrink);
  if (p.intShrink > 1) img = shrinkh(img, p.intShrink);
  if (p.residual == 1.0) return img;
  const int outW = p.out, n = p.n, left = p.edge;
  const double residual = p.residual;
  const std::vector<int>& masks = p.masks;
  const int B = img.bands;
  // Column positions and masks are the same for every row.
  std::vector<int> cols(static_cast<size_t>(outW) * n);
  std::vector<const int*> phases(outW);
  double X = p.start;
  for (int x = 0; x < outW; x++) {
    const int ix = static_cast<int>(X);
    phases[x] = &masks[phase(X) * n];
    for (int i = 0; i < n; i++) cols[x * n + i] = clampi(ix + i - left, 0, img.width - 1) * B;
    X += residual;
  }
  Img o;
  o.width = outW;
  o.height = img.height;
  o.bands = B;
  o.data.resize(static_cast<size_t>(outW) * img.height * B);
  for (int y = 0; y < img.height; y++) {
    reduceRowH(img.data.data() + static_cast<int64_t>(y) * img.width * B, phases.data(), cols.data(), n, outW, B,
               o.data.data() + static_cast<int64_t>(y) * outW * B);
  }
  return o;
}

// libvips' Catmull-Rom table: kTransformScale + 1 phases of 4 taps in 12-bit fixed point.
const std::vector<int>& catmull() {
  static const std::vector<int> table = [] {
    std::vector<int> t((kTransformScale + 1) * 4);
    for (int k = 0; k <= kTransformScale; k++) {
      const double x = static_cast<double>(k) / kTransformScale;
      const double cr1 = 1 - x;
      const double cr2 = -0.5 * x;
      const double cr3 = cr1 * cr2;
      const double cone = cr1 * cr3;
      const double cfou = x * cr3;
      const double cr4 = cfou - cone;
      const double ctwo = cr1 - cone + cr4;
      const double cthr = x - cfou - cr4;
      const double c[4] = {cone, ctwo, cthr, cfou};
      for (int i = 0; i < 4; i++) t[k * 4 + i] = static_cast<int>(std::trunc(c[i] * kInterpolateScale));
    }
    return t;
  }();
  return table;
}

// The vertical half of the bicubic: out = clamp((sum_k cy[k] * r_k + HALF) >> 12) over one output row.
__attribute__((target_clones("avx2", "default"))) void bicubicRow(const int32_t* r0, const int32_t* r1,
                                                                   const int32_t* r2, const int32_t* r3,
                                                                   const int* cy, int ne, uint8_t* out) {
  const int c0 = cy[0], c1 = cy[1], c2 = cy[2], c3 = cy[3];
  for (int z = 0; z < ne; z++) {
    const int v = (c0 * r0[z] + c1 * r1[z] + c2 * r2[z] + c3 * r3[z] + kHalf) >> kInterpolateShift;
    out[z] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

// vips_affine([a, 0, 0, d], interpolate bicubic, idx 0.5, idy 0.5, extend copy), the upsizing step. The bicubic is
// separable with an integer rounding between its halves; the horizontal half depends only on the input row, so each
// input row's is made once and shared by the output rows that read it.
Img affine(const Img& img, double a, double d) {
  const int W = img.width, H = img.height, B = img.bands;
  const double det = a * d;
  const double tmp = 1.0 / det;
  const double ia = tmp * d;
  const double id = tmp * a;
  const int outW = roundInt(a * W);
  const int outH = roundInt(d * H);
  const std::vector<int>& cat = catmull();
  // The input is embedded with a 2-pixel copied border (window offset 1 plus 1); positions are in that frame.
  auto px = [&](int e) { return clampi(e - 2, 0, W - 1); };
  auto py = [&](int e) { return clampi(e - 2, 0, H - 1); };
  std::vector<int> xcols(static_cast<size_t>(outW) * 4);
  std::vector<const int*> xmask(outW);
  double ix = 0.5 + 1;
  for (int x = 0; x < outW; x++) {
    const int fx = static_cast<int>(ix);
    xmask[x] = &cat[phase(ix) * 4];
    for (int k = 0; k < 4; k++) xcols[x * 4 + k] = px(fx - 1 + k) * B;
    ix += ia;
  }
  const int ne = outW * B;
  std::vector<int32_t> hrows(static_cast<size_t>(H) * ne);
  std::vector<char> done(H, 0);
  auto hrow = [&](int r) -> const int32_t* {
    int32_t* o = &hrows[static_cast<size_t>(r) * ne];
    if (done[r]) return o;
    const uint8_t* row = img.data.data() + static_cast<int64_t>(r) * W * B;
    for (int x = 0; x < outW; x++) {
      const int* cx = xmask[x];
      const int* c = &xcols[x * 4];
      for (int b = 0; b < B; b++) {
        o[x * B + b] = (cx[0] * row[c[0] + b] + cx[1] * row[c[1] + b] + cx[2] * row[c[2] + b] +
                        cx[3] * row[c[3] + b] + kHalf) >>
                       kInterpolateShift;
      }
    }
    done[r] = 1;
    return o;
  };
  Img o;
  o.width = outW;
  o.height = outH;
  o.bands = B;
  o.data.resize(static_cast<size_t>(outH) * ne);
  for (int y = 0; y < outH; y++) {
    const double iy = id * y + 0.5 + 1;
    const int fy = static_cast<int>(iy);
    const int* cy = &cat[phase(iy) * 4];
    bicubicRow(hrow(py(fy - 1)), hrow(py(fy)), hrow(py(fy + 1)), hrow(py(fy + 2)), cy, ne,
               o.data.data() + static_cast<int64_t>(y) * ne);
  }
  return o;
}

}  // namespace

void resizeFill(const uint8_t* src, int width, int height, int stride, int bands, int outW, int outH, uint8_t* out) {
  if (!(width > 0 && height > 0 && outW > 0 && outH > 0 && bands > 0)) {
    throw std::invalid_argument("resize: sizes must be positive, got " + std::to_string(width) + "x" +
                                std::to_string(height) + "x" + std::to_string(bands) + " -> " + std::to_string(outW) +
                                "x" + std::to_string(outH));
  }
  Img img;
  img.width = width;
  img.height = height;
  img.bands = bands;
  const size_t rowBytes = static_cast<size_t>(width) * bands;
  img.data.resize(rowBytes * height);
  for (int y = 0; y < height; y++) std::memcpy(&img.data[y * rowBytes], src + static_cast<int64_t>(y) * stride, rowBytes);
  // sharp: hshrink = width / targetWidth, then vips_resize(1 / hshrink, vscale 1 / vshrink).
  const double hshrink = static_cast<double>(width) / outW;
  const double vshrink = static_cast<double>(height) / outH;
  if (!(hshrink == 1.0 && vshrink == 1.0)) {
    double hscale = 1.0 / hshrink;
    double vscale = 1.0 / vshrink;
    hscale = std::max(hscale, 1.0 / img.width);
    vscale = std::max(vscale, 1.0 / img.height);
    if (vscale < 1.0) img = reducev(std::move(img), 1.0 / vscale);
    if (hscale < 1.0) img = reduceh(std::move(img), 1.0 / hscale);
    if (hscale > 1.0 && vscale > 1.0) {
      img = affine(img, hscale, vscale);
    } else if (hscale > 1.0) {
      img = affine(img, hscale, 1.0);
    } else if (vscale > 1.0) {
      img = affine(img, 1.0, vscale);
    }
  }
  if (img.width != outW || img.height != outH) {
    throw std::runtime_error("resize: resized to " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                             ", expected " + std::to_string(outW) + "x" + std::to_string(outH));
  }
  std::memcpy(out, img.data.data(), img.data.size());
}

// JavaScript's Math.round for the non-negative values met here: the nearest integer, halves up, without the
// error that floor(x + 0.5) makes just below a half.
inline uint8_t jsRound(double x) {
  const double f = std::floor(x);
  return static_cast<uint8_t>(x - f >= 0.5 ? f + 1 : f);
}

namespace {

// One pixel of augment.ts's HSV step. Two of its fmod calls are written out: fmod(t, 6) for t in [5, 7] is t or
// t - 6 (exact by Sterbenz), and fmod(h, 2) for h in [0, 6] is h - 2 floor(h / 2) (every step exact); libm's fmod
// cost more than the rest.
inline void hsvPixel(uint8_t* q, const float* lut, double saturation, double shift) {
  const double r = lut[q[0]];
  const double g = lut[q[1]];
  const double b = lut[q[2]];
  const double v = r > g ? (r > b ? r : b) : (g > b ? g : b);
  const double mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
  const double delta = v - mn;
  double h = 0;
  if (delta > 0) {
    if (v == r) {
      const double t = (g - b) / delta + 6;
      h = t >= 6 ? t - 6 : t;
    } else if (v == g) {
      h = (b - r) / delta + 2;
    } else {
      h = (r - g) / delta + 4;
    }
  }
  const double s0 = v == 0 ? 0 : delta / v;
  const double s = s0 * saturation > 1 ? 1 : s0 * saturation;
  h += shift;
  h = h - 6 * std::floor(h / 6);
  const double c = v * s;
  const double x = c * (1 - std::fabs((h - 2 * std::floor(h * 0.5)) - 1));
  const double m = v - c;
  double rr, gg, bb;
  switch (static_cast<int>(std::floor(h))) {
    case 0:
      rr = c, gg = x, bb = 0;
      break;
    case 1:
      rr = x, gg = c, bb = 0;
      break;
    case 2:
      rr = 0, gg = c, bb = x;
      break;
    case 3:
      rr = 0, gg = x, bb = c;
      break;
    case 4:
      rr = x, gg = 0, bb = c;
      break;
    default:
      rr = c, gg = 0, bb = x;
  }
  q[0] = jsRound(rr + m);
  q[1] = jsRound(gg + m);
  q[2] = jsRound(bb + m);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define PREP_X86 1
__attribute__((target("avx2"))) inline __m256d avxEq(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
__attribute__((target("avx2"))) inline __m256d avxOr(__m256d a, __m256d b) { return _mm256_or_pd(a, b); }
// jsRound on four lanes, as int32.
__attribute__((target("avx2"))) inline __m128i avxJsRound(__m256d y) {
  const __m256d f = _mm256_floor_pd(y);
  const __m256d up = _mm256_and_pd(_mm256_set1_pd(1), _mm256_cmp_pd(_mm256_sub_pd(y, f), _mm256_set1_pd(0.5), _CMP_GE_OQ));
  return _mm256_cvttpd_epi32(_mm256_add_pd(f, up));
}

// hsvPixel on four pixels at once. Every operation is the scalar one on each lane (IEEE division, floor, max, min,
// compares; no FMA), the branches are blends, so the bytes are the same; the scalar loop finishes the last pixels.
__attribute__((target("avx2"))) int64_t hsvAvx2(uint8_t* rgb, int64_t pixels, const float* lut, double saturation,
                                                 double shift) {
  const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1), two = _mm256_set1_pd(2);
  const __m256d three = _mm256_set1_pd(3), four = _mm256_set1_pd(4), six = _mm256_set1_pd(6);
  const __m256d half = _mm256_set1_pd(0.5), sat = _mm256_set1_pd(saturation), sh = _mm256_set1_pd(shift);
  const __m256d sign = _mm256_set1_pd(-0.0);
  int64_t p = 0;
  for (; p + 4 <= pixels; p += 4) {
    uint8_t* q = rgb + p * 3;
    const __m256d r = _mm256_set_pd(lut[q[9]], lut[q[6]], lut[q[3]], lut[q[0]]);
    const __m256d g = _mm256_set_pd(lut[q[10]], lut[q[7]], lut[q[4]], lut[q[1]]);
    const __m256d b = _mm256_set_pd(lut[q[11]], lut[q[8]], lut[q[5]], lut[q[2]]);
    // The values are >= 0 and never NaN, so max / min give what the scalar comparisons pick.
    const __m256d v = _mm256_max_pd(r, _mm256_max_pd(g, b));
    const __m256d mn = _mm256_min_pd(r, _mm256_min_pd(g, b));
    const __m256d delta = _mm256_sub_pd(v, mn);
    const __m256d dpos = _mm256_cmp_pd(delta, zero, _CMP_GT_OQ);
    const __m256d d = _mm256_blendv_pd(one, delta, dpos);
    const __m256d isR = avxEq(v, r), isG = _mm256_andnot_pd(isR, avxEq(v, g));
    __m256d hr = _mm256_add_pd(_mm256_div_pd(_mm256_sub_pd(g, b), d), six);
    hr = _mm256_blendv_pd(hr, _mm256_sub_pd(hr, six), _mm256_cmp_pd(hr, six, _CMP_GE_OQ));
    const __m256d hg = _mm256_add_pd(_mm256_div_pd(_mm256_sub_pd(b, r), d), two);
    const __m256d hb = _mm256_add_pd(_mm256_div_pd(_mm256_sub_pd(r, g), d), four);
    __m256d h = _mm256_blendv_pd(_mm256_blendv_pd(hb, hg, isG), hr, isR);
    h = _mm256_and_pd(h, dpos);
    const __m256d vnz = _mm256_cmp_pd(v, zero, _CMP_NEQ_OQ);
    const __m256d s0 = _mm256_and_pd(_mm256_div_pd(delta, _mm256_blendv_pd(one, v, vnz)), vnz);
    const __m256d ps = _mm256_mul_pd(s0, sat);
    const __m256d s = _mm256_blendv_pd(ps, one, _mm256_cmp_pd(ps, one, _CMP_GT_OQ));
    h = _mm256_add_pd(h, sh);
    h = _mm256_sub_pd(h, _mm256_mul_pd(six, _mm256_floor_pd(_mm256_div_pd(h, six))));
    const __m256d c = _mm256_mul_pd(v, s);
    const __m256d h2 = _mm256_sub_pd(h, _mm256_mul_pd(two, _mm256_floor_pd(_mm256_mul_pd(h, half))));
    const __m256d x = _mm256_mul_pd(c, _mm256_sub_pd(one, _mm256_andnot_pd(sign, _mm256_sub_pd(h2, one))));
    const __m256d m = _mm256_sub_pd(v, c);
    const __m256d sec = _mm256_floor_pd(h);
    const __m256d e0 = avxEq(sec, zero), e1 = avxEq(sec, one), e2 = avxEq(sec, two), e3 = avxEq(sec, three), e4 = avxEq(sec, four);
    // Sector 5 (and 6) is the default: (c, 0, x).
    __m256d rr = _mm256_blendv_pd(c, x, avxOr(e1, e4));
    rr = _mm256_blendv_pd(rr, zero, avxOr(e2, e3));
    __m256d gg = _mm256_blendv_pd(zero, x, avxOr(e0, e3));
    gg = _mm256_blendv_pd(gg, c, avxOr(e1, e2));
    __m256d bb = _mm256_blendv_pd(x, zero, avxOr(e0, e1));
    bb = _mm256_blendv_pd(bb, c, avxOr(e3, e4));
    alignas(16) int32_t R[4], G[4], B[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(R), avxJsRound(_mm256_add_pd(rr, m)));
    _mm_store_si128(reinterpret_cast<__m128i*>(G), avxJsRound(_mm256_add_pd(gg, m)));
    _mm_store_si128(reinterpret_cast<__m128i*>(B), avxJsRound(_mm256_add_pd(bb, m)));
    for (int k = 0; k < 4; k++) {
      q[3 * k] = static_cast<uint8_t>(R[k]);
      q[3 * k + 1] = static_cast<uint8_t>(G[k]);
      q[3 * k + 2] = static_cast<uint8_t>(B[k]);
    }
  }
  return p;
}
#endif

bool& vectorWanted() {
  static bool on = true;
  return on;
}

}  // namespace

bool setVector(bool on) {
  const bool before = vectorWanted();
  vectorWanted() = on;
  return before;
}

void photometric(uint8_t* rgb, int64_t pixels, double brightness, double contrast, double saturation, double hue) {
  const bool linear = brightness != 0 || contrast != 1;
  const bool hsv = saturation != 1 || hue != 0;
  if (!linear && !hsv) return;
  // As in augment.ts, a Float32Array table: each entry rounded to float once.
  float lut[256];
  for (int v = 0; v < 256; v++) lut[v] = static_cast<float>(std::min(255.0, std::max(0.0, (v + brightness) * contrast)));
  if (!hsv) {
    uint8_t table[256];
    for (int v = 0; v < 256; v++) table[v] = jsRound(lut[v]);
    for (int64_t i = 0; i < pixels * 3; i++) rgb[i] = table[rgb[i]];
    return;
  }
  const double shift = hue / 60;
  int64_t done = 0;
#ifdef PREP_X86
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2 && vectorWanted()) done = hsvAvx2(rgb, pixels, lut, saturation, shift);
#endif
  for (int64_t p = done; p < pixels; p++) hsvPixel(rgb + p * 3, lut, saturation, shift);
}

void prepare(const Sample& s, int outW, int outH, uint8_t* bytes, float* floats) {
  if (s.channels != 1 && s.channels != 3) {
    throw std::invalid_argument("prepare: " + std::to_string(s.channels) + " channels (1 or 3 are handled)");
  }
  if (s.width <= 0 || s.height <= 0) throw std::invalid_argument("prepare: the image has no pixels");
  const bool whole = s.cw == 0 || s.ch == 0;
  const int cx = whole ? 0 : s.cx, cy = whole ? 0 : s.cy, cw = whole ? s.width : s.cw, ch = whole ? s.height : s.ch;
  if (cx < 0 || cy < 0 || cw <= 0 || ch <= 0 || cx + cw > s.width || cy + ch > s.height) {
    throw std::invalid_argument("prepare: crop " + std::to_string(cx) + "," + std::to_string(cy) + " " +
                                std::to_string(cw) + "x" + std::to_string(ch) + " lies outside the " +
                                std::to_string(s.width) + "x" + std::to_string(s.height) + " image");
  }
  const int B = s.channels;
  const int64_t pixels = static_cast<int64_t>(outW) * outH;
  std::vector<uint8_t> resized(pixels * B);
  resizeFill(s.src + (static_cast<int64_t>(cy) * s.width + cx) * B, cw, ch, s.width * B, B, outW, outH,
             resized.data());
  // Grey becomes sRGB by copying its one band three times (vips' B_W -> sRGB on 8 bits), then the flop.
  std::vector<uint8_t> local;
  uint8_t* rgb = bytes;
  if (!rgb) {
    local.resize(pixels * 3);
    rgb = local.data();
  }
  for (int y = 0; y < outH; y++) {
    const uint8_t* in = &resized[static_cast<int64_t>(y) * outW * B];
    uint8_t* o = rgb + static_cast<int64_t>(y) * outW * 3;
    for (int x = 0; x < outW; x++) {
      const uint8_t* p = in + (s.flip ? outW - 1 - x : x) * B;
      o[x * 3] = p[0];
      o[x * 3 + 1] = p[B == 3 ? 1 : 0];
      o[x * 3 + 2] = p[B == 3 ? 2 : 0];
    }
  }
  photometric(rgb, pixels, s.brightness, s.contrast, s.saturation, s.hue);
  if (floats) {
    // lib/data/image.ts normalize: x / 255 - 0.5 in double, stored as float.
    float table[256];
    for (int v = 0; v < 256; v++) table[v] = static_cast<float>(v / 255.0 - 0.5);
    for (int64_t i = 0; i < pixels * 3; i++) floats[i] = table[rgb[i]];
  }
}

}  // namespace prep
