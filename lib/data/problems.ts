/**
 * How the data pipeline reports bad input: a {@link DataProblem} names the file and what is wrong with it, and a
 * {@link DataError} is the exception form of one or more of them.
 * @module
 */

/** One thing wrong with one file; `error` makes the sample unusable, `warning` is reported but the sample is used. */
export interface DataProblem {
  /** The file (or folder) the problem is about, as given to the reader. */
  file: string;
  /** What is wrong, in words. */
  problem: string;
  severity: "error" | "warning";
}

/** An error about bad input; its message starts with the file so a user can find it. */
export class DataError extends Error {
  /** The file (or folder) at fault. */
  readonly file: string;
  /** What is wrong with it. */
  readonly problem: string;

  /** Creates the error; the message reads `<file>: <problem>`. */
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "DataError";
    this.file = file;
    this.problem = problem;
  }
}

/** Formats a problem as one line, `<severity> <file>: <problem>`, for listings. */
export function formatProblem(p: DataProblem): string {
  return `${p.severity} ${p.file}: ${p.problem}`;
}
