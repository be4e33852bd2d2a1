/**
 * The fuzzer's float64 references (tests/engine/fuzz.test.ts): every op's values and vector-Jacobian
 * products written out again from the definitions, in float64, sharing no code with engine/ (not its
 * broadcasting, axis arithmetic, kernels or tape), with, for every element, how far a float32
 * computation may honestly be from the float64 value.
 *
 * The tolerances, derived from float32 rounding. u = 2⁻²⁴ is float32's unit roundoff: rounding x to
 * float32 moves it by at most u·|x|, or by η = 2⁻¹⁵⁰ (half the smallest subnormal) when it underflows.
 * A result that a float32 evaluation of the op's formula reaches through k roundings, from terms whose
 * magnitudes add up to M (a sum's Σ|term|; for a single operation the result itself), is within
 * k·u·M + k·η of the exact value: the standard a-priori bound of recursive summation (Higham, Accuracy
 * and Stability of Numerical Algorithms, §4.2), to first order. Each op says its k below. Where an op's
 * backward reads its own float32 output (exp, sqrt, sigmoid, tanh, softmax, logSoftmax: as PyTorch's
 * do), the output's error Δy is carried into the gradient through ∂grad/∂y. A library math function
 * (Math.exp, log, tanh, pow) is within one float64 ulp, far below u: one more rounding covers it. The
 * engine computes most elementwise chains in float64 and rounds once, which stays inside these bounds.
 *
 * Overflow. Where an intermediate magnitude leaves float32's range (M > FLT_MAX) and the result takes
 * two or more roundings, float32 arithmetic (PyTorch's, the WebAssembly lanes) overflows where the
 * float64 reference does not, and the result depends on the order of the operations (3e38 + 3e38 −
 * 3e38 is ∞ in float32, 3e38 in float64; two lanes overflowing to +∞ and −∞ give NaN): such elements
 * are `loose`, and only "NaN where the reference is NaN" is checked there. A result that overflows by
 * itself (1e38 · 10) is not loose: its float32 value is ±∞, exactly.
 *
 * NaN and ±∞ follow PyTorch (checked against torch 1.13 on this machine): NaN in, NaN out; 0·∞ = NaN;
 * max over a NaN is NaN (its gradient shared by the NaNs, or to the first along an axis); a ReLU passes
 * NaN and its gradient; an infinite upstream gradient through softmax, logSoftmax or crossEntropy gives
 * ∞ − ∞ = NaN where PyTorch's backward does (its order of operations is kept). Where tapegrad differs:
 *
 * - relu(−0) is +0 (PyTorch: −0): `v <= 0 ? 0 : v` and f32x4.max(−0, +0) give +0, and one sign of
 *   zero serves both backends. Zeros compare equal whatever their sign here; NaNs whatever their payload.
 * - crossEntropy of an empty batch is 0 (PyTorch: 0/0 = NaN), so that an empty batch is no loss rather
 *   than a NaN that stops training.
 * - Elementwise chains run in float64 and round once: where PyTorch's float32 intermediate overflows or
 *   underflows (pow's xᵖ⁻¹ for a tiny x, div's gradient's a/b, a product of 1e30 and 1e30 before the
 *   JavaScript products' float64 sum), tapegrad gives the finite float64 value, closer to the truth.
 * - mse is a composition (mean of the squared difference): its gradient scales g by 1/n before the
 *   difference, and a subnormal g/n underflows where PyTorch's fused mse_loss multiplies first.
 */

export const U = 2 ** -24;
export const ETA = 2 ** -150;
export const FLT_MAX = 3.4028234663852886e38;
/** The smallest magnitude that rounds to ±∞ in float32: FLT_MAX plus half an ulp. */
export const OVERFLOW = 2 ** 128 - 2 ** 103;

/**
 * Float64 values and, per element, the tolerance, and `loose`: 0 checked against the tolerance, 1 only
 * "NaN where the reference is NaN" (an intermediate overflowed), 2 not at all (cannot be told).
 */
export interface Bound {
  ref: Float64Array;
  tol: Float64Array;
  loose: Uint8Array;
}

/** What a reference says an op does: its output (or the error it throws) and its vector-Jacobian product. */
export type RefResult =
  | { shape: number[]; value: Bound; vjp: (g: Float64Array) => (Bound | null)[] }
  | { throws: new (...args: never[]) => Error };

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** The coordinates of flat index `i` in `shape`. */
function coords(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = shape[d] === 0 ? 0 : i % shape[d];
    i = shape[d] === 0 ? 0 : Math.floor(i / shape[d]);
  }
  return c;
}

