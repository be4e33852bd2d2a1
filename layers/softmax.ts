import { Tensor } from '../engine/index.js';
import { Layer, type LayerConfig } from './layer.js';

/**
 * Probabilities along the last axis: e^(x − max) / Σ e^(x − max) (the engine's stable softmax).
 *
 * Models should end in logits, as in PyTorch. A trailing Softmax (the Keras habit of the reference
 * articles) is for inference: the training loop recognises it (`isSoftmax`, or
 * `Sequential.endsInSoftmax`) and takes the fused cross-entropy on its input
 * (`Sequential.forwardLogits`), so softmax is not applied twice and the loss stays stable.
 */
export class Softmax extends Layer {
  readonly type = 'Softmax';
  /** Lets the training loop detect a Softmax without importing this class. */
  readonly isSoftmax = true;

  forward(x: Tensor): Tensor {
    return x.softmax(-1);
  }

  config(): LayerConfig {
    return { type: 'Softmax' };
  }
}
