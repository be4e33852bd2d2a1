import { FormatError } from '../engine/index.js';
import type { Rng } from '../engine/index.js';
import { BatchNorm } from './batchNorm.js';
import { Dense } from './dense.js';
import { Dropout } from './dropout.js';
import { Flatten } from './flatten.js';
import type { Layer, LayerConfig } from './layer.js';
import { LayerNorm } from './layerNorm.js';
import { ReLU } from './relu.js';
import { Sequential } from './sequential.js';
import { Sigmoid } from './sigmoid.js';
import { Softmax } from './softmax.js';
import { Tanh } from './tanh.js';

/**
 * Rebuilds one layer from its `config()` (as stored in a checkpoint's metadata). Weights are freshly
 * initialized; a state dict restores them. Bad configs are FormatErrors naming where and what.
 */
export function layerFromConfig(cfg: LayerConfig, where = 'layerFromConfig', options: { rng?: Rng } = {}): Layer {
  if (cfg === null || typeof cfg !== 'object' || typeof cfg.type !== 'string') {
    throw new FormatError(`${where}: expected a layer config { type, ... }, got ${JSON.stringify(cfg)}`);
  }
  try {
    switch (cfg.type) {
      case 'Dense':
        return Dense.fromConfig(cfg, options.rng);
      case 'ReLU':
        return new ReLU();
      case 'Sigmoid':
        return new Sigmoid();
      case 'Tanh':
        return new Tanh();
      case 'Softmax':
        return new Softmax();
      case 'Flatten':
        return new Flatten();
      case 'Dropout':
        return new Dropout(cfg.rate as number, { rng: options.rng });
      case 'BatchNorm':
        return new BatchNorm(cfg.features as number, { momentum: cfg.momentum as number | undefined, eps: cfg.eps as number | undefined });
      case 'LayerNorm':
        return new LayerNorm(cfg.features as number, { eps: cfg.eps as number | undefined });
      case 'Sequential':
        return Sequential.fromConfig(cfg);
      default:
        throw new FormatError(`unknown layer type ${JSON.stringify(cfg.type)}`);
    }
  } catch (e) {
    if (e instanceof FormatError && e.message.startsWith(where)) throw e;
    throw new FormatError(`${where}: bad ${String(cfg.type)} config ${JSON.stringify(cfg)}: ${(e as Error).message}`);
  }
}
