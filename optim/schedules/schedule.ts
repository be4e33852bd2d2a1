import type { Optimizer } from '../optimizer.js';

/** What `stateDict()` returns: JSON-able, so a checkpoint's metadata can hold it. */
export interface ScheduleState {
  /** The schedule's class name, checked on load. */
  type: string;
  /** The optimizer's rate when the schedule was made. */
  baseLr: number;
  /** The index the optimizer's rate is at: 0 from construction, then the last index passed to `step`. */
  last: number;
  [key: string]: unknown;
}

/** What moves a schedule: each epoch (most), each batch (OneCycle), or a metric at the end of each epoch (ReduceOnPlateau). */
export type ScheduleUnit = 'epoch' | 'batch' | 'metric';

/**
 * The base of the closed-form schedules. A schedule is a function of the epoch index t (counted from 0;
 * for per-batch schedules such as OneCycle, the batch index over the whole run): `lrAt(t)` computes the
 * rate and touches nothing, `step(t)` writes it to the optimizer (every group, through `opt.lr`). As in
 * PyTorch's schedulers, a schedule only writes the rate and never patches the optimizer, so any schedule
 * drives any optimizer.
 *
 * Two ways to drive one, which give the same rates:
 *   - PyTorch's: a schedule starts at t = 0 (its constructor leaves the optimizer at epoch 0's rate, as
 *     PyTorch's constructors take the initial step), and `step()` with no argument, called after each
 *     epoch, moves to the next: epochs 0, 1, 2, 3 of `ExponentialDecay({ gamma: 0.5 })` from lr 1 train
 *     at 1, 0.5, 0.25, 0.125.
 *   - closed form: `step(t)` at the start of epoch t, which is what `fit` does (and why resuming in the
 *     middle of a run needs no replay).
 *
 * The base rate `baseLr` is the optimizer's rate when the schedule is constructed.
 */
export abstract class Schedule {
  /** The class name, kept in its state so a checkpoint is loaded into the right schedule. */
  abstract readonly type: string;
  /** What `fit` steps it on: 'epoch' (at each epoch's start) or 'batch' (before each step, OneCycle). */
  readonly stepsOn: ScheduleUnit = 'epoch';
  /** The optimizer's rate when the schedule was made: lr0 of the formulas. */
  baseLr: number;
  /** The index the optimizer's rate is at: 0 from construction, then the last `step`'s. */
  last = 0;

  constructor(
    /** The optimizer whose rate it writes. */
    readonly optimizer: Optimizer<any>,
  ) {
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

  /** Restores what `stateDict()` returned (a TypeError for another schedule's state). */
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

/**
 * Writes a cycled momentum to every group: to `betas[0]` where the optimizer has betas (the Adam
 * family, Lion), else to `momentum` (SGD, RMSprop, Muon). OneCycle and Cyclic move it opposite to
 * the rate, as PyTorch's do (its CyclicLR and OneCycleLR use beta1 for optimizers with betas).
 */
export function writeMomentum(optimizer: Optimizer<any>, momentum: number): void {
  for (const group of optimizer.paramGroups as unknown as Record<string, unknown>[]) {
    if (Array.isArray(group.betas)) group.betas = [momentum, group.betas[1]];
    else if (typeof group.momentum === 'number') group.momentum = momentum;
  }
}

/** A TypeError naming the optimizer when no group has a momentum or betas to cycle. */
export function checkCyclableMomentum(op: string, optimizer: Optimizer<any>): void {
  const groups = optimizer.paramGroups as unknown as Record<string, unknown>[];
  if (!groups.some((g) => Array.isArray(g.betas) || typeof g.momentum === 'number')) {
    throw new TypeError(`${op}: ${optimizer.type} has neither momentum nor betas to cycle; pass cycleMomentum: false`);
  }
}
