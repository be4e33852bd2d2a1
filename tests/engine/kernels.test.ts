import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../engine/index.js';

// The JavaScript kernels and the dispatch through engine/backends/ on the js backend, bit for bit
// against the twins (the WebAssembly kernels: wasm-kernels.test.ts; both backends through the pool:
// threads.test.ts).
beforeAll(() => setBackend('js'));
import { MR, NR, gemmTiles, indexPanel, packA, packB, panels, setZeroSkipping } from '../../engine/kernels/gemmPacked.js';
import { gemmNN, gemmNT, gemmTN } from '../../engine/backends/index.js';
import {
  gemmNNBlocked, gemmNNNaive, gemmNTBlocked, gemmNTNaive, gemmTNBlocked, gemmTNNaive,
} from '../../engine/kernels/matmul.js';
import { Rng } from '../../engine/rng.js';

type Gemm = (C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number) => void;

const layouts: { name: string; naive: Gemm; blocked: Gemm; dispatch: Gemm }[] = [
  { name: 'NN', naive: gemmNNNaive, blocked: gemmNNBlocked, dispatch: gemmNN },
  { name: 'NT', naive: gemmNTNaive, blocked: gemmNTBlocked, dispatch: gemmNT },
  { name: 'TN', naive: gemmTNNaive, blocked: gemmTNBlocked, dispatch: gemmTN },
];

function random(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniformIn(-1, 1);
  return a;
}

/** Index of the first difference, or -1. Blocked and naive sum the same float64 terms in the same order. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/**
 * Random operands; with `zeros` > 0 that fraction of A's and B's entries is 0 and some whole rows
 * and columns are blank (like MNIST's border pixels), so the zero-skipping paths run.
 */
function operands(M: number, K: number, N: number, rng: Rng, zeros = 0): [Float32Array, Float32Array] {
  const A = random(M * K, rng);
  const B = random(K * N, rng);
  if (zeros > 0) {
    for (const X of [A, B]) for (let i = 0; i < X.length; i++) if (rng.uniform() < zeros) X[i] = 0;
    for (let k = 0; k < K; k += 3) for (let i = 0; i < M; i++) A[i * K + k] = 0; // blank k-columns of A (NN/NT layout)
    for (let j = 0; j < N; j += 2) for (let k = 0; k < K; k++) B[k * N + j] = 0; // blank columns of B (NN/TN layout)
  }
  return [A, B];
}

function check(layout: (typeof layouts)[number], M: number, K: number, N: number, seed: number, zeros = 0): void {
  const rng = new Rng(seed);
  const [A, B] = operands(M, K, N, rng, zeros);
  const want = new Float32Array(M * N);
  layout.naive(want, A, B, M, K, N);
  for (const kernel of [layout.blocked, layout.dispatch]) {
    const got = new Float32Array(M * N).fill(NaN); // every value must be written, not accumulated
    kernel(got, A, B, M, K, N);
    const at = firstDifference(got, want);
    expect(at, `${layout.name} ${M}x${K}x${N}: index ${at}: ${got[at]} vs naive ${want[at]}`).toBe(-1);
  }
}

// The odd sizes of the issue: edge tiles of every width (1, 3 = MR−1, 17 = 4·4+1, 127, 301).
const odd = [1, 3, 17];
const big: [number, number, number][] = [
  [127, 17, 301], [301, 3, 127], [1, 301, 127], [17, 127, 1], [127, 301, 17], [3, 1, 301], [301, 127, 3],
];

