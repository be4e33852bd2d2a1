import { Tensor } from '../engine/index.js';
import { Layer, type LayerConfig } from './layer.js';

/**
 * 1 / (1 + e^(−x)), elementwise. As the last layer (a binary classifier's probability) its logits are
 * its input (`forwardLogits`): binary cross-entropy trains on them in its stable log-sigmoid form.
 */
export class Sigmoid extends Layer {
  readonly type = 'Sigmoid';

  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }

  override forwardLogits(x: Tensor): Tensor {
    return x;
  }

  config(): LayerConfig {
    return { type: 'Sigmoid' };
  }
}
