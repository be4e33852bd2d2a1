import type { Optimizer } from '../optimizer.js';
import { Schedule, checkCyclableMomentum, checkIndex, checkPositiveInt, writeMomentum } from './schedule.js';

/** Options of `OneCycle` (PyTorch's `OneCycleLR` names and defaults). */
export interface OneCycleOptions {
  /** The peak rate (default: the optimizer's rate at construction). */
  maxLr?: number;
  /** Batches in the whole run; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  /** Epochs in the run (with `stepsPerEpoch`, instead of `totalSteps`). */
  epochs?: number;
  /** Batches per epoch (with `epochs`). */
  stepsPerEpoch?: number;
  /** Fraction of the run spent raising the rate (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear' interpolation inside each phase. */
  annealStrategy?: 'cos' | 'linear';
  /** Move momentum (SGD's, RMSprop's) or beta1 (Adam's family) opposite to the rate (default true). */
  cycleMomentum?: boolean;
  /** The lowest momentum, at the peak rate (default 0.85). */
  baseMomentum?: number;
  /** The highest momentum, at the lowest rates (default 0.95). */
  maxMomentum?: number;
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Smith's original three phases (up, back down to initialLr, then annihilation) instead of two. */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: number;
  endLr: number;
  startMomentum: number;
  endMomentum: number;
}

/**
 * The 1cycle policy (Smith & Topin 2018) exactly as PyTorch's OneCycleLR defines it, stepped once per
 * batch, with its defaults: pctStart 0.3, cos annealing, divFactor 25, finalDivFactor 1e4, two phases,
 * momentum cycled between 0.85 and 0.95. With T = totalSteps, initialLr = maxLr / divFactor and
 * minLr = initialLr / finalDivFactor:
 *
 *     phase 1, t in [0, pctStart*T - 1]:        lr initialLr -> maxLr,  momentum maxMomentum -> baseMomentum
 *     phase 2, t in (pctStart*T - 1, T - 1]:    lr maxLr -> minLr,      momentum baseMomentum -> maxMomentum
 *     (three phases: up to pctStart*T - 1, back to initialLr by 2*pctStart*T - 2, then down to minLr)
 *
 * inside a phase running from step s to step e, with pct = (t - s) / (e - s):
 *
 *     cos:     value = end + (start - end) * (1 + cos(pi * pct)) / 2
 *     linear:  value = start + (end - start) * pct
 *
 * Like PyTorch, constructing it sets the optimizer to t = 0 (rate initialLr, momentum maxMomentum), and
 * t may run to T inclusive. Momentum is written to `betas[0]` when the optimizer has betas (Adam, AdamW,
 * Nadam), else to `momentum` (SGD, RMSprop).
 *
 * @example
 * ```ts
 * import { Tensor, SGD, OneCycle } from 'tapegrad';
 *
 * const optimizer = new SGD([Tensor.zeros([1], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
 * const schedule = new OneCycle(optimizer, { maxLr: 1, totalSteps: 100 }); // step it once per batch
 * console.log(optimizer.lr); // => 0.04
 * console.log([schedule.lrAt(0), schedule.lrAt(29), schedule.lrAt(99)]); // => [0.04, 1, 0.000004]
 * schedule.step(29);
 * console.log(optimizer.paramGroups[0].momentum); // => 0.85
 * ```
 */
export class OneCycle extends Schedule {
  /** The class name. */
  readonly type = 'OneCycle';
  override readonly stepsOn = 'batch';
  /** Batches in the whole run, T. */
  readonly totalSteps: number;
  /** The peak rate. */
  readonly maxLr: number;
  /** Whether momentum (or beta1) moves opposite to the rate. */
  readonly cycleMomentum: boolean;
  /** How each phase interpolates. */
  readonly annealStrategy: 'cos' | 'linear';
  private readonly phases: Phase[];

