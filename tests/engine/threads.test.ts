import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemmNN, gemmNT, gemmTN } from '../../engine/backends/index.js';
import { gemmNNNaive, gemmNTNaive, gemmTNNaive } from '../../engine/kernels/matmul.js';
import { allocPersistent, sharedMemory } from '../../engine/memory.js';
import { chooseAxis, jsGemmKit, splitPanels, type GemmJob } from '../../engine/kernels/gemmPacked.js';
import { Pool } from '../../engine/threads/pool.js';
import { CTRL, KIND_JS, MAX_CHUNKS, SEQ_MASK, claimChunk, closeJob, openChunks } from '../../engine/threads/protocol.js';
import { Rng } from '../../engine/rng.js';
import { getBackend, setBackend, threadsReady, type BackendName } from '../../engine/index.js';
import {
  PARALLEL_MIN_MACS, closeThreads, getThreads, parallelCallCount, parallelProductCount, setBusyCheck, setThreads,
} from '../../engine/threads/index.js';
import { kernels } from '../../engine/backends/index.js';
import { dropoutForward as dropoutForwardJs } from '../../engine/kernels/dropout.js';
import { CoreWatch, procRunnableReader } from '../../engine/threads/contention.js';
import fc from 'fast-check';

// These tests check the pool itself: it must take the products even while other test files hold the cores.
setBusyCheck(false);

type Gemm = (C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number) => void;

/** Operands and results in the shared memory, where the pool's workers can reach them (as tensors are). */
function shared(values: Float32Array): Float32Array {
  const a = allocPersistent(values.length);
  a.set(values);
  return a;
}

