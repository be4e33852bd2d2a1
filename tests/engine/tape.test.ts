import { describe, expect, it } from 'vitest';
import { GradError, Rng, ShapeError, Tensor, gradcheck, linear, dropout, noGrad, record } from '../../engine/index.js';
import { expectClose } from '../support/expectClose.js';

describe('the tape', () => {
  it('a tensor used twice gets the sum of both gradients (fan-out)', () => {
    const x = Tensor.from([3], { requiresGrad: true });
    const y = x.mul(x).add(x); // x² + x, dy/dx = 2x + 1 = 7
    y.sum().backward();
    expect(x.grad!.item()).toBe(7);
    // Two branches that pass dout through unchanged must not share one buffer.
    const a = Tensor.from([1, 2], { requiresGrad: true });
    const b = Tensor.from([10, 20], { requiresGrad: true });
    const s = a.add(b);
    s.add(s).add(a).sum().backward(); // d/da = 3, d/db = 2
    expect(a.grad!.toArray()).toEqual([3, 3]);
    expect(b.grad!.toArray()).toEqual([2, 2]);
  });

  it('gradients accumulate across backward calls until zeroGrad', () => {
    const w = Tensor.from([2], { requiresGrad: true });
    w.mul(3).sum().backward();
    w.mul(3).sum().backward();
    expect(w.grad!.item()).toBe(6);
    w.zeroGrad();
    w.mul(3).sum().backward();
    expect(w.grad!.item()).toBe(3);
  });

  it('a 10,000-op chain does not overflow the stack', () => {
    const x = Tensor.from([1], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 10_000; i++) y = y.add(1e-4).mul(1);
    y.sum().backward();
    expect(x.grad!.item()).toBe(1);
    expect(y.item()).toBeCloseTo(2, 3);
  });

  it('noGrad records nothing', () => {
    const w = Tensor.from([1, 2], { requiresGrad: true });
    const y = noGrad(() => w.mul(2).sum());
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(() => y.backward()).toThrow(GradError);
    // and recording resumes afterwards, also after an exception inside
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(w.mul(2).requiresGrad).toBe(true);
  });

  it('backward on a non-scalar needs an explicit gradient of its shape', () => {
    const w = Tensor.from([1, 2, 3], { requiresGrad: true });
    const y = w.mul(2);
    expect(() => y.backward()).toThrow(/non-scalar tensor of shape \[3\]/);
    expect(() => y.backward(Tensor.from([1, 1]))).toThrow(ShapeError);
    expect(() => y.backward(Tensor.from([1, 1]))).toThrow(/\[2\].*\[3\]/);
    y.backward(Tensor.from([1, 0, 2]));
    expect(w.grad!.toArray()).toEqual([2, 0, 4]);
  });

  it('inputs that need no gradient get none, and intermediates keep theirs only when asked', () => {
    const x = Tensor.from([[1, 2]]);
    const w = Tensor.from([[3], [4]], { requiresGrad: true });
    const h = x.matmul(w).retainGrad();
    const z = x.matmul(w).relu();
    h.mul(2).sum().backward();
    z.sum().backward();
    expect(x.grad).toBeNull();
    expect(h.grad!.toArray()).toEqual([[2]]);
    expect(z.grad).toBeNull();
  });

  it('detach cuts the tape', () => {
    const w = Tensor.from([2], { requiresGrad: true });
    const y = w.mul(w).detach().mul(w);
    y.sum().backward();
    expect(w.grad!.item()).toBe(4); // only the last factor: d(c·w)/dw with c = w² = 4
  });
});

