/**
 * One recipe for everything a user can build (STYLE 20): the model, the optimizer and the schedule of a
 * training run, from a plain, JSON-able description (`Recipe`). The command line builds its runs here
 * (cli/build.ts loads the data; cli/options.ts turns flags into a Recipe); a web page does the same
 * from its form or its URL (nothing here needs Node), so the two never re-type each other's tables: the
 * optimizer names and their default rates, the schedule names, their parameters and defaults, the
 * seeds, and the rules between them live in this file alone.
 *
 *   const recipe = checkRecipe({ ...RECIPE_DEFAULTS, optimizer: 'adam', lr: 1e-3, schedule: parseScheduleSpec('cosine') });
 *   const model = buildModel(recipe, 784, 10);
 *   const optimizer = buildOptimizer(recipe, model);
 *   await fit(model, { train, optimizer, epochs: recipe.epochs, augment: recipe.augment,
 *                      schedule: ({ stepsPerEpoch }) => buildSchedule(recipe, optimizer, stepsPerEpoch) });
 */
import { Rng, type Tensor } from '../engine/index.js';
import { AUGMENT_NAMES, type AugmentName } from '../data/index.js';
import { BatchNorm, Dense, Dropout, ReLU, Sequential, Sigmoid, Tanh, l2, maxNorm, type Layer } from '../layers/index.js';
import {
  AdaBound, Adadelta, Adagrad, Adam, AdamW, Adamax, CosineAnnealing, CosineWarmRestarts, Cyclic, ExponentialDecay, Lion, Lookahead, MultiStepDecay,
  Nadam, OneCycle, Optimizer, PolynomialDecay, RAdam, ReduceOnPlateau, RMSprop, SGD, StepDecay, muonWithAdamW, type Schedule, type ScheduleState,
} from '../optim/index.js';
import type { ScheduleLike } from './types.js';

/** The optimizers a recipe names (the command line's `--optimizer`). */
export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta', 'nadam', 'adamax', 'radam', 'adabound', 'lion', 'muon'] as const;
/** One of `OPTIMIZER_NAMES`. */
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/**
 * Each optimizer's rate when none is given. SGD's 0.05 with momentum 0.9 is what the default MNIST run
 * was tuned with (see README); the others are PyTorch's defaults (Keras's for Lion, which PyTorch lacks).
 */
export const DEFAULT_LR: Record<OptimizerName, number> = {
  sgd: 0.05,
  adam: 0.001,
  adamw: 0.001,
  rmsprop: 0.001,
  adagrad: 0.01,
  adadelta: 1.0,
  nadam: 0.002,
  adamax: 0.002,
  radam: 0.001,
  adabound: 0.001,
  lion: 0.0001,
  muon: 0.001,
};

/** The optimizers that take `momentum`, and its default for each. */
export const MOMENTUM_DEFAULT: Partial<Record<OptimizerName, number>> = { sgd: 0.9, rmsprop: 0, muon: 0.95 };

/** The schedules a recipe names (the command line's `--schedule`). */
export const SCHEDULE_NAMES = ['none', 'step', 'exp', 'cosine', 'onecycle', 'plateau', 'cyclic', 'restarts', 'multistep', 'poly'] as const;
/** One of `SCHEDULE_NAMES`. */
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** What a schedule parameter's text is: a number >= 0, a whole number >= 1, a list of epochs joined by `+`, or one of some names. */
export type ScheduleParamKind = 'number' | 'integer' | 'epochs' | readonly string[];

