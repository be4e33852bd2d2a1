import { kernels } from '../backends/index.js';
import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { axisView } from './reduce.js';

/** softmax along `axis` (default the last): e^(x − max) / Σ e^(x − max). See kernels/softmax.ts. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const { outer, n, inner } = axisView(x.shape, axis, true, 'softmax');
  const out = alloc(x.size);
  kernels().softmaxForward(out, x.data, outer, n, inner);
  const y = new Tensor(out, x.shape);
  return record(y, 'softmax', [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    kernels().softmaxBackward(dinp, dout, y.data, outer, n, inner);
    return [new Tensor(dinp, x.shape)];
  });
}
