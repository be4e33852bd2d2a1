import { adadeltaUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkNonNegative, checkPositive, checkUnitInterval } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface AdadeltaHyper extends BaseHyper {
  /** Decay of both running averages, in [0, 1). */
  rho: number;
  /** Added inside both square roots, for stability (default 1e-6). */
  eps: number;
  /** Coupled L2: `weightDecay × w` added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * Adadelta as PyTorch defines it (torch.optim.Adadelta; Zeiler 2012). Defaults: lr 1.0, rho 0.9,
 * eps 1e-6, weightDecay 0. (Keras's defaults differ: lr 1e-3, rho 0.95, eps 1e-7.) The step is the
 * gradient scaled by RMS[Δw] / RMS[g], so its units match the weights':
 *
 *     g  = grad + weightDecay * w
 *     s  = rho * s + (1 - rho) * g²
 *     d  = sqrt(u + eps) / sqrt(s + eps) * g
 *     u  = rho * u + (1 - rho) * d²
 *     w -= lr * d
 */
export class Adadelta extends Optimizer<AdadeltaHyper> {
  readonly type = 'Adadelta';

  constructor(params: Tensor[] | ParamGroupInput<AdadeltaHyper>[], options: Partial<AdadeltaHyper> = {}) {
    super(params, { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, ...options }, 'Adadelta');
  }

  protected validate(h: AdadeltaHyper): void {
    checkNonNegative('Adadelta', 'lr', h.lr);
    checkUnitInterval('Adadelta', 'rho', h.rho);
    checkPositive('Adadelta', 'eps', h.eps);
    checkNonNegative('Adadelta', 'weightDecay', h.weightDecay);
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: AdadeltaHyper): void {
    const s = this.buffer(state, 'squareAvg', w.length);
    const u = this.buffer(state, 'accDelta', w.length);
    adadeltaUpdate(w, s, u, g, { lr: h.lr, rho: h.rho, eps: h.eps, weightDecay: h.weightDecay }, w.length);
  }
}

export { adadeltaUpdate };
