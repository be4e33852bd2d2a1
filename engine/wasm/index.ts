/**
 * engine/wasm — WebAssembly SIMD kernels whose bytes TypeScript emits at run time (encoder.ts;
 * no .wasm file, no compiler). The public face of the folder:
 *
 *   wasmSupport()                        → { simd, relaxedSimd }, from WebAssembly.validate
 *   kernelModuleBytes({ fma, sharedMemory, maxPages }) → the module's bytes
 *   compileKernels(options)              → a WebAssembly.Module, synchronously
 *   compileKernelsAsync(options)         → the same, as a promise
 *   instantiateKernels(module, memory)   → WasmKernels: the kernels, on that memory
 *
 * The module imports one memory, `env.memory` (shared with a maximum, or not shared, as built),
 * and holds no globals, no data and no start function: every kernel works only on the pointers
 * and sizes it is given. So the same compiled module can be instantiated again in each worker
 * thread over the same shared memory (post the module and the memory to the worker), and the
 * instances share nothing but that memory.
 *
 * Conventions (the letters are engine/kernels/README.md's): outputs first, then inputs, then
 * sizes. Pointers are BYTE addresses into the memory (a Float32Array view's `byteOffset`), sizes
 * and strides count float32 elements, and a pointer of 0 means "absent" (no bias, no index, no
 * velocity): the memory's allocator must never place a tensor at address 0. Pointers need 4-byte
 * alignment only; the GEMM's scratch area and packed panels run fastest 16-byte aligned.
 *
 * Nothing here imports from above engine/wasm/ (DESIGN: ops or one dispatcher choose the backend).
 */
import { ModuleBuilder } from './encoder.js';
import { ELEMENTWISE_EXPORTS, emitElementwise } from './elementwise.js';
import { GEMM_EXPORTS, emitGemm } from './gemm.js';
import { OPTIM_EXPORTS, OPTIM_ZOO_EXPORTS, emitOptim, emitOptimZoo } from './optim.js';
import type { AdaBoundFactors, AdamaxFactors, LionFactors, RAdamFactors } from './optim.js';
import { requireWebAssembly, webAssembly } from './runtime.js';
import type { WasmInstance, WasmMemory, WasmModule } from './runtime.js';

export { MR, NR, SPARSE_FRACTION, gemmScratchBytes, indexBytes, packedBytes, panelCount } from './gemm.js';
export type { WasmMemory, WasmModule } from './runtime.js';
export type { AdaBoundFactors, AdamaxFactors, LionFactors, RAdamFactors } from './optim.js';

export interface WasmSupport {
  /** 128-bit SIMD (v128, f32x4): the kernels need it. */
  simd: boolean;
  /** Relaxed SIMD (f32x4.relaxed_madd): the FMA tile loop. Node 20 has it only behind a V8 flag. */
  relaxedSimd: boolean;
}

let support: WasmSupport | null = null;

/**
 * What this runtime's WebAssembly accepts, found by validating two tiny modules (one f32x4 op; one
 * f32x4.relaxed_madd). Never sets a flag: the program runs with what the runtime has.
 */
export function wasmSupport(): WasmSupport {
  if (support !== null) return support;
  const api = webAssembly();
  if (api === null) return (support = { simd: false, relaxedSimd: false });
  const probe = (relaxed: boolean): Uint8Array => {
    const mod = new ModuleBuilder();
    const f = mod.func('probe', {}, [], 'probe');
    const x = () => f.f32x4Splat(f.f32(1));
    f.drop(relaxed ? f.f32x4RelaxedMadd(x(), x(), x()) : f.f32x4Add(x(), x()));
    return mod.toBytes();
  };
  const simd = api.validate(probe(false));
  return (support = { simd, relaxedSimd: simd && api.validate(probe(true)) });
}