describe.each(layouts)('gemm$name', (layout) => {
  it('equals its naive twin on every combination of 1, 3, 17', () => {
    for (const M of odd) for (const K of odd) for (const N of odd) check(layout, M, K, N, M * 1000 + K * 10 + N);
  });

  it('equals its naive twin on shapes with 127 and 301', () => {
    for (const [M, K, N] of big) check(layout, M, K, N, M + K + N);
  });

  it('equals its naive twin on random shapes (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (M, K, N, seed) => {
        check(layout, M, K, N, seed);
      }),
      { numRuns: 60 },
    );
  });

  it('equals its naive twin on mostly-zero operands (the zero-skipping paths)', () => {
    for (const [M, K, N] of [[17, 127, 19], [127, 17, 301], [8, 301, 8], [64, 64, 64]]) {
      for (const zeros of [0.5, 0.9, 1]) check(layout, M, K, N, M + K + N, zeros);
    }
  });

  it('gives the same bits with zero skipping turned off', () => {
    const rng = new Rng(5);
    const [M, K, N] = [33, 70, 21];
    const [A, B] = operands(M, K, N, rng, 0.9);
    const skipping = new Float32Array(M * N);
    layout.blocked(skipping, A, B, M, K, N);
    setZeroSkipping(false);
    try {
      const dense = new Float32Array(M * N);
      layout.blocked(dense, A, B, M, K, N);
      expect(firstDifference(dense, skipping)).toBe(-1);
    } finally {
      setZeroSkipping(true);
    }
  });

  it('keeps NaN and infinity where a skipped zero would have met them (0·NaN = NaN, 0·∞ = NaN)', () => {
    const M = 9, K = 40, N = 11;
    for (const bad of [NaN, Infinity, -Infinity]) {
      const rng = new Rng(7);
      const [A, B] = operands(M, K, N, rng, 0.95);
      B[5 * N + 3] = bad; // at a k where A is (almost surely) zero in every row
      A[2 * K + 7] = bad;
      const want = new Float32Array(M * N);
      layout.naive(want, A, B, M, K, N);
      const got = new Float32Array(M * N);
      layout.blocked(got, A, B, M, K, N);
      expect(want.some((v) => Number.isNaN(v))).toBe(true);
      expect(firstDifference(got, want)).toBe(-1);
    }
  });

  it('gives zeros for an empty inner dimension', () => {
    const C = new Float32Array(6).fill(7);
    layout.blocked(C, new Float32Array(0), new Float32Array(0), 2, 0, 3);
    expect(Array.from(C)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('hand-computed products', () => {
  // A = [[1,2],[3,4]], B = [[5,6],[7,8]]: A·B = [[19,22],[43,50]], A·Bᵀ = [[17,23],[39,53]], Aᵀ·B = [[26,30],[38,44]].
  const A = new Float32Array([1, 2, 3, 4]);
  const B = new Float32Array([5, 6, 7, 8]);
  it.each([
    ['NN', gemmNN, [19, 22, 43, 50]],
    ['NT', gemmNT, [17, 23, 39, 53]],
    ['TN', gemmTN, [26, 30, 38, 44]],
  ] as const)('%s', (_name, kernel, want) => {
    const C = new Float32Array(4);
    kernel(C, A, B, 2, 2, 2);
    expect(Array.from(C)).toEqual(want);
  });
});

describe('packing', () => {
  it('indexes the k-steps of a panel that are not all zero, and marks a panel holding NaN or infinity', () => {
    const K = 5;
    const panel = new Float32Array(4 * K); // k = 1 and k = 3 hold a value
    panel[4 * 1 + 2] = 0.5;
    panel[4 * 3 + 0] = -2;
    const idx = new Int32Array(K + 1).fill(-7);
    indexPanel(idx, 0, panel, 0, K);
    expect(Array.from(idx.subarray(0, 3))).toEqual([2, 1, 3]);
    panel[4 * 4 + 1] = Infinity;
    indexPanel(idx, 0, panel, 0, K);
    expect(idx[0]).toBe(-1);
    panel[4 * 4 + 1] = NaN;
    indexPanel(idx, 0, panel, 0, K);
    expect(idx[0]).toBe(-1);
  });

  it('lays a 5x3 A out in 4-row panels, k-major, zero-padded', () => {
    const M = 5, K = 3;
    const A = Float32Array.from({ length: M * K }, (_, x) => x + 1); // row i = [3i+1, 3i+2, 3i+3]
    const pa = new Float32Array(panels(M) * MR * K).fill(NaN);
    packA(pa, 0, A, 0, K, 1, M, K, 0, panels(M));
    // panel 0, k=0: rows 0..3 of column 0; panel 1 holds row 4 then three zero rows.
    expect(Array.from(pa.subarray(0, 4))).toEqual([1, 4, 7, 10]);
    expect(Array.from(pa.subarray(12, 16))).toEqual([13, 0, 0, 0]);
    expect(Array.from(pa.subarray(20, 24))).toEqual([15, 0, 0, 0]);
  });

  it('reads a transposed operand through strides: packing Bᵀ equals packing a copied transpose', () => {
    const rng = new Rng(3);
    const K = 7, N = 6;
    const Bt = random(N * K, rng); // stored (N,K)
    const B = new Float32Array(K * N);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) B[k * N + j] = Bt[j * K + k];
    const p1 = new Float32Array(panels(N) * NR * K);
    const p2 = new Float32Array(panels(N) * NR * K);
    packB(p1, 0, B, 0, N, 1, K, N, 0, panels(N));
    packB(p2, 0, Bt, 0, 1, K, K, N, 0, panels(N));
    expect(firstDifference(p1, p2)).toBe(-1);
  });

  it('gemmTiles fills only the requested block of C', () => {
    const rng = new Rng(4);
    const M = 9, K = 5, N = 10;
    const A = random(M * K, rng);
    const B = random(K * N, rng);
    const pa = new Float32Array(panels(M) * MR * K);
    const pb = new Float32Array(panels(N) * NR * K);
    packA(pa, 0, A, 0, K, 1, M, K, 0, panels(M));
    packB(pb, 0, B, 0, N, 1, K, N, 0, panels(N));
    const C = new Float32Array(M * N).fill(-1);
    gemmTiles(C, 0, N, pa, 0, pb, NR * K, M, K, N, 0, panels(M), 1, 2, null, 0, null, 0); // columns 4..7 only
    const want = new Float32Array(M * N);
    gemmNNNaive(want, A, B, M, K, N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        expect(C[i * N + j]).toBe(j >= 4 && j < 8 ? want[i * N + j] : -1);
      }
    }
  });
});
