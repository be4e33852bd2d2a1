/**
 * Division is an op of its own (engine/ops/div.ts), correctly rounded: it was a·(1/b), which rounded
 * twice and overflowed on the way (issue 18).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng, Tensor, gradcheck } from '../../engine/index.js';

const f32 = Math.fround;

describe('div', () => {
  it('divides: 0 / 1e-39 is 0, 1e-39 / 1e-39 is 1, x / x is 1 for every x in 1..1000', () => {
    const tiny = f32(1e-39); // subnormal: 1/tiny overflows float32
    expect(Tensor.from([0]).div(Tensor.from([tiny])).item()).toBe(0);
    expect(Tensor.from([tiny]).div(Tensor.from([tiny])).item()).toBe(1);
    expect(Tensor.from([0]).div(tiny).item()).toBe(0);
    const x = Tensor.from(Array.from({ length: 1000 }, (_, i) => i + 1));
    const q = x.div(x).data;
    expect(q.filter((v) => v !== 1).length).toBe(0);
    expect(x.div(7).data.every((v, i) => v === f32((i + 1) / 7))).toBe(true);
  });

  it('every quotient is the correctly rounded float32 quotient, as f32.div and PyTorch give', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.float(), fc.float()), { minLength: 1, maxLength: 64 }), (pairs) => {
        const a = Tensor.from(Float32Array.from(pairs, ([p]) => p));
        const b = Tensor.from(Float32Array.from(pairs, ([, q]) => q));
        const got = a.div(b).data;
        // float64 has more than 2·24 + 2 bits: the float64 quotient rounded once is float32's own.
        pairs.forEach(([p, q], i) => expect(Object.is(got[i], f32(p / q)) || (Number.isNaN(got[i]) && Number.isNaN(p / q)), `${p} / ${q}`).toBe(true));
      }),
      { numRuns: 200, seed: 18 },
    );
  });

  it('IEEE at zero and infinity, with PyTorch gradients: ∂/∂a = 1/b, ∂/∂b = −(a/b)/b', () => {
    const a = Tensor.from([1, -1, 0, 1, Infinity, 6], { requiresGrad: true });
    const b = Tensor.from([0, 0, 0, -0, Infinity, 3], { requiresGrad: true });
    const q = a.div(b);
    expect(q.toArray()).toEqual([Infinity, -Infinity, NaN, -Infinity, NaN, 2]);
    q.sum().backward();
    // torch.tensor([1., -1, 0, 1, inf, 6]) / torch.tensor([0., 0, 0, -0., inf, 3]), then .sum().backward():
    expect(Array.from(a.grad!.data)).toEqual([Infinity, Infinity, Infinity, -Infinity, 0, f32(1 / 3)]);
    expect(Array.from(b.grad!.data)).toEqual([-Infinity, Infinity, NaN, -Infinity, NaN, f32(-6 / 9)]);
  });

  it('gradients match central differences, broadcasting both ways', () => {
    const rng = new Rng(3);
    const away = (shape: number[]) => {
      const t = Tensor.zeros(shape);
      for (let i = 0; i < t.size; i++) t.data[i] = (0.5 + 1.5 * rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1);
      return t;
    };
    for (const [sa, sb] of [[[3, 4], [3, 4]], [[2, 3, 4], [4]], [[4], [3, 1]], [[], [2, 2]], [[5, 1], [1, 3]]]) {
      expect(gradcheck((x, y) => x.div(y), [away(sa), away(sb)]), `${JSON.stringify(sa)} / ${JSON.stringify(sb)}`).toBeLessThan(1e-2);
    }
  });

  it('is on the tape as div, and dividing by a number needs no gradient for it', () => {
    const a = Tensor.from([2, 4], { requiresGrad: true });
    const q = a.div(2);
    expect(q.node!.op).toBe('div');
    q.sum().backward();
    expect(Array.from(a.grad!.data)).toEqual([0.5, 0.5]);
  });
});