/** The parameters each schedule accepts after its colon (`step:drop=0.5,every=10`), and what each takes. */
export const SCHEDULE_PARAMS: Record<ScheduleName, Readonly<Record<string, ScheduleParamKind>>> = {
  none: {},
  step: { drop: 'number', every: 'integer' },
  exp: { gamma: 'number' },
  cosine: { tmax: 'integer', min: 'number' },
  onecycle: { max: 'number' },
  plateau: { factor: 'number', patience: 'number', min: 'number' },
  cyclic: { min: 'number', max: 'number', step: 'number', down: 'number', mode: ['triangular', 'triangular2', 'exprange'], gamma: 'number' },
  restarts: { t0: 'integer', mult: 'integer', min: 'number' },
  multistep: { at: 'epochs', gamma: 'number' },
  poly: { total: 'integer', power: 'number' },
};

/**
 * Each schedule parameter's default, as the help and a page's empty field show it (EPOCHS is the run's
 * length, LR its rate; cyclic's `down` is its `step` unless given). buildSchedule applies these.
 */
export const SCHEDULE_DEFAULTS: Record<ScheduleName, Readonly<Record<string, string>>> = {
  none: {},
  step: { drop: '0.5', every: '10' },
  exp: { gamma: '0.95' },
  cosine: { tmax: 'EPOCHS', min: '0' },
  onecycle: { max: 'LR' },
  plateau: { factor: '0.1', patience: '10', min: '0' },
  cyclic: { min: 'LR/4', max: 'LR', step: '2', down: 'step', mode: 'triangular', gamma: '1' },
  restarts: { t0: '10', mult: '2', min: '0' },
  multistep: { at: 'EPOCHS/2+3*EPOCHS/4', gamma: '0.1' },
  poly: { total: 'EPOCHS', power: '1' },
};

/** What a schedule's parameters mean where their names do not say it (cyclic's step and down are epochs, and it steps per batch). */
export const SCHEDULE_NOTES: Partial<Record<ScheduleName, string>> = {
  cyclic: 'step, down: epochs up and down; per batch',
};

/**
 * What the help says each schedule's parameters are, with their defaults (EPOCHS is the run's length, LR its
 * rate; a parameter that takes one of some names lists them): `step:drop=0.5,every=10`.
 */
export const SCHEDULE_HELP: Record<ScheduleName, string> = Object.fromEntries(
  SCHEDULE_NAMES.map((name) => {
    const pairs = Object.entries(SCHEDULE_PARAMS[name]).map(([key, kind]) => `${key}=${Array.isArray(kind) ? kind.join('|') : SCHEDULE_DEFAULTS[name][key]}`);
    const note = SCHEDULE_NOTES[name];
    return [name, `${pairs.length > 0 ? `${name}:${pairs.join(',')}` : name}${note === undefined ? '' : ` (${note})`}`];
  }),
) as Record<ScheduleName, string>;

/** A schedule parameter's value: a number, a list of epochs (multistep's `at`), or a name (cyclic's `mode`). */
export type ScheduleParam = number | number[] | string;

/** A schedule as a recipe names it: `{ name: 'step', params: { drop: 0.5, every: 10 } }`. */
export interface ScheduleSpec {
  /** Which schedule. */
  name: ScheduleName;
  /** Its parameters that were given (the others take their defaults, SCHEDULE_HELP). */
  params: Record<string, ScheduleParam>;
  /**
   * For the schedules that span the run (`spansRun`): the epoch at which each cycle ends. Absent: one
   * cycle over `epochs`. A resume that extends a finished cycle adds one (the command line's
   * `--resume --epochs`); never written by hand.
   */
  cycles?: number[];
}

/** A recipe that breaks a rule: the message names the field (or flag) and the value, and what is expected. */
export class RecipeError extends RangeError {
  /** The error's class name. */
  override name = 'RecipeError';
}

/**
 * `none`, `cosine`, `step:drop=0.5,every=10`, `multistep:at=10+15`, `cyclic:mode=triangular2` → a
 * ScheduleSpec. A RecipeError names `label` (the flag, or the form's field) and the text.
 */
