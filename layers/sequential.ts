import { FormatError, Tensor } from '../engine/index.js';
import { layerFromConfig } from './config.js';
import { Dense } from './dense.js';
import { Layer, type LayerConfig, fmtShapeB } from './layer.js';
import { Softmax } from './softmax.js';
import { ReLU } from './relu.js';

/**
 * Layers applied in order (Keras `Sequential`, PyTorch `nn.Sequential`). Sublayers are named by their
 * index, so the state dict reads `0.weight`, `0.bias`, `2.running_mean`, ... as PyTorch's does.
 * `train()`/`eval()` reach every layer, nested Sequentials included.
 *
 * When the shapes are known (the first shaped layer, e.g. a Dense, fixes the input width), they are
 * checked as layers are added, so `Dense(784, 300)` followed by `Dense(200, 10)` fails at build time.
 */
export class Sequential extends Layer {
  readonly type = 'Sequential';
  readonly layers: Layer[] = [];

  constructor(layers: readonly Layer[] = []) {
    super();
    for (const layer of layers) this.add(layer);
  }

  /** Appends a layer (Keras's `model.add`). Returns this. */
  add(layer: Layer): this {
    if (!(layer instanceof Layer)) throw new TypeError(`Sequential.add: expected a Layer, got ${String(layer)}`);
    if (this.layers.includes(layer)) throw new RangeError(`Sequential.add: the same ${layer.type} layer object was added twice; make a new one`);
    this.layers.push(layer);
    layer.setPath(this.path === '' ? String(this.layers.length - 1) : `${this.path}.${this.layers.length - 1}`);
    layer.train(this.training);
    try {
      this.shapes();
    } catch (e) {
      this.layers.pop();
      layer.setPath('');
      throw e;
    }
    return this;
  }

  get length(): number {
    return this.layers.length;
  }

  forward(x: Tensor): Tensor {
    return this.forwardRange(x, this.layers.length);
  }

  /**
   * Layers [0, end) in order. A Dense followed by a ReLU runs as one fused op (bias, ReLU and their
   * backward in one pass each: engine/ops/linear.ts `linear` with `{ relu: true }`); the result is the same.
   */
  private forwardRange(x: Tensor, end: number): Tensor {
    let y = x;
    for (let i = 0; i < end; i++) {
      const layer = this.layers[i];
      const next = this.layers[i + 1];
      if (i + 1 < end && layer instanceof Dense && layer.activation === 'linear' && next instanceof ReLU) {
        y = layer.forwardLinearRelu(y);
        i++;
      } else {
        y = layer.forward(y);
      }
    }
    return y;
  }

  /** True when the model ends in probabilities: a Softmax layer, or a Dense with activation 'softmax'. */
  get endsInSoftmax(): boolean {
    const last = this.layers[this.layers.length - 1];
    if (last === undefined) return false;
    if (last instanceof Sequential) return last.endsInSoftmax;
    return last instanceof Softmax || (last instanceof Dense && last.activation === 'softmax');
  }

  /**
   * The forward pass up to the logits: a trailing softmax (layer or Dense activation) is left out, so
   * the training loss can use the fused, stable cross-entropy on logits. Same as `forward` otherwise.
   */
  forwardLogits(x: Tensor): Tensor {
    if (!this.endsInSoftmax) return this.forward(x);
    const n = this.layers.length;
    const y = this.forwardRange(x, n - 1);
    const last = this.layers[n - 1];
    if (last instanceof Sequential) return last.forwardLogits(y);
    if (last instanceof Dense) return last.forwardLinear(y);
    return y;
  }

  override children(): [string, Layer][] {
    return this.layers.map((layer, i) => [String(i), layer]);
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
