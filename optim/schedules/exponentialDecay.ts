import type { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex } from './schedule.js';

/** PyTorch's ExponentialLR in closed form:  lr(t) = lr0 * gamma^t  (t = epoch, from 0). */
export class ExponentialDecay extends Schedule {
  /** The class name. */
  readonly type = 'ExponentialDecay';
  /** The factor per epoch: lr0 × gamma^t. */
  readonly gamma: number;

  constructor(optimizer: Optimizer<any>, options: { gamma: number }) {
    super(optimizer);
    if (!(options.gamma > 0 && Number.isFinite(options.gamma))) {
      throw new RangeError(`ExponentialDecay: invalid gamma ${options.gamma}, expected a finite gamma > 0`);
    }
    this.gamma = options.gamma;
  }

  lrAt(t: number): number {
    checkIndex(this.type, t);
    return this.baseLr * Math.pow(this.gamma, t);
  }
}
