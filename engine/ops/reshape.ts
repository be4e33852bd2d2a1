import { ShapeError, fmtShape } from '../errors.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/**
 * The same values under a new shape (one size may be −1: "whatever is left"). Row-major order does
 * not change, so the output shares the input's storage and the gradient is dout, reshaped back.
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = [...shape];
  const unknown = target.indexOf(-1);
  if (unknown !== target.lastIndexOf(-1)) throw new ShapeError(`reshape: only one size may be -1, got ${fmtShape(shape)}`);
  const known = target.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
  if (unknown >= 0) {
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} values) to ${fmtShape(shape)}`);
    }
    target[unknown] = x.size / known;
  }
  if (target.some((d) => !Number.isInteger(d) || d < 0) || target.reduce((p, d) => p * d, 1) !== x.size) {
    throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} values) to ${fmtShape(shape)}`);
  }
  return record(new Tensor(x.data, target), 'reshape', [x], (dout) => [new Tensor(dout.data, x.shape)]);
}
