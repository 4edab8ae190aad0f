// Winograd F(4x4, 3x3) for stride-1 3x3 convolutions on NHWC tensors: forward, backward-data and backward-weights.
//
// Why: oneDNN 2.6 implements Winograd only for AVX-512; on AVX2 it runs direct jit:avx2 kernels, so every 3x3 output
// costs 9 multiply-adds per input channel. F(4x4, 3x3) computes a 4x4 output tile from a 6x6 input tile with 36
// products instead of 144, so the three passes of a 64->64 convolution do 4x fewer multiply-adds, and what remains is
// 36 small matrix products per block of tiles, which oneDNN's sgemm runs near the machine's peak.
//
// Layout: tiles are taken in blocks of `TB` (one block per thread at a time, static round-robin so the sums are the
// same on every run); a block's 36 transformed planes [36][TB][C] stay in the thread's buffer, so the transforms and
// the products work on cache-resident data. The transforms run along the channels, which NHWC keeps contiguous, so
// they vectorise over C without any reorder.
//
// The matrices are Lavin & Gray's (points 0, +-1, +-2, infinity): y = A^T [(G g G^T) . (B^T d B)] A. The weight
// gradient of one tile is the same trilinear form read the other way: dW = G^T [(A e A^T) . (B^T d B)] G, with e the
// tile's 4x4 output gradient, so it reuses the input transform and sums over tiles inside the transformed domain.
#include "winograd.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <oneapi/dnnl/dnnl.h>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#define WINO_X86 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace wino {
namespace {

constexpr int kA = 6;    // input tile side
constexpr int kM = 4;    // output tile side
constexpr int kXi = 36;  // transformed points per tile
constexpr int64_t kCB = 64;  // channels transformed at a time (the 6x6xkCB temporaries stay in L1)

// Per-thread buffers, grown on demand outside the parallel region.
struct Buffers {
  std::vector<float> v, m, acc;
};
std::vector<Buffers>& buffers() {
  static std::vector<Buffers> b;
  return b;
}
float* grow(std::vector<float>& b, size_t n) {
  if (b.size() < n) b.resize(n);
  return b.data();
}

void sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
           float beta, float* c, int64_t ldc) {
  dnnl_status_t st = dnnl_sgemm(ta, tb, m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) throw std::runtime_error("winograd: dnnl_sgemm failed with status " + std::to_string(st));
}

// Tiles per block: large enough that each of the 36 products has a useful size, small enough that a block's planes
// stay near the core.
int64_t tilesPerBlock(int64_t cin, int64_t cout) {
  int64_t tb = (int64_t(1) << 19) / (kXi * (cin + cout));  // about 2 MB of planes per thread
  return std::max<int64_t>(16, std::min<int64_t>(256, tb));
}

// B^T d B of the 6x6 tile whose top-left input pixel is (iy0, ix0) of image `img` [H, W, C]; writes the 36 planes of
// tile slot `slot` into v [36][tb][C]. Pixels outside the image read as zero.
void inputTile(const float* img, int64_t H, int64_t W, int64_t C, int64_t iy0, int64_t ix0, float* v, int64_t tb,
               int64_t slot) {
  alignas(64) float d[kA][kA][kCB];
  alignas(64) float t[kA][kA][kCB];
  const bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + kA <= H && ix0 + kA <= W;
  for (int64_t c0 = 0; c0 < C; c0 += kCB) {
    const int64_t cn = std::min(kCB, C - c0);
    for (int i = 0; i < kA; i++) {
      for (int j = 0; j < kA; j++) {
        const int64_t y = iy0 + i, x = ix0 + j;
        if (inside || (y >= 0 && y < H && x >= 0 && x < W)) {
          std::memcpy(d[i][j], img + (y * W + x) * C + c0, cn * sizeof(float));
        } else {
          std::memset(d[i][j], 0, cn * sizeof(float));
        }
      }
    }
    for (int j = 0; j < kA; j++) {
#pragma omp simd
      for (int64_t c = 0; c < cn; c++) {
        const float d0 = d[0][j][c], d1 = d[1][j][c], d2 = d[2][j][c], d3 = d[3][j][c], d4 = d[4][j][c],
                    d5 = d[5][j][c];
        t[0][j][c] = 4.f * d0 - 5.f * d2 + d4;
        t[1][j][c] = -4.f * (d1 + d2) + d3 + d4;
        t[2][j][c] = 4.f * (d1 - d2) - d3 + d4;
        t[3][j][c] = 2.f * (d3 - d1) - d2 + d4;
        t[4][j][c] = 2.f * (d1 - d3) - d2 + d4;
        t[5][j][c] = 4.f * d1 - 5.f * d3 + d5;
      }
    }
    const int64_t plane = tb * C;
    for (int i = 0; i < kA; i++) {
      float* o = v + int64_t(i * kA) * plane + slot * C + c0;
#pragma omp simd
      for (int64_t c = 0; c < cn; c++) {
        const float d0 = t[i][0][c], d1 = t[i][1][c], d2 = t[i][2][c], d3 = t[i][3][c], d4 = t[i][4][c],
                    d5 = t[i][5][c];
        o[0 * plane + c] = 4.f * d0 - 5.f * d2 + d4;
        o[1 * plane + c] = -4.f * (d1 + d2) + d3 + d4;
        o[2 * plane + c] = 4.f * (d1 - d2) - d3 + d4;
        o[3 * plane + c] = 2.f * (d3 - d1) - d2 + d4;
        o[4 * plane + c] = 2.f * (d1 - d3) - d2 + d4;
        o[5 * plane + c] = 4.f * d1 - 5.f * d3 + d5;
      }
    }
  }
}

