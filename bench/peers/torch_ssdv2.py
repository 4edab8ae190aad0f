#!/usr/bin/python3
"""PyTorch peer of `deno task bench`: the SSDv2 detector (4 branches, c = 16) and its training step in PyTorch.

The network is lib/model/detector.ts + lib/model/blocks.ts layer for layer, in NCHW:
- CB: 3x3 conv (no bias, padding 1 on every side, stride 1 or 2) + BatchNorm + ReLU; DCB: 3x3 depthwise conv + BN +
  ReLU, then 1x1 conv + BN + ReLU (no biases). BN epsilon 1e-3 and momentum 0.99 in Keras' convention (0.01 here).
- trunk CB(c,s2) CB(2c) CB(2c,s2) CB(2c) CB(4c,s2) CB(4c)x3 | CB(8c,s2) CB(8c)x2 | DCB(16c,s2) DCB(16c) | DCB(16c,s2).
- per branch BB(c): concat(conv3x3(c) -> LeakyReLU(0.3) -> conv3x3(c), conv3x3(2c)) -> ReLU (convs with bias), then
  3x3 heads (with bias) for A x 3 logits and A x 4 offsets, flattened in (row, column, anchor) order as TF.js does.
The training step is lib/loss/multibox.ts (softmax cross-entropy over the positives and the 3:1 hardest negatives
plus smooth L1 over the positives, both over N positives) and lib/train/optimizer.ts (SGD, Nesterov momentum 0.9,
weight decay 5e-4 on kernels only), on random images and random matched targets of the right shapes.

Timing follows lib/backend/native/model_bench.ts `timeIt`: `warmup` untimed calls, then `repeats` windows of at
least `min_seconds / repeats` seconds each (at least one, at most `max_iters` calls) and the median window.

Prints one JSON line: name, version, threads, train_img_s, infer_fps, infer_batch_img_s, params, priors, the
process's minor page faults and user / system seconds (getrusage), the LD_PRELOAD it ran with, and more.
`--check DIR` instead loads our TF.js weights into this network and prints how far its outputs are from ours on
our input (lib/bench/peers.ts `checkTorchNetwork` writes DIR), which shows the two networks are the same function.
Exits with status 2 and a message on stderr when the network does not have the expected parameter or prior count.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # Keras/TF.js momentum 0.99: moving = moving * 0.99 + batch * 0.01
ANCHORS = [3, 2, 2, 3]  # SSDV2_PRIORS sizes per map: [10,16,24], [32,48], [64,96], [128,192,256]
NUM_CLASSES = 3


def bn(n):
    return nn.BatchNorm2d(n, eps=BN_EPS, momentum=BN_MOMENTUM)


class CB(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = bn(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class DCB(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.bn1 = bn(cin)
        self.pw = nn.Conv2d(cin, cout, 1, 1, 0, bias=False)
        self.bn2 = bn(cout)

    def forward(self, x):
        return F.relu(self.bn2(self.pw(F.relu(self.bn1(self.dw(x))))))


class BB(nn.Module):
    def __init__(self, cin, f):
        super().__init__()
        self.a1 = nn.Conv2d(cin, f, 3, 1, 1)
        self.a2 = nn.Conv2d(f, f, 3, 1, 1)
        self.c = nn.Conv2d(cin, 2 * f, 3, 1, 1)

    def forward(self, x):
        a = self.a2(F.leaky_relu(self.a1(x), 0.3))
        return F.relu(torch.cat([a, self.c(x)], 1))


class SSDv2(nn.Module):
    def __init__(self, c=16, num_classes=NUM_CLASSES):
        super().__init__()
        self.num_classes = num_classes
        self.stages = nn.ModuleList([
            nn.Sequential(CB(3, c, 2), CB(c, 2 * c, 1), CB(2 * c, 2 * c, 2), CB(2 * c, 2 * c, 1), CB(2 * c, 4 * c, 2),
                          CB(4 * c, 4 * c, 1), CB(4 * c, 4 * c, 1), CB(4 * c, 4 * c, 1)),
            nn.Sequential(CB(4 * c, 8 * c, 2), CB(8 * c, 8 * c, 1), CB(8 * c, 8 * c, 1)),
            nn.Sequential(DCB(8 * c, 16 * c, 2), DCB(16 * c, 16 * c, 1)),
            nn.Sequential(DCB(16 * c, 16 * c, 2)),
        ])
        chans = [4 * c, 8 * c, 16 * c, 16 * c]
        self.branches = nn.ModuleList([BB(ch, c) for ch in chans])
        self.cls = nn.ModuleList([nn.Conv2d(3 * c, a * num_classes, 3, 1, 1) for a in ANCHORS])
        self.loc = nn.ModuleList([nn.Conv2d(3 * c, a * 4, 3, 1, 1) for a in ANCHORS])

    def forward(self, x):
        logits, offsets = [], []
        for k, stage in enumerate(self.stages):
            x = stage(x)
            f = self.branches[k](x)
            # NCHW -> NHWC before flattening, so priors come in (row, column, anchor) order as in TF.js.
            logits.append(self.cls[k](f).permute(0, 2, 3, 1).reshape(x.shape[0], -1, self.num_classes))
            offsets.append(self.loc[k](f).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 4))
        return torch.cat(logits, 1), torch.cat(offsets, 1)


def num_priors(h, w):
    """Priors of the 4 maps: every stride-2 stage maps n to ceil(n / 2) (padding 1), strides 8 / 16 / 32 / 64."""
    total = 0
    for k, a in enumerate(ANCHORS):
        s = 2 ** (k + 3)
        hh, ww = h, w
        for _ in range(k + 3):
            hh, ww = math.ceil(hh / 2), math.ceil(ww / 2)
        assert hh == math.ceil(h / s) and ww == math.ceil(w / s)
        total += hh * ww * a
    return total


def count_params(model):
    """Weights as TF.js's countParams counts them: trainable ones plus the BN moving mean and variance."""
    n = sum(p.numel() for p in model.parameters())
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n += m.running_mean.numel() + m.running_var.numel()
    return n


