import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { axisView } from './reduce.js';

/** Sum over one axis, or over everything. Each input contributed once, so dx is dout copied back along the axis. */
export function sum(x: Tensor, axis?: number, keepDims = false): Tensor {
  const { outer, n, inner, shape } = axisView(x.shape, axis, keepDims, 'sum');
  const X = x.data;
  const out = alloc(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < n; k++) {
      const row = (o * n + k) * inner;
      for (let i = 0; i < inner; i++) out[o * inner + i] += X[row + i];
    }
  }
  return record(new Tensor(out, shape), 'sum', [x], ({ data: dout }) => {
    const dinp = alloc(x.size);
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < n; k++) {
        const row = (o * n + k) * inner;
        for (let i = 0; i < inner; i++) dinp[row + i] = dout[o * inner + i];
      }
    }
    return [new Tensor(dinp, x.shape)];
  });
}
