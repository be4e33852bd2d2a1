import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { applyJump, jumpMatrix, jumpState } from '../../engine/rngJump.js';

/** The state words after drawing `steps` numbers one by one: the reference. */
function drawn(seed: number, steps: number): number[] {
  const rng = new Rng(seed);
  for (let i = 0; i < steps; i++) rng.nextUint32();
  return rng.getState().slice(0, 4);
}

const start = (seed: number): number[] => new Rng(seed).getState().slice(0, 4);

describe('jumping xoshiro128** ahead (engine/rngJump.ts)', () => {
  it('lands where drawing one number at a time lands, for any seed and any number of draws', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 3000 }), (seed, steps) => {
      expect(Array.from(jumpState(start(seed), steps))).toEqual(drawn(seed, steps));
    }), { numRuns: 60 });
  });

  it('far jumps too (the lengths of a dropout piece), and the draws after a jump are the stream\'s', () => {
    for (const steps of [4096, 4181, 100_352 / 32, 65_541, 250_000]) {
      const at = jumpState(start(3), steps);
      expect(Array.from(at), `${steps} draws`).toEqual(drawn(3, steps));
      const jumped = new Rng(0);
      jumped.setState([...at, NaN]);
      const walked = new Rng(3);
      for (let i = 0; i < steps; i++) walked.nextUint32();
      for (let i = 0; i < 5; i++) expect(jumped.nextUint32()).toBe(walked.nextUint32());
    }
  });

  it('one matrix applied again and again walks a stream cut into equal pieces', () => {
    const L = 777;
    const jump = jumpMatrix(L);
    let at: Uint32Array = Uint32Array.from(start(11));
    for (let p = 1; p <= 6; p++) {
      at = applyJump(jump, at);
      expect(Array.from(at), `piece ${p}`).toEqual(drawn(11, p * L));
    }
  });

  it('refuses a negative or fractional number of draws', () => {
    expect(() => jumpMatrix(-1)).toThrow(/non-negative integer, got -1/);
    expect(() => jumpMatrix(2.5)).toThrow(/non-negative integer, got 2.5/);
  });
});
