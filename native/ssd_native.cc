// Node-API addon: oneDNN convolutions and fused CB / DCB blocks for the "native" tfjs backend.
//
// Every tensor argument is a Float32Array that views memory owned by the caller (the tfjs wasm heap), so nothing is
// copied on the way in or out. Activations are NHWC; weights arrive in tfjs layouts (conv [kh, kw, cin, cout] =
// oneDNN hwio, depthwise [kh, kw, cin, mult] = oneDNN hwigo) and are reordered to whatever layout oneDNN prefers,
// because forcing tfjs's layout on the kernels costs up to 50x on depthwise convolutions.
// Primitives, reorders and their scratch buffers are created once per shape and reused.
#include <node_api.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

engine& eng() {
  static engine e(engine::kind::cpu, 0);
  return e;
}
stream& strm() {
  static stream s(eng());
  return s;
}

// Optional phase timing (SSD_NATIVE_TRACE=1): prints the milliseconds of each phase of the fused backward calls.
bool tracing() {
  static const bool on = std::getenv("SSD_NATIVE_TRACE") != nullptr;
  return on;
}
struct Tic {
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
  void lap(const char* what, const std::string& shape) {
    if (!tracing()) return;
    auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "ssd_trace,%s,%s,%.3f\n", what, shape.c_str(),
                 std::chrono::duration<double, std::milli>(now - t).count());
    t = now;
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Convolution geometry, as the JavaScript side computes it from tfjs's conv info.
struct ConvP {
  int64_t N, IH, IW, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, G;
};
constexpr int kConvPLen = 18;

std::string convKey(const ConvP& p) {
  const int64_t* v = &p.N;
  std::string k;
  for (int i = 0; i < kConvPLen; i++) k += std::to_string(v[i]) + ",";
  return k;
}

memory::desc srcMd(const ConvP& p) { return memory::desc({p.N, p.IC, p.IH, p.IW}, dt::f32, tag::nhwc); }
memory::desc dstMd(const ConvP& p) { return memory::desc({p.N, p.OC, p.OH, p.OW}, dt::f32, tag::nhwc); }
memory::dims wDims(const ConvP& p) {
  if (p.G == 1) return {p.OC, p.IC, p.KH, p.KW};
  return {p.G, p.OC / p.G, p.IC / p.G, p.KH, p.KW};
}
memory::desc userWMd(const ConvP& p) { return memory::desc(wDims(p), dt::f32, p.G == 1 ? tag::hwio : tag::hwigo); }
memory::desc anyWMd(const ConvP& p) { return memory::desc(wDims(p), dt::f32, tag::any); }

// Buffers for oneDNN-layout copies and scratchpads. A call needs at most one of each slot at a time (JavaScript calls
// in from one thread), so every primitive shares the same few slots, each as large as the largest request, instead of
// owning buffers per shape (which tripled the addon's memory once Winograd's blocked copies came in).
// The DCB slots hold a block's intermediates while its two stages run (see `scratch`).
enum Slot {
  kSlotWeights,
  kSlotIn,
  kSlotOut,
  kSlotScratchpad,
  kSlotDcbStage,
  kSlotDcbActivation,
  kSlotDcbGrad,
  kSlots
};
struct Arena {
  std::vector<float> buf;
  // Grows to `floats` plus slack for alignment and a guard band; call before any pointer of this slot is taken.
  void reserve(size_t floats) {
    if (buf.size() < floats + 16 + 64) buf.resize(floats + 16 + 64);
  }
  // 64-byte aligned: Winograd's kernels use aligned vector loads on their blocked buffers and fault on the 16-byte
  // alignment a std::vector gives.
  float* data() { return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) & ~uintptr_t(63)); }
};
Arena& arena(Slot s) {
  static Arena a[kSlots];
  return a[s];
}

// A reorder between a caller buffer and oneDNN's preferred layout, through an arena slot.
struct Reo {
  bool need = false;
  Slot slot = kSlotIn;
  memory::desc user, internal;
  reorder prim;
  float* data() { return arena(slot).data(); }
  void init(const memory::desc& u, const memory::desc& i, bool toInternal, Slot sl) {
    user = u;
    internal = i;
    slot = sl;
    need = !(u == i);
    if (need) {
      prim = toInternal ? reorder(reorder::primitive_desc(eng(), u, eng(), i))
                        : reorder(reorder::primitive_desc(eng(), i, eng(), u));
      arena(slot).reserve(i.get_size() / sizeof(float));
    }
  }
  // Caller layout in, oneDNN layout out.
  memory in(float* ptr) {
    memory um(user, eng(), ptr);
    if (!need) return um;
    memory im(internal, eng(), data());
    prim.execute(strm(), um, im);
    return im;
  }
  // The memory oneDNN writes to; `finish` moves it into the caller's buffer.
  memory outMem(float* ptr) { return need ? memory(internal, eng(), data()) : memory(user, eng(), ptr); }
  void finish(float* ptr) {
    if (!need) return;
    memory im(internal, eng(), data());
    memory um(user, eng(), ptr);
    prim.execute(strm(), im, um);
  }
};

