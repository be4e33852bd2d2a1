import { FormatError, Rng, ShapeError, Tensor, fmtShape, noGrad, scoped } from '../engine/index.js';

/**
 * A layer's architecture as plain JSON: enough to rebuild it with `layerFromConfig` (weights come
 * separately, from a state dict). Every config has a `type`, the class name.
 */
export interface LayerConfig {
  /** The class name: 'Dense', 'Sequential', ... */
  type: string;
  [key: string]: unknown;
}

/** Anything with a shape and float32 values: a Tensor, or a tensor read from a safetensors file. */
export interface TensorLike {
  /** The size of each axis. */
  readonly shape: readonly number[];
  /** The values, row-major. */
  readonly data: Float32Array;
}

/** What `loadStateDict` takes: tensors by name, as an object or a Map (what `readSafetensors` gives). */
export type StateDictInput = Record<string, TensorLike> | Map<string, TensorLike>;

/** What `loadStateDict` did not match (always empty when strict, since strict throws instead). */
export interface LoadResult {
  /** Names the model has and the state dict lacked. */
  missingKeys: string[];
  /** Names the state dict had and the model lacks. */
  unexpectedKeys: string[];
}

/**
 * Layers made without an `rng` still need a deterministic one. Each gets its own generator, seeded
 * 1000, 1001, 1002, ... in construction order, so the same script builds the same model every run,
 * and two Dropout layers of the same width never draw the same masks.
 */
let defaultSeed = 1000;
export function defaultRng(): Rng {
  return new Rng(defaultSeed++);
}

/**
 * The base of every layer (PyTorch's `nn.Module`, trimmed): a forward pass, named parameters and
 * buffers that make up the state dict, a `training` flag that `train()`/`eval()` set on every
 * sublayer, and a JSON `config()` that rebuilds the architecture.
 *
 * Parameters are the tensors an optimizer updates (requiresGrad); buffers are state that is saved
 * but not learned (BatchNorm's running statistics). Names follow PyTorch: a layer's own tensors are
 * `weight`, `bias`, ..., and a container prefixes its children's with their index (`0.weight`).
 */
export abstract class Layer {
  /** The class name as it appears in configs and messages ('Dense', 'ReLU', ...). */
  abstract readonly type: string;
  /** True in training (dropout drops, BatchNorm uses batch statistics); false after `eval()`. */
  training = true;
  /** Where this layer sits in its model ('0', '2.1'), set by Sequential; empty when standalone. */
  path = '';

  /** The layer applied to a batch `x` (rows are samples), recorded on the tape when a parameter needs a gradient. */
  abstract forward(x: Tensor): Tensor;

  /**
   * The output before a final softmax or sigmoid: the logits. Losses that apply the squashing function
   * themselves, fused and stable (cross-entropy its log-softmax, binary cross-entropy its log-sigmoid),
   * train on this, so a model that ends in probabilities (the Keras habit) is not squashed twice. A layer
   * that ends in neither returns its output, as here; `Softmax`, `Sigmoid` and a `Dense` with that
   * activation return their input or pre-activation, and `Sequential` asks its last layer.
   */
  forwardLogits(x: Tensor): Tensor {
    return this.forward(x);
  }

  /**
   * One function doing this layer and `next` together, when the two fuse into one op (Dense + ReLU),
   * or null. `Sequential` asks once, as layers are added, and runs the pair through it.
   */
  fusedWith(_next: Layer): ((x: Tensor) => Tensor) | null {
    return null;
  }