def multibox_loss(logits, offsets, labels, target_offsets, neg_pos_ratio=3):
    """lib/loss/multibox.ts: hard negatives ranked by background loss without gradient, per image."""
    _, P, _ = logits.shape
    logp = F.log_softmax(logits, -1)
    pos = labels > 0
    with torch.no_grad():
        bg = -logp[..., 0]
        bg = bg.masked_fill(pos, -math.inf)
        npos = pos.sum(1, keepdim=True)
        num_neg = torch.clamp(neg_pos_ratio * npos, max=P - npos)
        rank = bg.argsort(1, descending=True).argsort(1)
        mask = pos | (rank < num_neg)
    n = max(int(pos.sum()), 1)
    ce = -logp.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    cls = (ce * mask).sum() / n
    sl1 = F.smooth_l1_loss(offsets, target_offsets, reduction="none").sum(-1)
    loc = (sl1 * pos).sum() / n
    return cls + loc


def random_targets(batch, P, gen):
    """Random matched targets: 5 to 30 positive priors per image (classes 1 and 2), offsets ~ N(0, 1)."""
    labels = torch.zeros(batch, P, dtype=torch.long)
    for b in range(batch):
        k = int(torch.randint(5, 31, (1,), generator=gen))
        idx = torch.randperm(P, generator=gen)[:k]
        labels[b, idx] = torch.randint(1, NUM_CLASSES, (k,), generator=gen)
    return labels, torch.randn(batch, P, 4, generator=gen)


def time_it(fn, min_seconds, repeats, warmup, max_iters):
    """Median seconds per call over `repeats` windows (lib/backend/native/model_bench.ts timeIt)."""
    for _ in range(warmup):
        fn()
    windows = []
    for _ in range(repeats):
        iters = 0
        t0 = time.perf_counter()
        while iters < max_iters and (iters == 0 or time.perf_counter() - t0 < min_seconds / repeats):
            fn()
            iters += 1
        windows.append((time.perf_counter() - t0) / iters)
    s = sorted(windows)
    mid = len(s) // 2
    median = s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
    return median, [s[0], s[-1]]


