import { ShapeError, Tensor, fmtShape, linear } from '../engine/index.js';
import type { Rng } from '../engine/index.js';
import { type Constraint, constraintFromConfig } from './constraints.js';
import { INIT_NAMES, type InitName, initializers } from './init.js';
import { Layer, type LayerConfig, checkSize, defaultRng, fmtShapeB } from './layer.js';
import { type Regularizer, regularizerFromConfig } from './regularizers.js';
import { ReLU } from './relu.js';

/** The activations a `Dense` can apply itself (Keras's `activation=`); 'linear' is none. */
export type ActivationName = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';
const ACTIVATIONS: readonly ActivationName[] = ['linear', 'relu', 'tanh', 'sigmoid', 'softmax'];

/** Options of `Dense`. */
export interface DenseOptions {
  /** Kernel initializer; Keras's default, Glorot-uniform. The bias always starts at zero. */
  init?: InitName;
  /** Add the bias `b` (default true). */
  useBias?: boolean;
  /** A penalty on the weight that `fit` adds to the loss (`l1`, `l2`); default none. */
  kernelRegularizer?: Regularizer | null;
  /** A projection applied to the weight after every optimizer step (`maxNorm`); default none. */
  kernelConstraint?: Constraint | null;
  /** Keras's `activation=` convenience, applied after x·Wᵀ + b. Default 'linear' (none). */
  activation?: ActivationName;
  /** Draws the initial weights; without one, a generator from `defaultRng()` (seeded by construction order). */
  rng?: Rng;
}

/**
 * A fully connected layer, y = x·Wᵀ + b (PyTorch's `nn.Linear` layout: weight [out, in], bias [out];
 * Keras's `Dense` stores the transpose, [in, out]). The product runs on the engine's `linear` op.
 *
 * @example
 * ```ts
 * import { Dense, Tensor } from 'tapegrad';
 *
 * const dense = new Dense(3, 2); // 3 inputs, 2 units
 * console.log(dense.weight.shape); // => [2, 3]
 * console.log(dense.bias!.toArray()); // => [0, 0]
 * dense.weight.data.set([1, 0, 0, 0, 1, 1]); // row o holds the weights into unit o
 * console.log(dense.forward(Tensor.from([[1, 2, 3]])).toArray()); // => [[1, 5]]
 * ```
 */
export class Dense extends Layer {
  readonly type = 'Dense';
  /** Input features (`in`). */
  readonly inFeatures: number;
  /** Units (`out`). */
  readonly outFeatures: number;
  /** W, [out, in] (PyTorch's layout). */
  readonly weight: Tensor;
  /** b, [out]; null with `useBias: false`. */
  readonly bias: Tensor | null;
  /** The initializer the weight was drawn with. */
  readonly init: InitName;
  /** Applied after x·Wᵀ + b. */
  readonly activation: ActivationName;
  /** The weight's penalty, or null. */
  readonly kernelRegularizer: Regularizer | null;
  /** The weight's constraint, or null. */
  readonly kernelConstraint: Constraint | null;

  constructor(inFeatures: number, outFeatures: number, options: DenseOptions = {}) {
    super();
    this.inFeatures = checkSize(inFeatures, 'in (input features)', 'Dense');
    this.outFeatures = checkSize(outFeatures, 'out (units)', 'Dense');
    this.init = options.init ?? 'glorotUniform';
    if (!INIT_NAMES.includes(this.init)) {
      throw new RangeError(`Dense: unknown init ${JSON.stringify(this.init)}, expected one of ${INIT_NAMES.join(', ')}`);
    }
    this.activation = options.activation ?? 'linear';
    if (!ACTIVATIONS.includes(this.activation)) {
      throw new RangeError(`Dense: unknown activation ${JSON.stringify(this.activation)}, expected one of ${ACTIVATIONS.join(', ')}`);
    }
    this.kernelRegularizer = options.kernelRegularizer ?? null;
    this.kernelConstraint = options.kernelConstraint ?? null;
    const rng = options.rng ?? defaultRng();
    this.weight = initializers[this.init]([this.outFeatures, this.inFeatures], rng);
    this.weight.requiresGrad = true;
    this.bias = options.useBias === false ? null : Tensor.zeros([this.outFeatures], { requiresGrad: true });
  }

