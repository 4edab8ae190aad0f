/**
 * Fused CB and DCB blocks on the native backend: one oneDNN forward call and one backward call per block, wired into
 * tfjs autograd with `tf.customGrad`, so variables, optimizers and checkpoints stay plain tfjs.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { BnParams, FusedBlocks, FusedOptions, FusedResult } from "../../model/fused.ts";
import type { NativeAddon } from "./addon.ts";
import { convParams, heapView } from "./kernels.ts";

/** Kernel names of the fused blocks (registered only for the native backend). */
export const FUSED_KERNELS = {
  cb: "SsdNativeCB",
  cbGradParams: "SsdNativeCBGradParams",
  cbGradInput: "SsdNativeCBGradInput",
  dcb: "SsdNativeDCB",
  dcbGrad: "SsdNativeDCBGrad",
  dilated: "SsdNativeDilatedConv",
  dilatedGradInput: "SsdNativeDilatedConvGradInput",
  dilatedGradFilter: "SsdNativeDilatedConvGradFilter",
} as const;

type Info = tf.TensorInfo;

interface BlockAttrs {
  stride: 1 | 2;
  epsilon: number;
  training: boolean;
}

/** Conv info of a pad-1 3x3 (or 1x1, pad 0) stage. */
function stageInfo(xShape: number[], fShape: number[], stride: number, depthwise: boolean) {
  const pad = fShape[0] === 1 ? 0 : 1;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    fShape as [number, number, number, number],
    stride,
    1,
    [[0, 0], [pad, pad], [pad, pad], [0, 0]],
    undefined,
    depthwise,
  );
}

function checkBlock(name: string, x: Info, kernel: Info, depthwise: boolean): void {
  if (x.shape.length !== 4) throw new Error(`${name}: x must be rank 4 [B, H, W, C], got shape [${x.shape}]`);
  const [kh, kw, cin, cout] = kernel.shape;
  if (kernel.shape.length !== 4 || kh !== 3 || kw !== 3 || cin !== x.shape[3] || (depthwise && cout !== 1)) {
    throw new Error(
      `${name}: kernel must be [3, 3, ${x.shape[3]}, ${depthwise ? 1 : "cout"}], got [${kernel.shape}]`,
    );
  }
}