/** The flat index of coordinates `c` in `shape`. */
function flatIndex(c: readonly number[], shape: readonly number[]): number {
  const s = stridesOf(shape);
  let i = 0;
  for (let d = 0; d < shape.length; d++) i += c[d] * s[d];
  return i;
}

/** NumPy's broadcast of two shapes, or null when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let d = 0; d < n; d++) {
    const x = d - (n - a.length) >= 0 ? a[d - (n - a.length)] : 1;
    const y = d - (n - b.length) >= 0 ? b[d - (n - b.length)] : 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Which element of an input of shape `inp` output element `i` (of shape `out`) reads. */
function readIndex(i: number, out: readonly number[], inp: readonly number[]): number {
  const c = coords(i, out);
  const lead = out.length - inp.length;
  const ci = inp.map((d, k) => (d === 1 ? 0 : c[lead + k]));
  return flatIndex(ci, inp);
}

/**
 * Accumulates, per element, a sum of terms and the bound of its float32 evaluation: `r` roundings
 * per term (0 for terms that are inputs, 1 for products), count − 1 for adding them up, and `extra`
 * more at the end (a scale, a final store).
 */
class Sums {
  readonly ref: Float64Array;
  private readonly mag: Float64Array;
  private readonly count: Int32Array;
  /** The largest intermediate magnitude of each element's terms (for `loose`). */
  private readonly inter: Float64Array;
  /** Absolute tolerance added as is (an ambiguous ReLU mask's terms). */
  readonly slack: Float64Array;
  /** Elements whose value cannot be told (an ambiguous mask over a non-finite term): only checked loosely. */
  readonly unknown: Uint8Array;

  constructor(
    n: number,
    private readonly r: number,
  ) {
    this.ref = new Float64Array(n);
    this.mag = new Float64Array(n);
    this.count = new Int32Array(n);
    this.inter = new Float64Array(n);
    this.slack = new Float64Array(n);
    this.unknown = new Uint8Array(n);
  }

  /** Adds `term` to element i; `inter` is the largest magnitude computed on the way to it. */
  add(i: number, term: number, inter = Math.abs(term)): void {
    this.ref[i] += term;
    if (Number.isFinite(term)) this.mag[i] += Math.abs(term);
    if (Number.isFinite(inter)) this.inter[i] = Math.max(this.inter[i], inter);
    this.count[i]++;
  }

  done(extra = 0, scale = 1): Bound {
    const n = this.ref.length;
    const tol = new Float64Array(n);
    const loose = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const k = (this.count[i] > 0 ? this.r + this.count[i] - 1 : 0) + extra;
      const ref = this.ref[i] * scale;
      this.ref[i] = ref;
      // The slack's terms are rounded and summed as the others are: they count in the magnitude too.
      tol[i] = k * U * (this.mag[i] + this.slack[i]) * Math.abs(scale) + k * ETA + this.slack[i];
      loose[i] = this.unknown[i] === 1 ? 2 : k >= 2 && Math.max(this.mag[i] + this.slack[i], this.inter[i]) > FLT_MAX ? 1 : 0;
      if (Number.isNaN(tol[i])) tol[i] = Infinity; // a slack of ∞·0: nothing is known
    }
    return { ref: this.ref, tol, loose };
  }
}

/** A bound for values computed elementwise with `k` roundings each: k·u·|ref| + k·η. */
function pointwise(ref: Float64Array, k: number, extraTol?: (i: number) => number): Bound {
  const tol = new Float64Array(ref.length);
  for (let i = 0; i < ref.length; i++) {
    tol[i] = k * U * Math.abs(ref[i]) + k * ETA + (extraTol ? extraTol(i) : 0);
    if (Number.isNaN(tol[i])) tol[i] = Infinity;
  }
  return { ref, tol, loose: new Uint8Array(ref.length) };
}

function f64(a: Float32Array): Float64Array {
  return Float64Array.from(a);
}

// ---- elementwise, broadcasting ----

type Binary = 'add' | 'sub' | 'mul' | 'div';

/**
 * a ∘ b with broadcasting. Forward: one rounding (float32's +, −, ×, ÷ are correctly rounded; a
 * float64 result rounded once is the same number). Backward: each input's gradient is Σ over the
 * output elements that read it of g·∂out/∂input (PyTorch's formulas: ∂(a/b)/∂b = −(a/b)/b).
 */
