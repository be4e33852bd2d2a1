import { ShapeError, Tensor, alloc, allocPersistent, fmtShape, record } from '../engine/index.js';
import { Layer, type LayerConfig, checkSize, fmtShapeB } from './layer.js';

// Letters: B batch, F features. Every buffer is row-major (B,F) or (F).

/**
 * Training forward with batch statistics. x is (B,F); gamma, beta are (F).
 * Writes out (B,F), xhat (B,F) and, per feature, mean, biased variance and invstd = 1/sqrt(var + eps).
 *   mean = Σ_b x / B,  var = Σ_b (x − mean)² / B,  xhat = (x − mean)·invstd,  out = gamma·xhat + beta
 * Two passes over x (mean, then squared deviations) in float64: the one-pass E[x²] − E[x]² loses
 * everything to cancellation when the mean is large next to the spread.
 */
export function batchNormForward(
  out: Float32Array, xhat: Float32Array, mean: Float64Array, variance: Float64Array, invstd: Float64Array,
  x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, B: number, F: number,
): void {
  mean.fill(0);
  variance.fill(0);
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) mean[f] += x[row + f];
  }
  for (let f = 0; f < F; f++) mean[f] /= B;
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) {
      const d = x[row + f] - mean[f];
      variance[f] += d * d;
    }
  }
  for (let f = 0; f < F; f++) {
    variance[f] /= B;
    invstd[f] = 1 / Math.sqrt(variance[f] + eps);
  }
  normalizeAffine(out, xhat, x, mean, invstd, gamma, beta, B, F);
}

/** xhat = (x − mean)·invstd, out = gamma·xhat + beta, per feature. x is (B,F); the rest (F). */
export function normalizeAffine(
  out: Float32Array, xhat: Float32Array,
  x: Float32Array, mean: ArrayLike<number>, invstd: ArrayLike<number>, gamma: Float32Array, beta: Float32Array, B: number, F: number,
): void {
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) {
      const h = (x[row + f] - mean[f]) * invstd[f];
      xhat[row + f] = h;
      out[row + f] = gamma[f] * h + beta[f];
    }
  }
}

/**
 * Backward of the training forward. dout, xhat are (B,F); gamma, invstd (F).
 *   dbeta = Σ_b dout,  dgamma = Σ_b dout·xhat
 *   dx = gamma·invstd/B · (B·dout − Σ_b dout − xhat·Σ_b dout·xhat)
 * The last line is the chain rule through xhat, the mean and the variance collapsed into one
 * expression: shifting every x of a feature moves the mean with it (the Σ dout term), and scaling
 * them moves the variance with it (the xhat·Σ dout·xhat term), so neither changes xhat.
 */
export function batchNormBackward(
  dinp: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
  dout: Float32Array, xhat: Float32Array, gamma: Float32Array, invstd: Float64Array, B: number, F: number,
): void {
  affineBackward(dgamma, dbeta, dout, xhat, B, F);
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) {
      dinp[row + f] = ((gamma[f] * invstd[f]) / B) * (B * dout[row + f] - dbeta[f] - xhat[row + f] * dgamma[f]);
    }
  }
}

/** dbeta = Σ_b dout, dgamma = Σ_b dout·xhat. dout, xhat are (B,F). */
export function affineBackward(dgamma: Float32Array, dbeta: Float32Array, dout: Float32Array, xhat: Float32Array, B: number, F: number): void {
  const sg = new Float64Array(F);
  const sb = new Float64Array(F);
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) {
      sb[f] += dout[row + f];
      sg[f] += dout[row + f] * xhat[row + f];
    }
  }
  for (let f = 0; f < F; f++) {
    dgamma[f] = sg[f];
    dbeta[f] = sb[f];
  }
}

/** Options of `BatchNorm`. */
export interface BatchNormOptions {
  /** Weight of the new batch in the running averages (PyTorch's default 0.1; Keras's momentum 0.99 is 1 − this). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5, PyTorch's). */
  eps?: number;
}

/**
 * Batch normalization (Ioffe & Szegedy 2015), following PyTorch's `BatchNorm1d` on (B,F) inputs:
 *  - training: y = gamma·(x − mean_B)/sqrt(var_B + eps) + beta with the batch's mean and *biased*
 *    variance, and the running statistics updated with the *unbiased* variance:
 *      running_mean = (1 − momentum)·running_mean + momentum·mean_B
 *      running_var  = (1 − momentum)·running_var  + momentum·var_B·B/(B − 1)
 *    momentum = 0.1, eps = 1e-5 by default, as PyTorch;
 *  - eval: the same formula with running_mean and running_var (initially 0 and 1).
 * gamma (`weight`) starts at ones, beta (`bias`) at zeros. The state dict holds `weight`, `bias`,
 * `running_mean`, `running_var` and `num_batches_tracked`, PyTorch's names and shapes.
 * Forward and backward are hand-written kernels (above); `batchNormComposed` is their twin made of
 * engine ops, the reference the tests compare against.
 */
export class BatchNorm extends Layer {
  readonly type = 'BatchNorm';
  /** Features normalized (the input is [B, features]). */
  readonly features: number;
  /** Weight of each batch in the running averages. */
  readonly momentum: number;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** gamma, the learned scale [features] (starts at ones). */
  readonly weight: Tensor;
  /** beta, the learned shift [features] (starts at zeros). */
  readonly bias: Tensor;
  /** The running mean [features] used in eval mode (a buffer, saved as `running_mean`). */
  readonly runningMean: Tensor;
  /** The running unbiased variance [features] used in eval mode (saved as `running_var`). */
  readonly runningVar: Tensor;
  /** Batches seen in training, a 0-d tensor (int64 in PyTorch; float32 here, exact below 2^24). */
  readonly numBatchesTracked: Tensor;

