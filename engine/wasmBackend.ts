/**
 * The `wasm` backend: the kernels of engine/wasm/, compiled once, instantiated over the shared
 * memory the tensors live in (engine/memory.ts), and posted to the thread pool's workers.
 *
 * Every kernel takes byte addresses, so its arrays must lie in that memory. Tensors always do; an
 * array of the caller's own (`Tensor.from(new Float32Array(..))`) is copied into a temporary block for
 * the call (and copied back where the kernel writes it) — a copy the size of the operand, against
 * the O(M·K·N) of a product.
 */
import type { Backend } from './backend.js';
import type { GemmJob } from './kernels/gemmPacked.js';
import { adaboundFactors, adamaxFactors, lionFactors, radamFactors } from './kernels/updates.js';
import { alloc, allocPersistent, inSharedMemory, release, sharedMemory } from './memory.js';
import { setWorkerModule, stagedGemm, type Pool, type PoolKernels } from './threads/index.js';
import { KIND_WASM } from './threads/protocol.js';
import { wasmGemmKit, wasmScratchBytes } from './threads/wasmKit.js';
import { compileKernels, compileKernelsAsync, instantiateKernels, wasmSupport, type WasmKernels, type WasmModule } from './wasm/index.js';

/** Why the WebAssembly backend cannot run in this runtime, or null when it can. */
export function wasmUnavailable(): string | null {
  if (!wasmSupport().simd) return "this runtime's WebAssembly has no SIMD";
  if (sharedMemory() === null) {
    return 'tensors are plain arrays here (no SharedArrayBuffer; a page needs cross-origin isolation: COOP/COEP headers)';
  }
  return null;
}

function options(): { fma: boolean; sharedMemory: true } {
  return { fma: wasmSupport().relaxedSimd, sharedMemory: true };
}

/** Made once: switching back and forth between backends neither recompiles nor restarts the workers. */
let made: Backend | null = null;

/** The backend, compiling synchronously (Node, a Web Worker); a string says why it cannot. */
export function wasmBackendSync(): Backend | string {
  if (made !== null) return made;
  const why = wasmUnavailable();
  if (why !== null) return why;
  try {
    return (made = makeBackend(compileKernels(options())));
  } catch (err) {
    // A page's main thread refuses to compile a module this size synchronously: setBackend compiles it asynchronously.
    return `the WebAssembly module did not compile synchronously (${(err as Error).message})`;
  }
}

/** The backend, compiling without blocking (what setBackend uses). */
export async function wasmBackendAsync(): Promise<Backend | string> {
  if (made !== null) return made;
  const why = wasmUnavailable();
  if (why !== null) return why;
  const module = await compileKernelsAsync(options());
  return (made ??= makeBackend(module));
}

/** The block a thread packs into: grown (and the old one handed back) when a product needs more. */
class Scratch {
  private block: Float32Array | null = null;

  address(bytes: number): number {
    if (this.block === null || this.block.byteLength < bytes) {
      if (this.block !== null) release(this.block);
      this.block = allocPersistent(Math.ceil(bytes / 4));
    }
    return this.block.byteOffset;
  }
}

