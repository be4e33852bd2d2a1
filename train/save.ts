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
import { layerFromConfig, type LayerConfig } from '../layers/index.js';
import { History, type HistoryJson, type V1Row } from './history.js';
import { decodeSafetensors, encodeSafetensors, readFileFor, writeFileAtomicFor, type StoredTensor } from './safetensors.js';
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
  /** The model rebuilt from the architecture with the saved weights (null if the file has no architecture). */
  model:
    | (Model & {
        /** The architecture as JSON. */
        config(): LayerConfig;
      })
    | null;
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
 * Reads a checkpoint and rebuilds its model. A file that is not a tapegrad checkpoint, whose metadata
 * is damaged, or whose weights hold NaN or an infinity (a diverged run's: tapegrad never writes one,
 * but another program may) is a FormatError naming the file (and the tensor); a missing file is Node's
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
 * rmSync(dir, { recursive: true });
 * ```
 */
export function load(path: string): Checkpoint {
  return decodeCheckpoint(readFileFor(path, 'load'), path);
}

/**
 * A checkpoint from its bytes (what `encodeCheckpoint` or `save` produced, or a PyTorch safetensors
 * file), anywhere, a page too: `load` without the file. `path` names the source in error messages and
 * in the result.
 */
export function decodeCheckpoint(bytes: Uint8Array, path = '<bytes>'): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  const parse = (key: string): unknown => {
    const text = metadata[key];
    if (text === undefined) return undefined;
    try {
      return fromJson(text);
    } catch (e) {
      throw new FormatError(`${path}: __metadata__.${key} is not valid JSON (${(e as Error).message})`);
    }
  };

  const weights = new Map<string, Tensor>();
  const buffers: Record<string, Float32Array> = {};
  for (const [name, t] of tensors) {
    if (name.startsWith(OPTIMIZER_PREFIX)) buffers[name.slice(OPTIMIZER_PREFIX.length)] = t.data;
    else {
      checkFinite(path, name, t.data);
      weights.set(name, Tensor.from(t.data, { shape: t.shape }));
    }
  }

  const format = metadata.format;
  // A plain safetensors file (PyTorch's) has no format: its weights are still read.
  if (format !== undefined && format !== CHECKPOINT_FORMAT && format !== FORMAT_V1) {
    throw new FormatError(`${path}: checkpoint format ${JSON.stringify(format)} is not one this version reads (${FORMAT_V1}, ${CHECKPOINT_FORMAT}); is it from a newer tapegrad?`);
  }
  const architecture = (parse('architecture') as LayerConfig | undefined) ?? null;
  let model: Checkpoint['model'] = null;
  if (architecture) {
    try {
      model = layerFromConfig(architecture) as unknown as Checkpoint['model'];
      model!.loadStateDict(weights);
    } catch (e) {
      throw new FormatError(`${path}: cannot rebuild the model from its architecture: ${(e as Error).message}`);
    }
  }
  const optimizerMeta = parse('optimizer');
  const epochText = metadata.epoch;
  return {
    path,
    model,
    architecture,
    weights,
    optimizerState: optimizerMeta === undefined ? null : { meta: optimizerMeta, buffers },
    scheduleState: parse('schedule') ?? null,
    hyperParams: (parse('hyperParams') as Record<string, unknown> | undefined) ?? {},
    epoch: epochText === undefined ? null : Number(epochText),
    progress: readProgress(parse('progress'), format, path),
    backend: metadata.backend ?? null,
    fma: metadata.fma === undefined ? null : metadata.fma === 'true',
    metadata,
  };
}

/** A model whose weights are not finite computes nothing but NaN: refuse it, naming the first bad value. */
function checkFinite(path: string, name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    let bad = 0;
    for (let j = i; j < data.length; j++) if (!Number.isFinite(data[j])) bad++;
    throw new FormatError(`${path}: tensor '${name}' holds ${data[i]} (value ${i} of ${data.length}; ${bad} not finite): the weights of a diverged run cannot be used`);
  }
}

function readProgress(value: unknown, format: string | undefined, path: string): Progress | null {
  if (value === undefined) return null;
  if (typeof value !== 'object' || value === null || !Number.isInteger((value as Progress).epoch)) {
    throw new FormatError(`${path}: __metadata__.progress is not a training position (got ${JSON.stringify(value).slice(0, 80)})`);
  }
  return format === FORMAT_V1 ? upgradeProgressV1(value as ProgressV1) : (value as Progress);
}
