import { describe, expect, it } from 'vitest';
import { Rng, ShapeError, Tensor, gradcheck } from '../../engine/index.js';
import { Dense, glorotUniform, heNormal, layerFromConfig, zeros } from '../../layers/index.js';
import { expectClose } from '../support/expectClose.js';

describe('Dense', () => {
  it('computes x·Wᵀ + b like a hand loop, with weight [out,in]', () => {
    const rng = new Rng(5);
    const layer = new Dense(5, 3, { rng });
    layer.bias!.data.set([0.5, -1, 2]);
    const x = Tensor.randn([4, 5], { rng });
    const y = layer.forward(x);
    expect(layer.weight.shape).toEqual([3, 5]);
    expect(y.shape).toEqual([4, 3]);
    const W = layer.weight.data;
    const expected: number[] = [];
    for (let b = 0; b < 4; b++) {
      for (let o = 0; o < 3; o++) {
        let s = layer.bias!.data[o];
        for (let i = 0; i < 5; i++) s += x.data[b * 5 + i] * W[o * 5 + i];
        expected.push(s);
      }
    }
    expectClose(y.data, expected, 1e-6);
  });

  it('has no bias with useBias: false, and applies a Keras-style activation', () => {
    const rng = new Rng(2);
    const layer = new Dense(3, 2, { useBias: false, activation: 'relu', rng });
    expect(layer.bias).toBeNull();
    expect(layer.parameters()).toHaveLength(1);
    layer.weight.data.set([1, 0, 0, -1, 0, 0]);
    const y = layer.forward(Tensor.from([[2, 5, 5]]));
    expect(Array.from(y.data)).toEqual([2, 0]);
    expect(Array.from(layer.forwardLinear(Tensor.from([[2, 5, 5]])).data)).toEqual([2, -2]);
  });

  it('passes gradcheck for x, weight and bias', () => {
    const rng = new Rng(11);
    const layer = new Dense(4, 3, { rng });
    layer.bias!.data.set([0.1, -0.2, 0.3]);
    const x = Tensor.randn([5, 4], { rng, requiresGrad: true });
    const err = gradcheck((xx) => layer.forward(xx).tanh(), [x, layer.weight, layer.bias!]);
    expect(err).toBeLessThan(1e-2);
  });

  it('rejects inputs that are not [B,in] with a ShapeError naming the layer and shapes', () => {
    const layer = new Dense(4, 2);
    expect(() => layer.forward(Tensor.zeros([3, 5]))).toThrow(ShapeError);
    expect(() => layer.forward(Tensor.zeros([3, 5]))).toThrow(/Dense: expected input \[B,4\], got \[3,5\]/);
    expect(() => layer.forward(Tensor.zeros([2, 2, 4]))).toThrow(/got \[2,2,4\].*Flatten/);
    expect(() => layer.forward(Tensor.zeros([4]))).toThrow(ShapeError);
  });

  it('rejects bad sizes, inits and activations in the constructor', () => {
    expect(() => new Dense(0, 3)).toThrow(/Dense: in .* got 0/);
    expect(() => new Dense(3, 2.5)).toThrow(RangeError);
    expect(() => new Dense(3, 2, { init: 'ones' as never })).toThrow(/unknown init "ones"/);
    expect(() => new Dense(3, 2, { activation: 'gelu' as never })).toThrow(/unknown activation "gelu"/);
  });

  it('is reproducible for a seed and rebuilds from its config', () => {
    const a = new Dense(6, 4, { rng: new Rng(9), init: 'heNormal', useBias: false, activation: 'tanh' });
    const b = new Dense(6, 4, { rng: new Rng(9), init: 'heNormal' });
    expect(Array.from(a.weight.data)).toEqual(Array.from(b.weight.data));
    const cfg = JSON.parse(JSON.stringify(a.config()));
    expect(cfg).toMatchObject({ type: 'Dense', in: 6, out: 4, useBias: false, init: 'heNormal', activation: 'tanh' });
    const c = layerFromConfig(cfg) as Dense;
    expect(c).toBeInstanceOf(Dense);
    expect(c.config()).toEqual(a.config());
  });
});

describe('initializers', () => {
  it('Glorot-uniform stays within ±sqrt(6/(in+out)) and has variance limit²/3', () => {
    const [OUT, IN] = [200, 300];
    const w = glorotUniform([OUT, IN], new Rng(1)).data;
    const limit = Math.sqrt(6 / (IN + OUT));
    let max = 0;
    let s = 0;
    let ss = 0;
    for (const v of w) {
      max = Math.max(max, Math.abs(v));
      s += v;
      ss += v * v;
    }
    expect(max).toBeLessThanOrEqual(limit);
    expect(max).toBeGreaterThan(0.99 * limit);
    const mean = s / w.length;
    const variance = ss / w.length - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(0.01 * limit);
    expect(variance / (limit * limit / 3)).toBeCloseTo(1, 1);
  });

  it('Dense defaults to Glorot-uniform (Keras) and zero bias', () => {
    const layer = new Dense(50, 30, { rng: new Rng(4) });
    const limit = Math.sqrt(6 / 80);
    expect(Math.max(...Array.from(layer.weight.data, Math.abs))).toBeLessThanOrEqual(limit);
    expect(Array.from(layer.bias!.data).every((v) => v === 0)).toBe(true);
  });

  it('He-normal has mean 0 and std sqrt(2/fanIn), fanIn = shape[1]', () => {
    const [OUT, IN] = [100, 400];
    const w = heNormal([OUT, IN], new Rng(3)).data;
    let s = 0;
    let ss = 0;
    for (const v of w) {
      s += v;
      ss += v * v;
    }
    const mean = s / w.length;
    const std = Math.sqrt(ss / w.length - mean * mean);
    const target = Math.sqrt(2 / IN);
    // 40,000 draws: the standard error of the std is about target/sqrt(80000) ≈ 0.4%.
    expect(Math.abs(std / target - 1)).toBeLessThan(0.02);
    expect(Math.abs(mean)).toBeLessThan(0.02 * target);
  });

  it('zeros is zeros', () => {
    expect(Array.from(zeros([2, 3]).data)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
