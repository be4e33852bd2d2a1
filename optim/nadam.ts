import { nadamMu, nadamUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkBetas, checkNonNegative, checkPositive } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface NadamHyper extends BaseHyper {
  /** `[beta1, beta2]`: decay rates of the moment averages, each in [0, 1). */
  betas: [number, number];
  /** Added to the denominator, for stability (default 1e-8). */
  eps: number;
  /** Coupled L2 added to the gradient. */
  weightDecay: number;
  /** psi in the momentum schedule mu_t = beta1 * (1 - 0.5 * 0.96^(t * psi)) (Dozat's 0.004). */
  momentumDecay: number;
}

/**
 * Nadam (Adam with Nesterov momentum, Dozat 2016) as PyTorch defines it (torch.optim.NAdam; Keras 2's
 * Nadam is the same scheme with schedule_decay 0.004). Defaults: lr 2e-3, betas [0.9, 0.999], eps 1e-8,
 * weightDecay 0, momentumDecay 4e-3. With t the parameter's step count (from 1):
 *
 *     g        = grad + weightDecay * w
 *     mu_t     = beta1 * (1 - 0.5 * 0.96^(t * momentumDecay))
 *     mu_t+1   = beta1 * (1 - 0.5 * 0.96^((t + 1) * momentumDecay))
 *     P_t      = mu_1 * ... * mu_t                  (kept per parameter: `muProduct`)
 *     m        = beta1 * m + (1 - beta1) * g
 *     v        = beta2 * v + (1 - beta2) * g²
 *     denom    = sqrt(v / (1 - beta2^t)) + eps
 *     w       -= lr * (1 - mu_t) / (1 - P_t) * g / denom + lr * mu_t+1 / (1 - P_t * mu_t+1) * m / denom
 */
export class Nadam extends Optimizer<NadamHyper> {
  readonly type = 'Nadam';

  constructor(params: Tensor[] | ParamGroupInput<NadamHyper>[], options: Partial<NadamHyper> = {}) {
    super(params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, ...options }, 'Nadam');
  }

  protected validate(h: NadamHyper): void {
    checkNonNegative('Nadam', 'lr', h.lr);
    checkBetas('Nadam', h.betas);
    checkPositive('Nadam', 'eps', h.eps);
    checkNonNegative('Nadam', 'weightDecay', h.weightDecay);
    checkNonNegative('Nadam', 'momentumDecay', h.momentumDecay);
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: NadamHyper): void {
    const t = state.step;
    const [beta1, beta2] = h.betas;
    // P_t, kept per parameter: the kernel's factor function (nadamFactors) turns it into the step's coefficients.
    const muProduct = (state.scalars.muProduct ?? 1) * nadamMu(beta1, h.momentumDecay, t);
    state.scalars.muProduct = muProduct;
    const m = this.buffer(state, 'expAvg', w.length);
    const v = this.buffer(state, 'expAvgSq', w.length);
    nadamUpdate(w, m, v, g, { lr: h.lr, beta1, beta2, eps: h.eps, weightDecay: h.weightDecay, momentumDecay: h.momentumDecay, t, muProduct }, w.length);
  }
}

export { nadamUpdate };
