import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng, Tensor, gradcheck, linear } from '../../engine/index.js';
import { expectClose, flat } from '../support/expectClose.js';

const TOL = 2e-2; // gradcheck's relative error with float32 storage and a 1e-2 step

/** A tensor of the shape with seeded values in [lo, hi), requiring a gradient. */
function param(shape: number[], seed: number, lo = -2, hi = 2): Tensor {
  return Tensor.rand(shape, { rng: new Rng(seed), low: lo, high: hi, requiresGrad: true });
}

/** Values kept away from a kink or a pole (relu at 0, log and sqrt near 0): in [0.5, 2] with a random sign. */
function awayFromZero(shape: number[], seed: number, positive = false): Tensor {
  const rng = new Rng(seed);
  const t = Tensor.zeros(shape, { requiresGrad: true });
  for (let i = 0; i < t.size; i++) t.data[i] = (0.5 + 1.5 * rng.uniform()) * (positive || rng.uniform() < 0.5 ? 1 : -1);
  return t;
}

/** Pairs of shapes that broadcast: scalars, size-1 axes, missing leading axes, trailing dims. */
const broadcastPair = fc
  .array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 })
  .chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
      fc.integer({ min: 0, max: shape.length }),
      fc.boolean(),
    ),
  )
  .map(([shape, ones, drop, swap]) => {
    // b: the same shape with some axes set to 1 and some leading axes dropped.
    const b = shape.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
    return swap ? [b, shape] : [shape, b];
  });

const binaryOps: [string, (a: Tensor, b: Tensor) => Tensor][] = [
  ['add', (a, b) => a.add(b)],
  ['sub', (a, b) => a.sub(b)],
  ['mul', (a, b) => a.mul(b)],
  ['div', (a, b) => a.div(b)],
];

describe('binary ops broadcast like NumPy, with gradients summed back to each shape', () => {
  for (const [name, op] of binaryOps) {
    it(`${name}: gradcheck on random broadcasting shapes`, () => {
      fc.assert(
        fc.property(broadcastPair, fc.integer({ min: 1, max: 1e6 }), ([sa, sb], seed) => {
          const a = param(sa, seed);
          const b = awayFromZero(sb, seed + 1); // div by b: keep b away from 0
          const out = op(a, b);
          expect(out.shape).toEqual(
            Array.from({ length: Math.max(sa.length, sb.length) }, (_, i) => {
              const da = sa[sa.length - Math.max(sa.length, sb.length) + i] ?? 1;
              const db = sb[sb.length - Math.max(sa.length, sb.length) + i] ?? 1;
              return Math.max(da, db);
            }),
          );
          expect(gradcheck(op, [a, b])).toBeLessThan(TOL);
        }),
        { numRuns: 25 },
      );
    });
  }

  it('fixtures: [2,3] with [3], [2,1] and a scalar', () => {
    const a = Tensor.from([[1, 2, 3], [4, 5, 6]]);
    expect(a.add(Tensor.from([10, 20, 30])).toArray()).toEqual([[11, 22, 33], [14, 25, 36]]);
    expect(a.mul(Tensor.from([[2], [3]])).toArray()).toEqual([[2, 4, 6], [12, 15, 18]]);
    expect(a.sub(1).toArray()).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(a.div(Tensor.from([[2], [4]])).toArray()).toEqual([[0.5, 1, 1.5], [1, 1.25, 1.5]]);
    // d(sum(a*b))/db for b of shape [3] sums a over the broadcast axis.
    const b = Tensor.from([1, 1, 1], { requiresGrad: true });
    a.mul(b).sum().backward();
    expect(b.grad!.toArray()).toEqual([5, 7, 9]);
  });
});