export function parseScheduleSpec(text: string, label = 'schedule'): ScheduleSpec {
  const bad = (expected: string): never => {
    throw new RecipeError(`${label} ${JSON.stringify(text)}: expected ${expected}`);
  };
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  if (!(SCHEDULE_NAMES as readonly string[]).includes(name)) bad(`one of ${SCHEDULE_NAMES.join(', ')}`);
  const kinds = SCHEDULE_PARAMS[name as ScheduleName];
  const allowed = Object.keys(kinds);
  const params: Record<string, ScheduleParam> = {};
  if (colon >= 0) {
    for (const pair of text.slice(colon + 1).split(',')) {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      if (!allowed.includes(key)) bad(allowed.length ? `${name} parameters among ${allowed.join(', ')} (e.g. ${name}:${allowed[0]}=...)` : `no parameters for ${name}`);
      const kind = kinds[key];
      if (Array.isArray(kind)) {
        if (!kind.includes(value)) bad(`${key}=<${kind.join('|')}>`);
        params[key] = value;
      } else if (kind === 'epochs') {
        const list = value.split('+').map(parseDecimal);
        if (!list.every((e) => Number.isInteger(e) && e >= 0)) bad(`${key}=<epochs joined by +, e.g. ${key}=10+15>`);
        params[key] = list;
      } else {
        const n = parseDecimal(value);
        if (!(Number.isFinite(n) && n >= 0)) bad(`${key}=<a number >= 0>`);
        if (kind === 'integer' && !(Number.isInteger(n) && n >= 1)) bad(`${key}=<a whole number >= 1>`);
        params[key] = n;
      }
    }
  }
  return { name: name as ScheduleName, params };
}

/** `step:drop=0.5,every=10` from a ScheduleSpec (the inverse of parseScheduleSpec; cycles are not text). */
export function formatScheduleSpec(spec: ScheduleSpec): string {
  const text = Object.entries(spec.params).map(([k, v]) => `${k}=${formatScheduleParam(v)}`).join(',');
  return text ? `${spec.name}:${text}` : spec.name;
}

/** One parameter's value as a spec spells it: `0.5`, `10+15` (multistep's epochs), `triangular2`. */
export function formatScheduleParam(value: ScheduleParam): string {
  return Array.isArray(value) ? value.join('+') : String(value);
}

/** A decimal number as people write one (`0.05`, `.5`, `5e-4`), else NaN: no hex, no Infinity, no blanks. */
export function parseDecimal(text: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : NaN;
}

/** The hidden layers' nonlinearities a recipe names, each the layer of that name in layers/. */
export const HIDDEN_ACTIVATIONS = ['relu', 'tanh', 'sigmoid'] as const;
/** One of `HIDDEN_ACTIVATIONS`. */
export type HiddenActivation = (typeof HIDDEN_ACTIVATIONS)[number];

/** Everything that defines a run's model, optimizer, schedule and augmentation: plain data, JSON-able. */
export interface Recipe {
  /** Hidden layer widths; [] is softmax regression. */
  layers: number[];
  /** Dropout after each hidden layer, in [0, 1). */
  dropout: number;
  /** Dropout on the inputs, in [0, 1). */
  inputDropout: number;
  /** BatchNorm after each hidden Dense layer. */
  batchNorm: boolean;
  /**
   * The nonlinearity after each hidden Dense (and its BatchNorm); absent: relu. The playground offers
   * all three (a sigmoid net shows vanishing gradients); the command line trains relu.
   */
  activation?: HiddenActivation;
  /** Keras's L2 penalty λ·Σw² on every Dense kernel (0: none). */
  l2: number;
  /** The max-norm constraint on hidden Dense kernels (0: none; Srivastava et al. 2014 pair it with dropout). */
  maxNorm: number;
  /** The optimizer. */
  optimizer: OptimizerName;
  /** Its learning rate. */
  lr: number;
  /** momentum for sgd, rmsprop or muon; null: the optimizer's own default (MOMENTUM_DEFAULT). */
  momentum: number | null;
  /** Nesterov momentum (sgd). */
  nesterov: boolean;
  /** Keras's time-based decay per step (sgd). */
  decay: number;
  /** Weight decay: coupled L2 for most; decoupled for adamw, lion and muon (0 keeps adamw's 0.01 and muon's 0.1). */
  weightDecay: number;
  /** Lookahead's k (inner steps between synchronisations) around the optimizer; null: no Lookahead. */
  lookahead: number | null;
  /** Lookahead's alpha. */
  lookaheadAlpha: number;
  /** The learning-rate schedule. */
  schedule: ScheduleSpec;
  /** Epochs to train (what cosine, onecycle and poly span by default). */
  epochs: number;
  /** The seed of every random choice (weights, dropout masks, split, shuffle, augmentation). */
  seed: number;
  /** The data augmentations, by name (images only; flip only where a mirror keeps the class). */
  augment: AugmentName[];
}

