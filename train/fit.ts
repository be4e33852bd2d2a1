/**
 * `fit(model, options)`: Keras's contract for any model, loss and data. The data is a user's own arrays
 * (`x`, `y`) or a data/ Dataset (`train`); the loss is named or a function; metrics, validation
 * (`validationData`, or `validationSplit` of the training data), callbacks with Keras's hooks and log
 * names, a schedule; it returns Keras's `History`. Everything is checked before the first step
 * (data.ts). For each epoch, for each shuffled batch, `trainStep` (step.ts: forward, loss, backward,
 * step, constraints); then validation, the epoch's logs and the callbacks. Everything optional lives in
 * callbacks.ts.
 *
 * The loop is `async` only so that it can yield to the event loop between batches: that is what lets a
 * Ctrl-C (SIGINT, delivered as an event) stop training after the current batch rather than never, and
 * what keeps a page responsive while it trains.
 *
 * Exact resume, owned here alone: `resume: load(path)` puts back the weights, the optimizer's buffers,
 * the schedule's position, the epoch and the batch within it, the epoch's running sums, the history,
 * the callbacks' state, the loader's seed and every generator's state (the model's dropout masks, and
 * any others named in `rngs`). The loader's order and shifts are pure functions of (seed, epoch, batch)
 * (data/loader.ts), so resuming even in the middle of an epoch picks up at the next batch of the same
 * order. Same seed, same thread count → the same weights, bit for bit, as a run that was never stopped.
 */
import { FormatError, Rng } from '../engine/index.js';
import { DataLoader, mixSeed, splitValidation, type Dataset, type LoaderOptions } from '../data/index.js';
import { LearningRateScheduler, TerminateOnNaN } from './callbacks.js';
import { arraysToDataset, checkData, checkFinite, isArrayData, type ArrayData, type Features, type Targets } from './data.js';
import { evaluateDataset } from './evaluate.js';
import { History, type Logs } from './history.js';
import { resolveLoss, type Loss, type LossFunction, type LossName } from './losses.js';
import { resolveMetrics, type MetricName } from './metrics.js';
import { save, type Checkpoint, type CheckpointInfo, type PartialEpoch, type Progress } from './save.js';
import { trainStep, type StepSetup } from './step.js';
import type { Callback, Model, OptimizerLike, ScheduleLike, TrainContext } from './types.js';

/** What a schedule factory is told: the schedule may need the run's length (OneCycle's total steps). */
export interface RunShape {
  /** The optimizer `fit` was given (`FitOptions.optimizer`): the one the schedule should drive. */
  optimizer: OptimizerLike;
  /** The epoch count the run trains to (`FitOptions.epochs`, counting `initialEpoch`). */
  epochs: number;
  /** Batches per epoch, ceil(samples / batchSize) with the last, partial one: OneCycle's `totalSteps` is `epochs * stepsPerEpoch`. */
  stepsPerEpoch: number;
}

