import { adamUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkBetas, checkNonNegative, checkPositive, invalid } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface AdamHyper extends BaseHyper {
  /** `[beta1, beta2]`: decay rates of the first and second moment averages, each in [0, 1). */
  betas: [number, number];
  /** Added to the denominator, for stability (default 1e-8). */
  eps: number;
  /** Adam: coupled L2 added to the gradient. AdamW: decoupled decay of the weights. */
  weightDecay: number;
  /** Use the running maximum of the second moment (AMSGrad, Reddi et al. 2018). */
  amsgrad: boolean;
}

/**
 * Adam as PyTorch defines it (torch.optim.Adam). Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8,
 * weightDecay 0, amsgrad false. With t the parameter's step count (1 on the first step):
 *
 *     g  = grad + weightDecay * w
 *     m  = beta1 * m + (1 - beta1) * g
 *     v  = beta2 * v + (1 - beta2) * g²
 *     (AMSGrad: vmax = max(vmax, v), used in place of v below)
 *     w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * Note eps is added after the bias correction of sqrt(v), as PyTorch does; Keras adds its eps (1e-7) to
 * sqrt(v̂) too, but its default differs.
 *
 * @example
 * ```ts
 * import { Tensor, Adam } from 'tapegrad';
 *
 * const w = Tensor.from([1, -2], { requiresGrad: true });
 * const optimizer = new Adam([w], { lr: 0.1 });
 * optimizer.zeroGrad();
 * w.square().sum().backward();
 * optimizer.step();
 * // Adam's first step moves every weight by about lr, whatever the gradient's size: m̂/√v̂ = ±1
 * console.log(w.toArray()); // => [0.9, -1.9]
 * ```
 */
export class Adam extends Optimizer<AdamHyper> {
  readonly type = 'Adam';

  constructor(params: Tensor[] | ParamGroupInput<AdamHyper>[], options: Partial<AdamHyper> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, ...options }, 'Adam');
  }

  protected validate(h: AdamHyper): void {
    validateAdam('Adam', h);
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: AdamHyper): void {
    const m = this.buffer(state, 'expAvg', w.length);
    const v = this.buffer(state, 'expAvgSq', w.length);
    const vmax = h.amsgrad ? this.buffer(state, 'maxExpAvgSq', w.length) : null;
    const [beta1, beta2] = h.betas;
    adamUpdate(w, m, v, vmax, g, { lr: h.lr, beta1, beta2, eps: h.eps, coupledDecay: h.weightDecay, decoupledDecay: 0, t: state.step }, w.length);
  }
}

export function validateAdam(op: string, h: AdamHyper): void {
  checkNonNegative(op, 'lr', h.lr);
  checkBetas(op, h.betas);
  checkPositive(op, 'eps', h.eps);
  checkNonNegative(op, 'weightDecay', h.weightDecay);
  if (typeof h.amsgrad !== 'boolean') throw invalid(op, 'amsgrad', h.amsgrad, 'true or false');
}

export { adamUpdate };
