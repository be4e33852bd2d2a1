/**
 * Hashes integers into one 32-bit seed (MurmurHash3's finaliser applied per part): how the loader
 * derives a generator for each (seed, epoch, batch or sample, stream) without keeping a running stream,
 * so that anything it draws is a pure function of where it is (data/loader.ts, data/augment.ts).
 *
 * @example
 * ```ts
 * import { mixSeed } from 'tapegrad';
 *
 * console.log(mixSeed(1, 0) === mixSeed(1, 0)); // => true
 * console.log(mixSeed(1, 0) === mixSeed(1, 1)); // => false
 * ```
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