/** The recipe `npm run train` trains: MNIST's 784-300-100-10, SGD lr 0.05 momentum 0.9, cosine to 0 over 10 epochs. */
export const RECIPE_DEFAULTS: Readonly<Recipe> = Object.freeze({
  layers: [300, 100],
  dropout: 0,
  inputDropout: 0,
  batchNorm: false,
  activation: 'relu',
  l2: 0,
  maxNorm: 0,
  optimizer: 'sgd',
  lr: DEFAULT_LR.sgd,
  momentum: null,
  nesterov: false,
  decay: 0,
  weightDecay: 0,
  lookahead: null,
  lookaheadAlpha: 0.5,
  // Cosine annealing to 0 over the run: the last epochs settle instead of wobbling (measured on the
  // default MNIST run: validation accuracy 0.975-0.983 over epochs 5-10 at a constant 0.05, 0.986 at the end with cosine).
  schedule: { name: 'cosine', params: {} },
  epochs: 10,
  seed: 1,
  augment: [],
} as Recipe);

/**
 * The rules between a recipe's fields, checked: a RecipeError for the first broken one, naming the
 * fields as `name` spells them (the command line passes its flag names: "--momentum 0.5: applies to
 * --optimizer sgd, rmsprop or muon only"). Returns the recipe.
 */
export function checkRecipe<R extends Recipe>(recipe: R, name: (field: keyof Recipe) => string = (f) => f): R {
  const r = recipe;
  const fail = (message: string): never => {
    throw new RecipeError(message);
  };
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(r.optimizer)) fail(`${name('optimizer')} ${JSON.stringify(r.optimizer)}: expected one of ${OPTIMIZER_NAMES.join(', ')}`);
  const withMomentum = Object.keys(MOMENTUM_DEFAULT);
  if (r.momentum !== null && MOMENTUM_DEFAULT[r.optimizer] === undefined) {
    fail(`${name('momentum')} ${r.momentum}: applies to ${name('optimizer')} ${withMomentum.join(', ').replace(/, (\w+)$/, ' or $1')} only (got ${r.optimizer})`);
  }
  if (r.nesterov && (r.optimizer !== 'sgd' || r.momentum === 0)) {
    fail(`${name('nesterov')} needs ${name('optimizer')} sgd with ${name('momentum')} > 0 (got ${r.optimizer}, momentum ${r.momentum ?? MOMENTUM_DEFAULT[r.optimizer] ?? 0})`);
  }
  if (r.decay > 0 && r.optimizer !== 'sgd') {
    fail(`${name('decay')} ${r.decay}: Keras-style decay applies to ${name('optimizer')} sgd only (got ${r.optimizer}); see ${name('schedule')}`);
  }
  if (r.activation !== undefined && !(HIDDEN_ACTIVATIONS as readonly string[]).includes(r.activation)) {
    fail(`${name('activation')} ${JSON.stringify(r.activation)}: expected one of ${HIDDEN_ACTIVATIONS.join(', ')}`);
  }
  if (r.lookahead !== null && !(Number.isInteger(r.lookahead) && r.lookahead >= 1)) fail(`${name('lookahead')} ${r.lookahead}: expected k, a whole number of steps >= 1`);
  if (r.lookahead === null && r.lookaheadAlpha !== RECIPE_DEFAULTS.lookaheadAlpha) {
    fail(`${name('lookaheadAlpha')} ${r.lookaheadAlpha}: applies with ${name('lookahead')} K only (Lookahead's synchronisation every K steps)`);
  }
  if (!(r.lookaheadAlpha >= 0 && r.lookaheadAlpha <= 1)) fail(`${name('lookaheadAlpha')} ${r.lookaheadAlpha}: expected 0 <= alpha <= 1`);
  for (const a of r.augment) {
    if (!(AUGMENT_NAMES as readonly string[]).includes(a)) fail(`${name('augment')} ${JSON.stringify(a)}: expected some of ${AUGMENT_NAMES.join(', ')}`);
  }
  return recipe;
}