/** Options of `fit`: Keras's `model.fit` arguments, in camelCase. */
export interface FitOptions {
  /** The samples: a Tensor [N, ...features] or number[][] (or give `train`). */
  x?: Features;
  /** Class ids for crossEntropy; float targets for the other losses (data.ts `Targets`). */
  y?: Targets;
  /** A data/ Dataset instead of `x` and `y`. */
  train?: Dataset;
  /** 'crossEntropy' (default), 'mse', 'binaryCrossEntropy', or (pred, target) => scalar Tensor (losses.ts). */
  loss?: LossName | LossFunction;
  /** Default ['accuracy'] for crossEntropy, [] otherwise (metrics.ts). */
  metrics?: MetricName[];
  /**
   * Hold out this share of the training data for validation, in [0, 1). Drawn at random from `seed`
   * (stratified by class for class ids): Keras takes the last samples instead, which holds out whole
   * classes of data sorted by class (Iris, Fashion-MNIST's package).
   */
  validationSplit?: number;
  /** `{ x, y }` or a Dataset evaluated after every epoch (`val_loss`, `val_accuracy`, ...). */
  validationData?: ArrayData | Dataset;
  /** Train until this many epochs are done in total (Keras's `epochs`, counting `initialEpoch`). Default 1. */
  epochs?: number;
  /** Default 32 (Keras's). */
  batchSize?: number;
  /** What updates the weights after each batch (`SGD`, `Adam`, ...). */
  optimizer: OptimizerLike;
  /**
   * Stepped by `fit` on what it `stepsOn` (callbacks.ts LearningRateScheduler). A function is called once
   * the run's shape is known, for a schedule that needs it: `({ optimizer, epochs, stepsPerEpoch }) =>
   * new OneCycle(optimizer, { totalSteps: epochs * stepsPerEpoch })`.
   */
  schedule?: ScheduleLike | ((run: RunShape) => ScheduleLike | undefined);
  /** Hooks called around epochs and batches, in order (`EarlyStopping`, `ModelCheckpoint`, ...). */
  callbacks?: Callback[];
  /** The loader's seed (shuffle order, augmentation) and the validation split's (default 1). */
  seed?: number;
  /** Shuffle the training data every epoch (default true). */
  shuffle?: boolean;
  /** The epoch to start at, from 0 (Keras's `initial_epoch`); `resume` sets it from the checkpoint. */
  initialEpoch?: number;
  /** A checkpoint from `load()` written during training (ModelCheckpoint): continue exactly where it stopped. */
  resume?: Checkpoint;
  /**
   * Other generators to save in checkpoints, by name. The model's own (Dropout layers, through
   * `rngState()`) are saved without being listed.
   */
  rngs?: Record<string, Rng>;
  /**
   * Augmentation of image data, afresh every epoch (data/'s DataLoader): true for shifts of up to 2
   * pixels, a list of names (['shift', 'affine', 'elastic', 'flip']) or options per augmentation.
   */
  augment?: LoaderOptions['augment'];
  /** Aborting it (the CLI does on SIGINT) stops training after the current batch. */
  signal?: AbortSignal;
  /**
   * Stop when the run diverges: a non-finite loss, or one far above where training started (default
   * true: a TerminateOnNaN callback with its default factor; give your own to change it).
   */
  terminateOnNaN?: boolean;
  /** Architecture and hyper-parameters, stored in every checkpoint so `load` can rebuild the model. */
  checkpointInfo?: CheckpointInfo;
}

/** The validation split's generator stream, apart from the loader's (which uses `seed` itself). */
const SPLIT_STREAM = 0x53504c;

/**
 * Lets the event loop run between batches: in Node, a Ctrl-C (SIGINT arrives as an event); in a page or
 * a worker, input, rendering and the worker's messages. Node: `setImmediate`, which runs after the
 * loop has polled for events. Elsewhere (no `setImmediate`): a message to ourselves through a
 * MessageChannel, a task of its own in pages and workers, and not throttled as `setTimeout(0)` is
 * (1 ms a call in Node, 4 ms in a page once nested). Measured in Node (Iris, batches of 8, best of
 * 12 runs): setImmediate 245k samples/s, a message 255k, setTimeout(0) 4.7k. Node gets setImmediate
 * all the same, because there a message to ourselves does not let a signal in between batches: with
 * messages, the command line's Ctrl-C test (tests/cli/spawn.test.ts) trained on to the last epoch and
 * exited 0 (Node delivers the port's messages, each followed by its microtasks, the next batch, ahead of
 * the signal).
 */
function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  if (typeof immediate === 'function') return new Promise((resolve) => void immediate(resolve));
  return new Promise((resolve) => {
    waiting.push(resolve);
    selfChannel().postMessage(null);
  });
}

/** The resolvers of the yields waiting for their message, first in first out. */
const waiting: Array<() => void> = [];
let port: { postMessage(message: null): void } | null = null;

/** The sending end of a MessageChannel whose receiving end resolves the oldest yield (made once, when first needed). */
function selfChannel(): { postMessage(message: null): void } {
  if (port === null) {
    const channel = new MessageChannel();
    // `onmessage` as pages and workers have it (Node's typings know only its EventEmitter side).
    (channel.port1 as unknown as { onmessage: () => void }).onmessage = () => waiting.shift()!();
    port = channel.port2;
  }
  return port;
}