// A primitive's scratchpad (oneDNN's user scratchpad mode) in the scratchpad slot, with a guard band behind it that
// is checked after every call. With oneDNN 2.6's library-managed scratchpads the heap got corrupted once Winograd
// primitives of several shapes existed (glibc aborted with "munmap_chunk(): invalid pointer" after the kernel test
// grid ran behind the fused-block tests); with these the same tests run clean under MALLOC_CHECK_=3, and an overrun
// would be reported here instead of corrupting memory.
struct Scratchpad {
  static constexpr size_t kGuard = 64;
  static constexpr float kMark = -1234.5f;
  memory::desc desc;
  size_t n = 0;
  void init(const memory::desc& md) {
    desc = md;
    n = md.get_size() / sizeof(float) + 1;
    arena(kSlotScratchpad).reserve(n + kGuard);
  }
  memory mem() {
    float* p = arena(kSlotScratchpad).data();
    for (size_t i = 0; i < kGuard; i++) p[n + i] = kMark;
    return memory(desc, eng(), p);
  }
  void check(const char* what) {
    const float* p = arena(kSlotScratchpad).data();
    for (size_t i = 0; i < kGuard; i++) {
      if (p[n + i] != kMark) throw std::runtime_error(std::string(what) + ": oneDNN wrote past its scratchpad");
    }
  }
};

// `src` / `dst` reorder the caller's NHWC activations when the primitive wants another layout (Winograd's blocked
// nChw16c); for direct convolutions on NHWC they are no-ops.
struct ConvFwd {
  convolution_forward::primitive_desc pd;
  convolution_forward prim;
  Reo w, src, dst;
  Scratchpad pad;
  bool winograd = false;
};
struct ConvBwdD {
  convolution_backward_data::primitive_desc pd;
  convolution_backward_data prim;
  Reo w, diffDst, diffSrc;
  Scratchpad pad;
};
struct ConvBwdW {
  convolution_backward_weights::primitive_desc pd;
  convolution_backward_weights prim;
  Reo w, src, diffDst;
  Scratchpad pad;
};

// Winograd F(4x4, 3x3) (oneDNN's jit_wino_4x3) runs our stride-1 3x3 convolutions up to twice as fast as the direct
// kernels in all three passes, but it works on its blocked layout (nChw16c), so the activations are reordered to it
// and back, and on small maps its 4x4 tiles and transforms cost more than they save. Measured on this machine with
// the reorders included (direct / Winograd time, forward + both backward passes): 64->64 at 30x40 and 128->128 at
// 15x20 1.7x faster at batch 16 and 8, 16->32 at 120x160 1.1-1.2x, 128->32 at 15x20 1.35-1.6x; but 16->16 at any
// size 0.5-0.9x, every map of 8x10 or smaller 0.15-0.9x, and batch 1 0.2-1.1x. Hence: channel counts in multiples of
// 16 (its requirement), IC x OC >= 512, at least 300 output pixels, batch >= 4. SSD_NATIVE_WINOGRAD=0 or
// setWinograd(false) turns it off.
bool& winogradOn() {
  static bool on = [] {
    const char* v = std::getenv("SSD_NATIVE_WINOGRAD");
    return v == nullptr || std::string(v) != "0";
  }();
  return on;
}
bool winogradWanted(const ConvP& p) {
  return winogradOn() && p.G == 1 && p.KH == 3 && p.KW == 3 && p.SH == 1 && p.SW == 1 && p.DH == 1 && p.DW == 1 &&
         p.IC % 16 == 0 && p.OC % 16 == 0 && p.IC * p.OC >= 512 && p.OH * p.OW >= 300 && p.N >= 4;
}
// Cache key of a convolution: its geometry and whether Winograd may be used (setWinograd switches at run time).
std::string convKeyW(const ConvP& p) { return convKey(p) + (winogradWanted(p) ? "w" : "d"); }

primitive_attr userScratchpad() {
  primitive_attr a;
  a.set_scratchpad_mode(scratchpad_mode::user);
  return a;
}
memory::desc anyActMd(const memory::desc& md) { return memory::desc(md.dims(), dt::f32, tag::any); }

std::unordered_map<std::string, std::unique_ptr<ConvFwd>> fwdCache;
std::unordered_map<std::string, std::unique_ptr<ConvBwdD>> bwdDCache;
std::unordered_map<std::string, std::unique_ptr<ConvBwdW>> bwdWCache;

// Activation codes shared with the JavaScript side.
enum Act { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeaky = 3, kSigmoid = 4, kElu = 5 };

