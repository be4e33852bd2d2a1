import { Tensor } from '../engine/index.js';
import { Layer, type LayerConfig } from './layer.js';

/** tanh(x), elementwise. */
export class Tanh extends Layer {
  readonly type = 'Tanh';

  forward(x: Tensor): Tensor {
    return x.tanh();
  }

  config(): LayerConfig {
    return { type: 'Tanh' };
  }
}