export function binaryRef(op: Binary, a: Float32Array, sa: number[], b: Float32Array, sb: number[]): RefResult {
  const shape = broadcastShape(sa, sb);
  if (shape === null) return { throws: Error };
  const n = sizeOf(shape);
  const A = f64(a);
  const B = f64(b);
  const ia = Array.from({ length: n }, (_, i) => readIndex(i, shape, sa));
  const ib = Array.from({ length: n }, (_, i) => readIndex(i, shape, sb));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = A[ia[i]];
    const y = B[ib[i]];
    out[i] = op === 'add' ? x + y : op === 'sub' ? x - y : op === 'mul' ? x * y : x / y;
  }
  const value = pointwise(out, 1);
  return {
    shape,
    value,
    vjp: (g) => {
      // add/sub: terms ±g (exact); mul: g·b (one rounding); div: g/b (one), −g·(a/b)/b (three).
      const r = op === 'add' || op === 'sub' ? 0 : op === 'mul' ? 1 : 1;
      const da = new Sums(a.length, r);
      const db = new Sums(b.length, op === 'div' ? 3 : r);
      for (let i = 0; i < n; i++) {
        const x = A[ia[i]];
        const y = B[ib[i]];
        if (op === 'add') {
          da.add(ia[i], g[i]);
          db.add(ib[i], g[i]);
        } else if (op === 'sub') {
          da.add(ia[i], g[i]);
          db.add(ib[i], -g[i]);
        } else if (op === 'mul') {
          da.add(ia[i], g[i] * y);
          db.add(ib[i], g[i] * x);
        } else {
          da.add(ia[i], g[i] / y);
          const q = x / y;
          db.add(ib[i], -g[i] * (q / y), Math.max(Math.abs(q), Math.abs(q / y)));
        }
      }
      return [da.done(), db.done()];
    },
  };
}

// ---- elementwise, one input ----

export type Unary = 'neg' | 'exp' | 'log' | 'sqrt' | 'relu' | 'sigmoid' | 'tanh';

