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

/** What a built-in layer's config puts in its state dict, by name (its own, unprefixed) and shape. */
type StateShapes = (config: LayerConfig) => Array<[string, unknown[]]> | null;
const stateShapesByType = new Map<string, StateShapes>();

function registerBuiltIn(type: string, fromConfig: LayerFromConfig, stateShapes: StateShapes = () => []): void {
  registerLayer(type, fromConfig);
  builtIn.add(type);
  stateShapesByType.set(type, stateShapes);
}

/**
 * The state dict a config describes, by name and shape (`0.weight` → [300, 784]), worked out without
 * building the layers: so `load` can check a checkpoint's architecture against its tensors before it
 * allocates anything (a crafted file's `Dense(100000, 100000)` is refused, not allocated). Null when a
 * layer's type is not a built-in one (a layer of your own says what it holds only once it is built) or
 * its config is malformed (building it then names the problem). A size in the result is the config's value
 * as written, which a file's shapes are compared against, not checked here.
 */
export function stateShapesOf(cfg: LayerConfig): Map<string, unknown[]> | null {
  if (cfg === null || typeof cfg !== 'object' || typeof cfg.type !== 'string' || !builtIn.has(cfg.type)) return null;
  const own = stateShapesByType.get(cfg.type)!(cfg);
  return own === null ? null : new Map(own);
}

registerBuiltIn('Dense', (cfg, o) => Dense.fromConfig(cfg, o.rng), (cfg) => [['weight', [cfg.out, cfg.in]], ...(cfg.useBias === false ? [] : [['bias', [cfg.out]] as [string, unknown[]]])]);
registerBuiltIn('ReLU', () => new ReLU());
registerBuiltIn('Sigmoid', () => new Sigmoid());
registerBuiltIn('Tanh', () => new Tanh());
registerBuiltIn('Softmax', () => new Softmax());
registerBuiltIn('Flatten', () => new Flatten());
registerBuiltIn('Dropout', (cfg, o) => new Dropout(cfg.rate as number, { rng: o.rng }));
registerBuiltIn('BatchNorm', (cfg) =>
  new BatchNorm(cfg.features as number, { momentum: cfg.momentum as number | undefined, eps: cfg.eps as number | undefined, affine: cfg.affine as boolean | undefined }),
(cfg) => [
  ...(cfg.affine === false ? [] : affineShapes(cfg)), ['running_mean', [cfg.features]], ['running_var', [cfg.features]], ['num_batches_tracked', []],
]);
registerBuiltIn('LayerNorm', (cfg) =>
  new LayerNorm(cfg.features as number, { eps: cfg.eps as number | undefined, elementwiseAffine: cfg.elementwiseAffine as boolean | undefined }),
(cfg) => (cfg.elementwiseAffine === false ? [] : affineShapes(cfg)));
registerBuiltIn('Sequential', (cfg) => Sequential.fromConfig(cfg), (cfg) => {
  // A Sequential names its layers' tensors by their index: '0.weight', '2.running_mean'.
  const list = cfg.layers;
  if (!Array.isArray(list)) return null;
  const out: Array<[string, unknown[]]> = [];
  for (let i = 0; i < list.length; i++) {
    const child = stateShapesOf(list[i] as LayerConfig);
    if (child === null) return null;
    for (const [name, shape] of child) out.push([`${i}.${name}`, shape]);
  }
  return out;
});

/** A normalization's learned scale and shift, as its state dict names them. */
function affineShapes(cfg: LayerConfig): Array<[string, unknown[]]> {
  return [['weight', [cfg.features]], ['bias', [cfg.features]]];
}
