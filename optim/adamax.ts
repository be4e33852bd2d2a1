import { adamaxUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkBetas, checkNonNegative, checkPositive } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface AdamaxHyper extends BaseHyper {
  /** `[beta1, beta2]`: decay of the first moment and of the infinity norm, each in [0, 1). */
  betas: [number, number];
  /** Added to |g| before the maximum, so the denominator is never 0 (default 1e-8). */
  eps: number;
  /** Coupled L2: `weightDecay × w` added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * Adamax, the infinity-norm variant of Adam (Kingma & Ba 2015, section 7.1), as PyTorch defines it
 * (torch.optim.Adamax). Defaults: lr 2e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0. With t the
 * parameter's step count (from 1):
 *
 *     g  = grad + weightDecay * w
 *     m  = beta1 * m + (1 - beta1) * g
 *     u  = max(beta2 * u, |g| + eps)               the exponentially weighted infinity norm
 *     w -= lr / (1 - beta1^t) * m / u
 *
 * u needs no bias correction: a maximum is not biased towards its zero start as an average is.
 * PyTorch adds eps inside the maximum (the paper has none); so do we.
 *
 * @example
 * ```ts
 * import { Tensor, Adamax } from 'tapegrad';
 *
 * const w = Tensor.from([1, -2], { requiresGrad: true });
 * const optimizer = new Adamax([w], { lr: 0.1 });
 * optimizer.zeroGrad();
 * w.square().sum().backward();
 * optimizer.step();
 * // The first step is lr · sign(g): m/(1 − beta1) = g and u = |g| (+ eps)
 * console.log(w.toArray()); // => [0.9, -1.9]
 * ```
 */
export class Adamax extends Optimizer<AdamaxHyper> {
  readonly type = 'Adamax';

  constructor(params: Tensor[] | ParamGroupInput<AdamaxHyper>[], options: Partial<AdamaxHyper> = {}) {
    super(params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options }, 'Adamax');
  }

  protected validate(h: AdamaxHyper): void {
    checkNonNegative('Adamax', 'lr', h.lr);
    checkBetas('Adamax', h.betas);
    checkPositive('Adamax', 'eps', h.eps);
    checkNonNegative('Adamax', 'weightDecay', h.weightDecay);
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: AdamaxHyper): void {
    const m = this.buffer(state, 'expAvg', w.length);
    const u = this.buffer(state, 'expInf', w.length);
    adamaxUpdate(w, m, u, g, { lr: h.lr, beta1: h.betas[0], beta2: h.betas[1], eps: h.eps, weightDecay: h.weightDecay, t: state.step }, w.length);
  }
}
