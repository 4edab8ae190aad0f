// Node-API addon: oneDNN convolutions and fused CB / DCB blocks for the "native" tfjs backend.
//
// Every tensor argument is a Float32Array that views memory owned by the caller (the tfjs wasm heap), so nothing is
// copied on the way in or out. Activations are NHWC; weights arrive in tfjs layouts (conv [kh, kw, cin, cout] =
// oneDNN hwio, depthwise [kh, kw, cin, mult] = oneDNN hwigo) and are reordered to whatever layout oneDNN prefers,
// because forcing tfjs's layout on the kernels costs up to 50x on depthwise convolutions.
// Primitives, reorders and their scratch buffers are created once per shape and reused.
// Inference plans (createPlan / runPlan, below) run a whole network in one call, activations in oneDNN's layouts.
#include <node_api.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "prep.h"
#include "winograd.h"

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

// The oneDNN eltwise algorithm and its alpha / beta of an activation code (leaky: alpha is the negative slope).
struct ActAlg {
  algorithm alg;
  float alpha, beta;
};
ActAlg actAlg(int act, float alpha) {
  switch (act) {
    case kRelu: return {algorithm::eltwise_relu, 0.f, 0.f};
    case kRelu6: return {algorithm::eltwise_clip, 0.f, 6.f};
    case kLeaky: return {algorithm::eltwise_relu, alpha, 0.f};
    case kSigmoid: return {algorithm::eltwise_logistic, 0.f, 0.f};
    case kElu: return {algorithm::eltwise_elu, 1.f, 0.f};
    default: throw std::runtime_error("unknown activation code " + std::to_string(act));
  }
}
void appendAct(post_ops& po, int act, float alpha) {
  if (act == kLinear) return;
  ActAlg a = actAlg(act, alpha);
  po.append_eltwise(1.f, a.alg, a.alpha, a.beta);
}

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
    appendAct(po, act, alpha);
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

// Backward-weights of direct convolutions on the layouts oneDNN prefers (nChw8c / nChw16c) instead of the caller's
// NHWC, the inputs reordered in through `Reo`: oneDNN's jit:avx2 backward-weights kernels run at 47-70 GFLOP/s on
// NHWC against 80-134 forward. Off unless SSD_NATIVE_BWDW_BLOCKED=1 or setBwdWBlocked(true). When on, only where it
// won, measured at batch 16 on this AVX2 machine with the reorders included (NHWC / blocked time): 3x3 stride 1
// 1.3-1.5x (64->64 at 30x40, 32->64 at 60x80, 16->32 at 120x160, 128->128 at 15x20, 64->16 and 48->12 at 30x40
// 1.2-1.3x), 3x3 stride 2 1.1-1.56x; but 3->16 at 240x320 (the image's 3 channels) 0.53x and 1x1 0.64-1.31x.
// Hence: groups 1, a kernel larger than 1x1, at least 8 input channels.
bool& bwdWBlockedOn() {
  static bool on = [] {
    const char* v = std::getenv("SSD_NATIVE_BWDW_BLOCKED");
    return v != nullptr && std::string(v) == "1";
  }();
  return on;
}
bool bwdWBlockedWanted(const ConvP& p) {
  return bwdWBlockedOn() && p.G == 1 && (p.KH > 1 || p.KW > 1) && p.IC >= 8;
}

ConvBwdW& getBwdW(const ConvP& p) {
  auto& hint = getFwd(p, false, kLinear, 0.f);
  const bool wino = hint.winograd;
  const bool blocked = !wino && bwdWBlockedWanted(p);
  std::string key = convKeyW(p) + (blocked ? "B" : "");
  auto it = bwdWCache.find(key);
  if (it != bwdWCache.end()) return *it->second;
  auto e = std::make_unique<ConvBwdW>();
  memory::dims strides{p.SH, p.SW}, dil{p.DH - 1, p.DW - 1}, pl{p.PT, p.PL}, pr{p.PB, p.PR};
  const bool any = wino || blocked;
  convolution_backward_weights::desc d(wino ? algorithm::convolution_winograd : algorithm::convolution_direct,
                                       any ? anyActMd(srcMd(p)) : srcMd(p), anyWMd(p),
                                       any ? anyActMd(dstMd(p)) : dstMd(p), strides, dil, pl, pr);
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

// Our own Winograd F(4x4, 3x3) (winograd.cc) where oneDNN has none: oneDNN 2.6 implements Winograd only for AVX-512,
// so on AVX2 every 3x3 convolution ran its direct jit:avx2 kernels. Measured on an AVX2 machine (AMD EPYC, 2 threads,
// direct / own time of each pass, the network's stride-1 3x3 shapes): batch 8 64->64 at 30x40 2.4-2.6x, 32->32 at
// 60x80 1.8-2.5x, 128->128 at 15x20 2.0-2.1x, 16->32 at 120x160 1.3-1.8x, 64->16 at 30x40 1.6x, 48->9 at 30x40
// 1.2-2.1x; but every map of 8x10 or smaller at batch 8 0.2-0.9x, 16->16 0.3-0.9x, and batch 1 below 1,200 output
// pixels 0.25-0.8x: a 4x4 tile's transforms cost more than they save where there are few channels or few tiles.
// Hence: IC x OC >= 512 and at least 2,400 output pixels over the batch, and batch 2+ (at batch 1 only the two largest
// maps qualify, 0.94x and 1.3x, and the plan ran slower with them). Mode (SSD_NATIVE_OWN_WINOGRAD or
// setOwnWinograd): "auto" (default) = on only where oneDNN does not run AVX-512 kernels (there its own Winograd and
// AVX-512 kernels run, and ours was not measured), "on" = wherever the shape qualifies (tests), "off" = never.
// setWinograd(false) turns it off as well. "Where oneDNN does not run AVX-512" is oneDNN's effective ISA, not the
// CPU's: ONEDNN_MAX_CPU_ISA=AVX2 on an AVX-512 machine gives the kernels of an AVX2 machine, ours included.
enum OwnWino { kOwnOff = 0, kOwnAuto = 1, kOwnOn = 2 };
int& ownWinogradMode() {
  static int mode = [] {
    const char* v = std::getenv("SSD_NATIVE_OWN_WINOGRAD");
    if (v == nullptr || std::string(v) == "auto") return int(kOwnAuto);
    if (std::string(v) == "on" || std::string(v) == "1") return int(kOwnOn);
    if (std::string(v) == "off" || std::string(v) == "0") return int(kOwnOff);
    throw std::runtime_error("SSD_NATIVE_OWN_WINOGRAD must be auto, on or off, not '" + std::string(v) + "'");
  }();
  return mode;
}
// Whether oneDNN may use avx512_core kernels here: the CPU has them and ONEDNN_MAX_CPU_ISA does not cap below them
// (the cpu_isa values are bit sets, each including the ISAs below it).
bool onednnRunsAvx512() {
  static const bool yes = [] {
    const unsigned core = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
    return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & core) == core;
  }();
  return yes;
}
// Whether our Winograd may run at all now: the mode, setWinograd, oneDNN's ISA and the build (shapes aside).
bool ownWinogradAllowed() {
  const int mode = ownWinogradMode();
  return winogradOn() && mode != kOwnOff && !(mode == kOwnAuto && onednnRunsAvx512()) && wino::available();
}
bool ownWinogradWanted(const ConvP& p) {
  if (!ownWinogradAllowed()) return false;
  return p.G == 1 && p.KH == 3 && p.KW == 3 && p.SH == 1 && p.SW == 1 && p.DH == 1 && p.DW == 1 &&
         p.N >= 2 && p.IC * p.OC >= 512 && p.N * p.OH * p.OW >= 2400;
}
wino::Geo winoGeo(const ConvP& p) { return {p.N, p.IH, p.IW, p.IC, p.OH, p.OW, p.OC, p.PT, p.PL}; }

