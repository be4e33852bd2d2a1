import { ShapeError, fmtShape } from '../errors.js';
import { gemmNN, gemmNT, gemmTN, kernels } from '../backends/index.js';
import { alloc, allocPersistent, allocUninit } from '../memory.js';
import { gradTarget, record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** Options of `linear`. */
export interface LinearOptions {
  /**
   * Apply ReLU to the result in the same pass as the bias (and mask the gradient in the same pass as
   * the bias gradient): Dense followed by ReLU as one op. The values are the same as `relu(linear(..))`.
   */
  relu?: boolean;
}

let dpreScratch: Float32Array = new Float32Array(0);

/**
 * The Dense layer's op: out = x·Wᵀ + b (then ReLU with `{ relu: true }`), with PyTorch's layout.
 * x is (B,IN), weight is (OUT,IN), bias is (OUT) or null; out is (B,OUT).
 * Backward, the three products of a Dense layer, after ReLU's mask when fused (dpre = dout where out > 0):
 *   dx = dpre·W        (B,OUT)·(OUT,IN)    NN
 *   dW = dpreᵀ·x       (OUT,B)·(B,IN)      TN (dpreᵀ read in place)
 *   db = Σ_b dpre      (OUT)
 * dW and db go straight into the weight's and bias's `.grad` buffers when the tape offers them
 * (gradTarget): no copy after the product.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, options: LinearOptions = {}): Tensor {
  const relu = options.relu ?? false;
  const op = relu ? 'linear+relu' : 'linear';
  if (x.ndim !== 2 || weight.ndim !== 2 || x.shape[1] !== weight.shape[1]) {
    throw new ShapeError(`${op}: input ${fmtShape(x.shape)} and weight ${fmtShape(weight.shape)} do not fit: expected input (B,IN) and weight (OUT,IN)`);
  }
  const [B, IN] = x.shape;
  const OUT = weight.shape[0];
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== OUT)) {
    throw new ShapeError(`${op}: bias ${fmtShape(bias.shape)} does not fit weight ${fmtShape(weight.shape)}: expected [${OUT}]`);
  }
  const out = allocUninit(B * OUT);
  gemmNT(out, x.data, weight.data, B, IN, OUT);
  if (relu) kernels().biasReluForward(out, bias === null ? null : bias.data, B, OUT);
  else if (bias !== null) kernels().biasForward(out, bias.data, B, OUT);
  const parents = bias === null ? [x, weight] : [x, weight, bias];
  const y = new Tensor(out, [B, OUT]);
  return record(y, op, parents, ({ data: dout }) => {
    const biasGrad = bias !== null && bias.requiresGrad ? gradTarget(bias) ?? new Tensor(alloc(OUT), [OUT]) : null;
    const dbias = biasGrad === null ? null : biasGrad.data;
    let dpre = dout;
    if (relu) {
      // dpre only feeds the two products below and is never handed out, so one buffer serves every step.
      if (dpreScratch.length < B * OUT) dpreScratch = allocPersistent(B * OUT); // in the engine's memory: the kernels read it in place
      dpre = dpreScratch.subarray(0, B * OUT);
      kernels().biasReluBackward(dpre, dbias, dout, y.data, B, OUT);
    } else if (dbias !== null) {
      kernels().biasBackward(dbias, dout, B, OUT);
    }
    let dx: Float32Array | null = null;
    let dweight: Tensor | null = null;
    if (x.requiresGrad) {
      dx = allocUninit(B * IN);
      gemmNN(dx, dpre, weight.data, B, OUT, IN);
    }
    if (weight.requiresGrad) {
      dweight = gradTarget(weight) ?? new Tensor(allocUninit(OUT * IN), weight.shape);
      gemmTN(dweight.data, dpre, x.data, OUT, B, IN);
    }
    return [dx === null ? null : new Tensor(dx, x.shape), dweight, biasGrad];
  });
}
