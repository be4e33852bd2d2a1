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

/** out = tanh(inp). */
export function tanhForward(out: Float32Array, inp: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = Math.tanh(inp[i]);
}

/** dinp = dout·(1 − out²): tanh' = 1 − tanh², so backward needs only the output. */
export function tanhBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dinp[i] = dout[i] * (1 - out[i] * out[i]);
}

/**
 * out = σ(inp) = 1 / (1 + e^(−inp)), written two ways so that e^(−x) never overflows to Infinity for
 * large negative x: e^x / (1 + e^x) there.
 */
export function sigmoidForward(out: Float32Array, inp: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = inp[i];
    if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
    else {
      const e = Math.exp(v);
      out[i] = e / (1 + e);
    }
  }
}

/** dinp = dout·out·(1 − out): σ' = σ(1 − σ). */
export function sigmoidBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dinp[i] = dout[i] * out[i] * (1 - out[i]);
}
