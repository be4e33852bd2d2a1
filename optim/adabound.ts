import { adaboundUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkBetas, checkNonNegative, checkPositive, invalid } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface AdaBoundHyper extends BaseHyper {
  /** `[beta1, beta2]`: decay rates of the moment averages, each in [0, 1). */
  betas: [number, number];
  /** The SGD rate the bounds close in on (default 0.1), relative to `baseLr`. */
  finalLr: number;
  /** How fast the bounds close in (default 1e-3): they are within 1/(gamma·t) of finalLr at step t. */
  gamma: number;
  /** Added to √v, for stability (default 1e-8). */
  eps: number;
  /** Coupled L2: `weightDecay × w` added to the gradient (default 0). */
  weightDecay: number;
  /** AMSBound: the running maximum of the second moment in place of the second moment. */
  amsbound: boolean;
  /**
   * The rate `finalLr` is relative to: the group's `lr` when the optimizer was made (the authors'
   * `base_lrs`). A schedule that halves lr halves the bounds: final = finalLr × lr / baseLr.
   */
  baseLr: number;
}

/**
 * AdaBound and AMSBound (Luo et al. 2019, "Adaptive Gradient Methods with Dynamic Bound of Learning
 * Rate"), as the authors' code computes them (github.com/Luolc/AdaBound, adabound.py). Defaults: lr
 * 1e-3, betas [0.9, 0.999], finalLr 0.1, gamma 1e-3, eps 1e-8, weightDecay 0, amsbound false. Adam's
 * per-element rate is clipped to bounds that start at [0, ∞) and close in on finalLr, so the method
 * starts as Adam and ends as SGD. With t the parameter's step count (from 1):
 *
 *     g      = grad + weightDecay * w
 *     m      = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g²   (AMSBound: v = max(vmax, v))
 *     final  = finalLr * lr / baseLr
 *     lower  = final * (1 - 1 / (gamma * t + 1));   upper = final * (1 + 1 / (gamma * t))
 *     w     -= clamp(lr * √(1 - beta2^t) / (1 - beta1^t) / (√v + eps), lower, upper) * m
 *
 * Two details of the code differ from the paper and are kept: eps is added to √v before the bias
 * correction (Adam's PyTorch form adds it after), and the bounds scale with lr / baseLr, the code's
 * way of letting a learning-rate schedule move them (the paper's bounds are fixed).
 *
 * @example
 * ```ts
 * import { Tensor, AdaBound } from 'tapegrad';
 *
 * const w = Tensor.from([1, -2], { requiresGrad: true });
 * const optimizer = new AdaBound([w], { lr: 0.01 });
 * optimizer.zeroGrad();
 * w.square().sum().backward();
 * optimizer.step();
 * // At t = 1 the bounds are [0.0001, 100.1]: Adam's first step, lr · sign(g)
 * console.log(w.toArray()); // => [0.99, -1.99]
 * ```
 */
export class AdaBound extends Optimizer<AdaBoundHyper> {
  readonly type = 'AdaBound';

  constructor(params: Tensor[] | ParamGroupInput<AdaBoundHyper>[], options: Partial<AdaBoundHyper> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], finalLr: 0.1, gamma: 1e-3, eps: 1e-8, weightDecay: 0, amsbound: false, baseLr: NaN, ...options }, 'AdaBound');
    // The authors' base_lrs: each group's rate as made, unless given.
    for (const group of this.paramGroups) if (unset(group.baseLr)) group.baseLr = group.lr;
  }

  protected validate(h: AdaBoundHyper): void {
    checkNonNegative('AdaBound', 'lr', h.lr);
    checkBetas('AdaBound', h.betas);
    checkNonNegative('AdaBound', 'finalLr', h.finalLr);
    if (typeof h.gamma !== 'number' || !(h.gamma > 0 && h.gamma < 1)) throw invalid('AdaBound', 'gamma', h.gamma, '0 < gamma < 1');
    checkPositive('AdaBound', 'eps', h.eps);
    checkNonNegative('AdaBound', 'weightDecay', h.weightDecay);
    if (typeof h.amsbound !== 'boolean') throw invalid('AdaBound', 'amsbound', h.amsbound, 'true or false');
    // NaN: not given yet (the constructor fills it in from lr).
    if (!unset(h.baseLr)) checkPositive('AdaBound', 'baseLr', h.baseLr);
    else if (!(h.lr > 0)) throw invalid('AdaBound', 'lr', h.lr, 'lr > 0 (the bounds are finalLr × lr / lr at construction), or give baseLr');
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: AdaBoundHyper): void {
    const m = this.buffer(state, 'expAvg', w.length);
    const v = this.buffer(state, 'expAvgSq', w.length);
    const vmax = h.amsbound ? this.buffer(state, 'maxExpAvgSq', w.length) : null;
    adaboundUpdate(w, m, v, vmax, g, {
      lr: h.lr, baseLr: h.baseLr, finalLr: h.finalLr, gamma: h.gamma,
      beta1: h.betas[0], beta2: h.betas[1], eps: h.eps, weightDecay: h.weightDecay, t: state.step,
    }, w.length);
  }
}

/** baseLr not given: undefined, or the NaN the defaults hold until the constructor fills it in. */
function unset(baseLr: number | undefined): boolean {
  return baseLr === undefined || Number.isNaN(baseLr);
}