/**
 * BatchNorm normalizes by the batch's own variance in training, which one sample does not have (PyTorch
 * refuses it too: "Expected more than 1 value per channel"). A batch of one comes from a batch size of 1,
 * or as the last of each epoch when the training samples are one more than a multiple of the batch
 * size: a RecipeError before training (with a batch size that works), rather than a crash at the end of
 * epoch 1. Nothing to check without BatchNorm or without a hidden layer (where it would sit). `name`
 * spells the fields as checkRecipe's does, and `batchSize` too.
 */
export function checkBatches(recipe: Recipe, batchSize: number, count: number, name: (field: keyof Recipe | 'batchSize') => string = (f) => f): void {
  if (!recipe.batchNorm || recipe.layers.length === 0) return;
  const b = batchSize;
  if (b === 1) throw new RecipeError(`${name('batchNorm')} needs batches of at least 2 samples (${name('batchSize')} 1): BatchNorm normalizes by the batch's variance`);
  if (count % b === 1) {
    const near = [b + 1, b - 1, b + 2, b - 2, b + 3].find((c) => c >= 2 && count % c !== 1);
    throw new RecipeError(
      `${name('batchSize')} ${b}: with ${name('batchNorm')}, the last batch of each epoch would hold 1 of the ${count} training samples, and BatchNorm needs at least 2; ` +
        `choose another ${name('batchSize')}${near ? ` (e.g. ${near})` : ''}`,
    );
  }
}

/** The generator seeds, derived from the recipe's seed (fixed offsets keep them apart and reproducible). */
export const seeds = {
  /** The initial weights'. */
  init: (seed: number) => seed,
  /** The validation split's. */
  split: (seed: number) => seed + 7919,
  /** The loader's (shuffle order, augmentation). */
  loader: (seed: number) => seed + 104729,
  /** The masks of the Dropout layer at position `layer` of the model. */
  dropout: (seed: number, layer: number) => seed + 1_000_003 + layer,
};

/**
 * The multilayer perceptron of the reference articles: [input dropout] → (Dense → [BatchNorm] → ReLU
 * (or the recipe's activation) → [Dropout]) per hidden width → Dense to the class logits. `l2` regularizes every Dense kernel, `maxNorm`
 * constrains the hidden ones. Every generator is seeded from the recipe's seed, each for one purpose
 * (weights, each Dropout layer), so adding dropout does not re-draw the initial weights.
 */