function sigmoid64(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * Forward roundings: neg and relu are exact; sqrt is correctly rounded (1); log and exp, one for the
 * library function and one for the store (2); sigmoid's 1/(1 + e⁻ˣ) and tanh in float32, four and
 * three. Backward (PyTorch's formulas): −g; g·y; g/x; g/(2y); relu: x ≤ 0 ? 0 : g (NaN passes g);
 * g·y(1 − y); g(1 − y²), where y is the float32 output, whose error Δy enters through ∂grad/∂y.
 */
export function unaryRef(op: Unary, x: Float32Array, shape: number[]): RefResult {
  const X = f64(x);
  const n = X.length;
  const fn: Record<Unary, (v: number) => number> = {
    neg: (v) => -v,
    exp: Math.exp,
    log: Math.log,
    sqrt: Math.sqrt,
    relu: (v) => (v <= 0 ? 0 : v),
    sigmoid: sigmoid64,
    tanh: Math.tanh,
  };
  const k: Record<Unary, number> = { neg: 0, exp: 2, log: 2, sqrt: 1, relu: 0, sigmoid: 4, tanh: 3 };
  const y = X.map(fn[op]);
  const value = pointwise(y, k[op]);
  const dy = value.tol;
  return {
    shape,
    value,
    vjp: (g) => {
      // The backward reads the float32 output, as PyTorch's does: where it underflowed to 0, ∞·0 is NaN.
      const y32 = y.map(Math.fround);
      const d = new Float64Array(n);
      let extra: (i: number) => number = () => 0;
      let kb = 1;
      for (let i = 0; i < n; i++) {
        const v = X[i];
        const gi = g[i];
        switch (op) {
          case 'neg': d[i] = -gi; kb = 0; break;
          case 'exp': d[i] = gi * y32[i]; kb = 1; break;
          case 'log': d[i] = gi / v; kb = 1; break;
          case 'sqrt': d[i] = gi / (2 * y32[i]); kb = 2; break;
          case 'relu': d[i] = v <= 0 ? 0 : gi; kb = 0; break;
          case 'sigmoid': d[i] = gi * y32[i] * (1 - y32[i]); kb = 3; break;
          case 'tanh': d[i] = gi * (1 - y32[i] * y32[i]); kb = 3; break;
        }
      }
      if (op === 'exp') extra = (i) => Math.abs(g[i]) * dy[i];
      if (op === 'sqrt') extra = (i) => (y[i] === 0 ? 0 : (Math.abs(g[i]) / (2 * y[i] * y[i])) * dy[i]);
      if (op === 'sigmoid') extra = (i) => Math.abs(g[i]) * Math.abs(1 - 2 * y[i]) * dy[i];
      if (op === 'tanh') extra = (i) => Math.abs(g[i]) * 2 * Math.abs(y[i]) * dy[i];
      return [pointwise(d, kb, (i) => (Number.isFinite(d[i]) ? extra(i) : 0))];
    },
  };
}

/**
 * xᵖ for a constant p (Math.pow, IEEE's pow, with PyTorch's x⁰ = 1 even for NaN): two roundings.
 * Backward g·(p·xᵖ⁻¹), three; p = 0 has gradient 0 everywhere, as in PyTorch.
 */
export function powRef(x: Float32Array, shape: number[], p: number): RefResult {
  const X = f64(x);
  const y = X.map((v) => Math.pow(v, p));
  return {
    shape,
    value: pointwise(y, 2),
    vjp: (g) => [pointwise(X.map((v, i) => (p === 0 ? 0 : g[i] * (p * Math.pow(v, p - 1)))), 3)],
  };
}

// ---- reductions ----

/** The (OUTER, N, INNER) view of a reduction over `axis` (all axes when undefined), written out again. */
function around(shape: readonly number[], axis: number | undefined): { outer: number; n: number; inner: number; out: number[]; keep: number[] } {
  if (axis === undefined) return { outer: 1, n: sizeOf(shape), inner: 1, out: [], keep: shape.map(() => 1) };
  const a = axis < 0 ? axis + shape.length : axis;
  let outer = 1;
  for (let d = 0; d < a; d++) outer *= shape[d];
  let inner = 1;
  for (let d = a + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, n: shape[a], inner, out: shape.filter((_, d) => d !== a), keep: shape.map((s, d) => (d === a ? 1 : s)) };
}

function axisOk(shape: readonly number[], axis: number | undefined): boolean {
  return axis === undefined || (Number.isInteger(axis) && axis >= -shape.length && axis < shape.length);
}

/**
 * Σ over an axis: n − 1 roundings over Σ|x|; mean multiplies by float32(1/n), two more (an empty
 * axis gives 0/0 = NaN, as in PyTorch). Backward: g copied back (mean: g·(1/n), two roundings).
 */
export function sumRef(x: Float32Array, shape: number[], axis: number | undefined, keepDims: boolean, mean: boolean): RefResult {
  if (!axisOk(shape, axis)) return { throws: Error };
  const { outer, n, inner, out, keep } = around(shape, axis);
  const X = f64(x);
  const s = new Sums(outer * inner, 0);
  for (let o = 0; o < outer; o++) for (let k = 0; k < n; k++) for (let i = 0; i < inner; i++) s.add(o * inner + i, X[(o * n + k) * inner + i]);
  const value = s.done(mean ? 2 : 0, mean ? 1 / n : 1);
  if (mean && n === 0) value.ref.fill(NaN);
  return {
    shape: keepDims ? keep : out,
    value,
    vjp: (g) => {
      const d = new Float64Array(X.length);
      for (let o = 0; o < outer; o++) for (let k = 0; k < n; k++) for (let i = 0; i < inner; i++) d[(o * n + k) * inner + i] = mean ? g[o * inner + i] / n : g[o * inner + i];
      return [pointwise(d, mean ? 2 : 0)];
    },
  };
}

/**
 * max as PyTorch defines it: NaN wins; along an axis the gradient goes to the first largest element
 * (or first NaN); over everything it is shared evenly by all the winners (evenly_distribute_backward),
 * g/count, one rounding. An empty reduction is an error.
 */
export function maxRef(x: Float32Array, shape: number[], axis: number | undefined, keepDims: boolean): RefResult {
  if (!axisOk(shape, axis)) return { throws: Error };
  const { outer, n, inner, out, keep } = around(shape, axis);
  if (n === 0) return { throws: Error };
  const X = f64(x);
  const m = new Float64Array(outer * inner);
  const first = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = NaN;
      let at = -1;
      for (let k = 0; k < n; k++) {
        const j = (o * n + k) * inner + i;
        const v = X[j];
        if (Number.isNaN(v)) {
          best = NaN;
          at = j;
          break;
        }
        if (at < 0 || v > best) {
          best = v;
          at = j;
        }
      }
      m[o * inner + i] = best;
      first[o * inner + i] = at;
    }
  }
  return {
    shape: keepDims ? keep : out,
    value: pointwise(m, 0),
    vjp: (g) => {
      const d = new Float64Array(X.length);
      if (axis === undefined) {
        const winners: number[] = [];
        for (let j = 0; j < X.length; j++) if (Object.is(X[j], m[0]) || X[j] === m[0] || (Number.isNaN(m[0]) && Number.isNaN(X[j]))) winners.push(j);
        for (const j of winners) d[j] = g[0] / winners.length;
        return [pointwise(d, 1)];
      }
      for (let j = 0; j < first.length; j++) d[first[j]] += g[j];
      return [pointwise(d, 0)];
    },
  };
}

