import type { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex, checkPositiveInt, checkRate } from './schedule.js';

/**
 * Linear decay from lr0 to `endLr` over `total` epochs, then constant: Keras's PolynomialDecay with
 * power 1 (decay_steps = total, end_learning_rate = endLr; its default endLr is 1e-4, ours 0):
 *
 *     lr(t) = endLr + (lr0 - endLr) * (1 - min(t, total) / total)
 */
export class LinearDecay extends Schedule {
  /** The class name. */
  readonly type = 'LinearDecay';
  /** The epoch at which the rate reaches `endLr`. */
  readonly total: number;
  /** The rate at `total` and after. */
  readonly endLr: number;

  constructor(optimizer: Optimizer<any>, options: { total: number; endLr?: number }) {
    super(optimizer);
    checkPositiveInt('LinearDecay', 'total', options.total);
    const endLr = options.endLr ?? 0;
    checkRate('LinearDecay', 'endLr', endLr);
    this.total = options.total;
    this.endLr = endLr;
  }

  lrAt(t: number): number {
    checkIndex(this.type, t);
    return this.endLr + (this.baseLr - this.endLr) * (1 - Math.min(t, this.total) / this.total);
  }
}
