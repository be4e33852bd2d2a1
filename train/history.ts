/**
 * What `fit` returns: Keras's `History`. `history.epoch` lists the epochs run, from 0; `history.history`
 * holds one array per log name, one number per epoch: `loss`, each metric (`accuracy`, `mae`...), their
 * validation twins (`val_loss`, `val_accuracy`...), `learning_rate` (the rate of the epoch's first step),
 * `seconds` and `samples_per_sec`. A resumed run's history includes the epochs before the checkpoint.
 *
 * metrics.csv and metrics.jsonl are this object row by row: `epoch` (from 0, as Keras's CSVLogger writes
 * it), then the log names in the order `fit` first recorded them.
 */

/** Log name → value, as the callbacks receive them. */
export type Logs = Record<string, number>;

/** A history as JSON (checkpoints keep it, a sweep's runs are saved as it). */
export interface HistoryJson {
  /** The epochs run, from 0 (`History.epoch`). */
  epoch: number[];
  /** One array per log name, one number per epoch (`History.history`). */
  history: Record<string, number[]>;
}

/** What `fit` returns (see the top of train/history.ts): the epochs run and one array per log name. */
export class History {
  /** The epochs run, from 0. */
  readonly epoch: number[] = [];
  /** One array per log name (`loss`, `val_accuracy`, ...), one number per epoch. */
  readonly history: Record<string, number[]> = {};
  /** Why training ended before its last epoch (early stopping, a NaN loss, an interrupt). */
  stopReason?: string;
  /** True when the run diverged (TerminateOnNaN's rule: a non-finite loss, or one far above where it started). */
  diverged = false;
  /** True when `signal` was aborted mid-run. */
  interrupted = false;

  /** Epochs recorded. */
  get length(): number {
    return this.epoch.length;
  }

  /** Appends one epoch's logs. A name first seen late is padded with NaN for the earlier epochs. */
  record(epoch: number, logs: Logs): void {
    const n = this.epoch.length;
    for (const [name, value] of Object.entries(logs)) {
      const column = (this.history[name] ??= new Array<number>(n).fill(NaN));
      column.push(value);
    }
    this.epoch.push(epoch);
    for (const column of Object.values(this.history)) if (column.length === n) column.push(NaN);
  }

  /** The logs of the i-th recorded epoch (from 0), names in column order. */
  logs(i: number): Logs {
    const out: Logs = {};
    for (const [name, column] of Object.entries(this.history)) out[name] = column[i];
    return out;
  }

  /** The last epoch's logs, or undefined before the first. */
  last(): Logs | undefined {
    return this.length === 0 ? undefined : this.logs(this.length - 1);
  }

  /** Every epoch as `{ epoch, ...logs }`: the rows of metrics.csv and metrics.jsonl. */
  rows(): Array<Logs & {
    /** The epoch, from 0 (metrics.csv's first column, as Keras's CSVLogger writes it). */
    epoch: number;
  }> {
    return this.epoch.map((epoch, i) => ({ epoch, ...this.logs(i) }));
  }

  /** `{ epoch, history }`, for `JSON.stringify` and checkpoints. */
  toJSON(): HistoryJson {
    return { epoch: this.epoch.slice(), history: Object.fromEntries(Object.entries(this.history).map(([k, v]) => [k, v.slice()])) };
  }

  /** From `toJSON()`'s form, or from format 1's list of rows (see `fromRowsV1`). */
  static fromJSON(json: HistoryJson | readonly V1Row[]): History {
    if (Array.isArray(json)) return History.fromRowsV1(json as readonly V1Row[]);
    const h = new History();
    const { epoch, history } = json as HistoryJson;
    h.epoch.push(...epoch);
    for (const [name, column] of Object.entries(history)) h.history[name] = column.slice();
    return h;
  }

  /**
   * Format 1 (checkpoints before version 2, sweep files) kept a list of rows with camelCase names and
   * epochs counted from 1: `{ epoch: 1, loss, accuracy, valLoss, valAccuracy, lr, seconds, samplesPerSec }`.
   */
  static fromRowsV1(rows: readonly V1Row[]): History {
    const h = new History();
    for (const row of rows) {
      const logs: Logs = {};
      for (const [key, value] of Object.entries(row)) if (key !== 'epoch' && value !== undefined) logs[V1_NAMES[key] ?? key] = value;
      h.record(row.epoch - 1, logs);
    }
    return h;
  }
}

/** A row of format 1's history. */
export interface V1Row {
  epoch: number;
  [name: string]: number | undefined;
}

const V1_NAMES: Record<string, string> = {
  valLoss: 'val_loss',
  valAccuracy: 'val_accuracy',
  lr: 'learning_rate',
  samplesPerSec: 'samples_per_sec',
};