/** Kernel configs for the fused blocks on `backendName`. */
export function fusedKernelConfigs(addon: NativeAddon, backendName: string): tf.KernelConfig[] {
  // The ReLU workspace of a training-mode BN + ReLU stage (oneDNN's bitmask of the ReLU decisions), as a float32
  // tensor so that autograd keeps it until the backward pass like any saved tensor.
  const workspace = (b: BackendWasm, shape: number[], epsilon: number): Info => {
    const [n, h, w, c] = shape;
    const bytes = addon.bnWorkspaceBytes(n, h, w, c, epsilon);
    return b.makeOutput([Math.max(1, Math.ceil(bytes / 4))], "float32");
  };
  const cb: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const b = backend as BackendWasm;
    const { x, kernel, gamma, beta, movingMean, movingVariance } = inputs as Record<string, Info>;
    const { stride, epsilon, training } = attrs as unknown as BlockAttrs;
    checkBlock("convBnRelu", x, kernel, false);
    const info = stageInfo(x.shape, kernel.shape, stride, false);
    const p = convParams(info, 1);
    const c = [info.outChannels];
    const y = b.makeOutput(info.outShape, "float32");
    if (!training) {
      addon.cbForward(
        heapView(b, x),
        heapView(b, kernel),
        heapView(b, gamma),
        heapView(b, beta),
        heapView(b, movingMean),
        heapView(b, movingVariance),
        null,
        heapView(b, y),
        p,
        epsilon,
        false,
      );
      return [y];
    }
    const z = b.makeOutput(info.outShape, "float32");
    const mean = b.makeOutput(c, "float32");
    const variance = b.makeOutput(c, "float32");
    const ws = workspace(b, info.outShape, epsilon);
    const v = (t: Info) => heapView(b, t);
    addon.cbForward(v(x), v(kernel), v(gamma), v(beta), v(mean), v(variance), v(z), v(y), p, epsilon, true, v(ws));
    return [y, z, mean, variance, ws];
  };

  // The CB backward in two kernels, so that the input gradient (one backward-data convolution) runs only when
  // autograd asks for it: never for the block that reads the image.
  const cbGradParams: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const b = backend as BackendWasm;
    const { x, kernel, gamma, z, mean, variance, ws, dy } = inputs as Record<string, Info>;
    const { stride, epsilon } = attrs as unknown as BlockAttrs;
    const p = convParams(stageInfo(x.shape, kernel.shape, stride, false), 1);
    const dz = b.makeOutput(z.shape, "float32");
    const dk = b.makeOutput(kernel.shape, "float32");
    const dg = b.makeOutput(gamma.shape, "float32");
    const db = b.makeOutput(gamma.shape, "float32");
    const v = (t: Info) => heapView(b, t);
    addon.cbBackwardParams(
      v(x),
      v(kernel),
      v(gamma),
      v(z),
      v(mean),
      v(variance),
      v(ws),
      v(dy),
      v(dz),
      v(dk),
      v(dg),
      v(db),
      p,
      epsilon,
    );
    return [dz, dk, dg, db];
  };

  const cbGradInput: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const b = backend as BackendWasm;
    const { dz, kernel } = inputs as Record<string, Info>;
    const { stride, xShape } = attrs as unknown as BlockAttrs & { xShape: number[] };
    const p = convParams(stageInfo(xShape, kernel.shape, stride, false), 1);
    const dx = b.makeOutput(xShape, "float32");
    addon.convBackwardData(heapView(b, dz), heapView(b, kernel), heapView(b, dx), p);
    return [dx];
  };

  const dcb: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const b = backend as BackendWasm;
    const i = inputs as Record<string, Info>;
    const { stride, epsilon, training } = attrs as unknown as BlockAttrs;
    checkBlock("depthwiseBlock", i.x, i.dwKernel, true);
    const [, , pin, cout] = i.pwKernel.shape;
    if (i.pwKernel.shape[0] !== 1 || i.pwKernel.shape[1] !== 1 || pin !== i.x.shape[3]) {
      throw new Error(`depthwiseBlock: pwKernel must be [1, 1, ${i.x.shape[3]}, cout], got [${i.pwKernel.shape}]`);
    }
    const dInfo = stageInfo(i.x.shape, i.dwKernel.shape, stride, true);
    const pInfo = stageInfo(dInfo.outShape, i.pwKernel.shape, 1, false);
    const pd = convParams(dInfo, dInfo.inChannels);
    const pp = convParams(pInfo, 1);
    const y = b.makeOutput(pInfo.outShape, "float32");
    const outs = training
      ? [
        b.makeOutput(dInfo.outShape, "float32"),
        b.makeOutput(dInfo.outShape, "float32"),
        b.makeOutput(pInfo.outShape, "float32"),
        b.makeOutput([dInfo.outChannels], "float32"),
        b.makeOutput([dInfo.outChannels], "float32"),
        b.makeOutput([cout], "float32"),
        b.makeOutput([cout], "float32"),
        workspace(b, dInfo.outShape, epsilon),
        workspace(b, pInfo.outShape, epsilon),
      ]
      : [];
    const v = (t: Info) => heapView(b, t);
    const [z1, a1, z2, m1, v1, m2, v2, ws1, ws2] = outs;
    addon.dcbForward(
      v(i.x),
      v(i.dwKernel),
      v(i.gamma1),
      v(i.beta1),
      v(i.pwKernel),
      v(i.gamma2),
      v(i.beta2),
      v(training ? m1 : i.movingMean1),
      v(training ? v1 : i.movingVariance1),
      v(training ? m2 : i.movingMean2),
      v(training ? v2 : i.movingVariance2),
      training ? v(z1) : null,
      training ? v(a1) : null,
      training ? v(z2) : null,
      v(y),
      pd,
      pp,
      epsilon,
      training,
      training ? v(ws1) : null,
      training ? v(ws2) : null,
    );
    return [y, ...outs];
  };

  const dcbGrad: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const b = backend as BackendWasm;
    const i = inputs as Record<string, Info>;
    const { stride, epsilon } = attrs as unknown as BlockAttrs;
    const dInfo = stageInfo(i.x.shape, i.dwKernel.shape, stride, true);
    const pInfo = stageInfo(dInfo.outShape, i.pwKernel.shape, 1, false);
    const outs = [i.x, i.dwKernel, i.gamma1, i.gamma1, i.pwKernel, i.gamma2, i.gamma2].map((t) =>
      b.makeOutput(t.shape, "float32")
    );
    const v = (t: Info) => heapView(b, t);
    addon.dcbBackward(
      ...[i.x, i.dwKernel, i.gamma1, i.pwKernel, i.gamma2, i.z1, i.a1, i.z2, i.ws2, i.mean1, i.variance1, i.mean2]
        .map(v),
      v(i.variance2),
      v(i.dy),
      ...outs.map(v),
      convParams(dInfo, dInfo.inChannels),
      convParams(pInfo, 1),
      epsilon,
      v(i.ws1),
    );
    return outs;
  };

  // Dilated 3x3 'same' convolution at stride 1: oneDNN takes the dilation directly (9 taps, not (2d+1)^2).
  const dilatedParams = (xShape: number[], kShape: number[], dilation: number) => {
    if (!Number.isInteger(dilation) || dilation < 1) {
      throw new Error(`dilatedConv: dilation must be an integer >= 1, got ${dilation}`);
    }
    const info = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      kShape as [number, number, number, number],
      1,
      dilation,
      "same",
    );
    return { info, p: convParams(info, 1) };
  };
  const dilated: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const b = backend as BackendWasm;
    const { x, kernel } = inputs as Record<string, Info>;
    checkBlock("dilatedConv", x, kernel, false);
    const { info, p } = dilatedParams(x.shape, kernel.shape, (attrs as { dilation: number }).dilation);
    const y = b.makeOutput(info.outShape, "float32");
    addon.convForward(heapView(b, x), heapView(b, kernel), null, heapView(b, y), p, 0, 0);
    return y;
  };
  const dilatedGradInput: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const b = backend as BackendWasm;
    const { dy, kernel } = inputs as Record<string, Info>;
    const { dilation, xShape } = attrs as { dilation: number; xShape: number[] };
    const { p } = dilatedParams(xShape, kernel.shape, dilation);
    const dx = b.makeOutput(xShape, "float32");
    addon.convBackwardData(heapView(b, dy), heapView(b, kernel), heapView(b, dx), p);
    return dx;
  };
  const dilatedGradFilter: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const b = backend as BackendWasm;
    const { x, dy } = inputs as Record<string, Info>;
    const { dilation, kShape } = attrs as { dilation: number; kShape: number[] };
    const { p } = dilatedParams(x.shape, kShape, dilation);
    const dk = b.makeOutput(kShape, "float32");
    addon.convBackwardWeights(heapView(b, x), heapView(b, dy), heapView(b, dk), p);
    return dk;
  };

  return [
    { kernelName: FUSED_KERNELS.dilated, backendName, kernelFunc: dilated },
    { kernelName: FUSED_KERNELS.dilatedGradInput, backendName, kernelFunc: dilatedGradInput },
    { kernelName: FUSED_KERNELS.dilatedGradFilter, backendName, kernelFunc: dilatedGradFilter },
    { kernelName: FUSED_KERNELS.cb, backendName, kernelFunc: cb },
    { kernelName: FUSED_KERNELS.cbGradParams, backendName, kernelFunc: cbGradParams },
    { kernelName: FUSED_KERNELS.cbGradInput, backendName, kernelFunc: cbGradInput },
    { kernelName: FUSED_KERNELS.dcb, backendName, kernelFunc: dcb },
    { kernelName: FUSED_KERNELS.dcbGrad, backendName, kernelFunc: dcbGrad },
  ];
}

