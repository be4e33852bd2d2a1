import { Tensor } from '../engine/index.js';
import { Layer, type LayerConfig } from './layer.js';

/** max(0, x), elementwise (the engine's relu op: its gradient at 0 is taken as 0). */
export class ReLU extends Layer {
  readonly type = 'ReLU';

  forward(x: Tensor): Tensor {
    return x.relu();
  }

  config(): LayerConfig {
    return { type: 'ReLU' };
  }
}
