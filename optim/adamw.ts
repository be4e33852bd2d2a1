import type { Tensor } from '../engine/index.js';
import { Optimizer } from './optimizer.js';
import type { ParamGroupInput, ParamState } from './optimizer.js';
import { adamUpdate, validateAdam } from './adam.js';
import type { AdamHyper } from './adam.js';

/**
 * AdamW as PyTorch defines it (torch.optim.AdamW; Loshchilov & Hutter, "Decoupled Weight Decay
 * Regularization"). Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 1e-2, amsgrad false.
 * The decay shrinks the weights directly instead of entering the gradient, so the adaptive
 * denominator does not weaken it:
 *
 *     w  = w * (1 - lr * weightDecay)
 *     then Adam's step with the raw gradient (see adam.ts)
 */
export class AdamW extends Optimizer<AdamHyper> {
  readonly type = 'AdamW';

  constructor(params: Tensor[] | ParamGroupInput<AdamHyper>[], options: Partial<AdamHyper> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, ...options }, 'AdamW');
  }

  protected validate(h: AdamHyper): void {
    validateAdam('AdamW', h);
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: AdamHyper): void {
    const m = this.buffer(state, 'expAvg', w.length);
    const v = this.buffer(state, 'expAvgSq', w.length);
    const vmax = h.amsgrad ? this.buffer(state, 'maxExpAvgSq', w.length) : null;
    const [beta1, beta2] = h.betas;
    adamUpdate(w, m, v, vmax, g, { lr: h.lr, beta1, beta2, eps: h.eps, coupledDecay: 0, decoupledDecay: h.weightDecay, t: state.step }, w.length);
  }
}
