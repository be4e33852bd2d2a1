/**
 * What the reader can change on the page, checked. A run of the page is a recipe (train/recipe.ts), the
 * very one the command line builds its runs from: the same model, optimizer and schedule builders,
 * optimizer names and default rates, schedule names, parameters and defaults, seeds and rules
 * (checkRecipe), so the page offers whatever `tapegrad train` offers and a page's run and `tapegrad train`
 * with the same settings start from the same weights. What is the page's own is here: the form's and the
 * URL's field names, the input noise, the batch size and how many of MNIST's images to train on.
 *
 * The defaults are the command line's (`tapegrad train`: 784-300-100-10, SGD lr 0.05 momentum 0.9,
 * cosine annealing to 0, batch 64). The form and the page's URL use the same names
 * (`?hidden=300,100&activation=tanh&optimizer=lion&schedule=cyclic:step=1&autostart=1`; `schedule`
 * is written as the command line's `--schedule`), so a link reproduces a run: `shareUrl` writes one,
 * `parseConfig` reads it back.
 */
import { Tensor } from '../engine/index.js';
import { Sigmoid, Tanh, ReLU, type Layer } from '../layers/index.js';
import {
  HIDDEN_ACTIVATIONS, DEFAULT_LR, OPTIMIZER_NAMES, RECIPE_DEFAULTS, buildOptimizer, buildSchedule, checkBatches, checkRecipe, formatScheduleParam, formatScheduleSpec, parseDecimal,
  parseScheduleSpec, type HiddenActivation, type OptimizerName, type Recipe, type ScheduleName,
} from '../train/recipe.js';

export const MNIST_TRAIN_SIZE = 60_000;
/** MNIST's pixels per image and classes: the model's inputs and outputs. */
export const INPUTS = 784;
export const CLASSES = 10;

/** A run of the page: a recipe, with the activation always named, and what only the page has. */
export interface TrainConfig extends Recipe {
  activation: HiddenActivation;
  /**
   * The standard deviation of Gaussian noise added to every training pixel (values in [0, 1]) of every
   * batch, fresh each time (Keras's GaussianNoise on the input); 0 for none. Testing sees clean images.
   */
  noise: number;
  batchSize: number;
  /** Training images used: the first `train` of MNIST's 60,000. */
  train: number;
}

export const DEFAULTS: TrainConfig = { ...RECIPE_DEFAULTS, activation: 'relu', noise: 0, batchSize: 64, train: MNIST_TRAIN_SIZE };

/** Each optimizer as the page's menu names it (the names and default rates are the recipe's). */
export const OPTIMIZER_LABELS: Record<OptimizerName, string> = {
  sgd: 'SGD (momentum)',
  adam: 'Adam',
  adamw: 'AdamW',
  rmsprop: 'RMSprop',
  adagrad: 'Adagrad',
  adadelta: 'Adadelta',
  nadam: 'Nadam',
  adamax: 'Adamax',
  radam: 'RAdam',
  adabound: 'AdaBound',
  lion: 'Lion',
  muon: 'Muon (AdamW for biases)',
};

/** What each schedule does, as the page's menu says it (its parameters are the recipe's, SCHEDULE_PARAMS). */
export const SCHEDULE_LABELS: Record<ScheduleName, string> = {
  none: 'constant rate',
  step: 'step: × drop every `every` epochs',
  exp: 'exponential: × gamma every epoch',
  cosine: 'cosine annealing to min over tmax epochs',
  onecycle: 'one cycle (per batch), peak at max',
  plateau: 'on plateau: × factor after patience epochs without a lower training loss',
  cyclic: 'cyclical (per batch): from min to max and back, step epochs up and down epochs down',
  restarts: 'cosine with warm restarts: t0 epochs, each period mult times the last',
  multistep: 'multi-step: × gamma at each epoch of at (e.g. 5+8)',
  poly: 'polynomial decay to 0 over total epochs, to the power',
};

/** The names the form fields and the URL parameters use, in the order the form shows them. */
export const FIELDS = [
  'hidden', 'activation', 'batchnorm', 'dropout', 'inputdropout', 'noise', 'l2', 'maxnorm',
  'optimizer', 'lr', 'momentum', 'nesterov', 'weightdecay', 'lookahead', 'lookaheadalpha', 'schedule',
  'batch', 'epochs', 'train', 'seed',
] as const;
export type FieldName = (typeof FIELDS)[number];

/** The check boxes among the fields: '1' (on) or '0' in the URL, `checked` in the form. */
export const SWITCHES: readonly FieldName[] = ['batchnorm', 'nesterov'];