  constructor(features: number, options: BatchNormOptions = {}) {
    super();
    this.features = checkSize(features, 'features', 'BatchNorm');
    this.momentum = options.momentum ?? 0.1;
    this.eps = options.eps ?? 1e-5;
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new RangeError(`BatchNorm: momentum must be in [0, 1], got ${String(this.momentum)}`);
    }
    if (typeof this.eps !== 'number' || !(this.eps > 0 && Number.isFinite(this.eps))) {
      throw new RangeError(`BatchNorm: eps must be a finite number > 0, got ${String(this.eps)}`);
    }
    this.weight = Tensor.ones([features], { requiresGrad: true });
    this.bias = Tensor.zeros([features], { requiresGrad: true });
    // Buffers, not parameters: persistent, so a model built inside a scope keeps them (engine/memory.ts).
    this.runningMean = new Tensor(allocPersistent(features), [features]);
    this.runningVar = new Tensor(allocPersistent(features).fill(1), [features]);
    this.numBatchesTracked = new Tensor(allocPersistent(1), []);
  }

  forward(x: Tensor): Tensor {
    const F = this.features;
    if (x.ndim !== 2 || x.shape[1] !== F) {
      throw new ShapeError(`${this.where()}: expected input [B,${F}], got ${fmtShape(x.shape)}`);
    }
    const B = x.shape[0];
    const gamma = this.weight;
    const beta = this.bias;
    const out = alloc(B * F);
    const xhat = alloc(B * F);
    const invstd = new Float64Array(F);

    if (!this.training) {
      const rm = this.runningMean.data;
      const rv = this.runningVar.data;
      for (let f = 0; f < F; f++) invstd[f] = 1 / Math.sqrt(rv[f] + this.eps);
      normalizeAffine(out, xhat, x.data, rm, invstd, gamma.data, beta.data, B, F);
      // The statistics are constants here, so x's gradient is a per-feature scale: dout·gamma·invstd.
      return record(new Tensor(out, [B, F]), 'batchNorm(eval)', [x, gamma, beta], ({ data: dout }) => {
        const dgamma = alloc(F);
        const dbeta = alloc(F);
        affineBackward(dgamma, dbeta, dout, xhat, B, F);
        const dinp = alloc(B * F);
        for (let b = 0; b < B; b++) {
          const row = b * F;
          for (let f = 0; f < F; f++) dinp[row + f] = dout[row + f] * gamma.data[f] * invstd[f];
        }
        return [new Tensor(dinp, x.shape), new Tensor(dgamma, gamma.shape), new Tensor(dbeta, beta.shape)];
      }, [xhat]);
    }

    if (B < 2) {
      // PyTorch refuses too: the variance of one value is 0 and the unbiased estimate divides by 0.
      throw new ShapeError(`${this.where()}: needs more than one sample per feature in training, got input ${fmtShape(x.shape)}`);
    }
    const mean = new Float64Array(F);
    const variance = new Float64Array(F);
    batchNormForward(out, xhat, mean, variance, invstd, x.data, gamma.data, beta.data, this.eps, B, F);

    const m = this.momentum;
    const rm = this.runningMean.data;
    const rv = this.runningVar.data;
    for (let f = 0; f < F; f++) {
      rm[f] = (1 - m) * rm[f] + m * mean[f];
      rv[f] = (1 - m) * rv[f] + m * variance[f] * (B / (B - 1));
    }
    this.numBatchesTracked.data[0] += 1;

    return record(new Tensor(out, [B, F]), 'batchNorm', [x, gamma, beta], ({ data: dout }) => {
      const dinp = alloc(B * F);
      const dgamma = alloc(F);
      const dbeta = alloc(F);
      batchNormBackward(dinp, dgamma, dbeta, dout, xhat, gamma.data, invstd, B, F);
      return [new Tensor(dinp, x.shape), new Tensor(dgamma, gamma.shape), new Tensor(dbeta, beta.shape)];
    }, [xhat]);
  }

  protected override ownParameters(): [string, Tensor][] {
    return [['weight', this.weight], ['bias', this.bias]];
  }

  protected override ownBuffers(): [string, Tensor][] {
    return [['running_mean', this.runningMean], ['running_var', this.runningVar], ['num_batches_tracked', this.numBatchesTracked]];
  }

  override inputShape(): number[] {
    return [-1, this.features];
  }

  override outputShape(input: readonly number[]): number[] {
    if (input.length !== 2 || (input[1] >= 0 && input[1] !== this.features)) {
      throw new ShapeError(`${this.where()}: expected input [B,${this.features}], got ${fmtShapeB(input)}`);
    }
    return [...input];
  }

  override describe(): string {
    return `BatchNorm(${this.features})`;
  }

  config(): LayerConfig {
    return { type: 'BatchNorm', features: this.features, momentum: this.momentum, eps: this.eps };
  }
}

/**
 * The twin of BatchNorm's training forward, composed of engine ops (no backward of its own): the
 * reference its hand-written kernels are tested against. x is (B,F); gamma, beta are (F).
 */
export function batchNormComposed(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const centered = x.sub(x.mean(0, true));
  const variance = centered.square().mean(0, true);
  return centered.mul(variance.add(eps).pow(-0.5)).mul(gamma).add(beta);
}
