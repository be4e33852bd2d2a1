/**
 * Batch normalization's kernels (the BatchNorm layer's op, engine/ops/batchNorm.ts). Letters: B batch,
 * F features; x, out, xhat, dout, dinp are (B,F) row-major, gamma, beta, dgamma, dbeta (F), and the
 * per-feature statistics mean, variance, invstd (F) in float64.
 */

/**
 * Training forward with batch statistics. Writes out (B,F), xhat (B,F) and, per feature, mean, biased
 * variance and invstd = 1/sqrt(var + eps):
 *   mean = Σ_b x / B,  var = Σ_b (x − mean)² / B,  xhat = (x − mean)·invstd,  out = gamma·xhat + beta
 * Two passes over x (mean, then squared deviations) in float64: the one-pass E[x²] − E[x]² loses
 * everything to cancellation when the mean is large next to the spread.
 */
export function batchNormForward(
  out: Float32Array, xhat: Float32Array, mean: Float64Array, variance: Float64Array, invstd: Float64Array,
  x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, B: number, F: number,
): void {
  batchNormStats(mean, variance, invstd, x, eps, B, F);
  normalizeAffine(out, xhat, x, mean, invstd, gamma, beta, B, F);
}

/** The statistics half of batchNormForward: mean, biased variance and invstd per feature. */
export function batchNormStats(mean: Float64Array, variance: Float64Array, invstd: Float64Array, x: Float32Array, eps: number, B: number, F: number): void {
  mean.fill(0, 0, F);
  variance.fill(0, 0, F);
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) mean[f] += x[row + f];
  }
  for (let f = 0; f < F; f++) mean[f] /= B;
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) {
      const d = x[row + f] - mean[f];
      variance[f] += d * d;
    }
  }
  for (let f = 0; f < F; f++) {
    variance[f] /= B;
    invstd[f] = 1 / Math.sqrt(variance[f] + eps);
  }
}

/** xhat = (x − mean)·invstd, out = gamma·xhat + beta, per feature (the eval forward too, with running statistics). */
export function normalizeAffine(
  out: Float32Array, xhat: Float32Array,
  x: Float32Array, mean: Float64Array, invstd: Float64Array, gamma: Float32Array, beta: Float32Array, B: number, F: number,
): void {
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) {
      const h = (x[row + f] - mean[f]) * invstd[f];
      xhat[row + f] = h;
      out[row + f] = gamma[f] * h + beta[f];
    }
  }
}

/**
 * Backward of the training forward:
 *   dbeta = Σ_b dout,  dgamma = Σ_b dout·xhat
 *   dx = gamma·invstd/B · (B·dout − Σ_b dout − xhat·Σ_b dout·xhat)
 * The last line is the chain rule through xhat, the mean and the variance collapsed into one
 * expression: shifting every x of a feature moves the mean with it (the Σ dout term), and scaling
 * them moves the variance with it (the xhat·Σ dout·xhat term), so neither changes xhat.
 */
export function batchNormBackward(
  dinp: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
  dout: Float32Array, xhat: Float32Array, gamma: Float32Array, invstd: Float64Array, B: number, F: number,
): void {
  affineBackward(dgamma, dbeta, dout, xhat, B, F);
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) {
      dinp[row + f] = ((gamma[f] * invstd[f]) / B) * (B * dout[row + f] - dbeta[f] - xhat[row + f] * dgamma[f]);
    }
  }
}

/** dbeta = Σ_b dout, dgamma = Σ_b dout·xhat (in float64, b in order). dout, xhat are (B,F). */
export function affineBackward(dgamma: Float32Array, dbeta: Float32Array, dout: Float32Array, xhat: Float32Array, B: number, F: number): void {
  const sg = new Float64Array(F);
  const sb = new Float64Array(F);
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) {
      sb[f] += dout[row + f];
      sg[f] += dout[row + f] * xhat[row + f];
    }
  }
  for (let f = 0; f < F; f++) {
    dgamma[f] = sg[f];
    dbeta[f] = sb[f];
  }
}
