import { Tensor } from '../engine/index.js';
import { Layer, type LayerConfig } from './layer.js';

/**
 * Probabilities along the last axis: e^(x − max) / Σ e^(x − max) (the engine's stable softmax).
 *
 * Models should end in logits, as in PyTorch. A trailing Softmax (the Keras habit of the reference
 * articles) is for inference: its logits are its input (`forwardLogits`), which is what the fused
 * cross-entropy trains on, so softmax is not applied twice and the loss stays stable.
 */
export class Softmax extends Layer {
  readonly type = 'Softmax';

  forward(x: Tensor): Tensor {
    return x.softmax(-1);
  }

  override forwardLogits(x: Tensor): Tensor {
    return x;
  }

  config(): LayerConfig {
    return { type: 'Softmax' };
  }
}
