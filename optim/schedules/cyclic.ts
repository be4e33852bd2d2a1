import type { Optimizer } from '../optimizer.js';
import { Schedule, checkCyclableMomentum, checkIndex, checkPositiveInt, checkRate, writeMomentum } from './schedule.js';

/** How each cycle's height changes: constant, halved every cycle, or gamma^batch. */
export type CyclicMode = 'triangular' | 'triangular2' | 'expRange';

/** Options of `Cyclic` (PyTorch's `CyclicLR` names, camelCase, and its defaults). */
export interface CyclicOptions {
  /** The bottom of the cycle (default: the optimizer's rate). */
  baseLr?: number;
  /** The top of the cycle. */
  maxLr: number;
  /** Batches from the bottom to the top (default 2000, PyTorch's `step_size_up`). */
  stepSize?: number;
  /** Batches from the top back to the bottom (default: stepSize). */
  stepSizeDown?: number;
  /** 'triangular' (default), 'triangular2' (the height halves every cycle) or 'expRange' (× gamma^batch). */
  mode?: CyclicMode;
  /** expRange's factor per batch (default 1). */
  gamma?: number;
  /** Move momentum (or beta1) opposite to the rate (default true). */
  cycleMomentum?: boolean;
  /** The momentum at the top rate (default 0.8). */
  baseMomentum?: number;
  /** The momentum at the bottom rate (default 0.9). */
  maxMomentum?: number;
}

/**
 * Cyclical learning rates (Smith 2017, "Cyclical Learning Rates for Training Neural Networks", the
 * companion of his range test, optim/lrFinder.ts), exactly as PyTorch's CyclicLR, stepped once per
 * batch. The rate goes linearly from baseLr up to maxLr in `stepSize` batches and back down in
 * `stepSizeDown`, and again; the momentum goes the other way between maxMomentum and baseMomentum.
 * With T = stepSize + stepSizeDown and batch t (from 0):
 *
 *     cycle = floor(1 + t / T);   x = 1 + t / T - cycle                  (position in the cycle, [0, 1))
 *     scale = x <= stepSize/T ? x / (stepSize/T) : (x - 1) / (stepSize/T - 1)        (0 → 1 → 0)
 *     lr(t)       = baseLr + (maxLr - baseLr) * scale * f
 *     momentum(t) = maxMomentum - (maxMomentum - baseMomentum) * scale * f
 *     f = 1 (triangular), 1 / 2^(cycle - 1) (triangular2), gamma^t (expRange)
 *
 * Smith's rule of thumb for the two rates: run the range test, take maxLr where the loss still falls
 * and baseLr a third or a quarter of it; a stepSize of 2-10 epochs' batches. Like PyTorch, making it
 * sets the optimizer to t = 0 (rate baseLr, momentum maxMomentum). Momentum is written to `betas[0]`
 * for optimizers with betas (the Adam family, Lion), as PyTorch 2 does; PyTorch 1.13 refused them.
 *
 * @example
 * ```ts
 * import { Tensor, SGD, Cyclic } from 'tapegrad';
 *
 * const optimizer = new SGD([Tensor.zeros([1], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
 * const schedule = new Cyclic(optimizer, { baseLr: 0.01, maxLr: 0.1, stepSize: 4 }); // per batch
 * console.log([0, 2, 4, 6, 8].map((t) => schedule.lrAt(t))); // => [0.01, 0.055, 0.1, 0.055, 0.01]
 * schedule.step(4);
 * console.log(optimizer.paramGroups[0].momentum); // => 0.8
 * ```
 */
export class Cyclic extends Schedule {
  /** The class name. */
  readonly type = 'Cyclic';
  override readonly stepsOn = 'batch';
  /** The top of the cycle. */
  readonly maxLr: number;
  /** Batches up. */
  readonly stepSize: number;
  /** Batches down. */
  readonly stepSizeDown: number;
  /** How each cycle's height changes. */
  readonly mode: CyclicMode;
  /** expRange's factor per batch. */
  readonly gamma: number;
  /** Whether momentum (or beta1) moves opposite to the rate. */
  readonly cycleMomentum: boolean;
  /** The momentum at the top rate. */
  readonly baseMomentum: number;
  /** The momentum at the bottom rate. */
  readonly maxMomentum: number;

  constructor(optimizer: Optimizer<any>, options: CyclicOptions) {
    super(optimizer);
    const op = 'Cyclic';
    const baseLr = options.baseLr ?? optimizer.lr;
    checkRate(op, 'baseLr', baseLr);
    checkRate(op, 'maxLr', options.maxLr);
    const stepSize = options.stepSize ?? 2000;
    const stepSizeDown = options.stepSizeDown ?? stepSize;
    checkPositiveInt(op, 'stepSize', stepSize);
    checkPositiveInt(op, 'stepSizeDown', stepSizeDown);
    const mode = options.mode ?? 'triangular';
    if (mode !== 'triangular' && mode !== 'triangular2' && mode !== 'expRange') {
      throw new RangeError(`${op}: invalid mode ${String(mode)}, expected 'triangular', 'triangular2' or 'expRange'`);
    }
    const gamma = options.gamma ?? 1;
    if (!(gamma > 0 && gamma <= 1)) throw new RangeError(`${op}: invalid gamma ${gamma}, expected 0 < gamma <= 1`);
    const baseM = options.baseMomentum ?? 0.8;
    const maxM = options.maxMomentum ?? 0.9;
    if (!(baseM >= 0 && baseM <= maxM && maxM < 1)) {
      throw new RangeError(`${op}: invalid momentum range [${baseM}, ${maxM}], expected 0 <= baseMomentum <= maxMomentum < 1`);
    }
    this.cycleMomentum = options.cycleMomentum ?? true;
    if (this.cycleMomentum) checkCyclableMomentum(op, optimizer);
    this.baseLr = baseLr;
    this.maxLr = options.maxLr;
    this.stepSize = stepSize;
    this.stepSizeDown = stepSizeDown;
    this.mode = mode;
    this.gamma = gamma;
    this.baseMomentum = baseM;
    this.maxMomentum = maxM;
    this.step(0);
  }

  lrAt(t: number): number {
    const { scale, factor } = this.at(t);
    return this.baseLr + (this.maxLr - this.baseLr) * scale * factor;
  }

  /** The momentum (or beta1) at batch t. */
  momentumAt(t: number): number {
    const { scale, factor } = this.at(t);
    return this.maxMomentum - (this.maxMomentum - this.baseMomentum) * scale * factor;
  }

  override step(t: number = this.last + 1): number {
    const lr = this.lrAt(t);
    this.optimizer.lr = lr;
    if (this.cycleMomentum) writeMomentum(this.optimizer, this.momentumAt(t));
    this.last = t;
    return lr;
  }

  /** PyTorch's get_lr: the position in the cycle (0 at the bottom, 1 at the top) and the height's factor. */
  private at(t: number): { scale: number; factor: number } {
    checkIndex(this.type, t);
    const total = this.stepSize + this.stepSizeDown;
    const ratio = this.stepSize / total;
    const cycle = Math.floor(1 + t / total);
    const x = 1 + t / total - cycle;
    const scale = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
    const factor = this.mode === 'triangular' ? 1 : this.mode === 'triangular2' ? 1 / 2 ** (cycle - 1) : this.gamma ** t;
    return { scale, factor };
  }
}
