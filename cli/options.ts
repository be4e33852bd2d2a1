/**
 * Every flag of the command line, declared once. Each entry of the tables below is one flag: its name
 * (the key; `batchSize` is `--batch-size`, which is also the key commander gives its value), its help, its
 * default, the check that turns its text into a value, and the commands that take it. program.ts builds
 * commander's options and the help from them; `parseTrainConfig` and `parseFlags` check the values and
 * apply the defaults from them. Commander itself only splits the command line (no defaults, no parsers),
 * so that
 *
 *   - a bad value is one `UsageError` naming the flag and the value ("--lr abc: expected a number > 0"),
 *     which main.ts prints as one line and exit code 2, with no stack trace;
 *   - "not given" stays distinguishable from "given the default", which `--resume` needs (the saved
 *     run's settings win unless a flag is given explicitly);
 *   - the parsing is testable in-process, without spawning the CLI.
 *
 * A new check (a stricter number syntax, a range) goes in the flag's `parse`, the one place that reads it.
 */
import { availableParallelism } from 'node:os';
import { AUGMENT_NAMES, DATASET_NAMES, type AugmentName, type DatasetName } from '../data/index.js';
import {
  DEFAULT_LR, MOMENTUM_DEFAULT, OPTIMIZER_NAMES, RECIPE_DEFAULTS, RecipeError, SCHEDULE_HELP, SCHEDULE_NAMES, checkRecipe, parseDecimal, parseScheduleSpec,
  type OptimizerName, type ScheduleSpec,
} from '../train/index.js';

/** A user mistake on the command line: main.ts prints the message alone and exits with `exitCode`. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

export type CommandName = 'train' | 'eval' | 'lr-find' | 'sweep' | 'bench' | 'export';

/** One flag. `T` is its value's type once parsed. */
export interface Flag<T> {
  /** The value's placeholder in the help (`<rate>`); absent for a switch (`--nesterov`), whose value is `true`. */
  arg?: string;
  help: string;
  /** The value when the flag is not given. */
  default: T;
  /**
   * What the help says about the default when the value alone would not say it (or mislead); a
   * function when it differs by command (`--out`'s folder is named after the command).
   */
  defaultText?: string | ((command: CommandName) => string);
  /** Text → value, or a UsageError naming the flag and the text (via `fail`). Absent for a switch. */
  parse?: (text: string, flag: string) => T;
  /** The commands that take it. */
  commands: readonly CommandName[];
  /** commander refuses to run without it. */
  required?: boolean;
  /** May accompany --resume: what a resumed run may change (everything else is the saved run's). */
  resumable?: boolean;
  /**
   * Commands that accept the flag only to refuse it, with the reason (lr-find sets the rate itself, so
   * `--lr` there would be silently ignored): one line naming the flag and why, exit 2.
   */
  refusedBy?: Partial<Record<CommandName, string>>;
}

const flag = <T>(spec: Flag<T>): Flag<T> => spec;

/** `batchSize` → `--batch-size`: the spelling on the command line of a table key. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

// ---- the checks a flag's text goes through ----

export function fail(flag: string, value: string, expected: string): never {
  throw new UsageError(`${flag} ${JSON.stringify(value)}: expected ${expected}`);
}

/**
 * The number `text` spells in decimal, or NaN: `0.05`, `.5`, `5e-4`, `-1`. JavaScript's Number() also
 * reads `0x10` as 16, `0b11`, `0o7`, `Infinity`, '' and ' 1' (as 0 and 1): none of that is what a user
 * meant. (train/recipe.ts's parseDecimal, shared with the recipe's schedule specs.)
 */
export const decimal = parseDecimal;

/** A finite decimal number, checked with `ok`; `expected` says what is wanted, for the message. */
export function parseNumber(flag: string, value: string, ok: (n: number) => boolean, expected: string): number {
  const n = decimal(value);
  if (!Number.isFinite(n) || !ok(n)) fail(flag, value, expected);
  return n;
}

export function parseInteger(flag: string, value: string, min: number, expected = `an integer >= ${min}`, max = Number.MAX_SAFE_INTEGER): number {
  return parseNumber(flag, value, (n) => Number.isInteger(n) && n >= min && n <= max, expected);
}

/** Seeds are 32-bit (engine/rng.ts reads `seed >>> 0`): 4294967297 would silently be seed 1. */
export const MAX_SEED = 2 ** 32 - 1;