describe('linear and dropout ops', () => {
  it('linear = x·Wᵀ + b (PyTorch layout), checked by hand and by gradcheck on odd shapes', () => {
    const x = Tensor.from([[1, 2, 3]]);
    const w = Tensor.from([[1, 0, 0], [0, 1, 1]]);
    const b = Tensor.from([10, 20]);
    expect(linear(x, w, b).toArray()).toEqual([[11, 25]]);
    for (const [B, IN, OUT] of [[1, 1, 1], [3, 17, 5], [5, 3, 1], [2, 7, 13]]) {
      const rng = new Rng(B * 100 + IN);
      const X = Tensor.randn([B, IN], { rng, requiresGrad: true });
      const W = Tensor.randn([OUT, IN], { rng, requiresGrad: true });
      const bias = Tensor.randn([OUT], { rng, requiresGrad: true });
      expect(gradcheck((p, q, r) => linear(p, q, r), [X, W, bias])).toBeLessThan(2e-2);
      expect(gradcheck((p, q) => linear(p, q, null), [X, W])).toBeLessThan(2e-2);
      // the same as the composition x·Wᵀ + b
      expectClose(linear(X, W, bias).data, X.matmul(W.T).add(bias).data, 1e-5);
    }
    expect(() => linear(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]), null)).toThrow(/\[2,3\].*\[4,5\]/);
  });

  it('dropout zeroes about `rate` of the units, scales survivors by 1/(1-rate), and backprops through the mask', () => {
    const x = Tensor.ones([100, 100], { requiresGrad: true });
    const y = dropout(x, 0.3, new Rng(5));
    const zeros = Array.from(y.data).filter((v) => v === 0).length;
    expect(zeros / y.size).toBeGreaterThan(0.27);
    expect(zeros / y.size).toBeLessThan(0.33);
    expect(Array.from(y.data).every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    y.sum().backward();
    expectClose(x.grad!.data, y.data, 0);
    // same seed, same mask; two calls, two masks
    const rng = new Rng(5);
    expect(dropout(x, 0.3, rng).data).toEqual(y.data);
    expect(dropout(x, 0.3, rng).data).not.toEqual(y.data);
    for (const bad of [1, -0.1, 1.5, NaN]) expect(() => dropout(x, bad, rng)).toThrow(RangeError);
    expect(() => dropout(x, 1.5, rng)).toThrow(/1\.5/);
  });
});

describe('bad input is a typed error naming the shapes or values', () => {
  it('mismatched shapes', () => {
    expect(() => Tensor.zeros([2, 3]).add(Tensor.zeros([4]))).toThrow(ShapeError);
    expect(() => Tensor.zeros([2, 3]).add(Tensor.zeros([4]))).toThrow(/\[2,3\] and \[4\]/);
    expect(() => Tensor.mse(Tensor.zeros([2]), Tensor.zeros([3]))).toThrow(/\[2\].*\[3\]/);
  });

  it('matmul of [2,3] x [4,5]', () => {
    expect(() => Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5]))).toThrow(ShapeError);
    expect(() => Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5]))).toThrow(/\[2,3\] x \[4,5\]: inner sizes 3 and 4/);
    expect(() => Tensor.zeros([6]).matmul(Tensor.zeros([6, 1]))).toThrow(/2-D.*\[6\]/);
  });

  it('reshape to the wrong size', () => {
    expect(() => Tensor.zeros([2, 3]).reshape([4, 2])).toThrow(/\[2,3\] \(6 values\) to \[4,2\]/);
    expect(() => Tensor.zeros([2, 3]).reshape([-1, 4])).toThrow(ShapeError);
    expect(() => Tensor.zeros([2, 3]).reshape([-1, -1])).toThrow(/only one size may be -1/);
  });

  it('labels out of range or of the wrong count in crossEntropy', () => {
    const logits = Tensor.zeros([2, 3]);
    expect(() => Tensor.crossEntropy(logits, Int32Array.from([0, 3]))).toThrow(RangeError);
    expect(() => Tensor.crossEntropy(logits, Int32Array.from([0, 3]))).toThrow(/label 3 at index 1 is outside \[0, 3\)/);
    expect(() => Tensor.crossEntropy(logits, Int32Array.from([-1, 0]))).toThrow(/label -1/);
    expect(() => Tensor.crossEntropy(logits, Int32Array.from([0]))).toThrow(/1 labels for a batch of 2/);
  });

  it('axes out of range, ragged arrays, item on a vector', () => {
    expect(() => Tensor.zeros([2, 3]).sum(2)).toThrow(/axis 2 is out of range/);
    expect(() => Tensor.from([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => Tensor.zeros([2]).item()).toThrow(/one value.*\[2\]/);
    expect(() => Tensor.from(new Float32Array(5), { shape: [2, 3] })).toThrow(/5 values.*\[2,3\]/);
  });
});