  constructor(optimizer: Optimizer<any>, options: OneCycleOptions) {
    super(optimizer);
    const op = 'OneCycle';
    const totalSteps = options.totalSteps ?? (options.epochs !== undefined && options.stepsPerEpoch !== undefined ? options.epochs * options.stepsPerEpoch : undefined);
    if (totalSteps === undefined) throw new RangeError(`${op}: give totalSteps, or epochs and stepsPerEpoch`);
    checkPositiveInt(op, 'totalSteps', totalSteps);
    const maxLr = options.maxLr ?? optimizer.lr;
    if (!(maxLr > 0 && Number.isFinite(maxLr))) throw new RangeError(`${op}: invalid maxLr ${maxLr}, expected a finite maxLr > 0`);
    const pctStart = options.pctStart ?? 0.3;
    if (!(pctStart >= 0 && pctStart <= 1)) throw new RangeError(`${op}: invalid pctStart ${pctStart}, expected 0 <= pctStart <= 1`);
    const anneal = options.annealStrategy ?? 'cos';
    if (anneal !== 'cos' && anneal !== 'linear') throw new RangeError(`${op}: invalid annealStrategy ${String(anneal)}, expected 'cos' or 'linear'`);
    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    if (!(divFactor > 0)) throw new RangeError(`${op}: invalid divFactor ${divFactor}, expected divFactor > 0`);
    if (!(finalDivFactor > 0)) throw new RangeError(`${op}: invalid finalDivFactor ${finalDivFactor}, expected finalDivFactor > 0`);
    const baseM = options.baseMomentum ?? 0.85;
    const maxM = options.maxMomentum ?? 0.95;
    if (!(baseM >= 0 && baseM <= maxM && maxM < 1)) {
      throw new RangeError(`${op}: invalid momentum range [${baseM}, ${maxM}], expected 0 <= baseMomentum <= maxMomentum < 1`);
    }
    this.cycleMomentum = options.cycleMomentum ?? true;
    if (this.cycleMomentum) checkCyclableMomentum(op, optimizer);

    const initialLr = maxLr / divFactor;
    const minLr = initialLr / finalDivFactor;
    const T = totalSteps;
    this.phases = options.threePhase
      ? [
          { endStep: pctStart * T - 1, startLr: initialLr, endLr: maxLr, startMomentum: maxM, endMomentum: baseM },
          { endStep: 2 * pctStart * T - 2, startLr: maxLr, endLr: initialLr, startMomentum: baseM, endMomentum: maxM },
          { endStep: T - 1, startLr: initialLr, endLr: minLr, startMomentum: maxM, endMomentum: maxM },
        ]
      : [
          { endStep: pctStart * T - 1, startLr: initialLr, endLr: maxLr, startMomentum: maxM, endMomentum: baseM },
          { endStep: T - 1, startLr: maxLr, endLr: minLr, startMomentum: baseM, endMomentum: maxM },
        ];
    this.totalSteps = totalSteps;
    this.maxLr = maxLr;
    this.annealStrategy = anneal;
    this.baseLr = initialLr;
    this.step(0);
  }

  lrAt(t: number): number {
    return this.at(t).lr;
  }

  /** The momentum (or beta1) at batch t. */
  momentumAt(t: number): number {
    return this.at(t).momentum;
  }

  override step(t: number = this.last + 1): number {
    const { lr, momentum } = this.at(t);
    this.optimizer.lr = lr;
    if (this.cycleMomentum) writeMomentum(this.optimizer, momentum);
    this.last = t;
    return lr;
  }

  private at(t: number): { lr: number; momentum: number } {
    checkIndex(this.type, t);
    if (t > this.totalSteps) throw new RangeError(`OneCycle: step ${t} is past totalSteps ${this.totalSteps}`);
    let start = 0;
    for (let i = 0; i < this.phases.length; i++) {
      const phase = this.phases[i];
      if (t <= phase.endStep || i === this.phases.length - 1) {
        const pct = (t - start) / (phase.endStep - start);
        return {
          lr: this.anneal(phase.startLr, phase.endLr, pct),
          momentum: this.anneal(phase.startMomentum, phase.endMomentum, pct),
        };
      }
      start = phase.endStep;
    }
    throw new Error('OneCycle: unreachable');
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }
}
