/** Rotate a 32-bit word left by k bits. */
function rotl(v: number, k: number): number {
  return (v << k) | (v >>> (32 - k));
}

/**
 * A small seeded random generator: xoshiro128** (Blackman and Vigna, 2018), seeded through
 * SplitMix32. It uses only 32-bit integer arithmetic (`Math.imul`, shifts), so the same seed gives
 * the same stream on every machine and every Node version. Everything random in tapegrad — weight
 * initialisation, dropout masks, shuffling — takes one of these.
 *
 * @example
 * ```ts
 * import { Rng, Tensor } from 'tapegrad';
 *
 * const a = new Rng(7);
 * const b = new Rng(7);
 * console.log(a.uniform() === b.uniform()); // => true
 * console.log(a.int(10) < 10); // => true
 * const w = Tensor.randn([2, 3], { rng: new Rng(7) }); // the same weights on every machine
 * console.log(w.shape); // => [2, 3]
 * ```
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** Box–Muller makes normals in pairs; the second one waits here. */
  private spare = NaN;

  constructor(seed = 1) {
    this.seed(seed);
  }

  /** Restarts the stream from `seed` (a 32-bit integer; other numbers are taken modulo 2³²). */
  seed(seed: number): void {
    // SplitMix32 spreads one 32-bit seed over the 128-bit state, which must not be all zeros.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    this.spare = NaN;
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** A standard normal (mean 0, deviation 1), by the Box–Muller transform. */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    // 1 - uniform() is in (0, 1], so the logarithm is finite.
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** An integer in [0, n), without modulo bias (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Fisher–Yates shuffle, in place; returns the same array. */
  shuffle<T extends {
    /** How many items: indices 0 .. length-1 are permuted (an array or a typed array). */
    length: number;
    [i: number]: unknown;
  }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** The whole state (for checkpoints): four 32-bit words and the waiting normal. */
  getState(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.spare];
  }

  /** Restores a state that `getState` returned, so the stream continues exactly from there. */
  setState(state: readonly number[]): void {
    if (state.length !== 5 || state.slice(0, 4).some((w) => !Number.isInteger(w))) {
      throw new RangeError(`Rng.setState: expected [s0, s1, s2, s3, spare] with integer words, got ${JSON.stringify(state)}`);
    }
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w | 0);
    this.spare = state[4] ?? NaN;
    if (state[4] === null) this.spare = NaN;
  }
}
