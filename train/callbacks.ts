/**
 * Callbacks in the manner of Keras (`keras.callbacks`): small objects with hooks that `fit` calls at the
 * start and end of training, of each epoch and of each batch. Training itself stays one readable loop in
 * fit.ts; everything optional (stopping early, checkpoints, logs, the progress bar) lives here.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Tensor } from '../engine/index.js';
import { METRIC_COLUMNS, type EpochLogs } from './history.js';
import { writeFileAtomic } from './safetensors.js';
import type { BatchLogs, Callback, Model, ScheduleLike, StateDict, TrainContext } from './types.js';

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

type Monitor = 'valLoss' | 'valAccuracy' | 'loss' | 'accuracy';

/** The monitored value, falling back to the training metric when there is no validation set. */
function monitored(logs: EpochLogs, monitor: Monitor): number | undefined {
  const v = logs[monitor];
  if (v !== undefined) return v;
  if (monitor === 'valLoss') return logs.loss;
  if (monitor === 'valAccuracy') return logs.accuracy;
  return undefined;
}

/** Keras's `mode='auto'`: accuracies should go up, losses down. */
function isBetter(monitor: Monitor, value: number, best: number, minDelta: number): boolean {
  return monitor.toLowerCase().includes('acc') ? value > best + minDelta : value < best - minDelta;
}

export interface EarlyStoppingOptions {
  monitor?: Monitor;
  /** Epochs without improvement to wait before stopping. */
  patience?: number;
  /** An improvement smaller than this does not count (Keras's `min_delta`). */
  minDelta?: number;
  /** At the end, put back the weights of the best epoch (Keras's `restore_best_weights`). */
  restoreBestWeights?: boolean;
}

