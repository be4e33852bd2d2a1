import { describe, expect, it } from 'vitest';
import { Rng, Tensor } from '../../engine/index.js';
import { Dense, Dropout, ReLU, Sequential } from '../../layers/index.js';

describe('Dropout', () => {
  it('is the identity in eval', () => {
    const layer = new Dropout(0.5, { rng: new Rng(1) }).eval();
    const x = Tensor.randn([8, 16], { rng: new Rng(2) });
    const y = layer.forward(x);
    expect(Array.from(y.data)).toEqual(Array.from(x.data));
  });

  it('zeroes units and scales survivors by 1/(1 − rate) in training', () => {
    const rate = 0.3;
    const layer = new Dropout(rate, { rng: new Rng(3) });
    const x = Tensor.full([100, 100], 2);
    const y = layer.forward(x).data;
    let zeros = 0;
    let sum = 0;
    let wrongScale = 0;
    for (const v of y) {
      if (v === 0) zeros++;
      else if (Math.abs(v - 2 / (1 - rate)) > 1e-5) wrongScale++;
      sum += v;
    }
    expect(wrongScale).toBe(0);
    // 10,000 Bernoulli(0.3) draws: std of the fraction ≈ 0.0046.
    expect(Math.abs(zeros / y.length - rate)).toBeLessThan(0.02);
    // Inverted dropout preserves the mean.
    expect(Math.abs(sum / y.length - 2)).toBeLessThan(0.05);
  });

  it('draws a fresh mask on every call, and the same masks for the same seed', () => {
    const x = Tensor.ones([4, 64]);
    const a = new Dropout(0.5, { rng: new Rng(42) });
    const b = new Dropout(0.5, { rng: new Rng(42) });
    const a1 = Array.from(a.forward(x).data);
    const a2 = Array.from(a.forward(x).data);
    expect(a1).not.toEqual(a2);
    expect(Array.from(b.forward(x).data)).toEqual(a1);
    expect(Array.from(b.forward(x).data)).toEqual(a2);
  });

  it('replays the mask sequence after restoring the rng state', () => {
    const layer = new Dropout(0.4, { rng: new Rng(8) });
    const x = Tensor.ones([3, 50]);
    layer.forward(x);
    const state = layer.rng.getState();
    const next = Array.from(layer.forward(x).data);
    layer.rng.setState(state);
    expect(Array.from(layer.forward(x).data)).toEqual(next);
  });

  it('gradient is the mask: zero where dropped, 1/(1 − rate) where kept', () => {
    const layer = new Dropout(0.5, { rng: new Rng(5) });
    const x = Tensor.ones([2, 20], { requiresGrad: true });
    const y = layer.forward(x);
    y.sum().backward();
    expect(Array.from(x.grad!.data)).toEqual(Array.from(y.data));
  });

  it('rejects rates outside [0, 1) with a RangeError naming the value', () => {
    expect(() => new Dropout(1)).toThrow(RangeError);
    expect(() => new Dropout(1)).toThrow(/rate must be in \[0, 1\), got 1/);
    expect(() => new Dropout(-0.1)).toThrow(/got -0.1/);
    expect(() => new Dropout(NaN)).toThrow(/got NaN/);
    expect(() => new Dropout('0.5' as never)).toThrow(RangeError);
    expect(new Dropout(0).forward(Tensor.ones([2, 2])).data).toEqual(new Float32Array([1, 1, 1, 1]));
  });

  it('works as input noise and after a hidden layer; eval() turns both off', () => {
    const rng = new Rng(6);
    const model = new Sequential([new Dropout(0.2, { rng }), new Dense(10, 8, { rng }), new ReLU(), new Dropout(0.5, { rng }), new Dense(8, 2, { rng })]);
    const x = Tensor.randn([4, 10], { rng });
    const t1 = Array.from(model.forward(x).data);
    const t2 = Array.from(model.forward(x).data);
    expect(t1).not.toEqual(t2);
    model.eval();
    expect((model.layers[0] as Dropout).training).toBe(false);
    expect((model.layers[3] as Dropout).training).toBe(false);
    expect(Array.from(model.forward(x).data)).toEqual(Array.from(model.forward(x).data));
  });
});