// ---- products ----

/** C = A·B: K products summed, K roundings over Σ|a·b| (an empty K gives exact zeros). */
export function matmulRef(a: Float32Array, sa: number[], b: Float32Array, sb: number[]): RefResult {
  if (sa.length !== 2 || sb.length !== 2 || sa[1] !== sb[0]) return { throws: Error };
  const [M, K] = sa;
  const N = sb[1];
  const A = f64(a);
  const B = f64(b);
  const c = new Sums(M * N, 1);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) c.add(i * N + j, A[i * K + k] * B[k * N + j]);
  return {
    shape: [M, N],
    value: c.done(),
    vjp: (g) => {
      const da = new Sums(M * K, 1);
      const db = new Sums(K * N, 1);
      for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) da.add(i * K + k, g[i * N + j] * B[k * N + j]);
      for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) for (let i = 0; i < M; i++) db.add(k * N + j, A[i * K + k] * g[i * N + j]);
      return [da.done(), db.done()];
    },
  };
}

/**
 * The Dense layer: pre = x·Wᵀ + b, IN products and the bias, IN + 1 roundings over Σ|x·w| + |b|
 * (then max(·, 0) with { relu }, 1-Lipschitz, so the bound carries over). The fused ReLU's mask in
 * backward is the engine's own output's: where the reference pre-activation is within its tolerance
 * of 0 the mask may go either way, and that element's g·w (g·x, g) is added to the tolerance whole.
 */
export function linearRef(
  x: Float32Array, sx: number[], w: Float32Array, sw: number[], bias: Float32Array | null, relu: boolean,
): RefResult {
  if (sx.length !== 2 || sw.length !== 2 || sx[1] !== sw[1]) return { throws: Error };
  const [Bn, IN] = sx;
  const OUT = sw[0];
  if (bias !== null && bias.length !== OUT) return { throws: Error };
  const X = f64(x);
  const W = f64(w);
  const pre = new Sums(Bn * OUT, 1);
  for (let b = 0; b < Bn; b++) {
    for (let o = 0; o < OUT; o++) {
      for (let i = 0; i < IN; i++) pre.add(b * OUT + o, X[b * IN + i] * W[o * IN + i]);
      if (bias !== null) pre.add(b * OUT + o, bias[o]);
    }
  }
  const p = pre.done();
  const value: Bound = relu ? { ref: p.ref.map((v) => (v <= 0 ? 0 : v)), tol: p.tol, loose: p.loose } : p;
  return {
    shape: [Bn, OUT],
    value,
    vjp: (g) => {
      // dpre = g where pre > 0 (or NaN), else 0; `unsure` where the engine's mask may differ.
      const dpre = new Float64Array(Bn * OUT);
      const unsure = new Uint8Array(Bn * OUT);
      for (let j = 0; j < dpre.length; j++) {
        const v = p.ref[j];
        dpre[j] = !relu || !(v <= 0) ? g[j] : 0;
        unsure[j] = relu && (p.loose[j] === 1 || (Number.isFinite(v) && Math.abs(v) <= p.tol[j])) ? 1 : 0;
      }
      const dx = new Sums(Bn * IN, 1);
      const dw = new Sums(OUT * IN, 1);
      const db = new Sums(OUT, 0);
      // Either mask value may be the engine's: its term is g·w or 0·w. Finite: the difference is the
      // tolerance. Not (w or g infinite): NaN or ±∞ either way, and nothing is known.
      const looseIf = (s: Sums, at: number, amount: number) => {
        if (Number.isFinite(amount)) s.slack[at] += amount;
        else s.unknown[at] = 1;
      };
      for (let b = 0; b < Bn; b++) {
        for (let o = 0; o < OUT; o++) {
          const j = b * OUT + o;
          for (let i = 0; i < IN; i++) {
            dx.add(b * IN + i, dpre[j] * W[o * IN + i]);
            dw.add(o * IN + i, dpre[j] * X[b * IN + i]);
            if (unsure[j]) {
              looseIf(dx, b * IN + i, Math.abs(g[j] * W[o * IN + i]));
              looseIf(dw, o * IN + i, Math.abs(g[j] * X[b * IN + i]));
            }
          }
          db.add(o, dpre[j]);
          if (unsure[j]) looseIf(db, o, Math.abs(g[j]));
        }
      }
      return [dx.done(), dw.done(), bias === null ? null : db.done()];
    },
  };
}

// ---- moving values around ----

