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
 * The naive twins below are the reference: obviously correct, accumulating in float64.
 */

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

// The ops call these names; the performance work swaps in blocked and threaded kernels behind them.
export const gemmNN = gemmNNNaive;
export const gemmNT = gemmNTNaive;
export const gemmTN = gemmTNNaive;
