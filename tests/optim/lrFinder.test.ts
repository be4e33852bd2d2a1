import { describe, expect, it } from 'vitest';
import { Rng, Tensor } from '../../engine/index.js';
import { Adam, SGD, centeredAverage, findLearningRate, suggest, type Optimizer } from '../../optim/index.js';
import type { FinderModel } from '../../optim/index.js';

/** One weight w; the loss of a batch c is a/2 (w - c)^2, whose gradient descent diverges for lr > 2/a. */
function quadratic(w0: number): { w: Tensor; model: FinderModel; optimizer: SGD } {
  const w = Tensor.from([w0], { requiresGrad: true });
  return { w, model: { parameters: () => [w] }, optimizer: new SGD([w], { lr: 1 }) };
}

/** A training step as train/'s trainStep takes it: a non-finite loss is reported, not applied. */
function stepOf<B>(optimizer: Optimizer<any>, loss: (batch: B) => Tensor): (batch: B) => number {
  return (batch) => {
    optimizer.zeroGrad();
    const l = loss(batch);
    const value = l.item();
    if (Number.isFinite(value)) {
      l.backward();
      optimizer.step();
    }
    return value;
  };
}

describe('findLearningRate', () => {
  for (const a of [4, 50]) {
    it(`on a/2 w^2 (a = ${a}) the loss turns up at the first rate above 2/a, and the sweep stops after it`, () => {
      const { w, model, optimizer } = quadratic(3);
      const r = findLearningRate(stepOf(optimizer, () => w.square().mul(a / 2).sum()), [0], { model, optimizer });
      // rate_i = 1e-7 * (1e8)^(i/99)
      r.rates.forEach((rate, i) => expect(rate).toBeCloseTo(1e-7 * Math.pow(1e8, i / 99), 15));
      // w <- (1 - lr a) w: the loss shrinks while lr < 2/a and grows once lr > 2/a.
      const k = r.losses.findIndex((l, i) => r.losses[i + 1] > l);
      expect(r.rates[k]).toBeGreaterThan(2 / a);
      expect(r.rates[k - 1]).toBeLessThan(2 / a);
      for (let i = 0; i < k; i++) expect(r.losses[i + 1]).toBeLessThanOrEqual(r.losses[i]);
      expect(r.stopReason).toBe('diverged');
      expect(r.rates.length).toBeLessThan(100);
      const last = r.smoothed.length - 1;
      expect(r.smoothed[last]).toBeGreaterThan(4 * Math.min(...r.smoothed));
      expect(Math.min(...r.smoothed.slice(0, last))).toBe(Math.min(...r.smoothed));
      // Half the turn is a rate that converges, near the best one (1/a: one step to the minimum).
      expect(r.suggestions.halfTurn).toBeGreaterThan(0.8 / a);
      expect(r.suggestions.halfTurn).toBeLessThan(1.6 / a);
      expect(r.suggestions.minOver10).toBeLessThan(r.suggestions.halfTurn);
      // The weight is back where it started, and has no gradient left over.
      expect(w.data[0]).toBe(3);
      expect(w.grad).toBeNull();
    });
  }

  for (const a of [0.5, 4, 50]) {
    it(`with mini-batch noise and a fine grid, the blow-up is found near 2/a (a = ${a})`, () => {
      const rng = new Rng(3);
      const targets = Array.from({ length: 16 }, () => 0.3 * rng.normal());
      const { w, model, optimizer } = quadratic(3);
      const r = findLearningRate(stepOf(optimizer, (c: number) => w.sub(c).square().mul(a / 2).sum()), targets, {
        model,
        optimizer,
        start: 1e-3 / a,
        end: 10 / a,
        steps: 1000,
      });
      expect(r.stopReason).toBe('diverged');
      const blowUp = r.rates[r.rates.length - 1];
      expect(blowUp).toBeGreaterThan(0.8 * (2 / a));
      expect(blowUp).toBeLessThan(1.3 * (2 / a));
      // Every suggestion is a rate that converges.
      for (const rate of Object.values(r.suggestions)) expect(rate).toBeLessThan(2 / a);
      expect(r.suggested).toBe(r.suggestions.halfTurn);
      expect(w.data[0]).toBe(3);
    });
  }

  it('smooths with a debiased moving average', () => {
    const { w, model, optimizer } = quadratic(1);
    const r = findLearningRate(stepOf(optimizer, () => w.square().sum()), [0], { model, optimizer, start: 1e-6, end: 1e-5, steps: 3, beta: 0.9 });
    let avg = 0;
    r.losses.forEach((loss, i) => {
      avg = 0.9 * avg + 0.1 * loss;
      expect(r.smoothed[i]).toBeCloseTo(avg / (1 - 0.9 ** (i + 1)), 6);
    });
    expect(r.smoothed[0]).toBeCloseTo(r.losses[0], 6);
    expect(r.stopReason).toBe('completed');
  });

  it('cycles batches (arrays and one-shot generators) and restores a given optimizer', () => {
    const seen: number[] = [];
    const { w, model } = quadratic(2);
    const opt = new Adam([w], { lr: 0.003 });
    w.grad = Tensor.from([1]);
    opt.step();
    const before = opt.stateDict();
    const weight = w.data[0];
    function* three() {
      yield 1;
      yield 2;
      yield 3;
    }
    const step = stepOf(opt, (b: number) => {
      seen.push(b);
      return w.sub(b).square().sum();
    });
    findLearningRate(step, three(), { model, optimizer: opt, steps: 7, start: 1e-6, end: 1e-3 });
    expect(seen).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(opt.lr).toBe(0.003);
    expect(opt.iterations).toBe(1);
    expect(opt.stateDict().buffers).toEqual(before.buffers);
    expect(w.data[0]).toBe(weight);
  });

  it('stops at a non-finite loss without recording it', () => {
    const { w, model, optimizer } = quadratic(1);
    let n = 0;
    const step = stepOf(optimizer, () => (++n === 5 ? w.mul(Number.NaN).sum() : w.square().sum()));
    const r = findLearningRate(step, [0], { model, optimizer, steps: 10, start: 1e-6, end: 1e-5 });
    expect(r.stopReason).toBe('non-finite');
    expect(r.losses).toHaveLength(4);
    expect(w.data[0]).toBe(1);
  });

  it('rejects bad options', () => {
    const { w, model, optimizer } = quadratic(1);
    const step = stepOf(optimizer, () => w.square().sum());
    const o = { model, optimizer };
    expect(() => findLearningRate(step, [0], { ...o, start: 0 })).toThrow('findLearningRate: invalid start 0');
    expect(() => findLearningRate(step, [0], { ...o, start: 1, end: 0.1 })).toThrow('invalid end 0.1');
    expect(() => findLearningRate(step, [0], { ...o, steps: 1 })).toThrow('invalid steps 1');
    expect(() => findLearningRate(step, [0], { ...o, beta: 1 })).toThrow('invalid beta 1');
    expect(() => findLearningRate(step, [0], { ...o, stopFactor: 1 })).toThrow('invalid stopFactor 1');
    expect(() => findLearningRate(step, [], o)).toThrow('findLearningRate: no batches');
    expect(() => findLearningRate(step, [0], { model, optimizer: undefined as never })).toThrow(/options.optimizer must be the optimizer that step uses/);
  });

  it('reads suggestions from a centered average, which does not lag', () => {
    expect(centeredAverage([1, 2, 3, 10, 5], 1)).toEqual([1.5, 2, 5, 6, 7.5]);
    // A V-shaped loss: the centered average keeps its minimum in place; the moving average does not.
    const v = Array.from({ length: 41 }, (_, i) => Math.abs(i - 20) + 1);
    const c = centeredAverage(v, 2);
    expect(c.indexOf(Math.min(...c))).toBe(20);
  });

  it('suggests from a curve: steepest before the minimum, minimum / 10, half the turn', () => {
    const rates = Array.from({ length: 30 }, (_, i) => 10 ** (-6 + i * 0.2));
    // Falls slowly, fastest from index 12 to 13, bottoms out at 20, then climbs.
    const drops = [0.5, 0.6, 1.5, 0.7, 0.5];
    const smoothed: number[] = [];
    for (let i = 0, v = 5; i < 30; i++) {
      smoothed.push(v);
      v += i < 10 ? -0.01 : i < 15 ? -drops[i - 10] : i < 20 ? -0.01 : 1;
    }
    const s = suggest(rates, smoothed);
    expect(s.steepest).toBe(rates[12]);
    expect(s.minOver10).toBeCloseTo(rates[20] / 10, 15);
    expect(s.halfTurn).toBeCloseTo(rates[20] / 2, 15);
  });
});
