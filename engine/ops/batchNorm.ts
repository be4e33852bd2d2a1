import { kernels } from '../backends/index.js';
import { ShapeError, fmtShape } from '../errors.js';
import { affineBackward } from '../kernels/batchNorm.js';
import { allocUninit } from '../memory.js';
import { gradTarget, record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** The batch statistics a training forward computed, per feature (float64), for the caller's running averages. */
export interface BatchStats {
  /** Σ_b x / B per feature. */
  mean: Float64Array;
  /** Biased (divided by B). */
  variance: Float64Array;
}

function check(op: string, x: Tensor, gamma: Tensor, beta: Tensor): [number, number] {
  if (x.ndim !== 2) throw new ShapeError(`${op}: expected input (B,F), got ${fmtShape(x.shape)}`);
  const [B, F] = x.shape;
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.ndim !== 1 || t.shape[0] !== F) throw new ShapeError(`${op}: ${name} ${fmtShape(t.shape)} does not fit input ${fmtShape(x.shape)}: expected [${F}]`);
  }
  return [B, F];
}

/** A gradient for gamma or beta: into its `.grad` when the tape offers it, else a new buffer. */
function paramGrad(p: Tensor): Tensor {
  return gradTarget(p) ?? new Tensor(allocUninit(p.size), p.shape);
}

/**
 * Batch normalization with the batch's own statistics (training): x is (B,F), gamma and beta (F);
 * out = gamma·(x − mean)/√(var + eps) + beta, mean and biased variance over the batch, per feature
 * (kernels/batchNorm.ts has the formulas, the backward's collapsed chain rule and why float64).
 * The statistics go to `stats` when given (the BatchNorm layer keeps running averages of them).
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, stats?: BatchStats): Tensor {
  const [B, F] = check('batchNorm', x, gamma, beta);
  if (B < 2) {
    // PyTorch refuses too: the variance of one value is 0 and the unbiased estimate divides by 0.
    throw new ShapeError(`batchNorm: needs more than one sample per feature in training, got input ${fmtShape(x.shape)}`);
  }
  const out = allocUninit(B * F);
  const xhat = allocUninit(B * F);
  const mean = stats?.mean ?? new Float64Array(F);
  const variance = stats?.variance ?? new Float64Array(F);
  const invstd = new Float64Array(F);
  kernels().batchNormForward(out, xhat, mean, variance, invstd, x.data, gamma.data, beta.data, eps, B, F);
  return record(new Tensor(out, [B, F]), 'batchNorm', [x, gamma, beta], ({ data: dout }) => {
    const dinp = allocUninit(B * F);
    const dgamma = paramGrad(gamma);
    const dbeta = paramGrad(beta);
    kernels().batchNormBackward(dinp, dgamma.data, dbeta.data, dout, xhat, gamma.data, invstd, B, F);
    return [new Tensor(dinp, x.shape), dgamma, dbeta];
  }, [xhat]);
}

/**
 * Batch normalization with given statistics (eval: the running mean and unbiased variance), x (B,F).
 * The statistics are constants here, so x's gradient is a per-feature scale: dout·gamma·invstd.
 */
export function batchNormEval(x: Tensor, gamma: Tensor, beta: Tensor, mean: Float32Array, variance: Float32Array, eps: number): Tensor {
  const [B, F] = check('batchNorm(eval)', x, gamma, beta);
  const out = allocUninit(B * F);
  const xhat = allocUninit(B * F);
  const m = Float64Array.from(mean);
  const invstd = new Float64Array(F);
  for (let f = 0; f < F; f++) invstd[f] = 1 / Math.sqrt(variance[f] + eps);
  kernels().normalizeAffine(out, xhat, x.data, m, invstd, gamma.data, beta.data, B, F);
  return record(new Tensor(out, [B, F]), 'batchNorm(eval)', [x, gamma, beta], ({ data: dout }) => {
    const dgamma = paramGrad(gamma);
    const dbeta = paramGrad(beta);
    affineBackward(dgamma.data, dbeta.data, dout, xhat, B, F);
    const dinp = allocUninit(B * F);
    const g = gamma.data;
    for (let b = 0; b < B; b++) {
      const row = b * F;
      for (let f = 0; f < F; f++) dinp[row + f] = dout[row + f] * g[f] * invstd[f];
    }
    return [new Tensor(dinp, x.shape), dgamma, dbeta];
  }, [xhat]);
}
