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
import { OPTIM_ADAPTIVE_EXPORTS, OPTIM_EXPORTS, OPTIM_ZOO_EXPORTS, emitOptim, emitOptimAdaptive, emitOptimZoo } from './optim.js';
import { ACTIVATION_EXPORTS, emitActivation } from './activation.js';
import { NORM_EXPORTS, emitNorm } from './norm.js';
import { SOFTMAX_EXPORTS, emitSoftmax } from './softmax.js';
import { requireWebAssembly, webAssembly } from './runtime.js';
import type { WasmInstance, WasmMemory, WasmModule, WebAssemblyApi } from './runtime.js';
import {
  adaboundFactors, adadeltaFactors, adagradFactors, adamaxFactors, adamStepFactors, lionFactors, nadamFactors, radamFactors, rmspropFactors,
  type AdaBoundStep, type AdadeltaStep, type AdagradStep, type AdamaxStep, type AdamStep, type LionStep, type LookaheadStep,
  type MuonApplyStep, type MuonMomentumStep, type NadamStep, type RAdamStep, type RMSpropStep, type SgdStep,
} from '../kernels/updates.js';

export { MR, NR, SPARSE_FRACTION, gemmScratchBytes, indexBytes, packedBytes, panelCount } from './gemm.js';
export type { WasmMemory, WasmModule } from './runtime.js';

export interface WasmSupport {
  /** 128-bit SIMD (v128, f32x4): the kernels need it. */
  simd: boolean;
  /** Relaxed SIMD (f32x4.relaxed_madd) validates. Node 20 has it only behind a V8 flag. */
  relaxedSimd: boolean;
  /**
   * f32x4.relaxed_madd computes a fused multiply-add here (one rounding). Relaxed SIMD lets a runtime
   * compute it as mul then add; Bun does, so validation alone would claim an FMA that never runs.
   */
  fusedMadd: boolean;
}

let support: WasmSupport | null = null;

/**
 * What this runtime's WebAssembly accepts, found by validating two tiny modules (one f32x4 op; one
 * f32x4.relaxed_madd). Never sets a flag: the program runs with what the runtime has.
 */
export function wasmSupport(): WasmSupport {
  if (support !== null) return support;
  const api = webAssembly();
  if (api === null) return (support = { simd: false, relaxedSimd: false, fusedMadd: false });
  const probe = (relaxed: boolean): Uint8Array => {
    const mod = new ModuleBuilder();
    const f = mod.func('probe', {}, [], 'probe');
    const x = () => f.f32x4Splat(f.f32(1));
    f.drop(relaxed ? f.f32x4RelaxedMadd(x(), x(), x()) : f.f32x4Add(x(), x()));
    return mod.toBytes();
  };
  const simd = api.validate(probe(false));
  const relaxedSimd = simd && api.validate(probe(true));
  return (support = { simd, relaxedSimd, fusedMadd: relaxedSimd && computesFused(api) });
}

/**
 * Whether relaxed_madd rounds once, found by running it where fused and unfused differ:
 * a = b = 1 + 2⁻¹², c = −(1 + 2⁻¹¹). a·b = 1 + 2⁻¹¹ + 2⁻²⁴ exactly; rounded to float32 first (the
 * 2⁻²⁴ is half an ulp, and ties go to the even 1 + 2⁻¹¹) the sum is 0, fused it is 2⁻²⁴.
 */
function computesFused(api: WebAssemblyApi): boolean {
  const mod = new ModuleBuilder();
  const f = mod.func('madd', { a: 'f32', b: 'f32', c: 'f32' }, ['f32']);
  f.f32x4ExtractLane(f.f32x4RelaxedMadd(f.f32x4Splat(f.get('a')), f.f32x4Splat(f.get('b')), f.f32x4Splat(f.get('c'))), 0);
  try {
    const madd = new api.Instance(new api.Module(mod.toBytes()), {}).exports.madd as (a: number, b: number, c: number) => number;
    return madd(1 + 2 ** -12, 1 + 2 ** -12, -(1 + 2 ** -11)) !== 0;
  } catch {
    return false;
  }
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
  emitOptimAdaptive(mod);
  emitActivation(mod);
  emitNorm(mod);
  emitSoftmax(mod);
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

export type { AdamStep, SgdStep };

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
  /** Rows `ld` floats apart (default OUT), the first OUT of each covered: a band of columns for the pool. */
  biasReluBackward(dpre: number, dbias: number, dout: number, out: number, B: number, OUT: number, ld?: number): void;
  /** The Keras SGD update in place; v = 0 without momentum. */
  sgdUpdate(w: number, v: number, g: number, step: SgdStep, N: number): void;
  /** The Adam/AdamW update in place; vmax = 0 without AMSGrad. */
  adamUpdate(w: number, m: number, v: number, vmax: number, g: number, step: AdamStep, N: number): void;
  /** An export as it is, by name: what the thread pool's call tasks run (engine/threads/protocol.ts). */
  raw(name: KernelExport): (...args: number[]) => unknown;
}