// A^T m A of tile slot `slot` of m [36][tb][K] into the 4x4 outputs at (oy0, ox0) of image `img` [OH, OW, K], the
// outputs past the image's edge dropped, bias added when given.
void outputTile(const float* m, int64_t tb, int64_t slot, int64_t K, const float* bias, float* img, int64_t OH,
                int64_t OW, int64_t oy0, int64_t ox0) {
  alignas(64) float s[kM][kA][kCB];
  alignas(64) float y[kM][kM][kCB];
  const int64_t plane = tb * K;
  for (int64_t c0 = 0; c0 < K; c0 += kCB) {
    const int64_t cn = std::min(kCB, K - c0);
    for (int j = 0; j < kA; j++) {
      const float* p = m + int64_t(j) * plane + slot * K + c0;
#pragma omp simd
      for (int64_t c = 0; c < cn; c++) {
        const float m0 = p[0 * kA * plane + c], m1 = p[1 * kA * plane + c], m2 = p[2 * kA * plane + c],
                    m3 = p[3 * kA * plane + c], m4 = p[4 * kA * plane + c], m5 = p[5 * kA * plane + c];
        s[0][j][c] = m0 + m1 + m2 + m3 + m4;
        s[1][j][c] = m1 - m2 + 2.f * (m3 - m4);
        s[2][j][c] = m1 + m2 + 4.f * (m3 + m4);
        s[3][j][c] = m1 - m2 + 8.f * (m3 - m4) + m5;
      }
    }
    for (int i = 0; i < kM; i++) {
#pragma omp simd
      for (int64_t c = 0; c < cn; c++) {
        const float m0 = s[i][0][c], m1 = s[i][1][c], m2 = s[i][2][c], m3 = s[i][3][c], m4 = s[i][4][c],
                    m5 = s[i][5][c];
        const float b = bias ? bias[c0 + c] : 0.f;
        y[i][0][c] = m0 + m1 + m2 + m3 + m4 + b;
        y[i][1][c] = m1 - m2 + 2.f * (m3 - m4) + b;
        y[i][2][c] = m1 + m2 + 4.f * (m3 + m4) + b;
        y[i][3][c] = m1 - m2 + 8.f * (m3 - m4) + m5 + b;
      }
    }
    for (int i = 0; i < kM && oy0 + i < OH; i++) {
      for (int j = 0; j < kM && ox0 + j < OW; j++) {
        std::memcpy(img + ((oy0 + i) * OW + ox0 + j) * K + c0, y[i][j], cn * sizeof(float));
      }
    }
  }
}

