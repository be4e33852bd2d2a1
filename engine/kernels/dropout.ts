import type { Rng } from '../rng.js';

/**
 * Inverted dropout in one pass: each unit survives with probability 1 − rate and is then scaled by
 * 1/(1 − rate), so the expected value of every unit is unchanged and evaluation needs no rescaling.
 * `mask` receives the factor per unit (0 or 1/(1 − rate)); backward multiplies by the same mask.
 */
export function dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, rate: number, rng: Rng, n: number): void {
  const scale = 1 / (1 - rate);
  for (let i = 0; i < n; i++) {
    const m = rng.uniform() < rate ? 0 : scale;
    mask[i] = m;
    out[i] = inp[i] * m;
  }
}

/** dinp = dout · mask */
export function dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dinp[i] = dout[i] * mask[i];
}
