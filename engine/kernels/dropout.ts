import type { Rng } from '../rng.js';

/**
 * Inverted dropout in one pass: each unit survives with probability 1 − rate and is then scaled by
 * 1/(1 − rate), so the expected value of every unit is unchanged and evaluation needs no rescaling.
 * `mask` receives the factor per unit (0 or 1/(1 − rate)); backward multiplies by the same mask.
 *
 * The random bits come from the caller's Rng, but its xoshiro128** step is run inline here on the
 * state words (read once, written back at the end) instead of a method call and a division per
 * unit: a unit is dropped when its 32 random bits u satisfy u < rate·2³², which is exactly
 * `rng.uniform() < rate` (u/2³² and rate·2³² are both exact in float64). The masks, and the Rng's
 * state afterwards, are the same as dropoutForwardNaive's, bit for bit.
 */
export function dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, rate: number, rng: Rng, n: number): void {
  const scale = 1 / (1 - rate);
  const threshold = rate * 4294967296;
  const state = rng.getState();
  let s0 = state[0] | 0, s1 = state[1] | 0, s2 = state[2] | 0, s3 = state[3] | 0;
  for (let i = 0; i < n; i++) {
    // xoshiro128** (Blackman and Vigna, 2018), as in engine/rng.ts: result = rotl(s1·5, 7)·9.
    const x = Math.imul(s1, 5);
    const u = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    const m = u < threshold ? 0 : scale;
    mask[i] = m;
    out[i] = inp[i] * m;
  }
  rng.setState([s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0, state[4]]);
}

/** The reference: one `rng.uniform()` per unit. */
export function dropoutForwardNaive(out: Float32Array, mask: Float32Array, inp: Float32Array, rate: number, rng: Rng, n: number): void {
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
