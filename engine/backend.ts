/**
 * Two backends run the same ops:
 *
 * - `wasm`: WebAssembly SIMD kernels whose bytes engine/wasm/ emits at start-up (f32x4 register
 *   tiles; relaxed-SIMD FMA where the runtime accepts it, mul+add elsewhere). The default wherever
 *   SIMD validates and tensors live in shared memory (Node; a cross-origin-isolated page).
 * - `js`: the plain-TypeScript kernels of engine/kernels/, the readable path and the fallback.
 *
 * Where there is no SharedArrayBuffer (a page without cross-origin isolation), tensors are plain
 * Float32Arrays that a WebAssembly module cannot address in place, so the engine runs the `js`
 * backend there, on one thread; `setBackend('wasm')` says why it cannot.
 *
 * The two give results that agree to float32 rounding, not bit for bit: the JavaScript products sum
 * in float64, the WebAssembly ones in float32 lanes (and FMA rounds once where mul+add rounds twice).
 * The same seed, backend and FMA setting give the same bits, whatever the thread count.
 */
import { BackendError } from './errors.js';
import { reluBackward, reluForward } from './kernels/activation.js';
import { jsGemmKit, type GemmJob } from './kernels/gemmPacked.js';
import { biasBackward, biasForward, biasReluBackward, biasReluForward } from './kernels/linear.js';
import { adamUpdate, sgdUpdate } from './kernels/updates.js';
import { adaboundUpdate, adamaxUpdate, lionUpdate, lookaheadSync, muonApply, muonMomentum, radamUpdate } from './kernels/updates.js';
import { threadsReady as poolReady, type PoolKernels } from './threads/index.js';
import { KIND_JS } from './threads/protocol.js';
import { wasmBackendAsync, wasmBackendSync } from './wasmBackend.js';

/** The two backends: 'wasm' (SIMD kernels emitted at run time; the default where they validate) and 'js' (plain TypeScript). */
export type BackendName = 'wasm' | 'js';

/** What a backend provides: the kernels compute.ts calls, with the kernels' signatures. */
export interface Backend {
  readonly name: BackendName;
  /** True when the products use fused multiply-add (relaxed SIMD). */
  readonly fma: boolean;
  /** Runs a product; `runGemm` is the thread pool's entry (threads/index.ts), given to avoid a cycle. */
  gemm(job: GemmJob, runGemm: (job: GemmJob, kernels: PoolKernels) => void): void;
  biasForward: typeof biasForward;
  biasBackward: typeof biasBackward;
  biasReluForward: typeof biasReluForward;
  biasReluBackward: typeof biasReluBackward;
  reluForward: typeof reluForward;
  reluBackward: typeof reluBackward;
  sgdUpdate: typeof sgdUpdate;
  adamUpdate: typeof adamUpdate;
  // The updates of Adamax, RAdam, AdaBound, Lion, Muon and Lookahead (kernels/updates.ts).
  adamaxUpdate: typeof adamaxUpdate;
  radamUpdate: typeof radamUpdate;
  adaboundUpdate: typeof adaboundUpdate;
  lionUpdate: typeof lionUpdate;
  muonMomentum: typeof muonMomentum;
  muonApply: typeof muonApply;
  lookaheadSync: typeof lookaheadSync;
}

const jsPool: PoolKernels = { kind: KIND_JS, kit: jsGemmKit() };

const jsBackend: Backend = {
  name: 'js',
  fma: false,
  gemm: (job, runGemm) => runGemm(job, jsPool),
  biasForward,
  biasBackward,
  biasReluForward,
  biasReluBackward,
  reluForward,
  reluBackward,
  sgdUpdate,
  adamUpdate,
  adamaxUpdate,
  radamUpdate,
  adaboundUpdate,
  lionUpdate,
  muonMomentum,
  muonApply,
  lookaheadSync,
};

let active: Backend | null = null;

/** The backend in use, chosen on first use: `wasm` where it can run, else `js`. */
export function activeBackend(): Backend {
  if (active !== null) return active;
  const wasm = wasmBackendSync();
  active = typeof wasm === 'string' ? jsBackend : wasm;
  return active;
}

/** Which backend runs the ops: 'wasm' or 'js'. */
export function getBackend(): BackendName {
  return activeBackend().name;
}

/** True when the products use fused multiply-add (the `wasm` backend where relaxed SIMD validates). */
export function usesFma(): boolean {
  return activeBackend().fma;
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
    active = jsBackend;
    return;
  }
  if (name !== 'wasm') {
    throw new BackendError(`setBackend: unknown backend ${JSON.stringify(name)}, expected 'wasm' or 'js'`);
  }
  if (active?.name === 'wasm') return;
  const made = await wasmBackendAsync();
  if (typeof made === 'string') throw new BackendError(`setBackend('wasm'): ${made}; the backend stays '${getBackend()}'`);
  active = made;
}

/**
 * Starts the thread pool's workers (with the backend's kernels) and resolves once they are ready,
 * so that a benchmark does not time the start-up. Training does not need to await it.
 */
export async function threadsReady(): Promise<void> {
  activeBackend(); // the workers start with the WebAssembly module when that is the backend
  await poolReady();
}