  /**
   * The outputs for every row of `x` (Keras's `model.predict`): in eval mode (no dropout, running
   * statistics), without a tape, `batchSize` rows at a time (default 32, Keras's), so a large input never
   * needs one large forward pass. The training mode is put back afterwards.
   */
  predict(x: Tensor | number[][], options: { batchSize?: number } = {}): Tensor {
    const input = x instanceof Tensor ? x : Tensor.from(x);
    const batchSize = options.batchSize ?? 32;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`predict: batchSize must be a positive integer, got ${batchSize}`);
    if (input.ndim < 1 || input.shape[0] === 0) throw new ShapeError(`predict: expected at least one row, got shape ${fmtShape(input.shape)}`);
    const rows = input.shape[0];
    const wasTraining = this.training;
    this.eval();
    const result: PredictResult = { data: null, rowShape: [] };
    try {
      for (let start = 0; start < rows; start += batchSize) this.predictBatch(result, input, start, Math.min(batchSize, rows - start));
    } finally {
      this.train(wasTraining);
    }
    return Tensor.from(result.data!, { shape: [rows, ...result.rowShape] });
  }

  /** Rows [start, start + count) of `input` forward, copied into the result (allocated at the first batch). */
  private predictBatch(result: PredictResult, input: Tensor, start: number, count: number): void {
    const rows = input.shape[0];
    const inRow = input.size / rows;
    const xb = Tensor.from(input.data.subarray(start * inRow, (start + count) * inRow), { shape: [count, ...input.shape.slice(1)] });
    // One batch in an engine memory scope: its activations go back to the arena before the next one.
    scoped(() => {
      const y = noGrad(() => this.forward(xb));
      const outRow = y.size / count;
      if (result.data === null) {
        result.data = new Float32Array(rows * outRow);
        result.rowShape = y.shape.slice(1);
      }
      result.data.set(y.data, start * outRow);
    });
  }

  /** The JSON description `layerFromConfig` rebuilds this layer from. */
  abstract config(): LayerConfig;

  /** This layer's own learnable tensors, without the children's. */
  protected ownParameters(): [string, Tensor][] {
    return [];
  }

  /** This layer's own saved, non-learned tensors (running statistics). */
  protected ownBuffers(): [string, Tensor][] {
    return [];
  }

  /** Sublayers by name (a Sequential names them by index). */
  children(): [string, Layer][] {
    return [];
  }

  /** Every learnable tensor with its PyTorch-style name, in a fixed order (own first, then children). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.ownParameters().map(([name, t]) => [prefix + name, t]);
    for (const [name, child] of this.children()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** Every saved, non-learned tensor (BatchNorm's running statistics) with its PyTorch-style name. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.ownBuffers().map(([name, t]) => [prefix + name, t]);
    for (const [name, child] of this.children()) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  /** Parameters and buffers together, in PyTorch's `state_dict` order: each layer's own, then its children's. */
  namedTensors(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.ownParameters(), ...this.ownBuffers()].map(([name, t]) => [prefix + name, t]);
    for (const [name, child] of this.children()) out.push(...child.namedTensors(`${prefix}${name}.`));
    return out;
  }

  /** The tensors an optimizer updates. The same objects on every call, so optimizers can key state on them. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Number of learnable values. */
  parameterCount(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** The random generators this layer and its children draw from during training, by layer path. */
  namedRngs(prefix = ''): [string, Rng][] {
    const out: [string, Rng][] = [];
    const own = this.ownRng();
    if (own !== null) out.push([prefix.replace(/\.$/, ''), own]);
    for (const [name, child] of this.children()) out.push(...child.namedRngs(`${prefix}${name}.`));
    return out;
  }

  /** The generator this layer draws from while training (Dropout's masks), or null for a layer that draws nothing. */
  protected ownRng(): Rng | null {
    return null;
  }

  /** The states of every generator (Dropout masks), keyed by layer path, for a checkpoint. */
  rngState(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, rng] of this.namedRngs()) out[name] = rng.getState();
    return out;
  }

  /** Restores what `rngState()` returned, so a resumed run draws the same masks as one that never stopped. */
  loadRngState(state: Record<string, readonly number[]>): void {
    for (const [name, rng] of this.namedRngs()) {
      const s = state[name];
      if (s === undefined) throw new FormatError(`loadRngState: no generator state for layer '${name}'`);
      rng.setState(s);
    }
  }

  /** Training mode (the default) for this layer and every sublayer. Returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const [, child] of this.children()) child.train(mode);
    return this;
  }

  /** Evaluation mode: dropout off, running statistics in BatchNorm. Returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * PyTorch's `state_dict`: parameters and buffers by name. The tensors share storage with the model
   * (as in PyTorch), so clone them to keep a snapshot that later training will not change.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.namedTensors()) out[name] = t.detach();
    return out;
  }

  /**
   * Copies values from a state dict into this model, in place (optimizers keep their references).
   * Strict by default, as PyTorch's `load_state_dict`: a missing key, an unexpected key or a shape that
   * differs is an error naming the key and both shapes, and nothing is copied unless everything fits.
   * With `strict: false` missing and unexpected keys are skipped and returned; shapes must still fit.
   */
  loadStateDict(state: StateDictInput, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const given = state instanceof Map ? state : new Map(Object.entries(state));
    const expected = new Map<string, Tensor>(this.namedTensors());
    const missing = [...expected.keys()].filter((k) => !given.has(k));
    const unexpected = [...given.keys()].filter((k) => !expected.has(k));
    const mismatched: string[] = [];
    for (const [key, target] of expected) {
      const src = given.get(key);
      if (src === undefined) continue;
      const sameShape = src.shape.length === target.shape.length && src.shape.every((d, i) => d === target.shape[i]);
      if (!sameShape || src.data.length !== target.size) {
        mismatched.push(`'${key}': the state dict has shape ${fmtShape(src.shape)} (${src.data.length} values), the model expects ${fmtShape(target.shape)}`);
      }
    }
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`missing key(s): ${missing.map((k) => `'${k}' ${fmtShape(expected.get(k)!.shape)}`).join(', ')}`);
      if (unexpected.length > 0) parts.push(`unexpected key(s): ${unexpected.map((k) => `'${k}' ${fmtShape(given.get(k)!.shape)}`).join(', ')}`);
      parts.push(...mismatched.map((m) => `size mismatch for ${m}`));
      throw new FormatError(`loadStateDict: ${parts.join('; ')}`);
    }
    if (mismatched.length > 0) throw new ShapeError(`loadStateDict: size mismatch for ${mismatched.join('; ')}`);
    for (const [key, target] of expected) {
      const src = given.get(key);
      if (src !== undefined) target.data.set(src.data);
    }
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  /** This layer's own regularization penalty (Keras `kernel_regularizer`), on the tape, or null. */
  protected ownPenalty(): Tensor | null {
    return null;
  }

  /**
   * The sum of every regularization penalty in the model (Keras adds these to the loss), a scalar
   * on the tape so its gradient reaches the weights; null when no layer has a regularizer.
   */
  regularizationLoss(): Tensor | null {
    let total = this.ownPenalty();
    for (const [, child] of this.children()) {
      const p = child.regularizationLoss();
      if (p !== null) total = total === null ? p : total.add(p);
    }
    return total;
  }

  /** This layer's own constraints (Keras `kernel_constraint`), applied in place. */
  protected applyOwnConstraints(): void {}

  /** Applies every weight constraint in the model, in place. The training loop calls it after `opt.step()`. */
  applyConstraints(): void {
    this.applyOwnConstraints();
    for (const [, child] of this.children()) child.applyConstraints();
  }

  /**
   * The output shape for an input shape, checking that the input fits. -1 stands for a size not known
   * yet (the batch). The default is an elementwise layer: the shape passes through.
   */
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }

  /** The input shape this layer requires, if it knows one (Dense: [-1, in]); used by `summary()`. */
  inputShape(): number[] | null {
    return null;
  }

  /** A short description for summaries: the type and its arguments, e.g. `Dense(784 → 300)`. */
  describe(): string {
    return this.type;
  }

  /** How messages name this layer: `Dense (layer 0)`, or just `Dense` outside a model. */
  protected where(): string {
    return this.path === '' ? this.type : `${this.type} (layer ${this.path})`;
  }

  /** Sets the path and, for containers, the children's paths below it. */
  setPath(path: string): void {
    this.path = path;
    for (const [name, child] of this.children()) child.setPath(path === '' ? name : `${path}.${name}`);
  }
}

interface PredictResult {
  data: Float32Array | null;
  rowShape: number[];
}

/** A shape in messages and summaries, with unknown sizes (-1) shown as B. */
export function fmtShapeB(shape: readonly number[]): string {
  return `[${shape.map((d) => (d < 0 ? 'B' : String(d))).join(',')}]`;
}

/** A positive integer size argument, or a RangeError naming the layer, the argument and the value. */
export function checkSize(value: unknown, what: string, layer: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${layer}: ${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