/** Axes permuted (default: reversed). Exact, and so is the gradient (the inverse permutation). */
export function transposeRef(x: Float32Array, shape: number[], axes: number[] | undefined): RefResult {
  const n = shape.length;
  const perm = axes === undefined ? shape.map((_, i) => n - 1 - i) : axes.map((a) => (a < 0 ? a + n : a));
  if (perm.length !== n || [...perm].sort((p, q) => p - q).some((a, i) => a !== i)) return { throws: Error };
  const out = perm.map((a) => shape[a]);
  const X = f64(x);
  const y = new Float64Array(X.length);
  const from = new Int32Array(X.length);
  for (let i = 0; i < y.length; i++) {
    const c = coords(i, out);
    const ci = new Array<number>(n);
    for (let d = 0; d < n; d++) ci[perm[d]] = c[d];
    from[i] = flatIndex(ci, shape);
    y[i] = X[from[i]];
  }
  return {
    shape: out,
    value: pointwise(y, 0),
    vjp: (g) => {
      const d = new Float64Array(X.length);
      for (let i = 0; i < y.length; i++) d[from[i]] = g[i];
      return [pointwise(d, 0)];
    },
  };
}

/** The same values in another shape (one size may be −1). Exact. */
export function reshapeRef(x: Float32Array, shape: number[], target: number[]): RefResult {
  const t = [...target];
  const unknown = t.filter((d) => d === -1).length;
  if (unknown > 1) return { throws: Error };
  if (unknown === 1) {
    const known = t.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    if (known === 0 || x.length % known !== 0) return { throws: Error };
    t[t.indexOf(-1)] = x.length / known;
  }
  if (t.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(t) !== x.length) return { throws: Error };
  return { shape: t, value: pointwise(f64(x), 0), vjp: (g) => [pointwise(Float64Array.from(g), 0)] };
}

// ---- softmax and its relatives ----

/**
 * Per slice of n values along the axis: m = max, the shifted x − m, yⱼ = e^(xⱼ−m) / S, L = log S.
 * A float32 evaluation makes x − m with an absolute error u·|x − m|, which e^(·) turns into a
 * relative one, so each yⱼ's relative error is u·(|xⱼ − m| + E + n + 3) with E = Σⱼ yⱼ|xⱼ − m| (the
 * error S picks up from its terms) — large for a logit far below the maximum, and honest.
 */
interface Slice {
  idx: number[];
  m: number;
  y: number[];
  L: number;
  E: number;
}

function slices(X: Float64Array, shape: readonly number[], axis: number): Slice[] {
  const { outer, n, inner } = around(shape, axis);
  const out: Slice[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const idx = Array.from({ length: n }, (_, k) => (o * n + k) * inner + i);
      let m = -Infinity;
      for (const j of idx) m = Number.isNaN(X[j]) || Number.isNaN(m) ? NaN : Math.max(m, X[j]);
      const e = idx.map((j) => Math.exp(X[j] - m));
      const S = e.reduce((s, v) => s + v, 0);
      const y = e.map((v) => v / S);
      let E = 0;
      idx.forEach((j, k) => {
        if (y[k] > 0) E += y[k] * Math.abs(X[j] - m);
      });
      out.push({ idx, m, y, L: Math.log(S), E });
    }
  }
  return out;
}

/** softmax along `axis`; backward yₖ(gₖ − Σⱼ gⱼyⱼ), with the outputs' errors carried through. */
export function softmaxRef(x: Float32Array, shape: number[], axis: number): RefResult {
  if (!axisOk(shape, axis) || shape.length === 0) return { throws: Error };
  const X = f64(x);
  const ss = slices(X, shape, axis);
  const y = new Float64Array(X.length);
  const dy = new Float64Array(X.length);
  for (const s of ss) {
    const n = s.idx.length;
    s.idx.forEach((j, k) => {
      y[j] = s.y[k];
      dy[j] = U * Math.abs(s.y[k]) * (Math.abs(X[j] - s.m) + s.E + n + 3) + 2 * ETA;
    });
  }
  const value: Bound = { ref: y, tol: dy.map((t) => (Number.isNaN(t) ? Infinity : t)), loose: new Uint8Array(y.length) };
  return {
    shape: [...shape],
    value,
    vjp: (g) => {
      const y32 = y.map(Math.fround); // the saved float32 output, as in unaryRef
      const d = new Float64Array(X.length);
      const tol = new Float64Array(X.length);
      for (const s of ss) {
        const n = s.idx.length;
        let dot = 0;
        let dotMag = 0;
        let dDot = 0;
        for (const j of s.idx) {
          dot += g[j] * y32[j];
          dotMag += Math.abs(g[j] * y[j]);
          dDot += Math.abs(g[j]) * dy[j];
        }
        dDot += n * U * dotMag;
        for (const j of s.idx) {
          d[j] = y32[j] * (g[j] - dot);
          tol[j] = dy[j] * Math.abs(g[j] - dot) + Math.abs(y[j]) * dDot + 2 * U * Math.abs(y[j]) * (Math.abs(g[j]) + Math.abs(dot)) + 2 * ETA;
        }
      }
      return [{ ref: d, tol: tol.map((t) => (Number.isNaN(t) ? Infinity : t)), loose: new Uint8Array(d.length) }];
    },
  };
}