function random(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = allocPersistent(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniformIn(-1, 1);
  return a;
}

function run(kernel: Gemm, M: number, K: number, N: number, seed: number): Float32Array {
  const C = allocPersistent(M * N).fill(NaN);
  kernel(C, random(M * K, seed), random(K * N, seed + 1), M, K, N);
  return C;
}

/**
 * `passes` on the wasm backend with one thread, then with two (the pool ready): both results, and how
 * many passes the pool ran the second time.
 */
async function onOneThreadThenTwo<T>(passes: () => T): Promise<{ one: T; two: T; calls: number }> {
  await setBackend('wasm');
  setThreads(1);
  const one = passes();
  setThreads(2);
  await threadsReady();
  const before = parallelCallCount();
  const two = passes();
  return { one, two, calls: parallelCallCount() - before };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/**
 * How a backend's product must compare with its float64 naive twin: the JavaScript kernel sums in
 * float64 in the twin's order, so bit for bit; the WebAssembly one sums in float32 lanes, so within
 * float32 accumulation's bound |c − c_ref| ≤ K·2⁻²³·Σ_k |a_ik·b_kj| (the `abs` product gives the sum).
 */
function agreesWithTwin(backend: BackendName, got: Float32Array, want: Float32Array, abs: Float32Array, K: number): boolean {
  if (backend === 'js') return sameBits(got, want);
  return got.every((g, i) => (Number.isNaN(want[i]) ? Number.isNaN(g) : Math.abs(g - want[i]) <= K * 2 ** -23 * abs[i]));
}

/** The product of |A| and |B| through a naive twin: Σ_k |a_ik·b_kj| for each element. */
function absOf(naive: Gemm, A: Float32Array, B: Float32Array, M: number, K: number, N: number): Float32Array {
  const C = new Float32Array(M * N);
  naive(C, A.map(Math.abs), B.map(Math.abs), M, K, N);
  return C;
}

function absProduct(naive: Gemm, M: number, K: number, N: number, seed: number): Float32Array {
  return absOf(naive, random(M * K, seed), random(K * N, seed + 1), M, K, N);
}

// Big enough to be split (M·K·N ≥ PARALLEL_MIN_MACS); both split directions, odd edges, and a
// product with fewer panels than threads would like.
const shapes: [number, number, number][] = [
  [64, 784, 300], // Dense forward at batch 64: columns split
  [301, 65, 127], // rows split (more row panels than column panels), odd edges
  [37, 301, 53],
];

for (const backend of ['js', 'wasm'] as const) describe(`thread pool, ${backend} backend`, () => {
  beforeAll(async () => {
    await setBackend(backend);
    expect(getBackend()).toBe(backend);
  });
  afterAll(() => {
    closeThreads();
    setThreads(2);
  });

  it('rejects a bad thread count', () => {
    expect(() => setThreads(0)).toThrow(RangeError);
    expect(() => setThreads(1.5)).toThrow(/setThreads: n must be an integer/);
  });

  it('two threads give the same bits as one thread and as the naive twins, run after run', async () => {
    const kernels: [string, Gemm, Gemm][] = [['NN', gemmNN, gemmNNNaive], ['NT', gemmNT, gemmNTNaive], ['TN', gemmTN, gemmTNNaive]];
    for (const [M, K, N] of shapes) expect(M * K * N).toBeGreaterThanOrEqual(PARALLEL_MIN_MACS);

    setThreads(1);
    const one = kernels.map(([, k]) => shapes.map(([M, K, N], s) => run(k, M, K, N, s)));

    setThreads(2);
    expect(getThreads()).toBe(2);
    await threadsReady();
    const before = parallelProductCount();
    for (let r = 0; r < 2; r++) {
      kernels.forEach(([name, kernel, naive], l) => {
        shapes.forEach(([M, K, N], s) => {
          const two = run(kernel, M, K, N, s);
          // Each C value is computed whole by one thread, summing k in the same order.
          expect(sameBits(two, one[l][s]), `${name} ${M}x${K}x${N}, run ${r}`).toBe(true);
          if (r === 0) expect(agreesWithTwin(backend, two, run(naive, M, K, N, s), absProduct(naive, M, K, N, s), K), `${name} ${M}x${K}x${N} vs naive`).toBe(true);
        });
      });
    }
    expect(parallelProductCount() - before).toBe(2 * kernels.length * shapes.length);
  });

  it('two threads agree with the naive twins on mostly-zero operands (zero skipping across threads)', async () => {
    setThreads(2);
    await threadsReady();
    const M = 64, K = 784, N = 300; // MNIST-like: most inputs are 0
    const A = shared(random(M * K, 21).map((v) => (v > 0.6 ? v : 0)));
    const B = random(K * N, 22);
    for (const [kernel, naive, a, b] of [
      [gemmNT, gemmNTNaive, A, B], // X·Wᵀ: A sparse
      [gemmTN, gemmTNNaive, B.subarray(0, 64 * 300), A.subarray(0, 64 * 784)], // dYᵀ·X with X sparse: B sparse
    ] as const) {
      const [m, k, n] = kernel === gemmNT ? [M, K, N] : [300, 64, 784];
      const got = allocPersistent(m * n);
      const want = new Float32Array(m * n);
      const before = parallelProductCount();
      kernel(got, a, b, m, k, n);
      expect(parallelProductCount()).toBe(before + 1);
      naive(want, a, b, m, k, n);
      expect(agreesWithTwin(backend, got, want, absOf(naive, a, b, m, k, n), k)).toBe(true);
      setThreads(1);
      const alone = allocPersistent(m * n);
      kernel(alone, a, b, m, k, n);
      expect(sameBits(got, alone)).toBe(true); // the threads skip the same zero steps as one thread
      setThreads(2);
      await threadsReady();
    }
  });

  it('the cost model decides the same way on every call: above the cut-over the pool, below it one thread', async () => {
    setThreads(2);
    await threadsReady();
    const above: [number, number, number] = [64, 300, 100]; // 1.9 M multiply-adds
    const below: [number, number, number] = [64, 10, 100]; // 64 k
    expect(above[0] * above[1] * above[2]).toBeGreaterThanOrEqual(PARALLEL_MIN_MACS);
    expect(below[0] * below[1] * below[2]).toBeLessThan(PARALLEL_MIN_MACS);
    const want = run(gemmNN, ...above, 31);
    expect(agreesWithTwin(backend, want, run(gemmNNNaive, ...above, 31), absProduct(gemmNNNaive, ...above, 31), above[1])).toBe(true);
    let before = parallelProductCount();
    for (let call = 0; call < 20; call++) expect(sameBits(run(gemmNN, ...above, 31), want), `call ${call}`).toBe(true);
    expect(parallelProductCount() - before).toBe(20);
    before = parallelProductCount();
    for (let call = 0; call < 20; call++) run(gemmNN, ...below, 32);
    expect(parallelProductCount() - before).toBe(0);
  });

  it('operands outside the shared memory are staged into it for the pool, with the same bits', async () => {
    setThreads(2);
    await threadsReady();
    const [M, K, N] = shapes[0];
    const A = random(M * K, 41).slice(); // .slice() copies into a plain Float32Array
    const B = random(K * N, 42).slice();
    const plain = new Float32Array(M * N);
    const before = parallelProductCount();
    gemmNT(plain, A, B, M, K, N);
    expect(parallelProductCount()).toBe(before + 1);
    const want = new Float32Array(M * N);
    gemmNTNaive(want, A, B, M, K, N);
    expect(agreesWithTwin(backend, plain, want, absOf(gemmNTNaive, A, B, M, K, N), K)).toBe(true);
    const pooled = allocPersistent(M * N);
    gemmNT(pooled, shared(A), shared(B), M, K, N);
    expect(sameBits(plain, pooled)).toBe(true);
  });

  it('survives the shared memory growing between products', async () => {
    setThreads(2);
    await threadsReady();
    const small = run(gemmNN, 64, 100, 100, 9);
    allocPersistent(40 * 2 ** 20); // 160 MB: the memory grows past its first size
    const large = run(gemmNN, 256, 300, 400, 10);
    const again = run(gemmNN, 64, 100, 100, 9);
    expect(sameBits(small, again)).toBe(true);
    expect(agreesWithTwin(backend, large, run(gemmNNNaive, 256, 300, 400, 10), absProduct(gemmNNNaive, 256, 300, 400, 10), 300)).toBe(true);
  });

});

describe('thread pool, the passes and updates of the wasm backend', () => {
  afterAll(() => setThreads(2));

  /** Every split kernel of the contract on arrays big enough for the pool: its outputs, concatenated. */
  function passes(): Float32Array[] {
    const k = kernels();
    const B = 128, F = 784, n = B * F;
    const x = random(n, 51).map((v, i) => (i === 5 ? NaN : v * 4));
    const bias = random(F, 52);
    const dout = random(n, 53);
    const outs: Float32Array[] = [];
    const fresh = (size: number) => allocPersistent(size).fill(NaN);
    const tanh = fresh(n);
    k.tanhForward(tanh, x, n);
    const dtanh = fresh(n);
    k.tanhBackward(dtanh, dout, tanh, n);
    const sig = fresh(n);
    k.sigmoidForward(sig, x, n);
    const dsig = fresh(n);
    k.sigmoidBackward(dsig, dout, sig, n);
    const relu = fresh(n);
    k.reluForward(relu, x, n);
    const drelu = fresh(n);
    k.reluBackward(drelu, dout, relu, n);
    const biased = x.slice();
    k.biasReluForward(biased, bias, B, F);
    const dpre = fresh(n);
    k.biasReluBackward(dpre, null, dout, biased, B, F);
    const dpreBias = fresh(n), dbiasRelu = fresh(F);
    k.biasReluBackward(dpreBias, dbiasRelu, dout, biased, B, F); // split by bands of columns
    const out = fresh(n), xhat = fresh(n), dinp = fresh(n), dgamma = fresh(F), dbeta = fresh(F);
    const mean = new Float64Array(F), variance = new Float64Array(F), invstd = new Float64Array(F);
    k.batchNormForward(out, xhat, mean, variance, invstd, x, bias, bias, 1e-5, B, F);
    k.batchNormBackward(dinp, dgamma, dbeta, dout, xhat, bias, invstd, B, F);
    const w = x.slice(), v = allocPersistent(n), m = allocPersistent(n), s2 = allocPersistent(n);
    k.sgdUpdate(w, v, dout, { lrT: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }, n);
    k.adamUpdate(w, m, s2, null, dout, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, coupledDecay: 0, decoupledDecay: 1e-2, t: 3 }, n);
    // RMSprop (centered, with momentum), Nadam, Adagrad and Adadelta, each on its own weights and buffers.
    const w2 = x.slice(), sq = allocPersistent(n), avg = allocPersistent(n), buf = allocPersistent(n);
    k.rmspropUpdate(w2, sq, avg, buf, dout, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 1e-4, momentum: 0.9, centered: true }, n);
    const w3 = x.slice(), m3 = allocPersistent(n), v3 = allocPersistent(n);
    k.nadamUpdate(w3, m3, v3, dout, { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, momentumDecay: 4e-3, t: 1, muProduct: 0.9 * (1 - 0.5 * 0.96 ** 4e-3) }, n);
    const w4 = x.slice(), sum = allocPersistent(n).fill(0.1);
    k.adagradUpdate(w4, sum, dout, { lr: 1e-2, lrDecay: 1e-3, eps: 1e-10, weightDecay: 1e-4, t: 2 }, n);
    const w5 = x.slice(), sq5 = allocPersistent(n), acc = allocPersistent(n);
    k.adadeltaUpdate(w5, sq5, acc, dout, { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 1e-4 }, n);
    outs.push(tanh, dtanh, sig, dsig, relu, drelu, biased, dpre, dpreBias, dbiasRelu, out, xhat, dinp, dgamma, dbeta, w, v, m, s2);
    // The zoo's updates: Adamax, RAdam (rectified), AMSBound, Lion, Muon's momentum and step, Lookahead.
    const zoo = () => [x.slice(), random(n, 61), random(n, 62).map(Math.abs), random(n, 63).map(Math.abs)];
    const [w6, m6, u6] = zoo();
    k.adamaxUpdate(w6, m6, u6, dout, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: 3 }, n);
    const [w7, m7, v7] = zoo();
    k.radamUpdate(w7, m7, v7, dout, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, t: 9 }, n);
    const [w8, m8, v8, vmax8] = zoo();
    k.adaboundUpdate(w8, m8, v8, vmax8, dout, { lr: 0.003, baseLr: 0.01, finalLr: 0.1, gamma: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: 5 }, n);
    const [w9, m9] = zoo();
    k.lionUpdate(w9, m9, dout, { lr: 1e-3, beta1: 0.9, beta2: 0.99, weightDecay: 0.1 }, n);
    const [u10, b10] = zoo();
    k.muonMomentum(u10, b10, dout, { momentum: 0.95, nesterov: true }, n);
    const [w11] = zoo();
    k.muonApply(w11, u10, { lr: 0.02, adjustedLr: 0.02 * Math.sqrt(3), weightDecay: 0.1 }, n);
    const [w12, slow12] = zoo();
    k.lookaheadSync(w12, slow12, { alpha: 0.5 }, n);
    // Dropout: one stream of random bits, cut into pieces that the threads draw at once.
    const drop = fresh(n), dropMask = fresh(n), dropRng = new Rng(77);
    k.dropoutForward(drop, dropMask, x, 0.3, dropRng, n);
    const dropState = new Float32Array(new Uint32Array(dropRng.getState().slice(0, 4)).buffer);
    outs.push(drop, dropMask, dropState);
    outs.push(w2, sq, avg, buf, w3, m3, v3, w4, sum, w5, sq5, acc);
    outs.push(w6, m6, u6, w7, m7, v7, w8, m8, v8, vmax8, w9, m9, u10, b10, w11, w12, slow12);
    outs.push(new Float32Array(mean), new Float32Array(invstd));
    return outs;
  }

  it("dropout drawn in pieces on two threads gives the JavaScript kernel's masks and leaves the generator where it does", async () => {
    await setBackend('wasm');
    setThreads(2);
    await threadsReady();
    const k = kernels();
    for (const n of [16_384, 16_384 + 23, 24 * 1000 + 7, 100_003]) {
      for (const rate of [0.2, 0.5]) {
        const x = shared(random(n, n).map((v, i) => (i % 97 === 0 ? NaN : v)));
        const out = allocPersistent(n).fill(NaN), mask = allocPersistent(n).fill(NaN);
        const rng = new Rng(n + 1);
        rng.normal(); // a cached normal is kept as it is
        const twinRng = new Rng(n + 1);
        twinRng.normal();
        const before = parallelCallCount();
        k.dropoutForward(out, mask, x, rate, rng, n);
        expect(parallelCallCount(), `n ${n}: the pieces went to the pool`).toBe(before + 1);
        const want = new Float32Array(n), wantMask = new Float32Array(n);
        dropoutForwardJs(want, wantMask, x, rate, twinRng, n);
        expect(sameBits(out, want), `out, n ${n} rate ${rate}`).toBe(true);
        expect(sameBits(mask, wantMask), `mask, n ${n} rate ${rate}`).toBe(true);
        expect(rng.getState(), `the generator's state after n ${n}`).toEqual(twinRng.getState());
      }
    }
  });

  it('split across two threads, every pass gives the bits it gives on one thread', async () => {
    const { one, two, calls } = await onOneThreadThenTwo(passes);
    expect(calls).toBeGreaterThanOrEqual(26); // all 26 passes and updates above are split
    one.forEach((a, i) => expect(sameBits(two[i], a), `output ${i}`).toBe(true));
  });
});

