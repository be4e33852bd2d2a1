/**
 * Callbacks in the manner of Keras (`keras.callbacks`): small objects with hooks that `fit` calls at the
 * start and end of training, of each epoch and of each batch. Training itself stays one readable loop in
 * fit.ts; everything optional (stopping early, checkpoints, logs, the progress bar) lives here.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Tensor } from '../engine/index.js';
import type { History, Logs } from './history.js';
import { writeFileAtomic } from './safetensors.js';
import type { Callback, Model, ScheduleLike, StateDict, TrainContext } from './types.js';

/** The state dictionary as entries, whether the model returns a Map or a plain object. */
export function stateEntries(state: StateDict): Array<[string, Tensor]> {
  return state instanceof Map ? [...state.entries()] : Object.entries(state);
}

/** A deep copy of the model's weights (the tensors' data is copied, not shared). */
export function cloneWeights(model: Model): Map<string, Tensor> {
  const copy = new Map<string, Tensor>();
  for (const [name, t] of stateEntries(model.stateDict())) copy.set(name, Tensor.from(t.data.slice(), { shape: t.shape }));
  return copy;
}

/** True when every parameter value is finite: a diverged model must never be saved. */
export function weightsAreFinite(model: Model): boolean {
  for (const p of model.parameters()) {
    const d = p.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  }
  return true;
}

/**
 * The monitored value: any log name (`val_loss`, `val_accuracy`, `loss`, `val_mae`...). Without a
 * validation set a `val_` name falls back to its training twin, so `--early-stopping` works with
 * `--val-split 0` too (Keras warns and skips instead).
 */
function monitored(logs: Logs, monitor: string): number | undefined {
  const v = logs[monitor];
  if (v !== undefined) return v;
  return monitor.startsWith('val_') ? logs[monitor.slice(4)] : undefined;
}

/** Keras's `mode='auto'`: accuracies should go up, losses and errors down. */
function isBetter(monitor: string, value: number, best: number, minDelta: number): boolean {
  return monitor.includes('acc') ? value > best + minDelta : value < best - minDelta;
}

/** Options of `EarlyStopping` (Keras's names, in camelCase). */
export interface EarlyStoppingOptions {
  /** A log name (default 'val_loss', Keras's). */
  monitor?: string;
  /** Epochs without improvement to wait before stopping. */
  patience?: number;
  /** An improvement smaller than this does not count (Keras's `min_delta`). */
  minDelta?: number;
  /** At the end, put back the weights of the best epoch (Keras's `restore_best_weights`). */
  restoreBestWeights?: boolean;
}

/**
 * Stops training once the monitored metric has not improved for `patience` epochs. Its messages count
 * epochs from 1, as the per-epoch lines do; its state keeps Keras's 0-based `bestEpoch`.
 */
export class EarlyStopping implements Callback {
  readonly name = 'earlyStopping';
  readonly monitor: string;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  private best = NaN;
  private bestEpoch = 0;
  private wait = 0;
  private bestWeights: Map<string, Tensor> | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? 'val_loss';
    this.patience = options.patience ?? 0;
    this.minDelta = Math.abs(options.minDelta ?? 0);
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    if (!(Number.isInteger(this.patience) && this.patience >= 0)) {
      throw new RangeError(`EarlyStopping: patience must be a non-negative integer, got ${options.patience}`);
    }
  }

  onEpochEnd(epoch: number, logs: Logs, ctx: TrainContext): void {
    const value = monitored(logs, this.monitor);
    if (value === undefined || !Number.isFinite(value)) return;
    if (Number.isNaN(this.best) || isBetter(this.monitor, value, this.best, this.minDelta)) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = cloneWeights(ctx.model);
      return;
    }
    this.wait++;
    if (this.wait > this.patience) {
      ctx.stopTraining = true;
      ctx.stopReason = `early stopping at epoch ${epoch + 1}: ${this.monitor} has not improved for ${this.wait} epochs (best ${this.best.toFixed(4)} at epoch ${this.bestEpoch + 1})`;
    }
  }

  onTrainEnd(_logs: Logs, ctx: TrainContext): void {
    // Only after a real early stop: an interrupted run must keep its latest weights for --resume.
    if (this.restoreBestWeights && this.bestWeights && ctx.stopTraining && !ctx.interrupted) {
      ctx.model.loadStateDict(this.bestWeights);
    }
  }

  getState(): unknown {
    return { best: Number.isNaN(this.best) ? null : this.best, bestEpoch: this.bestEpoch, wait: this.wait };
  }

  setState(state: unknown): void {
    const s = state as { best: number | null; bestEpoch: number; wait: number };
    this.best = s.best ?? NaN;
    this.bestEpoch = s.bestEpoch;
    this.wait = s.wait;
  }
}

/** Options of `ModelCheckpoint`. */
export interface ModelCheckpointOptions {
  /** The folder receiving `best.safetensors` and `last.safetensors`. */
  dir: string;
  /** A log name (default 'val_loss'). */
  monitor?: string;
  /** Write `best.safetensors` when the monitored value improves (default true). */
  saveBest?: boolean;
  /** Write `last.safetensors` after every epoch (default true). */
  saveLast?: boolean;
}