ConvFwd& getFwd(const ConvP& p, bool bias, int act, float alpha) {
  std::string key = convKeyW(p) + (bias ? "b" : "n") + std::to_string(act) + ":" + std::to_string(alpha);
  auto it = fwdCache.find(key);
  if (it != fwdCache.end()) return *it->second;
  auto e = std::make_unique<ConvFwd>();
  memory::dims strides{p.SH, p.SW}, dil{p.DH - 1, p.DW - 1}, pl{p.PT, p.PL}, pr{p.PB, p.PR};
  primitive_attr attr;
  attr.set_scratchpad_mode(scratchpad_mode::user);
  if (act != kLinear) {
    post_ops po;
    switch (act) {
      case kRelu: po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); break;
      case kRelu6: po.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f); break;
      case kLeaky: po.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f); break;
      case kSigmoid: po.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f); break;
      case kElu: po.append_eltwise(1.f, algorithm::eltwise_elu, 1.f, 0.f); break;
      default: throw std::runtime_error("unknown activation code " + std::to_string(act));
    }
    attr.set_post_ops(po);
  }
  auto make = [&](algorithm alg, const memory::desc& s, const memory::desc& d) {
    if (bias) {
      memory::desc bmd({p.OC}, dt::f32, tag::x);
      convolution_forward::desc cd(prop_kind::forward_training, alg, s, anyWMd(p), bmd, d, strides, dil, pl, pr);
      return convolution_forward::primitive_desc(cd, attr, eng());
    }
    convolution_forward::desc cd(prop_kind::forward_training, alg, s, anyWMd(p), d, strides, dil, pl, pr);
    return convolution_forward::primitive_desc(cd, attr, eng());
  };
  if (winogradWanted(p)) {
    try {
      e->pd = make(algorithm::convolution_winograd, anyActMd(srcMd(p)), anyActMd(dstMd(p)));
      e->winograd = true;
    } catch (const dnnl::error&) {
      // Not implemented for this shape or post-op on this machine: the direct kernels below.
    }
  }
  if (!e->winograd) e->pd = make(algorithm::convolution_direct, srcMd(p), dstMd(p));
  e->prim = convolution_forward(e->pd);
  e->pad.init(e->pd.scratchpad_desc());
  e->w.init(userWMd(p), e->pd.weights_desc(), true, kSlotWeights);
  e->src.init(srcMd(p), e->pd.src_desc(), true, kSlotIn);
  e->dst.init(dstMd(p), e->pd.dst_desc(), false, kSlotOut);
  auto& ref = *e;
  fwdCache[key] = std::move(e);
  return ref;
}

ConvBwdD& getBwdD(const ConvP& p) {
  std::string key = convKeyW(p);
  auto it = bwdDCache.find(key);
  if (it != bwdDCache.end()) return *it->second;
  auto& hint = getFwd(p, false, kLinear, 0.f);
  auto e = std::make_unique<ConvBwdD>();
  memory::dims strides{p.SH, p.SW}, dil{p.DH - 1, p.DW - 1}, pl{p.PT, p.PL}, pr{p.PB, p.PR};
  const bool wino = hint.winograd;
  convolution_backward_data::desc d(wino ? algorithm::convolution_winograd : algorithm::convolution_direct,
                                    wino ? anyActMd(srcMd(p)) : srcMd(p), anyWMd(p),
                                    wino ? anyActMd(dstMd(p)) : dstMd(p), strides, dil, pl, pr);
  e->pd = convolution_backward_data::primitive_desc(d, userScratchpad(), eng(), hint.pd);
  e->prim = convolution_backward_data(e->pd);
  e->pad.init(e->pd.scratchpad_desc());
  e->w.init(userWMd(p), e->pd.weights_desc(), true, kSlotWeights);
  e->diffDst.init(dstMd(p), e->pd.diff_dst_desc(), true, kSlotIn);
  e->diffSrc.init(srcMd(p), e->pd.diff_src_desc(), false, kSlotOut);
  auto& ref = *e;
  bwdDCache[key] = std::move(e);
  return ref;
}

ConvBwdW& getBwdW(const ConvP& p) {
  std::string key = convKeyW(p);
  auto it = bwdWCache.find(key);
  if (it != bwdWCache.end()) return *it->second;
  auto& hint = getFwd(p, false, kLinear, 0.f);
  auto e = std::make_unique<ConvBwdW>();
  memory::dims strides{p.SH, p.SW}, dil{p.DH - 1, p.DW - 1}, pl{p.PT, p.PL}, pr{p.PB, p.PR};
  const bool wino = hint.winograd;
  convolution_backward_weights::desc d(wino ? algorithm::convolution_winograd : algorithm::convolution_direct,
                                       wino ? anyActMd(srcMd(p)) : srcMd(p), anyWMd(p),
                                       wino ? anyActMd(dstMd(p)) : dstMd(p), strides, dil, pl, pr);
  e->pd = convolution_backward_weights::primitive_desc(d, userScratchpad(), eng(), hint.pd);
  // oneDNN 2.6's jit_1x1 backward-weights kernel gives wrong weights and corrupts the heap for strided 1x1
  // convolutions on NHWC data (seen at batch 1, 8x10 -> 4x5); take the next implementation instead.
  if (p.KH == 1 && p.KW == 1 && (p.SH > 1 || p.SW > 1)) {
    while (std::string(e->pd.impl_info_str()).rfind("jit_1x1", 0) == 0 && e->pd.next_impl()) {
    }
  }
  e->prim = convolution_backward_weights(e->pd);
  e->pad.init(e->pd.scratchpad_desc());
  e->w.init(userWMd(p), e->pd.diff_weights_desc(), false, kSlotWeights);
  e->src.init(srcMd(p), e->pd.src_desc(), true, kSlotIn);
  e->diffDst.init(dstMd(p), e->pd.diff_dst_desc(), true, kSlotOut);
  auto& ref = *e;
  bwdWCache[key] = std::move(e);
  return ref;
}

void convForward(const ConvP& p, float* x, float* w, float* b, float* y, int act, float alpha) {
  auto& c = getFwd(p, b != nullptr, act, alpha);
  memory wm = c.w.in(w);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, c.src.in(x)}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, c.dst.outMem(y)}};
  if (b) args.insert({DNNL_ARG_BIAS, memory(memory::desc({p.OC}, dt::f32, tag::x), eng(), b)});
  args.insert({DNNL_ARG_SCRATCHPAD, c.pad.mem()});
  c.prim.execute(strm(), args);
  c.dst.finish(y);
  strm().wait();
  c.pad.check("convForward");
}