void convForward(const ConvP& p, float* x, float* w, float* b, float* y, int act, float alpha) {
  if (act == kLinear && ownWinogradWanted(p)) {
    wino::forward(winoGeo(p), x, w, b, y);
    return;
  }
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
  if (ownWinogradWanted(p)) {
    wino::backwardData(winoGeo(p), dy, w, dx);
    return;
  }
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
  if (ownWinogradWanted(p)) {
    wino::backwardWeights(winoGeo(p), x, dy, dw);
    return;
  }
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

// The data of `v`, a typed array of type `want` (`kind` names it in errors, e.g. "a Float32Array"), and its length in
// elements in *len when len is not null.
void* typedData(napi_env env, napi_value v, napi_typedarray_type want, const char* kind, const std::string& name,
                size_t* len) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type type;
  size_t n = 0;
  void* data = nullptr;
  napi_value ab;
  size_t off;
  if (is) napi_get_typedarray_info(env, v, &type, &n, &data, &ab, &off);
  if (!is || type != want) throw ArgError("argument " + name + " must be " + kind);
  if (len) *len = n;
  return data;
}

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
  // The data of argument i, a typed array of type `want` (`kind` names it in errors), its length in elements in *len;
  // nullptr when `optional` and the argument is null / undefined.
  void* typed(size_t i, napi_typedarray_type want, const char* kind, const char* name, size_t* len, bool optional) {
    if (isNull(i)) {
      if (len) *len = 0;
      if (optional) return nullptr;
      throw ArgError(std::string("argument ") + name + " is missing");
    }
    return typedData(env, v[i], want, kind, name, len);
  }
  // A Float32Array, or nullptr when `optional` and the argument is null / undefined.
  float* f32(size_t i, const char* name, bool optional = false) {
    return static_cast<float*>(typed(i, napi_float32_array, "a Float32Array", name, nullptr, optional));
  }
  // A Float32Array and its length in elements.
  float* f32n(size_t i, const char* name, size_t* len) {
    return static_cast<float*>(typed(i, napi_float32_array, "a Float32Array", name, len, false));
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
    static const char* kind = "an Int32Array of 18 conv parameters";
    size_t len = 0;
    const int32_t* s = static_cast<int32_t*>(typedData(env, v[i], napi_int32_array, kind, name, &len));
    if (len != kConvPLen) throw ArgError(std::string("argument ") + name + " must be " + kind);
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

// ---------------------------------------------------------------------------------------------------------------
// Inference plans: a whole network run inside the addon, op after op, without tfjs in between.
//
// Why: through tfjs every op is a kernel dispatch on NHWC tensors in the wasm heap, each convolution reorders its
// weights (and Winograd its activations) on every call, and batch norm is a pass of its own. A plan is built once
// from a list of ops whose weights the caller has already folded (BN into the convolution's weights and bias), keeps
// its weights in the layout oneDNN prefers, and lets the activations stay in whatever layout the producing primitive
// chose (format_tag::any: nChw8c on AVX2, nChw16c on AVX-512), reordering only where a consumer wants another one and
// into the caller's NHWC outputs at the end. Primitives and buffers are made per batch size on first use.
//
// The op list comes as an Int32Array (see `parsePlan` for the encoding), the weights as Float32Arrays (copied: the
// caller's arrays may be garbage-collected), and one float per op (the leaky-ReLU slope).
enum PlanOpKind { kOpConv = 1, kOpConcat = 2, kOpMaxPool = 3, kOpAdd = 4, kOpEltwise = 5 };
constexpr int kPlanVersion = 1;

// An activation tensor of the plan: channels and spatial size; the batch comes with each run. Tensor 0 is the input.
struct PlanTensor {
  int64_t C, H, W;
};
struct PlanOp {
  int kind = 0;
  std::vector<int> srcs;
  int dst = -1;
  // Convolution: geometry (N unset), the tensor added before the activation (-1: none), parameter indices.
  ConvP g{};
  int sum = -1, weights = -1, bias = -1;
  int act = kLinear;
  float alpha = 0.f;
};
// A plan output: per image `perImage` floats, each piece a tensor in NHWC order at an offset within the image (so the
// heads' [B, H, W, A*K] maps land where tfjs's reshape to [B, H*W*A, K] and concatenation over the branches put them).
struct PlanPiece {
  int tensor;
  int64_t offset;
};
struct PlanOutput {
  int64_t perImage;
  std::vector<PlanPiece> pieces;
};

// A 64-byte aligned float buffer (blocked kernels use aligned vector loads).
struct AlignedBuf {
  std::vector<float> v;
  float* p = nullptr;
  size_t n = 0;
  void alloc(size_t floats) {
    n = floats;
    v.assign(floats + 16, 0.f);
    p = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(v.data()) + 63) & ~uintptr_t(63));
  }
  size_t bytes() const { return v.size() * sizeof(float); }
};

// Where a primitive argument lives: a plan buffer (slot >= 0), the caller's input, or a caller's output at an offset.
constexpr int kSlotExtIn = -1;
int extOutSlot(int k) { return -2 - k; }
struct ArgRef {
  int arg;
  int slot;
  memory::desc md;
  int64_t offset = 0;  // floats, for outputs
};
struct PlanStep {
  primitive prim;
  // Set for a step that runs our own code instead of a primitive (its arguments bound in `args` all the same).
  std::function<void(PlanStep&)> custom;
  std::vector<ArgRef> refs;
  std::unordered_map<int, memory> args;
  memory::desc scratch;
  std::string what;
};
// One batch size: the layout of every tensor, the steps, the buffers they share.
struct PlanExec {
  int64_t N = 0;
  std::vector<memory::desc> desc;
  std::vector<int> slotOf;  // per tensor
  std::vector<size_t> slotFloats;
  std::vector<AlignedBuf> phys;
  std::vector<int> physOf;  // per slot
  AlignedBuf scratch;
  size_t scratchFloats = 0;
  std::vector<PlanStep> steps;
  // Memories over caller buffers: their handles are set on every run.
  std::vector<std::pair<memory, ArgRef>> external;
  // Transformed weights held by our Winograd steps (one copy per qualifying convolution and batch size).
  size_t ownFloats = 0;
  size_t bytes() const {
    size_t b = scratch.bytes() + ownFloats * sizeof(float);
    for (auto& p : phys) b += p.bytes();
    return b;
  }
};
// A weight tensor in one oneDNN layout; batch sizes whose primitives want the same layout share it.
struct PlanWeights {
  memory::desc md;
  AlignedBuf buf;
};
struct Plan {
  std::vector<PlanTensor> tensors;
  std::vector<PlanOp> ops;
  std::vector<std::vector<float>> params;
  std::vector<PlanOutput> outputs;
  std::vector<std::vector<std::unique_ptr<PlanWeights>>> weights;  // per op
  std::unordered_map<int64_t, std::unique_ptr<PlanExec>> execs;
  size_t bytes() const {
    size_t b = 0;
    for (auto& p : params) b += p.size() * sizeof(float);
    for (auto& ws : weights)
      for (auto& w : ws) b += w->buf.bytes();
    for (auto& e : execs) b += e.second->bytes();
    return b;
  }
};

// Every plan not yet released, for planStats (tests check that disposing gives the memory back).
std::unordered_set<const Plan*>& livePlans() {
  static std::unordered_set<const Plan*> s;
  return s;
}

