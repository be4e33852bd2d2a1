import { describe, expect, it } from 'vitest';
import { Tensor } from '../../engine/index.js';
import { Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop } from '../../optim/index.js';
import type { Optimizer } from '../../optim/index.js';
import { expectClose } from './close.js';

// Three steps from W0 with these gradients; each reference below is the optimizer's formula written
// out again in float64 over plain arrays, so a slip in the float32 loop shows.
const W0 = [1, -2, 0.5];
const GRADS = [[0.5, 1, -1], [0.25, -0.5, 2], [-1, 0.75, 0.5]];

function run(make: (params: Tensor[]) => Optimizer<any>): Float32Array {
  const p = Tensor.from(W0, { requiresGrad: true });
  const opt = make([p]);
  for (const g of GRADS) {
    p.grad = Tensor.from(g);
    opt.step();
  }
  return p.data;
}

/** Applies `update(i, w, g, t)` for each element, t from 1. */
function reference(update: (i: number, w: number, g: number, t: number) => number): number[] {
  const w = [...W0];
  GRADS.forEach((grad, s) => {
    for (let i = 0; i < w.length; i++) w[i] = update(i, w[i], grad[i], s + 1);
  });
  return w;
}

function adamReference(lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean, amsgrad: boolean): number[] {
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  const vmax = [0, 0, 0];
  return reference((i, w, g0, t) => {
    let wi = w;
    let g = g0;
    if (decoupled) wi = w * (1 - lr * wd);
    else g = g0 + wd * w;
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    vmax[i] = Math.max(vmax[i], v[i]);
    const mHat = m[i] / (1 - b1 ** t);
    const vHat = (amsgrad ? vmax[i] : v[i]) / (1 - b2 ** t);
    return wi - (lr * mHat) / (Math.sqrt(vHat) + eps);
  });
}

describe('adaptive optimizers against their formulas (3 steps, float64 references)', () => {
  it('Adam (PyTorch defaults)', () => {
    expectClose(run((p) => new Adam(p, { lr: 0.1 })), adamReference(0.1, 0.9, 0.999, 1e-8, 0, false, false), 1e-5);
  });

  it('Adam with coupled weight decay and AMSGrad', () => {
    const ours = run((p) => new Adam(p, { lr: 0.05, betas: [0.8, 0.9], weightDecay: 0.1, amsgrad: true }));
    expectClose(ours, adamReference(0.05, 0.8, 0.9, 1e-8, 0.1, false, true), 1e-5);
    // AMSGrad changes the result here: element 2's second moment falls at step 3 (gradient 2 then 0.5).
    const plain = adamReference(0.05, 0.8, 0.9, 1e-8, 0.1, false, false);
    expect(Math.abs(ours[2] - plain[2])).toBeGreaterThan(1e-4);
  });

  it('AdamW: decoupled decay (weights shrink by lr * weightDecay before the Adam step)', () => {
    const ours = run((p) => new AdamW(p, { lr: 0.1, weightDecay: 0.5 }));
    expectClose(ours, adamReference(0.1, 0.9, 0.999, 1e-8, 0.5, true, false), 1e-5);
    const coupled = adamReference(0.1, 0.9, 0.999, 1e-8, 0.5, false, false);
    expect(Math.abs(ours[1] - coupled[1])).toBeGreaterThan(1e-3);
    expect(new AdamW([Tensor.zeros([1])]).paramGroups[0].weightDecay).toBe(0.01);
  });

  it('Nadam (PyTorch NAdam, momentum decay 0.004)', () => {
    const lr = 0.1;
    const b1 = 0.9;
    const b2 = 0.999;
    const psi = 0.004;
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    const prod = [1, 1, 1];
    const expected = reference((i, w, g, t) => {
      const mu = b1 * (1 - 0.5 * 0.96 ** (t * psi));
      const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi));
      prod[i] *= mu;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const denom = Math.sqrt(v[i] / (1 - b2 ** t)) + 1e-8;
      return w - (lr * (1 - mu) * g) / (1 - prod[i]) / denom - (lr * muNext * m[i]) / (1 - prod[i] * muNext) / denom;
    });
    expectClose(run((p) => new Nadam(p, { lr })), expected, 1e-5);
  });

  it('RMSprop (PyTorch defaults: alpha 0.99, eps 1e-8)', () => {
    const s = [0, 0, 0];
    const expected = reference((i, w, g) => {
      s[i] = 0.99 * s[i] + 0.01 * g * g;
      return w - (0.01 * g) / (Math.sqrt(s[i]) + 1e-8);
    });
    expectClose(run((p) => new RMSprop(p)), expected, 1e-5);
  });

  it('RMSprop centered with momentum', () => {
    const s = [0, 0, 0];
    const a = [0, 0, 0];
    const b = [0, 0, 0];
    const expected = reference((i, w, g) => {
      s[i] = 0.9 * s[i] + 0.1 * g * g;
      a[i] = 0.9 * a[i] + 0.1 * g;
      b[i] = 0.5 * b[i] + g / (Math.sqrt(s[i] - a[i] * a[i]) + 1e-8);
      return w - 0.01 * b[i];
    });
    expectClose(run((p) => new RMSprop(p, { alpha: 0.9, centered: true, momentum: 0.5 })), expected, 1e-4);
  });

  it('Adagrad with lrDecay and an initial accumulator', () => {
    const s = [0.1, 0.1, 0.1];
    const expected = reference((i, w, g, t) => {
      s[i] += g * g;
      return w - ((0.5 / (1 + (t - 1) * 0.1)) * g) / (Math.sqrt(s[i]) + 1e-10);
    });
    expectClose(run((p) => new Adagrad(p, { lr: 0.5, lrDecay: 0.1, initialAccumulatorValue: 0.1 })), expected, 1e-5);
    const opt = new Adagrad([Tensor.zeros([1])], { lr: 0.5, lrDecay: 0.1 });
    opt.iterations = 3;
    expect(opt.currentLr).toBeCloseTo(0.5 / 1.3, 12);
    expect(new Adam([Tensor.zeros([1])], { lr: 0.5 }).currentLr).toBe(0.5);
  });

  it('Adadelta (PyTorch defaults: lr 1, rho 0.9, eps 1e-6)', () => {
    const s = [0, 0, 0];
    const u = [0, 0, 0];
    const expected = reference((i, w, g) => {
      s[i] = 0.9 * s[i] + 0.1 * g * g;
      const d = (Math.sqrt(u[i] + 1e-6) / Math.sqrt(s[i] + 1e-6)) * g;
      u[i] = 0.9 * u[i] + 0.1 * d * d;
      return w - d;
    });
    expectClose(run((p) => new Adadelta(p)), expected, 1e-5);
  });

  it('every optimizer resumes exactly from its state dictionary', () => {
    const makers: Array<(p: Tensor[]) => Optimizer<any>> = [
      (p) => new Adam(p, { lr: 0.1, amsgrad: true }),
      (p) => new AdamW(p, { lr: 0.1 }),
      (p) => new Nadam(p),
      (p) => new RMSprop(p, { centered: true, momentum: 0.9 }),
      (p) => new Adagrad(p, { lrDecay: 0.01 }),
      (p) => new Adadelta(p),
    ];
    for (const make of makers) {
      const a = Tensor.from(W0, { requiresGrad: true });
      const optA = make([a]);
      a.grad = Tensor.from(GRADS[0]);
      optA.step();
      const saved = optA.stateDict();
      const b = Tensor.from(a.data.slice(), { requiresGrad: true });
      const optB = make([b]);
      // The metadata goes through JSON, as it does in a checkpoint.
      optB.loadStateDict({ meta: JSON.parse(JSON.stringify(saved.meta)), buffers: saved.buffers });
      for (const g of GRADS.slice(1)) {
        a.grad = Tensor.from(g);
        b.grad = Tensor.from(g);
        optA.step();
        optB.step();
      }
      expect(Array.from(b.data), optA.type).toEqual(Array.from(a.data));
    }
  });
});

