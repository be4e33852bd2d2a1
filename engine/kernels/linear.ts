/**
 * The bias half of a Dense layer. out is (B,OUT), bias is (OUT).
 */

/** out[b, o] += bias[o] for every row b. */
export function biasForward(out: Float32Array, bias: Float32Array, B: number, OUT: number): void {
  for (let b = 0; b < B; b++) {
    const row = b * OUT;
    for (let o = 0; o < OUT; o++) out[row + o] += bias[o];
  }
}

/** dbias[o] = Σ_b dout[b, o]: every row used the same bias, so the gradients add up. */
export function biasBackward(dbias: Float32Array, dout: Float32Array, B: number, OUT: number): void {
  dbias.fill(0);
  for (let b = 0; b < B; b++) {
    const row = b * OUT;
    for (let o = 0; o < OUT; o++) dbias[o] += dout[row + o];
  }
}

/**
 * Bias and ReLU in one pass over the product (Dense followed by ReLU):
 * out[b, o] = max(0, out[b, o] + bias[o]), in place. out is (B,OUT), bias is (OUT) or null.
 * NaN stays NaN (see reluForward in activation.ts).
 */
export function biasReluForward(out: Float32Array, bias: Float32Array | null, B: number, OUT: number): void {
  for (let b = 0; b < B; b++) {
    const row = b * OUT;
    for (let o = 0; o < OUT; o++) {
      const v = bias === null ? out[row + o] : out[row + o] + bias[o];
      out[row + o] = v <= 0 ? 0 : v;
    }
  }
}

/**
 * The backward of biasReluForward in one pass: dpre = dout where the unit was active (out > 0),
 * else 0 (ReLU's derivative, taken as 0 at 0, and passing dout where out is NaN, as in
 * kernels/activation.ts), and, unless dbias is null, dbias[o] = Σ_b dpre[b, o]. dpre, dout and out
 * are (B,OUT); dbias is (OUT).
 */
export function biasReluBackward(dpre: Float32Array, dbias: Float32Array | null, dout: Float32Array, out: Float32Array, B: number, OUT: number): void {
  if (dbias !== null) dbias.fill(0);
  for (let b = 0; b < B; b++) {
    const row = b * OUT;
    for (let o = 0; o < OUT; o++) {
      const g = out[row + o] <= 0 ? 0 : dout[row + o];
      dpre[row + o] = g;
      if (dbias !== null) dbias[o] += g;
    }
  }
}