memory::desc planNhwc(int64_t N, const PlanTensor& t) { return memory::desc({N, t.C, t.H, t.W}, dt::f32, tag::nhwc); }

// Parses and checks the encoded op list:
//   [version, nTensors, (C, H, W) x nTensors, nOps, op x nOps, nOutputs, output x nOutputs] with ops
//   conv    1, src, dst, sum|-1, KH, KW, SH, SW, DH, DW, padTop, padLeft, padBottom, padRight, groups, weights,
//           bias|-1, act
//   concat  2, dst, n, src x n            (along channels)
//   maxpool 3, src, dst, KH, KW, SH, SW, padTop, padLeft, padBottom, padRight
//   add     4, a, b, dst, act
//   eltwise 5, src, dst, act
// and outputs perImage, nPieces, (tensor, offset) x nPieces. Dilations count from 1 (tfjs), weights are indices into
// the parameter list in tfjs layouts (conv [KH, KW, IC, OC], depthwise / grouped [KH, KW, IC / G * G, OC / G]).
std::unique_ptr<Plan> parsePlan(const int32_t* code, size_t len, std::vector<std::vector<float>> params,
                                const float* scalars, size_t nScalars) {
  size_t at = 0;
  auto fail = [](const std::string& m) { throw std::runtime_error("createPlan: " + m); };
  auto next = [&]() -> int64_t {
    if (at >= len) fail("the op list ends early");
    return code[at++];
  };
  auto plan = std::make_unique<Plan>();
  plan->params = std::move(params);
  if (next() != kPlanVersion) fail("op list version is not " + std::to_string(kPlanVersion));
  const int64_t nT = next();
  if (nT < 1) fail("a plan needs at least the input tensor");
  for (int64_t i = 0; i < nT; i++) {
    PlanTensor t{next(), next(), next()};
    if (t.C < 1 || t.H < 1 || t.W < 1) fail("tensor " + std::to_string(i) + " has a non-positive dimension");
    plan->tensors.push_back(t);
  }
  std::vector<bool> defined(static_cast<size_t>(nT), false);
  defined[0] = true;
  auto tensor = [&](int64_t id, const std::string& what) -> int {
    if (id < 0 || id >= nT) fail(what + " " + std::to_string(id) + " is not a tensor of the plan");
    return static_cast<int>(id);
  };
  auto input = [&](int64_t id, const std::string& op) {
    int t = tensor(id, op + ": input tensor");
    if (!defined[t]) fail(op + ": tensor " + std::to_string(t) + " is read before an op writes it");
    return t;
  };
  auto output = [&](int64_t id, const std::string& op) {
    int t = tensor(id, op + ": output tensor");
    if (defined[t]) fail(op + ": tensor " + std::to_string(t) + " is written twice");
    return t;
  };
  auto param = [&](int64_t id, size_t want, const std::string& what) {
    if (id < 0 || id >= static_cast<int64_t>(plan->params.size())) fail(what + " is not a parameter index");
    if (plan->params[id].size() != want) {
      fail(what + " has " + std::to_string(plan->params[id].size()) + " values, expected " + std::to_string(want));
    }
    return static_cast<int>(id);
  };
  auto activation = [&](int64_t a, const std::string& op) {
    if (a < kLinear || a > kElu) fail(op + ": unknown activation code " + std::to_string(a));
    return static_cast<int>(a);
  };
  auto same = [&](int a, int b, const std::string& op) {
    const PlanTensor &x = plan->tensors[a], &y = plan->tensors[b];
    if (x.C != y.C || x.H != y.H || x.W != y.W) fail(op + ": tensors " + std::to_string(a) + " and " +
                                                     std::to_string(b) + " differ in shape");
  };
  const int64_t nOps = next();
  if (nOps < 0) fail("negative op count");
  if (static_cast<size_t>(nOps) != nScalars) fail("expected one scalar per op");
  for (int64_t i = 0; i < nOps; i++) {
    PlanOp op;
    op.kind = static_cast<int>(next());
    op.alpha = scalars[i];
    const std::string name = "op " + std::to_string(i);
    switch (op.kind) {
      case kOpConv: {
        op.srcs = {input(next(), name)};
        int64_t dst = next(), sum = next();
        ConvP& g = op.g;
        g.KH = next(), g.KW = next(), g.SH = next(), g.SW = next(), g.DH = next(), g.DW = next();
        g.PT = next(), g.PL = next(), g.PB = next(), g.PR = next(), g.G = next();
        int64_t w = next(), b = next();
        op.act = activation(next(), name);
        op.dst = output(dst, name);
        const PlanTensor &x = plan->tensors[op.srcs[0]], &y = plan->tensors[op.dst];
        g.IH = x.H, g.IW = x.W, g.IC = x.C, g.OH = y.H, g.OW = y.W, g.OC = y.C;
        if (g.KH < 1 || g.KW < 1 || g.SH < 1 || g.SW < 1 || g.DH < 1 || g.DW < 1 || g.PT < 0 || g.PL < 0 ||
            g.PB < 0 || g.PR < 0) {
          fail(name + ": kernel, strides and dilations must be >= 1 and paddings >= 0");
        }
        if (g.G < 1 || g.IC % g.G != 0 || g.OC % g.G != 0) fail(name + ": groups must divide both channel counts");
        const int64_t oh = (g.IH + g.PT + g.PB - ((g.KH - 1) * g.DH + 1)) / g.SH + 1;
        const int64_t ow = (g.IW + g.PL + g.PR - ((g.KW - 1) * g.DW + 1)) / g.SW + 1;
        if (oh != g.OH || ow != g.OW) {
          fail(name + ": the convolution gives " + std::to_string(oh) + "x" + std::to_string(ow) + ", tensor " +
               std::to_string(op.dst) + " is " + std::to_string(g.OH) + "x" + std::to_string(g.OW));
        }
        op.weights = param(w, static_cast<size_t>(g.KH * g.KW * (g.IC / g.G) * g.OC), name + " weights");
        if (b >= 0) op.bias = param(b, static_cast<size_t>(g.OC), name + " bias");
        if (sum >= 0) {
          op.sum = input(sum, name + " (sum)");
          same(op.sum, op.dst, name);
        }
        break;
      }
      case kOpConcat: {
        int64_t dst = next(), n = next();
        if (n < 1) fail(name + ": concat needs inputs");
        int64_t c = 0;
        for (int64_t k = 0; k < n; k++) op.srcs.push_back(input(next(), name));
        op.dst = output(dst, name);
        for (int s : op.srcs) {
          const PlanTensor& t = plan->tensors[s];
          if (t.H != plan->tensors[op.dst].H || t.W != plan->tensors[op.dst].W) fail(name + ": concat sizes differ");
          c += t.C;
        }
        if (c != plan->tensors[op.dst].C) fail(name + ": the inputs' channels do not add up to the output's");
        break;
      }
      case kOpMaxPool: {
        op.srcs = {input(next(), name)};
        int64_t dst = next();
        ConvP& g = op.g;
        g.KH = next(), g.KW = next(), g.SH = next(), g.SW = next();
        g.PT = next(), g.PL = next(), g.PB = next(), g.PR = next();
        g.DH = g.DW = g.G = 1;
        op.dst = output(dst, name);
        const PlanTensor &x = plan->tensors[op.srcs[0]], &y = plan->tensors[op.dst];
        g.IH = x.H, g.IW = x.W, g.IC = x.C, g.OH = y.H, g.OW = y.W, g.OC = y.C;
        if (g.KH < 1 || g.KW < 1 || g.SH < 1 || g.SW < 1 || g.PT < 0 || g.PL < 0 || g.PB < 0 || g.PR < 0 ||
            g.PT >= g.KH || g.PB >= g.KH || g.PL >= g.KW || g.PR >= g.KW) {
          fail(name + ": bad pooling window or padding");
        }
        if (x.C != y.C || (g.IH + g.PT + g.PB - g.KH) / g.SH + 1 != g.OH ||
            (g.IW + g.PL + g.PR - g.KW) / g.SW + 1 != g.OW) {
          fail(name + ": the pooling window does not give the output's shape");
        }
        break;
      }
      case kOpAdd: {
        op.srcs = {input(next(), name), input(next(), name)};
        op.dst = output(next(), name);
        op.act = activation(next(), name);
        same(op.srcs[0], op.dst, name);
        same(op.srcs[1], op.dst, name);
        break;
      }
      case kOpEltwise: {
        op.srcs = {input(next(), name)};
        op.dst = output(next(), name);
        op.act = activation(next(), name);
        same(op.srcs[0], op.dst, name);
        break;
      }
      default: fail(name + ": unknown op kind " + std::to_string(op.kind));
    }
    defined[op.dst] = true;
    plan->ops.push_back(std::move(op));
  }
  const int64_t nOut = next();
  if (nOut < 1) fail("a plan needs an output");
  for (int64_t k = 0; k < nOut; k++) {
    PlanOutput o;
    o.perImage = next();
    const int64_t n = next();
    if (o.perImage < 1 || n < 1) fail("output " + std::to_string(k) + " is empty");
    std::vector<std::pair<int64_t, int64_t>> spans;
    for (int64_t i = 0; i < n; i++) {
      PlanPiece pc{input(next(), "output " + std::to_string(k)), next()};
      const PlanTensor& t = plan->tensors[pc.tensor];
      spans.push_back({pc.offset, pc.offset + t.C * t.H * t.W});
      o.pieces.push_back(pc);
    }
    // The pieces must tile the image's values exactly: no value of the output is left unwritten or written twice.
    std::sort(spans.begin(), spans.end());
    int64_t end = 0;
    for (auto& s : spans) {
      if (s.first != end) fail("output " + std::to_string(k) + ": the pieces do not tile the output");
      end = s.second;
    }
    if (end != o.perImage) fail("output " + std::to_string(k) + ": the pieces cover " + std::to_string(end) +
                                " of " + std::to_string(o.perImage) + " values per image");
    plan->outputs.push_back(std::move(o));
  }
  if (at != len) fail("trailing values after the outputs");
  plan->weights.resize(plan->ops.size());
  return plan;
}

