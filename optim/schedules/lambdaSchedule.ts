import type { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex } from './schedule.js';

/**
 * Keras's LearningRateScheduler: the rate comes from a function of the epoch (from 0) and the current
 * rate, `fn(epoch, lr)`. As in Keras, `lr` is the optimizer's rate at the time of the call, so
 * `(epoch, lr) => lr * 0.9` compounds epoch after epoch; `lrAt` is pure only when `fn` ignores `lr`.
 * A result that is not a finite number >= 0 is a RangeError naming the epoch.
 *
 * Construction applies `fn(0, lr)` (the schedule starts at epoch 0, as every schedule does), and stepping
 * to the epoch it is already at changes nothing: `fit`'s `step(epoch)` at the start of epoch 0, or of the
 * epoch a resumed run finishes, must not compound `lr * 0.9` a second time.
 */
export class LambdaSchedule extends Schedule {
  /** The class name. */
  readonly type = 'LambdaSchedule';

  constructor(
    optimizer: Optimizer<any>,
    /** The rate of epoch `epoch`, given the optimizer's current rate `lr`. */
    readonly fn: (epoch: number, lr: number) => number,
  ) {
    super(optimizer);
    if (typeof fn !== 'function') throw new TypeError('LambdaSchedule: expected a function (epoch, lr) => rate');
    this.optimizer.lr = this.lrAt(0);
  }

  override step(t: number = this.last + 1): number {
    if (t === this.last) return this.optimizer.lr;
    return super.step(t);
  }

  lrAt(t: number): number {
    checkIndex(this.type, t);
    const lr = this.fn(t, this.optimizer.lr);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new RangeError(`LambdaSchedule: the function returned ${String(lr)} for epoch ${t}, expected a finite rate >= 0`);
    }
    return lr;
  }
}