/** The engine's custom-gradient entry (what tf.customGrad wraps): gradients are thunks, called per needed input. */
interface CustomKernelParams {
  inputs: Record<number, tf.Tensor>;
  forwardFunc: (backend: tf.KernelBackend, save: tf.GradSaveFunc) => tf.Tensor;
  backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<number, () => tf.Tensor>;
}

function runCustom(params: CustomKernelParams): tf.Tensor {
  // runKernelFunc is private in tfjs-core's typings but is the public engine's method customGrad itself calls.
  const engine = tf.engine() as unknown as { runKernelFunc(p: CustomKernelParams): tf.Tensor };
  return engine.runKernelFunc(params);
}

function run(name: string, inputs: tf.NamedTensorMap, attrs: BlockAttrs): tf.Tensor[] {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/**
 * Moves tensors kept inside a customGrad forward (which runs in its own tidy) into the caller's scope: a clone is
 * tracked where the caller is, the kept original is released. On the native backend a clone shares the buffer.
 */
function adopt<T extends tf.Tensor>(kept: T): T {
  const t = kept.clone();
  kept.dispose();
  return t;
}

function asStats(pairs: tf.Tensor[]): FusedResult["stats"] {
  const out: FusedResult["stats"] = [];
  for (let k = 0; k < pairs.length; k += 2) {
    out.push({ mean: adopt(pairs[k]) as tf.Tensor1D, variance: adopt(pairs[k + 1]) as tf.Tensor1D });
  }
  return out;
}

/** The {@link FusedBlocks} of the native backend named `backendName`; its kernels must be registered. */
export function nativeFusedBlocks(backendName: string): FusedBlocks {
  return {
    backendName,
    convBnRelu(x: tf.Tensor4D, kernel: tf.Tensor4D, bn: BnParams, options: FusedOptions): FusedResult {
      const attrs: BlockAttrs = { stride: options.stride, epsilon: options.epsilon, training: options.training };
      const { gamma, beta, movingMean, movingVariance } = bn;
      if (!options.training) {
        const [y] = run(FUSED_KERNELS.cb, { x, kernel, gamma, beta, movingMean, movingVariance }, attrs);
        return { y: y as tf.Tensor4D, stats: [] };
      }
      let kept: tf.Tensor[] = [];
      // Not tf.customGrad: it computes every input's gradient eagerly, and autograd never needs the image's. The
      // engine's own form of it takes one thunk per input and calls only those on a path to the requested variables.
      const y = runCustom({
        inputs: { 0: x, 1: kernel, 2: gamma, 3: beta },
        forwardFunc: (_backend, save) => {
          const [y, z, mean, variance, ws] = run(
            FUSED_KERNELS.cb,
            { x, kernel, gamma, beta, movingMean, movingVariance },
            attrs,
          );
          save([x, kernel, gamma, z, mean, variance, ws]);
          kept = [tf.keep(mean), tf.keep(variance)];
          return y;
        },
        backwardsFunc: (dy, saved) => {
          const [x, kernel, gamma, z, mean, variance, ws] = saved;
          const [dz, dk, dg, db] = run(
            FUSED_KERNELS.cbGradParams,
            { x, kernel, gamma, z, mean, variance, ws, dy },
            attrs,
          );
          return {
            0: () => {
              const [dx] = run(FUSED_KERNELS.cbGradInput, { dz, kernel }, { ...attrs, xShape: x.shape } as BlockAttrs);
              dz.dispose();
              return dx;
            },
            1: () => dk,
            2: () => dg,
            3: () => db,
          };
        },
      }) as tf.Tensor4D;
      return { y, stats: asStats(kept) };
    },

    dilatedConv(x: tf.Tensor4D, kernel: tf.Tensor4D, dilation: number): tf.Tensor4D {
      const one = (name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>) =>
        tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
      return runCustom({
        inputs: { 0: x, 1: kernel },
        forwardFunc: (_backend, save) => {
          save([x, kernel]);
          return one(FUSED_KERNELS.dilated, { x, kernel }, { dilation });
        },
        backwardsFunc: (dy, saved) => {
          const [x, kernel] = saved;
          return {
            0: () => one(FUSED_KERNELS.dilatedGradInput, { dy, kernel }, { dilation, xShape: x.shape }),
            1: () => one(FUSED_KERNELS.dilatedGradFilter, { x, dy }, { dilation, kShape: kernel.shape }),
          };
        },
      }) as tf.Tensor4D;
    },

    depthwiseBlock(x, weights, options): FusedResult {
      const attrs: BlockAttrs = { stride: options.stride, epsilon: options.epsilon, training: options.training };
      const { dwKernel, pwKernel, bn1, bn2 } = weights;
      const moving = {
        movingMean1: bn1.movingMean,
        movingVariance1: bn1.movingVariance,
        movingMean2: bn2.movingMean,
        movingVariance2: bn2.movingVariance,
      };
      const params = { dwKernel, gamma1: bn1.gamma, beta1: bn1.beta, pwKernel, gamma2: bn2.gamma, beta2: bn2.beta };
      if (!options.training) {
        const [y] = run(FUSED_KERNELS.dcb, { x, ...params, ...moving }, attrs);
        return { y: y as tf.Tensor4D, stats: [] };
      }
      let kept: tf.Tensor[] = [];
      const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const [x, dwKernel, gamma1, beta1, pwKernel, gamma2, beta2] = args as tf.Tensor[];
        const save = args[7] as tf.GradSaveFunc;
        const inputs = { x, dwKernel, gamma1, beta1, pwKernel, gamma2, beta2, ...moving };
        const [y, z1, a1, z2, mean1, variance1, mean2, variance2, ws1, ws2] = run(FUSED_KERNELS.dcb, inputs, attrs);
        save([x, dwKernel, gamma1, pwKernel, gamma2, z1, a1, z2, ws1, ws2, mean1, variance1, mean2, variance2]);
        kept = [mean1, variance1, mean2, variance2].map((t) => tf.keep(t));
        return {
          value: y,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [x, dwKernel, gamma1, pwKernel, gamma2, z1, a1, z2, ws1, ws2, mean1, variance1, mean2, variance2] =
              saved;
            return run(FUSED_KERNELS.dcbGrad, {
              x,
              dwKernel,
              gamma1,
              pwKernel,
              gamma2,
              z1,
              a1,
              z2,
              ws1,
              ws2,
              mean1,
              variance1,
              mean2,
              variance2,
              dy,
            }, attrs);
          },
        };
      });
      const y = f(x, dwKernel, bn1.gamma, bn1.beta, pwKernel, bn2.gamma, bn2.beta) as tf.Tensor4D;
      return { y, stats: asStats(kept) };
    },
  };
}