primitive_attr planAttr(const post_ops* po = nullptr) {
  primitive_attr a;
  a.set_scratchpad_mode(scratchpad_mode::user);
  if (po) a.set_post_ops(*po);
  return a;
}

// The memory of op `i`'s weights in layout `md`, reordered from the caller's layout the first time it is asked for.
memory planWeights(Plan& plan, size_t i, const memory::desc& md) {
  const PlanOp& op = plan.ops[i];
  for (auto& w : plan.weights[i]) {
    if (w->md == md) return memory(md, eng(), w->buf.p);
  }
  auto w = std::make_unique<PlanWeights>();
  w->md = md;
  w->buf.alloc(md.get_size() / sizeof(float));
  memory user(userWMd(op.g), eng(), plan.params[op.weights].data());
  memory dst(md, eng(), w->buf.p);
  reorder(user, dst).execute(strm(), user, dst);
  strm().wait();
  plan.weights[i].push_back(std::move(w));
  return dst;
}

// A short name of a memory layout for planInfo: the dims' order by stride (a = batch, b = channels, ...) and the
// inner blocks, e.g. "acdb" (NHWC) or "abcd:8b" (nChw8c).
std::string layoutName(const memory::desc& md) {
  const auto& d = md.data;
  if (d.format_kind != dnnl_blocked) return "other";
  std::vector<int> order(static_cast<size_t>(d.ndims));
  for (int i = 0; i < d.ndims; i++) order[i] = i;
  const auto& b = d.format_desc.blocking;
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return b.strides[x] > b.strides[y]; });
  std::string s;
  for (int i : order) s += static_cast<char>('a' + i);
  for (int i = 0; i < b.inner_nblks; i++) {
    s += ":" + std::to_string(b.inner_blks[i]) + static_cast<char>('a' + b.inner_idxs[i]);
  }
  return s;
}

