/**
 * The kernel contract: every kernel's signature, written once. The ops call these (through
 * `kernels()` in index.ts); the two backends implement them — js.ts with the plain-TypeScript loops
 * of engine/kernels/, wasm.ts with the WebAssembly SIMD kernels of engine/wasm/ — and index.ts
 * chooses which one runs.
 *
 * Conventions (the letters are engine/kernels/README.md's): outputs first, then inputs, then sizes;
 * `d` + name for a gradient. A product C (M,N) = A·B reads A's element (i,k) at A[i·ai + k·ak] and
 * B's (k,j) at B[k·bk + j·bj], so one kernel serves the three layouts of a Dense layer.
 *
 * Both backends give the same bits for the elementwise kernels and the optimizer updates; the products
 * agree to float32 rounding (the JavaScript ones sum in float64, the WebAssembly ones in float32 lanes,
 * and FMA rounds once where mul+add rounds twice); tanh and sigmoid to a few float32 ulps (the
 * WebAssembly ones evaluate exp by a polynomial). Within a backend the bits never depend on the
 * thread count.
 *
 * Normalization and softmax (tests/engine/wasm-checks.ts `normChecks` holds the WebAssembly kernels to
 * these, tests/engine/softmax.test.ts and layerNorm.test.ts both backends to a float64 reference):
 *
 * - the same bits: LayerNorm forward and backward and BatchNorm (each sum in float64 in the twin's
 *   order), softmaxBackward and crossEntropyBackward (float64, the dot product in the twin's order);
 * - softmaxForward's and crossEntropyForward's probabilities: within 4 float32 ulps of the twin's (an
 *   absolute 4·2⁻¹²⁶ below the normal range). The WebAssembly exp (engine/wasm/softmax.ts: about 1 ulp,
 *   of an argument x − max kept exact) errs in e^(x−max) and, averaged, in the sum; each probability is
 *   rounded once in either; 2 ulps measured;
 * - logSoftmaxForward: |wasm − js| ≤ 2⁻²²·(1 + |y|), y the twin's log-probability: log Σ moves by the
 *   sum's relative error (its largest term, e⁰ = 1, is exact, so Σ ≥ 1), and y is rounded once;
 *   crossEntropyForward's summed loss, each row's the same way: ≤ 2⁻²²·(B + |loss|);
 * - logSoftmaxBackward: |wasm − js| ≤ 2⁻²²·|e^out·Σ dout| + one float32 ulp of the twin's dinp
 *   (e^out by the polynomial, the rest in float64 as the twin; dout − e^out·Σ can cancel, so the bound
 *   is on the term, not the result).
 *
 * NaN and ±∞ give what the twins give in both, as PyTorch: a distribution holding NaN or +∞ is NaN
 * throughout, one of −∞ only is NaN, a −∞ among finite values has probability 0, log-probability −∞.
 */
import type {
  AdaBoundStep, AdadeltaStep, AdagradStep, AdamStep, AdamaxStep, LionStep, LookaheadStep, MuonApplyStep, MuonMomentumStep, NadamStep,
  RAdamStep, RMSpropStep, SgdStep,
} from '../kernels/updates.js';
import type { Rng } from '../rng.js';

export type {
  AdaBoundStep, AdadeltaStep, AdagradStep, AdamStep, AdamaxStep, LionStep, LookaheadStep, MuonApplyStep, MuonMomentumStep, NadamStep,
  RAdamStep, RMSpropStep, SgdStep,
};

/** The two backends: 'wasm' (SIMD kernels emitted at run time; the default where they validate) and 'js' (plain TypeScript). */
export type BackendName = 'wasm' | 'js';

export interface Kernels {
  readonly name: BackendName;
  /** True when the products use fused multiply-add (relaxed SIMD that really fuses). */
  readonly fma: boolean;

  /** C (M,N) = A·B, A's (i,k) at A[i·ai + k·ak], B's (k,j) at B[k·bk + j·bj]. */
  gemm(C: Float32Array, A: Float32Array, ai: number, ak: number, B: Float32Array, bk: number, bj: number, M: number, K: number, N: number): void;

  /** out (B,OUT) += bias (OUT), per row. */
  biasForward(out: Float32Array, bias: Float32Array, B: number, OUT: number): void;
  /** dbias (OUT) = Σ_b dout (B,OUT). */
  biasBackward(dbias: Float32Array, dout: Float32Array, B: number, OUT: number): void;
  /** out = relu(out + bias), in place; bias may be null. NaN stays NaN. */
  biasReluForward(out: Float32Array, bias: Float32Array | null, B: number, OUT: number): void;
  /** dpre = dout where out > 0 or out is NaN, else 0; dbias = Σ_b dpre unless null. */
  biasReluBackward(dpre: Float32Array, dbias: Float32Array | null, dout: Float32Array, out: Float32Array, B: number, OUT: number): void;
  /** out = relu(inp) (n). NaN stays NaN. */
  reluForward(out: Float32Array, inp: Float32Array, n: number): void;
  /** dinp = dout where out > 0 or out is NaN, else 0. */
  reluBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void;

  /** out = tanh(inp) (n). */
  tanhForward(out: Float32Array, inp: Float32Array, n: number): void;
  /** dinp = dout·(1 − out²). */
  tanhBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void;
  /** out = σ(inp) (n). */
  sigmoidForward(out: Float32Array, inp: Float32Array, n: number): void;
  /** dinp = dout·out·(1 − out). */
  sigmoidBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void;

