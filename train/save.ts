/**
 * Checkpoints: one safetensors file holds a whole training run.
 *
 *   tensors        the model's state dict under PyTorch's names ('0.weight' [out, in], '0.bias', ...),
 *                  so `safetensors.torch.load_file` reads the weights directly; and the optimizer's
 *                  buffers under an `optimizer.` prefix ('optimizer.state.0.velocity').
 *   __metadata__   strings (the format allows nothing else), each a JSON document:
 *                    format        'tapegrad-checkpoint/2'
 *                    architecture  the model's layer configs ({type:'Sequential', layers:[...]}), so
 *                                  `load` rebuilds the model without being told its shape
 *                    hyperParams   the options the run was started with (data set, rates, seed...)
 *                    optimizer     the optimizer's JSON state (type, iterations, groups, step counts)
 *                    schedule      the schedule's state, if it has any
 *                    epoch         epochs completed
 *                    progress      where to resume: epoch, batch, the epoch's running sums, the loader's
 *                                  seed, every generator's state, the history, the callbacks' state
 *                    backend       'wasm' or 'js': the kernels that computed the weights
 *                    fma           'true' when the products used fused multiply-add (relaxed SIMD)
 *                                  (a resume on the same backend and FMA setting continues bit for bit;
 *                                  on another it continues, with float32 rounding's small differences)
 *
 * `save` writes atomically (safetensors.ts), so a checkpoint on disk is always whole. `load` reads both
 * versions. Version 2 (Keras's contract for `fit`) changed only `progress`: the history is Keras's
 * `{ epoch: [0, 1, ...], history: { loss: [...], val_loss: [...], learning_rate: [...] } }` instead of
 * rows with camelCase names counted from 1, and the running sums of a half-finished epoch hold one sum
 * per metric (`metricSums`) instead of a correct count. A version 1 file is upgraded as it is read, so
 * `fit({ resume: load(old) })` continues it exactly.
 *
 * Who owns what: `encodeCheckpoint`/`decodeCheckpoint` turn a run into bytes and back (anywhere, a page
 * too); `save`/`load` are the same with a file (Node only); `fit` alone restores a run from what
 * `load` returns (weights, optimizer, schedule, generators, history, callbacks: see fit.ts).
 */
import { FormatError, Tensor, getBackend, usesFma } from '../engine/index.js';
import { layerFromConfig, stateShapesOf, type Layer, type LayerConfig } from '../layers/index.js';
import { History, type HistoryJson, type V1Row } from './history.js';
import { decodeSafetensorsHeader, encodeSafetensors, readFileFor, writeFileAtomicFor, type SafetensorsEntry, type StoredTensor } from './safetensors.js';
import type { Model, OptimizerLike, ScheduleLike, StateDict } from './types.js';

/** The `format` a checkpoint's metadata names; `load` reads this one and the one before. */
export const CHECKPOINT_FORMAT = 'tapegrad-checkpoint/2';
const FORMAT_V1 = 'tapegrad-checkpoint/1';
const OPTIMIZER_PREFIX = 'optimizer.';

/** Where a run stands, for an exact resume (see fit.ts). */
export interface Progress {
  /** The epoch to run next (or to finish, when `batch` > 0), from 0. */
  epoch: number;
  /** Batches of that epoch already trained on. */
  batch: number;
  /** The running sums of a half-finished epoch; null at an epoch boundary. */
  partial: PartialEpoch | null;
  /** The optimizer's rate at the moment of saving (ReduceOnPlateau changes it outside any formula). */
  lr: number;
  /** The training loader's base seed (shuffle order, augmentation shifts), so a resume draws the same batches. */
  loaderSeed: number;
  /** Extra named generators. */
  rng: Record<string, number[]>;
  /** The model's generators (Dropout layers), by layer path. */
  modelRng: Record<string, number[]>;
  /** The epochs finished so far (`History.toJSON()`); the resumed run's history continues it. */
  history: HistoryJson;
  /** Callback state by callback name (early stopping's patience counter, the best metric so far). */
  callbacks: Record<string, unknown>;
}

