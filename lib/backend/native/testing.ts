/**
 * Helpers shared by the native backend's tests: comparing backends on the same computation.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** max |a - b| / max |b|: the relative error the issue bounds by 1e-4. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths differ (${a.length} vs ${b.length})`);
  let d = 0, m = 1e-30;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

/** Runs `fn` on each backend and returns its outputs as plain arrays. */
export async function onBackends(names: string[], fn: () => tf.Tensor[]): Promise<Float32Array[][]> {
  const out: Float32Array[][] = [];
  for (const n of names) {
    await tf.setBackend(n);
    const ts = fn();
    out.push(ts.map((t) => t.dataSync() as Float32Array));
    tf.dispose(ts);
  }
  return out;
}
