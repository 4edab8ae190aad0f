/**
 * The learning-rate schedule of the public code (MultiStepWarmUpLR): linear warm-up from the floor to the base
 * rate, then a step decay at given epochs, never below the floor. Evaluated per optimizer step, so warm-up is
 * smooth even for short runs.
 * @module
 */

/** The schedule's parameters (the `train` block of a run config carries them). */
export interface LrSchedule {
  lr: number;
  warmupEpochs: number;
  decayEpochs: number[];
  decayFactor: number;
  lrFloor: number;
}

/**
 * Learning rate at optimizer step `step` (0-based) when an epoch has `stepsPerEpoch` steps.
 *
 * Warm-up: `floor + (lr - floor) * (step + 1) / warmupSteps` for the first `warmupSteps` steps, so the first step
 * already moves and the last warm-up step reaches `lr`. Afterwards `lr * factor^k`, k = number of decay epochs
 * whose first step has been reached, clamped to at least `floor`.
 */
export function learningRate(step: number, options: LrSchedule & { stepsPerEpoch: number }): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`learningRate: step must be an integer >= 0, got ${step}`);
  if (!(options.stepsPerEpoch >= 1)) {
    throw new Error(`learningRate: stepsPerEpoch must be >= 1, got ${options.stepsPerEpoch}`);
  }
  const warmupSteps = Math.round(options.warmupEpochs * options.stepsPerEpoch);
  if (step < warmupSteps) {
    return options.lrFloor + (options.lr - options.lrFloor) * (step + 1) / warmupSteps;
  }
  let lr = options.lr;
  for (const epoch of options.decayEpochs) {
    if (step >= epoch * options.stepsPerEpoch) lr *= options.decayFactor;
  }
  return Math.max(lr, options.lrFloor);
}
