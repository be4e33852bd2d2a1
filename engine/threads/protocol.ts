/**
 * How the main thread and the workers share one task. Everything here runs on both sides: the
 * control block's layout, the claim, and `runChunks`, the one chunk routine that the main thread
 * (engine/threads/pool.ts) and every worker (engine/threads/worker.ts) call.
 *
 * A task is cut into chunks that threads claim one at a time. Two kinds:
 *
 * - a product, C (M,N) = A·B (TASK_GEMM). The operands and C lie in the shared WebAssembly.Memory
 *   that every thread holds (engine/memory.ts), so nothing is staged or copied back. The product is
 *   split along N when B is the larger operand (M ≤ N, as in all three products of a Dense layer,
 *   where M or K is the batch), else along M: the longer side of C is cut into chunks of whole
 *   panels. Each thread packs the other, smaller operand whole into its own scratch (O(M·K) against
 *   O(M·K·N)), then, per chunk, packs the chunk's panels of the split operand and computes their
 *   tiles of C in place. No thread waits for another's packing. (One shared copy, each panel packed
 *   by whichever thread claimed it first and the other's waited for, ran 0.93× at batch 256 and 0.95×
 *   at 64 on two threads, in one process against this: reading half the packed operand from the other
 *   core's cache costs more than packing it. A copy packed in chunks, then a barrier, was no faster.)
 * - a call of one WebAssembly kernel over a range (TASK_CALL): a pass over `units` (elements, rows or
 *   columns) whose pieces are independent — the bias and activation passes, the optimizer updates.
 *   Each chunk calls the kernel with its pointers moved to the chunk's first unit and its count
 *   argument set to the chunk's length; which thread runs which piece cannot change a value.
 *
 * Who takes which chunk: the main thread claims from the front of a task, the workers from the back,
 * and they meet wherever the work runs out. So each thread keeps to about the same part of every
 * array from one task to the next — the forward product's columns are a weight's rows, which the
 * update, split by elements, takes in the same order — and finds it in its own core's cache. With
 * chunks taken in turn, every pass read about half its inputs from the other core's cache. Measured
 * in one process, configurations alternating (the MLP, Node 24): two threads over one went from 1.14×
 * to 1.22× and from 1.27× to 1.34× at batch 64, and from 1.27× to 1.40× at 256. (Splitting a weight's
 * gradient by rows as well, so that its rows would match the update's, measured no faster on two
 * threads and 2–4% slower on one: each thread then packs the batch whole.)
 *
 * Determinism: each value of a result is computed by one thread, by the same code, in the same order,
 * so the bits do not depend on the thread count or on who took which chunk (tests/engine/threads.test.ts).
 */

import { splitPanels, type GemmJob, type GemmKit } from '../kernels/gemmPacked.js';

/** Slots of the shared control block (an Int32Array over a SharedArrayBuffer). */
export const CTRL = {
  SEQ: 0, // task number; the main thread bumps it (and wakes parked workers)
  NEXT: 1, // the unclaimed chunks [lo, hi), tagged with the task: (seq & SEQ_MASK) << 16 | hi << 8 | lo
  READY: 2, // workers started
  FAILED: 3, // a worker caught an exception
  FINISHED: 4, // chunks computed so far
  PER_CHUNK: 6, // panels (a product) or units (a call) per chunk
  KIND: 7, // a product's kernels: KIND_JS or KIND_WASM
  M: 8, K: 9, N: 10,
  A: 11, AI: 12, AK: 13, // A's element (i,k) at float A + i·AI + k·AK of the memory
  B: 14, BK: 15, BJ: 16, // B's element (k,j) at float B + k·BK + j·BJ
  C: 17, // C (M,N), row-major, at float C
  AXIS: 18, // 0: chunks are column panels of C (A packed whole), 1: row panels (B packed whole)
  ZERO_SKIP: 19, // 1 to index the panels and skip all-zero k-steps
  TASK: 20, // TASK_GEMM or TASK_CALL
  PARKED: 21, // workers asleep in Atomics.wait (the main thread wakes them only then)
  JOINING: 26, // 1 while the main thread sleeps until the workers' last chunks finish (they wake it)
  FN: 22, // a call: which kernel (an index into CALLS)
  ARGS: 23, // a call: how many arguments (their values are in the f64 block)
  COUNT_ARG: 24, // a call: which argument is the count of units
  UNITS: 25, // a call: the units to cover
  STEP: 32, // STEP + i: bytes argument i moves per unit (0: the same for every chunk)
  SCRATCH: 64, // SCRATCH + w: byte address of worker w's packing scratch (WebAssembly kernels)
  SIZE: 128,
} as const;

