import { describe, expect, it } from 'vitest';
import { Tensor } from '../../engine/index.js';
import {
  Adagrad, Adam, CosineAnnealing, ExponentialDecay, LambdaSchedule, LinearDecay, OneCycle, ReduceOnPlateau, SGD, StepDecay,
  TimeBasedDecay, Warmup,
} from '../../optim/index.js';
import type { Schedule } from '../../optim/index.js';
import { expectClose } from './close.js';

const sgd = (lr = 0.1, momentum = 0.9) => new SGD([Tensor.zeros([1], { requiresGrad: true })], { lr, momentum });

/** Checks lrAt against a table, and that step(t) writes the same rate without lrAt touching it. */
function checkTable(schedule: Schedule, table: Array<[number, number]>): void {
  const before = schedule.optimizer.lr;
  expectClose(table.map(([t]) => schedule.lrAt(t)), table.map(([, lr]) => lr), 1e-12);
  expect(schedule.optimizer.lr).toBe(before);
  for (const [t, lr] of table) {
    expect(schedule.step(t)).toBeCloseTo(lr, 12);
    expect(schedule.optimizer.lr).toBeCloseTo(lr, 12);
  }
}

describe('closed-form schedules', () => {
  it('TimeBasedDecay: lr0 / (1 + decay * t)', () => {
    checkTable(new TimeBasedDecay(sgd(0.1), { decay: 0.01 }), [[0, 0.1], [1, 0.1 / 1.01], [10, 0.1 / 1.1], [100, 0.05]]);
  });

  it('StepDecay: lr0 * drop^floor(t / every)', () => {
    checkTable(new StepDecay(sgd(0.1), { drop: 0.5, every: 10 }), [[0, 0.1], [9, 0.1], [10, 0.05], [19, 0.05], [20, 0.025], [35, 0.0125]]);
  });

  it("reference article 000's step_decay formula decays every epoch (floor binds to 1 + epoch)", () => {
    // init * pow(drop, floor(1 + epoch) / epochs_drop), as printed in the article.
    const article = new LambdaSchedule(sgd(0.1), (epoch) => 0.1 * Math.pow(0.5, Math.floor(1 + epoch) / 10));
    const values = [0, 1, 2, 3].map((t) => article.lrAt(t));
    for (let t = 1; t < 4; t++) expect(values[t]).toBeLessThan(values[t - 1]);
    expect(values[0]).toBeCloseTo(0.1 * Math.pow(0.5, 0.1), 12); // already decayed at epoch 0
    const steps = new StepDecay(sgd(0.1), { drop: 0.5, every: 10 });
    expect([0, 1, 2, 3].map((t) => steps.lrAt(t))).toEqual([0.1, 0.1, 0.1, 0.1]);
  });

  it('ExponentialDecay (PyTorch ExponentialLR): lr0 * gamma^t', () => {
    checkTable(new ExponentialDecay(sgd(0.2), { gamma: 0.9 }), [[0, 0.2], [1, 0.18], [2, 0.162], [10, 0.2 * 0.9 ** 10]]);
  });

  it('LinearDecay: straight line to endLr at t = total, then flat', () => {
    checkTable(new LinearDecay(sgd(0.1), { total: 4, endLr: 0.01 }), [[0, 0.1], [1, 0.0775], [2, 0.055], [3, 0.0325], [4, 0.01], [9, 0.01]]);
  });

  it("CosineAnnealing (PyTorch CosineAnnealingLR): closed form, equal to PyTorch's recursive form", () => {
    const s = new CosineAnnealing(sgd(0.1), { tMax: 10, minLr: 0.001 });
    checkTable(s, [[0, 0.1], [2, 0.001 + (0.099 * (1 + Math.cos(0.2 * Math.PI))) / 2], [5, 0.0505], [10, 0.001]]);
    // PyTorch's chainable update: lr_t = minLr + (1 + cos(pi t/T)) / (1 + cos(pi (t-1)/T)) * (lr_{t-1} - minLr)
    let lr = 0.1;
    for (let t = 1; t < 10; t++) {
      lr = 0.001 + ((1 + Math.cos((Math.PI * t) / 10)) / (1 + Math.cos((Math.PI * (t - 1)) / 10))) * (lr - 0.001);
      expect(s.lrAt(t)).toBeCloseTo(lr, 12);
    }
  });

  it('rejects bad options and bad indices with a RangeError naming the value', () => {
    expect(() => new StepDecay(sgd(), { drop: 0 })).toThrow('StepDecay: invalid drop 0');
    expect(() => new StepDecay(sgd(), { every: 2.5 })).toThrow('StepDecay: invalid every 2.5');
    expect(() => new ExponentialDecay(sgd(), { gamma: -1 })).toThrow('invalid gamma -1');
    expect(() => new TimeBasedDecay(sgd(), { decay: -0.1 })).toThrow('invalid decay -0.1');
    expect(() => new CosineAnnealing(sgd(), { tMax: 0 })).toThrow('invalid tMax 0');
    expect(() => new LinearDecay(sgd(), { total: 5, endLr: -1 })).toThrow('invalid endLr -1');
    const s = new ExponentialDecay(sgd(), { gamma: 0.5 });
    expect(() => s.lrAt(-1)).toThrow(RangeError);
    expect(() => s.step(1.5)).toThrow('ExponentialDecay: invalid index 1.5');
  });

  it('a state dictionary resumes the same curve (JSON round trip)', () => {
    const a = new StepDecay(sgd(0.1), { drop: 0.5, every: 2 });
    a.step(0);
    a.step(1);
    const saved = JSON.parse(JSON.stringify(a.stateDict()));
    // A resumed run builds its optimizer with the scheduled rate of the last epoch, not lr0.
    const b = new StepDecay(sgd(0.05), { drop: 0.5, every: 2 });
    b.loadStateDict(saved);
    expect(b.last).toBe(1);
    expect(b.step()).toBe(a.step());
    expect(b.optimizer.lr).toBe(0.05);
    expect(() => new ExponentialDecay(sgd(), { gamma: 0.5 }).loadStateDict(saved)).toThrow(/StepDecay/);
  });
});

