/**
 * Both cores on one product: a small pool of worker_threads that share memory with the main thread.
 *
 * How a product is split. The main thread packs the operands (engine/kernels/gemmPacked.ts) into
 * one SharedArrayBuffer, the arena, that every worker received once when it started (or when the
 * arena grew). It writes the job — sizes, offsets, and each worker's fixed block of column panels
 * (or row panels, whichever dimension is longer) — into a shared Int32Array, bumps a sequence
 * number and wakes the workers with Atomics.notify. Each worker computes its block into a staging
 * area of the arena while the main thread packs and computes its own block straight into C; the
 * main thread then waits (Atomics.wait) for the done counter and copies the workers' blocks into C.
 * No message is posted per product.
 *
 * Why operands are staged rather than shared in place: a worker can only see a SharedArrayBuffer
 * it was handed through postMessage, and a tensor's buffer dies with the tensor, which the garbage
 * collector decides, not us; registering every buffer with every worker would leak or need a
 * message per product. Packing copies the operands anyway (the blocked kernel needs it), so
 * packing them into the arena costs nothing extra; only the workers' block of C is copied back,
 * O(M·N) against O(M·K·N) work.
 *
 * Determinism: every value of C is computed by one thread, by the same tile code, summing k in the
 * same order, so results are bit-identical for any thread count (tests/engine/threads.test.ts).
 *
 * Workers are unref'd, so they never keep the process alive, and they start lazily: until every
 * worker reports ready (~0.1–0.3 s, tsx compiles the worker), products run on the main thread.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { MR, NR, gemmTiles, packA, packB, panels } from './kernels/gemmPacked.js';

/** Slots of the shared control block (Int32Array). */
export const CTRL = {
  SEQ: 0, // job number; the main thread bumps it and notifies
  DONE: 1, // workers finished with the current job
  READY: 2, // workers started and waiting
  GEN: 3, // arena generation: a worker that sees a new one reads the new arena from its port
  M: 4, K: 5, N: 6,
  AXIS: 7, // 0: split column panels of C, 1: split row panels
  PA: 8, PB: 9, CS: 10, // arena offsets (in floats) of packed A, packed B, staged C
  FAILED: 11, // a worker caught an exception
  RANGES: 16, // worker w's panel range is [RANGES + 2w, RANGES + 2w + 1]
  SIZE: 64,
} as const;

/** Most workers the control block has room for. */
const MAX_WORKERS = (CTRL.SIZE - CTRL.RANGES) / 2;

/**
 * Products with fewer multiply-adds than this stay on the calling thread: waking a worker and
 * copying its block back costs ~20–40 µs here, which a product this small does not earn back.
 * Measured with benchmarks/cutover.ts (2 threads vs 1 on square-ish Dense shapes).
 */
export const PARALLEL_MIN_MACS = 200_000;

/** Spins (Atomics.load polls) before a thread sleeps in Atomics.wait: a product that follows
 *  within a few tens of microseconds is picked up without a futex round trip. */
const SPIN = 20_000;

let threads = defaultThreads();
let pool: Pool | null = null;
/** Products computed by the pool since the process started (tests and the benchmark check it moves). */
let parallelProducts = 0;

export function parallelProductCount(): number {
  return parallelProducts;
}

function defaultThreads(): number {
  const fromEnv = Number(process.env.TAPEGRAD_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv >= 1) return fromEnv;
  return Math.max(1, availableParallelism());
}

/**
 * Number of threads products may use (the main thread counts as one). The default is every core
 * (`os.availableParallelism()`), or the TAPEGRAD_THREADS environment variable. Results do not
 * depend on it, only speed does.
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS + 1) {
    throw new RangeError(`setThreads: n must be an integer in [1, ${MAX_WORKERS + 1}], got ${n}`);
  }
  if (n === threads) return;
  threads = n;
  if (pool !== null) {
    pool.close();
    pool = null;
  }
}

export function getThreads(): number {
  return threads;
}

/**
 * Starts the workers if they are not running and resolves once all of them are ready, so that a
 * benchmark does not time the start-up. Training does not need to await it.
 */
