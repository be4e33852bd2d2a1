/**
 * The training loop: for each epoch, for each shuffled batch — forward, cross-entropy, backward, step —
 * then validation, the epoch's metrics and the callbacks. Everything optional lives in callbacks.ts.
 *
 * The loop is `async` only so that it can yield to the event loop between batches: that is what lets a
 * Ctrl-C (SIGINT, delivered as an event) stop training after the current batch rather than never.
 *
 * Exact resume. A checkpoint records the epoch and the batch within it, the optimizer's and the
 * schedule's state, the history, the callbacks' state, the loader's seed and every generator's state
 * (the model's dropout masks, and any others named in `rngs`). The loader's order and shifts are pure
 * functions of (seed, epoch, batch) (data/loader.ts), so resuming even in the middle of an epoch picks up
 * at the next batch of the same order. Same seed, same thread count → the same weights, bit for bit, as a
 * run that was never stopped.
 */
import { Tensor, noGrad, type Rng } from '../engine/index.js';
import { DataLoader, type Batch, type Dataset } from '../data/index.js';
import { LearningRateScheduler, TerminateOnNaN } from './callbacks.js';
import type { EpochLogs, History } from './history.js';
import { saveCheckpoint, type CheckpointInfo, type Progress } from './save.js';
import type { BatchLogs, Callback, Model, OptimizerLike, ScheduleLike, TrainContext } from './types.js';

export interface FitOptions {
  train: Dataset;
  validation?: Dataset;
  /** Train until this many epochs are done in total (Keras's `epochs`, counting `initialEpoch`). */
  epochs: number;
  batchSize?: number;
  optimizer: OptimizerLike;
  schedule?: ScheduleLike;
  callbacks?: Callback[];
  /** Draws the loader's seed (shuffle order and augmentation); alternatively give `seed`. */
  rng?: Rng;
  /** The loader's seed (default 1, or drawn from `rng`). */
  seed?: number;
  /**
   * Other generators to save in checkpoints, by name. The model's own (Dropout layers, through
   * `rngState()`) are saved without being listed.
   */
  rngs?: Record<string, Rng>;
  /** The epoch to start at, from 0 (Keras's `initial_epoch`); `resume` sets it from the checkpoint. */
  initialEpoch?: number;
  /** The `progress` of a loaded checkpoint: continue exactly where it stopped. */
  resume?: Progress;
  /** Random shifts of up to 2 pixels for 28×28 images (data/'s augmentation). */
  augment?: boolean;
  /** Aborting it (the CLI does on SIGINT) stops training after the current batch. */
  signal?: AbortSignal;
  /** Stop at the first non-finite loss (default true). */
  terminateOnNaN?: boolean;
  /** Architecture and hyper-parameters, stored in every checkpoint so `load` can rebuild the model. */
  checkpointInfo?: CheckpointInfo;
}

export interface FitResult {
  history: History;
  /** Why training ended before `epochs` (early stopping, a NaN loss, an interrupt). */
  stopReason?: string;
  /** True when the loss became NaN or infinite. */
  diverged: boolean;
  /** True when `signal` was aborted mid-run. */
  interrupted: boolean;
}

/**
 * The model's output before a final softmax, if it ends in one: a `Softmax` layer, or a Dense layer with
 * `activation: 'softmax'` (both Keras habits). Cross-entropy is fused with its own log-softmax (stable,
 * gradient `p − onehot`); feeding it probabilities would apply softmax twice, so for such a model the
 * loss is taken on the softmax's input (DESIGN.md, Semantics). Other models go through `forward`.
 */
export function logitsOf(model: Model, x: Tensor): Tensor {
  // layers/'s Sequential knows this itself; the fallback serves any other model with `layers`.
  const own = (model as { forwardLogits?: (x: Tensor) => Tensor }).forwardLogits;
  if (typeof own === 'function') return own.call(model, x);
  const layers = model.layers as ReadonlyArray<{ forward(x: Tensor): Tensor; type?: string; activation?: string; forwardLinear?(x: Tensor): Tensor }> | undefined;
  if (!layers || layers.length === 0) return model.forward(x);
  const last = layers[layers.length - 1];
  const softmaxLayer = last.type === 'Softmax' || last.constructor.name === 'Softmax';
  const softmaxDense = last.activation === 'softmax' && typeof last.forwardLinear === 'function';
  if (!softmaxLayer && !softmaxDense) return model.forward(x);
  let h = x;
  for (let i = 0; i < layers.length - 1; i++) h = layers[i].forward(h);
  return softmaxDense ? last.forwardLinear!(h) : h;
}

/** Regularization penalties (l1/l2 on kernels) the model's layers report, as one scalar tensor or null. */
function penaltyOf(model: Model): Tensor | null {
  const m = model as { regularizationLoss?: () => Tensor | null; penalty?: () => Tensor | null };
  if (typeof m.regularizationLoss === 'function') return m.regularizationLoss();
  if (typeof m.penalty === 'function') return m.penalty();
  return null;
}

