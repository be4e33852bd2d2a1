import { alloc } from '../memory.js';
import { Tensor, record } from '../tensor.js';

/** out = xᵖ for a scalar exponent p; dx = p·xᵖ⁻¹·dout (the power rule). */
export function pow(x: Tensor, p: number): Tensor {
  if (typeof p !== 'number' || Number.isNaN(p)) throw new TypeError(`pow: the exponent must be a number, got ${String(p)}`);
  const X = x.data;
  const out = alloc(X.length);
  for (let i = 0; i < X.length; i++) out[i] = Math.pow(X[i], p);
  return record(new Tensor(out, x.shape), `pow(${p})`, [x], (dout) => {
    const dinp = alloc(dout.length);
    for (let i = 0; i < dout.length; i++) dinp[i] = p * Math.pow(X[i], p - 1) * dout[i];
    return [dinp];
  });
}
