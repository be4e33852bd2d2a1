import { kernels } from '../backends/index.js';
import { allocUninit } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = max(0, x); dx = dout where x > 0 (0 at x = 0: see kernels/activation.ts). */
export function relu(x: Tensor): Tensor {
  const out = allocUninit(x.size);
  kernels().reluForward(out, x.data, x.size);
  const y = new Tensor(out, x.shape);
  return record(y, 'relu', [x], ({ data: dout }) => {
    const dinp = allocUninit(dout.length);
    kernels().reluBackward(dinp, dout, y.data, dout.length);
    return [new Tensor(dinp, x.shape)];
  });
}