// A e A^T of the 4x4 output-gradient tile at (oy0, ox0) of image `img` [OH, OW, K] (zeros past the edge) into tile
// slot `slot` of e [36][tb][K].
void gradTile(const float* img, int64_t OH, int64_t OW, int64_t K, int64_t oy0, int64_t ox0, float* e, int64_t tb,
              int64_t slot) {
  alignas(64) float d[kM][kM][kCB];
  alignas(64) float t[kA][kM][kCB];
  const int64_t plane = tb * K;
  for (int64_t c0 = 0; c0 < K; c0 += kCB) {
    const int64_t cn = std::min(kCB, K - c0);
    for (int i = 0; i < kM; i++) {
      for (int j = 0; j < kM; j++) {
        if (oy0 + i < OH && ox0 + j < OW) {
          std::memcpy(d[i][j], img + ((oy0 + i) * OW + ox0 + j) * K + c0, cn * sizeof(float));
        } else {
          std::memset(d[i][j], 0, cn * sizeof(float));
        }
      }
    }
    for (int j = 0; j < kM; j++) {
#pragma omp simd
      for (int64_t c = 0; c < cn; c++) {
        const float e0 = d[0][j][c], e1 = d[1][j][c], e2 = d[2][j][c], e3 = d[3][j][c];
        t[0][j][c] = e0;
        t[1][j][c] = e0 + e1 + e2 + e3;
        t[2][j][c] = e0 - e1 + e2 - e3;
        t[3][j][c] = e0 + 2.f * e1 + 4.f * e2 + 8.f * e3;
        t[4][j][c] = e0 - 2.f * e1 + 4.f * e2 - 8.f * e3;
        t[5][j][c] = e3;
      }
    }
    for (int i = 0; i < kA; i++) {
      float* o = e + int64_t(i * kA) * plane + slot * K + c0;
#pragma omp simd
      for (int64_t c = 0; c < cn; c++) {
        const float e0 = t[i][0][c], e1 = t[i][1][c], e2 = t[i][2][c], e3 = t[i][3][c];
        o[0 * plane + c] = e0;
        o[1 * plane + c] = e0 + e1 + e2 + e3;
        o[2 * plane + c] = e0 - e1 + e2 - e3;
        o[3 * plane + c] = e0 + 2.f * e1 + 4.f * e2 + 8.f * e3;
        o[4 * plane + c] = e0 - 2.f * e1 + 4.f * e2 - 8.f * e3;
        o[5 * plane + c] = e3;
      }
    }
  }
}

// G g G^T of every (cin, cout) 3x3 kernel into u [36][cin][cout]. `w` is hwio [3, 3, IC, OC]; with `flip` the kernel is
// rotated by 180 degrees and its channels swapped (cin = OC, cout = IC), which turns the forward correlation into
// the backward-data one.
void weightTransform(const float* w, int64_t IC, int64_t OC, bool flip, float* u) {
  const int64_t cin = flip ? OC : IC, cout = flip ? IC : OC;
  const int64_t plane = cin * cout;
#pragma omp parallel for schedule(static)
  for (int64_t ci = 0; ci < cin; ci++) {
    alignas(64) float g[3][3][kCB];
    alignas(64) float t[kA][3][kCB];
    for (int64_t c0 = 0; c0 < cout; c0 += kCB) {
      const int64_t cn = std::min(kCB, cout - c0);
      for (int ky = 0; ky < 3; ky++) {
        for (int kx = 0; kx < 3; kx++) {
          if (!flip) {
            std::memcpy(g[ky][kx], w + ((ky * 3 + kx) * IC + ci) * OC + c0, cn * sizeof(float));
          } else {
            // cin indexes OC, cout indexes IC: a strided gather, small next to the products.
            const float* src = w + ((2 - ky) * 3 + (2 - kx)) * IC * OC + ci;
            for (int64_t c = 0; c < cn; c++) g[ky][kx][c] = src[(c0 + c) * OC];
          }
        }
      }
      for (int kx = 0; kx < 3; kx++) {
#pragma omp simd
        for (int64_t c = 0; c < cn; c++) {
          const float g0 = g[0][kx][c], g1 = g[1][kx][c], g2 = g[2][kx][c];
          t[0][kx][c] = g0 * (1.f / 4);
          t[1][kx][c] = -(g0 + g1 + g2) * (1.f / 6);
          t[2][kx][c] = -(g0 - g1 + g2) * (1.f / 6);
          t[3][kx][c] = g0 * (1.f / 24) + g1 * (1.f / 12) + g2 * (1.f / 6);
          t[4][kx][c] = g0 * (1.f / 24) - g1 * (1.f / 12) + g2 * (1.f / 6);
          t[5][kx][c] = g2;
        }
      }
      for (int i = 0; i < kA; i++) {
        float* o = u + int64_t(i * kA) * plane + ci * cout + c0;
#pragma omp simd
        for (int64_t c = 0; c < cn; c++) {
          const float g0 = t[i][0][c], g1 = t[i][1][c], g2 = t[i][2][c];
          o[0 * plane + c] = g0 * (1.f / 4);
          o[1 * plane + c] = -(g0 + g1 + g2) * (1.f / 6);
          o[2 * plane + c] = -(g0 - g1 + g2) * (1.f / 6);
          o[3 * plane + c] = g0 * (1.f / 24) + g1 * (1.f / 12) + g2 * (1.f / 6);
          o[4 * plane + c] = g0 * (1.f / 24) - g1 * (1.f / 12) + g2 * (1.f / 6);
          o[5 * plane + c] = g2;
        }
      }
    }
  }
}