export function buildModel(recipe: Recipe, inputs: number, classes: number): Sequential {
  const initRng = new Rng(seeds.init(recipe.seed));
  const layers: Layer[] = [];
  const dropoutRng = () => new Rng(seeds.dropout(recipe.seed, layers.length));
  if (recipe.inputDropout > 0) layers.push(new Dropout(recipe.inputDropout, { rng: dropoutRng() }));
  let width = inputs;
  for (const units of recipe.layers) {
    layers.push(
      new Dense(width, units, {
        rng: initRng,
        kernelRegularizer: recipe.l2 > 0 ? l2(recipe.l2) : null,
        kernelConstraint: recipe.maxNorm > 0 ? maxNorm(recipe.maxNorm) : null,
      }),
    );
    if (recipe.batchNorm) layers.push(new BatchNorm(units));
    layers.push(activationLayer(recipe.activation ?? 'relu'));
    if (recipe.dropout > 0) layers.push(new Dropout(recipe.dropout, { rng: dropoutRng() }));
    width = units;
  }
  layers.push(new Dense(width, classes, { rng: initRng, kernelRegularizer: recipe.l2 > 0 ? l2(recipe.l2) : null }));
  return new Sequential(layers);
}

/** The layer an activation name stands for. */
function activationLayer(name: HiddenActivation): Layer {
  switch (name) {
    case 'relu':
      return new ReLU();
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
  }
}

/**
 * The recipe's optimizer over the model's parameters: muon is Muon for the weight matrices and AdamW
 * for the rest (`muonWithAdamW`), and with `lookahead` K the optimizer is wrapped in Lookahead.
 */
export function buildOptimizer(recipe: Recipe, model: { parameters(): Tensor[] }): Optimizer {
  const params = model.parameters();
  const { lr, weightDecay } = recipe;
  const momentum = recipe.momentum ?? MOMENTUM_DEFAULT[recipe.optimizer] ?? 0;
  const inner = ((): Optimizer => {
    switch (recipe.optimizer) {
      case 'sgd':
        return new SGD(params, { lr, momentum, nesterov: recipe.nesterov, decay: recipe.decay, weightDecay });
      case 'adam':
        return new Adam(params, { lr, weightDecay });
      case 'adamw':
        return new AdamW(params, { lr, ...(weightDecay > 0 ? { weightDecay } : {}) });
      case 'rmsprop':
        return new RMSprop(params, { lr, momentum, weightDecay });
      case 'adagrad':
        return new Adagrad(params, { lr, weightDecay });
      case 'adadelta':
        return new Adadelta(params, { lr, weightDecay });
      case 'nadam':
        return new Nadam(params, { lr, weightDecay });
      case 'adamax':
        return new Adamax(params, { lr, weightDecay });
      case 'radam':
        return new RAdam(params, { lr, weightDecay });
      case 'adabound':
        return new AdaBound(params, { lr, weightDecay });
      case 'lion':
        return new Lion(params, { lr, weightDecay });
      case 'muon':
        return muonWithAdamW(params, { lr, momentum, ...(weightDecay > 0 ? { weightDecay } : {}) });
    }
  })();
  return recipe.lookahead === null ? inner : new Lookahead(inner, { k: recipe.lookahead, alpha: recipe.lookaheadAlpha });
}

/**
 * What buildOptimizer builds, in words: `sgd lr 0.05`, `muon lr 0.02 (Muon for the weight matrices,
 * AdamW at 0.1 of the rate for the rest) in Lookahead k 5 alpha 0.5` (the command line's run line, the
 * page's model line).
 */
export function describeOptimizer(recipe: Recipe): string {
  const muon = recipe.optimizer === 'muon' ? ' (Muon for the weight matrices, AdamW at 0.1 of the rate for the rest)' : '';
  const lookahead = recipe.lookahead === null ? '' : ` in Lookahead k ${recipe.lookahead} alpha ${recipe.lookaheadAlpha}`;
  return `${recipe.optimizer} lr ${recipe.lr}${muon}${lookahead}`;
}

/**
 * True for the schedules whose shape is the run's length: cosine without `tmax` (it anneals to its
 * minimum at the last epoch), onecycle (its one cycle spans every batch of the run) and poly without
 * `total` (it reaches 0 at the last epoch).
 */
