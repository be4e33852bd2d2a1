import { describe, expect, it } from 'vitest';
import { Rng, ShapeError, Tensor, gradcheck } from '../../engine/index.js';
import { BatchNorm, LayerNorm, Sequential, batchNormComposed, layerNormComposed } from '../../layers/index.js';
import { expectClose } from '../support/expectClose.js';

/** gamma·(x − mean)/sqrt(var + eps) + beta per column of a [B,F] array, in float64. */
function handBatchNorm(x: number[][], gamma: number[], beta: number[], mean: number[], variance: number[], eps = 1e-5): number[] {
  return x.flatMap((row) => row.map((v, f) => (gamma[f] * (v - mean[f])) / Math.sqrt(variance[f] + eps) + beta[f]));
}

describe('BatchNorm (PyTorch BatchNorm1d)', () => {
  it('normalizes with the batch mean and biased variance in training', () => {
    const bn = new BatchNorm(2);
    bn.weight.data.set([2, 0.5]);
    bn.bias.data.set([1, -1]);
    const x = [[1, 2], [3, 6], [5, 10]];
    const y = bn.forward(Tensor.from(x));
    // Column 0: mean 3, biased variance 8/3; column 1: mean 6, variance 32/3.
    expectClose(y.data, handBatchNorm(x, [2, 0.5], [1, -1], [3, 6], [8 / 3, 32 / 3]), 1e-6);
  });

  it('updates running statistics with momentum 0.1 and the unbiased variance, over two steps', () => {
    const bn = new BatchNorm(2);
    bn.forward(Tensor.from([[1, 2], [3, 6], [5, 10]]));
    // running_mean = 0.9·0 + 0.1·[3, 6]; running_var = 0.9·1 + 0.1·[8/2, 32/2]
    expectClose(bn.runningMean.data, [0.3, 0.6], 1e-6);
    expectClose(bn.runningVar.data, [1.3, 2.5], 1e-6);
    bn.forward(Tensor.from([[0, 0], [2, 4]]));
    // batch 2: mean [1, 2], unbiased variance [2, 8]
    expectClose(bn.runningMean.data, [0.9 * 0.3 + 0.1 * 1, 0.9 * 0.6 + 0.1 * 2], 1e-6);
    expectClose(bn.runningVar.data, [0.9 * 1.3 + 0.1 * 2, 0.9 * 2.5 + 0.1 * 8], 1e-6);
    expect(bn.numBatchesTracked.item()).toBe(2);
  });

  it('uses the running statistics in eval and leaves them alone', () => {
    const bn = new BatchNorm(2, { momentum: 0.5, eps: 1e-3 });
    bn.forward(Tensor.from([[1, 2], [3, 6], [5, 10]]));
    const rm = Array.from(bn.runningMean.data);
    const rv = Array.from(bn.runningVar.data);
    expectClose(rm, [1.5, 3], 1e-6);
    bn.eval();
    const x = [[0, 1], [4, -2]];
    const y = bn.forward(Tensor.from(x));
    expectClose(y.data, handBatchNorm(x, [1, 1], [0, 0], rm, rv, 1e-3), 1e-6);
    expect(Array.from(bn.runningMean.data)).toEqual(rm);
    expect(bn.numBatchesTracked.item()).toBe(1);
    // One sample is fine in eval, refused in training (as PyTorch).
    expect(bn.forward(Tensor.from([[1, 1]])).shape).toEqual([1, 2]);
    expect(() => bn.train().forward(Tensor.from([[1, 1]]))).toThrow(/more than one sample/);
  });

  it('passes gradcheck for x, weight and bias, in training and in eval', () => {
    const rng = new Rng(21);
    const bn = new BatchNorm(3);
    bn.weight.data.set([1.5, -0.7, 0.9]);
    bn.bias.data.set([0.2, 0.1, -0.3]);
    const x = Tensor.randn([6, 3], { rng, std: 2, requiresGrad: true });
    expect(gradcheck((xx) => bn.forward(xx), [x, bn.weight, bn.bias])).toBeLessThan(1e-2);
    bn.runningVar.data.set([0.5, 2, 1.5]);
    bn.eval();
    expect(gradcheck((xx) => bn.forward(xx).tanh(), [x, bn.weight, bn.bias])).toBeLessThan(1e-2);
  });

  it('agrees with its twin composed of engine ops, forward and backward', () => {
    const rng = new Rng(22);
    const bn = new BatchNorm(5);
    bn.weight.data.set([1, 2, -1, 0.5, 3]);
    bn.bias.data.set([0, 1, 2, -1, 0.5]);
    const x = Tensor.randn([7, 5], { rng, mean: 3, std: 2, requiresGrad: true });
    const r = Tensor.randn([7, 5], { rng });
    const y = bn.forward(x);
    y.mul(r).sum().backward();
    const yv = Array.from(y.data); // read now: y is recycled when the second backward below starts (engine/memory.ts)
    const gx = Array.from(x.grad!.data);
    const gw = Array.from(bn.weight.grad!.data);
    const gb = Array.from(bn.bias.grad!.data);
    x.grad = null;
    bn.weight.grad = null;
    bn.bias.grad = null;
    const z = batchNormComposed(x, bn.weight, bn.bias, bn.eps);
    z.mul(r).sum().backward();
    expectClose(yv, z.data, 1e-5);
    expectClose(gx, x.grad!.data, 1e-4);
    expectClose(gw, bn.weight.grad!.data, 1e-4);
    expectClose(gb, bn.bias.grad!.data, 1e-4);
  });

  it('has PyTorch state-dict names and shapes, and checks its input', () => {
    const model = new Sequential([new BatchNorm(4)]);
    const sd = model.stateDict();
    expect(Object.keys(sd)).toEqual(['0.weight', '0.bias', '0.running_mean', '0.running_var', '0.num_batches_tracked']);
    expect(sd['0.num_batches_tracked'].shape).toEqual([]);
    expect(Array.from(sd['0.running_var'].data)).toEqual([1, 1, 1, 1]);
    expect(model.parameters()).toHaveLength(2);
    expect(() => model.forward(Tensor.zeros([3, 5]))).toThrow(ShapeError);
    expect(() => model.forward(Tensor.zeros([3, 5]))).toThrow(/BatchNorm \(layer 0\): expected input \[B,4\], got \[3,5\]/);
    expect(() => new BatchNorm(3, { momentum: 1.5 })).toThrow(/momentum must be in \[0, 1\], got 1.5/);
  });
});