function makeBackend(module: WasmModule): Backend {
  const k: WasmKernels = instantiateKernels(module, sharedMemory()!);
  const mainScratch = new Scratch();
  const workerScratch: Scratch[] = [];
  const pool: PoolKernels = {
    kind: KIND_WASM,
    kit: wasmGemmKit(k, (job) => mainScratch.address(wasmScratchBytes(job))),
    prepareWorkers(p: Pool, job: GemmJob): void {
      const bytes = wasmScratchBytes(job);
      // The main thread's too: it may take no chunk of this job (the workers were quicker) and need the
      // room only later; grown now, the scratch reaches its final size with the first product of each shape.
      mainScratch.address(bytes);
      for (let w = 0; w < p.size; w++) {
        workerScratch[w] ??= new Scratch();
        p.setScratch(w, workerScratch[w].address(bytes));
      }
    },
  };
  setWorkerModule(module);
  const s = new Staging();

  return {
    name: 'wasm',
    fma: k.fma,
    gemm(job, runGemm) {
      if (inSharedMemory(job.A) && inSharedMemory(job.B) && inSharedMemory(job.C)) runGemm(job, pool);
      else stagedGemm(job, (staged) => runGemm(staged, pool));
    },
    biasForward(out, bias, B, OUT) {
      k.biasForward(s.inout(out), s.in(bias), B, OUT);
      s.done();
    },
    biasBackward(dbias, dout, B, OUT) {
      k.biasBackward(s.out(dbias), s.in(dout), B, OUT);
      s.done();
    },
    biasReluForward(out, bias, B, OUT) {
      k.biasReluForward(s.inout(out), bias === null ? 0 : s.in(bias), B, OUT);
      s.done();
    },
    biasReluBackward(dpre, dbias, dout, out, B, OUT) {
      k.biasReluBackward(s.out(dpre), dbias === null ? 0 : s.out(dbias), s.in(dout), s.in(out), B, OUT);
      s.done();
    },
    reluForward(out, inp, n) {
      k.reluForward(s.out(out), s.in(inp), n);
      s.done();
    },
    reluBackward(dinp, dout, out, n) {
      k.reluBackward(s.out(dinp), s.in(dout), s.in(out), n);
      s.done();
    },
    sgdUpdate(w, v, g, lrT, momentum, nesterov, weightDecay, N) {
      k.sgdUpdate(s.inout(w), v === null ? 0 : s.inout(v), s.in(g), { lrT, momentum, nesterov, weightDecay }, N);
      s.done();
    },
    adamUpdate(w, m, v, vmax, g, lr, beta1, beta2, eps, coupledDecay, decoupledDecay, t, N) {
      k.adamUpdate(s.inout(w), s.inout(m), s.inout(v), vmax === null ? 0 : s.inout(vmax), s.in(g), { lr, beta1, beta2, eps, coupledDecay, decoupledDecay, t }, N);
      s.done();
    },
    // The per-step numbers come from kernels/updates.ts's factor functions, as the JavaScript loops' do.
    adamaxUpdate(w, m, u, g, step, N) {
      k.adamaxUpdate(s.inout(w), s.inout(m), s.inout(u), s.in(g), adamaxFactors(step), N);
      s.done();
    },
    radamUpdate(w, m, v, g, step, N) {
      k.radamUpdate(s.inout(w), s.inout(m), s.inout(v), s.in(g), radamFactors(step), N);
      s.done();
    },
    adaboundUpdate(w, m, v, vmax, g, step, N) {
      k.adaboundUpdate(s.inout(w), s.inout(m), s.inout(v), vmax === null ? 0 : s.inout(vmax), s.in(g), adaboundFactors(step), N);
      s.done();
    },
    lionUpdate(w, m, g, step, N) {
      k.lionUpdate(s.inout(w), s.inout(m), s.in(g), lionFactors(step), N);
      s.done();
    },
    muonMomentum(u, b, g, step, N) {
      k.muonMomentum(s.out(u), s.inout(b), s.in(g), step, N);
      s.done();
    },
    muonApply(w, o, step, N) {
      k.muonApply(s.inout(w), s.in(o), step, N);
      s.done();
    },
    lookaheadSync(w, slow, step, N) {
      k.lookaheadSync(s.inout(w), s.inout(slow), step, N);
      s.done();
    },
  };
}

/**
 * Addresses for one kernel call: an array already in the shared memory is passed as it lies; any
 * other is copied into a temporary block (`in`, `inout`) or computed there (`out`, `inout`) and
 * copied back by `done`, which also hands the temporaries back.
 */
class Staging {
  private readonly temps: Float32Array[] = [];
  private readonly writeBack: [Float32Array, Float32Array][] = [];

  in(a: Float32Array): number {
    return this.stage(a, true, false);
  }

  out(a: Float32Array): number {
    return this.stage(a, false, true);
  }

  inout(a: Float32Array): number {
    return this.stage(a, true, true);
  }

  private stage(a: Float32Array, copyIn: boolean, copyOut: boolean): number {
    if (inSharedMemory(a)) return a.byteOffset;
    const t = alloc(a.length);
    if (copyIn) t.set(a);
    this.temps.push(t);
    if (copyOut) this.writeBack.push([a, t]);
    return t.byteOffset;
  }

  done(): void {
    if (this.temps.length === 0) return;
    for (const [a, t] of this.writeBack) a.set(t);
    for (const t of this.temps) release(t);
    this.temps.length = 0;
    this.writeBack.length = 0;
  }
}
