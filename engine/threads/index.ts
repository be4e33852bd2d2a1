/**
 * Both cores on one product. This file is the pool's public face (how many threads, start, stop)
 * and the one decision per product: run it on the calling thread, or on the pool. The protocol and
 * the chunk routine that every thread runs are in protocol.ts, the workers in pool.ts and worker.ts,
 * the per-shape timing in planner.ts.
 *
 * The pool exists only in Node (worker_threads, reached through engine/node.ts so that the engine
 * loads in a browser) and only where the tensors lie in shared memory (engine/memory.ts); elsewhere
 * every product runs on the calling thread. Workers are unref'd, so they never keep the process
 * alive, and they start lazily: until every worker reports ready (~0.1–0.3 s; tsx compiles the
 * worker when running from sources), products run on the calling thread.
 */
import { alloc, inSharedMemory, release, sharedMemory } from '../memory.js';
import { envVar, nodeBuiltin } from '../node.js';
import type { WasmModule } from '../wasm/runtime.js';
import { Planner } from './planner.js';
import { Pool } from './pool.js';

export type { Pool };
import { runAlone, splitPanels, type GemmJob, type GemmKit } from '../kernels/gemmPacked.js';
import { MAX_CHUNKS, MAX_WORKERS } from './protocol.js';

/** Chunks per thread: enough that a thread the OS has paused holds up at most a small piece. */
const CHUNKS_PER_THREAD = 6;
/** Most threads (main included). */
const MAX_THREADS = Math.min(MAX_WORKERS + 1, Math.floor(MAX_CHUNKS / CHUNKS_PER_THREAD));

/**
 * Products with fewer multiply-adds than this stay on the calling thread: waking a worker costs
 * more than such a product saves. Measured with benchmarks/cutover.ts on a quiet machine (batch 64,
 * the JavaScript kernels, one thread vs the pool of two): 0.51× at 64×10×100 (64 k multiply-adds),
 * 0.80× at 0.19 M, 0.91× at 0.32 M, then 1.57× at 0.64 M, 1.89× at 1.9 M and 2.16× at 15 M. The
 * WebAssembly kernels are 6× faster, so waking a worker weighs more: 0.50× at 64 k, 0.83× at 0.32 M,
 * 0.99× at 0.64 M, 1.16× at 1.9 M, 1.71× at 15 M (2026-12-02); above the cut-over the planner times
 * each shape both ways anyway, so one threshold serves both backends.
 */
export const PARALLEL_MIN_MACS = 500_000;

/** Null until first asked for: the default reads the environment, which is not done at module load. */
let threads: number | null = null;
let parallelMinMacs = PARALLEL_MIN_MACS;
let pool: Pool | null = null;
/** Products computed by the pool since the process started (tests and the benchmark check it moves). */
let parallelProducts = 0;
const planner = new Planner();
let autoThreads = true;

/** Changes the cut-over (benchmarks/cutover.ts lifts it to time small products on the pool). */
export function setParallelMinMacs(macs: number): void {
  if (!(macs >= 0)) throw new RangeError(`setParallelMinMacs: expected a number >= 0, got ${macs}`);
  parallelMinMacs = macs;
}

/** How many products the thread pool has run since the process started (tests check that it moves). */
export function parallelProductCount(): number {
  return parallelProducts;
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

/** The compiled WebAssembly kernels the workers get when they start (engine/backend.ts sets it). */
let workerModule: WasmModule | null = null;

/** Gives the pool the WebAssembly kernels; running workers that lack them are restarted. */
export function setWorkerModule(module: WasmModule | null): void {
  workerModule = module;
  if (pool !== null && module !== null && pool.module !== module) closeThreads();
}

function thePool(): Pool | null {
  const n = threadCount();
  if (n <= 1) return null;
  if (pool === null) pool = new Pool({ workers: n - 1, memory: sharedMemory()!, module: workerModule });
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

/**
 * With `false`, every product above the cut-over runs on the pool, whatever the timings say (the
 * kernel benchmark and the tests use it to exercise the pool); the default `true` lets each shape
 * choose by measurement.
 */
export function setAutoThreads(on: boolean): void {
  autoThreads = on;
  planner.clear();
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
 * C = A·B for `job`, on the pool or on the calling thread: one thread when threads are off, the
 * product is below the cut-over, an operand is not in shared memory, or the workers are not ready;
 * otherwise as the shape's plan says. Either way the same tiles compute the same bits.
 */
export function runGemm(job: GemmJob, kernels: PoolKernels): void {
  const { M, K, N } = job;
  // An empty result (M or N is 0) has no panels to share out: on the pool, 0 panels made the chunk
  // count NaN and the main thread waited 10 s for chunks that never came, then gave up on the pool.
  const p = M * K * N < parallelMinMacs || M * N === 0 ? null : thePool();
  if (p === null || !p.ready() || p.broken || (kernels.kind !== 0 && p.module === null)) {
    runAlone(job, kernels.kit);
    return;
  }
  if (!(inSharedMemory(job.A) && inSharedMemory(job.B) && inSharedMemory(job.C))) {
    // An operand the workers cannot see (a Float32Array of the caller's own): copy it into the shared
    // memory for this product. O(M·K + K·N + M·N) against O(M·K·N) work.
    stagedGemm(job, (staged) => runGemm(staged, kernels));
    return;
  }
  const onPool = (): void => {
    const panels = splitPanels(job, kernels.kit);
    const perChunk = Math.ceil(panels / Math.min(panels, CHUNKS_PER_THREAD * (p.size + 1)));
    kernels.prepareWorkers?.(p, job);
    p.run(job, kernels.kind, kernels.kit, Math.ceil(panels / perChunk), perChunk);
    parallelProducts++;
  };
  if (!autoThreads) return onPool();
  const key = `${kernels.kind},${M},${K},${N},${job.ai},${job.ak},${job.bk},${job.bj}`;
  planner.run(key, (usePool) => (usePool ? onPool() : runAlone(job, kernels.kit)));
}

/**
 * Runs `run` on a copy of `job` whose operands and result all lie in the shared memory, then copies
 * the result back and hands the copies back to the arena.
 */
export function stagedGemm(job: GemmJob, run: (staged: GemmJob) => void): void {
  const temps: Float32Array[] = [];
  const stage = (a: Float32Array, copy: boolean): Float32Array => {
    if (inSharedMemory(a)) return a;
    const t = alloc(a.length);
    if (copy) t.set(a);
    temps.push(t);
    return t;
  };
  const staged: GemmJob = { ...job, A: stage(job.A, true), B: stage(job.B, true), C: stage(job.C, false) };
  try {
    run(staged);
    if (staged.C !== job.C) job.C.set(staged.C);
  } finally {
    for (const t of temps) release(t);
  }
}
