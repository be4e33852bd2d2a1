import { ShapeError, Tensor, fmtShape } from '../engine/index.js';
import { Layer, type LayerConfig } from './layer.js';

/** [B, d1, d2, ...] → [B, d1·d2·...] (Keras `Flatten`, PyTorch `nn.Flatten()`); a view, no copy. */
export class Flatten extends Layer {
  readonly type = 'Flatten';

  forward(x: Tensor): Tensor {
    if (x.ndim < 1) throw new ShapeError(`${this.where()}: expected an input with a batch axis, got ${fmtShape(x.shape)}`);
    const rest = x.shape.slice(1).reduce((p, d) => p * d, 1);
    return x.reshape([x.shape[0], rest]);
  }

  override outputShape(input: readonly number[]): number[] {
    if (input.length < 1) throw new ShapeError(`${this.where()}: expected an input with a batch axis, got ${fmtShape(input)}`);
    const rest = input.slice(1);
    return [input[0], rest.some((d) => d < 0) ? -1 : rest.reduce((p, d) => p * d, 1)];
  }

  config(): LayerConfig {
    return { type: 'Flatten' };
  }
}
