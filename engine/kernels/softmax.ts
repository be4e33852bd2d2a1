/**
 * Softmax kernels over one axis of a tensor seen as (OUTER, N, INNER): the N values INNER apart are
 * one distribution. For a batch of logits (B, C) over the last axis: OUTER = B, N = C, INNER = 1.
 *
 * Stability: softmax(x) = softmax(x − max x), and log Σ eˣ = m + log Σ e^(x−m) with m = max x
 * (log-sum-exp). Every exponent is then ≤ 0, so logits of ±1000 stay finite. The log-probabilities
 * keep the shift apart from the log: (x − m) − log Σ e^(x−m), never x − (m + log Σ), because m + log Σ
 * rounds log Σ away once m is large (float64 has a spacing of 2 at 1e16: two equal logits of 1e16 gave
 * log-probabilities of 0 instead of −log 2). x − m is exact or nearly, log Σ lies in [0, log N]: the
 * result is accurate for every finite input. Only NaN and ±∞ give NaN, as in PyTorch (∞ − ∞).
 */

/** out = softmax(inp) along the axis. */
export function softmaxForward(out: Float32Array, inp: Float32Array, OUTER: number, N: number, INNER: number): void {
  for (let o = 0; o < OUTER; o++) {
    for (let i = 0; i < INNER; i++) {
      const base = o * N * INNER + i;
      let m = -Infinity;
      for (let k = 0; k < N; k++) m = Math.max(m, inp[base + k * INNER]);
      let total = 0;
      for (let k = 0; k < N; k++) {
        const e = Math.exp(inp[base + k * INNER] - m);
        out[base + k * INNER] = e;
        total += e;
      }
      const inv = 1 / total;
      for (let k = 0; k < N; k++) out[base + k * INNER] *= inv;
    }
  }
}

/**
 * dinp = y ⊙ (dout − Σ dout⊙y) along the axis, y = softmax output: the Jacobian of softmax is
 * diag(y) − y yᵀ, applied to dout without forming it.
 */
export function softmaxBackward(dinp: Float32Array, dout: Float32Array, y: Float32Array, OUTER: number, N: number, INNER: number): void {
  for (let o = 0; o < OUTER; o++) {
    for (let i = 0; i < INNER; i++) {
      const base = o * N * INNER + i;
      let dot = 0;
      for (let k = 0; k < N; k++) dot += dout[base + k * INNER] * y[base + k * INNER];
      for (let k = 0; k < N; k++) dinp[base + k * INNER] = y[base + k * INNER] * (dout[base + k * INNER] - dot);
    }
  }
}

/** out = (inp − max) − log Σ e^(inp − max) along the axis. */
export function logSoftmaxForward(out: Float32Array, inp: Float32Array, OUTER: number, N: number, INNER: number): void {
  for (let o = 0; o < OUTER; o++) {
    for (let i = 0; i < INNER; i++) {
      const base = o * N * INNER + i;
      let m = -Infinity;
      for (let k = 0; k < N; k++) m = Math.max(m, inp[base + k * INNER]);
      let total = 0;
      for (let k = 0; k < N; k++) total += Math.exp(inp[base + k * INNER] - m);
      const logTotal = Math.log(total);
      for (let k = 0; k < N; k++) out[base + k * INNER] = inp[base + k * INNER] - m - logTotal;
    }
  }
}

/** dinp = dout − softmax · Σ dout along the axis (softmax = e^out). */
export function logSoftmaxBackward(dinp: Float32Array, dout: Float32Array, out: Float32Array, OUTER: number, N: number, INNER: number): void {
  for (let o = 0; o < OUTER; o++) {
    for (let i = 0; i < INNER; i++) {
      const base = o * N * INNER + i;
      let total = 0;
      for (let k = 0; k < N; k++) total += dout[base + k * INNER];
      for (let k = 0; k < N; k++) dinp[base + k * INNER] = dout[base + k * INNER] - Math.exp(out[base + k * INNER]) * total;
    }
  }
}

/**
 * Fused softmax + cross-entropy. logits (B,C), labels (B). Writes the probabilities to `probs`
 * (backward needs them) and returns the summed loss Σ_b (logsumexp(logits_b) − logits_b[label_b]).
 */
export function crossEntropyForward(probs: Float32Array, logits: Float32Array, labels: Int32Array, B: number, C: number): number {
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const row = b * C;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[row + c]);
    let total = 0;
    for (let c = 0; c < C; c++) {
      const e = Math.exp(logits[row + c] - m);
      probs[row + c] = e;
      total += e;
    }
    const inv = 1 / total;
    for (let c = 0; c < C; c++) probs[row + c] *= inv;
    loss += m - logits[row + labels[b]] + Math.log(total); // the shift first: see the top of the file
  }
  return loss;
}

/**
 * dlogits = scale · (softmax − onehot(label)). Why so simple: loss = logsumexp(z) − z_y, and
 * ∂logsumexp/∂z = softmax(z), ∂z_y/∂z = onehot(y). `scale` is dloss/B for a mean over the batch.
 */
export function crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, labels: Int32Array, B: number, C: number, scale: number): void {
  for (let b = 0; b < B; b++) {
    const row = b * C;
    for (let c = 0; c < C; c++) dlogits[row + c] = probs[row + c] * scale;
    dlogits[row + labels[b]] -= scale;
  }
}
