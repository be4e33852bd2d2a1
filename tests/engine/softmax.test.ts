/**
 * logSoftmax and crossEntropy are accurate for every finite input (issue 18): equal logits of 1e16 or
 * more gave 0 instead of −log 2, because the shift by the maximum was added back before subtracting.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../engine/index.js';

const f32 = Math.fround;
const LOG2 = Math.log(2);

/** log softmax of one row in float64, the shift kept apart from the log. */
function logSoftmax64(row: number[]): number[] {
  const m = Math.max(...row);
  const logTotal = Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - m - logTotal);
}

describe('logSoftmax and crossEntropy with huge logits', () => {
  for (const big of [1e16, 1e20, 1e30, 1e38, 3.4028234663852886e38]) {
    it(`equal logits of ${big}: log-probabilities −log 2, loss log 2, gradient (½ − onehot)/B`, () => {
      const logits = Tensor.from([[big, big], [-big, -big]], { requiresGrad: true });
      expect(Array.from(logits.logSoftmax().data)).toEqual(new Array(4).fill(f32(-LOG2)));
      expect(Array.from(logits.softmax().data)).toEqual([0.5, 0.5, 0.5, 0.5]);
      const loss = Tensor.crossEntropy(logits, Int32Array.from([0, 1]));
      expect(loss.item()).toBe(f32(LOG2));
      loss.backward();
      expect(Array.from(logits.grad!.data)).toEqual([-0.25, 0.25, 0.25, -0.25]);
    });
  }

  it('three equal huge logits and one far below: −log 3 each, and −∞ where the gap passes float32', () => {
    const x = Tensor.from([[1e38, 1e38, 1e38, -3e38]]);
    // The last: −4e38 − log 3 in float64, −∞ in float32, as PyTorch gives.
    expect(Array.from(x.logSoftmax().data)).toEqual([f32(-Math.log(3)), f32(-Math.log(3)), f32(-Math.log(3)), -Infinity]);
    expect(Tensor.crossEntropy(x, Int32Array.from([3])).item()).toBe(Infinity);
    expect(Tensor.crossEntropy(x, Int32Array.from([1])).item()).toBe(f32(Math.log(3)));
  });

  it('agrees with float64 for logits at every scale up to float32\'s largest', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 0, max: 38 }),
        (unit, exponent) => {
          const row = unit.map((v) => f32(v * 10 ** exponent));
          const want = logSoftmax64(row);
          const got = Tensor.from([row]).logSoftmax().data;
          // |x − m| rounds once, log Σ once, the result once: relative to the terms, a few float32 ulps.
          want.forEach((w, k) => {
            const scale = Math.abs(row[k] - Math.max(...row)) + Math.log(row.length) + 1;
            expect(Math.abs(got[k] - w), `${row} at ${k}`).toBeLessThanOrEqual(scale * 2 ** -22 || 0);
          });
          const label = row.length - 1;
          const loss = Tensor.crossEntropy(Tensor.from([row]), Int32Array.from([label])).item();
          expect(Math.abs(loss + want[label])).toBeLessThanOrEqual((Math.abs(want[label]) + Math.log(row.length) + 1) * 2 ** -22);
        },
      ),
      { numRuns: 300, seed: 18 },
    );
  });
});
