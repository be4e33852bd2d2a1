import { lionUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkBetas, checkNonNegative } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface LionHyper extends BaseHyper {
  /** `[beta1, beta2]`: beta1 mixes the update's direction, beta2 decays the momentum it keeps; each in [0, 1). */
  betas: [number, number];
  /** Decoupled weight decay: w shrinks by lr × weightDecay each step (default 0). */
  weightDecay: number;
}

/**
 * Lion, "EvoLved Sign Momentum" (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms",
 * Algorithm 2, with its decoupled weight decay; Keras's `keras.optimizers.Lion`). Defaults: lr 1e-4,
 * betas [0.9, 0.99], weightDecay 0 (the paper's and Keras's):
 *
 *     c  = beta1 * m + (1 - beta1) * g
 *     w  = w - lr * (sign(c) + weightDecay * w)
 *     m  = beta2 * m + (1 - beta2) * g
 *
 * Every weight moves by exactly ±lr (0 where c is 0), whatever the gradient's size: the update has a
 * larger norm than Adam's, so the paper's rates are 3-10× smaller than AdamW's and its weight decay
 * 3-10× larger, to keep lr × weightDecay the same. One buffer per parameter, where Adam keeps two.
 *
 * @example
 * ```ts
 * import { Tensor, Lion } from 'tapegrad';
 *
 * const w = Tensor.from([1, -2, 0], { requiresGrad: true });
 * const optimizer = new Lion([w], { lr: 0.25 });
 * optimizer.zeroGrad();
 * w.square().sum().backward(); // g = [2, −4, 0]
 * optimizer.step();
 * console.log(w.toArray()); // => [0.75, -1.75, 0]
 * ```
 */
export class Lion extends Optimizer<LionHyper> {
  readonly type = 'Lion';

  constructor(params: Tensor[] | ParamGroupInput<LionHyper>[], options: Partial<LionHyper> = {}) {
    super(params, { lr: 1e-4, betas: [0.9, 0.99], weightDecay: 0, ...options }, 'Lion');
  }

  protected validate(h: LionHyper): void {
    checkNonNegative('Lion', 'lr', h.lr);
    checkBetas('Lion', h.betas);
    checkNonNegative('Lion', 'weightDecay', h.weightDecay);
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: LionHyper): void {
    const m = this.buffer(state, 'expAvg', w.length);
    lionUpdate(w, m, g, { lr: h.lr, beta1: h.betas[0], beta2: h.betas[1], weightDecay: h.weightDecay }, w.length);
  }
}
