import type { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex, checkPositiveInt, checkRate } from './schedule.js';

/**
 * PyTorch's CosineAnnealingLR, in its closed form (the SGDR curve without restarts):
 *
 *     lr(t) = minLr + (lr0 - minLr) * (1 + cos(pi * t / tMax)) / 2
 *
 * lr0 at t = 0, minLr at t = tMax. Like PyTorch's closed form it is not clamped: past tMax the
 * cosine climbs back towards lr0 (set tMax to the number of epochs to end at minLr).
 *
 * @example
 * ```ts
 * import { Tensor, SGD, CosineAnnealing } from 'tapegrad';
 *
 * const optimizer = new SGD([Tensor.zeros([1], { requiresGrad: true })], { lr: 0.1 });
 * const schedule = new CosineAnnealing(optimizer, { tMax: 10, minLr: 0.001 });
 * console.log([0, 5, 10].map((epoch) => schedule.lrAt(epoch))); // => [0.1, 0.0505, 0.001]
 * schedule.step(); // PyTorch's pattern: after each epoch, move to the next
 * console.log(optimizer.lr); // => 0.0976
 * ```
 */
export class CosineAnnealing extends Schedule {
  /** The class name. */
  readonly type = 'CosineAnnealing';
  /** The epoch at which the rate reaches `minLr`. */
  readonly tMax: number;
  /** The lowest rate. */
  readonly minLr: number;

  constructor(optimizer: Optimizer<any>, options: { tMax: number; minLr?: number }) {
    super(optimizer);
    checkPositiveInt('CosineAnnealing', 'tMax', options.tMax);
    const minLr = options.minLr ?? 0;
    checkRate('CosineAnnealing', 'minLr', minLr);
    this.tMax = options.tMax;
    this.minLr = minLr;
  }

  lrAt(t: number): number {
    checkIndex(this.type, t);
    return this.minLr + ((this.baseLr - this.minLr) * (1 + Math.cos((Math.PI * t) / this.tMax))) / 2;
  }
}