  /**
   * Inverted dropout (kernels/dropout.ts): mask = 0 or 1/(1 − rate) per unit, drawn from `rng` (whose
   * state moves on exactly as n draws of rng.uniform() would), out = inp·mask.
   */
  dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, rate: number, rng: Rng, n: number): void;
  /** dinp = dout·mask. */
  dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, n: number): void;

  /**
   * BatchNorm's training forward (kernels/batchNorm.ts): x, out, xhat (B,F); gamma, beta (F); writes
   * the batch's mean, biased variance and invstd (F, float64).
   */
  batchNormForward(
    out: Float32Array, xhat: Float32Array, mean: Float64Array, variance: Float64Array, invstd: Float64Array,
    x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, B: number, F: number,
  ): void;
  /** xhat = (x − mean)·invstd, out = gamma·xhat + beta (BatchNorm's eval forward, with running statistics). */
  normalizeAffine(
    out: Float32Array, xhat: Float32Array, x: Float32Array, mean: Float64Array, invstd: Float64Array,
    gamma: Float32Array, beta: Float32Array, B: number, F: number,
  ): void;
  /** BatchNorm's training backward: dinp (B,F), dgamma, dbeta (F). */
  batchNormBackward(
    dinp: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
    dout: Float32Array, xhat: Float32Array, gamma: Float32Array, invstd: Float64Array, B: number, F: number,
  ): void;

  /**
   * LayerNorm's forward (kernels/layerNorm.ts): x, out, xhat (R,F), each row normalized with its own
   * mean and biased variance; gamma, beta (F); writes invstd (R, float64).
   */
  layerNormForward(
    out: Float32Array, xhat: Float32Array, invstd: Float64Array,
    x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, R: number, F: number,
  ): void;
  /** LayerNorm's backward: dinp (R,F), dgamma, dbeta (F). */
  layerNormBackward(
    dinp: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
    dout: Float32Array, xhat: Float32Array, gamma: Float32Array, invstd: Float64Array, R: number, F: number,
  ): void;

  /** out = softmax(inp) along the N axis of a tensor seen as (OUTER, N, INNER) (kernels/softmax.ts). */
  softmaxForward(out: Float32Array, inp: Float32Array, OUTER: number, N: number, INNER: number): void;
  /** dinp = y ⊙ (dout − Σ dout⊙y) along the axis, y the softmax output. */
  softmaxBackward(dinp: Float32Array, dout: Float32Array, y: Float32Array, OUTER: number, N: number, INNER: number): void;
  /** out = (inp − max) − log Σ e^(inp − max) along the axis. */
  logSoftmaxForward(out: Float32Array, inp: Float32Array, OUTER: number, N: number, INNER: number): void;
  /** dinp = dout − e^out · Σ dout along the axis, out the log-softmax output. */
  logSoftmaxBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, OUTER: number, N: number, INNER: number): void;
  /**
   * Softmax + cross-entropy fused: logits, probs (B,C), labels (B) in [0, C). Writes the probabilities
   * and returns Σ_b (logsumexp(logits_b) − logits_b[label_b]), summed over b in order in float64.
   */
  crossEntropyForward(probs: Float32Array, logits: Float32Array, labels: Int32Array, B: number, C: number): number;
  /** dlogits = scale·(probs − onehot(labels)). */
  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, labels: Int32Array, B: number, C: number, scale: number): void;

  /** The Keras SGD update in place (kernels/updates.ts); v is null without momentum. */
  sgdUpdate(w: Float32Array, v: Float32Array | null, g: Float32Array, step: SgdStep, N: number): void;
  /** The Adam/AdamW update in place (kernels/updates.ts); vmax is null without AMSGrad. */
  adamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array, step: AdamStep, N: number): void;
  /** The Adamax update in place (kernels/updates.ts); u is the infinity norm. */
  adamaxUpdate(w: Float32Array, m: Float32Array, u: Float32Array, g: Float32Array, step: AdamaxStep, N: number): void;
  /** The RAdam update in place. */
  radamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, step: RAdamStep, N: number): void;
  /** The AdaBound update in place; vmax is null without AMSBound. */
  adaboundUpdate(w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array, step: AdaBoundStep, N: number): void;
  /** The Lion update in place. */
  lionUpdate(w: Float32Array, m: Float32Array, g: Float32Array, step: LionStep, N: number): void;
  /** Muon's momentum: the buffer b in place, the matrix to orthogonalize into u. */
  muonMomentum(u: Float32Array, b: Float32Array, g: Float32Array, step: MuonMomentumStep, N: number): void;
  /** Muon's step from the orthogonalized update o: w = w·(1 − lr·weightDecay) − adjustedLr·o. */
  muonApply(w: Float32Array, o: Float32Array, step: MuonApplyStep, N: number): void;
  /** Lookahead's synchronisation: slow += alpha·(w − slow), then w = slow. */
  lookaheadSync(w: Float32Array, slow: Float32Array, step: LookaheadStep, N: number): void;
  /** The RMSprop update in place; avg is null unless centered, buf null without momentum. */
  rmspropUpdate(
    w: Float32Array, sq: Float32Array, avg: Float32Array | null, buf: Float32Array | null, g: Float32Array, step: RMSpropStep, N: number,
  ): void;
  /** The Nadam update in place. */
  nadamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, step: NadamStep, N: number): void;
  /** The Adagrad update in place; sum is the squared gradients' running sum. */
  adagradUpdate(w: Float32Array, sum: Float32Array, g: Float32Array, step: AdagradStep, N: number): void;
  /** The Adadelta update in place; sq and acc are the squared gradients' and squared steps' averages. */
  adadeltaUpdate(w: Float32Array, sq: Float32Array, acc: Float32Array, g: Float32Array, step: AdadeltaStep, N: number): void;
}