/** Most arguments a call task passes (the f64 block's length). */
export const MAX_ARGS = CTRL.SCRATCH - CTRL.STEP;

/** Task numbers wrap here: NEXT holds 15 bits of the task and two 8-bit chunk numbers. */
export const SEQ_MASK = 0x7fff;
/** Most chunks a task is cut into (the claim keeps each end in 8 bits). */
export const MAX_CHUNKS = 255;
/** Most workers: one scratch slot each. */
export const MAX_WORKERS = CTRL.SIZE - CTRL.SCRATCH;

export const KIND_JS = 0;
export const KIND_WASM = 1;

export const TASK_GEMM = 0;
export const TASK_CALL = 1;

/**
 * The WebAssembly kernels a call task may run, by index (the control block holds the index, every
 * thread looks the export up by name in its own instance).
 */
export const CALLS = [
  'reluForward', 'reluBackward', 'biasForward', 'biasReluForward', 'biasReluBackward', 'sgdUpdate', 'adamUpdate',
  'tanhForward', 'tanhBackward', 'sigmoidForward', 'sigmoidBackward', 'dropoutBackward',
  'batchNormStats', 'batchNormApply', 'batchNormBackward',
  'adamaxUpdate', 'radamUpdate', 'adaboundUpdate', 'lionUpdate', 'muonMomentum', 'muonApply', 'lookaheadSync',
  'rmspropUpdate', 'nadamUpdate', 'adagradUpdate', 'adadeltaUpdate',
  'layerNormForward', 'layerNormBackward', 'affineBackward',
  'softmaxForward', 'softmaxBackward', 'logSoftmaxForward', 'logSoftmaxBackward', 'crossEntropyForward', 'crossEntropyBackward',
  'dropoutPieces',
] as const;
export type CallName = (typeof CALLS)[number];

/**
 * How long a worker keeps polling for the next task before it parks in Atomics.wait. A training
 * step posts a task every few tens of microseconds (products, passes, updates), and waking a parked
 * worker through the futex costs 20–80 µs on this machine — as much as a small product — so a worker
 * stays hot through a step; between steps longer than this (data loading, an epoch's end, a process
 * that has stopped training) it sleeps and costs nothing.
 */
export const SPIN_MS = 1;

export type { GemmJob, GemmKit };

/** NEXT for task `seq` with chunks [lo, hi) unclaimed. */
export function openChunks(seq: number, lo: number, hi: number): number {
  return ((seq & SEQ_MASK) << 16) | (hi << 8) | lo;
}

/**
 * Claims a chunk of task `seq` for the calling thread, the first unclaimed one (the main thread) or
 * the last (`fromBack`, the workers): its index, or −1 when the task has no chunk left or is no longer
 * the current task. The tag makes a late worker's claim fail instead of taking a chunk of a task it
 * has not read. (Task numbers wrap at 2¹⁵: a worker paused for exactly that many tasks would claim a
 * chunk of the current one, which is harmless — it reads the task after the claim, and the claim
 * proves the task open.)
 */
export function claimChunk(ctrl: Int32Array, seq: number, fromBack: boolean): number {
  for (;;) {
    const v = Atomics.load(ctrl, CTRL.NEXT);
    const lo = v & 0xff;
    const hi = (v >> 8) & 0xff;
    if (v >> 16 !== (seq & SEQ_MASK) || lo >= hi) return -1;
    const [c, next] = fromBack ? [hi - 1, openChunks(seq, lo, hi - 1)] : [lo, openChunks(seq, lo + 1, hi)];
    if (Atomics.compareExchange(ctrl, CTRL.NEXT, v, next) === v) return c;
  }
}

