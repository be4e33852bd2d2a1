import { kernels } from '../backends/index.js';
import { allocUninit } from '../memory.js';
import type { Rng } from '../rng.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/**
 * Inverted dropout (training only; the Dropout layer skips it in eval): zero each unit with
 * probability `rate`, scale the survivors by 1/(1 − rate). A fresh mask is drawn from `rng` on
 * every call. `rate` must be in [0, 1): at 1 nothing survives and the scale is infinite.
 */
export function dropout(x: Tensor, rate: number, rng: Rng): Tensor {
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
    throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
  }
  if (rate === 0) return x;
  const out = allocUninit(x.size);
  const mask = allocUninit(x.size);
  kernels().dropoutForward(out, mask, x.data, rate, rng, x.size); // kernels/dropout.ts
  return record(new Tensor(out, x.shape), `dropout(${rate})`, [x], ({ data: dout }) => {
    const dinp = allocUninit(dout.length);
    kernels().dropoutBackward(dinp, dout, mask, dout.length);
    return [new Tensor(dinp, x.shape)];
  }, [mask]);
}