/**
 * Trains `model`; returns the per-epoch History (also kept, for resume, in every checkpoint).
 *
 * @example
 * ```ts
 * import { Sequential, Dense, ReLU, SGD, fit, Rng } from 'tapegrad';
 *
 * // Which side of the line a + b = 0 is each point on?
 * const rng = new Rng(3);
 * const x: number[][] = [];
 * const y: number[] = [];
 * for (let i = 0; i < 200; i++) {
 *   const [a, b] = [rng.uniform() * 2 - 1, rng.uniform() * 2 - 1];
 *   x.push([a, b]);
 *   y.push(a + b > 0 ? 1 : 0);
 * }
 * const model = new Sequential([new Dense(2, 8, { rng }), new ReLU(), new Dense(8, 2, { rng })]);
 * const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const history = await fit(model, { x, y, epochs: 10, batchSize: 16, optimizer, validationSplit: 0.2 });
 * console.log(history.epoch); // => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
 * const { loss, val_accuracy } = history.history;
 * console.log(loss[9] < loss[0] / 4); // => true
 * console.log(val_accuracy[9] > 0.9); // => true
 * ```
 */
export async function fit(model: Model, options: FitOptions): Promise<History> {
  const op = 'fit';
  const { optimizer, signal } = options;
  const epochs = options.epochs ?? 1;
  const batchSize = options.batchSize ?? 32;
  const seed = options.seed ?? 1;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`${op}: batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(epochs) && epochs >= 0)) throw new RangeError(`${op}: epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(seed)) throw new RangeError(`${op}: seed must be an integer, got ${seed}`);
  if (!optimizer || typeof optimizer.step !== 'function') throw new TypeError(`${op}: options.optimizer is required (e.g. new SGD(model.parameters(), { lr: 0.01 }))`);

  // Everything about the data is settled before the first step.
  const loss = resolveLoss(options.loss, op);
  const { train, validation } = fitData(options, loss, seed, op);
  const metrics = resolveMetrics(options.metrics, loss, train.targets === null, op);
  checkData(model, loss, metrics, train, op, 'the training data');
  if (validation) checkData(model, loss, metrics, validation, op, 'the validation data');
  const setup: StepSetup = { model, optimizer, loss, metrics };

  const resume = options.resume;
  const progress0 = resume ? resumedProgress(resume, metrics.map((m) => m.name)) : null;
  const loader = new DataLoader(train, {
    batchSize,
    shuffle: options.shuffle ?? true,
    augment: options.augment ?? false,
    seed: progress0 ? progress0.loaderSeed : seed,
  });
  const stepsPerEpoch = loader.batchesPerEpoch;
  const schedule = typeof options.schedule === 'function' ? options.schedule({ optimizer, epochs, stepsPerEpoch }) : options.schedule;

  const callbacks: Callback[] = [];
  // The schedule goes first so that every later callback (the bar, the logs) sees this epoch's rate.
  if (schedule) callbacks.push(new LearningRateScheduler(schedule));
  // The divergence check runs before every other callback of the list (a given one is moved to the
  // front), so that a checkpoint callback never sees a diverged epoch as a good one.
  const given = options.callbacks ?? [];
  const terminate = given.filter((c) => c instanceof TerminateOnNaN);
  if (terminate.length === 0 && options.terminateOnNaN !== false) terminate.push(new TerminateOnNaN());
  callbacks.push(...terminate, ...given.filter((c) => !(c instanceof TerminateOnNaN)));

  const rngs = options.rngs ?? {};
  const history = progress0 ? History.fromJSON(progress0.history) : new History();
  const startEpoch = progress0 ? progress0.epoch : (options.initialEpoch ?? 0);
  let startBatch = progress0 ? progress0.batch : 0;
  if (resume && progress0) restoreRun(resume, progress0, { model, optimizer, schedule, callbacks, rngs }, op);

  // The running sums of the epoch in progress, outside the loop so that a checkpoint can carry them.
  const fresh = (): PartialEpoch => ({ lossSum: 0, metricSums: Object.fromEntries(metrics.map((m) => [m.name, 0])), seen: 0, seconds: 0, learningRate: optimizer.lr });
  let partial: PartialEpoch = progress0?.partial ?? fresh();
  let batchesDone = startBatch;
  let epochDone = false;

  const ctx: TrainContext = {
    model,
    optimizer,
    schedule,
    epochs,
    stepsPerEpoch,
    batchSize,
    samples: train.count,
    epoch: startEpoch,
    history,
    stopTraining: false,
    interrupted: false,
    diverged: false,
    saveCheckpoint: (path) => save(path, { model, optimizer, schedule, progress: progress(), info: options.checkpointInfo ?? {} }),
    saveWeights: (path) => save(path, { model, epoch: epochDone ? ctx.epoch + 1 : ctx.epoch, info: options.checkpointInfo ?? {} }),
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
      partial: midEpoch ? { ...partial, metricSums: { ...partial.metricSums } } : null,
      lr: optimizer.lr,
      loaderSeed: loader.seed,
      rng,
      modelRng: typeof model.rngState === 'function' ? model.rngState() : {},
      history: history.toJSON(),
      callbacks: cbState,
    };
  }

  for (const cb of callbacks) cb.onTrainBegin?.({}, ctx);

  for (let epoch = startEpoch; epoch < epochs && !ctx.stopTraining; epoch++) {
    if (signal?.aborted) {
      ctx.interrupted = true;
      ctx.stopReason = `interrupted before epoch ${epoch + 1}`;
      break;
    }
    ctx.epoch = epoch;
    epochDone = false;
    batchesDone = startBatch;
    if (startBatch === 0) partial = fresh();
    model.train();
    for (const cb of callbacks) cb.onEpochBegin?.(epoch, {}, ctx);

    const started = performance.now();
    for (const batch of loader.epochBatches(epoch, startBatch)) {
      for (const cb of callbacks) cb.onBatchBegin?.(batch.index, { batch: batch.index, size: batch.size }, ctx);
      if (batch.index === 0) partial.learningRate = optimizer.lr;
      const step = trainStep(setup, batch);
      if (!step.applied) history.diverged = true;
      partial.lossSum += step.loss * batch.size;
      metrics.forEach((m, i) => (partial.metricSums[m.name] += step.metrics[i]));
      partial.seen += batch.size;
      batchesDone = batch.index + 1;
      const logs: Logs = { batch: batch.index, size: batch.size, loss: step.loss };
      metrics.forEach((m, i) => (logs[m.name] = step.metrics[i] / batch.size));
      for (const cb of callbacks) cb.onBatchEnd?.(batch.index, logs, ctx);
      await yieldToEventLoop();
      if (signal?.aborted && batchesDone < stepsPerEpoch) {
        ctx.interrupted = true;
        ctx.stopTraining = true;
        ctx.stopReason = `interrupted at epoch ${epoch + 1}, batch ${batchesDone}/${stepsPerEpoch}`;
      }
      // Keras 3 ends the epoch at the batch where a callback asks to stop (TerminateOnNaN does).
      if (ctx.stopTraining) break;
    }
    partial.seconds += (performance.now() - started) / 1000;
    startBatch = 0;
    // An epoch stopped part-way (a NaN loss, an interrupt) is not recorded: its means would be of part of it.
    if (batchesDone < stepsPerEpoch) break;

    const logs: Logs = { loss: partial.lossSum / partial.seen };
    for (const m of metrics) logs[m.name] = partial.metricSums[m.name] / partial.seen;
    if (validation) {
      const v = evaluateDataset(model, loss, metrics, validation);
      for (const [name, value] of Object.entries(v)) logs[`val_${name}`] = value;
    }
    logs.learning_rate = partial.learningRate;
    logs.seconds = partial.seconds;
    logs.samples_per_sec = partial.seen / Math.max(partial.seconds, 1e-9);
    history.record(epoch, logs);
    epochDone = true;
    for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs, ctx);
  }

  for (const cb of callbacks) await cb.onTrainEnd?.(history.last() ?? {}, ctx);
  history.stopReason = ctx.stopReason;
  history.interrupted = ctx.interrupted;
  if (ctx.diverged) history.diverged = true;
  return history;
}

