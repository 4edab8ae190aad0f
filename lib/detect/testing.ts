/**
 * Fixtures shared by the tests of lib/detect and lib/experiments (not part of the public API, so not in mod.ts).
 * @module
 */

/**
 * Four priors (centre form `cx, cy, w, h`) tiling the unit square in a 2x2 grid; as corners p0 [0,0,.5,.5],
 * p1 [.5,0,1,.5], p2 [0,.5,.5,1], p3 [.5,.5,1,1]. Small enough that every match and offset can be worked by hand.
 */
export const QUAD_PRIORS: Float32Array = new Float32Array([
  [0.25, 0.25, 0.5, 0.5],
  [0.75, 0.25, 0.5, 0.5],
  [0.25, 0.75, 0.5, 0.5],
  [0.75, 0.75, 0.5, 0.5],
].flat());