export interface KernelModuleOptions {
  /** Build the tile loop with f32x4.relaxed_madd (needs wasmSupport().relaxedSimd). */
  fma: boolean;
  /** Import a shared memory (threads; needs SharedArrayBuffer), or a plain one (one thread). */
  sharedMemory: boolean;
  /**
   * The most pages (64 KiB) the imported memory may declare as its maximum. A shared memory must
   * declare one, no larger than this; default 65536 (4 GiB, wasm32's limit), which accepts any.
   */
  maxPages?: number;
}

const MAX_PAGES = 65536;

/** The kernel module's bytes: the GEMM, bias/ReLU and optimizer kernels, and `builtWithFma`. */
export function kernelModuleBytes(opts: KernelModuleOptions): Uint8Array {
  if (typeof opts.fma !== 'boolean') throw new TypeError(`kernelModuleBytes: fma must be true or false, got ${String(opts.fma)}`);
  if (typeof opts.sharedMemory !== 'boolean') {
    throw new TypeError(`kernelModuleBytes: sharedMemory must be true or false, got ${String(opts.sharedMemory)}`);
  }
  const maxPages = opts.maxPages ?? MAX_PAGES;
  if (!Number.isInteger(maxPages) || maxPages < 1 || maxPages > MAX_PAGES) {
    throw new RangeError(`kernelModuleBytes: maxPages must be an integer in [1, ${MAX_PAGES}], got ${maxPages}`);
  }
  const mod = new ModuleBuilder();
  mod.importMemory({
    module: 'env', name: 'memory', minPages: 0, shared: opts.sharedMemory,
    maxPages: opts.sharedMemory || opts.maxPages !== undefined ? maxPages : undefined,
  });
  emitGemm(mod, { fma: opts.fma });
  emitElementwise(mod);
  emitOptim(mod);
  emitOptimZoo(mod);
  // Which tile loop was built, readable from any instance (a worker, a checkpoint's metadata).
  const fma = mod.func('builtWithFma', {}, ['i32']);
  fma.i32(opts.fma ? 1 : 0);
  return mod.toBytes();
}

/**
 * Compiles the kernel module synchronously. Fine in Node and in a Web Worker; a page's main thread
 * refuses synchronous compilation of modules this size: use compileKernelsAsync there.
 */
export function compileKernels(opts: KernelModuleOptions): WasmModule {
  const api = requireWebAssembly('compileKernels');
  checkSupport('compileKernels', opts);
  return new api.Module(kernelModuleBytes(opts));
}

/** Compiles the kernel module with WebAssembly.compile (a page's main thread needs this one). */
export function compileKernelsAsync(opts: KernelModuleOptions): Promise<WasmModule> {
  const api = requireWebAssembly('compileKernelsAsync');
  checkSupport('compileKernelsAsync', opts);
  return api.compile(kernelModuleBytes(opts));
}

function checkSupport(op: string, opts: KernelModuleOptions): void {
  const s = wasmSupport();
  if (!s.simd) throw new Error(`${op}: this runtime's WebAssembly has no SIMD; use setBackend('js')`);
  if (opts.fma && !s.relaxedSimd) {
    throw new Error(`${op}: fma needs relaxed SIMD, which this runtime does not validate (wasmSupport().relaxedSimd is false); build with fma: false`);
  }
}

/** SGD's hyper-parameters for one step (optim/sgd.ts; lrT = lr / (1 + decay·iterations), computed by the caller). */
export interface SgdStep {
  lrT: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

/** Adam's hyper-parameters for step t (from 1): coupledDecay is Adam's weight decay, decoupledDecay AdamW's. */
export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  coupledDecay: number;
  decoupledDecay: number;
  t: number;
}

/**
 * The kernels of one instance. Every pointer is a byte address in the instance's memory (0: absent),
 * every size and stride counts float32 elements. See gemm.ts, elementwise.ts and optim.ts for the
 * loops each one runs.
 */
