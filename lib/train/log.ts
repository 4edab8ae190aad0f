/**
 * What a run reports while it trains: the per-epoch CSV log, the text log, and a progress line (a redrawn bar on
 * a terminal, plain lines otherwise, so CI logs and notebooks stay readable).
 * @module
 */
import { exists, writeFileAtomic } from "../runs/files.ts";

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
  return EPOCH_COLUMNS.map((c) => cell(row[c])).join(",");
}

/** Parses a log written by {@link EpochLog}; errors name the file and the line. */
export function parseEpochCsv(text: string, options: { source?: string } = {}): EpochLogRow[] {
  const src = options.source ?? "epoch log";
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) return [];
  if (lines[0] !== EPOCH_COLUMNS.join(",")) throw new Error(`${src}: line 1: unexpected header "${lines[0]}"`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(",");
    if (cells.length !== EPOCH_COLUMNS.length) {
      throw new Error(`${src}: line ${i + 2}: ${cells.length} cells, expected ${EPOCH_COLUMNS.length}`);
    }
    const row = {} as EpochLogRow;
    EPOCH_COLUMNS.forEach((c, k) => {
      const v = cells[k] === "" ? null : Number(cells[k]);
      if (v !== null && Number.isNaN(v) && cells[k] !== "NaN") {
        throw new Error(`${src}: line ${i + 2}: column ${c} is not a number: "${cells[k]}"`);
      }
      row[c] = v;
    });
    return row;
  });
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
    const rows = parseEpochCsv(await Deno.readTextFile(this.path), { source: this.path });
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
    const text = [EPOCH_COLUMNS.join(","), ...this.rows.map(formatCsvRow)].join("\n") + "\n";
    await writeFileAtomic(this.path, text);
  }
}

/** Numbers shown by the progress line. */
export interface ProgressFields {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  cls: number;
  loc: number;
  lr: number;
  imgPerSec: number;
}

/** The progress line without the bar: `epoch 3/100 step 12/96 loss 4.2130 (cls ...) lr 1.00e-2 12.3 img/s`. */
export function formatProgress(f: ProgressFields): string {
  return `epoch ${f.epoch}/${f.epochs} step ${f.step}/${f.steps} loss ${f.loss.toFixed(4)} ` +
    `(cls ${f.cls.toFixed(4)} loc ${f.loc.toFixed(4)}) lr ${f.lr.toExponential(2)} ${f.imgPerSec.toFixed(1)} img/s`;
}

/** A text bar of `width` characters for `done` out of `total`. */
export function progressBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.min(width, Math.round(width * done / total)) : 0;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** Redraw one line in place; default: whether stdout is a terminal. */
  tty?: boolean;
  /** Where text goes; default stdout. */
  write?: (text: string) => void;
  /** Plain mode: at most one line per this many milliseconds (the last step of an epoch always prints). */
  intervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** Progress display of the trainer. */
export class Progress {
  readonly #tty: boolean;
  readonly #write: (text: string) => void;
  readonly #interval: number;
  readonly #now: () => number;
  #last = -Infinity;
  #open = false;

  /** Creates the display; see {@link ProgressOptions}. */
  constructor(options: ProgressOptions = {}) {
    this.#tty = options.tty ?? Deno.stdout.isTerminal();
    const encoder = new TextEncoder();
    this.#write = options.write ?? ((t) => Deno.stdout.writeSync(encoder.encode(t)));
    this.#interval = options.intervalMs ?? 10_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Shows the state after a step. */
  update(f: ProgressFields): void {
    const text = formatProgress(f);
    if (this.#tty) {
      this.#write(`\r\x1b[2K${progressBar(f.step, f.steps)} ${text}`);
      this.#open = true;
      return;
    }
    const t = this.#now();
    if (f.step === f.steps || t - this.#last >= this.#interval) {
      this.#last = t;
      this.#write(text + "\n");
    }
  }

  /** Prints a message on its own line (ends a redrawn bar first). */
  line(text: string): void {
    if (this.#open) this.#write("\n");
    this.#open = false;
    this.#write(text + "\n");
  }
}
