import type { Tensor } from '../engine/index.js';
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
    const beta1 = h.betas[0];
    const mu = beta1 * (1 - 0.5 * Math.pow(0.96, t * h.momentumDecay));
    const muNext = beta1 * (1 - 0.5 * Math.pow(0.96, (t + 1) * h.momentumDecay));
    const muProduct = (state.scalars.muProduct ?? 1) * mu;
    state.scalars.muProduct = muProduct;
    const m = this.buffer(state, 'expAvg', w.length);
    const v = this.buffer(state, 'expAvgSq', w.length);
    const gradCoef = (h.lr * (1 - mu)) / (1 - muProduct);
    const avgCoef = (h.lr * muNext) / (1 - muProduct * muNext);
    nadamUpdate(w, m, v, g, gradCoef, avgCoef, beta1, h.betas[1], h.eps, h.weightDecay, 1 - Math.pow(h.betas[1], t), w.length);
  }
}

/**
 * The Nadam update, in place. w, m, v, g are (N). The step's scalars (gradCoef, avgCoef, the second
 * moment's bias correction bc2) are computed once per parameter by the caller.
 */
export function nadamUpdate(
  w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array,
  gradCoef: number, avgCoef: number, beta1: number, beta2: number, eps: number, weightDecay: number, bc2: number, N: number,
): void {
  for (let i = 0; i < N; i++) {
    const gi = g[i] + weightDecay * w[i];
    const mi = beta1 * m[i] + (1 - beta1) * gi;
    const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const denom = Math.sqrt(vi / bc2) + eps;
    w[i] -= (gradCoef * gi + avgCoef * mi) / denom;
  }
}