// Builds the steps of a plan at batch N: primitive descriptors and layouts op after op, then buffers by lifetime.
PlanExec& planExec(Plan& plan, int64_t N) {
  auto it = plan.execs.find(N);
  if (it != plan.execs.end()) return *it->second;
  auto e = std::make_unique<PlanExec>();
  e->N = N;
  const size_t nT = plan.tensors.size();
  e->desc.resize(nT);
  e->slotOf.assign(nT, -2);
  e->desc[0] = planNhwc(N, plan.tensors[0]);
  e->slotOf[0] = kSlotExtIn;
  // The last op reading each tensor (outputs count as reading after every op): a sum post-op may then write over it.
  std::vector<size_t> lastRead(nT, 0);
  for (size_t i = 0; i < plan.ops.size(); i++) {
    for (int s : plan.ops[i].srcs) lastRead[s] = i;
    if (plan.ops[i].sum >= 0) lastRead[plan.ops[i].sum] = i;
  }
  for (auto& o : plan.outputs)
    for (auto& pc : o.pieces) lastRead[pc.tensor] = plan.ops.size();
  auto newSlot = [&](const memory::desc& md) {
    e->slotFloats.push_back(md.get_size() / sizeof(float) + 1);
    return static_cast<int>(e->slotFloats.size() - 1);
  };
  auto addStep = [&](primitive prim, const memory::desc& scratch, std::vector<ArgRef> refs, std::string what) {
    PlanStep s;
    s.prim = std::move(prim);
    s.scratch = scratch;
    s.refs = std::move(refs);
    s.what = std::move(what);
    e->steps.push_back(std::move(s));
  };
  auto ref = [&](int arg, int tensor) { return ArgRef{arg, e->slotOf[tensor], e->desc[tensor]}; };
  // Tensor `t` in layout `want`: itself, or a reorder into a new buffer (returned as the argument to read).
  auto inLayout = [&](int t, const memory::desc& want, int arg) {
    if (e->desc[t] == want) return ref(arg, t);
    int slot = newSlot(want);
    reorder::primitive_desc pd(eng(), e->desc[t], eng(), want, planAttr());
    addStep(reorder(pd), pd.scratchpad_desc(), {ref(DNNL_ARG_FROM, t), ArgRef{DNNL_ARG_TO, slot, want}},
            "reorder t" + std::to_string(t) + " " + layoutName(e->desc[t]) + " -> " + layoutName(want) + " " +
                pd.impl_info_str());
    return ArgRef{arg, slot, want};
  };
  auto writes = [&](int t, const memory::desc& md) {
    e->desc[t] = md;
    e->slotOf[t] = newSlot(md);
  };
  auto nchwAny = [&](int t) {
    const PlanTensor& x = plan.tensors[t];
    return memory::desc({N, x.C, x.H, x.W}, dt::f32, tag::any);
  };
  // Reorders tensor `t` into every output piece made of it: a strided NHWC view of the caller's output.
  auto sendOut = [&](int t) {
    for (size_t k = 0; k < plan.outputs.size(); k++) {
      for (auto& pc : plan.outputs[k].pieces) {
        if (pc.tensor != t) continue;
        const PlanTensor& x = plan.tensors[t];
        const int64_t per = plan.outputs[k].perImage;
        memory::desc view({N, x.C, x.H, x.W}, dt::f32, memory::dims{per, 1, x.W * x.C, x.C});
        reorder::primitive_desc pd(eng(), e->desc[t], eng(), view, planAttr());
        ArgRef to{DNNL_ARG_TO, extOutSlot(static_cast<int>(k)), view, pc.offset};
        addStep(reorder(pd), pd.scratchpad_desc(), {ref(DNNL_ARG_FROM, t), to},
                "output " + std::to_string(k) + " <- t" + std::to_string(t) + " at " + std::to_string(pc.offset) +
                    " " + layoutName(e->desc[t]) + " " + pd.impl_info_str());
      }
    }
  };
  // A piece that is the input itself (no op on its path).
  sendOut(0);
  auto actName = [](int act) { return act == kLinear ? std::string() : " act" + std::to_string(act); };
  for (size_t i = 0; i < plan.ops.size(); i++) {
    const PlanOp& op = plan.ops[i];
    const std::string tag = "op" + std::to_string(i) + " ";
    switch (op.kind) {
      case kOpConv: {
        ConvP p = op.g;
        p.N = N;
        // Our Winograd on NHWC (see ownWinogradWanted), the bias in its output transform, the activation after.
        // ownWinogradWanted leaves batch 1 out, where the plan ran slower with it (72 -> 67 FPS on the AVX2 machine):
        // there only the two largest maps qualify, and the reorders from and back to the plan's blocked layouts
        // around them cost more than they save. At batch 32 it ran 1.33x faster (74 -> 99 img/s).
        if (op.sum < 0 && (op.act == kLinear || op.act == kRelu || op.act == kRelu6 || op.act == kLeaky) &&
            ownWinogradWanted(p)) {
          const memory::desc smd = planNhwc(N, plan.tensors[op.srcs[0]]), dmd = planNhwc(N, plan.tensors[op.dst]);
          std::vector<ArgRef> refs{inLayout(op.srcs[0], smd, DNNL_ARG_SRC)};
          writes(op.dst, dmd);
          refs.push_back(ref(DNNL_ARG_DST, op.dst));
          auto u = std::make_shared<std::vector<float>>(wino::transformedWeightFloats(p.IC, p.OC));
          wino::transformWeights(plan.params[op.weights].data(), p.IC, p.OC, u->data());
          e->ownFloats += u->size();
          const float* bias = op.bias >= 0 ? plan.params[op.bias].data() : nullptr;
          const wino::Geo geo = winoGeo(p);
          const int act = op.act;
          const float alpha = op.alpha;
          const int64_t count = N * p.OH * p.OW * p.OC;
          PlanStep s;
          s.refs = std::move(refs);
          s.scratch = memory::desc({1}, dt::f32, tag::x);
          s.custom = [u, bias, geo, act, alpha, count](PlanStep& st) {
            const float* x = static_cast<const float*>(st.args.at(DNNL_ARG_SRC).get_data_handle());
            float* y = static_cast<float*>(st.args.at(DNNL_ARG_DST).get_data_handle());
            wino::forwardTransformed(geo, x, u->data(), bias, y);
            if (act == kLinear) return;
#pragma omp parallel for schedule(static)
            for (int64_t j = 0; j < count; j++) {
              const float v = y[j];
              y[j] = act == kRelu ? std::max(v, 0.f) : act == kRelu6 ? std::min(std::max(v, 0.f), 6.f)
                                                                     : (v > 0.f ? v : alpha * v);
            }
          };
          s.what = tag + "conv t" + std::to_string(op.srcs[0]) + " -> t" + std::to_string(op.dst) + " 3x3/1" +
                   actName(op.act) + " own:winograd_4x3 nhwc -> nhwc";
          e->steps.push_back(std::move(s));
          break;
        }
        post_ops po;
        if (op.sum >= 0) po.append_sum(1.f);
        appendAct(po, op.act, op.alpha);
        primitive_attr attr = planAttr(&po);
        memory::dims strides{p.SH, p.SW}, dil{p.DH - 1, p.DW - 1}, pl{p.PT, p.PL}, pr{p.PB, p.PR};
        memory::desc bmd({p.OC}, dt::f32, tag::x);
        auto make = [&](algorithm alg) {
          const memory::desc s = nchwAny(op.srcs[0]), d = nchwAny(op.dst);
          if (op.bias >= 0) {
            convolution_forward::desc cd(prop_kind::forward_inference, alg, s, anyWMd(p), bmd, d, strides, dil, pl, pr);
            return convolution_forward::primitive_desc(cd, attr, eng());
          }
          convolution_forward::desc cd(prop_kind::forward_inference, alg, s, anyWMd(p), d, strides, dil, pl, pr);
          return convolution_forward::primitive_desc(cd, attr, eng());
        };
        convolution_forward::primitive_desc pd;
        bool made = false;
        if (winogradWanted(p)) {
          try {
            pd = make(algorithm::convolution_winograd);
            made = true;
          } catch (const dnnl::error&) {
            // Not implemented for this shape or post-op on this machine: the direct kernels below.
          }
        }
        if (!made) pd = make(algorithm::convolution_direct);
        std::vector<ArgRef> refs{inLayout(op.srcs[0], pd.src_desc(), DNNL_ARG_SRC)};
        const memory::desc dmd = pd.dst_desc();
        if (op.sum >= 0) {
          // The sum post-op adds what the destination holds: the addend itself when nothing reads it later, else a
          // copy of it.
          const int s = op.sum;
          if (lastRead[s] == i && e->desc[s] == dmd && e->slotOf[s] >= 0 && e->slotOf[s] != refs[0].slot) {
            e->desc[op.dst] = dmd;
            e->slotOf[op.dst] = e->slotOf[s];
          } else {
            writes(op.dst, dmd);
            reorder::primitive_desc rpd(eng(), e->desc[s], eng(), dmd, planAttr());
            addStep(reorder(rpd), rpd.scratchpad_desc(), {ref(DNNL_ARG_FROM, s), ref(DNNL_ARG_TO, op.dst)},
                    tag + "copy of the addend t" + std::to_string(s));
          }
        } else {
          writes(op.dst, dmd);
        }
        refs.push_back(ref(DNNL_ARG_DST, op.dst));
        // Weights and bias are bound now: they live in the plan, not in a slot.
        PlanStep s;
        s.prim = convolution_forward(pd);
        s.scratch = pd.scratchpad_desc();
        s.refs = std::move(refs);
        s.args[DNNL_ARG_WEIGHTS] = planWeights(plan, i, pd.weights_desc());
        if (op.bias >= 0) s.args[DNNL_ARG_BIAS] = memory(bmd, eng(), plan.params[op.bias].data());
        s.what = tag + "conv t" + std::to_string(op.srcs[0]) + " -> t" + std::to_string(op.dst) + " " +
                 std::to_string(p.KH) + "x" + std::to_string(p.KW) + "/" + std::to_string(p.SH) +
                 (p.G > 1 ? " g" + std::to_string(p.G) : "") + (op.sum >= 0 ? " +t" + std::to_string(op.sum) : "") +
                 actName(op.act) + " " + pd.impl_info_str() + " " + layoutName(pd.src_desc()) + " -> " +
                 layoutName(dmd);
        e->steps.push_back(std::move(s));
        break;
      }
      case kOpConcat: {
        std::vector<memory::desc> srcs;
        for (int t : op.srcs) srcs.push_back(e->desc[t]);
        concat::primitive_desc pd(nchwAny(op.dst), 1, srcs, eng(), planAttr());
        writes(op.dst, pd.dst_desc());
        std::vector<ArgRef> refs;
        for (size_t k = 0; k < op.srcs.size(); k++) {
          refs.push_back(ref(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k), op.srcs[k]));
        }
        refs.push_back(ref(DNNL_ARG_DST, op.dst));
        addStep(concat(pd), pd.scratchpad_desc(), std::move(refs),
                tag + "concat -> t" + std::to_string(op.dst) + " " + pd.impl_info_str() + " " +
                    layoutName(pd.dst_desc()));
        break;
      }
      case kOpMaxPool: {
        const ConvP& g = op.g;
        pooling_forward::desc d(prop_kind::forward_inference, algorithm::pooling_max, e->desc[op.srcs[0]],
                                nchwAny(op.dst), {g.SH, g.SW}, {g.KH, g.KW}, {g.PT, g.PL}, {g.PB, g.PR});
        pooling_forward::primitive_desc pd(d, planAttr(), eng());
        ArgRef src = inLayout(op.srcs[0], pd.src_desc(), DNNL_ARG_SRC);
        writes(op.dst, pd.dst_desc());
        addStep(pooling_forward(pd), pd.scratchpad_desc(), {src, ref(DNNL_ARG_DST, op.dst)},
                tag + "maxpool -> t" + std::to_string(op.dst) + " " + pd.impl_info_str());
        break;
      }
      case kOpAdd: {
        post_ops po;
        appendAct(po, op.act, op.alpha);
        const memory::desc& a = e->desc[op.srcs[0]];
        binary::desc d(algorithm::binary_add, a, a, nchwAny(op.dst));
        binary::primitive_desc pd(d, planAttr(&po), eng());
        ArgRef s0 = inLayout(op.srcs[0], pd.src_desc(0), DNNL_ARG_SRC_0);
        ArgRef s1 = inLayout(op.srcs[1], pd.src_desc(1), DNNL_ARG_SRC_1);
        writes(op.dst, pd.dst_desc());
        addStep(binary(pd), pd.scratchpad_desc(), {s0, s1, ref(DNNL_ARG_DST, op.dst)},
                tag + "add -> t" + std::to_string(op.dst) + actName(op.act) + " " + pd.impl_info_str());
        break;
      }
      case kOpEltwise: {
        if (op.act == kLinear) {
          // A copy, not an alias: a sum post-op may write over a tensor once its last reader has run, which an
          // alias would hide.
          writes(op.dst, e->desc[op.srcs[0]]);
          reorder::primitive_desc pd(eng(), e->desc[op.srcs[0]], eng(), e->desc[op.dst], planAttr());
          addStep(reorder(pd), pd.scratchpad_desc(), {ref(DNNL_ARG_FROM, op.srcs[0]), ref(DNNL_ARG_TO, op.dst)},
                  tag + "copy -> t" + std::to_string(op.dst));
          break;
        }
        ActAlg a = actAlg(op.act, op.alpha);
        eltwise_forward::desc d(prop_kind::forward_inference, a.alg, e->desc[op.srcs[0]], a.alpha, a.beta);
        eltwise_forward::primitive_desc pd(d, planAttr(), eng());
        ArgRef src = ref(DNNL_ARG_SRC, op.srcs[0]);
        writes(op.dst, pd.dst_desc());
        addStep(eltwise_forward(pd), pd.scratchpad_desc(), {src, ref(DNNL_ARG_DST, op.dst)},
                tag + "eltwise -> t" + std::to_string(op.dst) + actName(op.act) + " " + pd.impl_info_str());
        break;
      }
    }
    // Outputs read from this op's tensor go out now, so that its buffer is free for what follows.
    sendOut(op.dst);
  }

  // Buffers by lifetime: a slot lives from the step that first touches it to the last; slots whose lives do not
  // overlap share one buffer (the activations of a batch of 32 would otherwise take several hundred MB).
  const size_t nSlots = e->slotFloats.size();
  std::vector<int64_t> first(nSlots, -1), last(nSlots, -1);
  for (size_t s = 0; s < e->steps.size(); s++) {
    for (auto& r : e->steps[s].refs) {
      if (r.slot < 0) continue;
      if (first[r.slot] < 0) first[r.slot] = static_cast<int64_t>(s);
      last[r.slot] = static_cast<int64_t>(s);
    }
  }
  std::vector<int> order;
  for (size_t s = 0; s < nSlots; s++)
    if (first[s] >= 0) order.push_back(static_cast<int>(s));
  std::sort(order.begin(), order.end(), [&](int a, int b) { return first[a] < first[b]; });
  e->physOf.assign(nSlots, -1);
  std::vector<size_t> cap;
  std::vector<int64_t> busyUntil;
  for (int s : order) {
    int best = -1;
    for (size_t b = 0; b < cap.size(); b++) {
      if (busyUntil[b] >= first[s]) continue;
      // The smallest free buffer that fits, else the largest free one (grown).
      if (best < 0) {
        best = static_cast<int>(b);
        continue;
      }
      const bool fitsB = cap[b] >= e->slotFloats[s], fitsBest = cap[best] >= e->slotFloats[s];
      if ((fitsB && (!fitsBest || cap[b] < cap[best])) || (!fitsB && !fitsBest && cap[b] > cap[best])) {
        best = static_cast<int>(b);
      }
    }
    if (best < 0) {
      cap.push_back(0);
      busyUntil.push_back(-1);
      best = static_cast<int>(cap.size() - 1);
    }
    cap[best] = std::max(cap[best], e->slotFloats[s]);
    busyUntil[best] = last[s];
    e->physOf[s] = best;
  }
  e->phys.resize(cap.size());
  for (size_t b = 0; b < cap.size(); b++) e->phys[b].alloc(cap[b]);
  for (auto& st : e->steps) e->scratchFloats = std::max(e->scratchFloats, st.scratch.get_size() / sizeof(float) + 1);
  e->scratch.alloc(e->scratchFloats + Scratchpad::kGuard);
  for (auto& st : e->steps) {
    for (auto& r : st.refs) {
      if (r.slot >= 0) {
        st.args[r.arg] = memory(r.md, eng(), e->phys[e->physOf[r.slot]].p);
      } else {
        memory m(r.md, eng(), nullptr);
        st.args[r.arg] = m;
        e->external.push_back({m, r});
      }
    }
    st.args[DNNL_ARG_SCRATCHPAD] = memory(st.scratch, eng(), e->scratch.p);
  }
  auto& out = *e;
  plan.execs[N] = std::move(e);
  return out;
}

