import { ShapeError, fmtShape } from '../errors.js';
import { alloc } from '../memory.js';
import { Tensor, record } from '../tensor.js';
import { axisView } from './reduce.js';

/**
 * Maximum over one axis, or over everything. The gradient flows only to the winning element (the
 * first one on a tie, as with NumPy's argmax): nudging any other element does not change the max.
 */
export function max(x: Tensor, axis?: number, keepDims = false): Tensor {
  const { outer, n, inner, shape } = axisView(x.shape, axis, keepDims, 'max');
  if (n === 0) throw new ShapeError(`max: cannot take the max over an empty axis of ${fmtShape(x.shape)}`);
  const X = x.data;
  const out = alloc(outer * inner);
  const argmax = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = o * n * inner + i;
      for (let k = 1; k < n; k++) {
        const at = (o * n + k) * inner + i;
        if (X[at] > X[best]) best = at;
      }
      out[o * inner + i] = X[best];
      argmax[o * inner + i] = best;
    }
  }
  return record(new Tensor(out, shape), 'max', [x], (dout) => {
    const dinp = alloc(x.size);
    for (let j = 0; j < argmax.length; j++) dinp[argmax[j]] += dout[j];
    return [dinp];
  });
}
