import { kernels } from '../backends/index.js';
import { allocUninit } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** out = 1 / (1 + e⁻ˣ); σ' = σ(1 − σ), so backward needs only the output. */
export function sigmoid(x: Tensor): Tensor {
  const out = allocUninit(x.size);
  kernels().sigmoidForward(out, x.data, x.size); // kernels/activation.ts: two forms, so e^(−x) never overflows
  const y = new Tensor(out, x.shape);
  return record(y, 'sigmoid', [x], ({ data: dout }) => {
    const dinp = allocUninit(dout.length);
    kernels().sigmoidBackward(dinp, dout, y.data, dout.length);
    return [new Tensor(dinp, x.shape)];
  });
}