describe('hyper-parameter validation', () => {
  const p = () => [Tensor.zeros([2], { requiresGrad: true })];
  it.each([
    ['Adam beta1', () => new Adam(p(), { betas: [1, 0.999] }), 'Adam: invalid beta1 1, expected 0 <= beta1 < 1'],
    ['Adam beta2', () => new Adam(p(), { betas: [0.9, -0.1] }), 'Adam: invalid beta2 -0.1, expected 0 <= beta2 < 1'],
    ['Adam eps', () => new Adam(p(), { eps: 0 }), 'Adam: invalid eps 0, expected a finite eps > 0'],
    ['Adam lr', () => new Adam(p(), { lr: -1 }), 'Adam: invalid lr -1'],
    ['AdamW weightDecay', () => new AdamW(p(), { weightDecay: -0.01 }), 'AdamW: invalid weightDecay -0.01'],
    ['Nadam momentumDecay', () => new Nadam(p(), { momentumDecay: -1 }), 'Nadam: invalid momentumDecay -1'],
    ['RMSprop alpha', () => new RMSprop(p(), { alpha: 1.5 }), 'RMSprop: invalid alpha 1.5, expected 0 <= alpha < 1'],
    ['RMSprop momentum', () => new RMSprop(p(), { momentum: -0.5 }), 'RMSprop: invalid momentum -0.5'],
    ['Adagrad lrDecay', () => new Adagrad(p(), { lrDecay: -1 }), 'Adagrad: invalid lrDecay -1'],
    ['Adagrad eps', () => new Adagrad(p(), { eps: -1e-10 }), 'Adagrad: invalid eps -1e-10'],
    ['Adadelta rho', () => new Adadelta(p(), { rho: 2 }), 'Adadelta: invalid rho 2, expected 0 <= rho < 1'],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(RangeError);
    expect(make).toThrow(message);
  });
});