void convBackwardData(const ConvP& p, float* dy, float* w, float* dx) {
  auto& c = getBwdD(p);
  memory wm = c.w.in(w);
  c.prim.execute(strm(), {{DNNL_ARG_DIFF_DST, c.diffDst.in(dy)},
                          {DNNL_ARG_WEIGHTS, wm},
                          {DNNL_ARG_DIFF_SRC, c.diffSrc.outMem(dx)},
                          {DNNL_ARG_SCRATCHPAD, c.pad.mem()}});
  c.diffSrc.finish(dx);
  strm().wait();
  c.pad.check("convBackwardData");
}

void convBackwardWeights(const ConvP& p, float* x, float* dy, float* dw) {
  auto& c = getBwdW(p);
  c.prim.execute(strm(), {{DNNL_ARG_SRC, c.src.in(x)},
                          {DNNL_ARG_DIFF_DST, c.diffDst.in(dy)},
                          {DNNL_ARG_DIFF_WEIGHTS, c.w.outMem(dw)},
                          {DNNL_ARG_SCRATCHPAD, c.pad.mem()}});
  c.w.finish(dw);
  strm().wait();
  c.pad.check("convBackwardWeights");
}

// ---------------------------------------------------------------------------------------------------------------
// Batch normalisation over NHWC data with per-channel gamma / beta; training normalises with the biased batch
// variance (what oneDNN computes, and what tfjs's moments + batchNorm compose to).
struct BnFwd {
  batch_normalization_forward::primitive_desc pd;
  batch_normalization_forward prim;
};
struct BnBwd {
  batch_normalization_backward::primitive_desc pd;
  batch_normalization_backward prim;
};
std::unordered_map<std::string, std::unique_ptr<BnFwd>> bnFwdCache;
std::unordered_map<std::string, std::unique_ptr<BnBwd>> bnBwdCache;

memory::desc bnMd(int64_t N, int64_t H, int64_t W, int64_t C) {
  return memory::desc({N, C, H, W}, dt::f32, tag::nhwc);
}
memory::desc vecMd(int64_t C) { return memory::desc({C}, dt::f32, tag::x); }

BnFwd& getBnFwd(int64_t N, int64_t H, int64_t W, int64_t C, float eps, bool training) {
  std::string key = std::to_string(N) + "," + std::to_string(H) + "," + std::to_string(W) + "," +
                    std::to_string(C) + "," + std::to_string(eps) + (training ? "t" : "i");
  auto it = bnFwdCache.find(key);
  if (it != bnFwdCache.end()) return *it->second;
  auto e = std::make_unique<BnFwd>();
  // ReLU fused in both modes; in training oneDNN records its decisions in a workspace bitmask, which the backward
  // pass applies itself, so neither a separate ReLU pass here nor a masking pass over dy there is needed.
  normalization_flags flags =
      normalization_flags::use_scale | normalization_flags::use_shift | normalization_flags::fuse_norm_relu;
  if (!training) flags = flags | normalization_flags::use_global_stats;
  batch_normalization_forward::desc d(training ? prop_kind::forward_training : prop_kind::forward_inference,
                                      bnMd(N, H, W, C), eps, flags);
  e->pd = batch_normalization_forward::primitive_desc(d, eng());
  e->prim = batch_normalization_forward(e->pd);
  auto& ref = *e;
  bnFwdCache[key] = std::move(e);
  return ref;
}

BnBwd& getBnBwd(int64_t N, int64_t H, int64_t W, int64_t C, float eps) {
  std::string key = std::to_string(N) + "," + std::to_string(H) + "," + std::to_string(W) + "," +
                    std::to_string(C) + "," + std::to_string(eps);
  auto it = bnBwdCache.find(key);
  if (it != bnBwdCache.end()) return *it->second;
  auto& hint = getBnFwd(N, H, W, C, eps, true);
  auto e = std::make_unique<BnBwd>();
  normalization_flags flags =
      normalization_flags::use_scale | normalization_flags::use_shift | normalization_flags::fuse_norm_relu;
  batch_normalization_backward::desc d(prop_kind::backward, bnMd(N, H, W, C), bnMd(N, H, W, C), eps, flags);
  e->pd = batch_normalization_backward::primitive_desc(d, eng(), hint.pd);
  e->prim = batch_normalization_backward(e->pd);
  auto& ref = *e;
  bnBwdCache[key] = std::move(e);
  return ref;
}

// Bytes of the ReLU workspace a training-mode bnRelu writes for an N x H x W x C tensor (JavaScript allocates it and
// keeps it until the backward pass).
size_t bnWorkspaceBytes(int64_t N, int64_t H, int64_t W, int64_t C, float eps) {
  return getBnFwd(N, H, W, C, eps, true).pd.workspace_desc().get_size();
}

