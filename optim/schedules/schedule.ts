import type { Optimizer } from '../optimizer.js';

/**
 * The base of the closed-form schedules. A schedule is a function of the epoch index t (counted from 0;
 * for per-batch schedules such as OneCycle, the batch index over the whole run): `lrAt(t)` computes the
 * rate and touches nothing, `step(t)` writes it to the optimizer (every group, through `opt.lr`). As in
 * PyTorch's schedulers, a schedule only writes the rate and never patches the optimizer, so any schedule
 * drives any optimizer. Schedules are applied at the start of an epoch (or before each batch's step).
 *
 * The base rate `baseLr` is the optimizer's rate when the schedule is constructed.
 */
export interface ScheduleState {
  type: string;
  baseLr: number;
  /** The last index passed to `step`, -1 before the first. */
  last: number;
  [key: string]: unknown;
}

export abstract class Schedule {
  abstract readonly type: string;
  /** True for schedules stepped once per batch (OneCycle); the training loop reads it. */
  readonly perBatch: boolean = false;
  baseLr: number;
  last = -1;

  constructor(readonly optimizer: Optimizer<any>) {
    this.baseLr = optimizer.lr;
  }

  /** The rate at index t (epoch, or batch for per-batch schedules), without touching the optimizer. */
  abstract lrAt(t: number): number;

  /** Writes the rate for index t (default: one past the last) to the optimizer and returns it. */
  step(t: number = this.last + 1): number {
    const lr = this.lrAt(t);
    this.optimizer.lr = lr;
    this.last = t;
    return lr;
  }

  /** JSON-able position and base rate, so a resumed run continues the same curve. */
  stateDict(): ScheduleState {
    return { type: this.type, baseLr: this.baseLr, last: this.last };
  }

  loadStateDict(state: ScheduleState): void {
    if (state.type !== this.type) throw new TypeError(`${this.type}.loadStateDict: the state is for ${state.type}`);
    checkRate(this.type, 'baseLr', state.baseLr);
    this.baseLr = state.baseLr;
    this.last = state.last;
  }
}

/** Schedule indices are whole numbers from 0. */
export function checkIndex(op: string, t: number): void {
  if (!Number.isInteger(t) || t < 0) throw new RangeError(`${op}: invalid index ${t}, expected an integer >= 0 (epochs and batches count from 0)`);
}

export function checkRate(op: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${op}: invalid ${name} ${value}, expected a finite ${name} >= 0`);
  }
}

export function checkPositiveInt(op: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${op}: invalid ${name} ${value}, expected an integer > 0`);
}