def load_tfjs_weights(model, entries, blob):
    """Copies TF.js weights (name, shape, offset into the float32 blob) into the network: HWIO kernels to OIHW,
    depthwise [3, 3, C, 1] to [C, 1, 3, 3], by layer name (t1_cb3, t3_dcb1, b2_conv1, b4_loc_conv1...)."""
    stage_of = {"t1_cb": 0, "t2_cb": 1, "t3_dcb": 2, "t4_dcb": 3}
    bb_part = {"conv1": "a1", "conv2": "a2", "conv3": "c"}
    done = 0
    for e in entries:
        layer, weight = e["name"].split("/")
        data = blob[e["offset"]:e["offset"] + math.prod(e["shape"])].reshape(e["shape"])
        if layer.startswith("t"):
            prefix = layer.rstrip("0123456789")
            block = model.stages[stage_of[prefix]][int(layer[len(prefix):]) - 1]
            if weight == "kernel":
                target = block.conv.weight
            elif weight == "depthwise_kernel":
                target = block.dw.weight
            elif weight == "pointwise_kernel":
                target = block.pw.weight
            else:
                bn_name, field = weight.split("_", 1) if weight.startswith("bn") else ("bn", weight)
                bnm = getattr(block, bn_name)
                target = {"gamma": bnm.weight, "beta": bnm.bias, "moving_mean": bnm.running_mean,
                          "moving_variance": bnm.running_var}[field]
        else:
            k = int(layer[1]) - 1
            part = layer.split("_", 1)[1]
            conv = (model.cls[k] if part == "cls_conv1" else model.loc[k] if part == "loc_conv1"
                    else getattr(model.branches[k], bb_part[part]))
            target = conv.weight if weight == "kernel" else conv.bias
        if weight == "depthwise_kernel":
            data = data.permute(2, 3, 0, 1)
        elif data.dim() == 4:
            data = data.permute(3, 2, 0, 1)
        if tuple(target.shape) != tuple(data.shape):
            raise ValueError(f"{e['name']}: shape {tuple(data.shape)} does not fit {tuple(target.shape)}")
        with torch.no_grad():
            target.copy_(data)
        done += 1
    return done