describe('unary ops', () => {
  const unary: [string, (x: Tensor) => Tensor, (v: number) => number, boolean][] = [
    ['neg', (x) => x.neg(), (v) => -v, false],
    ['exp', (x) => x.exp(), Math.exp, false],
    ['log', (x) => x.log(), Math.log, true],
    ['sqrt', (x) => x.sqrt(), Math.sqrt, true],
    ['pow(3)', (x) => x.pow(3), (v) => v ** 3, false],
    ['pow(-0.5)', (x) => x.pow(-0.5), (v) => v ** -0.5, true],
    ['relu', (x) => x.relu(), (v) => Math.max(0, v), false],
    ['sigmoid', (x) => x.sigmoid(), (v) => 1 / (1 + Math.exp(-v)), false],
    ['tanh', (x) => x.tanh(), Math.tanh, false],
  ];
  for (const [name, op, reference, positive] of unary) {
    it(`${name}: values against Math and gradcheck on random shapes`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 3 }), fc.integer({ min: 1, max: 1e6 }), (shape, seed) => {
          const x = awayFromZero(shape, seed, positive);
          expectClose(op(x).data, Array.from(x.data, reference), 1e-5);
          expect(gradcheck(op, [x])).toBeLessThan(TOL);
        }),
        { numRuns: 15 },
      );
    });
  }

  it('fixtures computed by hand', () => {
    const x = Tensor.from([-1, 0, 2], { requiresGrad: true });
    x.relu().sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 0, 1]); // relu'(0) is 0 by convention
    const y = Tensor.from([4], { requiresGrad: true });
    y.sqrt().sum().backward();
    expect(y.grad!.item()).toBeCloseTo(0.25, 6); // 1 / (2·√4)
    const z = Tensor.from([0], { requiresGrad: true });
    z.sigmoid().sum().backward();
    expect(z.grad!.item()).toBeCloseTo(0.25, 6); // σ(0)(1 − σ(0))
    const w = Tensor.from([2], { requiresGrad: true });
    w.pow(3).sum().backward();
    expect(w.grad!.item()).toBeCloseTo(12, 5); // 3·2²
  });
});

describe('matmul, transpose, reshape', () => {
  it('matmul: gradcheck on random shapes including 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 1e6 }), (m, k, n, seed) => {
        const a = param([m, k], seed);
        const b = param([k, n], seed + 1);
        expect(gradcheck((p, q) => p.matmul(q), [a, b])).toBeLessThan(TOL);
      }),
      { numRuns: 20 },
    );
  });

  it('matmul fixture', () => {
    const a = Tensor.from([[1, 2], [3, 4]], { requiresGrad: true });
    const b = Tensor.from([[5, 6], [7, 8]], { requiresGrad: true });
    const c = a.matmul(b);
    expect(c.toArray()).toEqual([[19, 22], [43, 50]]);
    c.sum().backward();
    expect(a.grad!.toArray()).toEqual([[11, 15], [11, 15]]); // ones·Bᵀ
    expect(b.grad!.toArray()).toEqual([[4, 4], [6, 6]]); // Aᵀ·ones
  });

  it('transpose: matrix, and any permutation of a 3-D tensor', () => {
    expect(Tensor.from([[1, 2, 3], [4, 5, 6]]).T.toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    const x = Tensor.from([[[1, 2], [3, 4], [5, 6]]]); // [1,3,2]
    expect(x.transpose([2, 0, 1]).toArray()).toEqual([[[1, 3, 5]], [[2, 4, 6]]]);
    const p = param([2, 3, 4], 9);
    expect(gradcheck((t) => t.transpose([1, 2, 0]), [p])).toBeLessThan(TOL);
  });

  it('reshape: -1 fills in, values keep their order, the gradient comes back in the input shape', () => {
    const x = Tensor.from([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const r = x.reshape([3, -1]);
    expect(r.shape).toEqual([3, 2]);
    expect(r.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    r.mul(Tensor.from([[1, 2], [3, 4], [5, 6]])).sum().backward();
    expect(x.grad!.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });
});

describe('reductions', () => {
  const cases: [string, (x: Tensor, axis: number | undefined, keep: boolean) => Tensor][] = [
    ['sum', (x, axis, keep) => x.sum(axis, keep)],
    ['mean', (x, axis, keep) => x.mean(axis, keep)],
    ['max', (x, axis, keep) => x.max(axis, keep)],
  ];
  for (const [name, op] of cases) {
    it(`${name}: every axis (and all), keepDims or not, gradcheck`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 1e6 }), fc.boolean(), (shape, seed, keep) => {
          // Values at least 0.1 apart in a shuffled order: the max's winner cannot change under a ±1e-2 step.
          const x = param(shape, seed);
          const order = new Rng(seed).shuffle(Array.from(x.data.keys()));
          order.forEach((rank, i) => (x.data[i] = 0.1 * rank - 1));
          for (const axis of [undefined, ...shape.keys(), -1]) {
            const out = op(x, axis, keep);
            if (axis === undefined) expect(out.shape).toEqual(keep ? shape.map(() => 1) : []);
            expect(gradcheck((t) => op(t, axis, keep), [x])).toBeLessThan(TOL);
          }
        }),
        { numRuns: 12 },
      );
    });
  }

  it('fixtures', () => {
    const x = Tensor.from([[1, 5, 3], [4, 2, 6]], { requiresGrad: true });
    expect(x.sum(0).toArray()).toEqual([5, 7, 9]);
    expect(x.sum(1, true).toArray()).toEqual([[9], [12]]);
    expect(x.mean().item()).toBeCloseTo(3.5, 6);
    expect(x.max(1).toArray()).toEqual([5, 6]);
    x.max(1).sum().backward();
    expect(x.grad!.toArray()).toEqual([[0, 1, 0], [0, 0, 1]]); // only the winners get gradient
  });
});