describe('the tape checks shapes and releases what it walked', () => {
  it("rejects a backward that returns a gradient of the right length but the wrong shape", () => {
    const x = Tensor.from([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    // A buggy op: its backward hands back a [3, 2] gradient for a [2, 3] input (same six values).
    const y = record(new Tensor(x.data.slice(), x.shape), 'buggy', [x], (dout) => [new Tensor(dout.data.slice(), [3, 2])]);
    expect(() => y.sum().backward()).toThrow(GradError);
    const z = record(new Tensor(x.data.slice(), x.shape), 'buggy', [x], (dout) => [new Tensor(dout.data.slice(), [3, 2])]);
    expect(() => z.sum().backward()).toThrow(/op 'buggy' returned a gradient of shape \[3,2\] for input 0 of shape \[2,3\]/);
  });

  it('a walked graph is released: its nodes drop their closures and saved buffers but keep what toDot draws; a second backward is an error', () => {
    const w = Tensor.from([1, 2], { requiresGrad: true });
    const h = w.mul(3);
    const loss = h.sum();
    loss.backward();
    expect(w.grad!.toArray()).toEqual([3, 3]);
    // The structure stays, for drawing; the closures and what they saved are gone.
    expect(loss.node!.released).toBe(true);
    expect(loss.node!.parents).toEqual([h]);
    expect(h.node!.parents[0]).toBe(w);
    expect(h.node!.saved).toEqual([]);
    expect(() => loss.backward()).toThrow(/was released by an earlier backward\(\).*retainGraph/);
    // With retainGraph the graph can be walked again (and gradients accumulate).
    const again = w.mul(3).sum();
    again.backward({ retainGraph: true });
    again.backward();
    expect(w.grad!.toArray()).toEqual([9, 9]);
  });

  it('a dropout mask saved for backward goes back when the backward has used it, or at once off the tape', () => {
    const x = Tensor.ones([4, 8], { requiresGrad: true });
    const y = dropout(x, 0.5, new Rng(2));
    const mask = y.node!.saved[0];
    expect(mask.live).toBe(true);
    y.sum().backward();
    expect(mask.live).toBe(false);
    expect(y.node!.saved).toEqual([]);
  });

  it('each leaf keeps one gradient buffer across steps', () => {
    const w = Tensor.from([1, 2, 3], { requiresGrad: true });
    w.mul(2).sum().backward();
    const first = w.grad!.data;
    w.zeroGrad();
    w.mul(5).sum().backward();
    expect(w.grad!.data).toBe(first); // the same storage, refilled
    expect(w.grad!.toArray()).toEqual([5, 5, 5]);
  });

  it('gradients that pass through unchanged to two parents are summed correctly when recycled', () => {
    // add hands the same buffer to both parents; the tape must not recycle it while one still waits.
    const a = Tensor.from([1, 2], { requiresGrad: true });
    const b = Tensor.from([3, 4], { requiresGrad: true });
    const s = a.add(b);
    const t = s.mul(s).add(s.mul(2)); // d/ds = 2s + 2
    t.sum().backward();
    expect(a.grad!.toArray()).toEqual([10, 14]);
    expect(b.grad!.toArray()).toEqual([10, 14]);
    // The caller's seed is never recycled or written.
    const x = Tensor.from([1, 2], { requiresGrad: true });
    const seed = Tensor.from([0.5, 0.25]);
    x.reshape([2]).backward(seed);
    expect(seed.toArray()).toEqual([0.5, 0.25]);
    expect(x.grad!.toArray()).toEqual([0.5, 0.25]);
  });
});
