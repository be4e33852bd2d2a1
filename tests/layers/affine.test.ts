/**
 * PyTorch's options for normalization without a learned scale and shift (BatchNorm's `affine=False`,
 * LayerNorm's `elementwise_affine=False`) and Keras's combined `L1L2` regularizer.
 */
import { describe, expect, it } from 'vitest';
import { Rng, Tensor, gradcheck } from '../../engine/index.js';
import { BatchNorm, Dense, LayerNorm, Sequential, l1l2, layerFromConfig, regularizerFromConfig } from '../../layers/index.js';
import { expectClose } from '../support/expectClose.js';

/** (x − mean)/sqrt(var + eps) over `axis` groups of a row-major [R, F] array, in float64. */
function normalized(x: number[][], overRows: boolean, eps = 1e-5): number[] {
  const R = x.length;
  const F = x[0].length;
  const out = x.map((row) => [...row]);
  const groups = overRows ? F : R;
  for (let g = 0; g < groups; g++) {
    const vals = overRows ? x.map((row) => row[g]) : x[g];
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const variance = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
    vals.forEach((v, i) => {
      const z = (v - mean) / Math.sqrt(variance + eps);
      if (overRows) out[i][g] = z;
      else out[g][i] = z;
    });
  }
  return out.flat();
}

describe('BatchNorm(n, { affine: false })', () => {
  it('normalizes without a scale or shift, has no parameters, and keeps only the statistics in its state dict', () => {
    const bn = new BatchNorm(3, { affine: false });
    const x = [[1, 2, -1], [3, 6, 0], [5, 10, 4], [0, 1, 1]];
    expectClose(bn.forward(Tensor.from(x)).data, normalized(x, true), 1e-6);
    expect(bn.parameters()).toEqual([]);
    expect(Object.keys(bn.stateDict())).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    expect(bn.describe()).toBe('BatchNorm(3, affine=false)');
    // The default is PyTorch's: learned.
    expect(new BatchNorm(3).parameters()).toHaveLength(2);
  });

  it('passes gradcheck for its input, in training and eval, and survives a config round trip', () => {
    const bn = new BatchNorm(3, { affine: false });
    const x = Tensor.randn([5, 3], { rng: new Rng(4), std: 2, requiresGrad: true });
    expect(gradcheck((xx) => bn.forward(xx), [x])).toBeLessThan(1e-2);
    bn.eval();
    expect(gradcheck((xx) => bn.forward(xx), [x])).toBeLessThan(1e-2);
    const again = layerFromConfig(bn.config()) as BatchNorm;
    expect(again.affine).toBe(false);
    expect(again.parameters()).toEqual([]);
    expect(new BatchNorm(2).config()).not.toHaveProperty('affine');
    expect(() => new BatchNorm(2, { affine: 'no' as never })).toThrow(/BatchNorm: affine must be true or false, got no/);
  });
});

describe('LayerNorm(n, { elementwiseAffine: false })', () => {
  it('normalizes each row, has no parameters and an empty state dict, and round-trips its config', () => {
    const ln = new LayerNorm(4, { elementwiseAffine: false });
    const x = [[1, 2, -1, 0.5], [3, 6, 0, -2]];
    expectClose(ln.forward(Tensor.from(x)).data, normalized(x, false), 1e-6);
    expect(ln.parameters()).toEqual([]);
    expect(Object.keys(ln.stateDict())).toEqual([]);
    const xt = Tensor.randn([2, 3, 4], { rng: new Rng(5), requiresGrad: true });
    expect(gradcheck((xx) => ln.forward(xx), [xt])).toBeLessThan(1e-2);
    expect((layerFromConfig(ln.config()) as LayerNorm).elementwiseAffine).toBe(false);
    // Inside a model, an optimizer gets the Dense layers' parameters alone.
    expect(new Sequential([new Dense(4, 4), ln]).parameters()).toHaveLength(2);
  });
});

describe('l1l2 (Keras L1L2)', () => {
  it('adds l1·Σ|w| + l2·Σw², gradient l1·sign(w) + 2·l2·w (0 from the L1 term at w = 0)', () => {
    const w = Tensor.from([[1, -2], [0, 0.5]], { requiresGrad: true });
    const p = l1l2(0.1, 0.01).penalty(w);
    expectClose(p.item(), 0.1 * 3.5 + 0.01 * (1 + 4 + 0.25), 1e-6);
    p.backward();
    expectClose(w.grad!.data, [0.1 + 0.02, -0.1 - 0.04, 0, 0.1 + 0.01], 1e-6);
  });

  it('is rebuilt from a Dense layer\'s config; refuses a negative strength naming it', () => {
    const dense = new Dense(2, 3, { kernelRegularizer: l1l2(0.001, 0.002) });
    const again = Dense.fromConfig(dense.config());
    expect(again.kernelRegularizer?.config()).toEqual({ type: 'l1l2', l1: 0.001, l2: 0.002 });
    expect(regularizerFromConfig({ type: 'l2', lambda: 0.5 })?.l2).toBe(0.5);
    expect(() => l1l2(0.1, -1)).toThrow(/l1l2: l2 must be a finite number >= 0, got -1/);
    expect(() => regularizerFromConfig({ type: 'l3' })).toThrow(/expected 'l1', 'l2' or 'l1l2'/);
  });
});
