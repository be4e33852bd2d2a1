import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = 1 / (1 + e⁻ˣ); σ' = σ(1 − σ), so backward needs only the output. */
export function sigmoid(x: Tensor): Tensor {
  const X = x.data;
  const out = alloc(X.length);
  // Written two ways so that e^(−x) never overflows to Infinity for large negative x.
  for (let i = 0; i < X.length; i++) {
    const v = X[i];
    if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
    else {
      const e = Math.exp(v);
      out[i] = e / (1 + e);
    }
  }
  const y = new Tensor(out, x.shape);
  return record(y, 'sigmoid', [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    const Y = y.data;
    for (let i = 0; i < dout.length; i++) dinp[i] = dout[i] * Y[i] * (1 - Y[i]);
    return [new Tensor(dinp, x.shape)];
  });
}
