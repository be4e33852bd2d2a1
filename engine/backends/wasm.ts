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
import { getThreads, runGemm, runCall, setWorkerModule, type Pool, type PoolKernels } from '../threads/index.js';
import { applyJump, jumpMatrix } from '../rngJump.js';
import { KIND_WASM, type CallName } from '../threads/protocol.js';
import { wasmGemmKit, wasmScratchBytes } from '../threads/wasmKit.js';
import { allocPersistent, release, sharedMemory } from '../memory.js';
import {
  adaboundArgs, adadeltaArgs, adagradArgs, adamaxArgs, adamFactors, compileKernels, compileKernelsAsync, instantiateKernels, lionArgs,
  lookaheadArgs, muonApplyArgs, muonMomentumArgs, nadamArgs, radamArgs, rmspropArgs, sgdFactors, wasmSupport, type WasmKernels,
  type WasmModule,
} from '../wasm/index.js';
import type { Kernels } from './kernels.js';
import { PrivateKernelMemory, SharedKernelMemory, Staging, type KernelMemory } from './staging.js';

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

/** Pieces a dropout pass over many units is cut into for the pool (a run of them per chunk). */
const DROPOUT_PIECES = 24;
/** Fewer units than this draw in one call: jumping the generator ahead costs a few microseconds. */
const DROPOUT_SPLIT_MIN = 16_384;

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
  const tanh = k.raw('tanhForward');
  const tanhBack = k.raw('tanhBackward');
  const sigmoid = k.raw('sigmoidForward');
  const sigmoidBack = k.raw('sigmoidBackward');
  const dropout = k.raw('dropoutForward');
  const dropoutBack = k.raw('dropoutBackward');
  const dropoutPieces = k.raw('dropoutPieces');
  /** Each dropout piece's first state (four words). */
  let pieceStates = new Int32Array(0);
  const bnStats = k.raw('batchNormStats');
  const bnApply = k.raw('batchNormApply');
  const bnBack = k.raw('batchNormBackward');
  const lnForward = k.raw('layerNormForward');
  const lnBack = k.raw('layerNormBackward');
  const affineBack = k.raw('affineBackward');
  const smForward = k.raw('softmaxForward');
  const smBack = k.raw('softmaxBackward');
  const lsmForward = k.raw('logSoftmaxForward');
  const lsmBack = k.raw('logSoftmaxBackward');
  const ceForward = k.raw('crossEntropyForward');
  const ceBack = k.raw('crossEntropyBackward');
  /**
   * A pass over OUTER independent planes of N·INNER floats (the softmax family along any axis): each
   * pointer moves a plane per unit, the sizes stay; `work` is the floats it touches (the cost model's).
   */
  const byPlane = (name: CallName, kernel: (...a: number[]) => unknown, pointers: number[], OUTER: number, N: number, INNER: number, work: number): void => {
    const plane = N * INNER * F;
    runCall(name, kernel, [...pointers, OUTER, N, INNER], [...pointers.map(() => plane), 0, 0, 0], pointers.length, OUTER, work, 1);
    s.done();
  };
  /**
   * An optimizer's update, elementwise over N weights: its float arrays (`pointers`, staged; an absent
   * one is pointer 0, which runCall does not move), then the step's numbers and N; `floatsPerWeight` is
   * what it reads and writes per weight (the cost model's).
   */
  const update = (name: CallName, kernel: (...a: number[]) => unknown, pointers: number[], numbers: number[], N: number, floatsPerWeight: number): void => {
    const args = [...pointers, ...numbers, N];
    runCall(name, kernel, args, arrays(pointers.length, args.length), args.length - 1, N, floatsPerWeight * N);
    s.done();
  };
  /** crossEntropyForward's per-row losses, kept between calls (grown to the largest batch). */
  let rowLoss = new Float64Array(0);
  const rngState = new Int32Array(4);
  const sgd = k.raw('sgdUpdate');
  const adam = k.raw('adamUpdate');
  const adamax = k.raw('adamaxUpdate');
  const radam = k.raw('radamUpdate');
  const adabound = k.raw('adaboundUpdate');
  const lion = k.raw('lionUpdate');
  const muonMom = k.raw('muonMomentum');
  const muonStep = k.raw('muonApply');
  const lookahead = k.raw('lookaheadSync');
  const rmsprop = k.raw('rmspropUpdate');
  const nadam = k.raw('nadamUpdate');
  const adagrad = k.raw('adagradUpdate');
  const adadelta = k.raw('adadeltaUpdate');

  return {
    name: 'wasm',
    fma: k.fma,
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
      const args = [s.out(dpre), s.out(dbias), s.in(dout), s.in(out), B, OUT, OUT];
      // Without dbias the rows are independent: pieces of rows. With it every row adds into dbias, so
      // pieces are bands of columns (rows stay OUT apart), each column summed in row order as one call
      // sums it; bands of 16 floats, so that two threads write the same 64-byte line only where a row
      // does not start on one.
      if (dbias === null) runCall('biasReluBackward', biasReluBack, args, [OUT * F, 0, OUT * F, OUT * F, 0, 0, 0], 4, B, 3 * B * OUT, 1);
      else runCall('biasReluBackward', biasReluBack, args, [F, F, F, F, 0, 0, 0], 5, OUT, 3 * B * OUT, 16);
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
    tanhForward(out, inp, n) {
      runCall('tanhForward', tanh, [s.out(out), s.in(inp), n], [F, F, 0], 2, n, 8 * n);
      s.done();
    },
    tanhBackward(dinp, dout, out, n) {
      runCall('tanhBackward', tanhBack, [s.out(dinp), s.in(dout), s.in(out), n], [F, F, F, 0], 3, n, 3 * n);
      s.done();
    },
    sigmoidForward(out, inp, n) {
      runCall('sigmoidForward', sigmoid, [s.out(out), s.in(inp), n], [F, F, 0], 2, n, 8 * n);
      s.done();
    },
    sigmoidBackward(dinp, dout, out, n) {
      runCall('sigmoidBackward', sigmoidBack, [s.out(dinp), s.in(dout), s.in(out), n], [F, F, F, 0], 3, n, 3 * n);
      s.done();
    },
    dropoutForward(out, mask, inp, rate, rng, n) {
      // One stream of random bits, drawn in order. The generator's state goes in and out of the kernel
      // as four words; `spare` (a cached normal) is not touched by uniform draws. With more than one
      // thread and enough units, the stream is cut into DROPOUT_PIECES pieces of L draws whose first
      // states engine/rngJump.ts computes (T^L applied again and again), the pool draws the pieces at
      // once, and the last n − pieces·L units are drawn here from the state after them: the units and
      // the generator's state afterwards are the ones drawing in order gives.
      const state = rng.getState();
      const threshold = rate * 4294967296;
      const scale = 1 / (1 - rate);
      const o = s.out(out), m = s.out(mask), x = s.in(inp);
      let from = 0;
      let words: ArrayLike<number> = state;
      if (getThreads() > 1 && n >= DROPOUT_SPLIT_MIN) {
        const L = Math.floor(n / DROPOUT_PIECES);
        const jump = jumpMatrix(L);
        if (pieceStates.length < 4 * DROPOUT_PIECES) pieceStates = new Int32Array(4 * DROPOUT_PIECES);
        let at: Uint32Array = Uint32Array.from(state.slice(0, 4));
        for (let p = 0; p < DROPOUT_PIECES; p++) {
          pieceStates.set(at, 4 * p);
          at = applyJump(jump, at);
        }
        runCall('dropoutPieces', dropoutPieces, [o, m, x, s.inout(pieceStates), threshold, scale, L, DROPOUT_PIECES],
          [4 * L, 4 * L, 4 * L, 16, 0, 0, 0, 0], 7, DROPOUT_PIECES, 3 * n, 1);
        from = DROPOUT_PIECES * L;
        words = at; // the state after the pieces' draws
      }
      for (let w = 0; w < 4; w++) rngState[w] = words[w];
      if (n > from) dropout(o + 4 * from, m + 4 * from, x + 4 * from, s.inout(rngState), threshold, scale, n - from);
      s.done();
      rng.setState([rngState[0] >>> 0, rngState[1] >>> 0, rngState[2] >>> 0, rngState[3] >>> 0, state[4]]);
    },
    dropoutBackward(dinp, dout, mask, n) {
      runCall('dropoutBackward', dropoutBack, [s.out(dinp), s.in(dout), s.in(mask), n], [F, F, F, 0], 3, n, 3 * n);
      s.done();
    },
    batchNormForward(out, xhat, mean, variance, invstd, x, gamma, beta, eps, B, Fs) {
      // Features are independent: split by columns (a piece keeps the tensor's row stride).
      const x0 = s.in(x);
      const stats = [s.out(mean), s.out(variance), s.out(invstd)];
      runCall('batchNormStats', bnStats, [...stats, x0, eps, B, Fs, Fs], [8, 8, 8, F, 0, 0, 0, 0], 6, Fs, 2 * B * Fs);
      runCall('batchNormApply', bnApply, [s.out(out), s.out(xhat), x0, stats[0], stats[2], s.in(gamma), s.in(beta), B, Fs, Fs],
        [F, F, F, 8, 8, F, F, 0, 0, 0], 8, Fs, 3 * B * Fs);
      s.done();
    },
    normalizeAffine(out, xhat, x, mean, invstd, gamma, beta, B, Fs) {
      runCall('batchNormApply', bnApply, [s.out(out), s.out(xhat), s.in(x), s.in(mean), s.in(invstd), s.in(gamma), s.in(beta), B, Fs, Fs],
        [F, F, F, 8, 8, F, F, 0, 0, 0], 8, Fs, 3 * B * Fs);
      s.done();
    },
    batchNormBackward(dinp, dgamma, dbeta, dout, xhat, gamma, invstd, B, Fs) {
      runCall('batchNormBackward', bnBack, [s.out(dinp), s.out(dgamma), s.out(dbeta), s.in(dout), s.in(xhat), s.in(gamma), s.in(invstd), B, Fs, Fs],
        [F, F, F, F, F, F, 8, 0, 0, 0], 8, Fs, 4 * B * Fs);
      s.done();
    },
    // LayerNorm and the softmax family split by rows (the statistics and sums of a row stay on one
    // thread, in the twins' order); dgamma and dbeta, sums down the columns, by features.
    layerNormForward(out, xhat, invstd, x, gamma, beta, eps, R, Fs) {
      const row = Fs * F;
      runCall('layerNormForward', lnForward, [s.out(out), s.out(xhat), s.out(invstd), s.in(x), s.in(gamma), s.in(beta), eps, R, Fs],
        [row, row, 8, row, 0, 0, 0, 0, 0], 7, R, 3 * R * Fs, 1);
      s.done();
    },
    layerNormBackward(dinp, dgamma, dbeta, dout, xhat, gamma, invstd, R, Fs) {
      const row = Fs * F;
      const d = s.in(dout);
      const h = s.in(xhat);
      runCall('affineBackward', affineBack, [s.out(dgamma), s.out(dbeta), d, h, R, Fs, Fs], [F, F, F, F, 0, 0, 0], 5, Fs, 2 * R * Fs);
      runCall('layerNormBackward', lnBack, [s.out(dinp), d, h, s.in(gamma), s.in(invstd), R, Fs], [row, row, row, 0, 8, 0, 0], 5, R, 4 * R * Fs, 1);
      s.done();
    },
    softmaxForward(out, inp, OUTER, N, INNER) {
      byPlane('softmaxForward', smForward, [s.out(out), s.in(inp)], OUTER, N, INNER, 8 * OUTER * N * INNER);
    },
    softmaxBackward(dinp, dout, y, OUTER, N, INNER) {
      byPlane('softmaxBackward', smBack, [s.out(dinp), s.in(dout), s.in(y)], OUTER, N, INNER, 3 * OUTER * N * INNER);
    },
    logSoftmaxForward(out, inp, OUTER, N, INNER) {
      byPlane('logSoftmaxForward', lsmForward, [s.out(out), s.in(inp)], OUTER, N, INNER, 8 * OUTER * N * INNER);
    },
    logSoftmaxBackward(dinp, dout, out, OUTER, N, INNER) {
      byPlane('logSoftmaxBackward', lsmBack, [s.out(dinp), s.in(dout), s.in(out)], OUTER, N, INNER, 8 * OUTER * N * INNER);
    },
    crossEntropyForward(probs, logits, labels, B, C) {
      // Each row's loss into rowLoss (threads write their own rows), summed here in row order as the twin sums.
      if (rowLoss.length < B) rowLoss = new Float64Array(B);
      const row = C * F;
      runCall('crossEntropyForward', ceForward, [s.out(probs), s.out(rowLoss), s.in(logits), s.in(labels), B, C], [row, 8, row, 4, 0, 0], 4, B, 8 * B * C, 1);
      s.done();
      let loss = 0;
      for (let b = 0; b < B; b++) loss += rowLoss[b];
      return loss;
    },
    crossEntropyBackward(dlogits, probs, labels, B, C, scale) {
      const row = C * F;
      runCall('crossEntropyBackward', ceBack, [s.out(dlogits), s.in(probs), s.in(labels), B, C, scale], [row, row, 4, 0, 0, 0], 3, B, 2 * B * C, 1);
      s.done();
    },
    sgdUpdate(w, v, g, step, N) {
      update('sgdUpdate', sgd, [s.inout(w), s.inout(v), s.in(g)], sgdFactors(step), N, 5);
    },
    adamUpdate(w, m, v, vmax, g, step, N) {
      update('adamUpdate', adam, [s.inout(w), s.inout(m), s.inout(v), s.inout(vmax), s.in(g)], adamFactors(step), N, 8);
    },
    // The newer optimizers' updates: elementwise, split like Adam's.
    adamaxUpdate(w, m, u, g, step, N) {
      update('adamaxUpdate', adamax, [s.inout(w), s.inout(m), s.inout(u), s.in(g)], adamaxArgs(step), N, 8);
    },
    radamUpdate(w, m, v, g, step, N) {
      update('radamUpdate', radam, [s.inout(w), s.inout(m), s.inout(v), s.in(g)], radamArgs(step), N, 8);
    },
    adaboundUpdate(w, m, v, vmax, g, step, N) {
      update('adaboundUpdate', adabound, [s.inout(w), s.inout(m), s.inout(v), s.inout(vmax), s.in(g)], adaboundArgs(step), N, 10);
    },
    lionUpdate(w, m, g, step, N) {
      update('lionUpdate', lion, [s.inout(w), s.inout(m), s.in(g)], lionArgs(step), N, 6);
    },
    muonMomentum(u, b, g, step, N) {
      update('muonMomentum', muonMom, [s.out(u), s.inout(b), s.in(g)], muonMomentumArgs(step), N, 4);
    },
    muonApply(w, o, step, N) {
      update('muonApply', muonStep, [s.inout(w), s.in(o)], muonApplyArgs(step), N, 3);
    },
    lookaheadSync(w, slow, step, N) {
      update('lookaheadSync', lookahead, [s.inout(w), s.inout(slow)], lookaheadArgs(step), N, 3);
    },
    // RMSprop's, Nadam's, Adagrad's and Adadelta's updates: elementwise, split like Adam's.
    rmspropUpdate(w, sq, avg, buf, g, step, N) {
      update('rmspropUpdate', rmsprop, [s.inout(w), s.inout(sq), s.inout(avg), s.inout(buf), s.in(g)], rmspropArgs(step), N, 8);
    },
    nadamUpdate(w, m, v, g, step, N) {
      update('nadamUpdate', nadam, [s.inout(w), s.inout(m), s.inout(v), s.in(g)], nadamArgs(step), N, 8);
    },
    adagradUpdate(w, sum, g, step, N) {
      update('adagradUpdate', adagrad, [s.inout(w), s.inout(sum), s.in(g)], adagradArgs(step), N, 5);
    },
    adadeltaUpdate(w, sq, acc, g, step, N) {
      update('adadeltaUpdate', adadelta, [s.inout(w), s.inout(sq), s.inout(acc), s.in(g)], adadeltaArgs(step), N, 8);
    },
  };
}

const updateSteps = new Map<number, number[]>();

/**
 * runCall's `steps` for an update whose first `n` arguments are float arrays and the rest scalars;
 * made once per shape of argument list, not on every update of every parameter.
 */
function arrays(n: number, count: number): number[] {
  const key = n * 64 + count;
  let steps = updateSteps.get(key);
  if (steps === undefined) updateSteps.set(key, (steps = Array.from({ length: count }, (_, i) => (i < n ? F : 0))));
  return steps;
}
