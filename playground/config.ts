/**
 * What the reader can change on the page, checked, and the model, optimizer and schedule it builds.
 * The defaults are the command line's (`tapegrad train`: 784-300-100-10, SGD lr 0.05 momentum 0.9,
 * cosine annealing to 0, batch 64), so the page and `npm run train` learn the same way. The form and the
 * page's URL use the same names (`?hidden=300,100&activation=tanh&lr=0.05&autostart=1`), so a link
 * reproduces a run: `shareUrl` writes one, `parseConfig` reads it back.
 *
 * The recipe (buildModel, buildOptimizer, buildSchedule below) is the seam to the command line's:
 * cli/build.ts builds the same model in the same order from the same seeds, and the shared recipe
 * module (train/recipe.ts, issue 22) is to replace these three functions and the optimizer and schedule
 * menus, so that the page offers every optimizer and schedule the command line has. Nothing else in
 * the playground builds a model, an optimizer or a schedule.
 */
import { Rng } from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { BatchNorm, Dense, Dropout, type Layer, ReLU, Sequential, Sigmoid, Tanh } from '../layers/index.js';
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

/** The hidden layers' nonlinearity, each the layer of that name in layers/. */
export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

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
  /** Widths of the hidden layers; empty is softmax regression (784 → 10). */
  hidden: number[];
  /** The nonlinearity after each hidden Dense (and its BatchNorm). */
  activation: ActivationName;
  /** BatchNorm between each hidden Dense and its activation (the command line's --batch-norm). */
  batchNorm: boolean;
  /** Dropout after each hidden layer, in [0, 1). */
  dropout: number;
  /** Dropout on the 784 pixels, before the first layer (the command line's --input-dropout), in [0, 1). */
  inputDropout: number;
  /**
   * The standard deviation of Gaussian noise added to every training pixel (values in [0, 1]) of every
   * batch, fresh each time (Keras's GaussianNoise on the input); 0 for none. Testing sees clean images.
   */
  noise: number;
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
  activation: 'relu',
  batchNorm: false,
  dropout: 0,
  inputDropout: 0,
  noise: 0,
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
export const FIELDS = [
  'hidden', 'activation', 'batchnorm', 'dropout', 'inputdropout', 'noise',
  'optimizer', 'lr', 'momentum', 'schedule', 'batch', 'epochs', 'train', 'seed',
] as const;
export type FieldName = (typeof FIELDS)[number];

/** The one check box among the fields: '1' (on) or '0' in the URL, `checked` in the form. */
export const SWITCHES: readonly FieldName[] = ['batchnorm'];

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
  const oneOf = <T extends string>(name: FieldName, choices: readonly T[], fallback: T): T => {
    const text = get(name) ?? fallback;
    return (choices as readonly string[]).includes(text) ? (text as T) : bad(name, text, `one of ${choices.join(', ')}`);
  };

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
  const optimizer = oneOf('optimizer', OPTIMIZERS, DEFAULTS.optimizer);
  const batchNormText = get('batchnorm') ?? '0';
  if (batchNormText !== '0' && batchNormText !== '1') bad('batchnorm', batchNormText, '0 or 1');
  const rate = (name: FieldName, fallback: number) => num(name, fallback, (v) => v >= 0 && v < 1, 'a rate in [0, 1)');

  const config: TrainConfig = {
    hidden,
    activation: oneOf('activation', ACTIVATIONS, DEFAULTS.activation),
    batchNorm: batchNormText === '1',
    dropout: rate('dropout', DEFAULTS.dropout),
    inputDropout: rate('inputdropout', DEFAULTS.inputDropout),
    noise: num('noise', DEFAULTS.noise, (v) => v >= 0 && v <= 1, 'a standard deviation from 0 to 1'),
    optimizer,
    lr: num('lr', DEFAULT_LR[optimizer], (v) => v > 0 && v <= 100, 'a learning rate > 0 (at most 100)'),
    momentum: num('momentum', DEFAULTS.momentum, (v) => v >= 0 && v < 1, 'a momentum in [0, 1)'),
    schedule: oneOf('schedule', Object.keys(SCHEDULES) as ScheduleName[], DEFAULTS.schedule),
    batchSize: int('batch', DEFAULTS.batchSize, 1, 4096),
    epochs: int('epochs', DEFAULTS.epochs, 1, 1000),
    train: int('train', DEFAULTS.train, 1, MNIST_TRAIN_SIZE),
    seed: int('seed', DEFAULTS.seed, 0, 2 ** 31 - 1),
  };
  checkBatchNorm(config);
  return config;
}