void prepareBuffers(size_t v, size_t m, size_t acc) {
  auto& b = buffers();
  const int nthr = omp_get_max_threads();
  if (int(b.size()) < nthr) b.resize(nthr);
  for (int t = 0; t < nthr; t++) {
    grow(b[t].v, v);
    grow(b[t].m, m);
    if (acc) grow(b[t].acc, acc);
  }
}

// out [N, OH, OW, K] = the correlation of in [N, H, W, C] (zero-padded by padT / padL) with the kernels whose
// transforms are u [36][C][K].
void correlate(const float* in, int64_t N, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW, int64_t K,
               int64_t padT, int64_t padL, const float* u, const float* bias, float* out) {
  const int64_t tH = (OH + kM - 1) / kM, tW = (OW + kM - 1) / kM, T = N * tH * tW;
  const int64_t tb = tilesPerBlock(C, K), blocks = (T + tb - 1) / tb;
  prepareBuffers(size_t(kXi * tb * C), size_t(kXi * tb * K), 0);
#pragma omp parallel
  {
    const int tid = omp_get_thread_num(), nthr = omp_get_num_threads();
    float* v = buffers()[tid].v.data();
    float* m = buffers()[tid].m.data();
    for (int64_t blk = tid; blk < blocks; blk += nthr) {
      const int64_t t0 = blk * tb, tn = std::min(tb, T - t0);
      for (int64_t s = 0; s < tn; s++) {
        const int64_t t = t0 + s, n = t / (tH * tW), ty = (t / tW) % tH, tx = t % tW;
        inputTile(in + n * H * W * C, H, W, C, ty * kM - padT, tx * kM - padL, v, tb, s);
      }
      for (int xi = 0; xi < kXi; xi++) {
        sgemm('N', 'N', tn, K, C, v + xi * tb * C, C, u + xi * C * K, K, 0.f, m + xi * tb * K, K);
      }
      for (int64_t s = 0; s < tn; s++) {
        const int64_t t = t0 + s, n = t / (tH * tW), ty = (t / tW) % tH, tx = t % tW;
        outputTile(m, tb, s, K, bias, out + n * OH * OW * K, OH, OW, ty * kM, tx * kM);
      }
    }
  }
}

std::vector<float>& weightPlanes() {
  static std::vector<float> u;
  return u;
}

}  // namespace

