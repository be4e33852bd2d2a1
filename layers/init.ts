import { Tensor, alloc, fmtShape, ShapeError } from '../engine/index.js';
import type { Rng } from '../engine/index.js';

/**
 * Weight initializers. Shapes use PyTorch's layout for a Dense kernel, [out, in], so
 * fanIn = shape[1] (inputs feeding each unit) and fanOut = shape[0]. A 1-D shape (a bias) has
 * fanIn = fanOut = its length. Every random initializer takes a seeded Rng.
 */
export type InitName = 'glorotUniform' | 'heNormal' | 'zeros';

/** Every initializer's name, as `Dense`'s `init` option takes it. */
export const INIT_NAMES: readonly InitName[] = ['glorotUniform', 'heNormal', 'zeros'];

function fans(shape: readonly number[], op: string): { fanIn: number; fanOut: number } {
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  if (shape.length !== 2) throw new ShapeError(`${op}: expected a [out,in] or [n] shape, got ${fmtShape(shape)}`);
  return { fanIn: shape[1], fanOut: shape[0] };
}

/**
 * Glorot (Xavier) uniform, Keras's default kernel initializer (`GlorotUniform`; PyTorch's
 * `xavier_uniform_`): U(−limit, limit) with limit = sqrt(6 / (fanIn + fanOut)), which gives
 * variance 2 / (fanIn + fanOut) and keeps activations and gradients of similar size in both directions.
 */
export function glorotUniform(shape: readonly number[], rng: Rng): Tensor {
  const { fanIn, fanOut } = fans(shape, 'glorotUniform');
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const data = alloc(shape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniformIn(-limit, limit);
  return new Tensor(data, shape);
}

/**
 * He normal (He et al. 2015), as PyTorch's `kaiming_normal_(mode='fan_in', nonlinearity='relu')`:
 * N(0, std²) with std = sqrt(2 / fanIn). ReLU zeroes half its inputs, so the factor 2 keeps the
 * variance of activations constant through depth. (Keras's `HeNormal` draws the same std from a
 * normal truncated at 2σ; we keep the plain normal, whose std is exactly the formula.)
 */
export function heNormal(shape: readonly number[], rng: Rng): Tensor {
  const { fanIn } = fans(shape, 'heNormal');
  const std = Math.sqrt(2 / fanIn);
  const data = alloc(shape.reduce((p, d) => p * d, 1));
  for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
  return new Tensor(data, shape);
}

/** All zeros (Keras's default bias initializer). The rng is accepted for a uniform signature and unused. */
export function zeros(shape: readonly number[], _rng?: Rng): Tensor {
  return Tensor.zeros(shape);
}

/** The initializers by name: `initializers[name](shape, rng)` is a new tensor of that shape. */
export const initializers: Record<InitName, (shape: readonly number[], rng: Rng) => Tensor> = {
  glorotUniform,
  heNormal,
  zeros,
};