describe("PyTorch's call pattern: step() after each epoch", () => {
  /** The rate each epoch trains at when the loop calls schedule.step() at the end of every epoch. */
  function pytorchRates(schedule: Schedule, epochs: number): number[] {
    const rates: number[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      rates.push(schedule.optimizer.lr); // ... train one epoch at this rate ...
      schedule.step();
    }
    return rates;
  }

  it('ExponentialDecay(gamma 0.5) from lr 1 trains at 1, 0.5, 0.25, 0.125, as StepLR/ExponentialLR do', () => {
    expect(pytorchRates(new ExponentialDecay(sgd(1), { gamma: 0.5 }), 4)).toEqual([1, 0.5, 0.25, 0.125]);
    expect(pytorchRates(new StepDecay(sgd(1), { drop: 0.5, every: 1 }), 4)).toEqual([1, 0.5, 0.25, 0.125]);
  });

  it('gives the same rates as the closed form fit uses, step(epoch) at each epoch start, for every schedule', () => {
    const build: Array<() => Schedule> = [
      () => new StepDecay(sgd(0.1), { drop: 0.5, every: 2 }),
      () => new ExponentialDecay(sgd(0.1), { gamma: 0.9 }),
      () => new TimeBasedDecay(sgd(0.1), { decay: 0.3 }),
      () => new LinearDecay(sgd(0.1), { total: 4, endLr: 0.01 }),
      () => new CosineAnnealing(sgd(0.1), { tMax: 6, minLr: 0.001 }),
      () => new LambdaSchedule(sgd(0.1), (_epoch, lr) => lr * 0.9),
      () => new Warmup(new CosineAnnealing(sgd(0.1), { tMax: 6 }), { steps: 3 }),
    ];
    for (const make of build) {
      const closed = make();
      const fitRates = [0, 1, 2, 3, 4, 5].map((epoch) => closed.step(epoch));
      expect(pytorchRates(make(), 6), closed.type).toEqual(fitRates);
    }
  });

  it('a schedule says what steps it: epochs, batches (OneCycle) or a metric (ReduceOnPlateau)', () => {
    expect(new StepDecay(sgd()).stepsOn).toBe('epoch');
    expect(new OneCycle(sgd(), { totalSteps: 5 }).stepsOn).toBe('batch');
    expect(new Warmup(new StepDecay(sgd()), { steps: 2 }).stepsOn).toBe('epoch');
    expect(new ReduceOnPlateau(sgd()).stepsOn).toBe('metric');
  });
});

