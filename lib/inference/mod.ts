/**
 * Inference: load a trained detector from a run folder or a model folder and detect on images (paths, bytes or
 * tensors), boxes in each image's pixels. The forward pass and decoding here ({@link predictDetections}) are the
 * ones evaluation uses too.
 * @module
 */
export * from "./detector.ts";
