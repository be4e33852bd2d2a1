import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/**
 * out = xᵖ for a scalar exponent p; dx = p·xᵖ⁻¹·dout (the power rule). For p = 0 the result is the
 * constant 1 and the gradient is 0 everywhere, as in PyTorch: the rule's 0·x⁻¹ would be 0·∞ = NaN at x = 0.
 */
export function pow(x: Tensor, p: number): Tensor {
  if (typeof p !== 'number' || Number.isNaN(p)) throw new TypeError(`pow: the exponent must be a number, got ${String(p)}`);
  const X = x.data;
  const out = alloc(X.length);
  for (let i = 0; i < X.length; i++) out[i] = Math.pow(X[i], p);
  return record(new Tensor(out, x.shape), `pow(${p})`, [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    const X = x.data;
    if (p !== 0) for (let i = 0; i < dout.length; i++) dinp[i] = p * Math.pow(X[i], p - 1) * dout[i];
    return [new Tensor(dinp, x.shape)];
  });
}