describe('OneCycle (PyTorch OneCycleLR)', () => {
  it('follows the two-phase cosine curve with the default factors and momentum range', () => {
    // T = 10: initialLr = 1/25, minLr = 0.04/1e4; phase 1 ends at 0.3*10 - 1 = 2, phase 2 at 9.
    const opt = sgd(0.5);
    const s = new OneCycle(opt, { maxLr: 1, totalSteps: 10 });
    const cos = (start: number, end: number, pct: number) => end + ((start - end) / 2) * (1 + Math.cos(Math.PI * pct));
    const table: Array<[number, number, number]> = [
      [0, 0.04, 0.95],
      [1, 0.52, 0.9],
      [2, 1, 0.85],
      [5, cos(1, 4e-6, 3 / 7), cos(0.85, 0.95, 3 / 7)],
      [9, 4e-6, 0.95],
      [10, cos(1, 4e-6, 8 / 7), cos(0.85, 0.95, 8 / 7)], // PyTorch allows t = totalSteps
    ];
    // Construction puts the optimizer at t = 0, as PyTorch's does.
    expect(opt.lr).toBeCloseTo(0.04, 12);
    expect(opt.paramGroups[0].momentum).toBeCloseTo(0.95, 12);
    for (const [t, lr, m] of table) {
      expect(s.lrAt(t)).toBeCloseTo(lr, 12);
      expect(s.momentumAt(t)).toBeCloseTo(m, 12);
      s.step(t);
      expect(opt.lr).toBeCloseTo(lr, 12);
      expect(opt.paramGroups[0].momentum).toBeCloseTo(m, 12);
    }
    expect(s.stepsOn).toBe('batch');
    expect(() => s.lrAt(11)).toThrow('OneCycle: step 11 is past totalSteps 10');
  });

  it('three phases and linear annealing', () => {
    // T = 10, pctStart 0.3: ends at 2, 4, 9; lr 0.04 -> 1 -> 0.04 -> 4e-6.
    const s = new OneCycle(sgd(), { maxLr: 1, totalSteps: 10, threePhase: true, annealStrategy: 'linear' });
    const table: Array<[number, number, number]> = [[0, 0.04, 0.95], [1, 0.52, 0.9], [2, 1, 0.85], [3, 0.52, 0.9], [4, 0.04, 0.95], [7, 0.04 - 0.6 * (0.04 - 4e-6), 0.95], [9, 4e-6, 0.95]];
    for (const [t, lr, m] of table) {
      expect(s.lrAt(t)).toBeCloseTo(lr, 12);
      expect(s.momentumAt(t)).toBeCloseTo(m, 12);
    }
  });

  it("cycles Adam's beta1, takes epochs x stepsPerEpoch, and refuses an optimizer without momentum", () => {
    const adam = new Adam([Tensor.zeros([1], { requiresGrad: true })], { lr: 0.01, betas: [0.9, 0.99] });
    const s = new OneCycle(adam, { epochs: 2, stepsPerEpoch: 5 });
    expect(s.totalSteps).toBe(10);
    expect(s.maxLr).toBe(0.01); // defaults to the optimizer's rate
    s.step(2);
    expect(adam.paramGroups[0].betas).toEqual([0.85, 0.99]);
    expect(adam.lr).toBeCloseTo(0.01, 12);
    const adagrad = new Adagrad([Tensor.zeros([1], { requiresGrad: true })]);
    expect(() => new OneCycle(adagrad, { totalSteps: 10 })).toThrow(/Adagrad has neither momentum nor betas/);
    expect(() => new OneCycle(adagrad, { totalSteps: 10, cycleMomentum: false })).not.toThrow();
    expect(() => new OneCycle(sgd(), { totalSteps: 10, pctStart: 1.5 })).toThrow('invalid pctStart 1.5');
  });
});

