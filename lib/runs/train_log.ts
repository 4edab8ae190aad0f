/**
 * The per-epoch CSV log of a run folder (`train_log.csv`): its columns, the writer the trainer appends to, and the
 * parser every reader uses.
 * @module
 */
import { exists, writeFileAtomic } from "./files.ts";
import { csvLine, parseCsv } from "../util/csv.ts";

/** Columns of the per-epoch CSV log, in order. */
export const EPOCH_COLUMNS = [
  "epoch",
  "steps",
  "lr",
  "loss",
  "loss_cls",
  "loss_loc",
  "train_img_s",
  "seconds",
  "val_map",
  "val_ap_face_mask",
  "val_ap_face",
] as const;

/** One row of the per-epoch log; `null` metrics mean "not evaluated this epoch". */
export type EpochLogRow = Record<typeof EPOCH_COLUMNS[number], number | null>;

function cell(v: number | null): string {
  if (v === null) return "";
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(6)).toString();
}

/** Formats a row as one CSV line (no newline). */
export function formatCsvRow(row: EpochLogRow): string {
  return csvLine(EPOCH_COLUMNS.map((c) => cell(row[c])));
}

/** Parses a log written by {@link EpochLog}; errors name the file and the line. */
export function parseEpochCsv(text: string, options: { source?: string } = {}): EpochLogRow[] {
  const src = options.source ?? "epoch log";
  const records = parseCsv(text, { source: src });
  if (records.length === 0) return [];
  const header = records[0];
  if (header.cells.join(",") !== EPOCH_COLUMNS.join(",")) {
    throw new Error(`${src}: line ${header.line}: unexpected header "${header.cells.join(",")}"`);
  }
  return records.slice(1).map(({ line, cells }) => {
    if (cells.length !== EPOCH_COLUMNS.length) {
      throw new Error(`${src}: line ${line}: ${cells.length} cells, expected ${EPOCH_COLUMNS.length}`);
    }
    const row = {} as EpochLogRow;
    EPOCH_COLUMNS.forEach((c, k) => {
      const v = cells[k] === "" ? null : Number(cells[k]);
      if (v !== null && Number.isNaN(v) && cells[k] !== "NaN") {
        throw new Error(`${src}: line ${line}: column ${c} is not a number: "${cells[k]}"`);
      }
      row[c] = v;
    });
    return row;
  });
}

/** Reads a run's `train_log.csv` ({@link parseEpochCsv}); `[]` when the run has none yet. */
export async function readEpochLog(path: string): Promise<EpochLogRow[]> {
  if (!(await exists(path))) return [];
  return parseEpochCsv(await Deno.readTextFile(path), { source: path });
}

/** The per-epoch CSV log of a run (`train_log.csv`); rewritten atomically on each append. */
export class EpochLog {
  readonly rows: EpochLogRow[] = [];
  /** Opens the log at `path`; call {@link EpochLog.load} to continue an existing one. */
  constructor(readonly path: string) {}

  /** Reads existing rows, keeping only epochs up to `upToEpoch` (rows after a checkpoint are redone on resume). */
  async load(options: { upToEpoch?: number } = {}): Promise<void> {
    this.rows.length = 0;
    if (!(await exists(this.path))) return;
    const rows = await readEpochLog(this.path);
    const limit = options.upToEpoch ?? Infinity;
    this.rows.push(...rows.filter((r) => (r.epoch ?? 0) <= limit));
    await this.#write();
  }

  /** Appends one row and writes the file. */
  async append(row: EpochLogRow): Promise<void> {
    this.rows.push(row);
    await this.#write();
  }

  async #write(): Promise<void> {
    const text = [csvLine(EPOCH_COLUMNS), ...this.rows.map(formatCsvRow)].join("\n") + "\n";
    await writeFileAtomic(this.path, text);
  }
}
