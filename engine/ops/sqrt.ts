import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = √x; dx = dout / (2√x) (forward saves out, which is √x). */
export function sqrt(x: Tensor): Tensor {
  const X = x.data;
  const out = alloc(X.length);
  for (let i = 0; i < X.length; i++) out[i] = Math.sqrt(X[i]);
  const y = new Tensor(out, x.shape);
  return record(y, 'sqrt', [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    const Y = y.data;
    for (let i = 0; i < dout.length; i++) dinp[i] = dout[i] / (2 * Y[i]);
    return [new Tensor(dinp, x.shape)];
  });
}
