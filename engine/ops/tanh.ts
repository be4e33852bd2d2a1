import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = tanh x; tanh' = 1 − tanh², so backward needs only the output. */
export function tanh(x: Tensor): Tensor {
  const X = x.data;
  const out = alloc(X.length);
  for (let i = 0; i < X.length; i++) out[i] = Math.tanh(X[i]);
  const y = new Tensor(out, x.shape);
  return record(y, 'tanh', [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    const Y = y.data;
    for (let i = 0; i < dout.length; i++) dinp[i] = dout[i] * (1 - Y[i] * Y[i]);
    return [new Tensor(dinp, x.shape)];
  });
}
