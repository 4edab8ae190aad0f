/**
 * SGD with (Nesterov) momentum and L2 weight decay, whose state (one momentum buffer per weight and the step
 * count) can be read out and restored, so that a resumed run continues exactly where it stopped.
 *
 * Update rule (PyTorch's form, which keeps the buffer independent of the learning rate so a schedule change does
 * not rescale it): `g' = g + wd * w` (decayed weights only), `v = m * v + g'`, then `w -= lr * (g' + m * v)` with
 * Nesterov or `w -= lr * v` without.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Settings of {@link SgdOptimizer}. */
export interface SgdOptions {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  /** `kernels`: only weights of rank >= 2 (conv and dense kernels) decay; `all`: biases and BN parameters too. */
  weightDecayOn: "kernels" | "all";
}

/** The optimizer's state as plain numbers (what a checkpoint stores). */
export interface SgdState {
  /** Optimizer steps applied so far. */
  iterations: number;
  /** Momentum buffer of each weight, in the order of the weights given to the constructor. */
  buffers: { name: string; shape: number[]; data: Float32Array }[];
}

/** SGD with momentum and weight decay over a fixed list of variables. */
export class SgdOptimizer {
  /** Optimizer steps applied so far. */
  iterations = 0;
  readonly #vars: tf.Variable[];
  readonly #buffers: tf.Variable[];
  readonly #decays: boolean[];
  readonly #options: SgdOptions;

  /** Creates the optimizer for `vars` (the trainable weights, in a fixed order) with zero momentum. */
  constructor(vars: tf.Variable[], options: SgdOptions) {
    if (!(options.momentum >= 0 && options.momentum < 1)) {
      throw new Error(`SgdOptimizer: momentum must be in [0, 1), got ${options.momentum}`);
    }
    if (!(options.weightDecay >= 0)) {
      throw new Error(`SgdOptimizer: weightDecay must be >= 0, got ${options.weightDecay}`);
    }
    this.#vars = vars;
    this.#options = options;
    this.#buffers = vars.map((v) => {
      const zeros = tf.zerosLike(v);
      const buffer = tf.variable(zeros, false);
      zeros.dispose();
      return buffer;
    });
    this.#decays = vars.map((v) => options.weightDecay > 0 && (options.weightDecayOn === "all" || v.rank >= 2));
  }

  /** Whether weight `i` receives weight decay. */
  decays(i: number): boolean {
    return this.#decays[i];
  }

  /** Applies one step with learning rate `lr`; `grads[i]` is the gradient of weight `i` (not disposed here). */
  applyGradients(grads: tf.Tensor[], lr: number): void {
    if (grads.length !== this.#vars.length) {
      throw new Error(`SgdOptimizer: got ${grads.length} gradients for ${this.#vars.length} weights`);
    }
    if (!(lr >= 0 && Number.isFinite(lr))) {
      throw new Error(`SgdOptimizer: learning rate must be finite and >= 0: ${lr}`);
    }
    const { momentum, nesterov, weightDecay } = this.#options;
    tf.tidy(() => {
      this.#vars.forEach((w, i) => {
        const g0 = grads[i];
        if (!g0) throw new Error(`SgdOptimizer: no gradient for weight ${w.name}`);
        const g = this.#decays[i] ? g0.add(w.mul(weightDecay)) : g0;
        const v = this.#buffers[i];
        const vNew = v.mul(momentum).add(g);
        v.assign(vNew);
        const step = nesterov ? g.add(vNew.mul(momentum)) : vNew;
        w.assign(w.sub(step.mul(lr)));
      });
    });
    this.iterations++;
  }

  /** Reads the state out (copies; the optimizer keeps running). */
  getState(): SgdState {
    return {
      iterations: this.iterations,
      buffers: this.#buffers.map((b, i) => ({
        name: this.#vars[i].name,
        shape: b.shape.slice(),
        data: b.dataSync() as Float32Array,
      })),
    };
  }

  /** Restores a state read by {@link getState}; shapes must match weight by weight. */
  setState(state: SgdState): void {
    if (state.buffers.length !== this.#buffers.length) {
      throw new Error(`SgdOptimizer: state has ${state.buffers.length} buffers, the model has ${this.#buffers.length}`);
    }
    state.buffers.forEach((b, i) => {
      const want = this.#buffers[i].shape;
      if (b.shape.length !== want.length || b.shape.some((d, k) => d !== want[k])) {
        throw new Error(
          `SgdOptimizer: buffer ${i} (${b.name}) has shape [${b.shape}], weight ${this.#vars[i].name} has [${want}]`,
        );
      }
      tf.tidy(() => this.#buffers[i].assign(tf.tensor(b.data, want, "float32")));
    });
    this.iterations = state.iterations;
  }

  /** Frees the momentum buffers. */
  dispose(): void {
    for (const b of this.#buffers) b.dispose();
  }
}
