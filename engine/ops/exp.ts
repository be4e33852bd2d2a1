import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = eˣ; the derivative of eˣ is itself, so dx = out·dout (forward saves out, not x). */
export function exp(x: Tensor): Tensor {
  const X = x.data;
  const out = alloc(X.length);
  for (let i = 0; i < X.length; i++) out[i] = Math.exp(X[i]);
  const y = new Tensor(out, x.shape);
  return record(y, 'exp', [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    const Y = y.data;
    for (let i = 0; i < dout.length; i++) dinp[i] = Y[i] * dout[i];
    return [new Tensor(dinp, x.shape)];
  });
}