/** An epoch's running sums: loss × samples, each metric's per-sample sum, the samples, the time, the first step's rate. */
export interface PartialEpoch {
  /** The sum of batch loss × batch size over the batches run so far; the epoch's `loss` is `lossSum / seen`. */
  lossSum: number;
  /** Per metric name, the sum of its per-sample values so far; the epoch's value is that sum / `seen`. */
  metricSums: Record<string, number>;
  /** Samples trained on so far this epoch. */
  seen: number;
  /** Wall-clock seconds spent on this epoch's batches so far (validation not included), across resumes. */
  seconds: number;
  /** The rate of the epoch's first step, logged as `learning_rate`. */
  learningRate: number;
}

/** Version 1's progress, as `load` upgrades it. */
interface ProgressV1 extends Omit<Progress, 'partial' | 'history'> {
  partial: { lossSum: number; correct: number; seen: number; seconds: number; lr: number } | null;
  history: V1Row[];
}

/** Version 1 → 2: Keras's history, metric sums by name, early stopping's best epoch from 0. */
function upgradeProgressV1(p: ProgressV1): Progress {
  const callbacks = { ...p.callbacks };
  const es = callbacks.earlyStopping as { bestEpoch?: number } | undefined;
  if (es && typeof es.bestEpoch === 'number') callbacks.earlyStopping = { ...es, bestEpoch: es.bestEpoch - 1 };
  return {
    ...p,
    partial: p.partial && {
      lossSum: p.partial.lossSum,
      metricSums: { accuracy: p.partial.correct },
      seen: p.partial.seen,
      seconds: p.partial.seconds,
      learningRate: p.partial.lr,
    },
    history: History.fromRowsV1(p.history).toJSON(),
    callbacks,
  };
}

/** What a checkpoint says about the run besides its tensors. */
export interface CheckpointInfo {
  /** Overrides the architecture read from the model's `config()`. */
  architecture?: LayerConfig;
  /** The options the run was started with, any JSON (the CLI stores its `{ config }`); `load` returns it as `Checkpoint.hyperParams`. */
  hyperParams?: Record<string, unknown>;
}

/** What `save` writes: the model, and for a resumable checkpoint the optimizer, schedule and progress. */
export interface SaveOptions {
  /** The model whose `stateDict()` is written under its own names, and whose `config()` gives the architecture. */
  model: Model;
  /** Its `stateDict()` is saved too: the JSON part in the metadata, the buffers as `optimizer.` tensors. Leave out for weights alone. */
  optimizer?: OptimizerLike;
  /** Its `stateDict()`, if it has one, is saved in the metadata. */
  schedule?: ScheduleLike;
  /** Epochs completed; defaults to `progress.epoch`. */
  epoch?: number;
  /** Where the run stands (fit's), which makes the checkpoint resumable with `fit({ resume })`. */
  progress?: Progress;
  /** The architecture (instead of the model's own) and the run's hyper-parameters. */
  info?: CheckpointInfo;
}

/** The state dict as entries, whether the model returns a Map or an object. */
function entriesOf(state: StateDict): Array<[string, Tensor]> {
  return state instanceof Map ? [...state.entries()] : Object.entries(state);
}

/** The model's architecture from its `config()` (layers/ gives every layer one), or undefined. */
export function architectureOf(model: Model): LayerConfig | undefined {
  const m = model as { config?: () => LayerConfig };
  return typeof m.config === 'function' ? m.config() : undefined;
}

/** JSON that survives NaN and ±Infinity (which JSON.stringify would turn into null). */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v,
  );
}

function fromJson(text: string): unknown {
  return JSON.parse(text, (_k, v) => (v && typeof v === 'object' && typeof v.$number === 'string' && Object.keys(v).length === 1 ? Number(v.$number) : v));
}

