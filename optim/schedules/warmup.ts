import { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex, checkPositiveInt } from './schedule.js';
import type { ScheduleState, ScheduleUnit } from './schedule.js';

/** The rate the optimizer had at construction, for ever: what Warmup wraps when given an optimizer. */
class ConstantLr extends Schedule {
  readonly type = 'ConstantLr';

  lrAt(t: number): number {
    checkIndex(this.type, t);
    return this.baseLr;
  }
}

/**
 * Linear warm-up in front of any schedule (or of a constant rate, when given an optimizer). It scales
 * the wrapped schedule's rate by the factor of PyTorch's LinearLR (end_factor 1), as chaining the two
 * schedulers would:
 *
 *     lr(t) = inner.lrAt(t) * (startFactor + (1 - startFactor) * min(t, steps) / steps)
 *
 * so the rate starts at startFactor times the schedule's (default 1/3, PyTorch's) and joins it at t =
 * steps. t is the wrapped schedule's index (epochs, or batches for a per-batch schedule): warm-up does
 * not delay the schedule, it tempers its first steps (Goyal et al. 2017 warm up the same way).
 */
export class Warmup extends Schedule {
  /** The class name. */
  readonly type = 'Warmup';
  override readonly stepsOn: ScheduleUnit;
  /** The schedule it warms up. */
  readonly inner: Schedule;
  /** Indices of warm-up: the factor reaches 1 at t = steps. */
  readonly steps: number;
  /** The factor at t = 0. */
  readonly startFactor: number;

  constructor(inner: Schedule | Optimizer<any>, options: { steps: number; startFactor?: number }) {
    const schedule = inner instanceof Optimizer ? new ConstantLr(inner) : inner;
    super(schedule.optimizer);
    checkPositiveInt('Warmup', 'steps', options.steps);
    const startFactor = options.startFactor ?? 1 / 3;
    if (!(startFactor > 0 && startFactor <= 1)) throw new RangeError(`Warmup: invalid startFactor ${startFactor}, expected 0 < startFactor <= 1`);
    this.inner = schedule;
    this.steps = options.steps;
    this.startFactor = startFactor;
    this.stepsOn = schedule.stepsOn;
    this.baseLr = schedule.baseLr;
    // Like PyTorch's LinearLR, construction leaves the optimizer at t = 0's (tempered) rate.
    this.optimizer.lr = this.lrAt(0);
  }

  /** The warm-up multiplier at t: startFactor at 0, 1 from `steps` on. */
  factorAt(t: number): number {
    checkIndex(this.type, t);
    return this.startFactor + ((1 - this.startFactor) * Math.min(t, this.steps)) / this.steps;
  }

  lrAt(t: number): number {
    return this.inner.lrAt(t) * this.factorAt(t);
  }

  /** Steps the wrapped schedule (so OneCycle still moves momentum), then tempers its rate. */
  override step(t: number = this.last + 1): number {
    const factor = this.factorAt(t);
    const lr = this.inner.step(t) * factor;
    this.optimizer.lr = lr;
    this.last = t;
    return lr;
  }

  override stateDict(): ScheduleState {
    return { ...super.stateDict(), inner: this.inner.stateDict() };
  }

  /** Restores what `stateDict()` returned, the inner schedule's part too. */
  override loadStateDict(state: ScheduleState): void {
    super.loadStateDict(state);
    this.inner.loadStateDict(state.inner as ScheduleState);
  }
}
