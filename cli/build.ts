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
} from '../optim/index.js';
import type { Tensor } from '../engine/index.js';
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

export function loadRunData(config: TrainConfig): RunData {
  const { train: full, test } = loadDataset(config.dataset, {
    trainSize: config.trainSize ?? undefined,
    testSize: config.testSize ?? undefined,
    // Iris has no official split: its stratified 120/30 split follows --seed (eval reuses the saved seed).
    seed: config.dataset === 'iris' ? config.seed : undefined,
  });
  if (config.valSplit === 0) return { train: full, validation: undefined, test };
  const { train, validation } = splitValidation(full, config.valSplit, new Rng(seeds.split(config.seed)));
  return { train, validation: validation.count > 0 ? validation : undefined, test };
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

export type RunSchedule = StepDecay | ExponentialDecay | CosineAnnealing | OneCycle | ReduceOnPlateau;

/**
 * The schedule named by `--schedule`. Defaults: step halves every 10 epochs, exp uses gamma 0.95, cosine
 * anneals to 0 over the whole run, onecycle peaks at `--lr` over the whole run (stepped per batch),
 * plateau divides by 10 after 10 epochs without a better validation loss (PyTorch's defaults).
 */
export function buildSchedule(config: TrainConfig, optimizer: Optimizer, stepsPerEpoch: number): RunSchedule | undefined {
  const p = config.schedule.params;
  try {
    switch (config.schedule.name) {
      case 'none':
        return undefined;
      case 'step':
        return new StepDecay(optimizer, { drop: p.drop ?? 0.5, every: p.every ?? 10 });
      case 'exp':
        return new ExponentialDecay(optimizer, { gamma: p.gamma ?? 0.95 });
      case 'cosine':
        return new CosineAnnealing(optimizer, { tMax: p.tmax ?? config.epochs, minLr: p.min ?? 0 });
      case 'onecycle':
        return new OneCycle(optimizer, { maxLr: p.max ?? config.lr, totalSteps: config.epochs * stepsPerEpoch });
      case 'plateau':
        return new ReduceOnPlateau(optimizer, { factor: p.factor ?? 0.1, patience: p.patience ?? 10, minLr: p.min ?? 0 });
    }
  } catch (e) {
    const text = Object.entries(p).map(([k, v]) => `${k}=${v}`).join(',');
    throw new UsageError(`--schedule ${config.schedule.name}${text ? `:${text}` : ''}: ${(e as Error).message}`);
  }
}
