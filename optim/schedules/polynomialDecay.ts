import type { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex, checkPositiveInt } from './schedule.js';

/**
 * PyTorch's PolynomialLR in closed form: the rate falls to 0 along a polynomial over `total` epochs and
 * stays there. Defaults: total 5, power 1 (PyTorch's; power 1 is a straight line, LinearDecay's shape).
 *
 *     lr(t) = lr0 * (1 - min(t, total) / total)^power
 *
 * @example
 * ```ts
 * import { Tensor, SGD, PolynomialDecay } from 'tapegrad';
 *
 * const optimizer = new SGD([Tensor.zeros([1], { requiresGrad: true })], { lr: 0.001 });
 * const schedule = new PolynomialDecay(optimizer, { total: 4 });
 * console.log([0, 1, 2, 3, 4, 5].map((epoch) => schedule.lrAt(epoch))); // => [0.001, 0.00075, 0.0005, 0.00025, 0, 0]
 * ```
 */
export class PolynomialDecay extends Schedule {
  /** The class name. */
  readonly type = 'PolynomialDecay';
  /** The epoch at which the rate reaches 0. */
  readonly total: number;
  /** The polynomial's power. */
  readonly power: number;

  constructor(optimizer: Optimizer<any>, options: { total?: number; power?: number } = {}) {
    super(optimizer);
    const total = options.total ?? 5;
    const power = options.power ?? 1;
    checkPositiveInt('PolynomialDecay', 'total', total);
    if (!(power > 0 && Number.isFinite(power))) throw new RangeError(`PolynomialDecay: invalid power ${power}, expected a finite power > 0`);
    this.total = total;
    this.power = power;
  }

  lrAt(t: number): number {
    checkIndex(this.type, t);
    return this.baseLr * Math.pow(1 - Math.min(t, this.total) / this.total, this.power);
  }
}