/**
 * Writes `last.safetensors` after every epoch (and when training is interrupted) and `best.safetensors`
 * whenever the monitored metric improves. Never writes a diverged model: an epoch whose loss or
 * weights are not finite is skipped, so the files on disk are always the last good state.
 */
export class ModelCheckpoint implements Callback {
  readonly name = 'modelCheckpoint';
  readonly dir: string;
  readonly monitor: string;
  readonly saveBest: boolean;
  readonly saveLast: boolean;
  private best = NaN;

  constructor(options: ModelCheckpointOptions) {
    this.dir = options.dir;
    this.monitor = options.monitor ?? 'val_loss';
    this.saveBest = options.saveBest ?? true;
    this.saveLast = options.saveLast ?? true;
  }

  /** `<dir>/best.safetensors`. */
  get bestPath(): string {
    return join(this.dir, 'best.safetensors');
  }

  /** `<dir>/last.safetensors`. */
  get lastPath(): string {
    return join(this.dir, 'last.safetensors');
  }

  onTrainBegin(): void {
    mkdirSync(this.dir, { recursive: true });
  }

  onEpochEnd(_epoch: number, logs: Logs, ctx: TrainContext): void {
    const value = monitored(logs, this.monitor);
    if (!Number.isFinite(logs.loss) || value === undefined || !Number.isFinite(value) || !weightsAreFinite(ctx.model)) {
      return;
    }
    if (this.saveBest && (Number.isNaN(this.best) || isBetter(this.monitor, value, this.best, 0))) {
      this.best = value;
      ctx.saveCheckpoint(this.bestPath);
    }
    if (this.saveLast) ctx.saveCheckpoint(this.lastPath);
  }

  onTrainEnd(_logs: Logs, ctx: TrainContext): void {
    // An interrupt lands mid-epoch; save where the run stands so that --resume finishes that epoch.
    if (ctx.interrupted && this.saveLast && weightsAreFinite(ctx.model)) ctx.saveCheckpoint(this.lastPath);
  }

  getState(): unknown {
    return { best: Number.isNaN(this.best) ? null : this.best };
  }

  setState(state: unknown): void {
    this.best = (state as { best: number | null }).best ?? NaN;
  }
}

function formatCell(v: number | undefined): string {
  return v === undefined ? '' : String(v);
}

/** The rows of metrics.csv: `epoch` (from 0, as Keras's CSVLogger), then every log name. */
export function metricsCsv(history: History): string {
  const columns = ['epoch', ...Object.keys(history.history)];
  const lines = [columns.join(',')];
  for (const row of history.rows()) lines.push(columns.map((k) => formatCell(row[k])).join(','));
  return `${lines.join('\n')}\n`;
}

/**
 * metrics.csv, one row an epoch. The whole file is rewritten from the history each epoch (it is tiny),
 * so a resumed run, whose history comes back from the checkpoint, never duplicates or loses rows.
 */
export class CsvLogger implements Callback {
  constructor(readonly path: string) {}

  onEpochEnd(_epoch: number, _logs: Logs, ctx: TrainContext): void {
    writeFileAtomic(this.path, metricsCsv(ctx.history));
  }
}

/** metrics.jsonl, one JSON object an epoch, `{ epoch, loss, ... }` (rewritten whole, like the CSV). */
export class JsonlLogger implements Callback {
  constructor(readonly path: string) {}

  onEpochEnd(_epoch: number, _logs: Logs, ctx: TrainContext): void {
    const lines = ctx.history.rows().map((row) => JSON.stringify(row));
    writeFileAtomic(this.path, `${lines.join('\n')}\n`);
  }
}

/** `0.0712` for metrics, `1.00e-4` for tiny rates. */
function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined) return '-';
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(2);
  return v.toFixed(digits);
}

/** Log names the epoch line prints apart (or not at all). */
const NOT_METRICS = new Set(['loss', 'learning_rate', 'seconds', 'samples_per_sec', 'batch', 'size']);
const short = (name: string): string => name.replace('accuracy', 'acc');

/**
 * The one line printed per epoch when stdout is not a terminal (and under the bar when it is), e.g.
 * `epoch  3/10  loss 0.0712  acc 0.9781  val_loss 0.0830  val_acc 0.9752  lr 0.05  4.1s  13160 samples/s`.
 * `epoch` counts from 0; the line counts from 1, as people do.
 */