describe('thread pool, LayerNorm and the softmax family of the wasm backend', () => {
  afterAll(() => setThreads(2));

  /** Each kernel on inputs big enough for the pool (NaN, ±∞ rows among them): its outputs, and the summed loss. */
  function passes(): { outs: (Float32Array | Float64Array)[]; loss: number } {
    const k = kernels();
    const fresh = (size: number) => allocPersistent(size).fill(NaN);
    const R = 128, F = 784, n = R * F;
    const x = random(n, 61).map((v, i) => (i === 5 ? NaN : i === F + 3 ? Infinity : i < 3 * F && i >= 2 * F ? -Infinity : v * 6));
    const gamma = random(F, 62);
    const dout = random(n, 63);
    const out = fresh(n), xhat = fresh(n), invstd = new Float64Array(R), dinp = fresh(n), dgamma = fresh(F), dbeta = fresh(F);
    k.layerNormForward(out, xhat, invstd, x, gamma, gamma, 1e-5, R, F);
    k.layerNormBackward(dinp, dgamma, dbeta, dout, xhat, gamma, invstd, R, F);
    const outs: (Float32Array | Float64Array)[] = [out, xhat, invstd, dinp, dgamma, dbeta];
    // Rows (INNER 1) and a middle axis (64 × 10 × 50: distributions 50 floats apart).
    for (const [OUTER, N, INNER] of [[R, F, 1], [64, 10, 50]]) {
      const m = OUTER * N * INNER;
      const y = fresh(m), logy = fresh(m), dy = fresh(m), dlog = fresh(m);
      k.softmaxForward(y, x, OUTER, N, INNER);
      k.logSoftmaxForward(logy, x, OUTER, N, INNER);
      k.softmaxBackward(dy, dout, y, OUTER, N, INNER);
      k.logSoftmaxBackward(dlog, dout, logy, OUTER, N, INNER);
      outs.push(y, logy, dy, dlog);
    }
    const B = 2048, C = 10;
    const labels = Int32Array.from({ length: B }, (_, b) => (b * 7) % C);
    const probs = fresh(B * C);
    const logits = x.subarray(0, B * C).map((v) => (Number.isFinite(v) ? v : 0));
    logits[C + 2] = -Infinity;
    const loss = k.crossEntropyForward(probs, logits, labels, B, C);
    outs.push(probs);
    for (const scale of [1 / B, -0]) {
      const dlogits = fresh(B * C);
      k.crossEntropyBackward(dlogits, probs, labels, B, C, scale); // −0: a scalar that must reach every chunk as −0
      outs.push(dlogits);
    }
    return { outs, loss };
  }

  it('split across two threads, every pass gives the bits it gives on one thread', async () => {
    const { one, two, calls } = await onOneThreadThenTwo(passes);
    expect(calls).toBeGreaterThanOrEqual(13);
    expect(Object.is(two.loss, one.loss)).toBe(true);
    one.outs.forEach((a, i) => {
      const b = two.outs[i];
      const at = Array.from(a).findIndex((v, j) => !Object.is(v, b[j]) && !(Number.isNaN(v) && Number.isNaN(b[j])));
      expect(at, `output ${i}: one thread ${a[at]}, two ${b[at]} at ${at}`).toBe(-1);
    });
  });
});

