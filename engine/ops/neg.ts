import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = −x; dx = −dout. */
export function neg(x: Tensor): Tensor {
  const X = x.data;
  const out = alloc(X.length);
  for (let i = 0; i < X.length; i++) out[i] = -X[i];
  return record(new Tensor(out, x.shape), 'neg', [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    for (let i = 0; i < dout.length; i++) dinp[i] = -dout[i];
    return [new Tensor(dinp, x.shape)];
  });
}