void runStep(PlanStep& s) {
  if (s.custom) {
    strm().wait();  // what the step reads was written by the primitives before it
    s.custom(s);
  } else {
    s.prim.execute(strm(), s.args);
  }
}

// Runs the plan at batch N on the caller's NHWC input, writing the caller's outputs.
void planRun(Plan& plan, int64_t N, float* input, const std::vector<float*>& outputs) {
  PlanExec& e = planExec(plan, N);
  for (auto& x : e.external) {
    if (x.second.slot == kSlotExtIn) {
      x.first.set_data_handle(input);
    } else {
      x.first.set_data_handle(outputs[static_cast<size_t>(-2 - x.second.slot)] + x.second.offset);
    }
  }
  float* guard = e.scratch.p + e.scratchFloats;
  for (size_t i = 0; i < Scratchpad::kGuard; i++) guard[i] = Scratchpad::kMark;
  if (tracing()) {
    // One line per step (SSD_NATIVE_TRACE=1), waiting after each so that the times are the step's own.
    for (auto& s : e.steps) {
      Tic tic;
      runStep(s);
      strm().wait();
      tic.lap("plan_step", s.what);
    }
  } else {
    for (auto& s : e.steps) runStep(s);
    strm().wait();
  }
  for (size_t i = 0; i < Scratchpad::kGuard; i++) {
    if (guard[i] != Scratchpad::kMark) throw std::runtime_error("runPlan: oneDNN wrote past its scratchpad");
  }
}