describe('softmax, logSoftmax, crossEntropy, mse', () => {
  it('softmax and logSoftmax: gradcheck over each axis', () => {
    const x = param([3, 4, 2], 5);
    for (const axis of [0, 1, 2, -1]) {
      expect(gradcheck((t) => t.softmax(axis), [x])).toBeLessThan(TOL);
      expect(gradcheck((t) => t.logSoftmax(axis), [x])).toBeLessThan(TOL);
    }
  });

  it('softmax fixture: [0, ln 3] -> [1/4, 3/4], rows sum to 1', () => {
    expectClose(Tensor.from([[0, Math.log(3)]]).softmax().data, [0.25, 0.75], 1e-6);
    expectClose(Tensor.from([[1, 2, 3]]).logSoftmax().data, [1, 2, 3].map((v) => v - Math.log(Math.E + Math.E ** 2 + Math.E ** 3)), 1e-6);
  });

  it('crossEntropy: value by hand, gradient is (softmax - onehot) / B, and gradcheck', () => {
    const logits = Tensor.from([[0, Math.log(3)], [Math.log(2), Math.log(2)]], { requiresGrad: true });
    const labels = Int32Array.from([1, 0]);
    const loss = Tensor.crossEntropy(logits, labels);
    expect(loss.item()).toBeCloseTo((-Math.log(0.75) - Math.log(0.5)) / 2, 6);
    loss.backward();
    expectClose(flat(logits.grad!.toArray()), [0.25 / 2, (0.75 - 1) / 2, (0.5 - 1) / 2, 0.5 / 2], 1e-6);
    const z = param([5, 7], 11);
    expect(gradcheck((t) => Tensor.crossEntropy(t, Int32Array.from([0, 6, 3, 3, 1])), [z])).toBeLessThan(TOL);
  });

  it('stays finite for logits of ±1000', () => {
    const big = Tensor.from([[1000, -1000, 0], [-1000, -1000, 1000]], { requiresGrad: true });
    const loss = Tensor.crossEntropy(big, Int32Array.from([1, 2]));
    expect(loss.item()).toBeCloseTo(1000, 3); // the first row pays 2000, the second 0
    loss.backward();
    expect(Array.from(big.grad!.data).every(Number.isFinite)).toBe(true);
    for (const t of [big.softmax(), big.logSoftmax(), big.softmax(0), big.logSoftmax(0)]) {
      expect(Array.from(t.data).every(Number.isFinite)).toBe(true);
    }
    expectClose(big.softmax().data, [1, 0, 0, 0, 0, 1], 1e-6);
    expect(big.logSoftmax().data[1]).toBeCloseTo(-2000, 2);
  });

  it('mse: value by hand and gradcheck', () => {
    const p = Tensor.from([1, 2, 3], { requiresGrad: true });
    const t = Tensor.from([1, 0, 0]);
    const loss = Tensor.mse(p, t);
    expect(loss.item()).toBeCloseTo((0 + 4 + 9) / 3, 6);
    loss.backward();
    expectClose(p.grad!.data, [0, 4 / 3, 2], 1e-6); // 2(p − t)/n
    expect(gradcheck((q) => Tensor.mse(q, t), [param([3], 3)])).toBeLessThan(TOL);
  });
});

