/**
 * Evaluation: a model's detections on a split, through the inference path, scored by lib/metrics. The trainer's
 * periodic validation and the evaluation of a finished run folder both call {@link evaluateModel}.
 * @module
 */
export * from "./evaluate.ts";