  /** x·Wᵀ + b, before the activation: the logits when the activation is softmax or sigmoid. */
  forwardLinear(x: Tensor): Tensor {
    this.forwardLinearCheck(x);
    return linear(x, this.weight, this.bias);
  }

  private forwardLinearCheck(x: Tensor): void {
    if (x.ndim !== 2 || x.shape[1] !== this.inFeatures) {
      throw new ShapeError(`${this.where()}: expected input [B,${this.inFeatures}], got ${fmtShape(x.shape)}${x.ndim > 2 ? ' (add a Flatten layer first)' : ''}`);
    }
  }

  /** relu(x·Wᵀ + b) through the fused op: the bias, the ReLU and their backward in one pass each. */
  forwardLinearRelu(x: Tensor): Tensor {
    this.forwardLinearCheck(x);
    return linear(x, this.weight, this.bias, { relu: true });
  }

  /** The activation of x·Wᵀ + b, for `x` of shape [B, in]; a `ShapeError` naming the layer otherwise. */
  forward(x: Tensor): Tensor {
    if (this.activation === 'relu') return this.forwardLinearRelu(x);
    const y = this.forwardLinear(x);
    switch (this.activation) {
      case 'linear':
        return y;
      case 'tanh':
        return y.tanh();
      case 'sigmoid':
        return y.sigmoid();
      case 'softmax':
        return y.softmax(-1);
    }
  }

  /** The pre-activation when the activation is a softmax or a sigmoid (the logits); the output otherwise. */
  override forwardLogits(x: Tensor): Tensor {
    return this.activation === 'softmax' || this.activation === 'sigmoid' ? this.forwardLinear(x) : this.forward(x);
  }

  /** A linear Dense followed by a ReLU runs as one op: `linear` with `{ relu: true }` (same bits). */
  override fusedWith(next: Layer): ((x: Tensor) => Tensor) | null {
    return this.activation === 'linear' && next instanceof ReLU ? (x) => this.forwardLinearRelu(x) : null;
  }

  protected override ownParameters(): [string, Tensor][] {
    return this.bias === null ? [['weight', this.weight]] : [['weight', this.weight], ['bias', this.bias]];
  }

  protected override ownPenalty(): Tensor | null {
    return this.kernelRegularizer === null ? null : this.kernelRegularizer.penalty(this.weight);
  }

  protected override applyOwnConstraints(): void {
    this.kernelConstraint?.apply(this.weight);
  }

  override inputShape(): number[] {
    return [-1, this.inFeatures];
  }

  override outputShape(input: readonly number[]): number[] {
    if (input.length !== 2 || (input[1] >= 0 && input[1] !== this.inFeatures)) {
      throw new ShapeError(`${this.where()}: expected input [B,${this.inFeatures}], got ${fmtShapeB(input)}`);
    }
    return [input[0], this.outFeatures];
  }

  override describe(): string {
    const extras = [this.activation !== 'linear' ? this.activation : '', this.bias === null ? 'no bias' : ''].filter((s) => s !== '');
    return `Dense(${this.inFeatures} → ${this.outFeatures}${extras.length > 0 ? `, ${extras.join(', ')}` : ''})`;
  }

  config(): LayerConfig {
    return {
      type: 'Dense',
      in: this.inFeatures,
      out: this.outFeatures,
      useBias: this.bias !== null,
      init: this.init,
      activation: this.activation,
      kernelRegularizer: this.kernelRegularizer?.config() ?? null,
      kernelConstraint: this.kernelConstraint?.config() ?? null,
    };
  }

  /** A new Dense from its `config()` (fresh weights, drawn from `rng`; the values come from a state dict). */
  static fromConfig(cfg: LayerConfig, rng?: Rng): Dense {
    return new Dense(cfg.in as number, cfg.out as number, {
      init: (cfg.init as InitName | undefined) ?? 'glorotUniform',
      useBias: cfg.useBias !== false,
      activation: (cfg.activation as ActivationName | undefined) ?? 'linear',
      kernelRegularizer: regularizerFromConfig(cfg.kernelRegularizer),
      kernelConstraint: constraintFromConfig(cfg.kernelConstraint),
      rng,
    });
  }
}
