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