// Training: normalise z with its batch statistics (written to mean / var), then ReLU, into y; the ReLU decisions go
// to `ws` (bnWorkspaceBytes). Inference: normalise with the given moving mean / var and ReLU, in place on y (z == y
// allowed), no workspace.
void bnRelu(int64_t N, int64_t H, int64_t W, int64_t C, float* z, float* gamma, float* beta, float* mean, float* var,
            float* y, float eps, bool training, void* ws = nullptr) {
  auto& b = getBnFwd(N, H, W, C, eps, training);
  memory::desc md = bnMd(N, H, W, C);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(md, eng(), z)},
                                       {DNNL_ARG_DST, memory(md, eng(), y)},
                                       {DNNL_ARG_SCALE, memory(vecMd(C), eng(), gamma)},
                                       {DNNL_ARG_SHIFT, memory(vecMd(C), eng(), beta)},
                                       {DNNL_ARG_MEAN, memory(vecMd(C), eng(), mean)},
                                       {DNNL_ARG_VARIANCE, memory(vecMd(C), eng(), var)}};
  if (training) {
    if (!ws) throw std::runtime_error("bnRelu: training needs a ReLU workspace");
    args.insert({DNNL_ARG_WORKSPACE, memory(b.pd.workspace_desc(), eng(), ws)});
  }
  b.prim.execute(strm(), args);
  strm().wait();
}

// dz = d(BN + ReLU)/dz applied to dy, the ReLU decisions read from the forward pass's workspace; also dgamma, dbeta.
void bnReluBackward(int64_t N, int64_t H, int64_t W, int64_t C, float* z, float* gamma, float* mean, float* var,
                    void* ws, float* dy, float* dz, float* dgamma, float* dbeta, float eps) {
  Tic tic;
  auto& b = getBnBwd(N, H, W, C, eps);
  memory::desc md = bnMd(N, H, W, C);
  b.prim.execute(strm(), {{DNNL_ARG_SRC, memory(md, eng(), z)},
                          {DNNL_ARG_MEAN, memory(vecMd(C), eng(), mean)},
                          {DNNL_ARG_VARIANCE, memory(vecMd(C), eng(), var)},
                          {DNNL_ARG_DIFF_DST, memory(md, eng(), dy)},
                          {DNNL_ARG_SCALE, memory(vecMd(C), eng(), gamma)},
                          // oneDNN 2.6 insists on a shift argument here although the backward pass never reads it.
                          {DNNL_ARG_SHIFT, memory(vecMd(C), eng(), gamma)},
                          {DNNL_ARG_WORKSPACE, memory(b.pd.workspace_desc(), eng(), ws)},
                          {DNNL_ARG_DIFF_SRC, memory(md, eng(), dz)},
                          {DNNL_ARG_DIFF_SCALE, memory(vecMd(C), eng(), dgamma)},
                          {DNNL_ARG_DIFF_SHIFT, memory(vecMd(C), eng(), dbeta)}});
  strm().wait();
  tic.lap("bn_bwd_only", std::to_string(N * H * W * C));
}

// A block's intermediate buffer of `n` floats in an arena slot of its own (it stays live across the convolutions
// in between, which use the other slots).
float* scratch(Slot slot, size_t n) {
  arena(slot).reserve(n);
  return arena(slot).data();
}

// ---------------------------------------------------------------------------------------------------------------
// Node-API glue.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  napi_env env;
  napi_value v[32];
  size_t n = 32;
  Args(napi_env e, napi_callback_info info) : env(e) {
    if (napi_get_cb_info(e, info, &n, v, nullptr, nullptr) != napi_ok) throw ArgError("cannot read arguments");
  }
  bool isNull(size_t i) {
    if (i >= n) return true;
    napi_valuetype t;
    napi_typeof(env, v[i], &t);
    return t == napi_null || t == napi_undefined;
  }
  // A Float32Array, or nullptr when `optional` and the argument is null / undefined.
  float* f32(size_t i, const char* name, bool optional = false) {
    if (isNull(i)) {
      if (optional) return nullptr;
      throw ArgError(std::string("argument ") + name + " is missing");
    }
    bool is = false;
    napi_is_typedarray(env, v[i], &is);
    if (!is) throw ArgError(std::string("argument ") + name + " must be a Float32Array");
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(env, v[i], &type, &len, &data, &ab, &off);
    if (type != napi_float32_array) throw ArgError(std::string("argument ") + name + " must be a Float32Array");
    return static_cast<float*>(data);
  }
  // A Float32Array and its length in elements.
  float* f32n(size_t i, const char* name, size_t* len) {
    float* p = f32(i, name);
    napi_typedarray_type type;
    void* data;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(env, v[i], &type, len, &data, &ab, &off);
    return p;
  }
  double num(size_t i, const char* name) {
    double d;
    if (i >= n || napi_get_value_double(env, v[i], &d) != napi_ok)
      throw ArgError(std::string("argument ") + name + " must be a number");
    return d;
  }
  bool flag(size_t i, const char* name) {
    bool b;
    if (i >= n || napi_get_value_bool(env, v[i], &b) != napi_ok)
      throw ArgError(std::string("argument ") + name + " must be a boolean");
    return b;
  }
  ConvP conv(size_t i, const char* name) {
    bool is = false;
    napi_is_typedarray(env, v[i], &is);
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    napi_value ab;
    size_t off;
    if (is) napi_get_typedarray_info(env, v[i], &type, &len, &data, &ab, &off);
    if (!is || type != napi_int32_array || len != kConvPLen)
      throw ArgError(std::string("argument ") + name + " must be an Int32Array of 18 conv parameters");
    const int32_t* s = static_cast<int32_t*>(data);
    ConvP p;
    int64_t* d = &p.N;
    for (int k = 0; k < kConvPLen; k++) d[k] = s[k];
    if (p.G < 1 || p.IC % p.G != 0 || p.OC % p.G != 0)
      throw ArgError(std::string("argument ") + name + ": groups must divide input and output channels");
    return p;
  }
};