describe('thread pool, any backend', () => {
  it('a finished product has no chunk left to claim, whatever chunk count a worker woken late reads', () => {
    // A late worker read the next product's (larger) chunk count while the main thread was writing it,
    // claimed a chunk of the finished product that does not exist and counted it in the next one's
    // FINISHED: the count overshot, the main thread waited 10 s and gave up on the pool (about once in
    // 10⁵ small products). Here the main thread is the whole pool, and the claims are the late worker's.
    const pool = new Pool({ workers: 0, memory: sharedMemory()!, module: null });
    const kit = jsGemmKit();
    const [M, K, N] = [2, 3, 9];
    const job: GemmJob = {
      A: allocPersistent(M * K).fill(1), a0: 0, ai: K, ak: 1, B: allocPersistent(K * N).fill(2), b0: 0, bk: N, bj: 1,
      C: allocPersistent(M * N), c0: 0, M, K, N, axis: chooseAxis(M, N), zeroSkip: false,
    };
    const panels = splitPanels(job, kit);
    pool.gemm(job, KIND_JS, kit, panels, 1);
    expect(Array.from(job.C)).toEqual(new Array(M * N).fill(2 * K));
    const seq = Atomics.load(pool.ctrl, CTRL.SEQ);
    for (const fromBack of [false, true]) expect(claimChunk(pool.ctrl, seq, fromBack), `fromBack ${fromBack}`).toBe(-1);
  });

  it('claims every chunk once, the front in order for the main thread and the back in order for the workers', () => {
    // Any interleaving of claims from the two ends: each chunk once, the front's ascending from 0, the
    // back's descending from the last; once the ends meet, and after closeJob, every claim fails, as
    // does a claim tagged with another task (a late worker's).
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 * SEQ_MASK }), fc.integer({ min: 1, max: MAX_CHUNKS }), fc.array(fc.boolean(), { maxLength: 300 }),
      (seq, chunks, order) => {
        const ctrl = new Int32Array(CTRL.SIZE);
        ctrl[CTRL.NEXT] = openChunks(seq, 0, chunks);
        const front: number[] = [];
        const back: number[] = [];
        expect(claimChunk(ctrl, seq + 1, false)).toBe(-1);
        for (const fromBack of order) {
          const c = claimChunk(ctrl, seq, fromBack);
          if (front.length + back.length === chunks) expect(c).toBe(-1);
          else (fromBack ? back : front).push(c);
        }
        expect(front).toEqual(front.map((_, i) => i));
        expect(back).toEqual(back.map((_, i) => chunks - 1 - i));
        if (front.length + back.length < chunks) expect(front.length === 0 || back.length === 0 || front.at(-1)! < back.at(-1)!).toBe(true);
        closeJob(ctrl, seq);
        expect([claimChunk(ctrl, seq, false), claimChunk(ctrl, seq, true)]).toEqual([-1, -1]);
      },
    ));
  });

  it('does not keep a process alive', () => {
    // A script that uses the pool and simply ends: it must exit by itself (the workers are unref'd).
    const engine = (file: string): string => JSON.stringify(new URL(`../../engine/${file}`, import.meta.url).href);
    const script = join(mkdtempSync(join(tmpdir(), 'tapegrad-threads-')), 'exit.mts');
    writeFileSync(script, [
      `import { gemmNN } from ${engine('backends/index.ts')};`,
      `import { allocPersistent } from ${engine('memory.ts')};`,
      `import { threadsReady } from ${engine('index.ts')};`,
      `import { getThreads, parallelProductCount, setThreads } from ${engine('threads/index.ts')};`,
      'setThreads(2);',
      'await threadsReady();',
      'const C = allocPersistent(64 * 100);',
      'gemmNN(C, allocPersistent(64 * 300).fill(1), allocPersistent(300 * 100).fill(1), 64, 300, 100);',
      "if (C[0] !== 300) throw new Error('wrong product ' + C[0]);",
      'console.log(`used ${getThreads()} threads, ${parallelProductCount()} on the pool`);',
    ].join('\n'));
    const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const res = spawnSync(process.execPath, [tsx, script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, TAPEGRAD_BUSY_CHECK: '0' } });
    expect(res.error, String(res.error)).toBeUndefined();
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain('used 2 threads, 1 on the pool');
  });
});

