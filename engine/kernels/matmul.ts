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
 * The naive twins below are the reference: obviously correct, accumulating in float64. The blocked
 * versions run the register-blocked kernel (kernels/gemmPacked.ts) on the calling thread; the ops
 * call engine/backends/, which picks the backend and, for big products, the thread pool. Both sum
 * k in the same order in float64, so they agree with the twins bit for bit.
 */
import { chooseAxis, jsGemmKit, runAlone, zeroSkippingEnabled } from './gemmPacked.js';

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

/** The calling thread's packing scratch, grown on demand and reused: no allocation per product. */
const kit = jsGemmKit();

/**
 * C (M,N) = A·B on the calling thread, register-blocked. A's element (i,k) is A[i*ai + k*ak] and
 * B's element (k,j) is B[k*bk + j*bj]: the strides are how one kernel serves all three layouts.
 */
function gemmBlocked(
  C: Float32Array,
  A: Float32Array, ai: number, ak: number,
  B: Float32Array, bk: number, bj: number,
  M: number, K: number, N: number,
): void {
  runAlone({ A, a0: 0, ai, ak, B, b0: 0, bk, bj, C, c0: 0, M, K, N, axis: chooseAxis(M, N), zeroSkip: zeroSkippingEnabled() }, kit);
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
