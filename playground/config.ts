/**
 * What the reader can change on the page, checked, and the model, optimizer and schedule it builds.
 * The defaults are the command line's (`tapegrad train`: 784-300-100-10, SGD lr 0.05 momentum 0.9,
 * cosine annealing to 0, batch 64), so the page and `npm run train` learn the same way. The form and the
 * page's URL use the same names (`?hidden=300,100&lr=0.05&autostart=1`), so a link reproduces a run.
 */
import { Rng } from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Dense, Dropout, type Layer, ReLU, Sequential } from '../layers/index.js';
import {
  Adadelta,
  Adagrad,
  Adam,
  AdamW,
  CosineAnnealing,
  ExponentialDecay,
  Nadam,
  OneCycle,
  type Optimizer,
  RMSprop,
  type Schedule,
  SGD,
  StepDecay,
} from '../optim/index.js';

export const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta', 'nadam'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** What each schedule does, as the page's menu says it. */
export const SCHEDULES = {
  none: 'constant rate',
  cosine: 'cosine annealing to 0 over the run',
  step: 'halve every 2 epochs',
  exp: '× 0.9 every epoch',
  onecycle: 'one cycle (per batch), peak at the rate',
} as const;
export type ScheduleName = keyof typeof SCHEDULES;

/** The rate each optimizer starts from when the reader picks it (PyTorch's defaults, SGD the CLI's). */
export const DEFAULT_LR: Record<OptimizerName, number> = {
  sgd: 0.05,
  adam: 1e-3,
  adamw: 1e-3,
  rmsprop: 1e-3,
  adagrad: 1e-2,
  adadelta: 1,
  nadam: 2e-3,
};

export const MNIST_TRAIN_SIZE = 60_000;

export interface TrainConfig {
  /** Widths of the hidden Dense+ReLU layers; empty is softmax regression (784 → 10). */
  hidden: number[];
  /** Dropout after each hidden layer, in [0, 1). */
  dropout: number;
  optimizer: OptimizerName;
  lr: number;
  /** SGD's and RMSprop's momentum (the other optimizers have none). */
  momentum: number;
  schedule: ScheduleName;
  batchSize: number;
  epochs: number;
  /** Training images used: the first `train` of MNIST's 60,000. */
  train: number;
  seed: number;
}

export const DEFAULTS: TrainConfig = {
  hidden: [300, 100],
  dropout: 0,
  optimizer: 'sgd',
  lr: DEFAULT_LR.sgd,
  momentum: 0.9,
  schedule: 'cosine',
  batchSize: 64,
  epochs: 10,
  train: MNIST_TRAIN_SIZE,
  seed: 1,
};

/** The names the form fields and the URL parameters use, in the order the form shows them. */
export const FIELDS = ['hidden', 'dropout', 'optimizer', 'lr', 'momentum', 'schedule', 'batch', 'epochs', 'train', 'seed'] as const;
export type FieldName = (typeof FIELDS)[number];

/**
 * A TrainConfig from text fields (the form, or URL parameters); a missing or empty field keeps its
 * default. Throws a RangeError naming the field and the value when one is not acceptable.
 */