/** A rate in [0, 1): dropout, validation split, momentum. */
export function parseUnit(flag: string, value: string): number {
  return parseNumber(flag, value, (n) => n >= 0 && n < 1, 'a number in [0, 1)');
}

export function parseNonNegative(flag: string, value: string): number {
  return parseNumber(flag, value, (n) => n >= 0, 'a number >= 0');
}

export function parsePositive(flag: string, value: string): number {
  return parseNumber(flag, value, (n) => n > 0, 'a number > 0');
}

/** `300,100` → [300, 100]; `none` → [] (no hidden layer: softmax regression). */
export function parseLayers(flag: string, value: string): number[] {
  if (value === 'none') return [];
  const parts = value.split(',');
  if (parts.some((p) => !/^[1-9][0-9]*$/.test(p.trim()))) {
    fail(flag, value, 'comma-separated positive layer widths, e.g. 300,100 (or none)');
  }
  return parts.map((p) => Number(p.trim()));
}

/**
 * `0,0.1,...,0.9`-style lists of rates in [0, 1) (a literal `...` is not expanded). Each rate once:
 * each rate's run has a folder of its own (`dropout-0.5`), and two runs of one rate would share it.
 */
export function parseRateList(flag: string, value: string): number[] {
  const expected = 'comma-separated rates in [0, 1), e.g. 0,0.2,0.5';
  const rates = value.split(',').map((p) => decimal(p.trim()));
  if (rates.some((r) => !(r >= 0 && r < 1))) fail(flag, value, expected);
  const twice = rates.find((r, i) => rates.indexOf(r) !== i);
  if (twice !== undefined) fail(flag, value, `each rate once (${twice} is listed twice, and each rate's run has a folder of its own)`);
  return rates;
}

export function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) fail(flag, value, `one of ${choices.join(', ')}`);
  return value as T;
}

/** A non-empty path. */
export function parsePath(flag: string, value: string, expected: string): string {
  if (value === '') fail(flag, value, expected);
  return value;
}

export { OPTIMIZER_NAMES, DEFAULT_LR };
export type { OptimizerName, ScheduleSpec };

/** `--augment shift,affine`: the augmentations, each once (`none` for none). */
export function parseAugmentList(flag: string, value: string): AugmentName[] {
  if (value === 'none') return [];
  const names = value.split(',').map((p) => p.trim());
  const expected = `a comma-separated list of ${AUGMENT_NAMES.join(', ')} (or none)`;
  if (names.some((n) => !(AUGMENT_NAMES as readonly string[]).includes(n))) fail(flag, value, expected);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) fail(flag, value, `each augmentation once (${twice} is listed twice)`);
  return names as AugmentName[];
}

/** `none`, `cosine`, `step:drop=0.5,every=10`, ...: the recipe's parser, its errors as UsageErrors naming the flag. */
export function parseSchedule(flag: string, value: string): ScheduleSpec {
  try {
    return parseScheduleSpec(value, flag);
  } catch (e) {
    if (e instanceof RecipeError) throw new UsageError(e.message);
    throw e;
  }
}

// ---- the tables ----

const MODEL = ['train', 'lr-find', 'sweep'] as const;
/** lr-find sets the rate itself, batch by batch, from --start to --end. */
const LRFIND_SETS_RATE = 'lr-find sets the rate itself, from --start to --end; give those instead';
const RUN = ['train', 'sweep'] as const;
const positiveInt = (text: string, f: string) => parseInteger(f, text, 1, 'a positive integer');

/**
 * What defines a training run (saved in checkpoints as its hyper-parameters). The defaults are the run
 * `npm run train` makes.
 */
