import { kernels } from '../backends/index.js';
import { allocUninit } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = tanh x; tanh' = 1 − tanh², so backward needs only the output. */
export function tanh(x: Tensor): Tensor {
  const out = allocUninit(x.size);
  kernels().tanhForward(out, x.data, x.size);
  const y = new Tensor(out, x.shape);
  return record(y, 'tanh', [x], ({ data: dout }) => {
    const dinp = allocUninit(dout.length);
    kernels().tanhBackward(dinp, dout, y.data, dout.length);
    return [new Tensor(dinp, x.shape)];
  });
}
