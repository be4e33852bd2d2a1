/**
 * The `wasm` backend: the kernels of engine/wasm/, compiled once and instantiated over the memory the
 * kernels address (staging.ts): the engine's shared memory where tensors live in it — then the thread
 * pool's workers get the same module and split products, passes and updates with the calling thread
 * — or a private, non-shared memory where there is no SharedArrayBuffer, on one thread, with every
 * operand staged in and out.
 *
 * The passes and updates run through `runCall` (engine/threads/index.ts): one call of the export when
 * the pass is small or there is no pool, else pieces of it on every thread; `steps` says how far each
 * argument moves per unit of the split (bytes per element or per row; 0 for the rest).
 */
import { chooseAxis, zeroSkippingEnabled, type GemmJob } from '../kernels/gemmPacked.js';
import { runGemm, runCall, setWorkerModule, type Pool, type PoolKernels } from '../threads/index.js';
import { KIND_WASM } from '../threads/protocol.js';
import { wasmGemmKit, wasmScratchBytes } from '../threads/wasmKit.js';
import { allocPersistent, release } from '../memory.js';
import {
  adamFactors, compileKernels, compileKernelsAsync, instantiateKernels, sgdFactors, wasmSupport, type WasmKernels, type WasmModule,
} from '../wasm/index.js';
import type { Kernels } from './kernels.js';
import { PrivateKernelMemory, SharedKernelMemory, Staging, type KernelMemory } from './staging.js';
import { sharedMemory } from '../memory.js';

/** Why the WebAssembly backend cannot run in this runtime, or null when it can. */
export function wasmUnavailable(): string | null {
  if (!wasmSupport().simd) return "this runtime's WebAssembly has no SIMD";
  return null;
}

function options(): { fma: boolean; sharedMemory: boolean } {
  // Build the FMA tile loop only where relaxed_madd really fuses (on Bun it validates and computes mul+add).
  return { fma: wasmSupport().fusedMadd, sharedMemory: sharedMemory() !== null };
}

/** Made once: switching back and forth between backends neither recompiles nor restarts the workers. */
let made: Kernels | null = null;

/** The backend, compiling synchronously (Node, a Web Worker); a string says why it cannot. */
export function wasmKernelsSync(): Kernels | string {
  if (made !== null) return made;
  const why = wasmUnavailable();
  if (why !== null) return why;
  try {
    return (made = makeKernels(compileKernels(options())));
  } catch (err) {
    // A page's main thread refuses to compile a module this size synchronously: setBackend compiles it asynchronously.
    return `the WebAssembly module did not compile synchronously (${(err as Error).message})`;
  }
}

/** The backend, compiling without blocking (what setBackend uses). */
export async function wasmKernelsAsync(): Promise<Kernels | string> {
  if (made !== null) return made;
  const why = wasmUnavailable();
  if (why !== null) return why;
  const module = await compileKernelsAsync(options());
  return (made ??= makeKernels(module));
}

const F = 4; // bytes per float

function makeKernels(module: WasmModule): Kernels {
  const km: KernelMemory = sharedMemory() !== null ? new SharedKernelMemory() : new PrivateKernelMemory();
  const k: WasmKernels = instantiateKernels(module, km.memory);
  const s = new Staging(km);
  const workerScratch: (Float32Array | null)[] = [];
  const pool: PoolKernels = {
    kind: KIND_WASM,
    kit: wasmGemmKit(k, (job) => km.scratch(wasmScratchBytes(job))),
    prepareWorkers(p: Pool, job: GemmJob): void {
      const bytes = wasmScratchBytes(job);
      for (let w = 0; w < p.size; w++) {
        let block = workerScratch[w] ?? null;
        if (block === null || block.byteLength < bytes) {
          if (block !== null) release(block);
          workerScratch[w] = block = allocPersistent(Math.ceil(bytes / F));
        }
        p.setScratch(w, block.byteOffset);
      }
    },
  };
  if (km.shared) setWorkerModule(module);
  const relu = k.raw('reluForward');
  const reluBack = k.raw('reluBackward');
  const bias = k.raw('biasForward');
  const biasRelu = k.raw('biasReluForward');
  const biasReluBack = k.raw('biasReluBackward');
  const sgd = k.raw('sgdUpdate');
  const adam = k.raw('adamUpdate');

  return {
    name: 'wasm',
    fma: k.fma,
    threaded: km.shared,
    gemm(C, A, ai, ak, B, bk, bj, M, K, N) {
      const axis = chooseAxis(M, N);
      km.scratch(wasmScratchBytes({ axis, M, K, N })); // grown before the operands are staged: views stay valid
      const a = s.in(A);
      const b = s.in(B);
      const c = s.out(C);
      const job: GemmJob = {
        A: s.view(a, A.length), a0: 0, ai, ak, B: s.view(b, B.length), b0: 0, bk, bj, C: s.view(c, C.length), c0: 0,
        M, K, N, axis, zeroSkip: zeroSkippingEnabled(),
      };
      runGemm(job, pool);
      s.done();
    },
    biasForward(out, b, B, OUT) {
      // Rows are independent: split by rows.
      runCall('biasForward', bias, [s.inout(out), s.in(b), B, OUT], [OUT * F, 0, 0, 0], 2, B, 2 * B * OUT, 1);
      s.done();
    },
    biasBackward(dbias, dout, B, OUT) {
      k.biasBackward(s.out(dbias), s.in(dout), B, OUT);
      s.done();
    },
    biasReluForward(out, b, B, OUT) {
      runCall('biasReluForward', biasRelu, [s.inout(out), s.in(b), B, OUT], [OUT * F, 0, 0, 0], 2, B, 2 * B * OUT, 1);
      s.done();
    },
    biasReluBackward(dpre, dbias, dout, out, B, OUT) {
      const args = [s.out(dpre), s.out(dbias), s.in(dout), s.in(out), B, OUT];
      // Without dbias the rows are independent; with it every row adds into dbias, so one thread.
      if (dbias === null) runCall('biasReluBackward', biasReluBack, args, [OUT * F, 0, OUT * F, OUT * F, 0, 0], 4, B, 3 * B * OUT, 1);
      else biasReluBack(...args);
      s.done();
    },
    reluForward(out, inp, n) {
      runCall('reluForward', relu, [s.out(out), s.in(inp), n], [F, F, 0], 2, n, 2 * n);
      s.done();
    },
    reluBackward(dinp, dout, out, n) {
      runCall('reluBackward', reluBack, [s.out(dinp), s.in(dout), s.in(out), n], [F, F, F, 0], 3, n, 3 * n);
      s.done();
    },
    sgdUpdate(w, v, g, step, N) {
      const args = [s.inout(w), s.inout(v), s.in(g), ...sgdFactors(step), N];
      runCall('sgdUpdate', sgd, args, [F, F, F, 0, 0, 0, 0, 0], 7, N, 5 * N);
      s.done();
    },
    adamUpdate(w, m, v, vmax, g, step, N) {
      const args = [s.inout(w), s.inout(m), s.inout(v), s.inout(vmax), s.in(g), ...adamFactors(step), N];
      runCall('adamUpdate', adam, args, [F, F, F, F, F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 14, N, 8 * N);
      s.done();
    },
  };
}