template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("ssd_native: ") + e.what()).c_str());
  }
  return nullptr;
}

napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// convForward(x, w, bias|null, y, p, act, alpha)
napi_value JsConvForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    convForward(a.conv(4, "p"), a.f32(0, "x"), a.f32(1, "w"), a.f32(2, "bias", true), a.f32(3, "y"),
                static_cast<int>(a.num(5, "act")), static_cast<float>(a.num(6, "alpha")));
    return undef(env);
  });
}

// convBackwardData(dy, w, dx, p)
napi_value JsConvBackwardData(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    Tic tic;
    ConvP p = a.conv(3, "p");
    convBackwardData(p, a.f32(0, "dy"), a.f32(1, "w"), a.f32(2, "dx"));
    tic.lap("conv_bwd_data", tracing() ? convKey(p) : std::string());
    return undef(env);
  });
}

// convBackwardWeights(x, dy, dw, p)
napi_value JsConvBackwardWeights(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    convBackwardWeights(a.conv(3, "p"), a.f32(0, "x"), a.f32(1, "dy"), a.f32(2, "dw"));
    return undef(env);
  });
}

// cbForward(x, w, gamma, beta, mean, variance, z|null, y, p, eps, training, ws|null)
// Training writes the conv output to z, the batch statistics to mean / variance and the ReLU decisions to ws;
// inference reads the moving statistics from mean / variance and needs neither z nor ws.
napi_value JsCbForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    ConvP p = a.conv(8, "p");
    float eps = static_cast<float>(a.num(9, "eps"));
    bool training = a.flag(10, "training");
    float* y = a.f32(7, "y");
    float* z = training ? a.f32(6, "z") : y;
    Tic tic;
    std::string shape = tracing() ? convKey(p) : std::string();
    convForward(p, a.f32(0, "x"), a.f32(1, "w"), nullptr, z, kLinear, 0.f);
    tic.lap("cb_fwd_conv", shape);
    bnRelu(p.N, p.OH, p.OW, p.OC, z, a.f32(2, "gamma"), a.f32(3, "beta"), a.f32(4, "mean"), a.f32(5, "variance"), y,
           eps, training, training ? a.f32(11, "ws") : nullptr);
    tic.lap("cb_fwd_bnrelu", shape);
    return undef(env);
  });
}

// cbBackwardParams(x, w, gamma, z, mean, variance, ws, dy, dz, dw, dgamma, dbeta, p, eps): the CB backward without the
// input gradient. dz (the gradient at the conv output) is written for a later convBackwardData when the caller needs
// dx; the block that reads the image never does, and its backward-data convolution was the costliest of the step.
napi_value JsCbBackwardParams(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    ConvP p = a.conv(12, "p");
    float eps = static_cast<float>(a.num(13, "eps"));
    Tic tic;
    std::string shape = tracing() ? convKey(p) : std::string();
    float* dz = a.f32(8, "dz");
    bnReluBackward(p.N, p.OH, p.OW, p.OC, a.f32(3, "z"), a.f32(2, "gamma"), a.f32(4, "mean"), a.f32(5, "variance"),
                   a.f32(6, "ws"), a.f32(7, "dy"), dz, a.f32(10, "dgamma"), a.f32(11, "dbeta"), eps);
    tic.lap("cb_bnrelu_bwd", shape);
    convBackwardWeights(p, a.f32(0, "x"), dz, a.f32(9, "dw"));
    tic.lap("cb_bwd_weights", shape);
    return undef(env);
  });
}

// dcbForward(x, dwK, g1, b1, pwK, g2, b2, m1, v1, m2, v2, z1|null, a1|null, z2|null, y, pDw, pPw, eps, training,
//            ws1|null, ws2|null)
napi_value JsDcbForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    ConvP pd = a.conv(15, "pDw"), pp = a.conv(16, "pPw");
    float eps = static_cast<float>(a.num(17, "eps"));
    bool training = a.flag(18, "training");
    float* y = a.f32(14, "y");
    float* x = a.f32(0, "x");
    if (training) {
      float *z1 = a.f32(11, "z1"), *a1 = a.f32(12, "a1"), *z2 = a.f32(13, "z2");
      convForward(pd, x, a.f32(1, "dwK"), nullptr, z1, kLinear, 0.f);
      bnRelu(pd.N, pd.OH, pd.OW, pd.OC, z1, a.f32(2, "g1"), a.f32(3, "b1"), a.f32(7, "m1"), a.f32(8, "v1"), a1, eps,
             true, a.f32(19, "ws1"));
      convForward(pp, a1, a.f32(4, "pwK"), nullptr, z2, kLinear, 0.f);
      bnRelu(pp.N, pp.OH, pp.OW, pp.OC, z2, a.f32(5, "g2"), a.f32(6, "b2"), a.f32(9, "m2"), a.f32(10, "v2"), y, eps,
             true, a.f32(20, "ws2"));
    } else {
      float* a1 = scratch(kSlotDcbActivation, static_cast<size_t>(pd.N * pd.OH * pd.OW * pd.OC));
      convForward(pd, x, a.f32(1, "dwK"), nullptr, a1, kLinear, 0.f);
      bnRelu(pd.N, pd.OH, pd.OW, pd.OC, a1, a.f32(2, "g1"), a.f32(3, "b1"), a.f32(7, "m1"), a.f32(8, "v1"), a1, eps,
             false);
      convForward(pp, a1, a.f32(4, "pwK"), nullptr, y, kLinear, 0.f);
      bnRelu(pp.N, pp.OH, pp.OW, pp.OC, y, a.f32(5, "g2"), a.f32(6, "b2"), a.f32(9, "m2"), a.f32(10, "v2"), y, eps,
             false);
    }
    return undef(env);
  });
}

