/**
 * Layer normalization's kernels (the LayerNorm layer's op, engine/ops/layerNorm.ts). Letters: R rows
 * (every axis but the last, flattened), F features (the last axis); x, out, xhat, dout, dinp are (R,F),
 * gamma, beta, dgamma, dbeta (F), invstd (R) in float64.
 */
import { affineBackward } from './batchNorm.js';

/**
 * Each row normalized over its own F values:
 *   mean_r = Σ_f x / F,  var_r = Σ_f (x − mean_r)² / F (biased),  invstd_r = 1/sqrt(var_r + eps)
 *   xhat = (x − mean_r)·invstd_r,  out = gamma·xhat + beta
 * Writes out, xhat (R,F) and invstd (R).
 */
export function layerNormForward(
  out: Float32Array, xhat: Float32Array, invstd: Float64Array,
  x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, R: number, F: number,
): void {
  for (let r = 0; r < R; r++) {
    const row = r * F;
    let s = 0;
    for (let f = 0; f < F; f++) s += x[row + f];
    const mean = s / F;
    let ss = 0;
    for (let f = 0; f < F; f++) {
      const d = x[row + f] - mean;
      ss += d * d;
    }
    const is = 1 / Math.sqrt(ss / F + eps);
    invstd[r] = is;
    for (let f = 0; f < F; f++) {
      const h = (x[row + f] - mean) * is;
      xhat[row + f] = h;
      out[row + f] = gamma[f] * h + beta[f];
    }
  }
}

/**
 * BatchNorm's backward turned sideways: the sums run over a row's features instead of a feature's
 * batch. With dxhat = dout·gamma,
 *   dx = invstd_r/F · (F·dxhat − Σ_f dxhat − xhat·Σ_f dxhat·xhat)
 *   dgamma = Σ_r dout·xhat,  dbeta = Σ_r dout
 */
export function layerNormBackward(
  dinp: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
  dout: Float32Array, xhat: Float32Array, gamma: Float32Array, invstd: Float64Array, R: number, F: number,
): void {
  affineBackward(dgamma, dbeta, dout, xhat, R, F);
  for (let r = 0; r < R; r++) {
    const row = r * F;
    let sd = 0;
    let sdx = 0;
    for (let f = 0; f < F; f++) {
      const dh = dout[row + f] * gamma[f];
      sd += dh;
      sdx += dh * xhat[row + f];
    }
    const k = invstd[r] / F;
    for (let f = 0; f < F; f++) {
      dinp[row + f] = k * (F * dout[row + f] * gamma[f] - sd - xhat[row + f] * sdx);
    }
  }
}