/**
 * Writes a checkpoint of the model and, if given, the optimizer, schedule and progress: a safetensors
 * file whose tensors PyTorch reads (`0.weight`, ...) and whose metadata holds the architecture. Node only
 * (in a page, `encodeCheckpoint` gives the same bytes).
 *
 * @example
 * ```ts
 * import { mkdtempSync, rmSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { Sequential, Dense, ReLU, Tensor, save, load } from 'tapegrad';
 *
 * const dir = mkdtempSync(join(tmpdir(), 'tapegrad-'));
 * const model = new Sequential([new Dense(2, 4), new ReLU(), new Dense(4, 1)]);
 * save(join(dir, 'model.safetensors'), { model });
 * const checkpoint = load(join(dir, 'model.safetensors'));
 * console.log([...checkpoint.weights.keys()].sort()); // => ['0.bias', '0.weight', '2.bias', '2.weight']
 * const x = Tensor.from([[0.5, -1]]);
 * console.log(checkpoint.model!.forward(x).item() === model.forward(x).item()); // => true
 * rmSync(dir, { recursive: true });
 * ```
 */
export function save(path: string, options: SaveOptions): void {
  writeFileAtomicFor(path, encodeCheckpoint(options), 'save');
}

/**
 * The bytes `save` writes (a safetensors file), without a file: anywhere, a page too. `decodeCheckpoint`
 * reads them back.
 *
 * @example
 * ```ts
 * import { Sequential, Dense, ReLU, Tensor, encodeCheckpoint, decodeCheckpoint } from 'tapegrad';
 *
 * const model = new Sequential([new Dense(2, 4), new ReLU(), new Dense(4, 1)]);
 * const bytes = encodeCheckpoint({ model, epoch: 3 }); // a Uint8Array: store it, post it, download it
 * const checkpoint = decodeCheckpoint(bytes, 'model.safetensors');
 * console.log(checkpoint.epoch); // => 3
 * const x = Tensor.from([[0.5, -1]]);
 * console.log(checkpoint.model!.forward(x).item() === model.forward(x).item()); // => true
 * ```
 */
export function encodeCheckpoint(options: SaveOptions): Uint8Array {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, t] of entriesOf(options.model.stateDict())) {
    if (name.startsWith(OPTIMIZER_PREFIX)) throw new FormatError(`save: model tensor '${name}' clashes with the optimizer prefix`);
    tensors.set(name, { shape: [...t.shape], data: t.data });
  }
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, backend: getBackend(), fma: String(usesFma()) };
  const architecture = options.info?.architecture ?? architectureOf(options.model);
  if (architecture) metadata.architecture = toJson(architecture);
  if (options.info?.hyperParams) metadata.hyperParams = toJson(options.info.hyperParams);

  if (options.optimizer?.stateDict) {
    const dict = options.optimizer.stateDict() as { meta?: unknown; buffers?: Record<string, Float32Array> };
    if (dict.meta === undefined || dict.buffers === undefined) {
      throw new FormatError('save: optimizer.stateDict() must return { meta, buffers } (optim/optimizer.ts)');
    }
    for (const [name, buf] of Object.entries(dict.buffers)) {
      tensors.set(OPTIMIZER_PREFIX + name, { shape: [buf.length], data: buf });
    }
    metadata.optimizer = toJson(dict.meta);
  }
  if (options.schedule?.stateDict) metadata.schedule = toJson(options.schedule.stateDict());
  const epoch = options.epoch ?? options.progress?.epoch;
  if (epoch !== undefined) metadata.epoch = String(epoch);
  if (options.progress) metadata.progress = toJson(options.progress);
  return encodeSafetensors(tensors, metadata);
}