// The handle JavaScript holds: the plan, or null once disposed (the finalizer then has nothing left to free).
struct PlanHandle {
  Plan* plan = nullptr;
};
void releasePlan(PlanHandle* h) {
  if (!h->plan) return;
  livePlans().erase(h->plan);
  delete h->plan;
  h->plan = nullptr;
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

// convImpl(p): the implementation names (oneDNN's, or own:winograd_4x3 for ours) of the forward, backward-data and backward-weights primitives for this
// geometry, "fwd|bwd_data|bwd_weights" (tests check that Winograd runs where it should).
napi_value JsConvImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    ConvP p = a.conv(0, "p");
    std::string s = ownWinogradWanted(p) ? std::string("own:winograd_4x3|own:winograd_4x3|own:winograd_4x3")
                                         : std::string(getFwd(p, false, kLinear, 0.f).pd.impl_info_str()) + "|" +
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

// prepareBatch(images: Uint8Array[], geometry: Int32Array, photometric: Float64Array, outW, outH,
//              floats: Float32Array | null, bytes: Uint8Array | null)
// geometry holds 9 values a sample (width, height, channels, crop x, y, w, h (w = h = 0: the whole image), flip,
// output slot), photometric 4 (brightness, contrast, saturation, hue). A sample goes to floats / bytes at
// slot * outH * outW * 3.
// The samples are spread over the OpenMP threads; see prep.h.
napi_value JsPrepareBatch(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    bool isArray = false;
    if (a.n < 7 || (napi_is_array(env, a.v[0], &isArray), !isArray)) throw ArgError("argument images must be an array");
    uint32_t count = 0;
    napi_get_array_length(env, a.v[0], &count);
    size_t gLen = 0, pLen = 0, fLen = 0, bLen = 0;
    const int32_t* geo = static_cast<int32_t*>(a.typed(1, napi_int32_array, "an Int32Array", "geometry", &gLen, false));
    const double* pho =
        static_cast<double*>(a.typed(2, napi_float64_array, "a Float64Array", "photometric", &pLen, false));
    const double ow = a.num(3, "outW"), oh = a.num(4, "outH");
    if (!(ow >= 1 && oh >= 1 && ow == std::floor(ow) && oh == std::floor(oh) && ow * oh <= 1 << 26))
      throw ArgError("outW and outH must be positive integers");
    const int outW = static_cast<int>(ow), outH = static_cast<int>(oh);
    float* floats = static_cast<float*>(a.typed(5, napi_float32_array, "a Float32Array", "floats", &fLen, true));
    uint8_t* bytes = static_cast<uint8_t*>(a.typed(6, napi_uint8_array, "a Uint8Array", "bytes", &bLen, true));
    const size_t per = static_cast<size_t>(outW) * outH * 3;
    if (gLen != 9ull * count || pLen != 4ull * count)
      throw ArgError("geometry must hold 9 values and photometric 4 for each of the " + std::to_string(count) +
                     " images");
    if (!floats && !bytes) throw ArgError("give floats or bytes (or both) to write to");
    const size_t slots = std::min(floats ? fLen / per : SIZE_MAX, bytes ? bLen / per : SIZE_MAX);
    std::vector<char> taken(slots, 0);
    std::vector<prep::Sample> samples(count);
    std::vector<size_t> slotOf(count);
    for (uint32_t k = 0; k < count; k++) {
      napi_value el;
      napi_get_element(env, a.v[0], k, &el);
      size_t len = 0;
      const std::string name = "images[" + std::to_string(k) + "]";
      const uint8_t* src = static_cast<uint8_t*>(typedData(env, el, napi_uint8_array, "a Uint8Array", name, &len));
      const int32_t* g = geo + 9 * k;
      prep::Sample& s = samples[k];
      s = prep::Sample{src, g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7] != 0,
                       pho[4 * k], pho[4 * k + 1], pho[4 * k + 2], pho[4 * k + 3]};
      if (s.width <= 0 || s.height <= 0 || (s.channels != 1 && s.channels != 3) ||
          len < static_cast<size_t>(s.width) * s.height * s.channels)
        throw ArgError(name + ": " + std::to_string(len) + " bytes do not hold a " + std::to_string(s.width) + "x" +
                       std::to_string(s.height) + " image of " + std::to_string(s.channels) +
                       " channels (1 or 3 are handled)");
      if (g[8] < 0 || static_cast<size_t>(g[8]) >= slots)
        throw ArgError(name + ": slot " + std::to_string(g[8]) + " is outside the outputs (" +
                       std::to_string(slots) + " images of " + std::to_string(outW) + "x" +
                       std::to_string(outH) + "x3)");
      slotOf[k] = static_cast<size_t>(g[8]);
      if (taken[slotOf[k]]++) throw ArgError(name + ": slot " + std::to_string(g[8]) + " is taken twice");
    }
    std::vector<std::string> errors(count);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < static_cast<int64_t>(count); k++) {
      try {
        const size_t at = slotOf[k] * per;
        prep::prepare(samples[k], outW, outH, bytes ? bytes + at : nullptr, floats ? floats + at : nullptr);
      } catch (const std::exception& e) {
        errors[k] = e.what();
      }
    }
    for (uint32_t k = 0; k < count; k++)
      if (!errors[k].empty()) throw ArgError("images[" + std::to_string(k) + "]: " + errors[k]);
    return undef(env);
  });
}

// setPrepVector(on) -> previous: whether prepareBatch's photometric step may use its AVX2 form (tests compare both).
napi_value JsSetPrepVector(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    napi_value r;
    napi_get_boolean(env, prep::setVector(a.flag(0, "on")), &r);
    return r;
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

// setBwdWBlocked(on) -> the previous setting: whether backward-weights of direct convolutions may run on blocked
// layouts from now on (tests and benchmarks compare the two).
napi_value JsSetBwdWBlocked(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    bool before = bwdWBlockedOn();
    bwdWBlockedOn() = a.flag(0, "on");
    napi_value r;
    napi_get_boolean(env, before, &r);
    return r;
  });
}

// setOwnWinograd(mode) -> the previous mode: "auto", "on" or "off" (see ownWinogradWanted); tests force "on" to
// compare our Winograd with the direct kernels on any AVX2 machine, benchmarks compare the modes.
napi_value JsSetOwnWinograd(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    static const char* names[] = {"off", "auto", "on"};
    const int before = ownWinogradMode();
    size_t len = 0;
    char buf[16] = {0};
    if (a.isNull(0) || napi_get_value_string_utf8(env, a.v[0], buf, sizeof(buf), &len) != napi_ok) {
      throw ArgError("argument mode must be \"auto\", \"on\" or \"off\"");
    }
    const std::string m(buf, len);
    if (m == "off") ownWinogradMode() = kOwnOff;
    else if (m == "auto") ownWinogradMode() = kOwnAuto;
    else if (m == "on") ownWinogradMode() = kOwnOn;
    else throw ArgError("argument mode must be \"auto\", \"on\" or \"off\", not \"" + m + "\"");
    napi_value r;
    napi_create_string_utf8(env, names[before], NAPI_AUTO_LENGTH, &r);
    return r;
  });
}

