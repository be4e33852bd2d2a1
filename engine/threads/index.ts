/**
 * Both cores on one step. This file is the pool's public face (how many threads, start, stop) and
 * the one decision per task: run it on the calling thread, or on the pool. The protocol and the chunk
 * routine that every thread runs are in protocol.ts, the workers in pool.ts and worker.ts.
 *
 * The decision is a cost model, the same on every run: a product goes to the pool when it has at
 * least PARALLEL_MIN_MACS multiply-adds, a pass (a bias or activation pass, an optimizer update) when
 * it touches at least PARALLEL_MIN_WORK floats. (An earlier pool timed each shape both ways in the
 * first steps and so ran 35 products on the pool in one run and 1,070 in the next.) Either way the
 * same code computes the same bits.
 *
 * One thing besides the cost model keeps a task on the calling thread: other work holding the cores
 * (contention.ts watches the kernel's count of runnable threads). A worker without a core of its own
 * makes a step wait for it, so two threads would run slower than one; while the cores are busy every
 * task runs alone and the workers sleep, and the pool resumes within about a tenth of a second of the
 * cores coming free. This decides speed only: `setBusyCheck(false)` (TAPEGRAD_BUSY_CHECK=0) turns it off.
 *
 * The pool exists only in Node (worker_threads, reached through engine/node.ts so that the engine
 * loads in a browser) and only where the tensors lie in shared memory (engine/memory.ts); elsewhere
 * every task runs on the calling thread. Workers are unref'd, so they never keep the process alive,
 * and they start lazily: until every worker reports ready (~0.1–0.3 s; tsx compiles the worker when
 * running from sources), tasks run on the calling thread.
 */
import { inSharedMemory, sharedMemory } from '../memory.js';
import { envVar, nodeBuiltin } from '../node.js';
import type { WasmModule } from '../wasm/runtime.js';
import { CoreWatch, procRunnableReader } from './contention.js';
import { Pool } from './pool.js';

export type { Pool };
import { runAlone, splitPanels, type GemmJob, type GemmKit } from '../kernels/gemmPacked.js';
import { CALLS, MAX_CHUNKS, MAX_WORKERS, type CallName } from './protocol.js';

/**
 * Chunks per thread: enough that a thread the OS has paused holds up at most a small piece, and that
 * the thread that finishes first waits little for the other's last chunk. Measured in one process
 * (configurations alternating in random order, Node 24), 12 against 6: two threads 1–4% faster on
 * the MLP at batch 64 and 256, d2l's net and article 001's, in 8 comparisons of 9.
 */
const CHUNKS_PER_THREAD = 12;
/** Most threads (main included): each gets at least 6 chunks of the most a task has. */
const MAX_THREADS = Math.min(MAX_WORKERS + 1, Math.floor(MAX_CHUNKS / 6));
/** Chunks a task is cut into on `threads` threads. */
const chunksFor = (threads: number): number => Math.min(MAX_CHUNKS, CHUNKS_PER_THREAD * threads);

/**
 * Products with fewer multiply-adds than this stay on the calling thread. With hot workers (no
 * futex wake-up per task) a product pays from about 0.1 M multiply-adds on (benchmarks/cutover.ts,
 * the WebAssembly kernels at batch 64).
 */
export const PARALLEL_MIN_MACS = 150_000;

/**
 * Passes over fewer floats than this (the arrays' total length: an update reads and writes about five
 * per weight) stay on the calling thread: posting a task and joining it costs a few microseconds,
 * about what one thread needs for this many.
 */
export const PARALLEL_MIN_WORK = 32_768;

/** Null until first asked for: the default reads the environment, which is not done at module load. */
let threads: number | null = null;
/** Whether tasks stay on the calling thread while other work holds the cores (contention.ts); null: from the environment. */
let checkBusy: boolean | null = null;
let parallelMinMacs = PARALLEL_MIN_MACS;
let parallelMinWork = PARALLEL_MIN_WORK;
let pool: Pool | null = null;
/** Whether other work holds the cores (contention.ts); made with the pool. */
let watch: CoreWatch | null = null;
/** Products computed by the pool since the process started (tests and the benchmark check it moves). */
let parallelProducts = 0;
/** Passes (call tasks) run by the pool since the process started. */
let parallelCalls = 0;