/**
 * Marks task `seq` as having no chunk left, once every chunk is finished. A worker woken late for it
 * may still try to claim one while the main thread writes the next task's fields: its claim must fail,
 * not take a chunk of the next task computed from half-written fields (an earlier protocol read the
 * chunk count from its own slot, and a late claim with the next task's larger count overshot the
 * next task's FINISHED, so the main thread waited 10 s and gave up on the pool, about once in 10⁵
 * small products, found by tests/engine/fuzz.test.ts). The claim reads both ends from NEXT alone.
 */
export function closeJob(ctrl: Int32Array, seq: number): void {
  Atomics.store(ctrl, CTRL.NEXT, openChunks(seq, 0, 0));
}

/** What one thread does with a task: `begin` once, before its first chunk; then `chunk(c)` per claimed chunk. */
export interface TaskRunner {
  begin(): void;
  chunk(c: number): void;
}

/**
 * The chunk routine, the same on every thread (the workers claim from the back): claim a chunk of task `seq`, and on the first success
 * make the runner (`runnerOf` reads the task from the control block; it cannot change while one of
 * its chunks is claimed and not finished) and `begin` it; run the chunk; repeat until none is left.
 * Returns the number of chunks done.
 */
export function runChunks(ctrl: Int32Array, seq: number, runnerOf: () => TaskRunner, fromBack: boolean): number {
  let runner: TaskRunner | null = null;
  let done = 0;
  for (let c = claimChunk(ctrl, seq, fromBack); c >= 0; c = claimChunk(ctrl, seq, fromBack)) {
    if (runner === null) {
      runner = runnerOf();
      runner.begin();
    }
    runner.chunk(c);
    done++;
    Atomics.add(ctrl, CTRL.FINISHED, 1);
    if (Atomics.load(ctrl, CTRL.JOINING) !== 0) Atomics.notify(ctrl, CTRL.FINISHED);
  }
  return done;
}

/** A product's runner: pack the whole operand once, then the chunk's panels and their tiles. */
export function gemmRunner(ctrl: Int32Array, kit: GemmKit, job: GemmJob): TaskRunner {
  const perChunk = ctrl[CTRL.PER_CHUNK];
  const panels = splitPanels(job, kit);
  return {
    begin: () => kit.packWhole(job),
    chunk(c: number): void {
      const p0 = c * perChunk;
      kit.chunk(job, p0, Math.min(panels, p0 + perChunk));
    },
  };
}

/**
 * A call's runner: chunk c covers units [c·perChunk, min(units, (c+1)·perChunk)); argument i is
 * args[i] + step_i·(first unit), the count argument is the chunk's length.
 */
export function callRunner(ctrl: Int32Array, args: Float64Array, fn: (...a: number[]) => unknown): TaskRunner {
  const n = ctrl[CTRL.ARGS];
  const countArg = ctrl[CTRL.COUNT_ARG];
  const units = ctrl[CTRL.UNITS];
  const perChunk = ctrl[CTRL.PER_CHUNK];
  const base = Array.from(args.subarray(0, n));
  const steps = Array.from(ctrl.subarray(CTRL.STEP, CTRL.STEP + n));
  const a = new Array<number>(n);
  return {
    begin(): void {},
    chunk(c: number): void {
      const u0 = c * perChunk;
      const u1 = Math.min(units, u0 + perChunk);
      // A scalar (step 0) is passed as it is: base + 0 would turn a −0 argument into +0.
      for (let i = 0; i < n; i++) a[i] = steps[i] === 0 ? base[i] : base[i] + steps[i] * u0;
      a[countArg] = u1 - u0;
      fn(...a);
    },
  };
}

/** A worker's view of the posted product: every operand in the whole memory, at absolute float offsets. */
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
