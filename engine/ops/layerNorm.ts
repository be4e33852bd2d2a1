import { kernels } from '../backends/index.js';
import { ShapeError, fmtShape } from '../errors.js';
import { allocUninit } from '../memory.js';
import { gradTarget, record } from '../tape.js';
import { Tensor } from '../tensor.js';

/**
 * Layer normalization over the last axis: each row (every axis but the last, flattened: R rows of F)
 * normalized with its own mean and biased variance, then out = gamma·xhat + beta; gamma and beta (F).
 * The kernels and the backward's formula are in kernels/layerNorm.ts.
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const F = x.ndim === 0 ? 0 : x.shape[x.ndim - 1];
  if (x.ndim < 1) throw new ShapeError(`layerNorm: expected input [...,F], got ${fmtShape(x.shape)}`);
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.ndim !== 1 || t.shape[0] !== F) throw new ShapeError(`layerNorm: ${name} ${fmtShape(t.shape)} does not fit input ${fmtShape(x.shape)}: expected [${F}]`);
  }
  const R = F === 0 ? 0 : x.size / F;
  const out = allocUninit(x.size);
  const xhat = allocUninit(x.size);
  const invstd = new Float64Array(R);
  kernels().layerNormForward(out, xhat, invstd, x.data, gamma.data, beta.data, eps, R, F);
  return record(new Tensor(out, x.shape), 'layerNorm', [x, gamma, beta], ({ data: dout }) => {
    const dinp = allocUninit(x.size);
    const dgamma = gradTarget(gamma) ?? new Tensor(allocUninit(F), gamma.shape);
    const dbeta = gradTarget(beta) ?? new Tensor(allocUninit(F), beta.shape);
    kernels().layerNormBackward(dinp, dgamma.data, dbeta.data, dout, xhat, gamma.data, invstd, R, F);
    return [new Tensor(dinp, x.shape), dgamma, dbeta];
  }, [xhat]);
}
