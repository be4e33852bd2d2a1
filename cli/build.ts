/**
 * From a checked TrainConfig to the objects `fit` wants: the data, the model, the optimizer and the
 * schedule. Every generator is seeded from `--seed`, each for one purpose (weights, each Dropout layer,
 * the validation split, the loader), so that changing one thing — adding dropout, say — does not
 * reshuffle the data or re-draw the initial weights.
 */
import { Rng } from '../engine/index.js';
import { loadDataset, splitValidation, type Dataset } from '../data/index.js';
import { BatchNorm, Dense, Dropout, Layer, ReLU, Sequential, l2, maxNorm } from '../layers/index.js';
import {
  Adadelta,
  Adagrad,
  Adam,
  AdamW,
  CosineAnnealing,
  ExponentialDecay,
  Nadam,
  OneCycle,
  Optimizer,
  ReduceOnPlateau,
  RMSprop,
  SGD,
  StepDecay,
  type Schedule,
  type ScheduleState,
} from '../optim/index.js';
import type { Tensor } from '../engine/index.js';
import type { ScheduleLike } from '../train/index.js';
import { UsageError, type TrainConfig } from './options.js';

export interface RunData {
  train: Dataset;
  validation: Dataset | undefined;
  test: Dataset;
}

/** The generator seeds, derived from `--seed` (fixed offsets keep them apart and reproducible). */
export const seeds = {
  init: (seed: number) => seed,
  split: (seed: number) => seed + 7919,
  loader: (seed: number) => seed + 104729,
  dropout: (seed: number, layer: number) => seed + 1_000_003 + layer,
};

/**
 * The data of a run, with the checks that need it: `--val-split` must leave training data, and
 * `--augment` (shifts of 2-D images) needs images.
 */
export function loadRunData(config: TrainConfig): RunData {
  const { train: full, test } = loadDataset(config.dataset, {
    trainSize: config.trainSize ?? undefined,
    testSize: config.testSize ?? undefined,
    // Iris has no official split: its stratified 120/30 split follows --seed (eval reuses the saved seed).
    seed: config.dataset === 'iris' ? config.seed : undefined,
  });
  if (config.augment && full.featureShape.length !== 2) {
    throw new UsageError(`--augment: shifts images by up to 2 pixels, and ${config.dataset}'s samples are ${full.featureShape.join('×')} features, not images`);
  }
  if (config.valSplit === 0) {
    checkBatchNorm(config, full.count);
    return { train: full, validation: undefined, test };
  }
  const { train, validation } = splitValidation(full, config.valSplit, new Rng(seeds.split(config.seed)));
  if (train.count === 0) {
    throw new UsageError(`--val-split ${config.valSplit}: holds out ${validation.count} of the ${full.count} training samples of ${config.dataset}, leaving none to train on`);
  }
  checkBatchNorm(config, train.count);
  return { train, validation: validation.count > 0 ? validation : undefined, test };
}

/**
 * BatchNorm normalizes by the batch's own variance in training, which one sample does not have
 * (PyTorch refuses it too: "Expected more than 1 value per channel"). A batch of one comes from
 * --batch-size 1, or as the last of each epoch when the training samples are one more than a multiple
 * of the batch size: found here, before training, rather than as a crash at the end of epoch 1.
 */
function checkBatchNorm(config: TrainConfig, count: number): void {
  if (!config.batchNorm) return;
  if (config.batchSize === 1) throw new UsageError('--batch-norm needs batches of at least 2 samples (--batch-size 1): BatchNorm normalizes by the batch\'s variance');
  const b = config.batchSize;
  if (count % b === 1) {
    const near = [b + 1, b - 1, b + 2, b - 2, b + 3].find((c) => c >= 2 && count % c !== 1);
    throw new UsageError(
      `--batch-size ${b}: with --batch-norm, the last batch of each epoch would hold 1 of the ${count} training samples, and BatchNorm needs at least 2; choose another --batch-size${near ? ` (e.g. ${near})` : ''}`,
    );
  }
}

