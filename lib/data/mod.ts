/**
 * The data pipeline: VOC files, data sets in AIZOO's layout, image decoding, augmentation, batching, generated
 * data and statistics. `stats.ts` loads danfo lazily, so importing this module stays cheap.
 * @module
 */

export { DataError, type DataProblem, formatProblem } from "./problems.ts";
export {
  parseVocXml,
  readVocXml,
  type VocAnnotation,
  type VocObject,
  type VocOptions,
  type VocReadResult,
} from "./voc.ts";
export {
  type CropRect,
  type ImageInfo,
  imageInfo,
  type ImageInfoOptions,
  loadImage,
  type LoadImageOptions,
  normalize,
} from "./image.ts";
export {
  type ChecksumOptions,
  dataChecksum,
  type DataRecord,
  type DataSource,
  GENERATED_DEFAULTS,
  listSplits,
  resolveData,
  type ResolveOptions,
  type ScanOptions,
  type ScanResult,
  scanSplit,
} from "./dataset.ts";
export {
  applyPhotometric,
  type AugmentInput,
  type AugmentOptions,
  type AugmentPlan,
  cropBoxes,
  flipBoxes,
  NO_PHOTOMETRIC,
  type PhotometricParams,
  planAugment,
} from "./augment.ts";
export { type Batch, batches, type BatchIterator, type BatchOptions, type SkippedSample } from "./loader.ts";
export {
  generateDataset,
  type GeneratedDataset,
  type GenerateOptions,
  planScene,
  type RenderOptions,
  renderScene,
  type Scene,
  type SceneFace,
  sceneXml,
} from "./generate.ts";
export {
  boxColumns,
  type BoxCounts,
  countBoxes,
  type DataStats,
  dataStats,
  imageColumns,
  summaryColumns,
} from "./stats.ts";
export { dataLabelOf, isGeneratedData, PAPER_TEST_IMAGES } from "./label.ts";