/** The training set and the validation set (if any), from `x`/`y` or `train`, `validationData` or `validationSplit`. */
function fitData(options: FitOptions, loss: Loss, seed: number, op: string): { train: Dataset; validation?: Dataset } {
  const arrays = options.x !== undefined || options.y !== undefined;
  if (arrays && options.train !== undefined) throw new TypeError(`${op}: give x and y, or train (a Dataset), not both`);
  if (!arrays && options.train === undefined) throw new TypeError(`${op}: no training data: give x and y (your arrays) or train (a Dataset)`);
  if (arrays && (options.x === undefined || options.y === undefined)) throw new TypeError(`${op}: x and y go together: got only ${options.x === undefined ? 'y' : 'x'}`);
  let train = arrays ? arraysToDataset({ x: options.x!, y: options.y! }, loss, op) : options.train!;
  checkFinite(train, op, 'the training data'); // before the split, so that a bad row is named as the caller numbers it
  const { validationSplit, validationData } = options;
  if (validationSplit !== undefined && validationData !== undefined) {
    throw new TypeError(`${op}: give validationSplit or validationData, not both`);
  }
  let validation: Dataset | undefined;
  if (validationData !== undefined) {
    validation = isArrayData(validationData) ? arraysToDataset(validationData, loss, op, 'validationData.') : validationData;
  } else if (validationSplit !== undefined && validationSplit !== 0) {
    if (!(typeof validationSplit === 'number' && validationSplit > 0 && validationSplit < 1)) {
      throw new RangeError(`${op}: validationSplit must be in [0, 1), got ${validationSplit}`);
    }
    const parts = splitValidation(train, validationSplit, new Rng(mixSeed(seed, SPLIT_STREAM)));
    if (parts.train.count === 0) {
      throw new RangeError(`${op}: validationSplit ${validationSplit} of ${train.count} samples leaves no training data (${parts.validation.count} would be held out)`);
    }
    train = parts.train;
    validation = parts.validation.count > 0 ? parts.validation : undefined;
  }
  if (train.count === 0) throw new RangeError(`${op}: the training set ${train.name} is empty`);
  return { train, validation };
}

