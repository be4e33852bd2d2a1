import { sgdUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkNonNegative, checkUnitInterval, invalid } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface SGDHyper extends BaseHyper {
  /** In [0, 1); 0 is plain gradient descent. */
  momentum: number;
  /** Nesterov's look-ahead form; needs momentum > 0 and dampening 0. */
  nesterov: boolean;
  /**
   * PyTorch's dampening, in [0, 1]: each step after the first adds (1 − dampening) of the gradient to
   * the velocity instead of all of it (default 0).
   */
  dampening: number;
  /** Keras's time-based decay per step: the rate used is lr / (1 + decay * iterations). */
  decay: number;
  /** Coupled L2: adds weightDecay * w to the gradient (PyTorch's and Keras's meaning). */
  weightDecay: number;
}

/**
 * Stochastic gradient descent in Keras's form (keras.optimizers.SGD, Keras 2), the form reference
 * article 000 uses. Defaults: lr 0.01, momentum 0, nesterov false, decay 0, weightDecay 0 (Keras's),
 * dampening 0 (PyTorch's).
 *
 *     lr_t = lr / (1 + decay * iterations)           iterations = steps taken before this one
 *     g    = grad + weightDecay * w
 *     v    = momentum * v - lr_t * (1 - dampening) * g      (v starts at 0; no dampening on its first step)
 *     w    = w + v                                    plain momentum
 *     w    = w + momentum * v - lr_t * g              Nesterov (dampening must be 0)
 *
 * Dampening is PyTorch's (torch.optim.SGD): its buffer starts as the first gradient itself and then
 * takes buf = momentum * buf + (1 - dampening) * g, which is the line above with v = -lr * buf; a
 * velocity made later (OneCycle raising momentum from 0) starts undamped too, as PyTorch's does.
 *
 * PyTorch's torch.optim.SGD keeps the unscaled sum instead: buf = momentum * buf + g; w -= lr * buf
 * (Nesterov: w -= lr * (g + momentum * buf)). With a constant rate v = -lr * buf at every step, so the
 * two agree exactly. When the rate changes they do not: Keras's velocity still carries the old rate
 * (the change takes effect gradually, as the old velocity decays), PyTorch rescales the whole buffer by
 * the new rate at once. tests/optim/sgd.test.ts shows both.
 *
 * @example
 * ```ts
 * import { Tensor, SGD } from 'tapegrad';
 *
 * const w = Tensor.from([1, -2], { requiresGrad: true });
 * const optimizer = new SGD([w], { lr: 0.1, momentum: 0.9 });
 * for (let step = 0; step < 2; step++) {
 *   optimizer.zeroGrad();
 *   w.square().sum().backward(); // the gradient of Σ w² is 2w
 *   optimizer.step();
 * }
 * // v = −0.1·[2, −4] = [−0.2, 0.4], w = [0.8, −1.6]; then v = 0.9·v − 0.1·[1.6, −3.2] = [−0.34, 0.68]
 * console.log(w.toArray()); // => [0.46, -0.92]
 * console.log(optimizer.lr); // => 0.1
 * ```
 */
export class SGD extends Optimizer<SGDHyper> {
  readonly type = 'SGD';

  constructor(params: Tensor[] | ParamGroupInput<SGDHyper>[], options: Partial<SGDHyper> = {}) {
    super(params, { lr: 0.01, momentum: 0, nesterov: false, decay: 0, weightDecay: 0, dampening: 0, ...options }, 'SGD');
  }

  protected validate(h: SGDHyper): void {
    checkNonNegative('SGD', 'lr', h.lr);
    checkUnitInterval('SGD', 'momentum', h.momentum);
    if (typeof h.nesterov !== 'boolean') throw invalid('SGD', 'nesterov', h.nesterov, 'true or false');
    if (h.nesterov && h.momentum === 0) throw invalid('SGD', 'nesterov', h.nesterov, 'momentum > 0 with Nesterov (momentum is 0)');
    // Checkpoints written before dampening existed have none: 0, the default.
    const dampening = h.dampening ?? 0;
    if (typeof dampening !== 'number' || !(dampening >= 0 && dampening <= 1)) throw invalid('SGD', 'dampening', dampening, '0 <= dampening <= 1');
    if (h.nesterov && dampening !== 0) throw invalid('SGD', 'dampening', dampening, '0 with Nesterov (PyTorch\'s rule: Nesterov momentum requires zero dampening)');
    checkNonNegative('SGD', 'decay', h.decay);
    checkNonNegative('SGD', 'weightDecay', h.weightDecay);
  }

  /** The rate the next step actually applies: `lr` with Keras's `decay` folded in. Equals `lr` when decay is 0. */
  override get currentLr(): number {
    const h = this.paramGroups[0];
    return h.lr / (1 + h.decay * this.iterations);
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: SGDHyper): void {
    const lrT = h.lr / (1 + h.decay * this.iterations);
    // A velocity made at this step is PyTorch's buffer cloned from the gradient: undamped.
    const fresh = state.buffers.velocity === undefined;
    const v = h.momentum === 0 ? null : this.buffer(state, 'velocity', w.length);
    const damped = v === null || fresh || !h.dampening ? lrT : lrT * (1 - h.dampening);
    sgdUpdate(w, v, g, { lrT: damped, momentum: h.momentum, nesterov: h.nesterov, weightDecay: h.weightDecay }, w.length);
  }
}

export { sgdUpdate };