export async function threadsReady(): Promise<void> {
  if (threads <= 1) return;
  const p = pool ?? (pool = new Pool(threads - 1));
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
 * Computes C (M,N) = A·B on the pool if it is worth it and the workers are ready; returns false
 * (having done nothing) otherwise, and the caller runs the single-thread kernel. A and B are read
 * through strides as in packA/packB.
 */
export function parallelGemm(
  C: Float32Array,
  A: Float32Array, ai: number, ak: number,
  B: Float32Array, bk: number, bj: number,
  M: number, K: number, N: number,
): boolean {
  if (threads <= 1 || M * K * N < PARALLEL_MIN_MACS) return false;
  if (pool === null) pool = new Pool(threads - 1);
  if (!pool.ready() || pool.broken) return false;
  pool.gemm(C, A, ai, ak, B, bk, bj, M, K, N);
  parallelProducts++;
  return true;
}

class Pool {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL.SIZE * 4));
  private arena = new Float32Array(new SharedArrayBuffer(4 * 65536));
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  broken = false;

  constructor(readonly size: number) {
    const url = new URL('./threadWorker.mjs', import.meta.url);
    for (let w = 0; w < size; w++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(url, {
        workerData: { ctrl: this.ctrl, arena: this.arena.buffer, port: port2, index: w, spin: SPIN },
        transferList: [port2],
      });
      worker.on('error', (err) => {
        this.broken = true;
        process.emitWarning(`tapegrad: matmul worker ${w} failed, products fall back to one thread: ${err}`);
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

  private ensureArena(floats: number): void {
    if (this.arena.length >= floats) return;
    let n = this.arena.length;
    while (n < floats) n *= 2;
    this.arena = new Float32Array(new SharedArrayBuffer(4 * n));
    // Posted before the job that needs it; the worker reads it with receiveMessageOnPort when it
    // sees the generation change, so it never has to return to its event loop.
    const gen = Atomics.add(this.ctrl, CTRL.GEN, 1) + 1;
    for (const p of this.ports) p.postMessage({ gen, arena: this.arena.buffer });
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
    this.ensureArena(csOff + M * N);
    const arena = this.arena;

    // Split the longer side of C into contiguous blocks of panels, one per thread; the main thread
    // keeps block 0. The other operand is packed whole (every thread reads all of it).
    const axis = Np >= Mp ? 0 : 1;
    const P = axis === 0 ? Np : Mp;
    const T = Math.min(this.size + 1, P);
    if (axis === 0) packA(arena, paOff, A, ai, ak, M, K, 0, Mp);
    else packB(arena, pbOff, B, bk, bj, K, N, 0, Np);
    const own = Math.floor(P / T);
    for (let t = 1; t < this.size + 1; t++) {
      const p0 = t < T ? Math.floor((P * t) / T) : P;
      const p1 = t < T ? Math.floor((P * (t + 1)) / T) : P;
      ctrl[CTRL.RANGES + 2 * (t - 1)] = p0;
      ctrl[CTRL.RANGES + 2 * (t - 1) + 1] = p1;
      if (axis === 0) packB(arena, pbOff + p0 * NR * K, B, bk, bj, K, N, p0, p1);
      else packA(arena, paOff + p0 * MR * K, A, ai, ak, M, K, p0, p1);
    }
    ctrl[CTRL.M] = M;
    ctrl[CTRL.K] = K;
    ctrl[CTRL.N] = N;
    ctrl[CTRL.AXIS] = axis;
    ctrl[CTRL.PA] = paOff;
    ctrl[CTRL.PB] = pbOff;
    ctrl[CTRL.CS] = csOff;
    Atomics.store(ctrl, CTRL.DONE, 0);
    Atomics.add(ctrl, CTRL.SEQ, 1);
    Atomics.notify(ctrl, CTRL.SEQ);

    // The main thread's block, straight into C.
    if (axis === 0) {
      packB(arena, pbOff, B, bk, bj, K, N, 0, own);
      gemmTiles(C, 0, N, arena, paOff, arena, pbOff, M, N, K, 0, Mp, 0, own);
    } else {
      packA(arena, paOff, A, ai, ak, M, K, 0, own);
      gemmTiles(C, 0, N, arena, paOff, arena, pbOff, M, N, K, 0, own, 0, Np);
    }

    // Every worker reports, even one with an empty block, so DONE counts all of them.
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.DONE);
      if (done === this.size) break;
      if (++spins < SPIN) continue;
      if (Atomics.wait(ctrl, CTRL.DONE, done, 10_000) === 'timed-out' && Atomics.load(ctrl, CTRL.DONE) === done) {
        this.broken = true;
        throw new Error(`threads: matmul workers did not finish a ${M}x${K}x${N} product within 10 s`);
      }
    }
    if (Atomics.load(ctrl, CTRL.FAILED) !== 0) {
      this.broken = true;
      throw new Error('threads: a matmul worker failed (see the warning above); later products use one thread');
    }

    // Copy the workers' blocks from the staging area into C.
    for (let t = 1; t < T; t++) {
      const p0 = ctrl[CTRL.RANGES + 2 * (t - 1)];
      const p1 = ctrl[CTRL.RANGES + 2 * (t - 1) + 1];
      if (axis === 0) {
        const j0 = p0 * NR;
        const j1 = Math.min(N, p1 * NR);
        for (let i = 0; i < M; i++) {
          const row = i * N;
          for (let j = j0; j < j1; j++) C[row + j] = arena[csOff + row + j];
        }
      } else {
        const from = p0 * MR * N;
        const to = Math.min(M, p1 * MR) * N;
        for (let x = from; x < to; x++) C[x] = arena[csOff + x];
      }
    }
  }
}