describe('LayerNorm (PyTorch nn.LayerNorm)', () => {
  it('normalizes each row over the last axis', () => {
    const ln = new LayerNorm(3);
    ln.weight.data.set([1, 2, 3]);
    ln.bias.data.set([0, 0, 1]);
    const y = ln.forward(Tensor.from([[1, 2, 3], [10, 10, 13]]));
    const s1 = Math.sqrt(2 / 3 + 1e-5);
    const s2 = Math.sqrt(2 + 1e-5); // row 2: mean 11, deviations −1, −1, 2, variance 2
    expectClose(y.data, [-1 / s1, 0, 3 / s1 + 1, -1 / s2, -2 / s2, 6 / s2 + 1], 1e-6);
    // Same in eval: no running statistics.
    expectClose(ln.eval().forward(Tensor.from([[1, 2, 3]])).data, [-1 / s1, 0, 3 / s1 + 1], 1e-6);
  });

  it('passes gradcheck on a 3-D input and agrees with its composed twin', () => {
    const rng = new Rng(31);
    const ln = new LayerNorm(4);
    ln.weight.data.set([1, -2, 0.5, 1.5]);
    ln.bias.data.set([0.1, 0, -0.2, 0.3]);
    const x = Tensor.randn([2, 3, 4], { rng, std: 1.5, requiresGrad: true });
    expect(gradcheck((xx) => ln.forward(xx), [x, ln.weight, ln.bias])).toBeLessThan(1e-2);

    const x2 = Tensor.randn([5, 4], { rng, mean: 2, requiresGrad: true });
    const r = Tensor.randn([5, 4], { rng });
    ln.weight.grad = null;
    const y = ln.forward(x2);
    y.mul(r).sum().backward();
    const yv = Array.from(y.data); // read now: y is recycled when the second backward below starts
    const gx = Array.from(x2.grad!.data);
    const gw = Array.from(ln.weight.grad!.data);
    x2.grad = null;
    ln.weight.grad = null;
    const z = layerNormComposed(x2, ln.weight, ln.bias, ln.eps);
    z.mul(r).sum().backward();
    expectClose(yv, z.data, 1e-5);
    expectClose(gx, x2.grad!.data, 1e-4);
    expectClose(gw, ln.weight.grad!.data, 1e-4);
  });

  it('rejects a last axis of the wrong size', () => {
    expect(() => new LayerNorm(3).forward(Tensor.zeros([2, 4]))).toThrow(/LayerNorm: expected input \[\.\.\.,3\], got \[2,4\]/);
  });
});
