/**
 * Which backend runs the kernels, chosen here once: `wasm` wherever WebAssembly SIMD validates — over
 * the engine's shared memory with the thread pool where SharedArrayBuffer exists (Node; a
 * cross-origin-isolated page), over a private memory on one thread elsewhere (a page without
 * isolation, a worker without SharedArrayBuffer) — and `js`, the plain-TypeScript kernels, only where
 * SIMD itself is missing or when asked for. The ops call `kernels()` (and the product layouts below);
 * the contract is kernels.ts.
 */
import { BackendError } from '../errors.js';
import { threadsReady as poolReady } from '../threads/index.js';
import { jsKernels } from './js.js';
import type {
  AdaBoundStep, AdadeltaStep, AdagradStep, AdamStep, AdamaxStep, BackendName, Kernels, LionStep, LookaheadStep, MuonApplyStep,
  MuonMomentumStep, NadamStep, RAdamStep, RMSpropStep, SgdStep,
} from './kernels.js';
import { wasmKernelsAsync, wasmKernelsSync } from './wasm.js';

export type {
  AdaBoundStep, AdadeltaStep, AdagradStep, AdamStep, AdamaxStep, BackendName, Kernels, LionStep, LookaheadStep, MuonApplyStep,
  MuonMomentumStep, NadamStep, RAdamStep, RMSpropStep, SgdStep,
};

let active: Kernels | null = null;

/** The backend in use, chosen on first use: `wasm` where it can run, else `js`. */
export function kernels(): Kernels {
  if (active !== null) return active;
  const wasm = wasmKernelsSync();
  active = typeof wasm === 'string' ? jsKernels : wasm;
  return active;
}

/** Which backend runs the ops: 'wasm' or 'js'. */
export function getBackend(): BackendName {
  return kernels().name;
}

/**
 * True when the products use fused multiply-add: the `wasm` backend where relaxed SIMD validates and
 * relaxed_madd really rounds once (probed by running it, not only by validating it).
 */
export function usesFma(): boolean {
  return kernels().fma;
}

/**
 * Selects the backend ('wasm' | 'js'). Returns a promise that resolves once it is ready (compiling
 * the WebAssembly module can take a moment); await it before training. An unknown name, or a
 * backend this runtime cannot run, rejects with a BackendError and leaves the backend unchanged.
 * Both backends give the same results to float32 rounding; only speed differs.
 *
 * @example
 * ```ts
 * import { Tensor, getBackend, setBackend } from 'tapegrad';
 *
 * await setBackend('js'); // the plain-TypeScript kernels, the readable path
 * console.log(getBackend()); // => 'js'
 * console.log(Tensor.from([[1, 2]]).matmul(Tensor.from([[3], [4]])).item()); // => 11
 * ```
 */
export async function setBackend(name: BackendName): Promise<void> {
  if (name === 'js') {
    active = jsKernels;
    return;
  }
  if (name !== 'wasm') {
    throw new BackendError(`setBackend: unknown backend ${JSON.stringify(name)}, expected 'wasm' or 'js'`);
  }
  if (active?.name === 'wasm') return;
  const made = await wasmKernelsAsync();
  if (typeof made === 'string') throw new BackendError(`setBackend('wasm'): ${made}; the backend stays '${getBackend()}'`);
  active = made;
}

/**
 * Starts the thread pool's workers (with the backend's kernels) and resolves once they are ready,
 * so that a benchmark does not time the start-up. Training does not need to await it.
 */
export async function threadsReady(): Promise<void> {
  kernels(); // the workers start with the WebAssembly module when that is the backend
  await poolReady();
}

/** C (M,N) = A (M,K) · B (K,N). */
export function gemmNN(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  kernels().gemm(C, A, K, 1, B, N, 1, M, K, N);
}

/** C (M,N) = A (M,K) · Bᵀ, B stored (N,K): Bᵀ read in place. */
export function gemmNT(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  kernels().gemm(C, A, K, 1, B, 1, K, M, K, N);
}

/** C (M,N) = Aᵀ · B, A stored (K,M), B (K,N): Aᵀ read in place. */
export function gemmTN(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  kernels().gemm(C, A, 1, M, B, N, 1, M, K, N);
}

/**
 * The Keras SGD update in place on the current backend (engine/kernels/updates.ts has the loop): w, v, g
 * are (N), v null without momentum; `step` holds the step's rate and the hyper-parameters by name.
 */
export function sgdUpdate(w: Float32Array, v: Float32Array | null, g: Float32Array, step: SgdStep, N: number): void {
  kernels().sgdUpdate(w, v, g, step, N);
}