/** What `load` read: the rebuilt model, its weights, and the run's state for a resume. */
export interface Checkpoint {
  /** The file it was read from (`decodeCheckpoint`: the name it was given). */
  path: string;
  /**
   * The model rebuilt from the architecture with the saved weights, a `Layer` (a `Sequential` for what
   * tapegrad writes: `forward`, `predict`, `config`...); null when the file has no architecture (PyTorch's:
   * build the model yourself and `model.loadStateDict(checkpoint.weights)`).
   */
  model: Layer | null;
  /** The model's layer configs as saved (`{ type: 'Sequential', layers: [...] }`); null in a file without one (PyTorch's). */
  architecture: LayerConfig | null;
  /** The model's tensors (everything not under `optimizer.`). */
  weights: Map<string, Tensor>;
  /** `{ meta, buffers }` for `optimizer.loadStateDict`, or null when no optimizer was saved. */
  optimizerState: {
    /** The optimizer's JSON state (`OptimizerMeta`: type, iterations, groups, step counts). */
    meta: unknown;
    /** Its arrays, named `state.<paramIndex>.<buffer>` (the `optimizer.` prefix taken off). */
    buffers: Record<string, Float32Array>;
  } | null;
  /** The schedule's `stateDict()`, for its `loadStateDict`; null when none was saved. */
  scheduleState: unknown;
  /** `CheckpointInfo.hyperParams` as saved (the CLI's run config); `{}` when none. */
  hyperParams: Record<string, unknown>;
  /** Epochs completed when it was written; null when the file does not say. */
  epoch: number | null;
  /** Where the run stood, for `fit({ resume })` (a format 1 file's upgraded); null for weights alone (best.safetensors). */
  progress: Progress | null;
  /** The backend that computed the weights ('wasm' | 'js'); null in older files. */
  backend: string | null;
  /** Whether its products used fused multiply-add (relaxed SIMD): a resume with the same setting continues bit for bit; null in older files. */
  fma: boolean | null;
  /** The raw `__metadata__` strings (format, backend, fma, and the JSON documents above), as read. */
  metadata: Record<string, string>;
}

/**
 * Reads a checkpoint and rebuilds its model. A tapegrad checkpoint is checked whole before anything is
 * built: the architecture against the tensors (names and shapes, so a crafted file cannot make it allocate
 * more than the file holds), every metadata field a resume reads, and the values (weights and optimizer
 * buffers that hold NaN or an infinity, a diverged run's: tapegrad never writes one, but another program
 * may). Each problem is a FormatError naming the file and the field or tensor. Any other producer's
 * safetensors file (PyTorch's `save_file`, with `{"format": "pt"}` or no metadata) gives its weights, as
 * float32, and no model: build it and `model.loadStateDict(checkpoint.weights)`. A missing file is Node's
 * ENOENT error. Node only (in a page, `decodeCheckpoint` reads the bytes).
 *
 * @example
 * ```ts
 * import { mkdtempSync, rmSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { Sequential, Dense, SGD, save, load } from 'tapegrad';
 *
 * const dir = mkdtempSync(join(tmpdir(), 'tapegrad-'));
 * const path = join(dir, 'run.safetensors');
 * const model = new Sequential([new Dense(3, 2)]);
 * save(path, { model, optimizer: new SGD(model.parameters(), { lr: 0.05 }), epoch: 4 });
 * const checkpoint = load(path);
 * console.log(checkpoint.epoch); // => 4
 * console.log(checkpoint.architecture!.type); // => 'Sequential'
 * console.log(checkpoint.weights.get('0.weight')!.shape); // => [2, 3]
 * console.log(checkpoint.optimizerState !== null); // => true
 * console.log(checkpoint.model!.predict([[1, 2, 3]]).shape); // => [1, 2]
 * rmSync(dir, { recursive: true });
 * ```
 */
export function load(path: string): Checkpoint {
  return decodeCheckpoint(readFileFor(path, 'load'), path);
}

/**
 * A checkpoint from its bytes (what `encodeCheckpoint` or `save` produced, or any producer's safetensors
 * file), anywhere, a page too: `load` without the file, with the same checks. `path` names the source in
 * error messages and in the result.
 */