/**
 * The multilayer perceptron of the reference articles: [input dropout] → (Dense → [BatchNorm] → ReLU →
 * [Dropout]) per hidden width → Dense to the class logits. `--l2` regularizes every Dense kernel,
 * `--max-norm` constrains the hidden ones (Srivastava et al. 2014 pair it with dropout).
 */
export function buildModel(config: TrainConfig, inputs: number, classes: number): Sequential {
  const initRng = new Rng(seeds.init(config.seed));
  const layers: Layer[] = [];
  const dropoutRng = () => new Rng(seeds.dropout(config.seed, layers.length));
  if (config.inputDropout > 0) layers.push(new Dropout(config.inputDropout, { rng: dropoutRng() }));
  let width = inputs;
  for (const units of config.layers) {
    layers.push(
      new Dense(width, units, {
        rng: initRng,
        kernelRegularizer: config.l2 > 0 ? l2(config.l2) : null,
        kernelConstraint: config.maxNorm > 0 ? maxNorm(config.maxNorm) : null,
      }),
    );
    if (config.batchNorm) layers.push(new BatchNorm(units));
    layers.push(new ReLU());
    if (config.dropout > 0) layers.push(new Dropout(config.dropout, { rng: dropoutRng() }));
    width = units;
  }
  layers.push(new Dense(width, classes, { rng: initRng, kernelRegularizer: config.l2 > 0 ? l2(config.l2) : null }));
  return new Sequential(layers);
}

/** The optimizer named by `--optimizer`, with the flags that apply to it. */
export function buildOptimizer(config: TrainConfig, params: Tensor[]): Optimizer {
  const { lr, weightDecay } = config;
  switch (config.optimizer) {
    case 'sgd':
      return new SGD(params, { lr, momentum: config.momentum ?? 0.9, nesterov: config.nesterov, decay: config.decay, weightDecay });
    case 'adam':
      return new Adam(params, { lr, weightDecay });
    case 'adamw':
      return new AdamW(params, { lr, ...(weightDecay > 0 ? { weightDecay } : {}) });
    case 'rmsprop':
      return new RMSprop(params, { lr, momentum: config.momentum ?? 0, weightDecay });
    case 'adagrad':
      return new Adagrad(params, { lr, weightDecay });
    case 'adadelta':
      return new Adadelta(params, { lr, weightDecay });
    case 'nadam':
      return new Nadam(params, { lr, weightDecay });
  }
}

export type RunSchedule = StepDecay | ExponentialDecay | CosineAnnealing | OneCycle | ReduceOnPlateau | Restarted;

/**
 * True for the schedules whose shape is the run's length: cosine without `tmax` (it anneals to its
 * minimum at the last epoch) and onecycle (its one cycle spans every batch of the run).
 */
export function spansRun(config: TrainConfig): boolean {
  const { name, params } = config.schedule;
  return (name === 'cosine' && params.tmax === undefined) || name === 'onecycle';
}

/** The epoch at which each cycle of a run-spanning schedule ends (one cycle over --epochs, unless extended). */
export function cyclesOf(config: TrainConfig): number[] {
  return config.schedule.cycles ?? [config.epochs];
}

/**
 * A run-spanning schedule started over at each extension of the run: cycle k runs from the end of
 * cycle k-1 (its index counted from 0 there) to its own end, as SGDR's warm restarts do (Loshchilov &
 * Hutter 2017). `--resume --epochs N` past the end of a finished cosine or one-cycle run adds a cycle
 * over the added epochs, rather than stretching the old one over the new length (the rate would jump
 * 20× at the boundary, to where a longer run would have been) or following cosine's closed form past
 * its end (back up to --lr at the last epoch). Epochs of the first cycle are as they were.
 */
