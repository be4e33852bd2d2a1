import { ShapeError, Tensor, alloc, fmtShape, record } from '../engine/index.js';
import { affineBackward } from './batchNorm.js';
import { Layer, type LayerConfig, checkSize, fmtShapeB } from './layer.js';

// Letters: R rows (every axis but the last, flattened), F features (the last axis).

/**
 * x is (R,F); gamma, beta are (F). Each row is normalized over its own F values:
 *   mean_r = Σ_f x / F,  var_r = Σ_f (x − mean_r)² / F (biased),  invstd_r = 1/sqrt(var_r + eps)
 *   xhat = (x − mean_r)·invstd_r,  out = gamma·xhat + beta
 * Writes out, xhat (R,F) and invstd (R).
 */
export function layerNormForward(
  out: Float32Array, xhat: Float32Array, invstd: Float64Array,
  x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, R: number, F: number,
): void {
  for (let r = 0; r < R; r++) {
    const row = r * F;
    let s = 0;
    for (let f = 0; f < F; f++) s += x[row + f];
    const mean = s / F;
    let ss = 0;
    for (let f = 0; f < F; f++) {
      const d = x[row + f] - mean;
      ss += d * d;
    }
    const is = 1 / Math.sqrt(ss / F + eps);
    invstd[r] = is;
    for (let f = 0; f < F; f++) {
      const h = (x[row + f] - mean) * is;
      xhat[row + f] = h;
      out[row + f] = gamma[f] * h + beta[f];
    }
  }
}

/**
 * BatchNorm's backward turned sideways: the sums run over a row's features instead of a feature's
 * batch. With dxhat = dout·gamma,
 *   dx = invstd_r/F · (F·dxhat − Σ_f dxhat − xhat·Σ_f dxhat·xhat)
 *   dgamma = Σ_r dout·xhat,  dbeta = Σ_r dout
 */
export function layerNormBackward(
  dinp: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
  dout: Float32Array, xhat: Float32Array, gamma: Float32Array, invstd: Float64Array, R: number, F: number,
): void {
  affineBackward(dgamma, dbeta, dout, xhat, R, F);
  for (let r = 0; r < R; r++) {
    const row = r * F;
    let sd = 0;
    let sdx = 0;
    for (let f = 0; f < F; f++) {
      const dh = dout[row + f] * gamma[f];
      sd += dh;
      sdx += dh * xhat[row + f];
    }
    const k = invstd[r] / F;
    for (let f = 0; f < F; f++) {
      dinp[row + f] = k * (F * dout[row + f] * gamma[f] - sd - xhat[row + f] * sdx);
    }
  }
}

/**
 * Layer normalization (Ba et al. 2016), as PyTorch's `nn.LayerNorm(features)`: each sample is
 * normalized over its last axis with its own mean and biased variance, then scaled by `weight`
 * (ones) and shifted by `bias` (zeros), elementwise; eps = 1e-5. Unlike BatchNorm it keeps no running
 * statistics and behaves the same in training and eval.
 */
export class LayerNorm extends Layer {
  readonly type = 'LayerNorm';
  /** Features normalized per row (the last axis). */
  readonly features: number;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** gamma, the learned scale [features] (starts at ones). */
  readonly weight: Tensor;
  /** beta, the learned shift [features] (starts at zeros). */
  readonly bias: Tensor;

  constructor(features: number, options: { eps?: number } = {}) {
    super();
    this.features = checkSize(features, 'features', 'LayerNorm');
    this.eps = options.eps ?? 1e-5;
    if (typeof this.eps !== 'number' || !(this.eps > 0 && Number.isFinite(this.eps))) {
      throw new RangeError(`LayerNorm: eps must be a finite number > 0, got ${String(this.eps)}`);
    }
    this.weight = Tensor.ones([features], { requiresGrad: true });
    this.bias = Tensor.zeros([features], { requiresGrad: true });
  }

  forward(x: Tensor): Tensor {
    const F = this.features;
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== F) {
      throw new ShapeError(`${this.where()}: expected input [...,${F}], got ${fmtShape(x.shape)}`);
    }
    const R = x.size / F;
    const gamma = this.weight;
    const out = alloc(x.size);
    const xhat = alloc(x.size);
    const invstd = new Float64Array(R);
    layerNormForward(out, xhat, invstd, x.data, gamma.data, this.bias.data, this.eps, R, F);
    return record(new Tensor(out, x.shape), 'layerNorm', [x, gamma, this.bias], ({ data: dout }) => {
      const dinp = alloc(x.size);
      const dgamma = alloc(F);
      const dbeta = alloc(F);
      layerNormBackward(dinp, dgamma, dbeta, dout, xhat, gamma.data, invstd, R, F);
      return [new Tensor(dinp, x.shape), new Tensor(dgamma, gamma.shape), new Tensor(dbeta, this.bias.shape)];
    }, [xhat]);
  }

  protected override ownParameters(): [string, Tensor][] {
    return [['weight', this.weight], ['bias', this.bias]];
  }

  override outputShape(input: readonly number[]): number[] {
    const last = input[input.length - 1];
    if (input.length < 1 || (last >= 0 && last !== this.features)) {
      throw new ShapeError(`${this.where()}: expected input [...,${this.features}], got ${fmtShapeB(input)}`);
    }
    return [...input];
  }

  override describe(): string {
    return `LayerNorm(${this.features})`;
  }

  config(): LayerConfig {
    return { type: 'LayerNorm', features: this.features, eps: this.eps };
  }
}

/** The twin of LayerNorm's kernels, composed of engine ops: the tests' reference. x is (...,F). */
export function layerNormComposed(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const centered = x.sub(x.mean(-1, true));
  const variance = centered.square().mean(-1, true);
  return centered.mul(variance.add(eps).pow(-0.5)).mul(gamma).add(beta);
}
