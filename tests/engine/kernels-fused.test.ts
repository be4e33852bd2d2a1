import { describe, expect, it } from 'vitest';
import { Rng, Tensor, gradcheck } from '../../engine/index.js';
import { reluBackward, reluForward } from '../../engine/kernels/activation.js';
import { biasBackward, biasForward, biasReluBackward, biasReluForward } from '../../engine/kernels/linear.js';
import { linear } from '../../engine/ops/linear.js';

function random(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniformIn(-1, 1);
  return a;
}

describe('fused bias + ReLU kernels equal their unfused composition', () => {
  const B = 7, OUT = 13;
  const rng = new Rng(5);
  const pre = random(B * OUT, rng);
  pre[3] = 0; // a unit exactly at 0 (gradient 0 there, as in reluBackward)
  const bias = random(OUT, rng);
  bias[3 % OUT] = 0;
  const dout = random(B * OUT, rng);

  it('forward: max(0, x + b)', () => {
    const fused = pre.slice();
    biasReluForward(fused, bias, B, OUT);
    const sum = pre.slice();
    biasForward(sum, bias, B, OUT);
    const want = new Float32Array(B * OUT);
    reluForward(want, sum, B * OUT);
    expect(Array.from(fused)).toEqual(Array.from(want));
  });

  it('backward: masked gradient and bias gradient in one pass', () => {
    const out = pre.slice();
    biasReluForward(out, bias, B, OUT);
    const dpre = new Float32Array(B * OUT);
    const dbias = new Float32Array(OUT).fill(99); // must be overwritten
    biasReluBackward(dpre, dbias, dout, out, B, OUT);
    const wantDpre = new Float32Array(B * OUT);
    reluBackward(wantDpre, dout, out, B * OUT);
    const wantDbias = new Float32Array(OUT);
    biasBackward(wantDbias, wantDpre, B, OUT);
    expect(Array.from(dpre)).toEqual(Array.from(wantDpre));
    expect(Array.from(dbias)).toEqual(Array.from(wantDbias));
  });

  it('without a bias', () => {
    const out = pre.slice();
    biasReluForward(out, null, B, OUT);
    expect(Array.from(out)).toEqual(Array.from(pre, (v) => (v > 0 ? v : 0)));
    const dpre = new Float32Array(B * OUT);
    biasReluBackward(dpre, null, dout, out, B, OUT);
    expect(Array.from(dpre)).toEqual(Array.from(dout, (g, i) => (out[i] > 0 ? g : 0)));
  });
});

describe('linear op with { relu: true }', () => {
  const rng = new Rng(11);
  const make = (shape: number[]): Tensor => Tensor.from(random(shape.reduce((a, b) => a * b, 1), rng), { shape, requiresGrad: true });

  it('hand-computed: relu([1,2]·[[1,2],[2,-3]]ᵀ + [0.5,1]) = [5.5, 0]', () => {
    const x = Tensor.from([[1, 2]]);
    const w = Tensor.from([[1, 2], [2, -3]]);
    const b = Tensor.from([0.5, 1]);
    expect(linear(x, w, b, { relu: true }).toArray()).toEqual([[5.5, 0]]);
  });

  it('gives the same values and gradients as linear(...).relu()', () => {
    const x = make([5, 6]);
    const w = make([4, 6]);
    const b = make([4]);
    const fused = linear(x, w, b, { relu: true });
    const plain = linear(x, w, b).relu();
    expect(Array.from(fused.data)).toEqual(Array.from(plain.data));
    const seed = random(20, rng);
    fused.backward(seed);
    const grads = [x, w, b].map((t) => Array.from(t.grad!.data));
    for (const t of [x, w, b]) t.zeroGrad();
    plain.backward(seed);
    [x, w, b].forEach((t, i) => expect(Array.from(t.grad!.data)).toEqual(grads[i]));
  });

  it('passes gradcheck, with and without a bias', () => {
    const x = make([3, 5]);
    const w = make([4, 5]);
    const b = make([4]);
    expect(gradcheck((xx, ww, bb) => linear(xx, ww, bb, { relu: true }).sum(), [x, w, b])).toBeLessThan(2e-2);
    expect(gradcheck((xx, ww) => linear(xx, ww, null, { relu: true }).sum(), [x, w])).toBeLessThan(2e-2);
  });

  it('rejects shapes that do not fit, naming the op', () => {
    expect(() => linear(make([2, 3]), make([4, 5]), null, { relu: true })).toThrow(/linear\+relu: input \[2,3\] and weight \[4,5\]/);
    expect(() => linear(make([2, 5]), make([4, 5]), make([3]), { relu: true })).toThrow(/linear\+relu: bias \[3\]/);
  });
});

describe('dropout kernel with the inline generator', () => {
  it('gives the same masks and leaves the Rng in the same state as one rng.uniform() per unit', async () => {
    const { dropoutForward, dropoutForwardNaive } = await import('../../engine/kernels/dropout.js');
    for (const [rate, n] of [[0.2, 1000], [0.5, 37], [0.9, 513], [1e-9, 64]] as const) {
      const inp = random(n, new Rng(1));
      const r1 = new Rng(77);
      const r2 = new Rng(77);
      r1.normal(); // leaves a spare normal waiting: it must survive
      r2.normal();
      const out1 = new Float32Array(n), mask1 = new Float32Array(n);
      const out2 = new Float32Array(n), mask2 = new Float32Array(n);
      dropoutForward(out1, mask1, inp, rate, r1, n);
      dropoutForwardNaive(out2, mask2, inp, rate, r2, n);
      expect(Array.from(mask1)).toEqual(Array.from(mask2));
      expect(Array.from(out1)).toEqual(Array.from(out2));
      expect(r1.getState()).toEqual(r2.getState());
      expect(r1.normal()).toBe(r2.normal());
    }
  });

  it('drops about `rate` of the units and scales the rest by 1/(1 − rate)', async () => {
    const { dropoutForward } = await import('../../engine/kernels/dropout.js');
    const n = 20000;
    const out = new Float32Array(n), mask = new Float32Array(n);
    dropoutForward(out, mask, new Float32Array(n).fill(1), 0.3, new Rng(3), n);
    const dropped = mask.filter((m) => m === 0).length / n;
    expect(dropped).toBeGreaterThan(0.28);
    expect(dropped).toBeLessThan(0.32);
    expect(new Set(out.filter((v) => v !== 0))).toEqual(new Set([Math.fround(1 / 0.7)]));
  });
});
