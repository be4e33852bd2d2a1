import { Tensor } from '../engine/index.js';
import { Layer, type LayerConfig } from './layer.js';

/** 1 / (1 + e^(−x)), elementwise. */
export class Sigmoid extends Layer {
  readonly type = 'Sigmoid';

  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }

  config(): LayerConfig {
    return { type: 'Sigmoid' };
  }
}
