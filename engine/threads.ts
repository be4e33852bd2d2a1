/**
 * Both cores on one product: a small pool of worker_threads that share memory with the main thread.
 *
 * How a product is split. The main thread writes the job (sizes, offsets) into a shared Int32Array,
 * bumps a sequence number and wakes the workers with Atomics.notify; then it packs the operands
 * (engine/kernels/gemmPacked.ts) into one SharedArrayBuffer, the arena, that every worker received
 * once when it started (or when the arena grew). The longer side of C is cut into a fixed set of
 * chunks of panels (6 per thread); each thread, the main one included, claims the next chunk with
 * an atomic compare-and-swap, computes it (a worker into a staging area of the arena, the main
 * thread straight into C) and claims again until none is left. The main thread then waits
 * (Atomics.wait) until every chunk is finished and copies the workers' chunks into C. No message
 * is posted per product.
 *
 * Why claimed chunks rather than one fixed block per thread: this machine is shared (tests,
 * other processes), and a fixed split makes every product wait for the slowest thread; a worker
 * the OS has paused would stall the main thread for a whole time slice. With claiming, a paused or
 * sleeping worker just takes fewer chunks. Which thread computes a chunk never changes its values.
 *
 * When to use the pool at all: products under PARALLEL_MIN_MACS stay on the calling thread, and
 * above it each product shape is timed both ways and runs the faster way (dispatchGemm's planner),
 * since on a machine whose other core is busy two threads lose to one.
 *
 * Why operands are staged rather than shared in place: a worker can only see a SharedArrayBuffer
 * it was handed through postMessage, and a tensor's buffer dies with the tensor, which the garbage
 * collector decides, not us; registering every buffer with every worker would leak or need a
 * message per product. Packing copies the operands anyway (the blocked kernel needs it), so
 * packing them into the arena costs nothing extra; only the workers' chunks of C are copied back,
 * O(M·N) against O(M·K·N) work.
 *
 * Determinism: every value of C is computed by one thread, by the same tile code, summing k in the
 * same order, so results are bit-identical for any thread count (tests/engine/threads.test.ts).
 *
 * Workers are unref'd, so they never keep the process alive, and they start lazily: until every
 * worker reports ready (~0.1–0.3 s, tsx compiles the worker), products run on the main thread.
 * The pool exists only in Node (worker_threads, reached through engine/node.ts so that the engine
 * loads in a browser); elsewhere every product runs on the calling thread.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { nodeBuiltin, nodeProcess, envVar } from './node.js';
import { MR, NR, gemmTiles, indexSize, packA, packB, panels, zeroSkippingEnabled } from './kernels/gemmPacked.js';

/** Slots of the shared control block (Int32Array). */
export const CTRL = {
  SEQ: 0, // job number; the main thread bumps it and notifies
  NEXT: 1, // next unclaimed chunk, tagged with the job: (seq & SEQ_MASK) << 8 | chunk
  READY: 2, // workers started and waiting
  GEN: 3, // arena generation: a worker that sees a new one reads the new arena from its port
  M: 4, K: 5, N: 6,
  AXIS: 7, // 0: chunks are column panels of C, 1: row panels
  PA: 8, PB: 9, CS: 10, // arena offsets (in floats) of packed A, packed B, staged C
  FAILED: 11, // a worker caught an exception
  CHUNKS: 12, // chunks in this job
  PANELS_PER_CHUNK: 13,
  PACKED: 14, // chunks of the split operand packed so far
  FINISHED: 15, // chunks computed so far
  ZERO_SKIP: 16, // 1 when the panels were indexed for zero skipping (gemmPacked.ts)
  OWNER: 17, // OWNER + c: 0 if the main thread computed chunk c (into C), w + 1 if worker w did (into staging)
  SIZE: 65,
} as const;

export const SEQ_MASK = 0x7fffff;
/** Most chunks a product is cut into (one control slot each). */
const MAX_CHUNKS = CTRL.SIZE - CTRL.OWNER;
/** Chunks per thread: enough that a thread the OS has paused holds up at most a small piece. */
const CHUNKS_PER_THREAD = 6;
/** Most threads (main included) the chunking serves well. */
const MAX_THREADS = Math.floor(MAX_CHUNKS / CHUNKS_PER_THREAD);

/**
 * Claims the next chunk of job `seq` for the calling thread: its index, or −1 when the job has no
 * chunk left or is no longer the current job. The tag makes a late worker's claim fail instead of
 * taking a chunk of a job it has not read.
 */
export function claimChunk(ctrl: Int32Array, seq: number, chunks: number): number {
  const tag = (seq & SEQ_MASK) << 8;
  for (;;) {
    const v = Atomics.load(ctrl, CTRL.NEXT);
    if ((v & ~0xff) !== tag) return -1;
    const c = v & 0xff;
    if (c >= chunks) return -1;
    if (Atomics.compareExchange(ctrl, CTRL.NEXT, v, v + 1) === v) return c;
  }
}

