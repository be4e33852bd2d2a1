import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = ln x; dx = dout / x. (ln of a negative number is NaN, as in NumPy.) */
export function log(x: Tensor): Tensor {
  const X = x.data;
  const out = alloc(X.length);
  for (let i = 0; i < X.length; i++) out[i] = Math.log(X[i]);
  return record(new Tensor(out, x.shape), 'log', [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    const X = x.data;
    for (let i = 0; i < dout.length; i++) dinp[i] = dout[i] / X[i];
    return [new Tensor(dinp, x.shape)];
  });
}
