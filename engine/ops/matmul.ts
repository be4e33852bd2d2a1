import { ShapeError, fmtShape } from '../errors.js';
import { gemmNN, gemmNT, gemmTN } from '../backends/index.js';
import { allocUninit } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/**
 * C = A·B for 2-D tensors: A is (M,K), B is (K,N), C is (M,N).
 * Backward: dA = dC·Bᵀ (M,N)·(N,K) and dB = Aᵀ·dC (K,M)·(M,N); the transposes are read in place by
 * the NT and TN kernels, never copied.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2) {
    throw new ShapeError(`matmul: needs two 2-D tensors, got ${fmtShape(a.shape)} x ${fmtShape(b.shape)}`);
  }
  const [M, K] = a.shape;
  const [K2, N] = b.shape;
  if (K !== K2) {
    throw new ShapeError(`matmul: ${fmtShape(a.shape)} x ${fmtShape(b.shape)}: inner sizes ${K} and ${K2} differ`);
  }
  const out = allocUninit(M * N);
  gemmNN(out, a.data, b.data, M, K, N);
  return record(new Tensor(out, [M, N]), 'matmul', [a, b], ({ data: dout }) => {
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      da = new Tensor(allocUninit(M * K), a.shape);
      gemmNT(da.data, dout, b.data, M, N, K); // (M,N)·(K,N)ᵀ
    }
    if (b.requiresGrad) {
      db = new Tensor(allocUninit(K * N), b.shape);
      gemmTN(db.data, a.data, dout, K, M, N); // (M,K)ᵀ·(M,N)
    }
    return [da, db];
  });
}
