/**
 * Matrix products on row-major Float32Arrays. Letters: M rows of the result, N its columns,
 * K the summed (inner) dimension. Outputs first, then inputs, then sizes (llm.c's habit).
 *
 *   gemmNN: C (M,N) = A (M,K) · B (K,N)
 *   gemmNT: C (M,N) = A (M,K) · Bᵀ, B stored (N,K)   — Bᵀ read in place, never copied
 *   gemmTN: C (M,N) = Aᵀ · B, A stored (K,M), B (K,N) — Aᵀ read in place, never copied
 *
 * A Dense layer with PyTorch's weight layout W (OUT,IN) needs all three:
 * forward Y = X·Wᵀ (NT), input gradient dX = dY·W (NN), weight gradient dW = dYᵀ·X (TN).
 *
 * The naive twins below are the reference: obviously correct, accumulating in float64. The names
 * the ops call (gemmNN, gemmNT, gemmTN, at the bottom) run the register-blocked kernel
 * (kernels/gemmPacked.ts), on every thread of the pool (engine/threads.ts) when the product is
 * big enough. Both sum k in the same order in float64, so they agree with the twins bit for bit.
 */
import { dispatchGemm } from '../threads.js';
import { MR, NR, gemmTiles, indexSize, packA, packB, panels, zeroSkippingEnabled } from './gemmPacked.js';

export function gemmNNNaive(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += A[i * K + k] * B[k * N + j];
      C[i * N + j] = acc;
    }
  }
}

export function gemmNTNaive(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += A[i * K + k] * B[j * K + k];
      C[i * N + j] = acc;
    }
  }
}

export function gemmTNNaive(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += A[k * M + i] * B[k * N + j];
      C[i * N + j] = acc;
    }
  }
}

/** Packing space of the single-thread kernel, grown on demand and reused: no allocation per product. */
let packedA = new Float32Array(0);
let packedBPanel = new Float32Array(0);
let indexA = new Int32Array(0);
let indexB = new Int32Array(0);

/**
 * C (M,N) = A·B on the calling thread, register-blocked. A's element (i,k) is A[i*ai + k*ak] and
 * B's element (k,j) is B[k*bk + j*bj]: the strides are how one kernel serves all three layouts.
 * A is packed whole; B one panel at a time, used at once while it is still in L1.
 */
function gemmBlocked(
  C: Float32Array,
  A: Float32Array, ai: number, ak: number,
  B: Float32Array, bk: number, bj: number,
  M: number, K: number, N: number,
): void {
  const Mp = panels(M);
  const Np = panels(N);
  if (packedA.length < Mp * MR * K) packedA = new Float32Array(Mp * MR * K);
  if (packedBPanel.length < NR * K) packedBPanel = new Float32Array(NR * K);
  if (indexA.length < Mp * indexSize(K)) indexA = new Int32Array(Mp * indexSize(K));
  if (indexB.length < indexSize(K)) indexB = new Int32Array(indexSize(K));
  const idxA = zeroSkippingEnabled() ? indexA : null;
  const idxB = zeroSkippingEnabled() ? indexB : null;
  packA(packedA, 0, A, ai, ak, M, K, 0, Mp, idxA, 0);
  for (let jp = 0; jp < Np; jp++) {
    packB(packedBPanel, 0, B, bk, bj, K, N, jp, jp + 1, idxB, 0);
    gemmTiles(C, 0, N, packedA, 0, packedBPanel, 0, M, N, K, 0, Mp, jp, jp + 1, idxA, 0, idxB, 0);
  }
}

/** C (M,N) = A (M,K) · B (K,N), one thread, register-blocked. */
export function gemmNNBlocked(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  gemmBlocked(C, A, K, 1, B, N, 1, M, K, N);
}

/** C (M,N) = A (M,K) · Bᵀ, B stored (N,K); one thread, register-blocked. */
export function gemmNTBlocked(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  gemmBlocked(C, A, K, 1, B, 1, K, M, K, N);
}

/** C (M,N) = Aᵀ · B, A stored (K,M), B (K,N); one thread, register-blocked. */
export function gemmTNBlocked(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  gemmBlocked(C, A, 1, M, B, N, 1, M, K, N);
}

// The names the ops call: the thread pool when the product is big enough and the pool pays off
// for its shape (engine/threads.ts dispatchGemm), else one thread.

/** C (M,N) = A (M,K) · B (K,N). */
export function gemmNN(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  dispatchGemm(C, A, K, 1, B, N, 1, M, K, N, gemmBlocked);
}

/** C (M,N) = A (M,K) · Bᵀ, B stored (N,K). */
export function gemmNT(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  dispatchGemm(C, A, K, 1, B, 1, K, M, K, N, gemmBlocked);
}

/** C (M,N) = Aᵀ · B, A stored (K,M), B (K,N). */
export function gemmTN(C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number): void {
  dispatchGemm(C, A, 1, M, B, N, 1, M, K, N, gemmBlocked);
}
