/**
 * How tables, charts and metrics files name the data their numbers come from: real AIZOO images with their counts
 * (and whether they are the paper's test set), or generated data flagged so that no number on it passes for a
 * result on real faces.
 * @module
 */
/** True when a data label says the data was generated (synthetic), so results must be flagged as such. */
export function isGeneratedData(dataLabel: string): boolean {
  return /generated|synthetic/i.test(dataLabel);
}

/** Images in the paper's test set (AIZOO's own validation split). */
export const PAPER_TEST_IMAGES = 1839;

/**
 * The data label of tables and charts: generated data is flagged, real data carries its image counts (and, unless it
 * is AIZOO's full 1,839-image validation split, that it is not the paper's test set).
 */
export function dataLabelOf(label: string, valImages: number, trainImages?: number): string {
  const n = (x: number) => x.toLocaleString("en-US");
  if (label === "generated") return `GENERATED synthetic data (${n(valImages)} val images)`;
  const counts = `${trainImages ? `${n(trainImages)} train / ` : ""}${n(valImages)} val images`;
  return `AIZOO data, ${counts}${valImages === PAPER_TEST_IMAGES ? "" : ` (not the paper's ${n(PAPER_TEST_IMAGES)})`}`;
}