/**
 * log softmax along `axis`: outₖ = (xₖ − m) − L. A float32 evaluation's error: u·|xₖ − m| for the
 * shift, u·(n + 1 + E) through S into L, u·|L| for the log, u·|out| for the store. Backward
 * gₖ − e^outₖ·Σⱼ gⱼ, with e^out read from the float32 output (its error Δout becomes a relative one).
 */
export function logSoftmaxRef(x: Float32Array, shape: number[], axis: number): RefResult {
  if (!axisOk(shape, axis) || shape.length === 0) return { throws: Error };
  const X = f64(x);
  const ss = slices(X, shape, axis);
  const out = new Float64Array(X.length);
  const tol = new Float64Array(X.length);
  for (const s of ss) {
    const n = s.idx.length;
    for (const j of s.idx) {
      out[j] = X[j] - s.m - s.L;
      tol[j] = U * (Math.abs(X[j] - s.m) + n + 1 + s.E + 2 * Math.abs(s.L) + Math.abs(out[j])) + 2 * ETA;
    }
  }
  const value: Bound = { ref: out, tol: tol.map((t) => (Number.isNaN(t) ? Infinity : t)), loose: new Uint8Array(out.length) };
  return {
    shape: [...shape],
    value,
    vjp: (g) => {
      const d = new Float64Array(X.length);
      const dt = new Float64Array(X.length);
      for (const s of ss) {
        const n = s.idx.length;
        let G = 0;
        let Gmag = 0;
        for (const j of s.idx) {
          G += g[j];
          Gmag += Math.abs(g[j]);
        }
        for (const j of s.idx) {
          const p = Math.exp(Math.fround(out[j])); // from the saved float32 output
          d[j] = g[j] - p * G;
          dt[j] = p * Math.abs(G) * (value.tol[j] + 3 * U) + p * n * U * Gmag + U * Math.abs(d[j]) + 2 * ETA;
        }
      }
      return [{ ref: d, tol: dt.map((t) => (Number.isNaN(t) ? Infinity : t)), loose: new Uint8Array(d.length) }];
    },
  };
}

/**
 * Cross-entropy of logits (B, C) and labels, the mean over the batch of (m − z_y) + L per row, each
 * row's error as logSoftmax's, then B − 1 roundings adding the rows and two for the mean. Backward
 * (softmax − onehot)·g/B, the probabilities' error as softmax's. An empty batch gives 0 here where
 * PyTorch gives 0/0 = NaN: tapegrad returns 0 (engine/ops/crossEntropy.ts), so that an empty batch is
 * no loss at all rather than a NaN that would stop training; the reference follows tapegrad.
 */
export function crossEntropyRef(z: Float32Array, shape: number[], labels: Int32Array): RefResult {
  if (shape.length !== 2 || labels.length !== shape[0]) return { throws: Error };
  const [B, C] = shape;
  for (const l of labels) if (!(l >= 0 && l < C)) return { throws: Error };
  const Z = f64(z);
  const ss = B === 0 ? [] : slices(Z, shape, 1);
  let total = 0;
  let mag = 0;
  let rowTol = 0;
  ss.forEach((s, b) => {
    const zy = Z[b * C + labels[b]];
    const term = s.m - zy + s.L;
    total += term;
    if (Number.isFinite(term)) mag += Math.abs(term);
    rowTol += U * (Math.abs(zy - s.m) + C + 1 + s.E + 2 * Math.abs(s.L) + Math.abs(term));
  });
  const loss = B > 0 ? total / B : 0;
  const k = Math.max(B - 1, 0) + 2;
  const tolLoss = B > 0 ? rowTol / B + (k * U * mag) / B + k * ETA : 0;
  const value: Bound = {
    ref: Float64Array.of(loss),
    tol: Float64Array.of(Number.isNaN(tolLoss) ? Infinity : tolLoss),
    loose: Uint8Array.of(B > 1 && mag > FLT_MAX ? 1 : 0),
  };
  return {
    shape: [],
    value,
    vjp: (g) => {
      const d = new Float64Array(B * C);
      const tol = new Float64Array(B * C);
      const scale = B > 0 ? g[0] / B : 0;
      ss.forEach((s, b) => {
        s.idx.forEach((j, c) => {
          const p = Math.fround(s.y[c]); // the saved float32 probabilities
          // p·s − s at the label, not (p − 1)·s: PyTorch's order (nll_loss's backward, then
          // log_softmax's), whose label entry is ∞ − ∞ = NaN for an infinite upstream gradient.
          d[j] = p * scale - (c === labels[b] ? scale : 0);
          tol[j] = Math.abs(p) * U * (Math.abs(Z[j] - s.m) + C + s.E + 5) * Math.abs(scale) + 3 * U * Math.abs(d[j]) + 2 * ETA;
        });
      });
      return [{ ref: d, tol: tol.map((t) => (Number.isNaN(t) ? Infinity : t)), loose: new Uint8Array(d.length) }];
    },
  };
}

