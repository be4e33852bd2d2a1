import { Tensor, dropout } from '../engine/index.js';
import type { Rng } from '../engine/index.js';
import { Layer, type LayerConfig, defaultRng } from './layer.js';

/**
 * Inverted dropout (Srivastava et al. 2014; Keras `Dropout`, PyTorch `nn.Dropout`): in training each
 * unit is zeroed with probability `rate` and survivors are scaled by 1/(1 − rate), so every unit's
 * expected value is unchanged and evaluation is the identity, with no rescaling.
 *
 * Each training call draws a fresh mask from `rng` (the engine's `dropout` op), so masks never
 * repeat, and a seeded generator replays the same sequence of masks. Without an `rng`, the layer
 * gets its own from `defaultRng()` (seeded 1000, 1001, ... in construction order). `rng` is public
 * so a checkpoint can save and restore its state (`rng.getState()`/`setState()`, or the model's
 * `rngState()`), which resumes the exact mask sequence.
 *
 * Placed first it is input noise (reference article 001's "visible layer" dropout, rate ≈ 0.2);
 * placed after a hidden layer it drops hidden units.
 */
export class Dropout extends Layer {
  readonly type = 'Dropout';
  /** The probability of zeroing each unit in training, in [0, 1). */
  readonly rate: number;
  /** Where the masks come from (saved in checkpoints for an exact resume). */
  readonly rng: Rng;

  constructor(rate: number, options: { rng?: Rng } = {}) {
    super();
    // At rate 1 nothing survives and the scale 1/(1 − rate) is infinite; NaN fails both tests.
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
      throw new RangeError(`Dropout: rate must be in [0, 1), got ${String(rate)}`);
    }
    this.rate = rate;
    this.rng = options.rng ?? defaultRng();
  }

  forward(x: Tensor): Tensor {
    return this.training ? dropout(x, this.rate, this.rng) : x;
  }

  protected override ownRng(): Rng {
    return this.rng;
  }

  override describe(): string {
    return `Dropout(${this.rate})`;
  }

  config(): LayerConfig {
    return { type: 'Dropout', rate: this.rate };
  }
}
