import { FormatError, Tensor } from '../engine/index.js';
import { layerFromConfig } from './config.js';
import { Layer, type LayerConfig, fmtShapeB } from './layer.js';

/** One step of the forward pass: a layer, or two that run fused (Dense + ReLU). */
interface Stage {
  forward(x: Tensor): Tensor;
  forwardLogits(x: Tensor): Tensor;
}

/**
 * Layers applied in order (Keras `Sequential`, PyTorch `nn.Sequential`). Sublayers are named by their
 * index, so the state dict reads `0.weight`, `0.bias`, `2.running_mean`, ... as PyTorch's does.
 * `train()`/`eval()` reach every layer, nested Sequentials included.
 *
 * When the shapes are known (the first shaped layer, e.g. a Dense, fixes the input width), they are
 * checked as layers are added, so `Dense(784, 300)` followed by `Dense(200, 10)` fails at build time.
 *
 * @example
 * ```ts
 * import { Sequential, Dense, ReLU, Tensor, Rng } from 'tapegrad';
 *
 * const rng = new Rng(1);
 * const model = new Sequential([new Dense(4, 8, { rng }), new ReLU(), new Dense(8, 3, { rng })]);
 * console.log(Object.keys(model.stateDict())); // => ['0.weight', '0.bias', '2.weight', '2.bias']
 * console.log(model.parameterCount()); // => 67
 * console.log(model.forward(Tensor.zeros([5, 4])).shape); // => [5, 3]
 * console.log(model.predict([[0, 0, 0, 0]]).toArray()); // => [[0, 0, 0]]
 * ```
 */
export class Sequential extends Layer {
  readonly type = 'Sequential';
  /** The layers in order. Read-only: add layers with `add`, so that the plan below stays right. */
  get layers(): readonly Layer[] {
    return this.list;
  }

  private readonly list: Layer[] = [];
  /**
   * How `forward` runs the layers, decided once per `add` rather than on every call: each layer on its
   * own, except pairs that fuse (a Dense followed by a ReLU runs as one op, engine/ops/linear.ts `linear`
   * with `{ relu: true }`: the bias, the ReLU and their backward in one pass each, the same bits).
   */
  private stages: Stage[] = [];

  constructor(layers: readonly Layer[] = []) {
    super();
    for (const layer of layers) this.add(layer);
  }

  /** Appends a layer (Keras's `model.add`). Returns this. */
  add(layer: Layer): this {
    if (!(layer instanceof Layer)) throw new TypeError(`Sequential.add: expected a Layer, got ${String(layer)}`);
    if (this.list.includes(layer)) throw new RangeError(`Sequential.add: the same ${layer.type} layer object was added twice; make a new one`);
    this.list.push(layer);
    layer.setPath(this.path === '' ? String(this.list.length - 1) : `${this.path}.${this.list.length - 1}`);
    layer.train(this.training);
    try {
      this.shapes();
    } catch (e) {
      this.list.pop();
      layer.setPath('');
      throw e;
    }
    this.stages = plan(this.list);
    return this;
  }

  /** The number of layers. */
  get length(): number {
    return this.list.length;
  }

  /** Each layer in turn (a Dense followed by a ReLU as one fused op: the same values). */
  forward(x: Tensor): Tensor {
    let y = x;
    for (const stage of this.stages) y = stage.forward(y);
    return y;
  }

  /** Every stage forward, the last one up to its logits (a trailing Softmax gives its input). */
  override forwardLogits(x: Tensor): Tensor {
    const n = this.stages.length;
    let y = x;
    for (let i = 0; i < n - 1; i++) y = this.stages[i].forward(y);
    return n === 0 ? y : this.stages[n - 1].forwardLogits(y);
  }

  override children(): [string, Layer][] {
    return this.list.map((layer, i) => [String(i), layer]);
  }

  override inputShape(): number[] | null {
    return this.firstKnownInput();
  }

  override outputShape(input: readonly number[]): number[] {
    let shape = [...input];
    for (const layer of this.layers) shape = layer.outputShape(shape);
    return shape;
  }

  /**
   * Each layer's output shape from `input` (default: what the first shaped layer requires), checking
   * that they fit. Null when no input shape is known.
   */
  shapes(input?: readonly number[]): number[][] | null {
    const start = input ?? this.firstKnownInput();
    if (start === null) return null;
    const out: number[][] = [];
    let shape = [...start];
    for (const layer of this.layers) {
      shape = layer.outputShape(shape);
      out.push(shape);
    }
    return out;
  }

  /** The input of layer 0 when a leading run of shape-preserving layers ends in one that knows its input. */
  private firstKnownInput(): number[] | null {
    for (const layer of this.layers) {
      const s = layer.inputShape();
      if (s !== null) return s;
      // Only layers that pass any shape through (activations, Dropout, LayerNorm...) can be looked past.
      let probe: number[];
      try {
        probe = layer.outputShape([-1, 7, 3]);
      } catch {
        return null;
      }
      if (probe.length !== 3 || probe[1] !== 7 || probe[2] !== 3) return null;
    }
    return null;
  }

  /**
   * A table of the layers (Keras's `model.summary()`): index, layer, output shape, parameter count,
   * and the total. `input` is the input shape, e.g. [-1, 28, 28] (-1, the batch, prints as B).
   */
  summary(input?: readonly number[]): string {
    const shapes = this.shapes(input);
    const rows = this.layers.map((layer, i) => [
      String(i),
      layer.describe(),
      shapes === null ? '?' : fmtShapeB(shapes[i]),
      String(layer.parameterCount()),
    ]);
    const header = ['#', 'layer', 'output shape', 'params'];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const line = (cells: string[]): string => cells.map((s, c) => (c === 3 ? s.padStart(widths[c]) : s.padEnd(widths[c]))).join('  ').trimEnd();
    const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
    const trainable = this.parameterCount();
    return [line(header), rule, ...rows.map(line), rule, `total parameters: ${trainable}`].join('\n');
  }

  config(): LayerConfig {
    return { type: 'Sequential', layers: this.layers.map((l) => l.config()) };
  }

  /**
   * Rebuilds a model from `config()` (a `{ type: 'Sequential', layers }` object, or just the list of
   * layer configs). The weights are freshly initialized: load them with `loadStateDict`.
   */
  static fromConfig(cfg: readonly LayerConfig[] | LayerConfig): Sequential {
    const list = Array.isArray(cfg) ? cfg : (cfg as LayerConfig).layers;
    if (!Array.isArray(list)) {
      throw new FormatError(`Sequential.fromConfig: expected a list of layer configs or { type: 'Sequential', layers: [...] }, got ${JSON.stringify(cfg)}`);
    }
    return new Sequential(list.map((c: LayerConfig, i: number) => layerFromConfig(c, `layer ${i}`)));
  }
}

/** The stages of `layers`: a pair that fuses (`fusedWith`) is one stage, every other layer its own. */
function plan(layers: readonly Layer[]): Stage[] {
  const stages: Stage[] = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const fused = i + 1 < layers.length ? layer.fusedWith(layers[i + 1]) : null;
    if (fused !== null) {
      // The pair ends in its second layer's output (a ReLU's), which is also its logits.
      stages.push({ forward: fused, forwardLogits: fused });
      i++;
    } else {
      stages.push({ forward: (x) => layer.forward(x), forwardLogits: (x) => layer.forwardLogits(x) });
    }
  }
  return stages;
}
