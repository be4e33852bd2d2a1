import type { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex, checkPositiveInt, checkRate } from './schedule.js';
import type { ScheduleState } from './schedule.js';

/** Options of `CosineWarmRestarts`: PyTorch's (t0, tMult, minLr), or the cycles' lengths one by one. */
export interface CosineWarmRestartsOptions {
  /** Epochs of the first cycle (PyTorch's T_0). */
  t0?: number;
  /** Each cycle is tMult times as long as the one before, an integer >= 1 (default 1, PyTorch's T_mult). */
  tMult?: number;
  /** Instead of t0 and tMult: each cycle's length in epochs; after the last, cycles of its length repeat. */
  periods?: number[];
  /** The rate at the end of every cycle (default 0, PyTorch's eta_min). */
  minLr?: number;
}

/**
 * SGDR, stochastic gradient descent with warm restarts (Loshchilov & Hutter 2017), as PyTorch's
 * CosineAnnealingWarmRestarts steps it once per epoch: cosine annealing from the optimizer's rate lr0
 * down towards minLr over a cycle of T_i epochs, then straight back to lr0 (the warm restart) for the
 * next, longer cycle. With t_cur the epochs since the last restart:
 *
 *     lr(t) = minLr + (lr0 - minLr) * (1 + cos(pi * t_cur / T_i)) / 2
 *     T_0 = t0,  T_i+1 = T_i * tMult
 *
 * `periods` gives the cycles' lengths instead (after the last, cycles of its length repeat): what the
 * command line makes when `--resume --epochs N` extends a finished cosine run by a new cycle over the
 * added epochs (cycles [10, 5]: the first ten epochs as they were, then five of a new cycle from lr0).
 * The cycle of epoch t is found by adding up whole cycle lengths (integers), not by PyTorch's
 * log(t/T_0·(tMult − 1) + 1)/log(tMult), which can round across a boundary.
 *
 * @example
 * ```ts
 * import { Tensor, SGD, CosineWarmRestarts } from 'tapegrad';
 *
 * const optimizer = new SGD([Tensor.zeros([1], { requiresGrad: true })], { lr: 0.1 });
 * const schedule = new CosineWarmRestarts(optimizer, { t0: 2, tMult: 2 }); // cycles of 2, 4, 8... epochs
 * console.log([0, 1, 2, 3, 4, 5, 6].map((epoch) => schedule.lrAt(epoch))); // => [0.1, 0.05, 0.1, 0.0854, 0.05, 0.0146, 0.1]
 * ```
 */
export class CosineWarmRestarts extends Schedule {
  /** The class name. */
  readonly type = 'CosineWarmRestarts';
  /** The first cycle's length in epochs. */
  readonly t0: number;
  /** Each cycle's length over the one before (1 with explicit periods). */
  readonly tMult: number;
  /** The explicit cycle lengths, or null for t0 × tMult^i. */
  readonly periods: readonly number[] | null;
  /** The rate at the end of every cycle. */
  readonly minLr: number;

  constructor(optimizer: Optimizer<any>, options: CosineWarmRestartsOptions) {
    super(optimizer);
    const op = 'CosineWarmRestarts';
    if (options.periods !== undefined) {
      if (options.t0 !== undefined || options.tMult !== undefined) throw new RangeError(`${op}: give t0 (and tMult) or periods, not both`);
      if (!Array.isArray(options.periods) || options.periods.length === 0) {
        throw new RangeError(`${op}: invalid periods ${JSON.stringify(options.periods)}, expected a non-empty list of cycle lengths`);
      }
      for (const p of options.periods) checkPositiveInt(op, 'period', p);
      this.periods = [...options.periods];
      this.t0 = options.periods[0];
      this.tMult = 1;
    } else {
      if (options.t0 === undefined) throw new RangeError(`${op}: give t0, the first cycle's length in epochs (or periods)`);
      checkPositiveInt(op, 't0', options.t0);
      const tMult = options.tMult ?? 1;
      checkPositiveInt(op, 'tMult', tMult);
      this.periods = null;
      this.t0 = options.t0;
      this.tMult = tMult;
    }
    const minLr = options.minLr ?? 0;
    checkRate(op, 'minLr', minLr);
    this.minLr = minLr;
  }

  /** The cycle of epoch t: where it started and how long it is. */
  cycleAt(t: number): {
    /** The epoch the cycle started at (its warm restart). */
    start: number;
    /** Its length in epochs. */
    length: number;
  } {
    checkIndex(this.type, t);
    let start = 0;
    let k = 0;
    let length = this.periods ? this.periods[0] : this.t0;
    while (t >= start + length) {
      start += length;
      k++;
      length = this.periods ? this.periods[Math.min(k, this.periods.length - 1)] : length * this.tMult;
    }
    return { start, length };
  }

  lrAt(t: number): number {
    const { start, length } = this.cycleAt(t);
    return this.minLr + ((this.baseLr - this.minLr) * (1 + Math.cos((Math.PI * (t - start)) / length))) / 2;
  }

  /**
   * Restores what `stateDict()` returned; also the states the command line wrote for cosine runs before
   * this class existed: a CosineAnnealing state (a run from before `--resume --epochs` extended it) or
   * a `Restarted` one (the cycles, each a CosineAnnealing: the base rate is the first's).
   */
  override loadStateDict(state: ScheduleState): void {
    if (state.type === 'Restarted' && Array.isArray(state.cycles) && state.cycles.length > 0) {
      const first = state.cycles[0] as ScheduleState;
      return super.loadStateDict({ ...first, type: this.type, last: 0 });
    }
    super.loadStateDict(state.type === 'CosineAnnealing' ? { ...state, type: this.type } : state);
  }
}