export class Restarted implements ScheduleLike {
  readonly stepsOn: 'epoch' | 'batch';

  /** `starts[k]`: the index (epoch, or batch for onecycle) where cycle k begins; starts[0] is 0. */
  constructor(
    readonly cycles: readonly Schedule[],
    readonly starts: readonly number[],
  ) {
    this.stepsOn = cycles[0].stepsOn === 'batch' ? 'batch' : 'epoch';
  }

  step(t: number): number {
    let k = this.cycles.length - 1;
    while (k > 0 && t < this.starts[k]) k--;
    return this.cycles[k].step(t - this.starts[k]);
  }

  stateDict(): { type: 'Restarted'; cycles: ScheduleState[] } {
    return { type: 'Restarted', cycles: this.cycles.map((c) => c.stateDict()) };
  }

  /** A Restarted state, or a single schedule's (a checkpoint written before the extension): the first cycle's. */
  loadStateDict(state: ScheduleState | { type: 'Restarted'; cycles: ScheduleState[] }): void {
    if (state.type !== 'Restarted') return this.cycles[0].loadStateDict(state as ScheduleState);
    (state.cycles as ScheduleState[]).forEach((s, k) => this.cycles[k]?.loadStateDict(s));
  }
}

/**
 * The schedule named by `--schedule`. Defaults: step halves every 10 epochs, exp uses gamma 0.95, cosine
 * anneals to 0 over the whole run, onecycle peaks at `--lr` over the whole run (stepped per batch),
 * plateau divides by 10 after 10 epochs without a better validation loss (PyTorch's defaults). Cosine
 * (without tmax) and onecycle span the run's cycles (`cyclesOf`: one over --epochs unless a resume
 * extended the run; then `Restarted`).
 */
export function buildSchedule(config: TrainConfig, optimizer: Optimizer, stepsPerEpoch: number): RunSchedule | undefined {
  const p = config.schedule.params;
  const cycles = cyclesOf(config);
  // One schedule per cycle, each built from --lr (a schedule reads its base rate from the optimizer).
  const spanning = (length: number): CosineAnnealing | OneCycle => {
    optimizer.lr = config.lr;
    return config.schedule.name === 'onecycle'
      ? new OneCycle(optimizer, { maxLr: p.max ?? config.lr, totalSteps: length * stepsPerEpoch })
      : new CosineAnnealing(optimizer, { tMax: length, minLr: p.min ?? 0 });
  };
  try {
    switch (config.schedule.name) {
      case 'none':
        return undefined;
      case 'step':
        return new StepDecay(optimizer, { drop: p.drop ?? 0.5, every: p.every ?? 10 });
      case 'exp':
        return new ExponentialDecay(optimizer, { gamma: p.gamma ?? 0.95 });
      case 'cosine':
      case 'onecycle': {
        if (config.schedule.name === 'cosine' && p.tmax !== undefined) return new CosineAnnealing(optimizer, { tMax: p.tmax, minLr: p.min ?? 0 });
        if (cycles.length === 1) return spanning(cycles[0]);
        const ends = [0, ...cycles];
        // Built last to first, so that the optimizer is left at the first cycle's start.
        const built = cycles.map((_, k) => k).reverse().map((k) => spanning(ends[k + 1] - ends[k])).reverse();
        const unit = config.schedule.name === 'onecycle' ? stepsPerEpoch : 1;
        return new Restarted(built, ends.slice(0, -1).map((e) => e * unit));
      }
      case 'plateau':
        return new ReduceOnPlateau(optimizer, { factor: p.factor ?? 0.1, patience: p.patience ?? 10, minLr: p.min ?? 0 });
    }
  } catch (e) {
    const text = Object.entries(p).map(([k, v]) => `${k}=${v}`).join(',');
    throw new UsageError(`--schedule ${config.schedule.name}${text ? `:${text}` : ''}: ${(e as Error).message}`);
  }
}