/**
 * Mean squared error, (1/n)·Σ(p − t)²: each term three roundings (the difference, the square), n − 1
 * to add them, two for 1/n. Backward ±2(p − t)·g/n, five roundings on the engine's chain (the scale,
 * 1/n, the square's two products, their sum). The chain is a composition (mean, square, sub): g/n is
 * rounded first, so where it underflows its η is multiplied by 2|p − t| afterwards (PyTorch's fused
 * mse_loss multiplies first and does not underflow there).
 */
export function mseRef(p: Float32Array, t: Float32Array, shape: number[]): RefResult {
  const n = p.length;
  const P = f64(p);
  const T = f64(t);
  const s = new Sums(1, 3);
  for (let i = 0; i < n; i++) {
    const d = P[i] - T[i];
    s.add(0, d * d, Math.abs(d) * Math.max(1, Math.abs(d)));
  }
  const value = s.done(2, 1 / n);
  if (n === 0) value.ref[0] = NaN;
  return {
    shape: [],
    value,
    vjp: (g) => {
      const dp = new Float64Array(n);
      for (let i = 0; i < n; i++) dp[i] = (2 * (P[i] - T[i]) * g[0]) / n;
      const amplified = (i: number) => 2 * Math.abs(P[i] - T[i]) * ETA;
      const a = pointwise(dp, 5, amplified);
      const b = pointwise(dp.map((v) => -v), 5, amplified);
      // A difference that overflows float32 (1e38 − (−3e38)) is ±∞ on the engine's chain and finite here.
      for (let i = 0; i < n; i++) {
        if (Math.abs(P[i] - T[i]) > FLT_MAX || Math.abs(2 * (P[i] - T[i]) * g[0]) > FLT_MAX) a.loose[i] = b.loose[i] = 1;
      }
      void shape;
      return [a, b];
    },
  };
}

/**
 * Inverted dropout with the mask the same seeded generator draws (a unit is dropped when
 * `rng.uniform() < rate`, engine/kernels/dropout.ts's naive twin): x·(1/(1 − rate)) or x·0 (NaN for
 * x = ±∞, as PyTorch's x·mask). Two roundings (the scale, the product); backward g·mask, the same.
 */
export function dropoutRef(x: Float32Array, shape: number[], rate: number, uniforms: Float64Array): RefResult {
  if (!(rate >= 0 && rate < 1)) return { throws: RangeError };
  const X = f64(x);
  const mask = X.map((_, i) => (rate === 0 ? 1 : uniforms[i] < rate ? 0 : 1 / (1 - rate)));
  return {
    shape: [...shape],
    value: pointwise(X.map((v, i) => v * mask[i]), 2),
    vjp: (g) => [pointwise(Float64Array.from(g, (v, i) => v * mask[i]), 2)],
  };
}

// ---- comparing ----

/** Null when `got` is within `bound`, else a description of the first element that is not. */
export function outside(got: Float32Array, bound: Bound): string | null {
  if (got.length !== bound.ref.length) return `${got.length} values, expected ${bound.ref.length}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const r = bound.ref[i];
    const t = bound.tol[i];
    let ok: boolean;
    if (bound.loose[i] === 2) ok = true;
    else if (Number.isNaN(r)) ok = Number.isNaN(g);
    else if (bound.loose[i] === 1) ok = true;
    else if (!Number.isFinite(r)) ok = g === r;
    else if (Number.isNaN(g)) ok = false;
    else if (!Number.isFinite(g)) ok = g > 0 ? r + t >= OVERFLOW : r - t <= -OVERFLOW; // ±∞ where the interval reaches past float32
    else ok = Math.abs(g - r) <= t;
    if (!ok) return `element ${i}: got ${g}, expected ${r} ± ${t.toExponential(2)}${bound.loose[i] ? ' (loose)' : ''}`;
  }
  return null;
}