export interface WasmKernels {
  /** True when the tile loop uses f32x4.relaxed_madd. */
  readonly fma: boolean;
  /** Row panels [ip0, ip1) of A (M,K), element (i,k) at A[i·ai + k·ak], into pa; aIdx: their index, or 0. */
  packA(pa: number, A: number, ai: number, ak: number, M: number, K: number, ip0: number, ip1: number, aIdx: number): void;
  /** Column panels [jp0, jp1) of B (K,N), element (k,j) at B[k·bk + j·bj], into pb; bIdx: their index, or 0. */
  packB(pb: number, B: number, bk: number, bj: number, K: number, N: number, jp0: number, jp1: number, bIdx: number): void;
  /** C tiles of row panels [ip0, ip1) × column panels [jp0, jp1); pa, pb, aIdx, bIdx point at panels ip0 and jp0. */
  tiles(
    C: number, ldc: number, pa: number, pb: number, M: number, N: number, K: number,
    ip0: number, ip1: number, jp0: number, jp1: number, aIdx: number, bIdx: number,
  ): void;
  /** C (M,N) = A·B on this thread, over gemmScratchBytes(M, K, N) bytes of scratch. */
  gemm(
    C: number, A: number, ai: number, ak: number, B: number, bk: number, bj: number,
    M: number, K: number, N: number, scratch: number, zeroSkipping: boolean,
  ): void;
  reluForward(out: number, inp: number, n: number): void;
  reluBackward(dinp: number, dout: number, out: number, n: number): void;
  biasForward(out: number, bias: number, B: number, OUT: number): void;
  biasBackward(dbias: number, dout: number, B: number, OUT: number): void;
  biasReluForward(out: number, bias: number, B: number, OUT: number): void;
  biasReluBackward(dpre: number, dbias: number, dout: number, out: number, B: number, OUT: number): void;
  /** The Keras SGD update in place; v = 0 without momentum. */
  sgdUpdate(w: number, v: number, g: number, step: SgdStep, N: number): void;
  /** The Adam/AdamW update in place; vmax = 0 without AMSGrad. */
  adamUpdate(w: number, m: number, v: number, vmax: number, g: number, step: AdamStep, N: number): void;
  /** The Adamax update in place, from the step's numbers (kernels/updates.ts `adamaxFactors`). */
  adamaxUpdate(w: number, m: number, u: number, g: number, f: AdamaxFactors, N: number): void;
  /** The RAdam update in place (`radamFactors`). */
  radamUpdate(w: number, m: number, v: number, g: number, f: RAdamFactors, N: number): void;
  /** The AdaBound update in place (`adaboundFactors`); vmax = 0 without AMSBound. */
  adaboundUpdate(w: number, m: number, v: number, vmax: number, g: number, f: AdaBoundFactors, N: number): void;
  /** The Lion update in place (`lionFactors`). */
  lionUpdate(w: number, m: number, g: number, f: LionFactors, N: number): void;
  /** Muon's momentum: the buffer b in place, the matrix to orthogonalize into u. */
  muonMomentum(u: number, b: number, g: number, step: { momentum: number; nesterov: boolean }, N: number): void;
  /** Muon's step: w = w·(1 − lr·weightDecay) − adjustedLr·o. */
  muonApply(w: number, o: number, step: { lr: number; adjustedLr: number; weightDecay: number }, N: number): void;
  /** Lookahead's synchronisation: slow moves alpha of the way to w, and w takes its value. */
  lookaheadSync(w: number, slow: number, step: { alpha: number }, N: number): void;
}

type Raw = (...args: (number | boolean)[]) => number | undefined;

