import type { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex, checkRate } from './schedule.js';

/**
 * Keras's time-based decay (the `decay` argument of Keras 2's SGD, reference article 000) as an epoch
 * schedule:  lr(t) = lr0 / (1 + decay * t).  SGD's own `decay` applies the same formula per batch
 * (t = iterations); this one moves once per epoch. Article 000's choice decay = lr0 / epochs is common.
 */
export class TimeBasedDecay extends Schedule {
  /** The class name. */
  readonly type = 'TimeBasedDecay';
  /** lr0 / (1 + decay × t). */
  readonly decay: number;

  constructor(optimizer: Optimizer<any>, options: { decay: number }) {
    super(optimizer);
    checkRate('TimeBasedDecay', 'decay', options.decay);
    this.decay = options.decay;
  }

  lrAt(t: number): number {
    checkIndex(this.type, t);
    return this.baseLr / (1 + this.decay * t);
  }
}
