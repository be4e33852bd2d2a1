import { GradError, ShapeError, fmtShape } from './errors.js';
import { alloc, allocPersistent } from './memory.js';
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
  /** The values, row-major (the last axis varies fastest). Writing into it changes the tensor. */
  readonly data: Float32Array;
  /** The size of each axis: `[]` for a scalar, `[rows, columns]` for a matrix. Frozen. */
  readonly shape: readonly number[];
  /** Whether ops on this tensor are recorded so that `backward()` fills its `grad`. */
  requiresGrad: boolean;
  /** d(loss)/d(this), filled by `backward()` on leaves (tensors no op produced); it accumulates. */
  grad: Tensor | null = null;
  /** Set by `record` when an op produced this tensor while recording. Leaves have none. */
  node: TapeNode | null = null;
  /** Keep `grad` on this non-leaf tensor too (PyTorch's `retain_grad`), for inspection. */
  retainsGrad = false;

  constructor(data: Float32Array, shape: readonly number[], requiresGrad = false) {
    checkShape(shape, 'Tensor');
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`Tensor: ${data.length} values do not fill shape ${fmtShape(shape)} (${sizeOf(shape)} needed)`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
  }

  /** The number of values: the product of the shape. */
  get size(): number {
    return this.data.length;
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
    const data = alloc(sizeOf(shape));
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
    const data = alloc(sizeOf(shape));
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
    const data = alloc(sizeOf(shape));
    for (let i = 0; i < data.length; i++) data[i] = rng.uniformIn(low, high);
    return new Tensor(data, shape, options.requiresGrad ?? false);
  }

  /** Normal with the given mean and deviation (default standard normal), from a seeded generator. */
  static randn(shape: readonly number[], options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
    checkShape(shape, 'Tensor.randn');
    const rng = options.rng ?? new Rng(1);
    const mean = options.mean ?? 0;
    const std = options.std ?? 1;
    const data = alloc(sizeOf(shape));
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
    if (this.shape.length === 0) return this.data[0];
    let i = 0;
    const build = (depth: number): Nested => {
      const out: Nested[] = [];
      for (let k = 0; k < this.shape[depth]; k++) out.push(depth === this.shape.length - 1 ? this.data[i++] : build(depth + 1));
      return out;
    };
    return build(0);
  }

  /** The same values, cut from the tape: no gradient flows through the result. Shares storage. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, false);
  }

  /** A copy with its own storage, also off the tape, that no scope recycles (engine/memory.ts). */
  clone(): Tensor {
    const data = allocPersistent(this.size);
    data.set(this.data);
    return new Tensor(data, this.shape, false);
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
    return add(this, this.lift(other));
  }

  /** Elementwise `this − other`, broadcasting (a composition: add and neg). */
  sub(other: Tensor | number): Tensor {
    return add(this, neg(this.lift(other)));
  }

  /** Elementwise `this × other`, broadcasting. */
  mul(other: Tensor | number): Tensor {
    return mul(this, this.lift(other));
  }

  /** Elementwise `this ÷ other`, broadcasting: IEEE division, correctly rounded (see ops/div.ts). */
  div(other: Tensor | number): Tensor {
    return div(this, this.lift(other));
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

  private lift(value: Tensor | number): Tensor {
    if (value instanceof Tensor) return value;
    if (typeof value !== 'number') throw new TypeError(`expected a Tensor or a number, got ${typeof value}`);
    const data = alloc(1);
    data[0] = value;
    return new Tensor(data, []);
  }
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
