/**
 * Elementwise activation kernels. n is the number of elements.
 */

/**
 * out = max(0, inp), with NaN in, NaN out (as PyTorch's relu): `v > 0 ? v : 0` would turn a NaN into a
 * harmless-looking 0 and hide a diverged layer, so the test is written as `v <= 0`, false for NaN.
 */
export function reluForward(out: Float32Array, inp: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = inp[i];
    out[i] = v <= 0 ? 0 : v;
  }
}

/**
 * dinp = dout where the unit was active, else 0. ReLU has no derivative at exactly 0; we take 0
 * there (as PyTorch and TensorFlow do): a unit sitting at 0 is off, and the choice keeps dead units dead.
 * `out` is the forward's output: out > 0 exactly when inp > 0. A NaN output passes dout on, as
 * PyTorch's threshold_backward (`out <= 0 ? 0 : dout`) does, so a NaN keeps travelling backwards too.
 */
export function reluBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dinp[i] = out[i] <= 0 ? 0 : dout[i];
}