// dcbBackward(x, dwK, g1, pwK, g2, z1, a1, z2, ws2, m1, v1, m2, v2, dy,
//             dx, ddwK, dg1, db1, dpwK, dg2, db2, pDw, pPw, eps, ws1)
napi_value JsDcbBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    ConvP pd = a.conv(21, "pDw"), pp = a.conv(22, "pPw");
    float eps = static_cast<float>(a.num(23, "eps"));
    const size_t n1 = static_cast<size_t>(pd.N * pd.OH * pd.OW * pd.OC);
    const size_t n2 = static_cast<size_t>(pp.N * pp.OH * pp.OW * pp.OC);
    float* s1 = scratch(kSlotDcbStage, n1 > n2 ? n1 : n2);
    float* da1 = scratch(kSlotDcbGrad, n1);
    float* a1 = a.f32(6, "a1");
    // Stage 2: BN + ReLU, then the 1x1 convolution.
    bnReluBackward(pp.N, pp.OH, pp.OW, pp.OC, a.f32(7, "z2"), a.f32(4, "g2"), a.f32(11, "m2"), a.f32(12, "v2"),
                   a.f32(8, "ws2"), a.f32(13, "dy"), s1, a.f32(19, "dg2"), a.f32(20, "db2"), eps);
    convBackwardData(pp, s1, a.f32(3, "pwK"), da1);
    convBackwardWeights(pp, a1, s1, a.f32(18, "dpwK"));
    // Stage 1: BN + ReLU, then the depthwise convolution.
    bnReluBackward(pd.N, pd.OH, pd.OW, pd.OC, a.f32(5, "z1"), a.f32(2, "g1"), a.f32(9, "m1"), a.f32(10, "v1"),
                   a.f32(24, "ws1"), da1, s1, a.f32(16, "dg1"), a.f32(17, "db1"), eps);
    convBackwardData(pd, s1, a.f32(1, "dwK"), a.f32(14, "dx"));
    convBackwardWeights(pd, a.f32(0, "x"), s1, a.f32(15, "ddwK"));
    return undef(env);
  });
}

// maxPoolBackward(x, dy, dx, p): the gradient of max pooling (p: the pool geometry in conv form, IC == OC). Each
// window's dy goes to its first maximum in row-major order, as tfjs's cpu kernel does (ReLU outputs make all-zero
// windows common, so the tie rule matters); padded positions never win. Images are independent, so they are split
// across threads; windows of one image may overlap (stride < size), so one image stays on one thread. wasm's own
// MaxPoolGrad took 1.4 s of a 2.1 s training step of the aizoo trunk at batch 8.
napi_value JsMaxPoolBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    const float* x = a.f32(0, "x");
    const float* dy = a.f32(1, "dy");
    float* dx = a.f32(2, "dx");
    ConvP p = a.conv(3, "p");
    const int64_t C = p.IC, inImage = p.IH * p.IW * C, outImage = p.OH * p.OW * C;
    std::memset(dx, 0, sizeof(float) * static_cast<size_t>(p.N * inImage));
#pragma omp parallel
    {
      // Per-channel running maximum and its position, channels innermost so the comparisons vectorise.
      std::vector<float> best(static_cast<size_t>(C));
      std::vector<int64_t> at(static_cast<size_t>(C));
#pragma omp for schedule(static)
      for (int64_t n = 0; n < p.N; n++) {
        const float* xi = x + n * inImage;
        const float* dyi = dy + n * outImage;
        float* dxi = dx + n * inImage;
        for (int64_t oh = 0; oh < p.OH; oh++) {
          for (int64_t ow = 0; ow < p.OW; ow++) {
            const int64_t h0 = oh * p.SH - p.PT, w0 = ow * p.SW - p.PL;
            bool first = true;
            for (int64_t kh = 0; kh < p.KH; kh++) {
              const int64_t ih = h0 + kh * p.DH;
              if (ih < 0 || ih >= p.IH) continue;
              for (int64_t kw = 0; kw < p.KW; kw++) {
                const int64_t iw = w0 + kw * p.DW;
                if (iw < 0 || iw >= p.IW) continue;
                const int64_t base = (ih * p.IW + iw) * C;
                const float* xv = xi + base;
                if (first) {
                  for (int64_t c = 0; c < C; c++) best[c] = xv[c], at[c] = base + c;
                  first = false;
                } else {
                  // Strictly greater: the first maximum in row-major order keeps the gradient.
                  for (int64_t c = 0; c < C; c++) {
                    const bool gt = xv[c] > best[c];
                    best[c] = gt ? xv[c] : best[c];
                    at[c] = gt ? base + c : at[c];
                  }
                }
              }
            }
            if (first) continue;  // a window entirely in the padding
            const float* g = dyi + (oh * p.OW + ow) * C;
            for (int64_t c = 0; c < C; c++) dxi[at[c]] += g[c];
          }
        }
      }
    }
    return undef(env);
  });
}

