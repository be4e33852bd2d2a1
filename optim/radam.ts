import { radamUpdate, type Tensor } from '../engine/index.js';
import { Optimizer, checkBetas, checkNonNegative, checkPositive } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

export interface RAdamHyper extends BaseHyper {
  /** `[beta1, beta2]`: decay rates of the moment averages, each in [0, 1). */
  betas: [number, number];
  /** Added to √v, for stability (default 1e-8). */
  eps: number;
  /** Coupled L2: `weightDecay × w` added to the gradient (default 0). */
  weightDecay: number;
}

/**
 * Rectified Adam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond"), as
 * PyTorch defines it (torch.optim.RAdam). Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8,
 * weightDecay 0. With t the parameter's step count (from 1):
 *
 *     g      = grad + weightDecay * w
 *     m      = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g²
 *     rho∞   = 2 / (1 - beta2) - 1;           rho_t = rho∞ - 2 t beta2^t / (1 - beta2^t)
 *     rho_t > 5:  r_t = √((rho_t - 4)(rho_t - 2) rho∞ / ((rho∞ - 4)(rho∞ - 2) rho_t))
 *                 w -= lr * m / (1 - beta1^t) * √(1 - beta2^t) / (√v + eps) * r_t
 *     otherwise:  w -= lr * m / (1 - beta1^t)          (plain momentum)
 *
 * Early on, v rests on too few gradients for its variance to be finite: rho_t, the length of the
 * simple moving average v approximates, is at most 5 for the first steps (the first 5 with beta2
 * 0.999), and RAdam takes SGD-with-momentum steps until it is not. The rectification r_t then scales
 * the adaptive rate by how much its variance exceeds its limit; it tends to 1, where RAdam is Adam.
 * The kernel's factor function (engine/kernels/updates.ts `radamFactors`) computes rho_t and r_t.
 *
 * @example
 * ```ts
 * import { Tensor, RAdam } from 'tapegrad';
 *
 * const w = Tensor.from([1, -2], { requiresGrad: true });
 * const optimizer = new RAdam([w], { lr: 0.1 });
 * optimizer.zeroGrad();
 * w.square().sum().backward(); // g = 2w = [2, −4]
 * optimizer.step();
 * // rho_1 = 1 <= 5: a momentum step, lr · m / (1 − beta1) = lr · g
 * console.log(w.toArray()); // => [0.8, -1.6]
 * ```
 */
export class RAdam extends Optimizer<RAdamHyper> {
  readonly type = 'RAdam';

  constructor(params: Tensor[] | ParamGroupInput<RAdamHyper>[], options: Partial<RAdamHyper> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options }, 'RAdam');
  }

  protected validate(h: RAdamHyper): void {
    checkNonNegative('RAdam', 'lr', h.lr);
    checkBetas('RAdam', h.betas);
    checkPositive('RAdam', 'eps', h.eps);
    checkNonNegative('RAdam', 'weightDecay', h.weightDecay);
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: RAdamHyper): void {
    const m = this.buffer(state, 'expAvg', w.length);
    const v = this.buffer(state, 'expAvgSq', w.length);
    radamUpdate(w, m, v, g, { lr: h.lr, beta1: h.betas[0], beta2: h.betas[1], eps: h.eps, weightDecay: h.weightDecay, t: state.step }, w.length);
  }
}
