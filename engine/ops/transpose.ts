import { ShapeError, fmtShape } from '../errors.js';
import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/**
 * Permutes the axes: out axis i is input axis axes[i] (default: all axes reversed, so a matrix is
 * transposed). The data is copied into the new row-major order. The gradient is the inverse
 * permutation applied to dout.
 */
export function transpose(x: Tensor, axes?: readonly number[]): Tensor {
  const n = x.ndim;
  const perm = axes ? axes.map((a) => (a < 0 ? a + n : a)) : [...Array(n).keys()].reverse();
  const sorted = [...perm].sort((p, q) => p - q);
  if (perm.length !== n || sorted.some((a, i) => a !== i)) {
    throw new ShapeError(`transpose: axes ${fmtShape(axes ?? [])} are not a permutation of the ${n} axes of ${fmtShape(x.shape)}`);
  }
  const shape = perm.map((a) => x.shape[a]);
  const out = alloc(x.size);
  permute(out, x.data, x.shape, perm);
  const inverse = new Array<number>(n);
  perm.forEach((a, i) => (inverse[a] = i));
  return record(new Tensor(out, shape), 'transpose', [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    permute(dinp, dout, shape, inverse);
    return [new Tensor(dinp, x.shape)];
  });
}

/** out[j…] = inp[i…] where out's axis k is inp's axis perm[k]. Walks the output in order. */
function permute(out: Float32Array, inp: Float32Array, shape: readonly number[], perm: readonly number[]): void {
  const n = shape.length;
  const inStrides = new Array<number>(n);
  let s = 1;
  for (let i = n - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const outShape = perm.map((a) => shape[a]);
  const strides = perm.map((a) => inStrides[a]);
  const counter = new Array<number>(n).fill(0);
  let offset = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = inp[offset];
    for (let axis = n - 1; axis >= 0; axis--) {
      counter[axis]++;
      offset += strides[axis];
      if (counter[axis] < outShape[axis]) break;
      offset -= strides[axis] * counter[axis];
      counter[axis] = 0;
    }
  }
}
