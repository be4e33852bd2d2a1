import { adagradUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkNonNegative, checkPositive } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface AdagradHyper extends BaseHyper {
  /** Time-based decay of the rate per step: lr / (1 + (t - 1) * lrDecay). */
  lrDecay: number;
  /** Coupled L2: `weightDecay × w` added to the gradient (default 0). */
  weightDecay: number;
  /** Starting value of the squared-gradient sum. */
  initialAccumulatorValue: number;
  /** Added to the denominator, for stability (default 1e-10). */
  eps: number;
}

/**
 * Adagrad as PyTorch defines it (torch.optim.Adagrad; Duchi et al. 2011). Defaults: lr 1e-2,
 * lrDecay 0, weightDecay 0, initialAccumulatorValue 0, eps 1e-10. With t the step count (from 1):
 *
 *     lr_t = lr / (1 + (t - 1) * lrDecay)
 *     g    = grad + weightDecay * w
 *     s    = s + g²
 *     w   -= lr_t * g / (sqrt(s) + eps)
 */
export class Adagrad extends Optimizer<AdagradHyper> {
  readonly type = 'Adagrad';

  constructor(params: Tensor[] | ParamGroupInput<AdagradHyper>[], options: Partial<AdagradHyper> = {}) {
    super(params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, ...options }, 'Adagrad');
  }

  protected validate(h: AdagradHyper): void {
    checkNonNegative('Adagrad', 'lr', h.lr);
    checkNonNegative('Adagrad', 'lrDecay', h.lrDecay);
    checkNonNegative('Adagrad', 'weightDecay', h.weightDecay);
    checkNonNegative('Adagrad', 'initialAccumulatorValue', h.initialAccumulatorValue);
    checkPositive('Adagrad', 'eps', h.eps);
  }

  /** lr / (1 + iterations * lrDecay): the rate of the next step for a parameter updated every step. */
  override get currentLr(): number {
    const h = this.paramGroups[0];
    return h.lr / (1 + this.iterations * h.lrDecay);
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: AdagradHyper): void {
    const s = this.buffer(state, 'sum', w.length, h.initialAccumulatorValue);
    adagradUpdate(w, s, g, { lr: h.lr, lrDecay: h.lrDecay, eps: h.eps, weightDecay: h.weightDecay, t: state.step }, w.length);
  }
}

export { adagradUpdate };