/** Weight constraints (max-norm) are projections applied after each optimizer step, as in Keras. */
function applyConstraints(model: Model): void {
  const m = model as { applyConstraints?: () => void };
  if (typeof m.applyConstraints === 'function') m.applyConstraints();
}

/** How many rows of `logits` (B,C) have their largest value at the label. */
export function countCorrect(logits: Tensor, labels: Int32Array): number {
  const [B, C] = logits.shape;
  const z = logits.data;
  let correct = 0;
  for (let b = 0; b < B; b++) {
    const row = b * C;
    let best = 0;
    for (let c = 1; c < C; c++) if (z[row + c] > z[row + best]) best = c;
    if (best === labels[b]) correct++;
  }
  return correct;
}

export interface EvaluateResult {
  loss: number;
  accuracy: number;
  count: number;
}

/** Mean cross-entropy and accuracy over a whole data set, in eval mode (no dropout, no tape). */
export function evaluate(model: Model, data: Dataset, options: { batchSize?: number } = {}): EvaluateResult {
  const loader = new DataLoader(data, { batchSize: options.batchSize ?? 1000, shuffle: false });
  model.eval();
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  noGrad(() => {
    for (const batch of loader.epochBatches(0)) {
      const logits = logitsOf(model, batch.x);
      lossSum += Tensor.crossEntropy(logits, batch.y).item() * batch.size;
      correct += countCorrect(logits, batch.y);
      count += batch.size;
    }
  });
  return { loss: count ? lossSum / count : NaN, accuracy: count ? correct / count : NaN, count };
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The model's generators (Dropout layers), if it exposes them as layers/ does. */
function modelRngState(model: Model): Record<string, number[]> {
  const m = model as { rngState?: () => Record<string, number[]> };
  return typeof m.rngState === 'function' ? m.rngState() : {};
}

function loadModelRngState(model: Model, state: Record<string, number[]>): void {
  const m = model as { loadRngState?: (s: Record<string, number[]>) => void };
  if (typeof m.loadRngState === 'function') m.loadRngState(state);
}

/** Trains `model`; returns the per-epoch history (also kept, for resume, in every checkpoint). */
export async function fit(model: Model, options: FitOptions): Promise<FitResult> {
  const { train, validation, optimizer, schedule, signal } = options;
  const batchSize = options.batchSize ?? 32;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`fit: batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(options.epochs) && options.epochs >= 0)) throw new RangeError(`fit: epochs must be a non-negative integer, got ${options.epochs}`);
  if (train.count === 0) throw new RangeError(`fit: the training set ${train.name} is empty`);
  const resume = options.resume;
  const rngs = options.rngs ?? {};
  const loader = new DataLoader(train, {
    batchSize,
    shuffle: true,
    augment: options.augment ?? false,
    ...(resume ? { seed: resume.loaderSeed } : options.rng ? { rng: options.rng } : { seed: options.seed ?? 1 }),
  });
  const stepsPerEpoch = loader.batchesPerEpoch;

  const callbacks: Callback[] = [];
  // The schedule goes first so that every later callback (the bar, the logs) sees this epoch's rate.
  if (schedule) callbacks.push(new LearningRateScheduler(schedule));
  if (options.terminateOnNaN !== false && !options.callbacks?.some((c) => c instanceof TerminateOnNaN)) {
    callbacks.push(new TerminateOnNaN());
  }
  callbacks.push(...(options.callbacks ?? []));

  const history: History = resume ? resume.history.slice() : [];
  const startEpoch = resume ? resume.epoch : (options.initialEpoch ?? 0);
  let startBatch = resume ? resume.batch : 0;
  if (resume) {
    for (const [name, state] of Object.entries(resume.rng)) rngs[name]?.setState(state);
    loadModelRngState(model, resume.modelRng);
    optimizer.lr = resume.lr;
    for (const cb of callbacks) {
      if (cb.name && cb.setState && resume.callbacks[cb.name] !== undefined) cb.setState(resume.callbacks[cb.name]);
    }
  }

  // The running sums of the epoch in progress, outside the loop so that a checkpoint can carry them.
  let partial = resume?.partial ?? { lossSum: 0, correct: 0, seen: 0, seconds: 0, lr: optimizer.lr };
  let batchesDone = startBatch;
  let epochDone = false;

  const ctx: TrainContext = {
    model,
    optimizer,
    schedule,
    epochs: options.epochs,
    epoch: startEpoch,
    stepsPerEpoch,
    history,
    stopTraining: false,
    interrupted: false,
    saveCheckpoint: (path) =>
      saveCheckpoint(path, { model, optimizer, schedule, progress: progress(), info: options.checkpointInfo ?? {} }),
  };

  /** Where the run stands: after an epoch, at the next one's start; mid-epoch, at the next batch. */
  function progress(): Progress {
    const rng: Record<string, number[]> = {};
    for (const [name, r] of Object.entries(rngs)) rng[name] = r.getState();
    const cbState: Record<string, unknown> = {};
    for (const cb of callbacks) if (cb.name && cb.getState) cbState[cb.name] = cb.getState();
    const midEpoch = !epochDone && batchesDone > 0;
    return {
      epoch: epochDone ? ctx.epoch + 1 : ctx.epoch,
      batch: midEpoch ? batchesDone : 0,
      partial: midEpoch ? { ...partial } : null,
      lr: optimizer.lr,
      loaderSeed: loader.seed,
      rng,
      modelRng: modelRngState(model),
      history: history.slice(),
      callbacks: cbState,
    };
  }

  let diverged = false;
  for (const cb of callbacks) cb.onTrainBegin?.(ctx);

  for (let epoch = startEpoch; epoch < options.epochs && !ctx.stopTraining; epoch++) {
    if (signal?.aborted) {
      ctx.interrupted = true;
      ctx.stopReason = `interrupted before epoch ${epoch + 1}`;
      break;
    }
    ctx.epoch = epoch;
    epochDone = false;
    batchesDone = startBatch;
    if (startBatch === 0) partial = { lossSum: 0, correct: 0, seen: 0, seconds: 0, lr: optimizer.lr };
    model.train();
    for (const cb of callbacks) cb.onEpochBegin?.(epoch, ctx);

    const started = performance.now();
    for (const batch of loader.epochBatches(epoch, startBatch)) {
      for (const cb of callbacks) cb.onBatchBegin?.(epoch, batch.index, ctx);
      if (batch.index === 0) partial.lr = optimizer.lr;
      const step = trainStep(model, optimizer, batch, epoch, callbacks, ctx);
      if (step === null) {
        diverged = true;
        break;
      }
      partial.lossSum += step.loss * batch.size;
      partial.correct += step.correct;
      partial.seen += batch.size;
      batchesDone = batch.index + 1;
      const seconds = partial.seconds + (performance.now() - started) / 1000;
      const logs: BatchLogs = {
        batch: batch.index,
        size: batch.size,
        loss: step.loss,
        epochLoss: partial.lossSum / partial.seen,
        epochAccuracy: partial.correct / partial.seen,
        samplesPerSec: partial.seen / Math.max(seconds, 1e-9),
      };
      for (const cb of callbacks) cb.onBatchEnd?.(logs, ctx);
      await yieldToEventLoop();
      if (signal?.aborted && batchesDone < stepsPerEpoch) {
        ctx.interrupted = true;
        ctx.stopTraining = true;
        ctx.stopReason = `interrupted at epoch ${epoch + 1}, batch ${batchesDone}/${stepsPerEpoch}`;
        break;
      }
    }
    partial.seconds += (performance.now() - started) / 1000;
    startBatch = 0;
    if (diverged || ctx.interrupted) break;

    const logs: EpochLogs = {
      epoch: epoch + 1,
      loss: partial.lossSum / partial.seen,
      accuracy: partial.correct / partial.seen,
      lr: partial.lr,
      seconds: partial.seconds,
      samplesPerSec: partial.seen / Math.max(partial.seconds, 1e-9),
    };
    if (validation && validation.count > 0) {
      const v = evaluate(model, validation);
      logs.valLoss = v.loss;
      logs.valAccuracy = v.accuracy;
    }
    // Key order of metrics.jsonl: epoch, loss, accuracy, valLoss, valAccuracy, lr, seconds, samplesPerSec.
    const ordered: EpochLogs = {
      epoch: logs.epoch,
      loss: logs.loss,
      accuracy: logs.accuracy,
      ...(logs.valLoss !== undefined ? { valLoss: logs.valLoss, valAccuracy: logs.valAccuracy } : {}),
      lr: logs.lr,
      seconds: logs.seconds,
      samplesPerSec: logs.samplesPerSec,
    };
    history.push(ordered);
    epochDone = true;
    for (const cb of callbacks) await cb.onEpochEnd?.(ordered, ctx);
  }

  for (const cb of callbacks) await cb.onTrainEnd?.(ctx);
  return { history, stopReason: ctx.stopReason, diverged, interrupted: ctx.interrupted };
}

/**
 * One optimizer step. Returns the batch's loss and correct count, or null when a callback (TerminateOnNaN)
 * stopped training on this batch's loss — then no gradient is applied, so the weights stay finite.
 */
function trainStep(
  model: Model,
  optimizer: OptimizerLike,
  batch: Batch,
  epoch: number,
  callbacks: Callback[],
  ctx: TrainContext,
): { loss: number; correct: number } | null {
  optimizer.zeroGrad();
  const logits = logitsOf(model, batch.x);
  let loss = Tensor.crossEntropy(logits, batch.y);
  const penalty = penaltyOf(model);
  if (penalty) loss = loss.add(penalty);
  const value = loss.item();
  for (const cb of callbacks) cb.onLoss?.(epoch, batch.index, value, ctx);
  if (ctx.stopTraining && !Number.isFinite(value)) return null;
  loss.backward();
  optimizer.step();
  applyConstraints(model);
  return { loss: value, correct: countCorrect(logits, batch.y) };
}