export const TRAIN_FLAGS = {
  dataset: flag<DatasetName>({ arg: '<name>', help: DATASET_NAMES.join(' | '), default: 'mnist', parse: (t, f) => parseChoice(f, t, DATASET_NAMES), commands: MODEL }),
  layers: flag({ arg: '<widths>', help: 'hidden layer widths, comma-separated, or none', default: RECIPE_DEFAULTS.layers, defaultText: RECIPE_DEFAULTS.layers.join(','), parse: (t, f) => parseLayers(f, t), commands: MODEL }),
  dropout: flag({ arg: '<rate>', help: 'dropout after each hidden layer, in [0, 1)', default: RECIPE_DEFAULTS.dropout, parse: (t, f) => parseUnit(f, t), commands: ['train', 'lr-find'] }),
  inputDropout: flag({ arg: '<rate>', help: 'dropout on the inputs, in [0, 1)', default: RECIPE_DEFAULTS.inputDropout, parse: (t, f) => parseUnit(f, t), commands: MODEL }),
  batchNorm: flag({ help: 'BatchNorm after each hidden Dense layer', default: RECIPE_DEFAULTS.batchNorm, commands: MODEL }),
  optimizer: flag<OptimizerName>({ arg: '<name>', help: OPTIMIZER_NAMES.join(' | '), default: RECIPE_DEFAULTS.optimizer, parse: (t, f) => parseChoice(f, t, OPTIMIZER_NAMES), commands: MODEL }),
  lr: flag({
    arg: '<rate>',
    help: 'learning rate',
    default: NaN,
    defaultText: `${OPTIMIZER_NAMES.map((n) => `${DEFAULT_LR[n]} for ${n}`).join(', ')}`,
    parse: (t, f) => parsePositive(f, t),
    commands: RUN,
    refusedBy: { 'lr-find': LRFIND_SETS_RATE },
  }),
  /** null: the optimizer's own default (0.9 for SGD, 0 for RMSprop, 0.95 for Muon). */
  momentum: flag<number | null>({
    arg: '<m>',
    help: `momentum for ${Object.keys(MOMENTUM_DEFAULT).join(', ')}, in [0, 1)`,
    default: RECIPE_DEFAULTS.momentum,
    defaultText: Object.entries(MOMENTUM_DEFAULT).map(([n, m]) => `${m} for ${n}`).join(', '),
    parse: (t, f) => parseUnit(f, t),
    commands: MODEL,
  }),
  nesterov: flag({ help: 'Nesterov momentum (sgd)', default: RECIPE_DEFAULTS.nesterov, commands: MODEL }),
  decay: flag({ arg: '<d>', help: "Keras's time-based decay per step, lr / (1 + decay * step) (sgd)", default: RECIPE_DEFAULTS.decay, parse: (t, f) => parseNonNegative(f, t), commands: MODEL }),
  weightDecay: flag({
    arg: '<wd>',
    help: "weight decay: coupled L2, decoupled for adamw, lion and muon (0 keeps adamw's 0.01 and muon's 0.1)",
    default: RECIPE_DEFAULTS.weightDecay,
    parse: (t, f) => parseNonNegative(f, t),
    commands: MODEL,
  }),
  lookahead: flag<number | null>({
    arg: '<k>',
    help: 'wrap the optimizer in Lookahead (Zhang et al. 2019): slow weights catch up every k steps',
    default: RECIPE_DEFAULTS.lookahead,
    parse: (t, f) => parseInteger(f, t, 1, 'k, a whole number of steps >= 1'),
    commands: MODEL,
  }),
  lookaheadAlpha: flag({
    arg: '<alpha>',
    help: "how far Lookahead's slow weights move towards the fast ones, in [0, 1] (with --lookahead)",
    default: RECIPE_DEFAULTS.lookaheadAlpha,
    parse: (t, f) => parseNumber(f, t, (n) => n >= 0 && n <= 1, 'a number in [0, 1]'),
    commands: MODEL,
  }),
  l2: flag({ arg: '<lambda>', help: 'L2 penalty lambda * sum(w^2) on Dense kernels, Keras-style', default: RECIPE_DEFAULTS.l2, parse: (t, f) => parseNonNegative(f, t), commands: MODEL }),
  maxNorm: flag({ arg: '<c>', help: 'max-norm constraint on hidden Dense kernels, 0 = off', default: RECIPE_DEFAULTS.maxNorm, parse: (t, f) => parseNonNegative(f, t), commands: MODEL }),
  schedule: flag<ScheduleSpec>({
    arg: '<spec>',
    help: `${SCHEDULE_NAMES.map((n) => SCHEDULE_HELP[n]).join(' | ')} (each parameter optional, shown at its default; EPOCHS is --epochs, LR is --lr)`,
    default: RECIPE_DEFAULTS.schedule,
    defaultText: 'cosine, annealing to 0 over --epochs',
    parse: (t, f) => parseSchedule(f, t),
    commands: RUN,
    refusedBy: { 'lr-find': LRFIND_SETS_RATE },
  }),
  batchSize: flag({ arg: '<n>', help: 'samples per batch', default: 64, parse: positiveInt, commands: MODEL }),
  valSplit: flag({ arg: '<fraction>', help: 'share of the training set held out for validation, in [0, 1)', default: 0.1, parse: (t, f) => parseUnit(f, t), commands: MODEL }),
  seed: flag({ arg: '<n>', help: `seed of every random choice: weights, dropout, split, shuffle, augmentation; 0 to ${MAX_SEED}`, default: RECIPE_DEFAULTS.seed, parse: (t, f) => parseInteger(f, t, 0, `an integer from 0 to ${MAX_SEED}`, MAX_SEED), commands: MODEL }),
  augment: flag<AugmentName[]>({
    arg: '<list>',
    help:
      'augmentations of the training images, comma-separated, drawn afresh each epoch: shift (up to 2 pixels), affine (rotation 15°, ' +
      'scale 0.9-1.1, shear 10°, translation 10%), elastic (Simard et al.: alpha 34, sigma 4), flip (mirror; not for digits)',
    default: RECIPE_DEFAULTS.augment,
    defaultText: 'none',
    parse: (t, f) => parseAugmentList(f, t),
    commands: MODEL,
  }),
  /** Use only the first N training / test samples (quick runs, tests). */
  trainSize: flag<number | null>({ arg: '<n>', help: 'use only the first n training samples (quick runs)', default: null, parse: positiveInt, commands: MODEL }),
  testSize: flag<number | null>({ arg: '<n>', help: 'use only the first n test samples', default: null, parse: positiveInt, commands: RUN, refusedBy: { 'lr-find': 'lr-find does not test: it trains on the training set alone' } }),
  epochs: flag({ arg: '<n>', help: 'epochs to train', default: RECIPE_DEFAULTS.epochs, parse: positiveInt, commands: RUN, resumable: true }),
  /** Patience in epochs, or null for no early stopping. */
  earlyStopping: flag<number | null>({
    arg: '<patience>',
    help: 'stop after this many epochs without a better validation loss',
    default: null,
    parse: (t, f) => parseInteger(f, t, 0, 'a patience in epochs (an integer >= 0)'),
    commands: RUN,
    resumable: true,
  }),
};

