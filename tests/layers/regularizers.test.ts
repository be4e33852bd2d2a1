import { describe, expect, it } from 'vitest';
import { Rng, Tensor } from '../../engine/index.js';
import { Dense, ReLU, Sequential, l1, l2, maxNorm } from '../../layers/index.js';
import { expectClose } from '../support/expectClose.js';

describe('l1 / l2 regularizers (Keras)', () => {
  it('l2 adds λ·Σw² with gradient 2λw', () => {
    const w = Tensor.from([[1, -2], [3, 0.5]], { requiresGrad: true });
    const p = l2(0.1).penalty(w);
    expectClose(p.item(), 0.1 * (1 + 4 + 9 + 0.25), 1e-6);
    p.backward();
    expectClose(w.grad!.data, [0.2, -0.4, 0.6, 0.1], 1e-6);
  });

  it('l1 adds λ·Σ|w| with gradient λ·sign(w), 0 at 0', () => {
    const w = Tensor.from([1, -2, 0, 0.5], { requiresGrad: true });
    const p = l1(0.5).penalty(w);
    expectClose(p.item(), 0.5 * 3.5, 1e-6);
    p.backward();
    expectClose(w.grad!.data, [0.5, -0.5, 0, 0.5], 1e-6);
  });

  it('the model sums every kernel penalty on the tape, and is null without regularizers', () => {
    const rng = new Rng(1);
    const a = new Dense(3, 4, { rng, kernelRegularizer: l2(0.01) });
    const b = new Dense(4, 2, { rng, kernelRegularizer: l1(0.02) });
    const model = new Sequential([a, new ReLU(), b]);
    let sq = 0;
    for (const v of a.weight.data) sq += v * v;
    let ab = 0;
    for (const v of b.weight.data) ab += Math.abs(v);
    const reg = model.regularizationLoss()!;
    expectClose(reg.item(), 0.01 * sq + 0.02 * ab, 1e-6);
    reg.backward();
    expectClose(a.weight.grad!.data, Array.from(a.weight.data, (v) => 0.02 * v), 1e-6);
    expect(a.bias!.grad).toBeNull(); // kernel only, as Keras's kernel_regularizer
    expect(new Sequential([new Dense(2, 2)]).regularizationLoss()).toBeNull();
  });

  it('rejects a negative or non-finite λ', () => {
    expect(() => l2(-1)).toThrow(/l2: lambda must be a finite number >= 0, got -1/);
    expect(() => l1(NaN)).toThrow(RangeError);
  });
});

describe('maxNorm constraint (Keras MaxNorm)', () => {
  it('rescales rows (each unit\'s incoming weights) above c to norm c and leaves the others alone', () => {
    const layer = new Dense(2, 3, { kernelConstraint: maxNorm(2) });
    layer.weight.data.set([3, 4, 0.6, 0.8, 0, -2]); // row norms 5, 1, 2
    const model = new Sequential([layer]);
    model.applyConstraints();
    const W = layer.weight.data;
    expectClose([W[0], W[1]], [1.2, 1.6], 1e-6);
    expect(Math.hypot(W[0], W[1])).toBeCloseTo(2, 5);
    expect([W[2], W[3], W[4], W[5]]).toEqual([Math.fround(0.6), Math.fround(0.8), 0, -2]);
  });

  it('does nothing without a constraint and rejects c <= 0', () => {
    const layer = new Dense(2, 1);
    layer.weight.data.set([30, 40]);
    new Sequential([layer]).applyConstraints();
    expect(Array.from(layer.weight.data)).toEqual([30, 40]);
    expect(() => maxNorm(0)).toThrow(/maxNorm: the maximum norm must be a finite number > 0, got 0/);
  });
});