type Raw = (...args: (number | boolean)[]) => number | undefined;

/** Every function the kernel module exports (instantiateKernels checks that each is there). */
export const KERNEL_EXPORTS = [
  ...GEMM_EXPORTS, ...ELEMENTWISE_EXPORTS, ...OPTIM_EXPORTS, ...OPTIM_ZOO_EXPORTS, ...OPTIM_ADAPTIVE_EXPORTS, ...ACTIVATION_EXPORTS, ...NORM_EXPORTS, ...SOFTMAX_EXPORTS,
] as const;
export type KernelExport = (typeof KERNEL_EXPORTS)[number];

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
  for (const name of KERNEL_EXPORTS) raw(name);
  const sgd = raw('sgdUpdate');
  const adam = raw('adamUpdate');
  const biasReluBackward = raw('biasReluBackward');
  return {
    raw: (name) => raw(name) as (...args: number[]) => unknown,
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
    biasReluBackward(dpre, dbias, dout, out, B, OUT, ld = OUT) {
      biasReluBackward(dpre, dbias, dout, out, B, OUT, ld);
    },
    sgdUpdate(w, v, g, s, N) {
      sgd(w, v, g, ...sgdFactors(s), N);
    },
    adamUpdate(w, m, v, vmax, g, s, N) {
      adam(w, m, v, vmax, g, ...adamFactors(s), N);
    },
  };
}

/** sgdUpdate's scalar arguments, in the export's order (lrT, momentum, nesterov, weightDecay). */
export function sgdFactors(s: SgdStep): number[] {
  return [s.lrT, s.momentum, s.nesterov ? 1 : 0, s.weightDecay];
}

/**
 * adamUpdate's scalar arguments, in the export's order: the step's factors exactly as
 * kernels/updates.ts computes them (one function for both: `adamFactors`), so the float64 loop sees
 * the same numbers.
 */
export function adamFactors(s: AdamStep): number[] {
  const { stepSize, bc2Sqrt, shrink } = adamStepFactors(s);
  return [stepSize, bc2Sqrt, shrink, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.eps, s.coupledDecay];
}

// The scalar arguments of the newer optimizers' updates (wasm/optim.ts `emitOptimZoo`), in each export's
// order, from the factor functions the JavaScript loops use too (kernels/updates.ts): one computation
// of the step's numbers for both backends.

export function adamaxArgs(s: AdamaxStep): number[] {
  const f = adamaxFactors(s);
  return [f.clr, f.beta1, f.oneMinusBeta1, f.beta2, f.eps, f.weightDecay];
}

export function radamArgs(s: RAdamStep): number[] {
  const f = radamFactors(s);
  return [f.lr, f.beta1, f.oneMinusBeta1, f.beta2, f.oneMinusBeta2, f.eps, f.weightDecay, f.bc1, f.sqrtBc2, f.rectified ? 1 : 0, f.rect];
}

export function adaboundArgs(s: AdaBoundStep): number[] {
  const f = adaboundFactors(s);
  return [f.beta1, f.oneMinusBeta1, f.beta2, f.oneMinusBeta2, f.eps, f.weightDecay, f.stepSize, f.lower, f.upper];
}

export function lionArgs(s: LionStep): number[] {
  const f = lionFactors(s);
  return [f.lr, f.beta1, f.oneMinusBeta1, f.beta2, f.oneMinusBeta2, f.shrink];
}

/** 1 − momentum as kernels/updates.ts computes it, so both loops multiply by the same number. */
export function muonMomentumArgs(s: MuonMomentumStep): number[] {
  return [s.momentum, 1 - s.momentum, s.nesterov ? 1 : 0];
}

export function muonApplyArgs(s: MuonApplyStep): number[] {
  return [1 - s.lr * s.weightDecay, s.adjustedLr];
}

export function lookaheadArgs(s: LookaheadStep): number[] {
  return [s.alpha];
}

// The scalar arguments of RMSprop's, Nadam's, Adagrad's and Adadelta's updates (wasm/optim.ts
// `emitOptimAdaptive`), in each export's order, from the factor functions of kernels/updates.ts.

export function rmspropArgs(s: RMSpropStep): number[] {
  const f = rmspropFactors(s);
  return [f.lr, f.alpha, f.oneMinusAlpha, f.eps, f.weightDecay, f.momentum];
}

export function nadamArgs(s: NadamStep): number[] {
  const f = nadamFactors(s);
  return [f.gradCoef, f.avgCoef, f.beta1, f.oneMinusBeta1, f.beta2, f.oneMinusBeta2, f.eps, f.weightDecay, f.bc2];
}

export function adagradArgs(s: AdagradStep): number[] {
  const f = adagradFactors(s);
  return [f.lrT, f.eps, f.weightDecay];
}

export function adadeltaArgs(s: AdadeltaStep): number[] {
  const f = adadeltaFactors(s);
  return [f.lr, f.rho, f.oneMinusRho, f.eps, f.weightDecay];
}