def check(a):
    """--check DIR: our weights, an NHWC input and our outputs (DIR/check.json + .bin files); prints the largest
    differences of this network's outputs (inference mode) from ours."""
    meta = json.load(open(f"{a.check}/check.json"))
    read = lambda name: torch.frombuffer(bytearray(open(f"{a.check}/{name}", "rb").read()), dtype=torch.float32)
    model = SSDv2()
    n = load_tfjs_weights(model, meta["weights"], read("weights.bin"))
    expected = sum(1 for _ in model.parameters()) + 2 * sum(1 for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    if n != expected:
        print(f"torch_ssdv2.py: {n} weight tensors given, the network has {expected}", file=sys.stderr)
        return 2
    x = read("input.bin").reshape(meta["input_shape"]).permute(0, 3, 1, 2).contiguous()
    model.eval()
    with torch.inference_mode():
        logits, offsets = model(x)
    want_l = read("logits.bin").reshape(logits.shape)
    want_o = read("offsets.bin").reshape(offsets.shape)
    print(json.dumps({
        "weights_loaded": n,
        "logits_max_abs_diff": float((logits - want_l).abs().max()),
        "offsets_max_abs_diff": float((offsets - want_o).abs().max()),
        "logits_max_abs": float(want_l.abs().max()),
        "offsets_max_abs": float(want_o.abs().max()),
    }))
    return 0


def cpu_capability():
    """ATen's kernel dispatch level ("AVX2", "AVX512", "DEFAULT"), from the build summary torch 1.13 prints."""
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--infer-batch", type=int, default=32)
    ap.add_argument("--min-seconds", type=float, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-iters", type=int, default=1000)
    ap.add_argument("--warmup-train", type=int, default=1)
    ap.add_argument("--warmup-infer", type=int, default=2)
    ap.add_argument("--warmup-batch", type=int, default=1)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--expect-params", type=int, help="fail unless the network has this many weights")
    ap.add_argument("--expect-priors", type=int, help="fail unless the outputs have this many priors")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", metavar="DIR", help="compare this network's outputs with ours on our weights, then exit")
    a = ap.parse_args(argv)
    if a.check:
        return check(a)
    for name in ["threads", "batch", "infer_batch", "repeats", "max_iters"]:
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be a positive integer")
    if not a.min_seconds >= 0:
        ap.error("--min-seconds must be >= 0")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    model = SSDv2()
    params = count_params(model)
    P = num_priors(a.height, a.width)
    if a.expect_params is not None and params != a.expect_params:
        print(f"torch_ssdv2.py: the PyTorch network has {params} weights, ours {a.expect_params}", file=sys.stderr)
        return 2
    if a.expect_priors is not None and P != a.expect_priors:
        print(f"torch_ssdv2.py: {a.height}x{a.width} gives {P} priors, ours {a.expect_priors}", file=sys.stderr)
        return 2

    kernels = [p for p in model.parameters() if p.dim() >= 2]
    others = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.SGD([{"params": kernels, "weight_decay": 5e-4}, {"params": others, "weight_decay": 0.0}],
                          lr=1e-2, momentum=0.9, nesterov=True)
    x = torch.rand(a.batch, 3, a.height, a.width, generator=gen) - 0.5
    labels, target_offsets = random_targets(a.batch, P, gen)
    model.train()
    first = model(x[:1])
    if first[0].shape[1] != P or first[1].shape[1] != P:
        print(f"torch_ssdv2.py: outputs have {first[0].shape[1]} boxes, {P} priors expected", file=sys.stderr)
        return 2
    del first

    def train_step():
        opt.zero_grad(set_to_none=True)
        logits, offsets = model(x)
        loss = multibox_loss(logits, offsets, labels, target_offsets)
        loss.backward()
        opt.step()
        return loss.item()

    loss0 = train_step()
    if not math.isfinite(loss0):
        print(f"torch_ssdv2.py: the training loss is {loss0}", file=sys.stderr)
        return 2
    timing = dict(min_seconds=a.min_seconds, repeats=a.repeats, max_iters=a.max_iters)
    train_s, train_range = time_it(train_step, warmup=a.warmup_train, **timing)

    model.eval()
    x1 = x[:1].contiguous()
    xb = torch.rand(a.infer_batch, 3, a.height, a.width, generator=gen) - 0.5

    def infer(inp):
        with torch.inference_mode():
            model(inp)

    infer_s, infer_range = time_it(lambda: infer(x1), warmup=a.warmup_infer, **timing)
    batch_s, batch_range = time_it(lambda: infer(xb), warmup=a.warmup_batch, **timing)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "name": "pytorch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "train_img_s": a.batch / train_s,
        "infer_fps": 1 / infer_s,
        "infer_batch_img_s": a.infer_batch / batch_s,
        "params": params,
        "priors": P,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "layout": "NCHW",
        "batch": a.batch,
        "infer_batch": a.infer_batch,
        "windows_s": {"train": train_range, "infer": infer_range, "infer_batch": batch_range},
        # Where the time outside the kernels went: the default glibc allocator hands large tensors back to the
        # kernel and faults them in again on the next step, which costs seconds of system time on some machines.
        "allocator_preload": os.environ.get("LD_PRELOAD") or None,
        # The ISAs its kernels ran on: ATen's dispatch (ATEN_CPU_CAPABILITY) and oneDNN's cap, if any.
        "cpu_capability": cpu_capability(),
        "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or None,
        "minor_faults": usage.ru_minflt,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
