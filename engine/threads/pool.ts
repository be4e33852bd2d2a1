/**
 * The main thread's side of the pool: worker_threads that hold the same shared WebAssembly.Memory
 * as the main thread (and, for the WebAssembly backend, the same compiled module), driven through a
 * shared control block. The protocol, and the chunk routine every thread runs, are in protocol.ts.
 *
 * A task: the main thread writes it into the control block and bumps the task number; it wakes the
 * workers with Atomics.notify only if one is parked. Then it runs the chunk routine itself, and
 * finally waits until every chunk a worker claimed is finished. No message is posted per task, and
 * nothing is copied: every thread reads the operands and writes the results where they lie.
 *
 * Hot workers. A worker that finishes a task polls the task number for SPIN_MS before it parks in
 * Atomics.wait: a training step posts a task every few tens of microseconds, and a futex wake-up
 * costs about as much as a small product (20–80 µs here), so within a step the workers never sleep.
 * (An earlier pool parked at once and woke through the futex per product: its worker slept 96% of
 * a step and two threads ran slower than one at batch 64.) The main thread polls for the workers'
 * last chunks the same way, then waits.
 *
 * Why claimed chunks rather than one fixed block per thread: this machine is shared (tests, other
 * processes), and a fixed split makes every task wait for the slowest thread; a worker the OS has
 * paused would stall the main thread for a whole time slice. With claiming, a paused or sleeping
 * worker just takes fewer chunks. Which thread computes a chunk never changes its values. The main
 * thread claims from the front and the workers from the back (protocol.ts), so that each thread keeps
 * to the same part of the arrays from task to task, in its own core's cache.
 *
 * Node only: worker_threads is reached through engine/node.ts when the pool is first made, so the
 * engine still loads in a browser, where every task runs on the calling thread.
 */
import type { Worker } from 'node:worker_threads';
import { nodeBuiltin, nodeProcess } from '../node.js';
import type { WasmMemory, WasmModule } from '../wasm/runtime.js';
import { CTRL, MAX_ARGS, SEQ_MASK, TASK_CALL, closeJob, openChunks, TASK_GEMM, callRunner, gemmRunner, runChunks, type GemmJob, type GemmKit, type TaskRunner } from './protocol.js';

/** Polls of FINISHED before the main thread sleeps until the workers' last chunks are done (a few µs). */
const JOIN_SPINS = 2000;

export interface PoolOptions {
  /** Workers besides the main thread. */
  workers: number;
  memory: WasmMemory;
  /** The compiled WebAssembly kernels, or null when the pool runs the JavaScript kernels only. */
  module: WasmModule | null;
}

