import { ShapeError, Tensor, allocPersistent, fmtShape, layerNorm } from '../engine/index.js';
import { Layer, type LayerConfig, checkSize, fmtShapeB } from './layer.js';

/**
 * Layer normalization (Ba et al. 2016), as PyTorch's `nn.LayerNorm(features)`: each sample is
 * normalized over its last axis with its own mean and biased variance, then scaled by `weight`
 * (ones) and shifted by `bias` (zeros), elementwise; eps = 1e-5. Unlike BatchNorm it keeps no running
 * statistics and behaves the same in training and eval. `elementwiseAffine: false` (PyTorch's
 * `elementwise_affine=False`) learns no scale or shift: the layer has no parameters and an empty state dict.
 */
export class LayerNorm extends Layer {
  readonly type = 'LayerNorm';
  /** Features normalized per row (the last axis). */
  readonly features: number;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** Whether gamma and beta are learned (PyTorch's `elementwise_affine`). */
  readonly elementwiseAffine: boolean;
  /** gamma, the learned scale [features] (starts at ones; constant ones without `elementwiseAffine`). */
  readonly weight: Tensor;
  /** beta, the learned shift [features] (starts at zeros; constant zeros without `elementwiseAffine`). */
  readonly bias: Tensor;

  constructor(features: number, options: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.features = checkSize(features, 'features', 'LayerNorm');
    this.eps = options.eps ?? 1e-5;
    if (typeof this.eps !== 'number' || !(this.eps > 0 && Number.isFinite(this.eps))) {
      throw new RangeError(`LayerNorm: eps must be a finite number > 0, got ${String(this.eps)}`);
    }
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    if (typeof this.elementwiseAffine !== 'boolean') {
      throw new TypeError(`LayerNorm: elementwiseAffine must be true or false, got ${String(this.elementwiseAffine)}`);
    }
    // Without the affine part, gamma and beta are constants, persistent so that a scope never takes them (engine/memory.ts).
    const learned = this.elementwiseAffine;
    this.weight = learned ? Tensor.ones([features], { requiresGrad: true }) : new Tensor(allocPersistent(features).fill(1), [features]);
    this.bias = learned ? Tensor.zeros([features], { requiresGrad: true }) : new Tensor(allocPersistent(features), [features]);
  }

  forward(x: Tensor): Tensor {
    const F = this.features;
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== F) {
      throw new ShapeError(`${this.where()}: expected input [...,${F}], got ${fmtShape(x.shape)}`);
    }
    return layerNorm(x, this.weight, this.bias, this.eps); // engine/ops/layerNorm.ts
  }

  protected override ownParameters(): [string, Tensor][] {
    return this.elementwiseAffine ? [['weight', this.weight], ['bias', this.bias]] : [];
  }

  override outputShape(input: readonly number[]): number[] {
    const last = input[input.length - 1];
    if (input.length < 1 || (last >= 0 && last !== this.features)) {
      throw new ShapeError(`${this.where()}: expected input [...,${this.features}], got ${fmtShapeB(input)}`);
    }
    return [...input];
  }

  override describe(): string {
    return `LayerNorm(${this.features}${this.elementwiseAffine ? '' : ', elementwiseAffine=false'})`;
  }

  config(): LayerConfig {
    return { type: 'LayerNorm', features: this.features, eps: this.eps, ...(this.elementwiseAffine ? {} : { elementwiseAffine: false }) };
  }
}

/** The twin of LayerNorm's kernels, composed of engine ops: the tests' reference. x is (...,F). */
export function layerNormComposed(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const centered = x.sub(x.mean(-1, true));
  const variance = centered.square().mean(-1, true);
  return centered.mul(variance.add(eps).pow(-0.5)).mul(gamma).add(beta);
}