// Expected values below were read off PyTorch 1.13 (torch.relu, torch.max, Tensor.pow) on the same inputs.
describe('NaN and infinity propagate as in PyTorch', () => {
  it('relu(NaN) is NaN and its gradient passes through; relu(inf) is inf', () => {
    const x = Tensor.from([NaN, -1, 0, 2, Infinity, -Infinity], { requiresGrad: true });
    const y = x.relu();
    expect(Array.from(y.data)).toEqual([NaN, 0, 0, 2, Infinity, 0]);
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([1, 0, 0, 1, 1, 0]);
  });

  it('a NaN anywhere in a slice makes its max NaN, whatever its position; the gradient goes to the first NaN', () => {
    const x = Tensor.from([[1, NaN, 3], [NaN, 5, NaN], [7, 8, NaN]], { requiresGrad: true });
    const m = x.max(1);
    expect(Array.from(m.data)).toEqual([NaN, NaN, NaN]);
    m.sum().backward();
    expect(x.grad!.toArray()).toEqual([[0, 1, 0], [1, 0, 0], [0, 0, 1]]);
    const cols = Tensor.from([[1, 2], [NaN, 0], [3, 1]]).max(0);
    expect(Array.from(cols.data)).toEqual([NaN, 2]);
  });

  it('max over everything: NaN wins, and a tie shares the gradient equally (torch.max(x))', () => {
    const x = Tensor.from([[1, NaN, 3], [NaN, 5, NaN]], { requiresGrad: true });
    const m = x.max();
    expect(m.item()).toBeNaN();
    m.backward();
    expect(Array.from(x.grad!.data)).toEqual([0, 1 / 3, 0, 1 / 3, 0, 1 / 3].map(Math.fround));
    const t = Tensor.from([3, 1, 3], { requiresGrad: true });
    t.max().backward();
    expect(t.grad!.toArray()).toEqual([0.5, 0, 0.5]);
    const d = Tensor.from([[3, 1, 3]], { requiresGrad: true });
    d.max(1).sum().backward();
    expect(d.grad!.toArray()).toEqual([[1, 0, 0]]); // over an axis: the first winner, as torch.max(x, dim)
  });

  it('x^0 is 1 with gradient 0 everywhere, also at 0 (not 0·∞ = NaN)', () => {
    const x = Tensor.from([0, 2, -1], { requiresGrad: true });
    const y = x.pow(0);
    expect(y.toArray()).toEqual([1, 1, 1]);
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 0, 0]);
  });

  it('the fused Dense+ReLU path propagates NaN like relu(linear(..))', () => {
    const x = Tensor.from([[1, 2], [3, 4]], { requiresGrad: true });
    const w = Tensor.from([[NaN, 0], [1, -1], [-1, -1]], { requiresGrad: true });
    const b = Tensor.from([0, 0, 0], { requiresGrad: true });
    const fused = linear(x, w, b, { relu: true });
    expect(Array.from(fused.data)).toEqual([NaN, 0, 0, NaN, 0, 0]);
    fused.sum().backward();
    const fusedGrads = [x.grad!.data, w.grad!.data, b.grad!.data].map((d) => Array.from(d));
    for (const t of [x, w, b]) t.zeroGrad();
    linear(x, w, b).relu().sum().backward();
    expect([x.grad!.data, w.grad!.data, b.grad!.data].map((d) => Array.from(d))).toEqual(fusedGrads);
    expect(fusedGrads[2]).toEqual([2, 0, 0]); // the NaN units pass their gradient to the bias
  });
});