/**
 * Changes the cut-overs (benchmarks/cutover.ts lifts them to time small tasks on the pool, and
 * Infinity keeps everything on one thread); `work` defaults to PARALLEL_MIN_WORK.
 */
export function setParallelMinMacs(macs: number, work = PARALLEL_MIN_WORK): void {
  if (!(macs >= 0)) throw new RangeError(`setParallelMinMacs: expected a number >= 0, got ${macs}`);
  if (!(work >= 0)) throw new RangeError(`setParallelMinMacs: expected work >= 0, got ${work}`);
  parallelMinMacs = macs;
  parallelMinWork = work;
}

/**
 * Whether tasks stay on the calling thread while other work holds the machine's cores (the default;
 * contention.ts). Off, every task above the cut-over goes to the pool whatever the machine is doing:
 * tests that check the pool itself turn it off, as TAPEGRAD_BUSY_CHECK=0 does for a process.
 */
export function setBusyCheck(enabled: boolean): void {
  checkBusy = enabled;
}

function busyCheck(): boolean {
  checkBusy ??= envVar('TAPEGRAD_BUSY_CHECK') !== '0';
  return checkBusy;
}

/** How many products the thread pool has run since the process started (tests check that it moves). */
export function parallelProductCount(): number {
  return parallelProducts;
}

/** How many passes (bias, activation, update) the thread pool has run since the process started. */
export function parallelCallCount(): number {
  return parallelCalls;
}

function defaultThreads(): number {
  const os = nodeBuiltin('node:os');
  if (os === null || nodeBuiltin('node:worker_threads') === null || sharedMemory() === null) return 1;
  const fromEnv = Number(envVar('TAPEGRAD_THREADS'));
  if (Number.isInteger(fromEnv) && fromEnv >= 1) return Math.min(fromEnv, MAX_THREADS);
  return Math.min(MAX_THREADS, Math.max(1, os.availableParallelism()));
}

function threadCount(): number {
  if (threads === null) threads = defaultThreads();
  return threads;
}

/**
 * Number of threads products may use (the main thread counts as one). The default is every core
 * (`os.availableParallelism()`), or the TAPEGRAD_THREADS environment variable; outside Node it is 1.
 * Results do not depend on it, only speed does.
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new RangeError(`setThreads: n must be an integer in [1, ${MAX_THREADS}], got ${n}`);
  }
  if (n > 1 && (nodeBuiltin('node:worker_threads') === null || sharedMemory() === null)) {
    throw new RangeError(`setThreads: ${n} threads need Node's worker_threads and SharedArrayBuffer, which this runtime does not have; use 1`);
  }
  if (n === threads) return;
  threads = n;
  closeThreads();
}

/** The number of threads products may use (see `setThreads`); 1 outside Node. */
export function getThreads(): number {
  return threadCount();
}

/** The compiled WebAssembly kernels the workers get when they start (engine/backends/wasm.ts sets it). */
let workerModule: WasmModule | null = null;

/** Gives the pool the WebAssembly kernels; running workers that lack them are restarted. */
export function setWorkerModule(module: WasmModule | null): void {
  workerModule = module;
  if (pool !== null && module !== null && pool.module !== module) closeThreads();
}

function thePool(): Pool | null {
  const n = threadCount();
  if (n <= 1) return null;
  if (pool === null) {
    pool = new Pool({ workers: n - 1, memory: sharedMemory()!, module: workerModule });
    const os = nodeBuiltin('node:os')!;
    // A runtime may refuse the load average (Deno without --allow-sys): then nothing is known of other work, and the pool runs.
    const loadAverage = (): number => {
      try {
        return os.loadavg()[0];
      } catch {
        return 0;
      }
    };
    watch = new CoreWatch(os.availableParallelism(), n - 1, procRunnableReader(), loadAverage);
  }
  return pool;
}

