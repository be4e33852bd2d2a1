import { broadcastShapes, indexMap, sumToInputReleasing } from '../broadcast.js';
import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/**
 * out = a / b elementwise, broadcasting: a real division, as IEEE 754, PyTorch and WebAssembly's f32.div
 * divide. Not a · (1/b), which rounds twice and overflows on the way: 0 / 1e-39 was NaN (1/1e-39 is ∞
 * in float32, and 0·∞ is NaN), 1e-39 / 1e-39 was ∞, and x / x was not 1 for 135 of x = 1..1000.
 * The quotient of two float32 numbers computed in float64 and rounded once to float32 is the correctly
 * rounded float32 quotient (float64 carries more than 2·24 + 2 bits), so these bits are f32.div's.
 *
 * ∂out/∂a = 1/b and ∂out/∂b = −a/b², written −(a/b)/b as PyTorch writes it (so 0/0 and ∞/∞ give a NaN
 * gradient where PyTorch does), each summed back to its input's shape over the broadcast axes.
 */
export function div(a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.shape, b.shape, 'div');
  const ia = indexMap(shape, a.shape);
  const ib = indexMap(shape, b.shape);
  const out = alloc(shape.reduce((p, d) => p * d, 1));
  const A = a.data;
  const B = b.data;
  for (let i = 0; i < out.length; i++) out[i] = A[ia === null ? i : ia[i]] / B[ib === null ? i : ib[i]];
  return record(new Tensor(out, shape), 'div', [a, b], ({ data: dout }) => {
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    const A = a.data; // read again: the tape checks they are still a's and b's
    const B = b.data;
    if (a.requiresGrad) {
      const g = alloc(dout.length);
      for (let i = 0; i < g.length; i++) g[i] = dout[i] / B[ib === null ? i : ib[i]];
      da = new Tensor(sumToInputReleasing(g, ia, a.size), a.shape);
    }
    if (b.requiresGrad) {
      const g = alloc(dout.length);
      for (let i = 0; i < g.length; i++) {
        const bi = B[ib === null ? i : ib[i]];
        g[i] = -dout[i] * (A[ia === null ? i : ia[i]] / bi / bi);
      }
      db = new Tensor(sumToInputReleasing(g, ib, b.size), b.shape);
    }
    return [da, db];
  });
}