// ownWinogradActive() -> whether our Winograd would run for qualifying shapes now (mode, CPU and build allowing).
napi_value JsOwnWinogradActive(napi_env env, napi_callback_info) {
  napi_value r;
  napi_get_boolean(env, ownWinogradAllowed(), &r);
  return r;
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

// createPlan(program: Int32Array, params: Float32Array[], scalars: Float32Array) -> plan handle (see parsePlan).
// The parameters are copied; the handle frees the plan when garbage-collected if disposePlan was never called.
napi_value JsCreatePlan(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    bool is = false;
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    napi_value ab;
    size_t off;
    if (a.n > 0) napi_is_typedarray(env, a.v[0], &is);
    if (is) napi_get_typedarray_info(env, a.v[0], &type, &len, &data, &ab, &off);
    if (!is || type != napi_int32_array) throw ArgError("argument program must be an Int32Array");
    const int32_t* code = static_cast<const int32_t*>(data);
    bool isArray = false;
    if (a.n > 1) napi_is_array(env, a.v[1], &isArray);
    if (!isArray) throw ArgError("argument params must be an array of Float32Arrays");
    uint32_t nParams = 0;
    napi_get_array_length(env, a.v[1], &nParams);
    std::vector<std::vector<float>> params(nParams);
    for (uint32_t i = 0; i < nParams; i++) {
      napi_value el;
      napi_get_element(env, a.v[1], i, &el);
      Args one = a;
      one.v[0] = el;
      one.n = 1;
      size_t n = 0;
      float* p = one.f32n(0, ("params[" + std::to_string(i) + "]").c_str(), &n);
      params[i].assign(p, p + n);
    }
    size_t nScalars = 0;
    const float* scalars = a.f32n(2, "scalars", &nScalars);
    std::unique_ptr<Plan> plan = parsePlan(code, len, std::move(params), scalars, nScalars);
    auto* h = new PlanHandle{plan.release()};
    livePlans().insert(h->plan);
    napi_value r;
    napi_status st = napi_create_external(
        env, h, [](napi_env, void* d, void*) {
          auto* ph = static_cast<PlanHandle*>(d);
          releasePlan(ph);
          delete ph;
        },
        nullptr, &r);
    if (st != napi_ok) {
      releasePlan(h);
      delete h;
      throw std::runtime_error("createPlan: cannot create the handle");
    }
    return r;
  });
}

Plan& planArg(Args& a, size_t i) {
  napi_valuetype t = napi_undefined;
  if (i < a.n) napi_typeof(a.env, a.v[i], &t);
  if (t != napi_external) throw ArgError("argument plan must be a plan handle from createPlan");
  void* d = nullptr;
  napi_get_value_external(a.env, a.v[i], &d);
  auto* h = static_cast<PlanHandle*>(d);
  if (!h->plan) throw ArgError("the plan was disposed");
  return *h->plan;
}

int64_t batchArg(Args& a, size_t i) {
  double b = a.num(i, "batch");
  if (!(b >= 1) || b != std::floor(b) || b > 1e6) throw ArgError("argument batch must be an integer >= 1");
  return static_cast<int64_t>(b);
}

// runPlan(plan, batch, input, outputs: Float32Array[]): input NHWC [batch, H, W, C]; output k holds batch x perImage.
napi_value JsRunPlan(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    Plan& plan = planArg(a, 0);
    const int64_t N = batchArg(a, 1);
    size_t inLen = 0;
    float* input = a.f32n(2, "input", &inLen);
    const PlanTensor& t0 = plan.tensors[0];
    if (inLen != static_cast<size_t>(N * t0.H * t0.W * t0.C)) {
      throw ArgError("runPlan: input has " + std::to_string(inLen) + " values, batch " + std::to_string(N) + " of " +
                     std::to_string(t0.H) + "x" + std::to_string(t0.W) + "x" + std::to_string(t0.C) + " needs " +
                     std::to_string(N * t0.H * t0.W * t0.C));
    }
    bool isArray = false;
    if (a.n > 3) napi_is_array(env, a.v[3], &isArray);
    uint32_t nOut = 0;
    if (isArray) napi_get_array_length(env, a.v[3], &nOut);
    if (!isArray || nOut != plan.outputs.size()) {
      throw ArgError("runPlan: outputs must be an array of " + std::to_string(plan.outputs.size()) + " Float32Arrays");
    }
    std::vector<float*> outs;
    for (uint32_t k = 0; k < nOut; k++) {
      napi_value el;
      napi_get_element(env, a.v[3], k, &el);
      Args one = a;
      one.v[0] = el;
      one.n = 1;
      size_t n = 0;
      outs.push_back(one.f32n(0, ("outputs[" + std::to_string(k) + "]").c_str(), &n));
      if (n != static_cast<size_t>(N * plan.outputs[k].perImage)) {
        throw ArgError("runPlan: outputs[" + std::to_string(k) + "] has " + std::to_string(n) + " values, needs " +
                       std::to_string(N * plan.outputs[k].perImage));
      }
    }
    planRun(plan, N, input, outs);
    return undef(env);
  });
}

// disposePlan(plan) -> whether it was still alive: frees weights, primitives and buffers now.
napi_value JsDisposePlan(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    napi_valuetype t = napi_undefined;
    if (a.n > 0) napi_typeof(env, a.v[0], &t);
    if (t != napi_external) throw ArgError("argument plan must be a plan handle from createPlan");
    void* d = nullptr;
    napi_get_value_external(env, a.v[0], &d);
    auto* h = static_cast<PlanHandle*>(d);
    const bool was = h->plan != nullptr;
    releasePlan(h);
    napi_value r;
    napi_get_boolean(env, was, &r);
    return r;
  });
}

// planInfo(plan, batch): one line per step (primitive implementation, layouts), building the batch's steps if needed.
napi_value JsPlanInfo(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info);
    Plan& plan = planArg(a, 0);
    PlanExec& e = planExec(plan, batchArg(a, 1));
    std::string s;
    for (auto& st : e.steps) s += st.what + "\n";
    s += "buffers " + std::to_string(e.phys.size()) + ", " + std::to_string(e.bytes()) + " bytes";
    napi_value r;
    napi_create_string_utf8(env, s.c_str(), s.size(), &r);
    return r;
  });
}

// planStats() -> { live, bytes }: plans not yet released and the bytes they hold.
napi_value JsPlanStats(napi_env env, napi_callback_info) {
  size_t bytes = 0;
  for (const Plan* p : livePlans()) bytes += p->bytes();
  napi_value r, live, b;
  napi_create_object(env, &r);
  napi_create_int32(env, static_cast<int32_t>(livePlans().size()), &live);
  napi_create_double(env, static_cast<double>(bytes), &b);
  napi_set_named_property(env, r, "live", live);
  napi_set_named_property(env, r, "bytes", b);
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
      {"prepareBatch", nullptr, JsPrepareBatch, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setPrepVector", nullptr, JsSetPrepVector, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, JsSetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnWorkspaceBytes", nullptr, JsBnWorkspaceBytes, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setWinograd", nullptr, JsSetWinograd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setBwdWBlocked", nullptr, JsSetBwdWBlocked, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setOwnWinograd", nullptr, JsSetOwnWinograd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"ownWinogradActive", nullptr, JsOwnWinogradActive, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"getThreads", nullptr, JsGetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, JsVersion, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cacheSize", nullptr, JsCacheSize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"createPlan", nullptr, JsCreatePlan, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"runPlan", nullptr, JsRunPlan, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"disposePlan", nullptr, JsDisposePlan, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"planInfo", nullptr, JsPlanInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"planStats", nullptr, JsPlanStats, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
