import { broadcastShapes, indexMap, sumToInputReleasing } from '../broadcast.js';
import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = a · b elementwise, broadcasting. ∂out/∂a = b and ∂out/∂b = a (the product rule). */
export function mul(a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.shape, b.shape, 'mul');
  const ia = indexMap(shape, a.shape);
  const ib = indexMap(shape, b.shape);
  const out = alloc(shape.reduce((p, d) => p * d, 1));
  const A = a.data;
  const B = b.data;
  for (let i = 0; i < out.length; i++) out[i] = A[ia === null ? i : ia[i]] * B[ib === null ? i : ib[i]];
  return record(new Tensor(out, shape), 'mul', [a, b], ({ data: dout }) => {
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    const A = a.data; // read again: the tape checks they are still a's and b's
    const B = b.data;
    if (a.requiresGrad) {
      const g = alloc(dout.length);
      for (let i = 0; i < g.length; i++) g[i] = dout[i] * B[ib === null ? i : ib[i]];
      da = new Tensor(sumToInputReleasing(g, ia, a.size), a.shape);
    }
    if (b.requiresGrad) {
      const g = alloc(dout.length);
      for (let i = 0; i < g.length; i++) g[i] = dout[i] * A[ia === null ? i : ia[i]];
      db = new Tensor(sumToInputReleasing(g, ib, b.size), b.shape);
    }
    return [da, db];
  });
}