bool available() {
#ifdef WINO_X86
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

void forward(const Geo& g, const float* x, const float* w, const float* bias, float* y) {
  float* u = grow(weightPlanes(), size_t(kXi * g.IC * g.OC));
  weightTransform(w, g.IC, g.OC, false, u);
  correlate(x, g.N, g.IH, g.IW, g.IC, g.OH, g.OW, g.OC, g.PT, g.PL, u, bias, y);
}

int64_t transformedWeightFloats(int64_t IC, int64_t OC) { return kXi * IC * OC; }

void transformWeights(const float* w, int64_t IC, int64_t OC, float* u) { weightTransform(w, IC, OC, false, u); }

void forwardTransformed(const Geo& g, const float* x, const float* u, const float* bias, float* y) {
  correlate(x, g.N, g.IH, g.IW, g.IC, g.OH, g.OW, g.OC, g.PT, g.PL, u, bias, y);
}

void backwardData(const Geo& g, const float* dy, const float* w, float* dx) {
  float* u = grow(weightPlanes(), size_t(kXi * g.IC * g.OC));
  weightTransform(w, g.IC, g.OC, true, u);
  // dx[iy] = sum_k dy[iy + PT - k] w[k] = sum_k' dy[iy + k' - (2 - PT)] w[2 - k']: a correlation padded by 2 - PT.
  correlate(dy, g.N, g.OH, g.OW, g.OC, g.IH, g.IW, g.IC, 2 - g.PT, 2 - g.PL, u, nullptr, dx);
}

void backwardWeights(const Geo& g, const float* x, const float* dy, float* dw) {
  const int64_t C = g.IC, K = g.OC;
  const int64_t tH = (g.OH + kM - 1) / kM, tW = (g.OW + kM - 1) / kM, T = g.N * tH * tW;
  const int64_t tb = tilesPerBlock(C, K), blocks = (T + tb - 1) / tb;
  const int64_t planes = kXi * C * K;
  prepareBuffers(size_t(kXi * tb * C), size_t(kXi * tb * K), size_t(planes));
  int used = 1;
#pragma omp parallel
  {
    const int tid = omp_get_thread_num(), nthr = omp_get_num_threads();
#pragma omp single
    used = nthr;
    float* v = buffers()[tid].v.data();
    float* e = buffers()[tid].m.data();
    float* acc = buffers()[tid].acc.data();
    std::memset(acc, 0, size_t(planes) * sizeof(float));
    for (int64_t blk = tid; blk < blocks; blk += nthr) {
      const int64_t t0 = blk * tb, tn = std::min(tb, T - t0);
      for (int64_t s = 0; s < tn; s++) {
        const int64_t t = t0 + s, n = t / (tH * tW), ty = (t / tW) % tH, tx = t % tW;
        inputTile(x + n * g.IH * g.IW * C, g.IH, g.IW, C, ty * kM - g.PT, tx * kM - g.PL, v, tb, s);
        gradTile(dy + n * g.OH * g.OW * K, g.OH, g.OW, K, ty * kM, tx * kM, e, tb, s);
      }
      for (int xi = 0; xi < kXi; xi++) {
        sgemm('T', 'N', C, K, tn, v + xi * tb * C, C, e + xi * tb * K, K, 1.f, acc + xi * C * K, K);
      }
    }
  }
  // The threads' sums, in thread order, so the result does not depend on timing.
  float* total = buffers()[0].acc.data();
  for (int t = 1; t < used; t++) {
    const float* a = buffers()[t].acc.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < planes; i++) total[i] += a[i];
  }
  const int64_t plane = C * K;
  // dw = G^T P G per (ic, oc): rows first (into 3x6), then columns.
#pragma omp parallel for schedule(static)
  for (int64_t i0 = 0; i0 < plane; i0 += kCB) {
    const int64_t cn = std::min(kCB, plane - i0);
    alignas(64) float r[3][kA][kCB];
    for (int j = 0; j < kA; j++) {
#pragma omp simd
      for (int64_t c = 0; c < cn; c++) {
        const float p0 = total[(0 * kA + j) * plane + i0 + c], p1 = total[(1 * kA + j) * plane + i0 + c],
                    p2 = total[(2 * kA + j) * plane + i0 + c], p3 = total[(3 * kA + j) * plane + i0 + c],
                    p4 = total[(4 * kA + j) * plane + i0 + c], p5 = total[(5 * kA + j) * plane + i0 + c];
        r[0][j][c] = p0 * (1.f / 4) - (p1 + p2) * (1.f / 6) + (p3 + p4) * (1.f / 24);
        r[1][j][c] = (p2 - p1) * (1.f / 6) + (p3 - p4) * (1.f / 12);
        r[2][j][c] = (p3 + p4 - p1 - p2) * (1.f / 6) + p5;
      }
    }
    for (int ky = 0; ky < 3; ky++) {
#pragma omp simd
      for (int64_t c = 0; c < cn; c++) {
        const float p0 = r[ky][0][c], p1 = r[ky][1][c], p2 = r[ky][2][c], p3 = r[ky][3][c], p4 = r[ky][4][c],
                    p5 = r[ky][5][c];
        dw[(ky * 3 + 0) * plane + i0 + c] = p0 * (1.f / 4) - (p1 + p2) * (1.f / 6) + (p3 + p4) * (1.f / 24);
        dw[(ky * 3 + 1) * plane + i0 + c] = (p2 - p1) * (1.f / 6) + (p3 - p4) * (1.f / 12);
        dw[(ky * 3 + 2) * plane + i0 + c] = (p3 + p4 - p1 - p2) * (1.f / 6) + p5;
      }
    }
  }
}

}  // namespace wino

#ifdef WINO_X86
#pragma GCC pop_options
#endif