export function decodeCheckpoint(bytes: Uint8Array, path = '<bytes>'): Checkpoint {
  // The header first, checked against the file; then the metadata and the architecture against the
  // header's shapes: nothing is read into memory, and nothing built, for a file that will be refused.
  const header = decodeSafetensorsHeader(bytes, path);
  const { metadata } = header;
  const format = metadata.format;
  const ours = format === CHECKPOINT_FORMAT || format === FORMAT_V1;
  if (!ours && format !== undefined && format.startsWith(FORMAT_FAMILY)) {
    throw new FormatError(`${path}: checkpoint format ${JSON.stringify(format)} is not one this version reads (${FORMAT_V1}, ${CHECKPOINT_FORMAT}); is it from a newer tapegrad?`);
  }
  // Only tapegrad's files keep an optimizer under the prefix; in another producer's, every tensor is a weight.
  const isBuffer = (name: string) => ours && name.startsWith(OPTIMIZER_PREFIX);
  // Another producer's metadata (PyTorch's {"format": "pt"}) says nothing tapegrad reads.
  const fields = ours ? readFields(metadata, format, path) : null;
  const architecture = fields?.architecture ?? null;
  if (architecture) checkArchitecture(architecture, header.entries.filter((e) => !isBuffer(e.name)), path);

  // Then the values, each checked to be finite.
  const weights = new Map<string, StoredTensor>();
  const buffers: Record<string, Float32Array> = {};
  for (const entry of header.entries) {
    const data = header.values(entry);
    if (isBuffer(entry.name)) {
      checkFinite(path, `optimizer buffer '${entry.name}'`, data, 'the optimizer state of a diverged run cannot be resumed');
      buffers[entry.name.slice(OPTIMIZER_PREFIX.length)] = data;
    } else {
      checkFinite(path, `tensor '${entry.name}'`, data, 'the weights of a diverged run cannot be used');
      weights.set(entry.name, { shape: entry.shape, data, dtype: entry.dtype });
    }
  }

  let model: Layer | null = null;
  if (architecture) {
    try {
      model = layerFromConfig(architecture);
      model.loadStateDict(weights);
    } catch (e) {
      throw new FormatError(`${path}: cannot rebuild the model from its architecture: ${(e as Error).message}`);
    }
  }
  return {
    path,
    model,
    architecture,
    weights: new Map([...weights].map(([name, t]) => [name, Tensor.from(t.data, { shape: t.shape })])),
    optimizerState: fields?.optimizer === undefined || fields === null ? null : { meta: fields.optimizer, buffers },
    scheduleState: fields?.schedule ?? null,
    hyperParams: fields?.hyperParams ?? {},
    epoch: fields?.epoch ?? null,
    progress: fields?.progress ?? null,
    backend: metadata.backend ?? null,
    fma: metadata.fma === undefined ? null : metadata.fma === 'true',
    metadata,
  };
}

/** Every tapegrad checkpoint format is named `tapegrad-checkpoint/<version>`. */
const FORMAT_FAMILY = 'tapegrad-checkpoint/';

/** A tapegrad checkpoint's metadata, each field parsed and checked. */
interface Fields {
  architecture: LayerConfig | undefined;
  optimizer: unknown;
  schedule: unknown;
  hyperParams: Record<string, unknown> | undefined;
  epoch: number | undefined;
  progress: Progress | undefined;
}

/** A plain JSON object (not null, not an array). */
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A finite number, an integer ≥ 0, an array of numbers...: the shapes a field must have. */
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isNumbers = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'number');

/**
 * Parses and checks the metadata fields of a tapegrad checkpoint, naming the file and the field of the
 * first one that is wrong: `run/last.safetensors: __metadata__.progress.history is not ...`. What is not
 * checked here is checked where it is used (an optimizer's own hyper-parameters, by its `loadStateDict`;
 * the command line's run settings, by the command line), and named there.
 */
function readFields(metadata: Record<string, string>, format: string, path: string): Fields {
  const bad = (field: string, value: unknown, expected: string): never => {
    const shown = JSON.stringify(value) ?? String(value);
    throw new FormatError(`${path}: __metadata__.${field} is ${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}; expected ${expected}`);
  };
  const parse = (key: string): unknown => {
    const text = metadata[key];
    if (text === undefined) return undefined;
    try {
      return fromJson(text);
    } catch (e) {
      throw new FormatError(`${path}: __metadata__.${key} is not valid JSON (${(e as Error).message})`);
    }
  };

  const architecture = parse('architecture');
  if (architecture !== undefined && !(isObject(architecture) && typeof architecture.type === 'string')) {
    bad('architecture', architecture, "a layer config { type: 'Sequential', layers: [...] }");
  }
  const hyperParams = parse('hyperParams');
  if (hyperParams !== undefined && !isObject(hyperParams)) bad('hyperParams', hyperParams, 'an object');
  const epochText = metadata.epoch;
  const epoch = epochText === undefined ? undefined : Number(epochText);
  if (epoch !== undefined && !(/^\d+$/.test(epochText!) && isCount(epoch))) bad('epoch', epochText, 'the epochs completed, an integer >= 0');
  if (metadata.fma !== undefined && metadata.fma !== 'true' && metadata.fma !== 'false') bad('fma', metadata.fma, "'true' or 'false'");

  const optimizer = parse('optimizer');
  if (optimizer !== undefined) checkOptimizerMeta(optimizer, bad);
  const progressJson = parse('progress');
  const progress = progressJson === undefined ? undefined : readProgress(progressJson, format, bad);
  return {
    architecture: architecture as LayerConfig | undefined,
    optimizer,
    schedule: parse('schedule'),
    hyperParams: hyperParams as Record<string, unknown> | undefined,
    epoch,
    progress,
  };
}

