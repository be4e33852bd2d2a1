import { kernels } from '../backends/index.js';
import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { axisView } from './reduce.js';

/** log softmax along `axis`: x − logsumexp(x), stable for any logits. See kernels/softmax.ts. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const { outer, n, inner } = axisView(x.shape, axis, true, 'logSoftmax');
  const out = alloc(x.size);
  kernels().logSoftmaxForward(out, x.data, outer, n, inner);
  const y = new Tensor(out, x.shape);
  return record(y, 'logSoftmax', [x], ({ data: dout }) => {
    const dinp = alloc(dout.length);
    kernels().logSoftmaxBackward(dinp, dout, y.data, outer, n, inner);
    return [new Tensor(dinp, x.shape)];
  });
}