export function parseConfig(fields: Partial<Record<FieldName, string>>): TrainConfig {
  const bad = (name: string, value: string, expected: string): never => {
    throw new RangeError(`${name}: ${JSON.stringify(value)} is not ${expected}`);
  };
  const get = (name: FieldName): string | undefined => {
    const v = fields[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const num = (name: FieldName, fallback: number, ok: (v: number) => boolean, expected: string): number => {
    const text = get(name);
    if (text === undefined) return fallback;
    const v = Number(text);
    return Number.isFinite(v) && ok(v) ? v : bad(name, text, expected);
  };
  const int = (name: FieldName, fallback: number, min: number, max: number): number =>
    num(name, fallback, (v) => Number.isInteger(v) && v >= min && v <= max, `an integer from ${min} to ${max}`);

  let hidden = DEFAULTS.hidden;
  const hiddenText = fields.hidden?.trim();
  // An empty list is allowed on purpose: no hidden layer is softmax regression.
  if (hiddenText !== undefined) {
    const parts = hiddenText === '' || hiddenText === 'none' ? [] : hiddenText.split(',').map((s) => s.trim());
    hidden = parts.map((p) => {
      const v = Number(p);
      return Number.isInteger(v) && v >= 1 && v <= 4096 ? v : bad('hidden', hiddenText, 'a comma-separated list of widths from 1 to 4096 (e.g. 300,100)');
    });
  }
  const optimizerText = get('optimizer') ?? DEFAULTS.optimizer;
  if (!(OPTIMIZERS as readonly string[]).includes(optimizerText)) bad('optimizer', optimizerText, `one of ${OPTIMIZERS.join(', ')}`);
  const optimizer = optimizerText as OptimizerName;
  const scheduleText = get('schedule') ?? DEFAULTS.schedule;
  if (!Object.hasOwn(SCHEDULES, scheduleText)) bad('schedule', scheduleText, `one of ${Object.keys(SCHEDULES).join(', ')}`);

  return {
    hidden,
    dropout: num('dropout', DEFAULTS.dropout, (v) => v >= 0 && v < 1, 'a rate in [0, 1)'),
    optimizer,
    lr: num('lr', DEFAULT_LR[optimizer], (v) => v > 0 && v <= 100, 'a learning rate > 0 (at most 100)'),
    momentum: num('momentum', DEFAULTS.momentum, (v) => v >= 0 && v < 1, 'a momentum in [0, 1)'),
    schedule: scheduleText as ScheduleName,
    batchSize: int('batch', DEFAULTS.batchSize, 1, 4096),
    epochs: int('epochs', DEFAULTS.epochs, 1, 1000),
    train: int('train', DEFAULTS.train, 1, MNIST_TRAIN_SIZE),
    seed: int('seed', DEFAULTS.seed, 0, 2 ** 31 - 1),
  };
}

/** The fields that give `config` back through parseConfig (to fill the form, or to build a link). */
export function configFields(config: TrainConfig): Record<FieldName, string> {
  return {
    hidden: config.hidden.join(','),
    dropout: String(config.dropout),
    optimizer: config.optimizer,
    lr: String(config.lr),
    momentum: String(config.momentum),
    schedule: config.schedule,
    batch: String(config.batchSize),
    epochs: String(config.epochs),
    train: String(config.train),
    seed: String(config.seed),
  };
}

/** "784-300-100-10", the way the articles name an MLP. */
export function describeModel(config: TrainConfig): string {
  return [784, ...config.hidden, 10].join('-');
}

/**
 * (Dense → ReLU → [Dropout]) per hidden width, then Dense to the 10 logits. The weights come from a
 * generator seeded by `seed` and each Dropout from its own, so adding dropout does not re-draw them
 * (the command line's rule, cli/build.ts).
 */
export function buildModel(config: TrainConfig): Sequential {
  const initRng = new Rng(config.seed);
  const layers: Layer[] = [];
  let width = 784;
  for (const units of config.hidden) {
    layers.push(new Dense(width, units, { rng: initRng }), new ReLU());
    if (config.dropout > 0) layers.push(new Dropout(config.dropout, { rng: new Rng(config.seed + 1_000_003 + layers.length) }));
    width = units;
  }
  layers.push(new Dense(width, 10, { rng: initRng }));
  return new Sequential(layers);
}

export function buildOptimizer(config: TrainConfig, params: Tensor[]): Optimizer {
  const { lr, momentum } = config;
  switch (config.optimizer) {
    case 'sgd':
      return new SGD(params, { lr, momentum });
    case 'adam':
      return new Adam(params, { lr });
    case 'adamw':
      return new AdamW(params, { lr });
    case 'rmsprop':
      return new RMSprop(params, { lr, momentum });
    case 'adagrad':
      return new Adagrad(params, { lr });
    case 'adadelta':
      return new Adadelta(params, { lr });
    case 'nadam':
      return new Nadam(params, { lr });
  }
}

/** The schedule the menu names, or null for a constant rate. `stepsOn` on it says when to step it. */
export function buildSchedule(config: TrainConfig, optimizer: Optimizer, batchesPerEpoch: number): Schedule | null {
  switch (config.schedule) {
    case 'none':
      return null;
    case 'cosine':
      return new CosineAnnealing(optimizer, { tMax: config.epochs });
    case 'step':
      return new StepDecay(optimizer, { drop: 0.5, every: 2 });
    case 'exp':
      return new ExponentialDecay(optimizer, { gamma: 0.9 });
    case 'onecycle':
      // Momentum is cycled only where the optimizer has one to cycle (SGD, RMSprop, the Adam family's beta1).
      return new OneCycle(optimizer, {
        maxLr: config.lr,
        totalSteps: config.epochs * batchesPerEpoch,
        cycleMomentum: !['adagrad', 'adadelta'].includes(config.optimizer),
      });
  }
}
