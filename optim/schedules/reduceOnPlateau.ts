import type { Optimizer } from '../optimizer.js';
import { checkRate } from './schedule.js';

/** Options of `ReduceOnPlateau` (PyTorch's names and defaults). */
export interface ReduceOnPlateauOptions {
  /** 'min' (default): lower is better, as for a loss; 'max' for accuracy. */
  mode?: 'min' | 'max';
  /** new rate = rate * factor (default 0.1), factor < 1. */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** How much better counts as better (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): relative to the best; 'abs': an absolute margin. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** The rate never goes below this (default 0). */
  minLr?: number;
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

/** What `ReduceOnPlateau.stateDict()` returns: the best metric so far and the counters. */
export interface ReduceOnPlateauState {
  /** The class name. */
  type: 'ReduceOnPlateau';
  /** The best metric so far (null before the first, or when it was infinite). */
  best: number | null;
  /** Epochs since the last improvement. */
  numBadEpochs: number;
  /** Epochs of cooldown left. */
  cooldownCounter: number;
  /** The last epoch stepped. */
  last: number;
}

/**
 * PyTorch's ReduceLROnPlateau, with its rules and defaults (mode 'min', factor 0.1, patience 10,
 * threshold 1e-4 relative, cooldown 0, minLr 0, eps 1e-8). It is not a closed form: it watches a
 * metric, so it is stateful and `step(metric)` is called once per epoch, after validation.
 *
 *     better:  min/rel: m < best * (1 - threshold)     min/abs: m < best - threshold
 *              max/rel: m > best * (1 + threshold)     max/abs: m > best + threshold
 *     each step: a better metric becomes `best` and resets the bad-epoch count, anything else adds one;
 *     during cooldown the counter ticks down and bad epochs are not counted; when the count exceeds
 *     `patience`: rate = max(rate * factor, minLr) (skipped if that changes it by eps or less), the
 *     cooldown starts and the count resets.
 *
 * It reads the optimizer's current rate, so it composes with anything else that sets it.
 */
export class ReduceOnPlateau {
  /** The class name. */
  readonly type = 'ReduceOnPlateau';
  /** It moves on a metric at each epoch's end, not on the epoch count. */
  readonly stepsOn = 'metric';
  /** Whether lower or higher is better. */
  readonly mode: 'min' | 'max';
  /** new rate = rate × factor. */
  readonly factor: number;
  /** Bad epochs tolerated before a reduction. */
  readonly patience: number;
  /** How much better counts as better. */
  readonly threshold: number;
  /** Whether `threshold` is relative or absolute. */
  readonly thresholdMode: 'rel' | 'abs';
  /** Epochs to wait after a reduction. */
  readonly cooldown: number;
  /** The rate never goes below this. */
  readonly minLr: number;
  /** A reduction smaller than this is skipped. */
  readonly eps: number;
  /** The best metric so far. */
  best: number;
  /** Epochs since the last improvement. */
  numBadEpochs = 0;
  /** Epochs of cooldown left. */
  cooldownCounter = 0;
  /** The last epoch stepped (-1 before the first). */
  last = -1;

  constructor(
    /** The optimizer whose rate it writes. */
    readonly optimizer: Optimizer<any>,
    options: ReduceOnPlateauOptions = {},
  ) {
    const op = 'ReduceOnPlateau';
    this.mode = options.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max') throw new RangeError(`${op}: invalid mode ${String(this.mode)}, expected 'min' or 'max'`);
    this.factor = options.factor ?? 0.1;
    if (!(this.factor >= 0 && this.factor < 1)) throw new RangeError(`${op}: invalid factor ${this.factor}, expected 0 <= factor < 1`);
    this.patience = options.patience ?? 10;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new RangeError(`${op}: invalid patience ${this.patience}, expected an integer >= 0`);
    this.threshold = options.threshold ?? 1e-4;
    checkRate(op, 'threshold', this.threshold);
    this.thresholdMode = options.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') {
      throw new RangeError(`${op}: invalid thresholdMode ${String(this.thresholdMode)}, expected 'rel' or 'abs'`);
    }
    this.cooldown = options.cooldown ?? 0;
    if (!Number.isInteger(this.cooldown) || this.cooldown < 0) throw new RangeError(`${op}: invalid cooldown ${this.cooldown}, expected an integer >= 0`);
    this.minLr = options.minLr ?? 0;
    checkRate(op, 'minLr', this.minLr);
    this.eps = options.eps ?? 1e-8;
    checkRate(op, 'eps', this.eps);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Whether `metric` improves on the best so far by more than the threshold. */
  isBetter(metric: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? metric < best * (1 - threshold) : metric < best - threshold;
    return this.thresholdMode === 'rel' ? metric > best * (1 + threshold) : metric > best + threshold;
  }

  /**
   * Feeds one epoch's metric; returns the rate for the next epoch. Accepts `step(metric)` or, as the
   * training loop calls every schedule, `step(epoch, metric)`.
   */
  step(epochOrMetric: number, metric?: number): number {
    const current = metric ?? epochOrMetric;
    this.last = metric === undefined ? this.last + 1 : epochOrMetric;
    if (this.isBetter(current)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      const old = this.optimizer.lr;
      const next = Math.max(old * this.factor, this.minLr);
      if (old - next > this.eps) this.optimizer.lr = next;
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    return this.optimizer.lr;
  }

  /** JSON-able counters (an infinite `best` is stored as null). */
  stateDict(): ReduceOnPlateauState {
    return {
      type: this.type,
      best: Number.isFinite(this.best) ? this.best : null,
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
      last: this.last,
    };
  }

  /** Restores what `stateDict()` returned. */
  loadStateDict(state: ReduceOnPlateauState): void {
    if (state.type !== this.type) throw new TypeError(`ReduceOnPlateau.loadStateDict: the state is for ${state.type}`);
    this.best = state.best ?? (this.mode === 'min' ? Infinity : -Infinity);
    this.numBadEpochs = state.numBadEpochs;
    this.cooldownCounter = state.cooldownCounter;
    this.last = state.last;
  }
}
