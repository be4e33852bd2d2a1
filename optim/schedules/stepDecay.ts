import type { Optimizer } from '../optimizer.js';
import { Schedule, checkIndex, checkPositiveInt } from './schedule.js';

/**
 * Step decay: the rate drops by a factor `drop` every `every` epochs (PyTorch's StepLR with
 * gamma = drop, step_size = every):
 *
 *     lr(t) = lr0 * drop^floor(t / every)          t = epoch, from 0
 *
 * Reference article 000 writes `init * pow(drop, floor(1 + epoch) / epochs_drop)`. There `floor` wraps
 * only `1 + epoch`, which is already whole, so the exponent (1 + epoch) / epochs_drop grows every epoch:
 * that is a smooth exponential decay by drop^(1/every) per epoch (and already below lr0 at epoch 0), not
 * a step. The intended `floor((1 + epoch) / every)` steps, one epoch earlier than the form here.
 *
 * @example
 * ```ts
 * import { Tensor, SGD, StepDecay } from 'tapegrad';
 *
 * const optimizer = new SGD([Tensor.zeros([1], { requiresGrad: true })], { lr: 0.1 });
 * const schedule = new StepDecay(optimizer, { drop: 0.5, every: 10 });
 * console.log([0, 9, 10, 25].map((epoch) => schedule.lrAt(epoch))); // => [0.1, 0.1, 0.05, 0.025]
 * schedule.step(10); // at the start of epoch 10 (fit does this)
 * console.log(optimizer.lr); // => 0.05
 * ```
 */
export class StepDecay extends Schedule {
  /** The class name. */
  readonly type = 'StepDecay';
  /** The factor of each drop, in (0, 1]. */
  readonly drop: number;
  /** Epochs between drops. */
  readonly every: number;

  constructor(optimizer: Optimizer<any>, options: { drop?: number; every?: number } = {}) {
    super(optimizer);
    const drop = options.drop ?? 0.5;
    const every = options.every ?? 10;
    if (!(drop > 0 && drop <= 1)) throw new RangeError(`StepDecay: invalid drop ${drop}, expected 0 < drop <= 1`);
    checkPositiveInt('StepDecay', 'every', every);
    this.drop = drop;
    this.every = every;
  }

  lrAt(t: number): number {
    checkIndex(this.type, t);
    return this.baseLr * Math.pow(this.drop, Math.floor(t / this.every));
  }
}
