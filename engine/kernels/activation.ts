/**
 * Elementwise activation kernels. n is the number of elements.
 */

/** out = max(0, inp) */
export function reluForward(out: Float32Array, inp: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = inp[i];
    out[i] = v > 0 ? v : 0;
  }
}

/**
 * dinp = dout where the unit was active, else 0. ReLU has no derivative at exactly 0; we take 0
 * there (as PyTorch and TensorFlow do): a unit sitting at 0 is off, and the choice keeps dead units dead.
 * `out` is the forward's output: out > 0 exactly when inp > 0.
 */
export function reluBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dinp[i] = out[i] > 0 ? dout[i] : 0;
}