type Bad = (field: string, value: unknown, expected: string) => never;

/**
 * The optimizer's JSON state as optim/optimizer.ts's `stateDict` writes it: the structure every optimizer
 * shares (`type`, `iterations`, `groups` with their `paramCount`, per-parameter `state` entries). The
 * values of each group's hyper-parameters are the optimizer's `loadStateDict`'s to check.
 */
function checkOptimizerMeta(meta: unknown, bad: Bad): void {
  if (!isObject(meta)) return bad('optimizer', meta, 'an object { type, iterations, groups, state }');
  if (typeof meta.type !== 'string') bad('optimizer.type', meta.type, "the optimizer's class name, a string");
  if (!isCount(meta.iterations)) bad('optimizer.iterations', meta.iterations, 'the steps taken, an integer >= 0');
  if (!Array.isArray(meta.groups)) return bad('optimizer.groups', meta.groups, 'an array of parameter groups');
  meta.groups.forEach((g: unknown, i: number) => {
    if (!isObject(g)) bad(`optimizer.groups[${i}]`, g, 'an object');
    if (!isCount((g as Record<string, unknown>).paramCount)) bad(`optimizer.groups[${i}].paramCount`, (g as Record<string, unknown>).paramCount, 'an integer >= 0');
  });
  if (!Array.isArray(meta.state)) return bad('optimizer.state', meta.state, 'an array of per-parameter states');
  meta.state.forEach((e: unknown, i: number) => {
    const where = `optimizer.state[${i}]`;
    if (!isObject(e)) return bad(where, e, 'an object { index, step, scalars, buffers }');
    if (!isCount(e.index)) bad(`${where}.index`, e.index, 'a parameter index, an integer >= 0');
    if (!isCount(e.step)) bad(`${where}.step`, e.step, 'a step count, an integer >= 0');
    if (e.scalars !== undefined && !(isObject(e.scalars) && Object.values(e.scalars).every((v) => typeof v === 'number'))) {
      bad(`${where}.scalars`, e.scalars, 'an object of numbers');
    }
    if (e.buffers !== undefined && !(Array.isArray(e.buffers) && e.buffers.every((b) => typeof b === 'string'))) {
      bad(`${where}.buffers`, e.buffers, 'an array of buffer names');
    }
  });
}

