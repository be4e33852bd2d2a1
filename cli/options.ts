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
import { DATASET_NAMES, type DatasetName } from '../data/index.js';

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

export type CommandName = 'train' | 'eval' | 'lr-find' | 'sweep' | 'bench';

/** One flag. `T` is its value's type once parsed. */
export interface Flag<T> {
  /** The value's placeholder in the help (`<rate>`); absent for a switch (`--nesterov`), whose value is `true`. */
  arg?: string;
  help: string;
  /** The value when the flag is not given. */
  default: T;
  /** What the help says about the default when the value alone would not say it (or mislead). */
  defaultText?: string;
  /** Text → value, or a UsageError naming the flag and the text (via `fail`). Absent for a switch. */
  parse?: (text: string, flag: string) => T;
  /** The commands that take it. */
  commands: readonly CommandName[];
  /** commander refuses to run without it. */
  required?: boolean;
  /** May accompany --resume: what a resumed run may change (everything else is the saved run's). */
  resumable?: boolean;
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

/** A finite number, checked with `ok`; `expected` says what is wanted, for the message. */
export function parseNumber(flag: string, value: string, ok: (n: number) => boolean, expected: string): number {
  // Number('') is 0 and Number(' 1') is 1: refuse empty and padded text explicitly.
  const n = value.trim() === value && value !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n) || !ok(n)) fail(flag, value, expected);
  return n;
}

export function parseInteger(flag: string, value: string, min: number, expected = `an integer >= ${min}`): number {
  return parseNumber(flag, value, (n) => Number.isInteger(n) && n >= min, expected);
}

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

