import { GradError, ShapeError, fmtShape } from './errors.js';
import { allocTensor, keepStorage, onTape, recycleStorage, recycledError, release, storageOf, unstep, type Storage } from './memory.js';
import { backward, type BackwardOptions, type TapeNode } from './tape.js';
import { Rng } from './rng.js';
import { add } from './ops/add.js';
import { mul } from './ops/mul.js';
import { div } from './ops/div.js';
import { neg } from './ops/neg.js';
import { pow } from './ops/pow.js';
import { exp } from './ops/exp.js';
import { log } from './ops/log.js';
import { sqrt } from './ops/sqrt.js';
import { matmul } from './ops/matmul.js';
import { transpose } from './ops/transpose.js';
import { reshape } from './ops/reshape.js';
import { sum } from './ops/sum.js';
import { max } from './ops/max.js';
import { relu } from './ops/relu.js';
import { sigmoid } from './ops/sigmoid.js';
import { tanh } from './ops/tanh.js';
import { softmax } from './ops/softmax.js';
import { logSoftmax } from './ops/logSoftmax.js';
import { crossEntropy } from './ops/crossEntropy.js';

type Nested = number | Nested[];

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: readonly number[], where: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${where}: bad shape ${fmtShape(shape)}: sizes must be integers >= 0`);
  }
}

/** Options of `Tensor.from`, `full`, `zeros`, `ones`. */
export interface FromOptions {
  /** The shape to give the values (their count must match); by default the nesting's (or `[length]`). */
  shape?: readonly number[];
  /** Record ops on this tensor so `backward()` fills its `grad` (default false). */
  requiresGrad?: boolean;
}

/** Options of `Tensor.rand` and `Tensor.randn`. */
export interface RandomOptions {
  /** Record ops on this tensor so `backward()` fills its `grad` (default false). */
  requiresGrad?: boolean;
  /** The seeded generator to draw from (default `new Rng(1)`: the same numbers every run). */
  rng?: Rng;
}

/**
 * An n-dimensional array of float32 numbers, stored row-major in one Float32Array, that can record
 * the operations applied to it so that `backward()` can compute gradients.
 *
 * Ops are methods and broadcast like NumPy's; a number stands for a tensor of shape `[]`.
 *
 * Memory: a tensor's numbers live in the engine's arena, which recycles some of them early — inside a
 * `scoped()` call, tensors its result does not reach; outside one, the tensors the tape recorded, one
 * step after their backward; a DataLoader's batch, when it makes the next; anything you `dispose()`.
 * Parameters (anything with `requiresGrad` set while it is a leaf), layer buffers, optimizer state,
 * gradients, clones and `keep(t)` are never recycled early. A tensor never reads another tensor's
 * numbers: reading a recycled one throws a `RecycledTensorError` that says to `clone()` or `keep()` it.
 * engine/memory.ts has the rules, and why.
 *
 * @example
 * ```ts
 * import { Tensor } from 'tapegrad';
 *
 * const x = Tensor.from([[1, 2], [3, 4]]);
 * console.log(x.shape); // => [2, 2]
 * console.log(x.add(Tensor.from([10, 20])).toArray()); // => [[11, 22], [13, 24]]
 * console.log(x.mul(2).sum().item()); // => 20
 * ```
 */
export class Tensor {
  /**
   * Where the numbers live (engine/memory.ts); `data` reads them after checking they are still this tensor's.
   * @internal
   */
  readonly storage: Storage;
  /** The size of each axis: `[]` for a scalar, `[rows, columns]` for a matrix. Frozen. */
  readonly shape: readonly number[];
  /** d(loss)/d(this), filled by `backward()` on leaves (tensors no op produced); it accumulates. */
  grad: Tensor | null = null;
  /** Set by `record` when an op produced this tensor while recording. Leaves have none. */
  node: TapeNode | null = null;
  /** Keep `grad` on this non-leaf tensor too (PyTorch's `retain_grad`), for inspection. */
  retainsGrad = false;
  private needsGrad = false;

  constructor(data: Float32Array, shape: readonly number[], requiresGrad = false) {
    checkShape(shape, 'Tensor');
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`Tensor: ${data.length} values do not fill shape ${fmtShape(shape)} (${sizeOf(shape)} needed)`);
    }
    this.storage = storageOf(data);
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
  }

  /**
   * The values, row-major (the last axis varies fastest). Writing into it changes the tensor. Throws a
   * `RecycledTensorError` if the tensor's storage was recycled (see the class comment); a Float32Array
   * you keep from here is not checked later, so read through the tensor, or `clone()` it.
   */
  get data(): Float32Array {
    const s = this.storage;
    if (!s.live) throw recycledError(`Tensor${fmtShape(this.shape)}${this.node !== null ? ` (from ${this.node.op})` : ''}`, s);
    return s.view;
  }

  /** True once this tensor's storage went back to the arena (reading it would throw). */
  get recycled(): boolean {
    return !this.storage.live;
  }

  /**
   * Whether ops on this tensor are recorded so that `backward()` fills its `grad`. Setting it on a leaf
   * makes it a parameter: its storage is never recycled early.
   */
  get requiresGrad(): boolean {
    return this.needsGrad;
  }

  /** Setting it on a leaf makes it a parameter, never recycled early (engine/memory.ts). */
  set requiresGrad(on: boolean) {
    this.needsGrad = on;
    if (on && this.node === null) keepStorage(this.storage);
  }

  /**
   * Gives this tensor's storage back to the arena now (TensorFlow.js's `dispose`): it and every tensor
   * sharing its storage (reshapes, detached copies) read as recycled afterwards.
   */
  dispose(): void {
    recycleStorage(this.storage, 'dispose');
  }

  /** The number of values: the product of the shape. */
  get size(): number {
    return this.storage.view.length; // known even after the storage was recycled
  }

  /** The number of axes: 0 for a scalar, 2 for a matrix. */
  get ndim(): number {
    return this.shape.length;
  }

  // ---- making tensors ----

  /**
   * From nested arrays (`[[1, 2], [3, 4]]`), a number, or a Float32Array with a shape. Nested arrays
   * are copied; a Float32Array becomes the tensor's storage as it is (no copy).
   *
   * @example
   * ```ts
   * import { Tensor } from 'tapegrad';
   *
   * console.log(Tensor.from([[1, 2, 3], [4, 5, 6]]).shape); // => [2, 3]
   * console.log(Tensor.from(7).shape); // => []
   * const v = Tensor.from(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] });
   * console.log(v.toArray()); // => [[1, 2], [3, 4]]
   * ```
   */
  static from(values: Nested | Float32Array | readonly number[], options: FromOptions = {}): Tensor {
    if (values instanceof Float32Array) {
      const shape = options.shape ?? [values.length];
      return new Tensor(values, shape, options.requiresGrad ?? false);
    }
    const shape = inferShape(values as Nested);
    const data = allocTensor(sizeOf(shape), options.requiresGrad ?? false);
    let i = 0;
    const fill = (v: Nested, depth: number): void => {
      if (typeof v === 'number') {
        data[i++] = v;
        return;
      }
      if (v.length !== shape[depth]) {
        throw new ShapeError(`Tensor.from: ragged nested array: expected ${shape[depth]} items at depth ${depth}, got ${v.length}`);
      }
      for (const item of v) fill(item, depth + 1);
    };
    fill(values as Nested, 0);
    const target = options.shape ?? shape;
    if (sizeOf(target) !== data.length) {
      throw new ShapeError(`Tensor.from: ${data.length} values do not fill shape ${fmtShape(target)}`);
    }
    return new Tensor(data, target, options.requiresGrad ?? false);
  }

  /** A tensor of `shape` with every value `value`. */
  static full(shape: readonly number[], value: number, options: FromOptions = {}): Tensor {
    checkShape(shape, 'Tensor.full');
    const data = allocTensor(sizeOf(shape), options.requiresGrad ?? false);
    data.fill(value);
    return new Tensor(data, shape, options.requiresGrad ?? false);
  }

  /** A tensor of zeros. */
  static zeros(shape: readonly number[], options: FromOptions = {}): Tensor {
    return Tensor.full(shape, 0, options);
  }

  /** A tensor of ones. */
  static ones(shape: readonly number[], options: FromOptions = {}): Tensor {
    return Tensor.full(shape, 1, options);
  }

  /** Uniform in [low, high) (default [0, 1)), from a seeded generator. */
  static rand(shape: readonly number[], options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
    checkShape(shape, 'Tensor.rand');
    const rng = options.rng ?? new Rng(1);
    const low = options.low ?? 0;
    const high = options.high ?? 1;
    const data = allocTensor(sizeOf(shape), options.requiresGrad ?? false);
    for (let i = 0; i < data.length; i++) data[i] = rng.uniformIn(low, high);
    return new Tensor(data, shape, options.requiresGrad ?? false);
  }

  /** Normal with the given mean and deviation (default standard normal), from a seeded generator. */
  static randn(shape: readonly number[], options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
    checkShape(shape, 'Tensor.randn');
    const rng = options.rng ?? new Rng(1);
    const mean = options.mean ?? 0;
    const std = options.std ?? 1;
    const data = allocTensor(sizeOf(shape), options.requiresGrad ?? false);
    for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
    return new Tensor(data, shape, options.requiresGrad ?? false);
  }

  // ---- reading ----

  /** The one value of a tensor of size 1 (a loss, a sum); a `ShapeError` for any other size. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item: needs a tensor with one value, got shape ${fmtShape(this.shape)}`);
    return this.data[0];
  }

  /** Nested JavaScript arrays (a number for a 0-d tensor). */
  toArray(): Nested {
    const data = this.data;
    if (this.shape.length === 0) return data[0];
    let i = 0;
    const build = (depth: number): Nested => {
      const out: Nested[] = [];
      for (let k = 0; k < this.shape[depth]; k++) out.push(depth === this.shape.length - 1 ? data[i++] : build(depth + 1));
      return out;
    };
    return build(0);
  }

  /**
   * The same values, cut from the tape: no gradient flows through the result. Shares storage. Outside a
   * scope it also takes the storage out of its step (engine/memory.ts, rule 2), so a detached loss
   * lives as long as you hold it: `losses.push(loss.detach())` is safe. Inside a scope the scope's rule
   * still holds (return it, or `keep()` it).
   */
  detach(): Tensor {
    const t = new Tensor(this.data, this.shape, false);
    unstep(this.storage);
    return t;
  }

  /** A copy with its own storage, off the tape, in ordinary memory: no scope or step recycles it (engine/memory.ts). */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape, false);
  }

  /** `Tensor([2,3], op=matmul, requiresGrad)`: the shape and where it came from, not the values. */
  toString(): string {
    return `Tensor(${fmtShape(this.shape)}${this.node ? `, op=${this.node.op}` : ''}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  /** Keep this non-leaf tensor's gradient after `backward()` (leaves always keep theirs). */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  // ---- the tape ----

  /**
   * Reverse-mode differentiation from this tensor (engine/tape.ts). A scalar seeds its own gradient
   * with 1; any other tensor needs the gradient of some loss with respect to it, as `gradient`, of its
   * shape. Gradients of leaves accumulate into `.grad` (call `zeroGrad` between steps). The graph is
   * released afterwards unless `{ retainGraph: true }` is passed (`backward({ retainGraph: true })` or
   * `backward(gradient, { retainGraph: true })`).
   *
   * @example
   * ```ts
   * import { Tensor } from 'tapegrad';
   *
   * const w = Tensor.from([1, 2, 3], { requiresGrad: true });
   * const loss = w.mul(w).sum(); // Σ w², whose gradient is 2w
   * loss.backward();
   * console.log(w.grad!.toArray()); // => [2, 4, 6]
   * ```
   */
  backward(gradient?: Tensor | Float32Array | BackwardOptions, options: BackwardOptions = {}): void {
    if (gradient !== undefined && !(gradient instanceof Tensor) && !(gradient instanceof Float32Array)) {
      backward(this, undefined, gradient);
      return;
    }
    backward(this, gradient, options);
  }

  /** Forgets this tensor's gradient. */
  zeroGrad(): void {
    this.grad = null;
  }

  // ---- ops: the primitives live in ops/, one file each; the rest are compositions ----

  /** Elementwise `this + other`, broadcasting. */
  add(other: Tensor | number): Tensor {
    return withOperand(other, (b) => add(this, b));
  }

  /** Elementwise `this − other`, broadcasting (a composition: add and neg). */
  sub(other: Tensor | number): Tensor {
    if (typeof other === 'number') return withOperand(-other, (b) => add(this, b));
    return add(this, neg(other));
  }

  /** Elementwise `this × other`, broadcasting. */
  mul(other: Tensor | number): Tensor {
    return withOperand(other, (b) => mul(this, b));
  }

  /** Elementwise `this ÷ other`, broadcasting: IEEE division, correctly rounded (see ops/div.ts). */
  div(other: Tensor | number): Tensor {
    return withOperand(other, (b) => div(this, b));
  }

  /** Elementwise `−this`. */
  neg(): Tensor {
    return neg(this);
  }

  /** Elementwise `this ** exponent`, for a constant exponent. */
  pow(exponent: number): Tensor {
    return pow(this, exponent);
  }

  /** Elementwise `eˣ`. */
  exp(): Tensor {
    return exp(this);
  }

  /** Elementwise natural logarithm (`NaN` below 0, `-Infinity` at 0, as in PyTorch). */
  log(): Tensor {
    return log(this);
  }

  /** Elementwise square root. */
  sqrt(): Tensor {
    return sqrt(this);
  }

  /** Elementwise `this²` (a composition: `this × this`). */
  square(): Tensor {
    return mul(this, this);
  }

  /**
   * The matrix product: `[M, K] · [K, N]` gives `[M, N]` (register-blocked kernels; on two threads in
   * Node when the product is large).
   *
   * @example
   * ```ts
   * import { Tensor } from 'tapegrad';
   *
   * const a = Tensor.from([[1, 2], [3, 4]]);
   * const b = Tensor.from([[5, 6, 7], [8, 9, 10]]);
   * console.log(a.matmul(b).toArray()); // => [[21, 24, 27], [47, 54, 61]]
   * console.log(a.matmul(b).shape); // => [2, 3]
   * ```
   */
  matmul(other: Tensor): Tensor {
    return matmul(this, other);
  }

  /** Permutes the axes (default: reverses them, so a matrix is transposed). */
  transpose(axes?: readonly number[]): Tensor {
    return transpose(this, axes);
  }

  /** The matrix transpose of a 2-D tensor (NumPy's `.T`). */
  get T(): Tensor {
    return transpose(this);
  }

  /** The same values in another shape of the same size (row-major order). */
  reshape(shape: readonly number[]): Tensor {
    return reshape(this, shape);
  }

  /** The sum of every value (shape `[]`), or along `axis` (negative counts from the end), keeping it as size 1 if `keepDims`. */
  sum(axis?: number, keepDims = false): Tensor {
    return sum(this, axis, keepDims);
  }

  /** The mean: a sum divided by the count (a composition). */
  mean(axis?: number, keepDims = false): Tensor {
    const count = axis === undefined ? this.size : this.shape[normalizeAxis(axis, this.ndim, 'mean')];
    return sum(this, axis, keepDims).mul(1 / count);
  }

  /**
   * The largest value, overall or along `axis`. As in PyTorch: NaN wins; along an axis the gradient goes
   * to the first largest, over everything a tie shares it (engine/ops/max.ts).
   */
  max(axis?: number, keepDims = false): Tensor {
    return max(this, axis, keepDims);
  }

  /** Elementwise `max(0, x)`; its gradient at 0 is 0 (PyTorch's choice). */
  relu(): Tensor {
    return relu(this);
  }

  /** Elementwise `1 / (1 + e⁻ˣ)`. */
  sigmoid(): Tensor {
    return sigmoid(this);
  }

  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor {
    return tanh(this);
  }

  /** `exp(x) / Σ exp(x)` along `axis` (default the last), computed stably (the maximum subtracted first). */
  softmax(axis = -1): Tensor {
    return softmax(this, axis);
  }

  /** `x − log Σ exp(x)` along `axis` (default the last): log-probabilities, stable where `softmax().log()` is not. */
  logSoftmax(axis = -1): Tensor {
    return logSoftmax(this, axis);
  }

  // ---- losses ----

  /** Mean over the batch of −log softmax(logits)[label], fused and stable (see ops/crossEntropy.ts). */
  static crossEntropy(logits: Tensor, labels: Int32Array): Tensor {
    return crossEntropy(logits, labels);
  }

  /** Mean squared error, mean((pred − target)²), a composition. */
  static mse(pred: Tensor, target: Tensor): Tensor {
    if (pred.shape.length !== target.shape.length || pred.shape.some((d, i) => d !== target.shape[i])) {
      throw new ShapeError(`mse: prediction ${fmtShape(pred.shape)} and target ${fmtShape(target.shape)} must have the same shape`);
    }
    return pred.sub(target).square().mean();
  }
}

/**
 * `op(this, b)` where b is a tensor, or a number made into a 0-d tensor for the call. That constant is
 * the op's alone: on the tape it lives as long as the op's output (its step, engine/memory.ts); off the
 * tape nothing refers to it afterwards, so it goes back at once.
 */
function withOperand(value: Tensor | number, op: (b: Tensor) => Tensor): Tensor {
  if (value instanceof Tensor) return op(value);
  if (typeof value !== 'number') throw new TypeError(`expected a Tensor or a number, got ${typeof value}`);
  const data = allocTensor(1, false);
  data[0] = value;
  const constant = new Tensor(data, []);
  const out = op(constant);
  if (out.node === null) release(data, 'its op');
  else onTape(constant.storage);
  return out;
}

/**
 * Exempts `t` from every early recycling (engine/memory.ts): it leaves its scope and its step for good,
 * and lives as long as you hold it, like a parameter. Returns `t`. `t.clone()` is the other way out: a
 * private copy.
 *
 * @example
 * ```ts
 * import { Tensor, keep, scoped } from 'tapegrad';
 *
 * const cache: Tensor[] = [];
 * scoped(() => {
 *   cache.push(keep(Tensor.full([2], 0.5))); // without keep(), recycled when the scope ends
 * });
 * console.log(cache[0].toArray()); // => [0.5, 0.5]
 * ```
 */
export function keep<T extends Tensor>(t: T): T {
  if (!(t instanceof Tensor)) throw new TypeError(`keep: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
  if (t.recycled) throw recycledError(`keep(Tensor${fmtShape(t.shape)})`, t.storage);
  keepStorage(t.storage);
  return t;
}

/** Accepts negative axes (−1 is the last) and checks the range. */
export function normalizeAxis(axis: number, ndim: number, op: string): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= Math.max(ndim, 1)) {
    throw new ShapeError(`${op}: axis ${axis} is out of range for a tensor with ${ndim} dimensions`);
  }
  return a;
}

function inferShape(values: Nested): number[] {
  const shape: number[] = [];
  let v: Nested = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  if (!Array.isArray(v) && typeof v !== 'number') throw new TypeError(`Tensor.from: expected numbers, got ${typeof v}`);
  return shape;
}