/** The cores of this machine: the most threads that can run at once. */
export const CORES = Math.max(1, availableParallelism());

export const BACKEND_NAMES = ['wasm', 'js'] as const;
export type BackendFlag = (typeof BACKEND_NAMES)[number];

/** The run folder each command makes when --out is not given (io.ts `defaultRunDir` adds the time). */
export const OUT_PREFIX: Partial<Record<CommandName, string>> = { train: '', sweep: 'sweep-', 'lr-find': 'lr-find-' };

/** How to run, as opposed to what to train: not part of the hyper-parameters. */
export const RUN_FLAGS = {
  out: flag<string | null>({
    arg: '<dir>',
    help: 'run folder for checkpoints, logs and plots',
    default: null,
    defaultText: (command) => `runs/${OUT_PREFIX[command] ?? ''}<dataset>-<time>${command === 'train' ? ', or the folder of --resume' : ''}`,
    parse: (t, f) => parsePath(f, t, 'a folder path'),
    commands: ['train', 'sweep', 'lr-find'],
    resumable: true,
  }),
  resume: flag<string | null>({ arg: '<checkpoint>', help: 'continue a run exactly from its last.safetensors', default: null, parse: (t, f) => parsePath(f, t, 'a checkpoint path, e.g. runs/NAME/last.safetensors'), commands: ['train'], resumable: true }),
  quiet: flag({ help: 'no progress output', default: false, commands: RUN, resumable: true }),
  threads: flag<number | null>({
    arg: '<n>',
    help: `threads for the matrix products, 1 to ${CORES} (this machine's cores); results do not depend on it`,
    default: null,
    defaultText: `all ${CORES}`,
    parse: (t, f) => parseInteger(f, t, 1, `an integer from 1 to ${CORES} (this machine's cores)`, CORES),
    commands: ['train', 'eval', 'lr-find', 'sweep'],
    resumable: true,
  }),
  /** null: the engine's default (wasm where WebAssembly SIMD validates, else js). */
  backend: flag<BackendFlag | null>({
    arg: '<name>',
    help: 'kernels: wasm (WebAssembly SIMD) | js (plain TypeScript); the same seed and backend give the same bits',
    default: null,
    defaultText: 'wasm where WebAssembly SIMD runs, else js',
    parse: (t, f) => parseChoice(f, t, BACKEND_NAMES),
    commands: ['train', 'eval', 'lr-find', 'sweep', 'bench'],
    resumable: true,
  }),
  json: flag({ help: 'print one JSON line with the final metrics last', default: false, commands: ['train', 'eval', 'lr-find', 'sweep', 'export', 'bench'], resumable: true }),
};

