import { ShapeError, fmtShape } from '../errors.js';
import { biasBackward, biasForward, biasReluBackward, biasReluForward } from '../kernels/linear.js';
import { gemmNN, gemmNT, gemmTN } from '../kernels/matmul.js';
import { alloc } from '../memory.js';
import { Tensor, record } from '../tensor.js';

/**
 * The Dense layer's op: out = x·Wᵀ + b, with PyTorch's layout.
 * x is (B,IN), weight is (OUT,IN), bias is (OUT) or null; out is (B,OUT).
 * Backward, the three products of a Dense layer:
 *   dx = dout·W        (B,OUT)·(OUT,IN)    NN
 *   dW = doutᵀ·x       (OUT,B)·(B,IN)      TN (doutᵀ read in place)
 *   db = Σ_b dout      (OUT)
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  if (x.ndim !== 2 || weight.ndim !== 2 || x.shape[1] !== weight.shape[1]) {
    throw new ShapeError(`linear: input ${fmtShape(x.shape)} and weight ${fmtShape(weight.shape)} do not fit: expected input (B,IN) and weight (OUT,IN)`);
  }
  const [B, IN] = x.shape;
  const OUT = weight.shape[0];
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== OUT)) {
    throw new ShapeError(`linear: bias ${fmtShape(bias.shape)} does not fit weight ${fmtShape(weight.shape)}: expected [${OUT}]`);
  }
  const out = alloc(B * OUT);
  gemmNT(out, x.data, weight.data, B, IN, OUT);
  if (bias !== null) biasForward(out, bias.data, B, OUT);
  const parents = bias === null ? [x, weight] : [x, weight, bias];
  return record(new Tensor(out, [B, OUT]), 'linear', parents, (dout) => {
    let dx: Float32Array | null = null;
    let dweight: Float32Array | null = null;
    let dbias: Float32Array | null = null;
    if (x.requiresGrad) {
      dx = alloc(B * IN);
      gemmNN(dx, dout, weight.data, B, OUT, IN);
    }
    if (weight.requiresGrad) {
      dweight = alloc(OUT * IN);
      gemmTN(dweight, dout, x.data, OUT, B, IN);
    }
    if (bias !== null && bias.requiresGrad) {
      dbias = alloc(OUT);
      biasBackward(dbias, dout, B, OUT);
    }
    return [dx, dweight, dbias];
  });
}

let dpreScratch = new Float32Array(0);

/**
 * relu(x·Wᵀ + b) as one op: the bias and the ReLU are applied in one pass over the product, and the
 * backward masks the gradient and sums the bias gradient in one pass (kernels/linear.ts), then runs
 * the same two products as linear. Same shapes and errors as linear; the Dense+ReLU fast path.
 */
export function linearRelu(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  if (x.ndim !== 2 || weight.ndim !== 2 || x.shape[1] !== weight.shape[1]) {
    throw new ShapeError(`linearRelu: input ${fmtShape(x.shape)} and weight ${fmtShape(weight.shape)} do not fit: expected input (B,IN) and weight (OUT,IN)`);
  }
  const [B, IN] = x.shape;
  const OUT = weight.shape[0];
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== OUT)) {
    throw new ShapeError(`linearRelu: bias ${fmtShape(bias.shape)} does not fit weight ${fmtShape(weight.shape)}: expected [${OUT}]`);
  }
  const out = alloc(B * OUT);
  gemmNT(out, x.data, weight.data, B, IN, OUT);
  biasReluForward(out, bias === null ? null : bias.data, B, OUT);
  const parents = bias === null ? [x, weight] : [x, weight, bias];
  return record(new Tensor(out, [B, OUT]), 'linearRelu', parents, (dout) => {
    // dpre only feeds the two products below and is never handed out, so one buffer serves every step.
    if (dpreScratch.length < B * OUT) dpreScratch = new Float32Array(B * OUT);
    const dpre = dpreScratch.length === B * OUT ? dpreScratch : dpreScratch.subarray(0, B * OUT);
    const dbias = bias !== null && bias.requiresGrad ? alloc(OUT) : null;
    biasReluBackward(dpre, dbias, dout, out, B, OUT);
    let dx: Float32Array | null = null;
    let dweight: Float32Array | null = null;
    if (x.requiresGrad) {
      dx = alloc(B * IN);
      gemmNN(dx, dpre, weight.data, B, OUT, IN);
    }
    if (weight.requiresGrad) {
      dweight = alloc(OUT * IN);
      gemmTN(dweight, dpre, x.data, OUT, B, IN);
    }
    return [dx, dweight, dbias];
  });
}