/** The checkpoint's progress, checked against this run's metrics. */
function resumedProgress(ck: Checkpoint, metricNames: string[]): Progress {
  const p = ck.progress;
  if (p === null) throw new FormatError(`fit: ${ck.path} holds no training progress to resume (it was written by save(), not during fit)`);
  if (p.partial) {
    const saved = Object.keys(p.partial.metricSums);
    if (saved.length !== metricNames.length || saved.some((n) => !metricNames.includes(n))) {
      throw new RangeError(`fit: ${ck.path} stopped mid-epoch with metrics [${saved.join(', ')}]; this run asks for [${metricNames.join(', ')}]`);
    }
  }
  return p;
}

/** Puts a run back as the checkpoint left it: weights, optimizer, schedule, generators, callbacks. */
function restoreRun(
  ck: Checkpoint,
  p: Progress,
  run: { model: Model; optimizer: OptimizerLike; schedule?: ScheduleLike; callbacks: Callback[]; rngs: Record<string, Rng> },
  op: string,
): void {
  run.model.loadStateDict(ck.weights);
  if (ck.optimizerState) {
    if (typeof run.optimizer.loadStateDict !== 'function') throw new TypeError(`${op}: ${ck.path} holds optimizer state, but the optimizer has no loadStateDict`);
    restoring(ck, 'optimizer', () => run.optimizer.loadStateDict!(ck.optimizerState as never));
  }
  if (run.schedule && ck.scheduleState !== null && typeof run.schedule.loadStateDict === 'function') {
    restoring(ck, 'schedule', () => run.schedule!.loadStateDict!(ck.scheduleState as never));
  }
  for (const [name, state] of Object.entries(p.rng)) restoring(ck, `progress.rng.${name}`, () => run.rngs[name]?.setState(state));
  if (typeof run.model.loadRngState === 'function') restoring(ck, 'progress.modelRng', () => run.model.loadRngState!(p.modelRng));
  run.optimizer.lr = p.lr;
  for (const cb of run.callbacks) {
    if (cb.name && cb.setState && p.callbacks[cb.name] !== undefined) restoring(ck, `progress.callbacks.${cb.name}`, () => cb.setState!(p.callbacks[cb.name!]));
  }
}

/**
 * Runs one piece of a restore; what it refuses (an optimizer state for another optimizer, a generator state
 * of the wrong length) is a FormatError naming the checkpoint and the metadata field it came from.
 */
function restoring(ck: Checkpoint, field: string, restore: () => void): void {
  try {
    restore();
  } catch (e) {
    throw new FormatError(`${ck.path}: __metadata__.${field} cannot be restored: ${(e as Error).message}`);
  }
}