/** Instantiates the compiled kernel module over `memory` (the one it was built to import). */
export function instantiateKernels(module: WasmModule, memory: WasmMemory): WasmKernels {
  const api = requireWebAssembly('instantiateKernels');
  const instance: WasmInstance = new api.Instance(module, { env: { memory } });
  const exp = instance.exports;
  const raw = (name: string): Raw => {
    const fn = exp[name];
    if (typeof fn !== 'function') throw new Error(`instantiateKernels: the module exports no function '${name}'`);
    return fn as Raw;
  };
  for (const name of [...GEMM_EXPORTS, ...ELEMENTWISE_EXPORTS, ...OPTIM_EXPORTS, ...OPTIM_ZOO_EXPORTS]) raw(name);
  const sgd = raw('sgdUpdate');
  const adam = raw('adamUpdate');
  return {
    fma: raw('builtWithFma')() === 1,
    packA: raw('packA'),
    packB: raw('packB'),
    tiles: raw('tiles'),
    gemm: raw('gemm'),
    reluForward: raw('reluForward'),
    reluBackward: raw('reluBackward'),
    biasForward: raw('biasForward'),
    biasBackward: raw('biasBackward'),
    biasReluForward: raw('biasReluForward'),
    biasReluBackward: raw('biasReluBackward'),
    sgdUpdate(w, v, g, s, N) {
      sgd(w, v, g, s.lrT, s.momentum, s.nesterov, s.weightDecay, N);
    },
    adamUpdate(w, m, v, vmax, g, s, N) {
      // The factors exactly as optim/adam.ts computes them, so the float64 loop sees the same numbers.
      const stepSize = s.lr / (1 - Math.pow(s.beta1, s.t));
      const bc2Sqrt = Math.sqrt(1 - Math.pow(s.beta2, s.t));
      const shrink = 1 - s.lr * s.decoupledDecay;
      adam(w, m, v, vmax, g, stepSize, bc2Sqrt, shrink, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.eps, s.coupledDecay, N);
    },
    ...zooKernels(raw),
  };
}

/** The updates of Adamax, RAdam, AdaBound, Lion, Muon and Lookahead (optim.ts `emitOptimZoo`), as typed calls. */
function zooKernels(raw: (name: string) => Raw): Pick<WasmKernels, (typeof OPTIM_ZOO_EXPORTS)[number]> {
  const adamax = raw('adamaxUpdate');
  const radam = raw('radamUpdate');
  const adabound = raw('adaboundUpdate');
  const lion = raw('lionUpdate');
  const momentum = raw('muonMomentum');
  const apply = raw('muonApply');
  const sync = raw('lookaheadSync');
  return {
    adamaxUpdate(w, m, u, g, f, N) {
      adamax(w, m, u, g, f.clr, f.beta1, f.oneMinusBeta1, f.beta2, f.eps, f.weightDecay, N);
    },
    radamUpdate(w, m, v, g, f, N) {
      radam(w, m, v, g, f.lr, f.beta1, f.oneMinusBeta1, f.beta2, f.oneMinusBeta2, f.eps, f.weightDecay, f.bc1, f.sqrtBc2, f.rectified ? 1 : 0, f.rect, N);
    },
    adaboundUpdate(w, m, v, vmax, g, f, N) {
      adabound(w, m, v, vmax, g, f.beta1, f.oneMinusBeta1, f.beta2, f.oneMinusBeta2, f.eps, f.weightDecay, f.stepSize, f.lower, f.upper, N);
    },
    lionUpdate(w, m, g, f, N) {
      lion(w, m, g, f.lr, f.beta1, f.oneMinusBeta1, f.beta2, f.oneMinusBeta2, f.shrink, N);
    },
    muonMomentum(u, b, g, s, N) {
      // 1 − momentum as kernels/updates.ts computes it, so both loops multiply by the same number.
      momentum(u, b, g, s.momentum, 1 - s.momentum, s.nesterov ? 1 : 0, N);
    },
    muonApply(w, o, s, N) {
      apply(w, o, 1 - s.lr * s.weightDecay, s.adjustedLr, N);
    },
    lookaheadSync(w, slow, s, N) {
      sync(w, slow, s.alpha, N);
    },
  };
}