export function spansRun(recipe: Recipe): boolean {
  const { name, params } = recipe.schedule;
  return (name === 'cosine' && params.tmax === undefined) || name === 'onecycle' || (name === 'poly' && params.total === undefined);
}

/** The epoch at which each cycle of a run-spanning schedule ends (one cycle over the run, unless extended). */
export function cyclesOf(recipe: Recipe): number[] {
  return recipe.schedule.cycles ?? [recipe.epochs];
}

/** The schedules a recipe builds: optim's, or Restarted for extended onecycle and poly runs. */
export type RunSchedule = Schedule | ReduceOnPlateau | Restarted;

/**
 * A run-spanning schedule (onecycle, poly) started over at each extension of the run: cycle k runs from
 * the end of cycle k-1 (its index counted from 0 there) to its own end, as SGDR's warm restarts do
 * (Loshchilov & Hutter 2017; cosine's restarts are CosineWarmRestarts with `periods`). Epochs of the
 * first cycle are as they were.
 */
export class Restarted implements ScheduleLike {
  /** What fit steps it on: the cycles' own unit (batches for onecycle). */
  readonly stepsOn: 'epoch' | 'batch';

  constructor(
    /** One schedule per cycle. */
    readonly cycles: readonly Schedule[],
    /** `starts[k]`: the index (epoch, or batch for onecycle) where cycle k begins; starts[0] is 0. */
    readonly starts: readonly number[],
  ) {
    this.stepsOn = cycles[0].stepsOn === 'batch' ? 'batch' : 'epoch';
  }

  /** Steps the cycle that index t falls in, at t's index within it. */
  step(t: number): number {
    let k = this.cycles.length - 1;
    while (k > 0 && t < this.starts[k]) k--;
    return this.cycles[k].step(t - this.starts[k]);
  }

  /** Every cycle's state. */
  stateDict(): {
    /** The class name. */
    type: 'Restarted';
    /** Each cycle's state. */
    cycles: ScheduleState[];
  } {
    return { type: 'Restarted', cycles: this.cycles.map((c) => c.stateDict()) };
  }

  /** A Restarted state, or a single schedule's (a checkpoint written before the extension): the first cycle's. */
  loadStateDict(state: ScheduleState | { type: 'Restarted'; cycles: ScheduleState[] }): void {
    if (state.type !== 'Restarted') return this.cycles[0].loadStateDict(state as ScheduleState);
    (state.cycles as ScheduleState[]).forEach((s, k) => this.cycles[k]?.loadStateDict(s));
  }
}

/** True when the optimizer has a momentum or betas for Cyclic and OneCycle to cycle (not Adagrad's or Adadelta's). */
function hasMomentum(optimizer: Optimizer): boolean {
  return optimizer.paramGroups.some((g) => Array.isArray((g as { betas?: unknown }).betas) || typeof (g as { momentum?: unknown }).momentum === 'number');
}

/**
 * The recipe's schedule over `optimizer`, for a run of `stepsPerEpoch` batches an epoch. Defaults: step
 * halves every 10 epochs, exp uses gamma 0.95, cosine anneals to 0 over the whole run, onecycle peaks at
 * the rate over the whole run (per batch), plateau divides by 10 after 10 epochs without a better
 * validation loss, cyclic goes between a quarter of the rate and the rate, two epochs up and two down
 * (per batch; momentum or beta1 cycled between 0.8 and 0.9, PyTorch's CyclicLR), restarts anneals over
 * 10 epochs then 20, 40... (SGDR's T0 10, Tmult 2), multistep divides by 10 at half and three quarters
 * of the run, poly falls linearly to 0 over the run. Cosine (without tmax), onecycle and poly (without
 * total) span the run's cycles (`cyclesOf`): extended, cosine is CosineWarmRestarts over the cycles'
 * lengths and the others `Restarted`. A RecipeError names the schedule (as `label`: the command line's
 * `--schedule`) and what its parameters broke.
 */
