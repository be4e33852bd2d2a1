/**
 * The main thread's side of the pool: worker_threads that hold the same shared WebAssembly.Memory
 * as the main thread (and, for the WebAssembly backend, the same compiled module), woken through a
 * shared control block. The protocol, and the chunk routine every thread runs, are in protocol.ts.
 *
 * A product: the main thread writes the job into the control block, bumps the job number and wakes
 * the workers with Atomics.notify; then it runs the chunk routine itself, and finally waits
 * (Atomics.wait) until every chunk a worker claimed is finished. No message is posted per product,
 * and nothing is copied: every thread reads the operands and writes C where they lie.
 *
 * Why claimed chunks rather than one fixed block per thread: this machine is shared (tests, other
 * processes), and a fixed split makes every product wait for the slowest thread; a worker the OS has
 * paused would stall the main thread for a whole time slice. With claiming, a paused or sleeping
 * worker just takes fewer chunks. Which thread computes a chunk never changes its values.
 *
 * Nobody spins: a thread with nothing to do sleeps in Atomics.wait at once. Measured end to end
 * (MNIST MLP, 2 threads): waking through the futex was faster than polling for 2,000 or 20,000
 * rounds first (5,000–5,800 vs 3,200–5,400 samples/s), because the two vCPUs here behave like one
 * shared core under load: a polling thread takes cycles from the thread it waits for.
 *
 * Node only: worker_threads is reached through engine/node.ts when the pool is first made, so the
 * engine still loads in a browser, where every product runs on the calling thread.
 */
import type { Worker } from 'node:worker_threads';
import { nodeBuiltin, nodeProcess } from '../node.js';
import type { WasmMemory, WasmModule } from '../wasm/runtime.js';
import { CTRL, SEQ_MASK, closeJob, runChunks, type GemmJob, type GemmKit } from './protocol.js';

export interface PoolOptions {
  /** Workers besides the main thread. */
  workers: number;
  memory: WasmMemory;
  /** The compiled WebAssembly kernels, or null when the pool runs the JavaScript kernels only. */
  module: WasmModule | null;
}

export class Pool {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL.SIZE * 4));
  readonly size: number;
  readonly module: WasmModule | null;
  private readonly workers: Worker[] = [];
  broken = false;

  constructor(options: PoolOptions) {
    const { Worker } = nodeBuiltin('node:worker_threads')!;
    this.size = options.workers;
    this.module = options.module;
    // From the sources (tsx, vitest) a worker needs the TypeScript loader, which worker.mjs
    // registers; the compiled package starts the compiled worker directly.
    const fromSources = import.meta.url.endsWith('.ts');
    const url = new URL(fromSources ? './worker.mjs' : './worker.js', import.meta.url);
    for (let w = 0; w < this.size; w++) {
      const worker = new Worker(url, {
        workerData: { ctrl: this.ctrl, memory: options.memory, module: options.module, worker: w },
      });
      worker.on('error', (err) => {
        this.broken = true;
        nodeProcess()?.emitWarning?.(`tapegrad: matmul worker ${w} failed, products fall back to one thread: ${err}`);
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  ready(): boolean {
    return Atomics.load(this.ctrl, CTRL.READY) === this.size;
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
  }

  /** Worker w's packing scratch for the WebAssembly kernels (a byte address in the memory). */
  setScratch(w: number, address: number): void {
    this.ctrl[CTRL.SCRATCH + w] = address;
  }

  /**
   * Runs `job` on every thread: `kind` says which kernels (KIND_JS or KIND_WASM), `kit` is the main
   * thread's own, `chunks` and `perChunk` how the split dimension's panels are cut. A, B and C must
   * lie in the shared memory.
   */
  run(job: GemmJob, kind: number, kit: GemmKit, chunks: number, perChunk: number): void {
    const ctrl = this.ctrl;
    const seq = (ctrl[CTRL.SEQ] + 1) & SEQ_MASK;
    ctrl[CTRL.KIND] = kind;
    ctrl[CTRL.M] = job.M;
    ctrl[CTRL.K] = job.K;
    ctrl[CTRL.N] = job.N;
    ctrl[CTRL.A] = job.A.byteOffset / 4 + job.a0;
    ctrl[CTRL.AI] = job.ai;
    ctrl[CTRL.AK] = job.ak;
    ctrl[CTRL.B] = job.B.byteOffset / 4 + job.b0;
    ctrl[CTRL.BK] = job.bk;
    ctrl[CTRL.BJ] = job.bj;
    ctrl[CTRL.C] = job.C.byteOffset / 4 + job.c0;
    ctrl[CTRL.AXIS] = job.axis;
    ctrl[CTRL.ZERO_SKIP] = job.zeroSkip ? 1 : 0;
    Atomics.store(ctrl, CTRL.CHUNKS, chunks); // atomically: see closeJob
    ctrl[CTRL.PER_CHUNK] = perChunk;
    Atomics.store(ctrl, CTRL.FINISHED, 0);
    Atomics.store(ctrl, CTRL.NEXT, seq << 8);
    Atomics.store(ctrl, CTRL.SEQ, seq);
    Atomics.notify(ctrl, CTRL.SEQ);

    // The main thread takes chunks too. If a worker is asleep or the OS has paused it, the main thread
    // simply does more of them: nobody waits for a thread that has not started.
    runChunks(ctrl, seq, () => kit, () => job);

    // Wait for the chunks the workers claimed.
    for (;;) {
      const finished = Atomics.load(ctrl, CTRL.FINISHED);
      if (finished === chunks) break;
      if (Atomics.load(ctrl, CTRL.FAILED) !== 0) break;
      if (Atomics.wait(ctrl, CTRL.FINISHED, finished, 10_000) === 'timed-out' && Atomics.load(ctrl, CTRL.FINISHED) === finished) {
        this.broken = true;
        throw new Error(`threads: matmul workers did not finish a ${job.M}x${job.K}x${job.N} product within 10 s`);
      }
    }
    closeJob(ctrl, seq);
    if (Atomics.load(ctrl, CTRL.FAILED) !== 0) {
      this.broken = true;
      throw new Error('threads: a matmul worker failed (see the error above); later products use one thread');
    }
  }
}

