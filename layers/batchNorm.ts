import { ShapeError, Tensor, allocPersistent, batchNorm, batchNormEval, fmtShape } from '../engine/index.js';
import { Layer, type LayerConfig, checkSize, fmtShapeB } from './layer.js';

/** Options of `BatchNorm`. */
export interface BatchNormOptions {
  /** Weight of the new batch in the running averages (PyTorch's default 0.1; Keras's momentum 0.99 is 1 − this). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5, PyTorch's). */
  eps?: number;
  /**
   * Learn a scale and shift per feature (default true). false is PyTorch's `affine=False`: the output is
   * the normalized input itself, and the layer has no parameters (its state dict only the statistics).
   */
  affine?: boolean;
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
 * `running_mean`, `running_var` and `num_batches_tracked`, PyTorch's names and shapes. With
 * `affine: false` gamma and beta stay ones and zeros, constants rather than parameters, and the state
 * dict leaves them out, as PyTorch's does.
 * Forward and backward are the engine's `batchNorm` op (its kernels in engine/kernels/batchNorm.ts and,
 * for the WebAssembly backend, engine/wasm/norm.ts); `batchNormComposed` is their twin made of engine
 * ops, the reference the tests compare against.
 */
export class BatchNorm extends Layer {
  readonly type = 'BatchNorm';
  /** Features normalized (the input is [B, features]). */
  readonly features: number;
  /** Weight of each batch in the running averages. */
  readonly momentum: number;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** Whether gamma and beta are learned (PyTorch's `affine`). */
  readonly affine: boolean;
  /** gamma, the learned scale [features] (starts at ones; constant ones without `affine`). */
  readonly weight: Tensor;
  /** beta, the learned shift [features] (starts at zeros; constant zeros without `affine`). */
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
    this.affine = options.affine ?? true;
    if (typeof this.affine !== 'boolean') throw new TypeError(`BatchNorm: affine must be true or false, got ${String(this.affine)}`);
    // Without affine, gamma and beta are constants: persistent like the buffers, so a scope never takes them.
    this.weight = this.affine ? Tensor.ones([features], { requiresGrad: true }) : new Tensor(allocPersistent(features).fill(1), [features]);
    this.bias = this.affine ? Tensor.zeros([features], { requiresGrad: true }) : new Tensor(allocPersistent(features), [features]);
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
    if (!this.training) return batchNormEval(x, this.weight, this.bias, this.runningMean.data, this.runningVar.data, this.eps);
    const B = x.shape[0];
    if (B < 2) {
      // PyTorch refuses too: the variance of one value is 0 and the unbiased estimate divides by 0.
      throw new ShapeError(`${this.where()}: needs more than one sample per feature in training, got input ${fmtShape(x.shape)}`);
    }
    const stats = { mean: new Float64Array(F), variance: new Float64Array(F) };
    const out = batchNorm(x, this.weight, this.bias, this.eps, stats);
    const m = this.momentum;
    const rm = this.runningMean.data;
    const rv = this.runningVar.data;
    for (let f = 0; f < F; f++) {
      rm[f] = (1 - m) * rm[f] + m * stats.mean[f];
      rv[f] = (1 - m) * rv[f] + m * stats.variance[f] * (B / (B - 1));
    }
    this.numBatchesTracked.data[0] += 1;
    return out;
  }

  protected override ownParameters(): [string, Tensor][] {
    return this.affine ? [['weight', this.weight], ['bias', this.bias]] : [];
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
    return `BatchNorm(${this.features}${this.affine ? '' : ', affine=false'})`;
  }

  config(): LayerConfig {
    return { type: 'BatchNorm', features: this.features, momentum: this.momentum, eps: this.eps, ...(this.affine ? {} : { affine: false }) };
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