/** Stops training once the monitored metric has not improved for `patience` epochs. */
export class EarlyStopping implements Callback {
  readonly name = 'earlyStopping';
  readonly monitor: Monitor;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  private best = NaN;
  private bestEpoch = 0;
  private wait = 0;
  private bestWeights: Map<string, Tensor> | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? 'valLoss';
    this.patience = options.patience ?? 0;
    this.minDelta = Math.abs(options.minDelta ?? 0);
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    if (!(Number.isInteger(this.patience) && this.patience >= 0)) {
      throw new RangeError(`EarlyStopping: patience must be a non-negative integer, got ${options.patience}`);
    }
  }

  onEpochEnd(logs: EpochLogs, ctx: TrainContext): void {
    const value = monitored(logs, this.monitor);
    if (value === undefined || !Number.isFinite(value)) return;
    if (Number.isNaN(this.best) || isBetter(this.monitor, value, this.best, this.minDelta)) {
      this.best = value;
      this.bestEpoch = logs.epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = cloneWeights(ctx.model);
      return;
    }
    this.wait++;
    if (this.wait > this.patience) {
      ctx.stopTraining = true;
      ctx.stopReason = `early stopping at epoch ${logs.epoch}: ${this.monitor} has not improved for ${this.wait} epochs (best ${this.best.toFixed(4)} at epoch ${this.bestEpoch})`;
    }
  }

  onTrainEnd(ctx: TrainContext): void {
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

export interface ModelCheckpointOptions {
  /** The folder receiving `best.safetensors` and `last.safetensors`. */
  dir: string;
  monitor?: Monitor;
  saveBest?: boolean;
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
  readonly monitor: Monitor;
  readonly saveBest: boolean;
  readonly saveLast: boolean;
  private best = NaN;

  constructor(options: ModelCheckpointOptions) {
    this.dir = options.dir;
    this.monitor = options.monitor ?? 'valLoss';
    this.saveBest = options.saveBest ?? true;
    this.saveLast = options.saveLast ?? true;
  }

  get bestPath(): string {
    return join(this.dir, 'best.safetensors');
  }

  get lastPath(): string {
    return join(this.dir, 'last.safetensors');
  }

  onTrainBegin(): void {
    mkdirSync(this.dir, { recursive: true });
  }

  onEpochEnd(logs: EpochLogs, ctx: TrainContext): void {
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

  onTrainEnd(ctx: TrainContext): void {
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

/**
 * metrics.csv, one row an epoch. The whole file is rewritten from the history each epoch (it is tiny),
 * so a resumed run, whose history comes back from the checkpoint, never duplicates or loses rows.
 */
export class CsvLogger implements Callback {
  constructor(readonly path: string) {}

  onEpochEnd(_logs: EpochLogs, ctx: TrainContext): void {
    const lines = [METRIC_COLUMNS.join(',')];
    for (const h of ctx.history) lines.push(METRIC_COLUMNS.map((k) => formatCell(h[k])).join(','));
    writeFileAtomic(this.path, `${lines.join('\n')}\n`);
  }
}

/** metrics.jsonl, one JSON object an epoch (rewritten whole, like the CSV). */
export class JsonlLogger implements Callback {
  constructor(readonly path: string) {}

  onEpochEnd(_logs: EpochLogs, ctx: TrainContext): void {
    const lines = ctx.history.map((h) => JSON.stringify(h));
    writeFileAtomic(this.path, `${lines.join('\n')}\n`);
  }
}

/** `0.0712` for metrics, `1.00e-4` for tiny rates. */
function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined) return '-';
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(2);
  return v.toFixed(digits);
}

/** The one line printed per epoch when stdout is not a terminal (and under the bar when it is). */
export function epochLine(logs: EpochLogs, epochs: number): string {
  const parts = [
    `epoch ${String(logs.epoch).padStart(String(epochs).length)}/${epochs}`,
    `loss ${fmt(logs.loss)}`,
    `acc ${fmt(logs.accuracy)}`,
  ];
  if (logs.valLoss !== undefined) parts.push(`val_loss ${fmt(logs.valLoss)}`);
  if (logs.valAccuracy !== undefined) parts.push(`val_acc ${fmt(logs.valAccuracy)}`);
  parts.push(`lr ${fmt(logs.lr, 5).replace(/0+$/, '').replace(/\.$/, '')}`);
  parts.push(`${logs.seconds.toFixed(1)}s`);
  parts.push(`${Math.round(logs.samplesPerSec)} samples/s`);
  return parts.join('  ');
}

export interface ProgressBarOptions {
  /** Draw a live bar (stdout is a terminal); otherwise print one line per epoch. */
  tty?: boolean;
  write?: (line: string) => void;
}

/**
 * A live bar per epoch (cli-progress) with the running loss, accuracy, samples/s and the ETA when stdout
 * is a terminal; one plain line per epoch otherwise, so logs and CI output stay readable.
 */
export class ProgressBar implements Callback {
  private readonly tty: boolean;
  private readonly write: (line: string) => void;
  private bar: SingleBar | null = null;

  constructor(options: ProgressBarOptions = {}) {
    this.tty = options.tty ?? Boolean(process.stdout.isTTY);
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
  }

  onEpochBegin(epoch: number, ctx: TrainContext): void {
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

  onBatchEnd(logs: BatchLogs): void {
    this.bar?.update(logs.batch + 1, {
      loss: fmt(logs.epochLoss),
      acc: fmt(logs.epochAccuracy),
      sps: Math.round(logs.samplesPerSec),
    });
  }

  onEpochEnd(logs: EpochLogs, ctx: TrainContext): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
    this.write(epochLine(logs, ctx.epochs));
  }

  onTrainEnd(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
  }
}

/** Schedules that move every batch rather than every epoch (OneCycle, in PyTorch's definition). */
export function isPerBatchSchedule(schedule: ScheduleLike): boolean {
  return (schedule as { perBatch?: boolean }).perBatch === true;
}

/** ReduceOnPlateau reads a metric at the end of each epoch instead of computing the rate from the epoch. */
export function isPlateauSchedule(schedule: ScheduleLike): boolean {
  const s = schedule as { type?: unknown; constructor?: { name?: string } };
  return s.type === 'ReduceOnPlateau' || s.constructor?.name === 'ReduceOnPlateau';
}

/**
 * Keras's `LearningRateScheduler`: sets the optimizer's rate from the schedule. Closed-form schedules
 * are evaluated at the start of each epoch (counted from 0); per-batch ones (OneCycle) before each
 * step, at the batch's index over the whole run; ReduceOnPlateau is fed the validation loss (or the
 * training loss, without a validation set) at each epoch's end.
 */
export class LearningRateScheduler implements Callback {
  readonly perBatch: boolean;
  readonly plateau: boolean;

  constructor(readonly schedule: ScheduleLike) {
    this.perBatch = isPerBatchSchedule(schedule);
    this.plateau = isPlateauSchedule(schedule);
  }

  onEpochBegin(epoch: number): void {
    if (!this.plateau && !this.perBatch) this.schedule.step(epoch);
  }

  onBatchBegin(epoch: number, batch: number, ctx: TrainContext): void {
    if (this.perBatch) this.schedule.step(epoch * ctx.stepsPerEpoch + batch);
  }

  onEpochEnd(logs: EpochLogs): void {
    if (this.plateau) this.schedule.step(logs.epoch, logs.valLoss ?? logs.loss);
  }
}

/**
 * Stops training at the first batch whose loss is NaN or infinite, before its gradients touch the
 * weights, with a message naming the epoch and the batch. `fit` installs one unless told not to.
 */
export class TerminateOnNaN implements Callback {
  onLoss(epoch: number, batch: number, loss: number, ctx: TrainContext): void {
    if (Number.isFinite(loss)) return;
    ctx.stopTraining = true;
    ctx.stopReason = `loss is ${loss} at epoch ${epoch + 1}, batch ${batch + 1}: training stopped (try a lower learning rate)`;
  }
}
