import { broadcastShapes, indexMap, sumToInput } from '../broadcast.js';
import { alloc } from '../memory.js';
import { Tensor, record } from '../tensor.js';

/** out = a · b elementwise, broadcasting. ∂out/∂a = b and ∂out/∂b = a (the product rule). */
export function mul(a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.shape, b.shape, 'mul');
  const ia = indexMap(shape, a.shape);
  const ib = indexMap(shape, b.shape);
  const out = alloc(shape.reduce((p, d) => p * d, 1));
  const A = a.data;
  const B = b.data;
  for (let i = 0; i < out.length; i++) out[i] = A[ia === null ? i : ia[i]] * B[ib === null ? i : ib[i]];
  return record(new Tensor(out, shape), 'mul', [a, b], (dout) => {
    let da: Float32Array | null = null;
    let db: Float32Array | null = null;
    if (a.requiresGrad) {
      const g = alloc(dout.length);
      for (let i = 0; i < g.length; i++) g[i] = dout[i] * B[ib === null ? i : ib[i]];
      da = sumToInput(g, ia, a.size);
    }
    if (b.requiresGrad) {
      const g = alloc(dout.length);
      for (let i = 0; i < g.length; i++) g[i] = dout[i] * A[ia === null ? i : ia[i]];
      db = sumToInput(g, ib, b.size);
    }
    return [da, db];
  });
}
