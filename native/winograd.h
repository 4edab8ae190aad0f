// Winograd F(4x4, 3x3) convolutions on NHWC tensors, for the three passes of training, where oneDNN 2.6 has none
// (it implements Winograd only for AVX-512). See winograd.cc for the transforms and why they are laid out so.
#pragma once

#include <cstdint>

namespace wino {

// A stride-1, dilation-1, 3x3 convolution (groups 1) of x [N, IH, IW, IC] into y [N, OH, OW, OC], padded by PT rows
// above and PL columns left (zeros past every edge), weights in tfjs's [3, 3, IC, OC] (hwio).
struct Geo {
  int64_t N, IH, IW, IC, OH, OW, OC, PT, PL;
};

// Whether this build and CPU can run these kernels (x86-64 with AVX2 and FMA).
bool available();

// y = conv(x, w) (+ bias[OC] when not null).
void forward(const Geo& g, const float* x, const float* w, const float* bias, float* y);
// Floats of the transformed weights of a convolution (36 x IC x OC), and the transform itself (u from hwio w), for
// callers that run the same weights many times (inference plans).
int64_t transformedWeightFloats(int64_t IC, int64_t OC);
void transformWeights(const float* w, int64_t IC, int64_t OC, float* u);
// y = conv(x, the weights whose transform is u) (+ bias).
void forwardTransformed(const Geo& g, const float* x, const float* u, const float* bias, float* y);
// dx = the gradient of conv(x, w) with respect to x, given dy [N, OH, OW, OC].
void backwardData(const Geo& g, const float* dy, const float* w, float* dx);
// dw = the gradient of conv(x, w) with respect to w, given x and dy; overwrites dw [3, 3, IC, OC].
void backwardWeights(const Geo& g, const float* x, const float* dy, float* dw);

}  // namespace wino