/**
 * BatchNorm divides by the batch's own variance, which one image does not have: a batch of 1, or an
 * epoch whose last batch holds one image, fails (the command line refuses both before training too).
 */
function checkBatchNorm(config: TrainConfig): void {
  if (!config.batchNorm || config.hidden.length === 0) return;
  const b = config.batchSize;
  const n = Math.min(config.train, MNIST_TRAIN_SIZE);
  if (b === 1 || n % b === 1) {
    throw new RangeError(`batch: ${b} with BatchNorm leaves a batch of 1 image (of ${n}), and BatchNorm needs at least 2; choose another batch size`);
  }
}

/** The fields that give `config` back through parseConfig (to fill the form, or to build a link). */
export function configFields(config: TrainConfig): Record<FieldName, string> {
  return {
    hidden: config.hidden.join(','),
    activation: config.activation,
    batchnorm: config.batchNorm ? '1' : '0',
    dropout: String(config.dropout),
    inputdropout: String(config.inputDropout),
    noise: String(config.noise),
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

/**
 * The page's address with `config` in its query: the fields that differ from the defaults (the
 * optimizer's own default rate counts as a default), so that a link says what was changed. Opening it
 * fills the form with `config`; anything else in the query (`autostart`) is kept.
 */
export function shareUrl(config: TrainConfig, page: string): string {
  const url = new URL(page);
  for (const name of FIELDS) url.searchParams.delete(name);
  const fields = configFields(config);
  const defaults = configFields({ ...DEFAULTS, lr: DEFAULT_LR[config.optimizer] });
  for (const name of FIELDS) if (fields[name] !== defaults[name]) url.searchParams.set(name, fields[name]);
  return url.href;
}

/** "784-300-100-10", the way the articles name an MLP, with what else the hidden layers do. */
export function describeModel(config: TrainConfig): string {
  const parts = [[784, ...config.hidden, 10].join('-')];
  if (config.hidden.length > 0) parts.push(config.activation);
  if (config.batchNorm && config.hidden.length > 0) parts.push('BatchNorm');
  if (config.inputDropout > 0) parts.push(`input dropout ${config.inputDropout}`);
  if (config.dropout > 0 && config.hidden.length > 0) parts.push(`dropout ${config.dropout}`);
  if (config.noise > 0) parts.push(`input noise σ ${config.noise}`);
  return parts.join(', ');
}

/** The generator seeds, derived from `seed` as cli/build.ts derives them from --seed. */
export const seeds = {
  init: (seed: number) => seed,
  loader: (seed: number) => seed,
  dropout: (seed: number, layer: number) => seed + 1_000_003 + layer,
  noise: (seed: number) => seed + 2_000_003,
};

/**
 * [input Dropout] → (Dense → [BatchNorm] → activation → [Dropout]) per hidden width → Dense to the 10
 * logits: the command line's model (cli/build.ts buildModel), in its order. The weights come from a
 * generator seeded by `seed` and each Dropout from its own, so adding dropout does not re-draw them.
 */
export function buildModel(config: TrainConfig): Sequential {
  const initRng = new Rng(seeds.init(config.seed));
  const layers: Layer[] = [];
  const dropoutRng = () => new Rng(seeds.dropout(config.seed, layers.length));
  if (config.inputDropout > 0) layers.push(new Dropout(config.inputDropout, { rng: dropoutRng() }));
  let width = 784;
  for (const units of config.hidden) {
    layers.push(new Dense(width, units, { rng: initRng }));
    if (config.batchNorm) layers.push(new BatchNorm(units));
    layers.push(activationLayer(config.activation));
    if (config.dropout > 0) layers.push(new Dropout(config.dropout, { rng: dropoutRng() }));
    width = units;
  }
  layers.push(new Dense(width, 10, { rng: initRng }));
  return new Sequential(layers);
}

function activationLayer(name: ActivationName): Layer {
  switch (name) {
    case 'relu':
      return new ReLU();
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
  }
}

/** True for the layers `buildModel` puts after each hidden Dense as its nonlinearity: a hidden layer's output. */
export function isActivation(layer: Layer): boolean {
  return layer instanceof ReLU || layer instanceof Tanh || layer instanceof Sigmoid;
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