/** `0,0.1,...,0.9`-style lists of rates in [0, 1) (a literal `...` is not expanded). */
export function parseRateList(flag: string, value: string): number[] {
  const parts = value.split(',');
  if (parts.length === 0 || parts.some((p) => p.trim() === '')) fail(flag, value, 'comma-separated rates in [0, 1), e.g. 0,0.2,0.5');
  const rates = parts.map((p) => Number(p.trim()));
  if (rates.some((r) => !(r >= 0 && r < 1))) fail(flag, value, 'comma-separated rates in [0, 1), e.g. 0,0.2,0.5');
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

export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta', 'nadam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/**
 * Each optimizer's rate when `--lr` is not given. SGD's 0.05 with momentum 0.9 is what the default MNIST
 * run was tuned with (see README); the others are the Keras/PyTorch defaults.
 */
export const DEFAULT_LR: Record<OptimizerName, number> = {
  sgd: 0.05,
  adam: 0.001,
  adamw: 0.001,
  rmsprop: 0.001,
  adagrad: 0.01,
  adadelta: 1.0,
  nadam: 0.002,
};

export const SCHEDULE_NAMES = ['none', 'step', 'exp', 'cosine', 'onecycle', 'plateau'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** The parameters each schedule accepts after its colon (`step:drop=0.5,every=10`). */
export const SCHEDULE_PARAMS: Record<ScheduleName, readonly string[]> = {
  none: [],
  step: ['drop', 'every'],
  exp: ['gamma'],
  cosine: ['tmax', 'min'],
  onecycle: ['max'],
  plateau: ['factor', 'patience', 'min'],
};

export interface ScheduleSpec {
  name: ScheduleName;
  params: Record<string, number>;
}

/** `none`, `cosine`, `step:drop=0.5,every=10`, `exp:gamma=0.95`, ... */
export function parseSchedule(flag: string, value: string): ScheduleSpec {
  const colon = value.indexOf(':');
  const name = parseChoice(flag, colon < 0 ? value : value.slice(0, colon), SCHEDULE_NAMES);
  const params: Record<string, number> = {};
  if (colon >= 0) {
    const allowed = SCHEDULE_PARAMS[name];
    for (const pair of value.slice(colon + 1).split(',')) {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      if (!allowed.includes(key)) {
        fail(flag, value, allowed.length ? `${name} parameters among ${allowed.join(', ')} (e.g. ${name}:${allowed[0]}=...)` : `no parameters for ${name}`);
      }
      const text = pair.slice(eq + 1);
      const n = eq < 0 || text.trim() === '' ? NaN : Number(text);
      if (!(Number.isFinite(n) && n >= 0)) fail(flag, value, `${key}=<a number >= 0>`);
      params[key] = n;
    }
  }
  return { name, params };
}

// ---- the tables ----

const MODEL = ['train', 'lr-find', 'sweep'] as const;
const RUN = ['train', 'sweep'] as const;
const positiveInt = (text: string, f: string) => parseInteger(f, text, 1, 'a positive integer');

/**
 * What defines a training run (saved in checkpoints as its hyper-parameters). The defaults are the run
 * `npm run train` makes.
 */
export const TRAIN_FLAGS = {
  dataset: flag<DatasetName>({ arg: '<name>', help: DATASET_NAMES.join(' | '), default: 'mnist', parse: (t, f) => parseChoice(f, t, DATASET_NAMES), commands: MODEL }),
  layers: flag({ arg: '<widths>', help: 'hidden layer widths, comma-separated, or none', default: [300, 100], defaultText: '300,100', parse: (t, f) => parseLayers(f, t), commands: MODEL }),
  dropout: flag({ arg: '<rate>', help: 'dropout after each hidden layer, in [0, 1)', default: 0, parse: (t, f) => parseUnit(f, t), commands: ['train', 'lr-find'] }),
  inputDropout: flag({ arg: '<rate>', help: 'dropout on the inputs, in [0, 1)', default: 0, parse: (t, f) => parseUnit(f, t), commands: MODEL }),
  batchNorm: flag({ help: 'BatchNorm after each hidden Dense layer', default: false, commands: MODEL }),
  optimizer: flag<OptimizerName>({ arg: '<name>', help: OPTIMIZER_NAMES.join(' | '), default: 'sgd', parse: (t, f) => parseChoice(f, t, OPTIMIZER_NAMES), commands: MODEL }),
  lr: flag({ arg: '<rate>', help: 'learning rate', default: NaN, defaultText: '0.05 for sgd, the usual default for the others', parse: (t, f) => parsePositive(f, t), commands: MODEL }),
  /** null: the optimizer's own default (0.9 for SGD, 0 for RMSprop). */
  momentum: flag<number | null>({ arg: '<m>', help: 'momentum for sgd or rmsprop, in [0, 1)', default: null, defaultText: '0.9 for sgd, 0 for rmsprop', parse: (t, f) => parseUnit(f, t), commands: MODEL }),
  nesterov: flag({ help: 'Nesterov momentum (sgd)', default: false, commands: MODEL }),
  decay: flag({ arg: '<d>', help: "Keras's time-based decay per step, lr / (1 + decay * step) (sgd)", default: 0, parse: (t, f) => parseNonNegative(f, t), commands: MODEL }),
  weightDecay: flag({ arg: '<wd>', help: 'weight decay (coupled L2; decoupled for adamw)', default: 0, parse: (t, f) => parseNonNegative(f, t), commands: MODEL }),
  l2: flag({ arg: '<lambda>', help: 'L2 penalty lambda * sum(w^2) on Dense kernels, Keras-style', default: 0, parse: (t, f) => parseNonNegative(f, t), commands: MODEL }),
  maxNorm: flag({ arg: '<c>', help: 'max-norm constraint on hidden Dense kernels, 0 = off', default: 0, parse: (t, f) => parseNonNegative(f, t), commands: MODEL }),
  // Cosine annealing to 0 over the run: the last epochs settle instead of wobbling (measured on the
  // default MNIST run: validation accuracy 0.975-0.983 over epochs 5-10 at a constant 0.05, 0.986 at the end with cosine).
  schedule: flag<ScheduleSpec>({
    arg: '<spec>',
    help: 'none | step:drop=0.5,every=10 | exp:gamma=0.95 | cosine | onecycle | plateau',
    default: { name: 'cosine', params: {} },
    defaultText: 'cosine, annealing to 0 over --epochs',
    parse: (t, f) => parseSchedule(f, t),
    commands: MODEL,
  }),
  batchSize: flag({ arg: '<n>', help: 'samples per batch', default: 64, parse: positiveInt, commands: MODEL }),
  valSplit: flag({ arg: '<fraction>', help: 'share of the training set held out for validation, in [0, 1)', default: 0.1, parse: (t, f) => parseUnit(f, t), commands: MODEL }),
  seed: flag({ arg: '<n>', help: 'seed of every random choice: weights, dropout, split, shuffle', default: 1, parse: (t, f) => parseInteger(f, t, 0, 'an integer >= 0'), commands: MODEL }),
  augment: flag({ help: 'random shifts of up to 2 pixels (images only)', default: false, commands: MODEL }),
  /** Use only the first N training / test samples (quick runs, tests). */
  trainSize: flag<number | null>({ arg: '<n>', help: 'use only the first n training samples (quick runs)', default: null, parse: positiveInt, commands: MODEL }),
  testSize: flag<number | null>({ arg: '<n>', help: 'use only the first n test samples', default: null, parse: positiveInt, commands: MODEL }),
  epochs: flag({ arg: '<n>', help: 'epochs to train', default: 10, parse: positiveInt, commands: RUN, resumable: true }),
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

/** How to run, as opposed to what to train: not part of the hyper-parameters. */
export const RUN_FLAGS = {
  out: flag<string | null>({ arg: '<dir>', help: 'run folder for checkpoints, logs and plots', default: null, defaultText: 'runs/<dataset>-<time>', parse: (t, f) => parsePath(f, t, 'a folder path'), commands: ['train', 'sweep', 'lr-find'], resumable: true }),
  resume: flag<string | null>({ arg: '<checkpoint>', help: 'continue a run exactly from its last.safetensors', default: null, parse: (t, f) => parsePath(f, t, 'a checkpoint path, e.g. runs/NAME/last.safetensors'), commands: ['train'], resumable: true }),
  quiet: flag({ help: 'no progress output', default: false, commands: RUN, resumable: true }),
  threads: flag<number | null>({ arg: '<n>', help: 'threads for the matrix products', default: null, defaultText: 'all cores', parse: positiveInt, commands: ['train', 'eval', 'lr-find', 'sweep'], resumable: true }),
  json: flag({ help: 'print one JSON line with the final metrics last', default: false, commands: ['train', 'eval', 'lr-find', 'sweep', 'bench'], resumable: true }),
};

/** `eval`'s own flags (the data set and sizes default differently from training's). */
export const EVAL_FLAGS = {
  model: flag<string>({ arg: '<checkpoint>', help: 'a .safetensors checkpoint written by train', default: '', parse: (t, f) => parsePath(f, t, 'a checkpoint path'), commands: ['eval'], required: true }),
  dataset: flag<DatasetName | null>({ arg: '<name>', help: DATASET_NAMES.join(' | '), default: null, defaultText: 'the one it was trained on', parse: (t, f) => parseChoice(f, t, DATASET_NAMES), commands: ['eval'] }),
  testSize: { ...TRAIN_FLAGS.testSize, commands: ['eval'] } as Flag<number | null>,
  batchSize: flag({ arg: '<n>', help: 'samples per forward pass', default: 1000, parse: positiveInt, commands: ['eval'] }),
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

export const BENCH_FLAGS = {
  quick: flag({ help: 'a short run', default: false, commands: ['bench'] }),
};

/** Every table, in the order the help lists them. */
export const FLAG_TABLES: ReadonlyArray<Record<string, Flag<unknown>>> = [EVAL_FLAGS, TRAIN_FLAGS, LRFIND_FLAGS, SWEEP_FLAGS, RUN_FLAGS, BENCH_FLAGS];

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
  const config: TrainConfig = { ...(base ?? defaultsOf(TRAIN_FLAGS)), ...given };
  // The rate's default depends on the optimizer (and a new optimizer on resume gets its own default).
  if (given.lr === undefined && (base === undefined || given.optimizer !== undefined)) config.lr = DEFAULT_LR[config.optimizer];

  if (config.momentum !== null && config.optimizer !== 'sgd' && config.optimizer !== 'rmsprop') {
    throw new UsageError(`--momentum ${config.momentum}: applies to --optimizer sgd or rmsprop only (got ${config.optimizer})`);
  }
  if (config.nesterov && (config.optimizer !== 'sgd' || config.momentum === 0)) {
    throw new UsageError(`--nesterov needs --optimizer sgd with --momentum > 0 (got ${config.optimizer}, momentum ${config.momentum ?? 0.9})`);
  }
  if (config.decay > 0 && config.optimizer !== 'sgd') {
    throw new UsageError(`--decay ${config.decay}: Keras-style decay applies to --optimizer sgd only (got ${config.optimizer}); see --schedule`);
  }
  if (config.schedule.name === 'step' && config.schedule.params.every !== undefined && !(config.schedule.params.every >= 1)) {
    throw new UsageError(`--schedule step:every=${config.schedule.params.every}: every must be at least 1 epoch`);
  }
  return config;
}

export function parseRunOptions(raw: RawOptions): RunOptions {
  return parseFlags(RUN_FLAGS, raw);
}

/** The help line of a flag: its text and its default. */
export function flagHelp(f: Flag<unknown>): string {
  const d = f.default;
  const shown = f.defaultText ?? (d === null || d === false || d === '' || (typeof d === 'number' && Number.isNaN(d)) ? undefined : String(d));
  return shown === undefined ? f.help : `${f.help} (default: ${shown})`;
}
