/**
 * What a run shows while it trains: a progress bar with rate and ETA (redrawn in place on a terminal; elsewhere one
 * plain line every 30 s, so CI logs, `nohup` files and notebooks stay readable). The bar goes to stdout only, never
 * into train.log.
 * @module
 */
/** Numbers shown by the progress line of a training step. */
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

/** A duration for a person: `45s`, `1m02s`, `1h05m`, `2d03h`; `--` when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}

/** A text bar of `width` characters for `done` out of `total`. */
export function progressBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.max(0, Math.min(width, Math.round(width * done / total))) : 0;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** Seconds still to go: of this epoch, and of the whole run (from the current rate; `null` while unknown). */
export interface Eta {
  epoch: number | null;
  run: number | null;
}

/**
 * The line of a training step: `epoch 3/100 [#####.....] 48/96 steps 13.2 img/s ETA 1m02s (run 2h10m) loss 4.2130
 * (cls 2.1000 loc 2.1130) lr 1.00e-2`.
 */
export function formatProgress(f: ProgressFields, eta: Eta = { epoch: null, run: null }): string {
  const run = eta.run !== null && f.epoch < f.epochs ? ` (run ${formatDuration(eta.run)})` : "";
  return `epoch ${f.epoch}/${f.epochs} ${progressBar(f.step, f.steps, 10)} ${f.step}/${f.steps} steps ` +
    `${f.imgPerSec.toFixed(1)} img/s ETA ${formatDuration(eta.epoch)}${run} loss ${f.loss.toFixed(4)} ` +
    `(cls ${f.cls.toFixed(4)} loc ${f.loc.toFixed(4)}) lr ${f.lr.toExponential(2)}`;
}

/** The line of a counted task: `evaluating val [####......] 320/930 images 45.1 images/s ETA 13s`. */
export function formatTaskProgress(
  label: string,
  done: number,
  total: number,
  unit: string,
  perSecond: number | null,
  eta: number | null,
): string {
  const rate = perSecond === null ? "" : ` ${perSecond.toFixed(1)} ${unit}/s`;
  return `${label} ${progressBar(done, total, 10)} ${done}/${total} ${unit}${rate} ETA ${formatDuration(eta)}`;
}

/** Seconds between plain progress lines: `FACEMASK_PROGRESS_SECONDS` when it is a number >= 0, else 30. */
export function plainIntervalSeconds(env: (name: string) => string | undefined = envValue): number {
  const text = env("FACEMASK_PROGRESS_SECONDS");
  const n = text === undefined || text.trim() === "" ? NaN : Number(text);
  return Number.isFinite(n) && n >= 0 ? n : 30;
}

function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: the default
  }
}

function terminalColumns(): number | null {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return null;
  }
}

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** Redraw one line in place; default: whether stdout is a terminal. */
  tty?: boolean;
  /** Where text goes; default stdout. */
  write?: (text: string) => void;
  /**
   * Plain mode (not a terminal): at most one progress line per this many milliseconds; default
   * {@link plainIntervalSeconds} (30 s, or `FACEMASK_PROGRESS_SECONDS`). The epoch summaries print regardless.
   */
  intervalMs?: number;
  /** Terminal mode: lines are cut to this width so that `\r` can redraw them; default the terminal's width. */
  columns?: number | null;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/**
 * Progress display of long work: training steps ({@link Progress.update}), counted tasks such as an evaluation
 * ({@link Progress.task}, whose callback fits lib/evaluation's `onProgress`), and messages between them
 * ({@link Progress.line}). On a terminal the bar is redrawn in place with `\r`; otherwise it is one plain line per
 * interval.
 */
export class Progress {
  readonly #tty: boolean;
  readonly #write: (text: string) => void;
  readonly #interval: number;
  readonly #columns: number | null;
  readonly #now: () => number;
  #last = -Infinity;
  #open = false;
  /** Rate of the current epoch: where it was first seen (epoch, time, step), and the last step seen. */
  #epoch: { epoch: number; t0: number; s0: number; step: number } | null = null;
  /** Milliseconds per step of the latest epoch with a measured rate (the estimate until this one has its own). */
  #msPerStep: number | null = null;

  /** Creates the display; see {@link ProgressOptions}. */
  constructor(options: ProgressOptions = {}) {
    this.#tty = options.tty ?? Deno.stdout.isTerminal();
    const encoder = new TextEncoder();
    this.#write = options.write ?? ((t) => Deno.stdout.writeSync(encoder.encode(t)));
    this.#interval = options.intervalMs ?? plainIntervalSeconds() * 1000;
    this.#columns = options.columns !== undefined ? options.columns : (this.#tty ? terminalColumns() : null);
    this.#now = options.now ?? (() => performance.now());
  }

  /** Shows the state after a training step. */
  update(f: ProgressFields): void {
    const t = this.#now();
    const e = this.#epoch;
    if (!e || e.epoch !== f.epoch || f.step < e.step) this.#epoch = { epoch: f.epoch, t0: t, s0: f.step, step: f.step };
    else if (f.step > e.step) {
      // Measured when a step completes: the updates between (one per micro-batch) would count a step's time twice.
      e.step = f.step;
      if (t > e.t0) this.#msPerStep = (t - e.t0) / (f.step - e.s0);
    }
    const ms = this.#msPerStep;
    const left = Math.max(0, f.steps - f.step);
    const eta: Eta = ms === null ? { epoch: null, run: null } : {
      epoch: (left * ms) / 1000,
      run: ((left + Math.max(0, f.epochs - f.epoch) * f.steps) * ms) / 1000,
    };
    this.#show(formatProgress(f, eta), t);
  }

  /**
   * A progress callback for a counted task (`onProgress(done, total)`), e.g. `progress.task("evaluating val")`
   * for lib/evaluation's `evaluateModel`. Rate and ETA are measured from this call on.
   */
  task(label: string, unit = "images"): (done: number, total: number) => void {
    const t0 = this.#now();
    return (done, total) => {
      const t = this.#now();
      const perSecond = t > t0 && done > 0 ? (done * 1000) / (t - t0) : null;
      const eta = perSecond === null ? null : Math.max(0, total - done) / perSecond;
      this.#show(formatTaskProgress(label, done, total, unit, perSecond, eta), t);
    };
  }

  /** Prints a message on its own line (ends a redrawn bar first). */
  line(text: string): void {
    if (this.#open) this.#write("\n");
    this.#open = false;
    this.#write(text + "\n");
  }

  #show(text: string, t: number): void {
    if (this.#tty) {
      const cut = this.#columns && text.length >= this.#columns ? text.slice(0, Math.max(1, this.#columns - 1)) : text;
      this.#write(`\r\x1b[2K${cut}`);
      this.#open = true;
      return;
    }
    if (t - this.#last >= this.#interval) {
      this.#last = t;
      this.#write(text + "\n");
    }
  }
}