/** The field of each recipe key whose field is named differently (checkRecipe's messages name the field). */
const FIELD_OF: Partial<Record<keyof Recipe, FieldName>> = {
  layers: 'hidden', batchNorm: 'batchnorm', inputDropout: 'inputdropout', maxNorm: 'maxnorm', weightDecay: 'weightdecay', lookaheadAlpha: 'lookaheadalpha',
};

/**
 * A TrainConfig from text fields (the form, or URL parameters); a missing or empty field keeps its
 * default (`momentum` and `lookahead` empty: the optimizer's own momentum, no Lookahead). Throws a
 * RangeError naming the field and the value when one is not acceptable: a value out of range, or a
 * rule of the recipe broken (checkRecipe's, e.g. a momentum for Adam; checkBatches', a batch of one
 * image under BatchNorm), or a schedule its builder refuses.
 */
export function parseConfig(fields: Partial<Record<FieldName, string>>): TrainConfig {
  const bad = (name: string, value: string, expected: string): never => {
    throw new RangeError(`${name}: ${JSON.stringify(value)} is not ${expected}`);
  };
  const get = (name: FieldName): string | undefined => {
    const v = fields[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const optional = (name: FieldName, ok: (v: number) => boolean, expected: string): number | null => {
    const text = get(name);
    if (text === undefined) return null;
    const v = parseDecimal(text);
    return Number.isFinite(v) && ok(v) ? v : bad(name, text, expected);
  };
  const num = (name: FieldName, fallback: number, ok: (v: number) => boolean, expected: string): number => optional(name, ok, expected) ?? fallback;
  const int = (name: FieldName, fallback: number, min: number, max: number): number =>
    num(name, fallback, (v) => Number.isInteger(v) && v >= min && v <= max, `an integer from ${min} to ${max}`);
  const oneOf = <T extends string>(name: FieldName, choices: readonly T[], fallback: T): T => {
    const text = get(name) ?? fallback;
    return (choices as readonly string[]).includes(text) ? (text as T) : bad(name, text, `one of ${choices.join(', ')}`);
  };
  const flag = (name: FieldName): boolean => {
    const text = get(name) ?? '0';
    return text === '1' ? true : text === '0' ? false : bad(name, text, '0 or 1');
  };

  let layers = DEFAULTS.layers;
  const hiddenText = fields.hidden?.trim();
  // An empty list is allowed on purpose: no hidden layer is softmax regression.
  if (hiddenText !== undefined) {
    const parts = hiddenText === '' || hiddenText === 'none' ? [] : hiddenText.split(',').map((s) => s.trim());
    layers = parts.map((p) => {
      const v = parseDecimal(p);
      return Number.isInteger(v) && v >= 1 && v <= 4096 ? v : bad('hidden', hiddenText, 'a comma-separated list of widths from 1 to 4096 (e.g. 300,100)');
    });
  }
  const optimizer = oneOf('optimizer', OPTIMIZER_NAMES, DEFAULTS.optimizer);
  const rate = (name: FieldName, fallback: number) => num(name, fallback, (v) => v >= 0 && v < 1, 'a rate in [0, 1)');
  const nonNegative = (name: FieldName, fallback: number) => num(name, fallback, (v) => v >= 0, 'a number >= 0');
  const scheduleText = get('schedule');

  const config: TrainConfig = {
    ...DEFAULTS,
    layers,
    activation: oneOf('activation', HIDDEN_ACTIVATIONS, DEFAULTS.activation),
    batchNorm: flag('batchnorm'),
    dropout: rate('dropout', DEFAULTS.dropout),
    inputDropout: rate('inputdropout', DEFAULTS.inputDropout),
    noise: num('noise', DEFAULTS.noise, (v) => v >= 0 && v <= 1, 'a standard deviation from 0 to 1'),
    l2: nonNegative('l2', DEFAULTS.l2),
    maxNorm: nonNegative('maxnorm', DEFAULTS.maxNorm),
    optimizer,
    lr: num('lr', DEFAULT_LR[optimizer], (v) => v > 0 && v <= 100, 'a learning rate > 0 (at most 100)'),
    momentum: optional('momentum', (v) => v >= 0 && v < 1, 'a momentum in [0, 1)'),
    nesterov: flag('nesterov'),
    weightDecay: nonNegative('weightdecay', DEFAULTS.weightDecay),
    lookahead: optional('lookahead', (v) => Number.isInteger(v) && v >= 1 && v <= 1000, 'k, a whole number of steps from 1 to 1000'),
    lookaheadAlpha: num('lookaheadalpha', DEFAULTS.lookaheadAlpha, (v) => v >= 0 && v <= 1, 'an alpha in [0, 1]'),
    schedule: scheduleText === undefined ? DEFAULTS.schedule : parseScheduleSpec(scheduleText, 'schedule'),
    batchSize: int('batch', DEFAULTS.batchSize, 1, 4096),
    epochs: int('epochs', DEFAULTS.epochs, 1, 1000),
    train: int('train', DEFAULTS.train, 1, MNIST_TRAIN_SIZE),
    seed: int('seed', DEFAULTS.seed, 0, 2 ** 31 - 1),
  };
  const field = (key: keyof Recipe | 'batchSize') => (key === 'batchSize' ? 'batch' : (FIELD_OF[key] ?? key));
  checkRecipe(config, field);
  checkBatches(config, config.batchSize, config.train, field);
  checkSchedule(config);
  return config;
}

/**
 * A schedule whose parameters its class refuses (cyclic's min above its max...) is found here, with the
 * form, rather than in the worker once training starts: the recipe builds it over a stand-in weight.
 */
function checkSchedule(config: TrainConfig): void {
  const optimizer = buildOptimizer(config, { parameters: () => [Tensor.zeros([2, 2], { requiresGrad: true })] });
  buildSchedule(config, optimizer, Math.ceil(config.train / config.batchSize), 'schedule');
}

/** The fields that give `config` back through parseConfig (to fill the form, or to build a link). */
export function configFields(config: TrainConfig): Record<FieldName, string> {
  const optional = (v: number | null) => (v === null ? '' : String(v));
  return {
    hidden: config.layers.join(','),
    activation: config.activation,
    batchnorm: config.batchNorm ? '1' : '0',
    dropout: String(config.dropout),
    inputdropout: String(config.inputDropout),
    noise: String(config.noise),
    l2: String(config.l2),
    maxnorm: String(config.maxNorm),
    optimizer: config.optimizer,
    lr: String(config.lr),
    momentum: optional(config.momentum),
    nesterov: config.nesterov ? '1' : '0',
    weightdecay: String(config.weightDecay),
    lookahead: optional(config.lookahead),
    lookaheadalpha: String(config.lookaheadAlpha),
    schedule: formatScheduleSpec(config.schedule),
    batch: String(config.batchSize),
    epochs: String(config.epochs),
    train: String(config.train),
    seed: String(config.seed),
  };
}

/**
 * The schedule field's parts for the form: the menu's name and each given parameter's text
 * (`cyclic:max=0.1,mode=triangular2` → cyclic, { max: '0.1', mode: 'triangular2' }).
 */
export function scheduleParts(text: string): { name: ScheduleName; params: Record<string, string> } {
  const spec = parseScheduleSpec(text, 'schedule');
  return { name: spec.name, params: Object.fromEntries(Object.entries(spec.params).map(([k, v]) => [k, formatScheduleParam(v)])) };
}

/** The schedule field from the menu's name and its parameters' fields; an empty one takes its default (it is left out). */
export function scheduleText(name: string, params: Record<string, string>): string {
  const given = Object.entries(params).map(([k, v]) => [k, v.trim()] as const).filter(([, v]) => v !== '');
  return formatScheduleSpec({ name: name as ScheduleName, params: Object.fromEntries(given) });
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
  const parts = [[INPUTS, ...config.layers, CLASSES].join('-')];
  const hidden = config.layers.length > 0;
  if (hidden) parts.push(config.activation);
  if (config.batchNorm && hidden) parts.push('BatchNorm');
  if (config.inputDropout > 0) parts.push(`input dropout ${config.inputDropout}`);
  if (config.dropout > 0 && hidden) parts.push(`dropout ${config.dropout}`);
  if (config.noise > 0) parts.push(`input noise σ ${config.noise}`);
  if (config.l2 > 0) parts.push(`L2 ${config.l2}`);
  if (config.maxNorm > 0 && hidden) parts.push(`max-norm ${config.maxNorm}`);
  return parts.join(', ');
}

/** The seed of the input noise's generator (the recipe's seeds are the command line's; it has no input noise). */
export function noiseSeed(seed: number): number {
  return seed + 2_000_003;
}

/** True for the layers the recipe's buildModel puts after each hidden Dense as its nonlinearity: a hidden layer's output. */
export function isActivation(layer: Layer): boolean {
  return layer instanceof ReLU || layer instanceof Tanh || layer instanceof Sigmoid;
}