export class Pool {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL.SIZE * 4));
  /** A call task's arguments (float64: pointers, sizes and hyper-parameters alike). */
  readonly args = new Float64Array(new SharedArrayBuffer(MAX_ARGS * 8));
  readonly size: number;
  readonly module: WasmModule | null;
  private readonly workers: Worker[] = [];
  broken = false;

  constructor(options: PoolOptions) {
    const { Worker } = nodeBuiltin('node:worker_threads')!;
    this.size = options.workers;
    this.module = options.module;
    // From the sources (tsx, vitest) a worker needs the TypeScript loader, which worker.mjs
    // registers; the compiled package starts the compiled worker directly. The path is built from
    // import.meta.dirname (Node, Bun and Deno have it; this runs only there): `new URL(.., import.meta.url)`
    // made webpack warn and write the builder's own path into a page's bundle.
    const fromSources = import.meta.filename.endsWith('.ts');
    const url = `${import.meta.dirname}/${fromSources ? 'worker.mjs' : 'worker.js'}`;
    for (let w = 0; w < this.size; w++) {
      const worker = new Worker(url, {
        workerData: { ctrl: this.ctrl, args: this.args, memory: options.memory, module: options.module, worker: w },
      });
      worker.on('error', (err) => {
        this.broken = true;
        nodeProcess()?.emitWarning?.(`tapegrad: worker ${w} failed, tasks fall back to one thread: ${err}`);
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** This process's threads running right now: the caller and the workers not parked. */
  running(): number {
    return 1 + this.size - Atomics.load(this.ctrl, CTRL.PARKED);
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
  gemm(job: GemmJob, kind: number, kit: GemmKit, chunks: number, perChunk: number): void {
    const ctrl = this.ctrl;
    ctrl[CTRL.TASK] = TASK_GEMM;
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
    this.run(chunks, perChunk, () => gemmRunner(ctrl, kit, job), `a ${job.M}x${job.K}x${job.N} product`);
  }

  /**
   * Calls WebAssembly kernel `fn` (an index into protocol.ts's CALLS) over `units` units, cut into
   * chunks of `perChunk`: argument i is args[i] + steps[i]·(the chunk's first unit), argument
   * `countArg` the chunk's length. `kernel` is that export of the main thread's own instance.
   */
  call(
    fn: number, kernel: (...a: number[]) => unknown, args: readonly number[], steps: readonly number[],
    countArg: number, units: number, perChunk: number,
  ): void {
    const ctrl = this.ctrl;
    ctrl[CTRL.TASK] = TASK_CALL;
    ctrl[CTRL.FN] = fn;
    ctrl[CTRL.ARGS] = args.length;
    ctrl[CTRL.COUNT_ARG] = countArg;
    ctrl[CTRL.UNITS] = units;
    for (let i = 0; i < args.length; i++) {
      this.args[i] = args[i];
      ctrl[CTRL.STEP + i] = steps[i];
    }
    this.run(Math.ceil(units / perChunk), perChunk, () => callRunner(ctrl, this.args, kernel), `a call of kernel ${fn} over ${units} units`);
  }

  private run(chunks: number, perChunk: number, runnerOf: () => TaskRunner, what: string): void {
    const ctrl = this.ctrl;
    const seq = (ctrl[CTRL.SEQ] + 1) & SEQ_MASK;
    ctrl[CTRL.PER_CHUNK] = perChunk;
    Atomics.store(ctrl, CTRL.FINISHED, 0);
    Atomics.store(ctrl, CTRL.NEXT, openChunks(seq, 0, chunks));
    Atomics.store(ctrl, CTRL.SEQ, seq);
    // A worker parks only after raising PARKED and then re-reading SEQ inside Atomics.wait, so either
    // it is seen here or its wait returns at once.
    if (Atomics.load(ctrl, CTRL.PARKED) > 0) Atomics.notify(ctrl, CTRL.SEQ);

    // The main thread takes chunks too, from the front. If a worker is asleep or the OS has paused it, the main thread
    // simply does more of them: nobody waits for a thread that has not started.
    runChunks(ctrl, seq, runnerOf, false);

    // Wait for the chunks the workers claimed: poll a little (they are running), then sleep until the
    // last one wakes us — polling longer would take the core from a worker that shares it.
    for (let spins = 0; spins < JOIN_SPINS; spins++) {
      if (Atomics.load(ctrl, CTRL.FINISHED) === chunks || Atomics.load(ctrl, CTRL.FAILED) !== 0) break;
    }
    const t0 = performance.now();
    for (;;) {
      const finished = Atomics.load(ctrl, CTRL.FINISHED);
      if (finished === chunks || Atomics.load(ctrl, CTRL.FAILED) !== 0) break;
      Atomics.store(ctrl, CTRL.JOINING, 1);
      Atomics.wait(ctrl, CTRL.FINISHED, finished, 100);
      Atomics.store(ctrl, CTRL.JOINING, 0);
      if (performance.now() - t0 > 10_000) {
        this.broken = true;
        throw new Error(`threads: the workers did not finish ${what} within 10 s`);
      }
    }
    closeJob(ctrl, seq);
    if (Atomics.load(ctrl, CTRL.FAILED) !== 0) {
      this.broken = true;
      throw new Error('threads: a worker failed (see the error above); later tasks use one thread');
    }
  }
}