/**
 * The Adam/AdamW update in place on the current backend (engine/kernels/updates.ts has the loop): w, m,
 * v, vmax, g are (N), vmax null without AMSGrad. Adam sets `coupledDecay`, AdamW `decoupledDecay`.
 */
export function adamUpdate(
  w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array, step: AdamStep, N: number,
): void {
  kernels().adamUpdate(w, m, v, vmax, g, step, N);
}

// The updates of Adamax, RAdam, AdaBound, Lion, Muon and Lookahead on the current backend
// (engine/kernels/updates.ts has the loops and the formulas), each taking the step's hyper-parameters
// as a record.

/** The Adamax update in place: w, m, u, g are (N). */
export function adamaxUpdate(w: Float32Array, m: Float32Array, u: Float32Array, g: Float32Array, step: AdamaxStep, N: number): void {
  kernels().adamaxUpdate(w, m, u, g, step, N);
}

/** The RAdam update in place: w, m, v, g are (N). */
export function radamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, step: RAdamStep, N: number): void {
  kernels().radamUpdate(w, m, v, g, step, N);
}

/** The AdaBound update in place: w, m, v, vmax, g are (N), vmax null without AMSBound. */
export function adaboundUpdate(
  w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array, step: AdaBoundStep, N: number,
): void {
  kernels().adaboundUpdate(w, m, v, vmax, g, step, N);
}

/** The Lion update in place: w, m, g are (N). */
export function lionUpdate(w: Float32Array, m: Float32Array, g: Float32Array, step: LionStep, N: number): void {
  kernels().lionUpdate(w, m, g, step, N);
}

/** Muon's momentum: the buffer b in place, the matrix to orthogonalize into u. u, b, g are (N). */
export function muonMomentum(u: Float32Array, b: Float32Array, g: Float32Array, step: MuonMomentumStep, N: number): void {
  kernels().muonMomentum(u, b, g, step, N);
}

/** Muon's step from the orthogonalized update o: w = w·(1 − lr·weightDecay) − adjustedLr·o. */
export function muonApply(w: Float32Array, o: Float32Array, step: MuonApplyStep, N: number): void {
  kernels().muonApply(w, o, step, N);
}

/** Lookahead's synchronisation: slow += alpha·(w − slow), then w = slow. w, slow are (N). */
export function lookaheadSync(w: Float32Array, slow: Float32Array, step: LookaheadStep, N: number): void {
  kernels().lookaheadSync(w, slow, step, N);
}

// The updates of RMSprop, Nadam, Adagrad and Adadelta on the current backend (engine/kernels/updates.ts
// has the loops and the formulas), each taking the step's hyper-parameters as a record.

/**
 * The RMSprop update in place: w, sq, avg, buf, g are (N); avg is the gradient average, given exactly
 * when `step.centered`, and buf the momentum buffer, given exactly when `step.momentum` > 0. Both
 * loops choose their case by the buffers, so a record and buffers that disagree would run the other
 * variant without a word: they throw a TypeError instead.
 */
export function rmspropUpdate(
  w: Float32Array, sq: Float32Array, avg: Float32Array | null, buf: Float32Array | null, g: Float32Array, step: RMSpropStep, N: number,
): void {
  if ((avg !== null) !== step.centered) {
    throw new TypeError(`rmspropUpdate: centered is ${step.centered} but the gradient average is ${avg === null ? 'null' : 'given'}; pass it exactly when centered`);
  }
  if ((buf !== null) !== step.momentum > 0) {
    throw new TypeError(`rmspropUpdate: momentum is ${step.momentum} but the momentum buffer is ${buf === null ? 'null' : 'given'}; pass it exactly when momentum > 0`);
  }
  kernels().rmspropUpdate(w, sq, avg, buf, g, step, N);
}

/** The Nadam update in place: w, m, v, g are (N); `step.muProduct` is mu_1···mu_t (`nadamMu` gives each). */
export function nadamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, step: NadamStep, N: number): void {
  kernels().nadamUpdate(w, m, v, g, step, N);
}

/** The Adagrad update in place: w, sum, g are (N). */
export function adagradUpdate(w: Float32Array, sum: Float32Array, g: Float32Array, step: AdagradStep, N: number): void {
  kernels().adagradUpdate(w, sum, g, step, N);
}

/** The Adadelta update in place: w, sq, acc, g are (N). */
export function adadeltaUpdate(w: Float32Array, sq: Float32Array, acc: Float32Array, g: Float32Array, step: AdadeltaStep, N: number): void {
  kernels().adadeltaUpdate(w, sq, acc, g, step, N);
}
