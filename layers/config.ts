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
 * Rebuilds a layer from its `config()`. `rng`, when given, draws the fresh initial weights (and a
 * Dropout layer's masks); the weights are then usually overwritten from a state dict.
 */
export type LayerFromConfig = (config: LayerConfig, options: { rng?: Rng }) => Layer;

/** The layer types `layerFromConfig` (and so `load()`) can rebuild, by their config's `type`. */
const registry = new Map<string, LayerFromConfig>();
const builtIn = new Set<string>();

/**
 * Lets `layerFromConfig`, and so `load()`, rebuild a layer of your own (Keras's
 * `register_keras_serializable`): `type` is what its `config()` returns as `type`, `fromConfig` builds
 * one from that config. The built-in layers register through this same table. Registering a user type
 * again replaces it (a module reloaded in a notebook); a built-in type cannot be replaced.
 *
 *   class Scale extends Layer { readonly type = 'Scale'; config() { return { type: 'Scale', features: this.features }; } ... }
 *   registerLayer('Scale', (cfg) => new Scale(cfg.features as number));
 *   const { model } = load('run/best.safetensors');
 */
export function registerLayer(type: string, fromConfig: LayerFromConfig): void {
  if (typeof type !== 'string' || type === '') throw new TypeError(`registerLayer: type must be a non-empty string, got ${JSON.stringify(type)}`);
  if (typeof fromConfig !== 'function') throw new TypeError(`registerLayer('${type}'): fromConfig must be a function (config, { rng }) => Layer`);
  if (builtIn.has(type)) throw new RangeError(`registerLayer('${type}'): ${type} is a built-in layer type and cannot be replaced; give your layer another type name`);
  registry.set(type, fromConfig);
}

/** The registered types, built-in ones first. */
export function registeredLayerTypes(): string[] {
  return [...registry.keys()];
}

/**
 * Rebuilds one layer from its `config()` (as stored in a checkpoint's metadata). Weights are freshly
 * initialized; a state dict restores them. Bad configs and unregistered types are FormatErrors naming
 * where and what.
 */
export function layerFromConfig(cfg: LayerConfig, where = 'layerFromConfig', options: { rng?: Rng } = {}): Layer {
  if (cfg === null || typeof cfg !== 'object' || typeof cfg.type !== 'string') {
    throw new FormatError(`${where}: expected a layer config { type, ... }, got ${JSON.stringify(cfg)}`);
  }
  const fromConfig = registry.get(cfg.type);
  if (fromConfig === undefined) {
    throw new FormatError(
      `${where}: unknown layer type ${JSON.stringify(cfg.type)}; a layer of your own must be registered first: registerLayer(${JSON.stringify(cfg.type)}, (config) => new YourLayer(...))`,
    );
  }
  try {
    return fromConfig(cfg, options);
  } catch (e) {
    if (e instanceof FormatError && e.message.startsWith(where)) throw e;
    throw new FormatError(`${where}: bad ${cfg.type} config ${JSON.stringify(cfg)}: ${(e as Error).message}`);
  }
}

function registerBuiltIn(type: string, fromConfig: LayerFromConfig): void {
  registerLayer(type, fromConfig);
  builtIn.add(type);
}

registerBuiltIn('Dense', (cfg, o) => Dense.fromConfig(cfg, o.rng));
registerBuiltIn('ReLU', () => new ReLU());
registerBuiltIn('Sigmoid', () => new Sigmoid());
registerBuiltIn('Tanh', () => new Tanh());
registerBuiltIn('Softmax', () => new Softmax());
registerBuiltIn('Flatten', () => new Flatten());
registerBuiltIn('Dropout', (cfg, o) => new Dropout(cfg.rate as number, { rng: o.rng }));
registerBuiltIn('BatchNorm', (cfg) =>
  new BatchNorm(cfg.features as number, { momentum: cfg.momentum as number | undefined, eps: cfg.eps as number | undefined, affine: cfg.affine as boolean | undefined }),
);
registerBuiltIn('LayerNorm', (cfg) =>
  new LayerNorm(cfg.features as number, { eps: cfg.eps as number | undefined, elementwiseAffine: cfg.elementwiseAffine as boolean | undefined }),
);
registerBuiltIn('Sequential', (cfg) => Sequential.fromConfig(cfg));