/** `eval`'s own flags (the data set and sizes default differently from training's). */
export const EVAL_FLAGS = {
  model: flag<string>({ arg: '<checkpoint>', help: 'a .safetensors checkpoint written by train', default: '', parse: (t, f) => parsePath(f, t, 'a checkpoint path'), commands: ['eval'], required: true }),
  dataset: flag<DatasetName | null>({ arg: '<name>', help: DATASET_NAMES.join(' | '), default: null, defaultText: 'the one it was trained on', parse: (t, f) => parseChoice(f, t, DATASET_NAMES), commands: ['eval'] }),
  testSize: { ...TRAIN_FLAGS.testSize, commands: ['eval'], refusedBy: undefined } as Flag<number | null>,
  batchSize: flag({ arg: '<n>', help: 'samples per forward pass', default: 1000, parse: positiveInt, commands: ['eval'] }),
  force: flag({ help: 'evaluate on a --dataset other than the one the model was trained on', default: false, commands: ['eval'] }),
};

/** `lr-find`'s sweep. */
export const LRFIND_FLAGS = {
  start: flag({ arg: '<lr>', help: 'first rate', default: 1e-5, parse: (t, f) => parsePositive(f, t), commands: ['lr-find'] }),
  end: flag({ arg: '<lr>', help: 'last rate', default: 10, parse: (t, f) => parsePositive(f, t), commands: ['lr-find'] }),
  steps: flag({ arg: '<n>', help: 'batches in the sweep', default: 100, parse: (t, f) => parseInteger(f, t, 2, 'an integer >= 2'), commands: ['lr-find'] }),
};

/** `sweep`'s list of dropout rates (one run each). */
export const SWEEP_FLAGS = {
  dropout: flag<number[] | null>({ arg: '<rates>', help: 'comma-separated dropout rates, e.g. 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9', default: null, parse: (t, f) => parseRateList(f, t), commands: ['sweep'] }),
};

/** `export`'s: the checkpoint, the format, the file to write. */
export const EXPORT_FLAGS = {
  model: flag<string>({ ...EVAL_FLAGS.model, help: 'a .safetensors checkpoint with its architecture (best.safetensors, last.safetensors)', commands: ['export'] }),
  format: flag<'onnx'>({ arg: '<name>', help: 'onnx (opset 17, a dynamic batch dimension)', default: 'onnx', parse: (t, f) => parseChoice(f, t, ['onnx'] as const), commands: ['export'] }),
  out: flag<string | null>({
    arg: '<file>',
    help: 'the file to write',
    default: null,
    defaultText: 'the checkpoint\'s path with .onnx',
    parse: (t, f) => parsePath(f, t, 'a file path'),
    commands: ['export'],
  }),
};

export const BENCH_FLAGS = {
  quick: flag({ help: 'a short run', default: false, commands: ['bench'] }),
};

/** The flags given to a command that refuses them (`refusedBy`): the first one is a UsageError with its reason. */
export function checkRefused(command: CommandName, raw: RawOptions): void {
  for (const table of FLAG_TABLES) {
    for (const [key, f] of Object.entries(table)) {
      const why = f.refusedBy?.[command];
      if (why !== undefined && raw[key] !== undefined) throw new UsageError(`${flagName(key)}: ${why}`);
    }
  }
}

// ---- mistyped flags ----

/**
 * One message per flag in `args` (the command's arguments, after its name) that `command` does not take,
 * each with the closest flags it does take on the same line: `unknown option '--lrr' (did you mean --lr?)`.
 * Commander stops at the first unknown flag and puts its hint on a line of its own, so a user who
 * mistyped two fixed one, ran again and met the other. Values are skipped as commander skips them: the
 * argument after a flag that takes one, whatever it looks like, and anything not starting with a dash
 * (or a negative number).
 */
