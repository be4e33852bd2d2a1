import { ShapeError, fmtShape } from '../errors.js';
import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { axisView } from './reduce.js';

/**
 * Maximum over one axis, or over everything, as PyTorch defines it:
 *
 * - NaN wins: a slice holding a NaN has the maximum NaN, whatever the order of its values (a plain
 *   `v > best` scan would keep a NaN only if it came first). The gradient goes to the first NaN.
 * - Over one axis the gradient flows to the first winning element on a tie (torch.max(x, dim) returns
 *   that index): nudging any other element does not change the max.
 * - Over everything (`axis` undefined) a tie shares the gradient equally between all the winners, as
 *   torch.max(x) does (its backward is evenly_distribute_backward).
 */
export function max(x: Tensor, axis?: number, keepDims = false): Tensor {
  const { outer, n, inner, shape } = axisView(x.shape, axis, keepDims, 'max');
  if (n === 0) throw new ShapeError(`max: cannot take the max over an empty axis of ${fmtShape(x.shape)}`);
  const X = x.data;
  const out = alloc(outer * inner);
  const argmax = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = o * n * inner + i;
      for (let k = 1; k < n && X[best] === X[best]; k++) {
        // X[best] === X[best] is false once best holds a NaN: the first NaN is final.
        const at = (o * n + k) * inner + i;
        const v = X[at];
        if (v > X[best] || v !== v) best = at;
      }
      out[o * inner + i] = X[best];
      argmax[o * inner + i] = best;
    }
  }
  const y = new Tensor(out, shape);
  return record(y, 'max', [x], ({ data: dout }) => {
    const dinp = alloc(x.size);
    if (axis === undefined) {
      const X = x.data; // read again: the tape checks it is still x's
      const m = y.data[0];
      const isWinner = (v: number): boolean => v === m || (m !== m && v !== v);
      let winners = 0;
      for (let j = 0; j < X.length; j++) if (isWinner(X[j])) winners++;
      const share = dout[0] / winners;
      for (let j = 0; j < X.length; j++) if (isWinner(X[j])) dinp[j] = share;
    } else {
      for (let j = 0; j < argmax.length; j++) dinp[argmax[j]] += dout[j];
    }
    return [new Tensor(dinp, x.shape)];
  });
}

