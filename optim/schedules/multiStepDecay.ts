import type { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex } from './schedule.js';

/**
 * PyTorch's MultiStepLR in closed form: the rate is multiplied by gamma at each milestone epoch.
 *
 *     lr(t) = lr0 * gamma^(number of milestones <= t)          t = epoch, from 0
 *
 * A milestone listed twice multiplies twice, as PyTorch's Counter does. Defaults: gamma 0.1.
 *
 * @example
 * ```ts
 * import { Tensor, SGD, MultiStepDecay } from 'tapegrad';
 *
 * const optimizer = new SGD([Tensor.zeros([1], { requiresGrad: true })], { lr: 0.1 });
 * const schedule = new MultiStepDecay(optimizer, { milestones: [30, 80] });
 * console.log([0, 29, 30, 79, 80].map((epoch) => schedule.lrAt(epoch))); // => [0.1, 0.1, 0.01, 0.01, 0.001]
 * ```
 */
export class MultiStepDecay extends Schedule {
  /** The class name. */
  readonly type = 'MultiStepDecay';
  /** The epochs at which the rate drops, sorted. */
  readonly milestones: readonly number[];
  /** The factor of each drop. */
  readonly gamma: number;

  constructor(optimizer: Optimizer<any>, options: { milestones: number[]; gamma?: number }) {
    super(optimizer);
    const op = 'MultiStepDecay';
    const m = options.milestones;
    if (!Array.isArray(m) || !m.every((e) => Number.isInteger(e) && e >= 0)) {
      throw new RangeError(`${op}: invalid milestones ${JSON.stringify(m)}, expected a list of epochs (integers >= 0)`);
    }
    const gamma = options.gamma ?? 0.1;
    if (!(gamma > 0 && Number.isFinite(gamma))) throw new RangeError(`${op}: invalid gamma ${gamma}, expected a finite gamma > 0`);
    this.milestones = [...m].sort((a, b) => a - b);
    this.gamma = gamma;
  }

  lrAt(t: number): number {
    checkIndex(this.type, t);
    let passed = 0;
    for (const e of this.milestones) if (e <= t) passed++;
    return this.baseLr * Math.pow(this.gamma, passed);
  }
}