export function unknownFlagMessages(command: CommandName, args: readonly string[]): string[] {
  const takesValue = new Map<string, boolean>([['--help', false], ['-h', false], ['--version', false], ['-V', false]]);
  const offered = ['--help'];
  for (const table of FLAG_TABLES) {
    for (const [key, f] of Object.entries(table)) {
      if (!f.commands.includes(command) && f.refusedBy?.[command] === undefined) continue;
      takesValue.set(flagName(key), f.arg !== undefined);
      if (f.commands.includes(command)) offered.push(flagName(key));
    }
  }
  const messages: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') break;
    if (!arg.startsWith('-') || /^-\.?\d/.test(arg)) continue;
    const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    const value = takesValue.get(name);
    if (value === undefined) messages.push(`unknown option '${name}'${didYouMean(name, offered)}`);
    else if (value && !arg.includes('=')) i++;
  }
  return messages;
}

/** ` (did you mean --lr?)`, for the candidates nearest `word` if any is near enough; '' otherwise. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const bare = (w: string) => w.replace(/^-+/, '');
  let best = Infinity;
  let near: string[] = [];
  for (const c of candidates) {
    const d = editDistance(bare(word), bare(c));
    const length = Math.max(bare(word).length, bare(c).length);
    // Commander's rule: at most 3 edits, and more than 40% of the longer word left alike.
    if (d > 3 || (length - d) / length <= 0.4) continue;
    if (d < best) [best, near] = [d, [c]];
    else if (d === best) near.push(c);
  }
  return near.length === 0 ? '' : ` (did you mean ${near.join(' or ')}?)`;
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b: the optimal string alignment distance. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Every table, in the order the help lists them. */
export const FLAG_TABLES: ReadonlyArray<Record<string, Flag<unknown>>> = [EVAL_FLAGS, EXPORT_FLAGS, TRAIN_FLAGS, LRFIND_FLAGS, SWEEP_FLAGS, RUN_FLAGS, BENCH_FLAGS];

type Table = Record<string, Flag<any>>;
/** The parsed values of a table: `{ batchSize: number, ... }`. */
export type FlagValues<T extends Table> = { -readonly [K in keyof T]: T[K] extends Flag<infer V> ? V : never };

/** Everything that defines a training run; saved in checkpoints as the hyper-parameters. */
export type TrainConfig = FlagValues<typeof TRAIN_FLAGS>;
/** How to run, as opposed to what to train. */
export type RunOptions = FlagValues<typeof RUN_FLAGS>;

/** The raw strings (or booleans, for switches) commander collected; absent when not given. */
export type RawOptions = Record<string, string | boolean | undefined>;

/** A table's defaults. */
export function defaultsOf<T extends Table>(table: T): FlagValues<T> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(table)) out[key] = f.default;
  return out as FlagValues<T>;
}

/** The flags of `table` that were given, parsed and checked (no defaults applied). */
export function parseGiven<T extends Table>(table: T, raw: RawOptions): Partial<FlagValues<T>> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(table)) {
    const v = raw[key];
    if (v === undefined) continue;
    if (f.parse === undefined) out[key] = v === true;
    else if (typeof v === 'string') out[key] = f.parse(v, flagName(key));
    else fail(flagName(key), String(v), `a value after ${flagName(key)}`);
  }
  return out as Partial<FlagValues<T>>;
}

/** The flags of `table`, given or defaulted. */
export function parseFlags<T extends Table>(table: T, raw: RawOptions): FlagValues<T> {
  return { ...defaultsOf(table), ...parseGiven(table, raw) };
}

/** Defaults: the run `npm run train` makes (its rate depends on the optimizer: DEFAULT_LR). */
export const TRAIN_DEFAULTS: Omit<TrainConfig, 'lr'> = (({ lr: _lr, ...rest }) => rest)(defaultsOf(TRAIN_FLAGS));

/**
 * A checkpoint's saved run settings (`__metadata__.hyperParams.config`), checked with the same checks as
 * the flags they came from: each value is spelled as its flag's text and parsed by the flag's own `parse`,
 * so a damaged file is refused with the field and what it should hold, by `where` (`--resume run/last.safetensors`),
 * exit 1 (the file is bad, not the command line). A setting the file does not have (an older tapegrad's,
 * from before the flag) is the flag's default.
 */
