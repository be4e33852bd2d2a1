import { broadcastShapes, indexMap, sumToInput } from '../broadcast.js';
import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = a + b, broadcasting. ∂out/∂a = ∂out/∂b = 1, so each input gets dout summed to its shape. */
export function add(a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.shape, b.shape, 'add');
  const ia = indexMap(shape, a.shape);
  const ib = indexMap(shape, b.shape);
  const out = alloc(shape.reduce((p, d) => p * d, 1));
  const A = a.data;
  const B = b.data;
  if (ia === null && ib === null) {
    for (let i = 0; i < out.length; i++) out[i] = A[i] + B[i];
  } else {
    for (let i = 0; i < out.length; i++) out[i] = A[ia === null ? i : ia[i]] + B[ib === null ? i : ib[i]];
  }
  return record(new Tensor(out, shape), 'add', [a, b], ({ data: dout }) => [
    a.requiresGrad ? new Tensor(sumToInput(dout, ia, a.size), a.shape) : null,
    b.requiresGrad ? new Tensor(sumToInput(dout, ib, b.size), b.shape) : null,
  ]);
}
