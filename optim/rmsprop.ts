import { rmspropUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkNonNegative, checkPositive, checkUnitInterval, invalid } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface RMSpropHyper extends BaseHyper {
  /** Decay of the squared-gradient average (Keras calls it rho), in [0, 1). */
  alpha: number;
  /** Added to the denominator, for stability (default 1e-8). */
  eps: number;
  /** Coupled L2: `weightDecay × w` added to the gradient (default 0). */
  weightDecay: number;
  /** Heavy-ball momentum on the scaled step, in [0, 1). */
  momentum: number;
  /** Divide by the estimated variance (E[g²] - E[g]²) instead of E[g²]. */
  centered: boolean;
}

/**
 * RMSprop as PyTorch defines it (torch.optim.RMSprop; Hinton's lecture 6e). Defaults: lr 1e-2,
 * alpha 0.99, eps 1e-8, weightDecay 0, momentum 0, centered false. (Keras's defaults differ: lr 1e-3,
 * rho 0.9, eps 1e-7.)
 *
 *     g   = grad + weightDecay * w
 *     s   = alpha * s + (1 - alpha) * g²
 *     centered: a = alpha * a + (1 - alpha) * g;  d = sqrt(s - a²) + eps,   else d = sqrt(s) + eps
 *     momentum > 0: b = momentum * b + g / d;  w -= lr * b,                 else w -= lr * g / d
 */
export class RMSprop extends Optimizer<RMSpropHyper> {
  readonly type = 'RMSprop';

  constructor(params: Tensor[] | ParamGroupInput<RMSpropHyper>[], options: Partial<RMSpropHyper> = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...options }, 'RMSprop');
  }

  protected validate(h: RMSpropHyper): void {
    checkNonNegative('RMSprop', 'lr', h.lr);
    checkUnitInterval('RMSprop', 'alpha', h.alpha);
    checkPositive('RMSprop', 'eps', h.eps);
    checkNonNegative('RMSprop', 'weightDecay', h.weightDecay);
    checkUnitInterval('RMSprop', 'momentum', h.momentum);
    if (typeof h.centered !== 'boolean') throw invalid('RMSprop', 'centered', h.centered, 'true or false');
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: RMSpropHyper): void {
    const s = this.buffer(state, 'squareAvg', w.length);
    const a = h.centered ? this.buffer(state, 'gradAvg', w.length) : null;
    const b = h.momentum > 0 ? this.buffer(state, 'momentumBuffer', w.length) : null;
    const step = { lr: h.lr, alpha: h.alpha, eps: h.eps, weightDecay: h.weightDecay, momentum: h.momentum, centered: h.centered };
    rmspropUpdate(w, s, a, b, g, step, w.length);
  }
}

export { rmspropUpdate };