/**
 * Starts the workers if they are not running and resolves once all of them are ready, so that a
 * benchmark does not time the start-up. Training does not need to await it.
 */
export async function threadsReady(): Promise<void> {
  const p = thePool();
  if (p === null) return;
  while (!p.ready() && !p.broken) await new Promise((r) => setTimeout(r, 5));
  if (p.broken) throw new Error('threads: a worker failed to start (see the error above)');
}

/** Stops the workers (they are unref'd, so this is only needed to free them early). */
export function closeThreads(): void {
  if (pool !== null) {
    pool.close();
    pool = null;
  }
}

/** What a product needs to run on the pool: which kernels, and per worker its scratch (WebAssembly). */
export interface PoolKernels {
  kind: number;
  /** The main thread's kit. */
  kit: GemmKit;
  /** Called before the job is posted with the pool's worker count, so scratch can be provided. */
  prepareWorkers?(pool: Pool, job: GemmJob): void;
}

/**
 * The pool, when it is running, the kernels of `kind` can run on it, and the machine has the cores
 * for it (contention.ts); else null.
 */
function readyPool(wasm: boolean): Pool | null {
  const p = thePool();
  if (p === null || !p.ready() || p.broken || (wasm && p.module === null)) return null;
  if (busyCheck() && !watch!.allows(performance.now(), p.running())) return null;
  return p;
}

/**
 * C = A·B for `job`, on the pool or on the calling thread: one thread when threads are off, the
 * product is below the cut-over, an operand is not in shared memory (the backend stages operands
 * first: engine/backends/staging.ts), or the workers are not ready. Either way the same tiles
 * compute the same bits.
 */
export function runGemm(job: GemmJob, kernels: PoolKernels): void {
  const { M, K, N } = job;
  // An empty result (M or N is 0) has no panels to share out: on the pool, 0 panels made the chunk
  // count NaN and the main thread waited 10 s for chunks that never came, then gave up on the pool.
  const p = M * K * N < parallelMinMacs || M * N === 0 ? null : readyPool(kernels.kind !== 0);
  const panels = splitPanels(job, kernels.kit);
  if (p === null || panels < 2 || !(inSharedMemory(job.A) && inSharedMemory(job.B) && inSharedMemory(job.C))) {
    runAlone(job, kernels.kit);
    return;
  }
  const perChunk = Math.ceil(panels / Math.min(panels, chunksFor(p.size + 1)));
  kernels.prepareWorkers?.(p, job);
  p.gemm(job, kernels.kind, kernels.kit, Math.ceil(panels / perChunk), perChunk);
  parallelProducts++;
}

/**
 * Runs WebAssembly kernel `name` (its export `kernel` on the calling thread) over `units` independent
 * units — elements, rows or columns — on the pool when the pass is big enough, else in one call.
 * `args` are the kernel's arguments for the whole pass; argument i of a piece starting at unit u is
 * args[i] + steps[i]·u (a pointer's bytes per unit; 0 for the rest, and for an absent pointer),
 * argument `countArg` is the piece's length. `work` is the floats the pass reads and writes (the cost
 * model's measure); `align` the units a piece is a multiple of (vector lanes).
 */
export function runCall(
  name: CallName, kernel: (...a: number[]) => unknown, args: number[], steps: readonly number[], countArg: number,
  units: number, work: number, align = 4,
): void {
  const p = work < parallelMinWork ? null : readyPool(true);
  if (p === null || units < 2 * align) {
    kernel(...args);
    return;
  }
  const pieces = chunksFor(p.size + 1);
  const perChunk = Math.ceil(units / pieces / align) * align;
  const moved = steps.map((s, i) => (args[i] === 0 ? 0 : s));
  p.call(CALLS.indexOf(name), kernel, args, moved, countArg, units, perChunk);
  parallelCalls++;
}