// convImpl(p): oneDNN's implementation names of the forward, backward-data and backward-weights primitives for this
// geometry, "fwd|bwd_data|bwd_weights" (tests check that Winograd runs where it should).
napi_value JsConvImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    ConvP p = a.conv(0, "p");
    std::string s = std::string(getFwd(p, false, kLinear, 0.f).pd.impl_info_str()) + "|" +
                    getBwdD(p).pd.impl_info_str() + "|" + getBwdW(p).pd.impl_info_str();
    napi_value r;
    napi_create_string_utf8(env, s.c_str(), s.size(), &r);
    return r;
  });
}

// blockCopy(src, dst, rows, len, srcStride, srcOffset, dstStride, dstOffset): copies `rows` runs of `len` floats,
// run r from src[r * srcStride + srcOffset] to dst[r * dstStride + dstOffset]. SplitV and Concat along any axis are
// this copy (rows = the product of the dimensions before the axis); wasm runs them element by element in JavaScript,
// which took 8-11 ms of a training step for the heads' and branch blocks' concatenations and their gradients.
napi_value JsBlockCopy(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    size_t srcLen = 0, dstLen = 0;
    const float* src = a.f32n(0, "src", &srcLen);
    float* dst = a.f32n(1, "dst", &dstLen);
    auto count = [&](size_t i, const char* name) {
      double d = a.num(i, name);
      if (!(d >= 0) || d != std::floor(d)) throw ArgError(std::string("argument ") + name + " must be an integer >= 0");
      return static_cast<int64_t>(d);
    };
    const int64_t rows = count(2, "rows"), len = count(3, "len");
    const int64_t ss = count(4, "srcStride"), so = count(5, "srcOffset");
    const int64_t ds = count(6, "dstStride"), dof = count(7, "dstOffset");
    if (rows == 0 || len == 0) return undef(env);
    if ((rows - 1) * ss + so + len > static_cast<int64_t>(srcLen) ||
        (rows - 1) * ds + dof + len > static_cast<int64_t>(dstLen)) {
      throw ArgError("blockCopy: the runs reach past the end of src or dst");
    }
#pragma omp parallel for schedule(static) if (rows * len > 65536)
    for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * ds + dof, src + r * ss + so, sizeof(float) * len);
    return undef(env);
  });
}

// sgemm(m, n, k, A, B, C): C = A B, row-major, for the benchmark's peak probe.
napi_value JsSgemm(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    int64_t m = static_cast<int64_t>(a.num(0, "m")), n = static_cast<int64_t>(a.num(1, "n")),
            k = static_cast<int64_t>(a.num(2, "k"));
    dnnl_status_t st = dnnl_sgemm('N', 'N', m, n, k, 1.f, a.f32(3, "A"), k, a.f32(4, "B"), n, 0.f, a.f32(5, "C"), n);
    if (st != dnnl_success) throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(st));
    return undef(env);
  });
}

napi_value JsSetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    int t = static_cast<int>(a.num(0, "threads"));
    if (t < 1) throw ArgError("threads must be at least 1");
    omp_set_num_threads(t);
    return undef(env);
  });
}

// bnWorkspaceBytes(N, H, W, C, eps): bytes of the ReLU workspace of a training-mode BN + ReLU.
napi_value JsBnWorkspaceBytes(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    auto d = [&](size_t i, const char* name) { return static_cast<int64_t>(a.num(i, name)); };
    size_t bytes = bnWorkspaceBytes(d(0, "N"), d(1, "H"), d(2, "W"), d(3, "C"), static_cast<float>(a.num(4, "eps")));
    napi_value r;
    napi_create_double(env, static_cast<double>(bytes), &r);
    return r;
  });
}

// setWinograd(on) -> the previous setting: whether the convolutions run from now on may use Winograd (tests compare
// the two paths).
napi_value JsSetWinograd(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    bool before = winogradOn();
    winogradOn() = a.flag(0, "on");
    napi_value r;
    napi_get_boolean(env, before, &r);
    return r;
  });
}

napi_value JsGetThreads(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_int32(env, omp_get_max_threads(), &r);
  return r;
}

napi_value JsVersion(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::string s = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value r;
  napi_create_string_utf8(env, s.c_str(), s.size(), &r);
  return r;
}

// Number of cached primitives; a test checks that it stops growing once every shape has been seen.
napi_value JsCacheSize(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_int32(env,
                    static_cast<int32_t>(fwdCache.size() + bwdDCache.size() + bwdWCache.size() + bnFwdCache.size() +
                                         bnBwdCache.size()),
                    &r);
  return r;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"convForward", nullptr, JsConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardData", nullptr, JsConvBackwardData, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardWeights", nullptr, JsConvBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cbForward", nullptr, JsCbForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cbBackwardParams", nullptr, JsCbBackwardParams, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dcbForward", nullptr, JsDcbForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dcbBackward", nullptr, JsDcbBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolBackward", nullptr, JsMaxPoolBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convImpl", nullptr, JsConvImpl, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"blockCopy", nullptr, JsBlockCopy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgemm", nullptr, JsSgemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, JsSetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnWorkspaceBytes", nullptr, JsBnWorkspaceBytes, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setWinograd", nullptr, JsSetWinograd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"getThreads", nullptr, JsGetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, JsVersion, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cacheSize", nullptr, JsCacheSize, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