/** Where a run stood, checked field by field (a format 1 file's upgraded once checked). */
function readProgress(value: unknown, format: string, bad: Bad): Progress {
  if (!isObject(value)) return bad('progress', value, 'a training position { epoch, batch, ... }');
  const p = value;
  const field = (name: string, ok: (v: unknown) => boolean, expected: string): void => {
    if (!ok(p[name])) bad(`progress.${name}`, p[name], expected);
  };
  const isState = (v: unknown): boolean => isNumbers(v) || (Array.isArray(v) && v.every((x, i) => typeof x === 'number' || (i === 4 && x === null)));
  const isStates = (v: unknown): boolean => isObject(v) && Object.values(v).every(isState);
  field('epoch', isCount, 'the epoch to run next, an integer >= 0');
  field('batch', isCount, 'the batches of that epoch already trained on, an integer >= 0');
  field('lr', (v) => isNumber(v) && v >= 0, 'the learning rate, a finite number >= 0');
  field('loaderSeed', (v) => Number.isSafeInteger(v), "the training loader's seed, an integer");
  field('rng', isStates, 'generator states by name, each an array of numbers');
  field('modelRng', isStates, "the model's generator states by layer, each an array of numbers");
  field('callbacks', isObject, 'callback states by name, an object');
  for (const [name, state] of Object.entries(p.callbacks as Record<string, unknown>)) {
    if (!isObject(state)) bad(`progress.callbacks.${name}`, state, "the callback's state, an object");
  }

  if (format === FORMAT_V1) {
    field('partial', (v) => v === null || (isObject(v) && ['lossSum', 'correct', 'seen', 'seconds', 'lr'].every((k) => typeof v[k] === 'number')), 'null or { lossSum, correct, seen, seconds, lr }');
    field('history', (v) => Array.isArray(v) && v.every((row) => isObject(row) && typeof row.epoch === 'number'), 'a list of rows { epoch, loss, ... }');
    return upgradeProgressV1(p as unknown as ProgressV1);
  }
  field(
    'partial',
    (v) => v === null || (isObject(v) && ['lossSum', 'seen', 'seconds', 'learningRate'].every((k) => typeof v[k] === 'number') && isObject(v.metricSums) && Object.values(v.metricSums).every((m) => typeof m === 'number')),
    'null or { lossSum, metricSums, seen, seconds, learningRate }',
  );
  field('history', isObject, '{ epoch: [...], history: { loss: [...], ... } }');
  const history = p.history as Record<string, unknown>;
  if (!isNumbers(history.epoch)) bad('progress.history.epoch', history.epoch, 'the epochs run, an array of numbers');
  if (!isObject(history.history)) bad('progress.history.history', history.history, 'the logs by name, an object of arrays');
  const epochs = (history.epoch as number[]).length;
  for (const [name, column] of Object.entries(history.history as Record<string, unknown>)) {
    if (!(isNumbers(column) && (column as number[]).length === epochs)) bad(`progress.history.history.${name}`, column, `one number per epoch run (${epochs})`);
  }
  return p as unknown as Progress;
}

/**
 * The architecture against the tensors, before a layer is built: every name the architecture's layers
 * hold, in the shape they hold it, and nothing else (a strict load). A layer of your own is checked when
 * it is built (stateShapesOf cannot say what it holds).
 */
function checkArchitecture(architecture: LayerConfig, tensors: readonly SafetensorsEntry[], path: string): void {
  const expected = stateShapesOf(architecture);
  if (expected === null) return;
  const weights = new Map(tensors.map((t) => [t.name, t]));
  const fmt = (shape: readonly unknown[]) => `[${shape.map((d) => (typeof d === 'number' ? String(d) : JSON.stringify(d))).join(',')}]`;
  const missing: string[] = [];
  const differ: string[] = [];
  const unexpected: string[] = [];
  for (const [name, shape] of expected) {
    const t = weights.get(name);
    if (t === undefined) missing.push(`'${name}' ${fmt(shape)}`);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) differ.push(`'${name}' is ${fmt(t.shape)} in the file, ${fmt(shape)} in the architecture`);
  }
  for (const [name, t] of weights) if (!expected.has(name)) unexpected.push(`'${name}' ${fmt(t.shape)}`);
  // A few of each kind: a file can name thousands, and one line must stay one line.
  const few = (list: string[]) => (list.length > 3 ? `${list.slice(0, 3).join(', ')} and ${list.length - 3} more` : list.join(', '));
  const problems = [
    ...(differ.length > 0 ? [few(differ)] : []),
    ...(missing.length > 0 ? [`missing from the file: ${few(missing)}`] : []),
    ...(unexpected.length > 0 ? [`not in the architecture: ${few(unexpected)}`] : []),
  ];
  if (problems.length > 0) throw new FormatError(`${path}: the architecture in __metadata__ does not match the tensors: ${problems.join('; ')}`);
}

/** Values that are not finite compute nothing but NaN: refuse them, naming the first bad value. */
function checkFinite(path: string, what: string, data: Float32Array, why: string): void {
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    let bad = 0;
    for (let j = i; j < data.length; j++) if (!Number.isFinite(data[j])) bad++;
    throw new FormatError(`${path}: ${what} holds ${data[i]} (value ${i} of ${data.length}; ${bad} not finite): ${why}`);
  }
}