describe('ReduceOnPlateau (PyTorch ReduceLROnPlateau)', () => {
  it('reduces after more than `patience` bad epochs, then cools down', () => {
    const opt = sgd(1);
    const s = new ReduceOnPlateau(opt, { factor: 0.5, patience: 2, cooldown: 1 });
    const metrics = [1, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8];
    const expected = [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25];
    expect(metrics.map((m) => s.step(m))).toEqual(expected);
  });

  it('uses a relative threshold, max mode, minLr, and step(epoch, metric)', () => {
    const s = new ReduceOnPlateau(sgd(1), { patience: 0 });
    s.step(0, 0.9);
    // 0.89995 is not below 0.9 * (1 - 1e-4) = 0.89991: not an improvement, and patience is 0.
    expect(s.step(1, 0.89995)).toBeCloseTo(0.1, 12);
    expect(s.best).toBe(0.9);
    expect(s.last).toBe(1);
    const acc = new ReduceOnPlateau(sgd(1), { mode: 'max', patience: 0, factor: 0.1, minLr: 0.05 });
    acc.step(0.5);
    expect(acc.step(0.6)).toBe(1);
    expect(acc.step(0.6)).toBeCloseTo(0.1, 12);
    expect(acc.step(0.6)).toBeCloseTo(0.05, 12);
    expect(acc.step(0.6)).toBeCloseTo(0.05, 12);
    expect(() => new ReduceOnPlateau(sgd(), { factor: 1 })).toThrow('ReduceOnPlateau: invalid factor 1');
  });

  it('resumes its counters from a JSON state dictionary', () => {
    const metrics = [1, 1, 1, 1, 1, 1];
    const a = new ReduceOnPlateau(sgd(1), { patience: 3 });
    metrics.slice(0, 3).forEach((m) => a.step(m));
    const saved = JSON.parse(JSON.stringify(a.stateDict()));
    const b = new ReduceOnPlateau(sgd(1), { patience: 3 });
    b.loadStateDict(saved);
    expect(metrics.slice(3).map((m) => b.step(m))).toEqual(metrics.slice(3).map((m) => a.step(m)));
    expect(b.optimizer.lr).toBeCloseTo(0.1, 12);
  });
});

describe('LambdaSchedule (Keras LearningRateScheduler) and Warmup', () => {
  it('calls fn(epoch, current lr), so lr * 0.9 compounds', () => {
    const opt = sgd(1);
    const s = new LambdaSchedule(opt, (_epoch, lr) => lr * 0.9);
    // Construction applies fn(0, lr); stepping to the epoch it is at (fit's step(0)) does not compound it again.
    expect(opt.lr).toBe(0.9);
    expect([0, 1, 2].map((t) => s.step(t))).toEqual([0.9, 0.9 * 0.9, 0.9 * 0.9 * 0.9]);
    expect(s.step(2)).toBe(0.9 * 0.9 * 0.9);
    expect(() => new LambdaSchedule(opt, () => Number.NaN).step(0)).toThrow('LambdaSchedule: the function returned NaN for epoch 0');
  });

  it('Warmup scales any schedule by PyTorch LinearLR factors until it joins it', () => {
    const cosine = new CosineAnnealing(sgd(0.1), { tMax: 10 });
    const s = new Warmup(cosine, { steps: 4, startFactor: 0.2 });
    checkTable(s, [0, 1, 2, 3, 4, 7].map((t) => [t, cosine.lrAt(t) * (0.2 + (0.8 * Math.min(t, 4)) / 4)]));
    expect(s.lrAt(4)).toBe(cosine.lrAt(4));
    const constant = new Warmup(sgd(0.3), { steps: 3 });
    expect([0, 1, 2, 3, 10].map((t) => constant.lrAt(t))).toEqual([0.1, 0.3 * (1 / 3 + 2 / 9), 0.3 * (1 / 3 + 4 / 9), 0.3, 0.3].map((v) => expect.closeTo(v, 12)));
  });

  it('Warmup around OneCycle stays per batch and still moves momentum; its state holds the inner one', () => {
    const opt = sgd(0.1);
    const s = new Warmup(new OneCycle(opt, { totalSteps: 20 }), { steps: 5 });
    expect(s.stepsOn).toBe('batch');
    s.step(3);
    expect(opt.paramGroups[0].momentum).toBeCloseTo((s.inner as OneCycle).momentumAt(3), 12);
    const state = JSON.parse(JSON.stringify(s.stateDict()));
    expect(state.inner.last).toBe(3);
    const again = new Warmup(new OneCycle(sgd(0.1), { totalSteps: 20 }), { steps: 5 });
    again.loadStateDict(state);
    expect(again.step()).toBe(s.step());
  });
});