export function checkSavedConfig(saved: Record<string, unknown>, where: string): TrainConfig {
  const out: Record<string, unknown> = {};
  const bad = (key: string, value: unknown, expected: string): never => {
    throw new UsageError(`${where}: __metadata__.hyperParams.config.${key} is ${JSON.stringify(value) ?? String(value)}; expected ${expected}`, 1);
  };
  for (const [key, f] of Object.entries(TRAIN_FLAGS) as Array<[string, Flag<unknown>]>) {
    const value = saved[key];
    if (value === undefined) {
      // --lr's default depends on the optimizer (NaN here): a file without it cannot say which rate ran.
      if (Number.isNaN(f.default)) bad(key, value, `the ${flagName(key)} the run used`);
      out[key] = f.default;
      continue;
    }
    if (f.parse === undefined) {
      if (typeof value !== 'boolean') bad(key, value, 'true or false');
      out[key] = value;
      continue;
    }
    if (value === null) {
      if (f.default !== null) bad(key, value, `a value (${flagName(key)})`);
      out[key] = null;
      continue;
    }
    const text = flagText(value);
    if (text === null) return bad(key, value, `what ${flagName(key)} takes`);
    try {
      f.parse(text, flagName(key));
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      bad(key, value, /: expected (.*)$/.exec(e.message)?.[1] ?? e.message);
    }
    out[key] = value;
  }
  const cycles = (out.schedule as ScheduleSpec).cycles;
  if (cycles !== undefined && !(Array.isArray(cycles) && cycles.every((c) => Number.isInteger(c) && c > 0))) {
    bad('schedule.cycles', cycles, 'the epochs at which its cycles end, positive integers');
  }
  return out as TrainConfig;
}

/** A saved setting as the text of its flag (`[300, 100]` → `300,100`), or null for a value no flag spells. */
function flagText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.every((v) => typeof v === 'number') ? value.join(',') : null;
  if (typeof value === 'object' && value !== null) {
    // A schedule: { name, params: { drop: 0.5 }, cycles? } → 'step:drop=0.5'.
    const { name, params } = value as { name?: unknown; params?: unknown };
    if (typeof name !== 'string' || typeof params !== 'object' || params === null || Array.isArray(params)) return null;
    const pairs = Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'number' ? String(v) : JSON.stringify(v)}`);
    return pairs.length === 0 ? name : `${name}:${pairs.join(',')}`;
  }
  return null;
}

/** The flags that may accompany --resume. */
export const RESUME_FLAGS: ReadonlySet<string> = new Set(
  FLAG_TABLES.flatMap((table) => Object.entries(table).filter(([, f]) => f.resumable === true && f.commands.includes('train')).map(([key]) => key)),
);

/**
 * The training flags given, checked, over `base`: the defaults, or a resumed run's saved configuration.
 * Then the checks across flags.
 */
export function parseTrainConfig(raw: RawOptions, base?: TrainConfig): TrainConfig {
  const given = parseGiven(TRAIN_FLAGS, raw);
  // A saved configuration from before a flag existed gets its default (and --augment was a switch: shifts or none).
  const saved = base === undefined ? {} : { ...base, augment: upgradeAugment(base.augment) };
  const config: TrainConfig = { ...defaultsOf(TRAIN_FLAGS), ...saved, ...given };
  // The rate's default depends on the optimizer (and a new optimizer on resume gets its own default).
  if (given.lr === undefined && (base === undefined || given.optimizer !== undefined)) config.lr = DEFAULT_LR[config.optimizer];
  // The rules between flags are the recipe's (train/recipe.ts checkRecipe), told the flags' names.
  try {
    return checkRecipe(config, (field) => flagName(field));
  } catch (e) {
    if (e instanceof RecipeError) throw new UsageError(e.message);
    throw e;
  }
}

/** A saved `augment`: a list of names, or (before the list) true for shifts, false for none. */
function upgradeAugment(augment: AugmentName[] | boolean | undefined): AugmentName[] {
  return augment === true ? ['shift'] : Array.isArray(augment) ? augment : [];
}

export function parseRunOptions(raw: RawOptions): RunOptions {
  return parseFlags(RUN_FLAGS, raw);
}

/** The help line of a flag for `command`: its text and its default. */
export function flagHelp(f: Flag<unknown>, command: CommandName = f.commands[0]): string {
  const d = f.default;
  const text = typeof f.defaultText === 'function' ? f.defaultText(command) : f.defaultText;
  const shown = text ?? (d === null || d === false || d === '' || (typeof d === 'number' && Number.isNaN(d)) ? undefined : String(d));
  return shown === undefined ? f.help : `${f.help} (default: ${shown})`;
}