/**
 * Products with fewer multiply-adds than this stay on the calling thread: waking a worker and
 * copying its chunks back costs more than such a product saves. Measured with
 * benchmarks/cutover.ts on a quiet machine (batch 64, one thread vs the pool of two): 0.51× at
 * 64×10×100 (64 k multiply-adds), 0.80× at 0.19 M, 0.91× at 0.32 M, then 1.57× at 0.64 M,
 * 1.89× at 1.9 M and 2.16× at 15 M (64×300×784).
 */
export const PARALLEL_MIN_MACS = 500_000;

/*
 * Nobody spins: a thread with nothing to do sleeps in Atomics.wait at once. Measured end to end
 * (MNIST MLP, 2 threads): waking through the futex was faster than polling for 2,000 or 20,000
 * rounds first (5,000–5,800 vs 3,200–5,400 samples/s), because the two vCPUs here behave like
 * one shared core under load: a polling thread takes cycles from the thread it waits for.
 */

/** Null until first asked for: the default reads the environment, which is not done at module load. */
let threads: number | null = null;
let parallelMinMacs = PARALLEL_MIN_MACS;
let pool: Pool | null = null;
/** Products computed by the pool since the process started (tests and the benchmark check it moves). */
let parallelProducts = 0;

/** Changes the cut-over (benchmarks/cutover.ts lifts it to time small products on the pool). */
export function setParallelMinMacs(macs: number): void {
  if (!(macs >= 0)) throw new RangeError(`setParallelMinMacs: expected a number >= 0, got ${macs}`);
  parallelMinMacs = macs;
}

export function parallelProductCount(): number {
  return parallelProducts;
}

function defaultThreads(): number {
  const os = nodeBuiltin('node:os');
  if (os === null || nodeBuiltin('node:worker_threads') === null) return 1;
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
  if (n > 1 && nodeBuiltin('node:worker_threads') === null) {
    throw new RangeError(`setThreads: ${n} threads need Node's worker_threads, which this runtime does not have; use 1`);
  }
  if (n === threads) return;
  threads = n;
  if (pool !== null) {
    pool.close();
    pool = null;
  }
}

export function getThreads(): number {
  return threadCount();
}

/**
 * Starts the workers if they are not running and resolves once all of them are ready, so that a
 * benchmark does not time the start-up. Training does not need to await it.
 */