describe('the busy check (contention.ts): tasks stay on the calling thread while other work holds the cores', () => {
  /** A watch over a scripted count of runnable threads; `at` advances the clock one sample (4 ms) per call. */
  function scripted(cores: number, workers: number, counts: number[]) {
    let i = 0;
    const reads: number[] = [];
    const watch = new CoreWatch(cores, workers, () => {
      reads.push(i);
      return counts[Math.min(i, counts.length - 1)];
    }, () => {
      throw new Error('the load average is read only where /proc/loadavg is not');
    });
    const decide = (ours: number) => watch.allows(4 * i++, ours);
    return { watch, decide, reads };
  }

  it('on an idle machine (only our own threads runnable) every task may go to the pool', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 1, max: 400 }), (cores, n) => {
      const workers = cores - 1;
      const { decide } = scripted(cores, workers, [cores]);
      for (let k = 0; k < n; k++) if (!decide(cores)) return false;
      return true;
    }));
  });

  it('a second process busy on a 2-core machine stops the pool within a few samples, and it resumes once that ends', () => {
    // Samples 10..69 another process wants a core; the count is ours (main, and the worker unless parked) plus it.
    const other = (k: number): number => (k >= 10 && k < 70 ? 1 : 0);
    let k = 0;
    let ours = 2;
    const watch = new CoreWatch(2, 1, () => ours + other(k), () => 0);
    const allowed: boolean[] = [];
    for (; k < 170; k++) {
      const ok = watch.allows(4 * k, ours);
      allowed.push(ok);
      ours = ok ? 2 : 1; // while the pool is stopped its worker parks
    }
    expect(allowed.slice(0, 10).every(Boolean)).toBe(true);
    const stop = allowed.indexOf(false);
    expect(stop).toBeGreaterThan(10);
    expect(stop).toBeLessThan(50); // within 160 ms
    // With the worker parked the count is main + the other process: still contended, no flapping.
    expect(allowed.slice(stop, 70).every((a) => !a)).toBe(true);
    const resume = allowed.indexOf(true, 70);
    expect(resume).toBeGreaterThan(70);
    expect(resume).toBeLessThan(100); // within 120 ms
    expect(allowed.slice(resume).every(Boolean)).toBe(true);
    expect(watch.switches).toBe(2);
  });

  it("an idle machine's background (a thread more than ours now and then) does not stop the pool", () => {
    // What training alone read here: 14% of samples one more thread, 3% two, 1% three (see contention.ts).
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
      const rng = new Rng(seed);
      const watch = new CoreWatch(2, 1, () => {
        const u = rng.uniform();
        return 2 + (u < 0.01 ? 3 : u < 0.04 ? 2 : u < 0.18 ? 1 : 0);
      }, () => 0);
      let stopped = 0;
      for (let k = 0; k < 2000; k++) if (!watch.allows(4 * k, 2)) stopped++;
      // Over 2,000 seeds none stopped (an 80 ms average); averaging over 40 ms stopped up to 2.2% of
      // samples, and the first thresholds (0.5/0.25) far more.
      return stopped / 2000 < 0.05;
    }), { numRuns: 20, seed: 19 });
  });

  it('between the two thresholds it keeps its state (hysteresis), and it reads the count at most every 4 ms', () => {
    const watch = new CoreWatch(2, 1, () => 2.65, () => 0); // 0.65 other threads: between LEAVE and ENTER
    expect(watch.allows(0, 2)).toBe(true);
    for (let t = 4; t < 400; t += 4) expect(watch.allows(t, 2)).toBe(true);
    let calls = 0;
    const counting = new CoreWatch(2, 1, () => (calls++, 2), () => 0);
    for (let t = 0; t < 100; t += 0.5) counting.allows(t, 2);
    expect(calls).toBe(25);
  });

  it('more cores than the pool needs absorb other work: 8 cores, 2 workers, 4 busy threads elsewhere', () => {
    const { decide } = scripted(8, 2, [3 + 4]);
    for (let k = 0; k < 50; k++) expect(decide(3)).toBe(true);
    const busy = scripted(8, 2, [3 + 6]);
    let last = true;
    for (let k = 0; k < 150; k++) last = busy.decide(3);
    expect(last).toBe(false);
  });

  it('without /proc/loadavg it uses the 1-minute load average less our own threads, read every 200 ms', () => {
    let reads = 0;
    const watch = new CoreWatch(2, 1, null, () => (reads++, 3.4));
    expect(watch.allows(0, 2)).toBe(false); // 1.4 threads of other work
    for (let t = 1; t < 1000; t += 1) watch.allows(t, 2);
    expect(reads).toBe(5);
    const idle = new CoreWatch(2, 1, null, () => 1.9);
    expect(idle.allows(0, 2)).toBe(true);
  });

  it.runIf(process.platform === 'linux')('reads the runnable count of /proc/loadavg: a whole number, at least this thread', () => {
    const read = procRunnableReader();
    expect(read).not.toBeNull();
    for (let k = 0; k < 5; k++) {
      const n = read!()!;
      expect(Number.isInteger(n)).toBe(true);
      expect(n).toBeGreaterThanOrEqual(1);
    }
  });
});