export function buildSchedule(recipe: Recipe, optimizer: Optimizer, stepsPerEpoch: number, label = 'schedule'): RunSchedule | undefined {
  const p = recipe.schedule.params;
  const num = (key: string, fallback: number): number => (p[key] as number | undefined) ?? fallback;
  const name = recipe.schedule.name;
  const lr = recipe.lr;
  const cycles = cyclesOf(recipe);
  const ends = [0, ...cycles];
  // One schedule per cycle, each built from the recipe's rate (a schedule reads its base rate from the optimizer).
  const spanning = (length: number): Schedule => {
    optimizer.lr = lr;
    if (name === 'onecycle') return new OneCycle(optimizer, { maxLr: num('max', lr), totalSteps: length * stepsPerEpoch, cycleMomentum: hasMomentum(optimizer) });
    if (name === 'poly') return new PolynomialDecay(optimizer, { total: length, power: num('power', 1) });
    return new CosineAnnealing(optimizer, { tMax: length, minLr: num('min', 0) });
  };
  try {
    switch (name) {
      case 'none':
        return undefined;
      case 'step':
        return new StepDecay(optimizer, { drop: num('drop', 0.5), every: num('every', 10) });
      case 'exp':
        return new ExponentialDecay(optimizer, { gamma: num('gamma', 0.95) });
      case 'plateau':
        return new ReduceOnPlateau(optimizer, { factor: num('factor', 0.1), patience: num('patience', 10), minLr: num('min', 0) });
      case 'cyclic': {
        const step = Math.max(1, Math.round(num('step', 2) * stepsPerEpoch));
        const down = p.down === undefined ? step : Math.max(1, Math.round(num('down', 2) * stepsPerEpoch));
        const mode = ({ triangular: 'triangular', triangular2: 'triangular2', exprange: 'expRange' } as const)[(p.mode as string | undefined) ?? 'triangular'] ?? 'triangular';
        return new Cyclic(optimizer, {
          baseLr: num('min', lr / 4), maxLr: num('max', lr), stepSize: step, stepSizeDown: down, mode, gamma: num('gamma', 1), cycleMomentum: hasMomentum(optimizer),
        });
      }
      case 'restarts':
        return new CosineWarmRestarts(optimizer, { t0: num('t0', 10), tMult: num('mult', 2), minLr: num('min', 0) });
      case 'multistep': {
        const at = (p.at as number[] | undefined) ?? [Math.round(recipe.epochs / 2), Math.round((3 * recipe.epochs) / 4)];
        return new MultiStepDecay(optimizer, { milestones: at, gamma: num('gamma', 0.1) });
      }
      case 'cosine':
      case 'onecycle':
      case 'poly': {
        if (name === 'cosine' && p.tmax !== undefined) return new CosineAnnealing(optimizer, { tMax: num('tmax', 1), minLr: num('min', 0) });
        if (name === 'poly' && p.total !== undefined) return new PolynomialDecay(optimizer, { total: num('total', 1), power: num('power', 1) });
        if (cycles.length === 1) return spanning(cycles[0]);
        const lengths = cycles.map((end, k) => end - ends[k]);
        if (name === 'cosine') {
          optimizer.lr = lr;
          return new CosineWarmRestarts(optimizer, { periods: lengths, minLr: num('min', 0) });
        }
        // Built last to first, so that the optimizer is left at the first cycle's start.
        const built = lengths.map((_, k) => k).reverse().map((k) => spanning(lengths[k])).reverse();
        const unit = name === 'onecycle' ? stepsPerEpoch : 1;
        return new Restarted(built, ends.slice(0, -1).map((e) => e * unit));
      }
    }
  } catch (e) {
    if (e instanceof RecipeError) throw e;
    throw new RecipeError(`${label} ${formatScheduleSpec(recipe.schedule)}: ${(e as Error).message}`);
  }
}
