/**
 * How the main thread and the workers share one matrix product, C (M,N) = A·B. Everything here runs
 * on both sides: the control block's layout, the claim, and `runChunks`, the one chunk routine that
 * the main thread (engine/threads/pool.ts) and every worker (engine/threads/worker.ts) call.
 *
 * The operands and C already lie in the shared WebAssembly.Memory that every thread holds
 * (engine/memory.ts), so nothing is staged or copied back. The product is split along N when B is
 * the larger operand (M ≤ N, as in all three products of a Dense layer, where M or K is the batch),
 * else along M: the longer side of C is cut into chunks of whole panels. Each thread packs the
 * other, smaller operand whole into its own scratch (the same packing every thread, so cheap
 * compared with the product: O(M·K) against O(M·K·N)), then claims chunks one at a time; for each,
 * it packs the chunk's panels of the split operand and computes their tiles of C in place. No
 * thread waits for another's packing.
 *
 * Determinism: each value of C is computed by one thread, by the same tile code, summing k in the
 * same order, from the same packed panels, so the bits do not depend on the thread count or on who
 * took which chunk (tests/engine/threads.test.ts).
 */

import { splitPanels, type GemmJob, type GemmKit } from '../kernels/gemmPacked.js';

/** Slots of the shared control block (an Int32Array over a SharedArrayBuffer). */
export const CTRL = {
  SEQ: 0, // job number; the main thread bumps it and notifies
  NEXT: 1, // next unclaimed chunk, tagged with the job: (seq & SEQ_MASK) << 8 | chunk
  READY: 2, // workers started and waiting
  FAILED: 3, // a worker caught an exception
  FINISHED: 4, // chunks computed so far
  CHUNKS: 5, // chunks in this job
  PER_CHUNK: 6, // panels per chunk
  KIND: 7, // 0: the JavaScript kernels, 1: the WebAssembly kernels
  M: 8, K: 9, N: 10,
  A: 11, AI: 12, AK: 13, // A's element (i,k) at float A + i·AI + k·AK of the memory
  B: 14, BK: 15, BJ: 16, // B's element (k,j) at float B + k·BK + j·BJ
  C: 17, // C (M,N), row-major, at float C
  AXIS: 18, // 0: chunks are column panels of C (A packed whole), 1: row panels (B packed whole)
  ZERO_SKIP: 19, // 1 to index the panels and skip all-zero k-steps
  SCRATCH: 20, // SCRATCH + w: byte address of worker w's packing scratch (WebAssembly kernels)
  SIZE: 64,
} as const;

export const SEQ_MASK = 0x7fffff;
/** Most chunks a product is cut into (the claim keeps the chunk number in 8 bits). */
export const MAX_CHUNKS = 255;
/** Most workers: one scratch slot each. */
export const MAX_WORKERS = CTRL.SIZE - CTRL.SCRATCH;

export const KIND_JS = 0;
export const KIND_WASM = 1;

export type { GemmJob, GemmKit };

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
 * Marks job `seq` as having no chunk left (chunk 0xff, past any count), once every chunk is finished.
 * A worker woken late for it may read CHUNKS at any moment after, even while the main thread writes
 * the next job's: its claim must fail whatever count it read. Left open (the tag and the count of
 * claimed chunks), a late claim with the next job's larger count took a chunk that does not exist,
 * computed it from the next job's half-written fields and counted it in the next job's FINISHED,
 * which then overshot, and the main thread waited 10 s and gave up on the pool (about once in 10⁵
 * small products). CHUNKS is written and read with Atomics, so the order of these stores is the one
 * every thread sees.
 */
export function closeJob(ctrl: Int32Array, seq: number): void {
  Atomics.store(ctrl, CTRL.NEXT, ((seq & SEQ_MASK) << 8) | 0xff);
}

/**
 * The chunk routine, the same on every thread: claim a chunk of job `seq`, and on the first success
 * read the job (it cannot change while one of its chunks is claimed and not finished) and pack the
 * whole operand; compute the chunk; repeat until none is left. `jobOf` reads the job from the control
 * block (a worker) or returns the one the main thread posted. Returns the number of chunks done.
 */
export function runChunks(ctrl: Int32Array, seq: number, kitOf: (kind: number) => GemmKit, jobOf: () => GemmJob): number {
  const chunks = Atomics.load(ctrl, CTRL.CHUNKS);
  let job: GemmJob | null = null;
  let kit: GemmKit | null = null;
  let perChunk = 0;
  let panels = 0;
  let done = 0;
  for (let c = claimChunk(ctrl, seq, chunks); c >= 0; c = claimChunk(ctrl, seq, chunks)) {
    if (job === null) {
      job = jobOf();
      kit = kitOf(ctrl[CTRL.KIND]);
      perChunk = ctrl[CTRL.PER_CHUNK];
      panels = splitPanels(job, kit);
      kit.packWhole(job);
    }
    const p0 = c * perChunk;
    kit!.chunk(job, p0, Math.min(panels, p0 + perChunk));
    done++;
    Atomics.add(ctrl, CTRL.FINISHED, 1);
    Atomics.notify(ctrl, CTRL.FINISHED);
  }
  return done;
}

/** A worker's view of the posted job: every operand in the whole memory, at absolute float offsets. */
export function readJob(ctrl: Int32Array, memory: Float32Array): GemmJob {
  return {
    A: memory, a0: ctrl[CTRL.A], ai: ctrl[CTRL.AI], ak: ctrl[CTRL.AK],
    B: memory, b0: ctrl[CTRL.B], bk: ctrl[CTRL.BK], bj: ctrl[CTRL.BJ],
    C: memory, c0: ctrl[CTRL.C],
    M: ctrl[CTRL.M], K: ctrl[CTRL.K], N: ctrl[CTRL.N],
    axis: ctrl[CTRL.AXIS] === 0 ? 0 : 1,
    zeroSkip: ctrl[CTRL.ZERO_SKIP] === 1,
  };
}
