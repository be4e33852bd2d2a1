import { reluBackward, reluForward } from '../compute.js';
import { allocUninit } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = max(0, x); dx = dout where x > 0 (0 at x = 0: see kernels/activation.ts). */
export function relu(x: Tensor): Tensor {
  const out = allocUninit(x.size);
  reluForward(out, x.data, x.size);
  return record(new Tensor(out, x.shape), 'relu', [x], ({ data: dout }) => {
    const dinp = allocUninit(dout.length);
    reluBackward(dinp, dout, out, dout.length);
    return [new Tensor(dinp, x.shape)];
  });
}