export function epochLine(epoch: number, logs: Logs, epochs: number): string {
  const parts = [`epoch ${String(epoch + 1).padStart(String(epochs).length)}/${epochs}`, `loss ${fmt(logs.loss)}`];
  const names = Object.keys(logs).filter((k) => !NOT_METRICS.has(k));
  for (const name of names.filter((k) => !k.startsWith('val_'))) parts.push(`${short(name)} ${fmt(logs[name])}`);
  for (const name of names.filter((k) => k.startsWith('val_'))) parts.push(`${short(name)} ${fmt(logs[name])}`);
  if (logs.learning_rate !== undefined) parts.push(`lr ${fmt(logs.learning_rate, 5).replace(/0+$/, '').replace(/\.$/, '')}`);
  if (logs.seconds !== undefined) parts.push(`${logs.seconds.toFixed(1)}s`);
  if (logs.samples_per_sec !== undefined) parts.push(`${Math.round(logs.samples_per_sec)} samples/s`);
  return parts.join('  ');
}

/** Options of `ProgressBar`. */
export interface ProgressBarOptions {
  /** Draw a live bar (stdout is a terminal); otherwise print one line per epoch. */
  tty?: boolean;
  /** Where the per-epoch lines go (default: stdout). */
  write?: (line: string) => void;
}

/**
 * A live bar per epoch (cli-progress) with the running loss, accuracy, samples/s and the ETA when stdout
 * is a terminal; one plain line per epoch otherwise, so logs and CI output stay readable. The running
 * means are the batches' own logs averaged over the epoch so far (weighted by batch size).
 */
export class ProgressBar implements Callback {
  private readonly tty: boolean;
  private readonly write: (line: string) => void;
  private bar: SingleBar | null = null;
  private lossSum = 0;
  private accuracySum = 0;
  private seen = 0;
  private started = 0;

  constructor(options: ProgressBarOptions = {}) {
    this.tty = options.tty ?? Boolean(process.stdout.isTTY);
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
  }

  onEpochBegin(epoch: number, _logs: Logs, ctx: TrainContext): void {
    this.lossSum = 0;
    this.accuracySum = 0;
    this.seen = 0;
    this.started = performance.now();
    if (!this.tty) return;
    this.bar = new SingleBar({
      format: `epoch ${epoch + 1}/${ctx.epochs} [{bar}] {percentage}% | loss {loss} | acc {acc} | {sps} samples/s | ETA {eta_formatted}`,
      barsize: 24,
      hideCursor: true,
      // The bar gives way to the epoch's summary line, so a finished run reads one line per epoch.
      clearOnComplete: true,
      stream: process.stdout,
      etaBuffer: 50,
    });
    this.bar.start(ctx.stepsPerEpoch, 0, { loss: '-', acc: '-', sps: '-' });
  }

  onBatchEnd(batch: number, logs: Logs): void {
    this.lossSum += logs.loss * logs.size;
    this.accuracySum += (logs.accuracy ?? NaN) * logs.size;
    this.seen += logs.size;
    const seconds = Math.max((performance.now() - this.started) / 1000, 1e-9);
    this.bar?.update(batch + 1, {
      loss: fmt(this.lossSum / this.seen),
      acc: logs.accuracy === undefined ? '-' : fmt(this.accuracySum / this.seen),
      sps: Math.round(this.seen / seconds),
    });
  }

  onEpochEnd(epoch: number, logs: Logs, ctx: TrainContext): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
    this.write(epochLine(epoch, logs, ctx.epochs));
  }

  onTrainEnd(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
  }
}

/**
 * Keras's `LearningRateScheduler`: sets the optimizer's rate from the schedule, on what the schedule says
 * steps it (`stepsOn`): 'epoch' (the default) at the start of each epoch, counted from 0; 'batch'
 * (OneCycle) before each step, at the batch's index over the whole run; 'metric' (ReduceOnPlateau) at
 * each epoch's end, fed the validation loss (or the training loss, without a validation set).
 */
export class LearningRateScheduler implements Callback {
  readonly stepsOn: 'epoch' | 'batch' | 'metric';

  constructor(readonly schedule: ScheduleLike) {
    this.stepsOn = schedule.stepsOn ?? 'epoch';
  }

  onEpochBegin(epoch: number): void {
    if (this.stepsOn === 'epoch') this.schedule.step(epoch);
  }

  onBatchBegin(batch: number, _logs: Logs, ctx: TrainContext): void {
    if (this.stepsOn === 'batch') this.schedule.step(ctx.epoch * ctx.stepsPerEpoch + batch);
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    if (this.stepsOn === 'metric') this.schedule.step(epoch, logs.val_loss ?? logs.loss);
  }
}

/**
 * Keras's `TerminateOnNaN`: stops training at the first batch whose loss is NaN or infinite, with a
 * message naming the epoch and the batch (from 1). That batch's gradients never reach the weights
 * (trainStep skips a non-finite loss), so the model stays at its last finite state. `fit` installs one
 * unless told not to.
 */
export class TerminateOnNaN implements Callback {
  onBatchEnd(batch: number, logs: Logs, ctx: TrainContext): void {
    if (Number.isFinite(logs.loss)) return;
    ctx.stopTraining = true;
    ctx.stopReason = `loss is ${logs.loss} at epoch ${ctx.epoch + 1}, batch ${batch + 1}: training stopped (try a lower learning rate)`;
  }
}
