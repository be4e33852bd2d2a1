/**
 * What the ops call for their arithmetic: each function here runs the current backend's kernel
 * (engine/backend.ts) and, for big products, the thread pool (engine/threads/). The kernels
 * themselves (engine/kernels/ in TypeScript, engine/wasm/ in WebAssembly) know nothing of backends,
 * threads or tensors; this file and backend.ts are the one place that chooses.
 *
 * Shapes as in the kernels: C (M,N) = A·B with K summed; a Dense layer's out and dout are (B,OUT),
 * its bias (OUT).
 */
import { activeBackend } from './backend.js';
import { chooseAxis, zeroSkippingEnabled, type GemmJob } from './kernels/gemmPacked.js';
import { runGemm } from './threads/index.js';
import type { AdaBoundStep, AdamaxStep, LionStep, LookaheadStep, MuonApplyStep, MuonMomentumStep, RAdamStep } from './kernels/updates.js';

function gemm(
  C: Float32Array,
  A: Float32Array, ai: number, ak: number,
  B: Float32Array, bk: number, bj: number,
  M: number, K: number, N: number,
): void {
  const job: GemmJob = { A, a0: 0, ai, ak, B, b0: 0, bk, bj, C, c0: 0, M, K, N, axis: chooseAxis(M, N), zeroSkip: zeroSkippingEnabled() };
  activeBackend().gemm(job, runGemm);
}

/** C (M,N) = A (M,K) · B (K,N). */
export function gemmNN(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  gemm(C, A, K, 1, B, N, 1, M, K, N);
}

/** C (M,N) = A (M,K) · Bᵀ, B stored (N,K): Bᵀ read in place. */
export function gemmNT(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  gemm(C, A, K, 1, B, 1, K, M, K, N);
}

/** C (M,N) = Aᵀ · B, A stored (K,M), B (K,N): Aᵀ read in place. */
export function gemmTN(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  gemm(C, A, 1, M, B, N, 1, M, K, N);
}

/** out[b, o] += bias[o]. */
export function biasForward(out: Float32Array, bias: Float32Array, B: number, OUT: number): void {
  activeBackend().biasForward(out, bias, B, OUT);
}

/** dbias[o] = Σ_b dout[b, o]. */
export function biasBackward(dbias: Float32Array, dout: Float32Array, B: number, OUT: number): void {
  activeBackend().biasBackward(dbias, dout, B, OUT);
}

/** out = relu(out + bias), in place; bias may be null. NaN stays NaN. */
export function biasReluForward(out: Float32Array, bias: Float32Array | null, B: number, OUT: number): void {
  activeBackend().biasReluForward(out, bias, B, OUT);
}

/** dpre = dout where out > 0 or out is NaN, else 0; dbias = Σ_b dpre unless null. */
export function biasReluBackward(dpre: Float32Array, dbias: Float32Array | null, dout: Float32Array, out: Float32Array, B: number, OUT: number): void {
  activeBackend().biasReluBackward(dpre, dbias, dout, out, B, OUT);
}

/** out = relu(inp). NaN stays NaN. */
export function reluForward(out: Float32Array, inp: Float32Array, n: number): void {
  activeBackend().reluForward(out, inp, n);
}

/** dinp = dout where out > 0 or out is NaN, else 0. */
export function reluBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void {
  activeBackend().reluBackward(dinp, dout, out, n);
}

/** The Keras SGD update in place (kernels/updates.ts); v is null without momentum. */
export function sgdUpdate(
  w: Float32Array, v: Float32Array | null, g: Float32Array,
  lrT: number, momentum: number, nesterov: boolean, weightDecay: number, N: number,
): void {
  activeBackend().sgdUpdate(w, v, g, lrT, momentum, nesterov, weightDecay, N);
}

/** The Adam/AdamW update in place (kernels/updates.ts); vmax is null without AMSGrad. */
export function adamUpdate(
  w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array,
  lr: number, beta1: number, beta2: number, eps: number, coupledDecay: number, decoupledDecay: number, t: number, N: number,
): void {
  activeBackend().adamUpdate(w, m, v, vmax, g, lr, beta1, beta2, eps, coupledDecay, decoupledDecay, t, N);
}

// The updates of Adamax, RAdam, AdaBound, Lion, Muon and Lookahead (kernels/updates.ts), each taking
// the step's hyper-parameters as a record.

/** The Adamax update in place (kernels/updates.ts). w, m, u, g are (N). */
export function adamaxUpdate(w: Float32Array, m: Float32Array, u: Float32Array, g: Float32Array, step: AdamaxStep, N: number): void {
  activeBackend().adamaxUpdate(w, m, u, g, step, N);
}

/** The RAdam update in place. w, m, v, g are (N). */
export function radamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, step: RAdamStep, N: number): void {
  activeBackend().radamUpdate(w, m, v, g, step, N);
}

/** The AdaBound update in place; vmax is null without AMSBound. w, m, v, vmax, g are (N). */
export function adaboundUpdate(
  w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array, step: AdaBoundStep, N: number,
): void {
  activeBackend().adaboundUpdate(w, m, v, vmax, g, step, N);
}

/** The Lion update in place. w, m, g are (N). */
export function lionUpdate(w: Float32Array, m: Float32Array, g: Float32Array, step: LionStep, N: number): void {
  activeBackend().lionUpdate(w, m, g, step, N);
}

/** Muon's momentum: the buffer b in place, the matrix to orthogonalize into u. u, b, g are (N). */
export function muonMomentum(u: Float32Array, b: Float32Array, g: Float32Array, step: MuonMomentumStep, N: number): void {
  activeBackend().muonMomentum(u, b, g, step, N);
}

/** Muon's step from the orthogonalized update o: w = w·(1 − lr·weightDecay) − adjustedLr·o. */
export function muonApply(w: Float32Array, o: Float32Array, step: MuonApplyStep, N: number): void {
  activeBackend().muonApply(w, o, step, N);
}

/** Lookahead's synchronisation: slow += alpha·(w − slow), then w = slow. w, slow are (N). */
export function lookaheadSync(w: Float32Array, slow: Float32Array, step: LookaheadStep, N: number): void {
  activeBackend().lookaheadSync(w, slow, step, N);
}