export async function threadsReady(): Promise<void> {
  const n = threadCount();
  if (n <= 1) return;
  const p = pool ?? (pool = new Pool(n - 1));
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

/** The single-thread kernel the caller falls back to (kernels/matmul.ts gemmBlocked), same arguments. */
export type SingleGemm = (
  C: Float32Array,
  A: Float32Array, ai: number, ak: number,
  B: Float32Array, bk: number, bj: number,
  M: number, K: number, N: number,
) => void;

/**
 * Per product shape, whether the pool has been paying off. Two threads only help if the machine
 * gives this process two cores; on a busy one they can be slower than one (the same two vCPUs are
 * shared with other work, see benchmarks/capacity.ts). Training repeats the same few shapes every
 * step, so each shape is simply timed both ways — the first PROBE calls of each kind, then two
 * calls every REPROBE — and runs the faster way in between, like FFTW's planner. Either way gives
 * the same bits, so the choice only ever changes speed.
 */
interface Plan {
  calls: number;
  poolMs: number; // moving averages of the timed calls
  singleMs: number;
  usePool: boolean;
}

const plans = new Map<string, Plan>();
const PROBE = 6;
const REPROBE = 500;
let autoThreads = true;

/**
 * With `false`, every product above the cut-over runs on the pool, whatever the timings say (the
 * kernel benchmark and the tests use it to exercise the pool); the default `true` lets each shape
 * choose by measurement.
 */
export function setAutoThreads(on: boolean): void {
  autoThreads = on;
  plans.clear();
}

/**
 * C (M,N) = A·B, on the pool or on the calling thread (`single`): one thread when threads are off,
 * the product is below the cut-over, or the workers are not ready; otherwise as the shape's plan
 * says. A and B are read through strides as in packA/packB.
 */
export function dispatchGemm(
  C: Float32Array,
  A: Float32Array, ai: number, ak: number,
  B: Float32Array, bk: number, bj: number,
  M: number, K: number, N: number,
  single: SingleGemm,
): void {
  const n = threadCount();
  if (n <= 1 || M * K * N < parallelMinMacs) return single(C, A, ai, ak, B, bk, bj, M, K, N);
  if (pool === null) pool = new Pool(n - 1);
  if (!pool.ready() || pool.broken) return single(C, A, ai, ak, B, bk, bj, M, K, N);
  if (!autoThreads) {
    pool.gemm(C, A, ai, ak, B, bk, bj, M, K, N);
    parallelProducts++;
    return;
  }
  const key = `${M},${K},${N},${ai},${ak},${bk},${bj}`;
  let plan = plans.get(key);
  if (plan === undefined) {
    plan = { calls: 0, poolMs: 0, singleMs: 0, usePool: true };
    plans.set(key, plan);
  }
  const call = plan.calls++;
  // Call 0 warms both paths up untimed; then PROBE timed calls of each kind, alternating; then two
  // timed calls (one of each) every REPROBE calls.
  let usePool = plan.usePool;
  let timed = false;
  if (call === 0) {
    usePool = true;
  } else if (call <= 2 * PROBE) {
    usePool = call % 2 === 1;
    timed = true;
  } else if (call % REPROBE < 2) {
    usePool = call % REPROBE === 0;
    timed = true;
  }
  const t0 = timed ? performance.now() : 0;
  if (usePool) {
    pool.gemm(C, A, ai, ak, B, bk, bj, M, K, N);
    parallelProducts++;
  } else {
    single(C, A, ai, ak, B, bk, bj, M, K, N);
  }
  if (timed) {
    const ms = performance.now() - t0;
    if (usePool) plan.poolMs = plan.poolMs === 0 ? ms : 0.7 * plan.poolMs + 0.3 * ms;
    else plan.singleMs = plan.singleMs === 0 ? ms : 0.7 * plan.singleMs + 0.3 * ms;
    if (plan.poolMs > 0 && plan.singleMs > 0) plan.usePool = plan.poolMs < plan.singleMs;
  }
}

class Pool {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL.SIZE * 4));
  private arena = new Float32Array(new SharedArrayBuffer(4 * 65536));
  /** The panels' zero-skipping indexes (gemmPacked.ts indexPanel): A's panels first, then B's. */
  private index = new Int32Array(new SharedArrayBuffer(4 * 16384));
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  broken = false;

  constructor(readonly size: number) {
    const { MessageChannel, Worker } = nodeBuiltin('node:worker_threads')!;
    // From the sources (tsx, vitest) a worker needs the TypeScript loader, which threadWorker.mjs
    // registers; the compiled package starts the compiled worker directly.
    const fromSources = import.meta.url.endsWith('.ts');
    const url = new URL(fromSources ? './threadWorker.mjs' : './threadWorker.js', import.meta.url);
    for (let w = 0; w < size; w++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(url, {
        workerData: { ctrl: this.ctrl, arena: this.arena.buffer, index: this.index.buffer, port: port2, worker: w },
        transferList: [port2],
      });
      worker.on('error', (err) => {
        this.broken = true;
        nodeProcess()?.emitWarning?.(`tapegrad: matmul worker ${w} failed, products fall back to one thread: ${err}`);
      });
      worker.unref();
      port1.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  ready(): boolean {
    return Atomics.load(this.ctrl, CTRL.READY) === this.size;
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
  }

  private ensureArena(floats: number, ints: number): void {
    if (this.arena.length >= floats && this.index.length >= ints) return;
    const grow = (have: number, need: number): number => {
      let n = have;
      while (n < need) n *= 2;
      return n;
    };
    if (this.arena.length < floats) this.arena = new Float32Array(new SharedArrayBuffer(4 * grow(this.arena.length, floats)));
    if (this.index.length < ints) this.index = new Int32Array(new SharedArrayBuffer(4 * grow(this.index.length, ints)));
    // Posted before the generation is bumped: a worker that sees the new generation finds the
    // message already queued and reads it with receiveMessageOnPort, without its event loop.
    const gen = Atomics.load(this.ctrl, CTRL.GEN) + 1;
    for (const p of this.ports) p.postMessage({ gen, arena: this.arena.buffer, index: this.index.buffer });
    Atomics.store(this.ctrl, CTRL.GEN, gen);
  }

  gemm(
    C: Float32Array,
    A: Float32Array, ai: number, ak: number,
    B: Float32Array, bk: number, bj: number,
    M: number, K: number, N: number,
  ): void {
    const ctrl = this.ctrl;
    const Mp = panels(M);
    const Np = panels(N);
    const paOff = 0;
    const pbOff = Mp * MR * K;
    const csOff = pbOff + Np * NR * K;
    const stride = indexSize(K);
    const aIdxOff = 0;
    const bIdxOff = Mp * stride;
    this.ensureArena(csOff + M * N, (Mp + Np) * stride);
    const arena = this.arena;
    const index = zeroSkippingEnabled() ? this.index : null;

    // Chunks cut the longer side of C; the other operand is packed whole (every chunk reads all of it).
    const axis = Np >= Mp ? 0 : 1;
    const P = axis === 0 ? Np : Mp;
    const perChunk = Math.ceil(P / Math.min(P, CHUNKS_PER_THREAD * (this.size + 1)));
    const chunks = Math.ceil(P / perChunk);

    const seq = (ctrl[CTRL.SEQ] + 1) & SEQ_MASK;
    ctrl[CTRL.M] = M;
    ctrl[CTRL.K] = K;
    ctrl[CTRL.N] = N;
    ctrl[CTRL.AXIS] = axis;
    ctrl[CTRL.PA] = paOff;
    ctrl[CTRL.PB] = pbOff;
    ctrl[CTRL.CS] = csOff;
    ctrl[CTRL.CHUNKS] = chunks;
    ctrl[CTRL.PANELS_PER_CHUNK] = perChunk;
    ctrl[CTRL.ZERO_SKIP] = index === null ? 0 : 1;
    Atomics.store(ctrl, CTRL.PACKED, 0);
    Atomics.store(ctrl, CTRL.FINISHED, 0);
    Atomics.store(ctrl, CTRL.NEXT, seq << 8);
    // Wake the workers first: they get going while the operands are packed, and take each chunk as
    // soon as it is ready.
    Atomics.store(ctrl, CTRL.SEQ, seq);
    Atomics.notify(ctrl, CTRL.SEQ);

    if (axis === 0) packA(arena, paOff, A, ai, ak, M, K, 0, Mp, index, aIdxOff);
    else packB(arena, pbOff, B, bk, bj, K, N, 0, Np, index, bIdxOff);
    for (let c = 0; c < chunks; c++) {
      const p0 = c * perChunk;
      const p1 = Math.min(P, p0 + perChunk);
      if (axis === 0) packB(arena, pbOff + p0 * NR * K, B, bk, bj, K, N, p0, p1, index, bIdxOff + p0 * stride);
      else packA(arena, paOff + p0 * MR * K, A, ai, ak, M, K, p0, p1, index, aIdxOff + p0 * stride);
      Atomics.store(ctrl, CTRL.PACKED, c + 1);
      Atomics.notify(ctrl, CTRL.PACKED);
    }

    // The main thread takes chunks too, writing straight into C. If a worker is asleep or the OS
    // has paused it, the main thread simply does more of them: nobody waits for a thread that has
    // not started.
    for (let c = claimChunk(ctrl, seq, chunks); c >= 0; c = claimChunk(ctrl, seq, chunks)) {
      const p0 = c * perChunk;
      const p1 = Math.min(P, p0 + perChunk);
      if (axis === 0) {
        gemmTiles(C, 0, N, arena, paOff, arena, pbOff + p0 * NR * K, M, N, K, 0, Mp, p0, p1, index, aIdxOff, index, bIdxOff + p0 * stride);
      } else {
        gemmTiles(C, 0, N, arena, paOff + p0 * MR * K, arena, pbOff, M, N, K, p0, p1, 0, Np, index, aIdxOff + p0 * stride, index, bIdxOff);
      }
      ctrl[CTRL.OWNER + c] = 0;
      Atomics.add(ctrl, CTRL.FINISHED, 1);
    }

    // Wait for the chunks the workers claimed.
    for (;;) {
      const finished = Atomics.load(ctrl, CTRL.FINISHED);
      if (finished === chunks) break;
      if (Atomics.load(ctrl, CTRL.FAILED) !== 0) break;
      if (Atomics.wait(ctrl, CTRL.FINISHED, finished, 10_000) === 'timed-out' && Atomics.load(ctrl, CTRL.FINISHED) === finished) {
        this.broken = true;
        throw new Error(`threads: matmul workers did not finish a ${M}x${K}x${N} product within 10 s`);
      }
    }
    if (Atomics.load(ctrl, CTRL.FAILED) !== 0) {
      this.broken = true;
      throw new Error('threads: a matmul worker failed (see the error above); later products use one thread');
    }

    // Copy the workers' chunks from the staging area into C.
    for (let c = 0; c < chunks; c++) {
      if (ctrl[CTRL.OWNER + c] === 0) continue;
      const p0 = c * perChunk;
      const p1 = Math.min(P, p0 + perChunk);
      if (axis === 0) {
        const j0 = p0 * NR;
        const j1 = Math.min(N, p1 * NR);
        for (let i = 0; i < M; i++) {
          const row = i * N;
          for (let j = j0; j < j1; j++) C[row + j] = arena[csOff + row + j];
        }
      } else {
        const to = Math.min(M, p1 * MR) * N;
        for (let x = p0 * MR * N; x < to; x++) C[x] = arena[csOff + x];
      }
    }
  }
}
