/**
 * The optimizers PyTorch 1.13 does not have (AdaBound, Lion, Lookahead, Muon), step by step against
 * float64 transcriptions of their authors' algorithms; exact resume of every new optimizer from its
 * state dictionary (and of a Lookahead around Muon+AdamW under a cyclic schedule through fit's
 * checkpoints, interrupted mid-epoch); the hyper-parameter errors, which echo the value.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/index.js';
import { Rng, ShapeError, Tensor } from '../../engine/index.js';
import { BatchNorm, Dense, ReLU, Sequential } from '../../layers/index.js';
import {
  AdaBound, Adam, AdamW, Adamax, Combined, Cyclic, Lion, Lookahead, Muon, OneCycle, RAdam, SGD, StepDecay, muonWithAdamW, type Optimizer,
} from '../../optim/index.js';
import { ModelCheckpoint, fit, load, type Callback } from '../../train/index.js';
import { expectClose } from './close.js';

// The same starting weights and gradients as the PyTorch goldens: a (3,5) matrix and a (5) vector.
const golden = JSON.parse(readFileSync(new URL('./goldens/pytorch.json', import.meta.url), 'utf8')) as { w0: number[]; grads: number[][] };
const STEPS = golden.grads.length;
const SHAPES = [[3, 5], [5]];

function params(shapes = SHAPES): Tensor[] {
  let at = 0;
  return shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = Tensor.from(new Float32Array(golden.w0.slice(at, at + n)), { shape, requiresGrad: true });
    at += n;
    return t;
  });
}

/** Sets step's gradients (the goldens', over however many parameters there are) and steps. */
function stepWith(opt: Optimizer<any>, ps: Tensor[], step: number): void {
  let at = 0;
  for (const p of ps) {
    p.grad = Tensor.from(new Float32Array(golden.grads[step].slice(at, at + p.size)), { shape: p.shape });
    at += p.size;
  }
  opt.step();
}

const flatten = (ps: Tensor[]): number[] => ps.flatMap((p) => Array.from(p.data));

describe('AdaBound against a float64 transcription of the authors\' adabound.py', () => {
  /** github.com/Luolc/AdaBound adabound.py's step(), over plain float64 arrays. */
  function reference(lrs: number[], o: { finalLr: number; gamma: number; beta1: number; beta2: number; eps: number; wd: number; amsbound: boolean }): number[][] {
    const baseLr = lrs[0];
    const w = [...golden.w0];
    const m = w.map(() => 0);
    const v = w.map(() => 0);
    const vmax = w.map(() => 0);
    return golden.grads.map((grads, s) => {
      const t = s + 1;
      const lr = lrs[s];
      for (let i = 0; i < w.length; i++) {
        const g = grads[i] + o.wd * w[i];
        m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
        v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
        vmax[i] = Math.max(vmax[i], v[i]);
        const denom = Math.sqrt(o.amsbound ? vmax[i] : v[i]) + o.eps;
        const stepSize = (lr * Math.sqrt(1 - o.beta2 ** t)) / (1 - o.beta1 ** t);
        const finalLr = (o.finalLr * lr) / baseLr;
        const lower = finalLr * (1 - 1 / (o.gamma * t + 1));
        const upper = finalLr * (1 + 1 / (o.gamma * t));
        w[i] -= Math.min(Math.max(stepSize / denom, lower), upper) * m[i];
      }
      return [...w];
    });
  }

  it.each([
    ['AdaBound, defaults, the rate lowered at step 7 (the bounds follow)', { lr: 0.01 }, { finalLr: 0.1, gamma: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0, amsbound: false }],
    // gamma 0.1 closes the bounds within the run: the clipping is exercised, not only Adam's step.
    ['AMSBound, gamma 0.1, finalLr 0.05, weight decay 0.01', { lr: 0.01, gamma: 0.1, finalLr: 0.05, amsbound: true, weightDecay: 0.01 }, { finalLr: 0.05, gamma: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.01, amsbound: true }],
  ] as const)('%s', (_name, options, o) => {
    const lrs = Array.from({ length: STEPS }, (_, s) => (s < 6 ? options.lr : options.lr * 0.3));
    const want = reference(lrs, o);
    const ps = params();
    const opt = new AdaBound(ps, options);
    for (let s = 0; s < STEPS; s++) {
      opt.lr = lrs[s];
      stepWith(opt, ps, s);
      expectClose(flatten(ps), want[s], 1e-5);
    }
  });

  it('the bounds do clip: with gamma 0.1 the step differs from an unbounded Adam step', () => {
    const a = params();
    const b = params();
    const bounded = new AdaBound(a, { lr: 0.01, gamma: 0.1, finalLr: 0.05 });
    const adam = new AdaBound(b, { lr: 0.01, gamma: 1e-9, finalLr: 0.05 });
    for (let s = 0; s < STEPS; s++) {
      stepWith(bounded, a, s);
      stepWith(adam, b, s);
    }
    const diff = Math.max(...flatten(a).map((x, i) => Math.abs(x - flatten(b)[i])));
    expect(diff).toBeGreaterThan(1e-3);
  });
});

describe('Lion against a float64 transcription of Chen et al. 2023, Algorithm 2', () => {
  it('with decoupled weight decay, the rate changed mid-run', () => {
    const [b1, b2, wd] = [0.9, 0.99, 0.1];
    const lrs = Array.from({ length: STEPS }, (_, s) => (s < 6 ? 0.01 : 0.004));
    const w = [...golden.w0];
    const m = w.map(() => 0);
    const want = golden.grads.map((g, s) => {
      for (let i = 0; i < w.length; i++) {
        const c = b1 * m[i] + (1 - b1) * g[i];
        w[i] = w[i] - lrs[s] * (Math.sign(c) + wd * w[i]);
        m[i] = b2 * m[i] + (1 - b2) * g[i];
      }
      return [...w];
    });
    const ps = params();
    const opt = new Lion(ps, { lr: lrs[0], betas: [b1, b2], weightDecay: wd });
    for (let s = 0; s < STEPS; s++) {
      opt.lr = lrs[s];
      stepWith(opt, ps, s);
      expectClose(flatten(ps), want[s], 1e-5);
    }
  });
});

describe('Lookahead against a float64 transcription of Zhang et al. 2019, Algorithm 1', () => {
  it('around SGD with momentum: k 3, alpha 0.5; the inner velocity survives each synchronisation', () => {
    const [lr, mu, k, alpha] = [0.05, 0.9, 3, 0.5];
    const w = [...golden.w0];
    const slow = [...golden.w0];
    const vel = w.map(() => 0);
    const want = golden.grads.map((g, s) => {
      for (let i = 0; i < w.length; i++) {
        vel[i] = mu * vel[i] - lr * g[i];
        w[i] += vel[i];
      }
      if ((s + 1) % k === 0) {
        for (let i = 0; i < w.length; i++) {
          slow[i] += alpha * (w[i] - slow[i]);
          w[i] = slow[i];
        }
      }
      return [...w];
    });
    const ps = params();
    const opt = new Lookahead(new SGD(ps, { lr, momentum: mu }), { k, alpha });
    for (let s = 0; s < STEPS; s++) {
      stepWith(opt, ps, s);
      expectClose(flatten(ps), want[s], 1e-5);
    }
    expect(opt.iterations).toBe(STEPS);
    expect(opt.inner.iterations).toBe(STEPS);
  });

  it('a schedule writes the inner rate (and OneCycle its momentum); lr reads it back', () => {
    const inner = new SGD(params(), { lr: 0.1, momentum: 0.9 });
    const opt = new Lookahead(inner);
    new StepDecay(opt, { drop: 0.5, every: 1 }).step(2);
    expect(inner.lr).toBeCloseTo(0.025, 12);
    expect(opt.lr).toBe(inner.lr);
    new OneCycle(opt, { maxLr: 1, totalSteps: 10 }).step(3);
    expect(inner.paramGroups[0].momentum).toBeLessThan(0.95);
    expect(opt.paramGroups).toBe(inner.paramGroups);
  });
});

describe('Muon against a float64 transcription of torch.optim.Muon (PyTorch 2.9)', () => {
  /** _single_tensor_muon and _zeropower_via_newtonschulz in float64 (without the bfloat16 cast), for one (A,B) matrix. */
  function reference(w0: number[], A: number, B: number, grads: number[][], o: { lr: number; mu: number; nesterov: boolean; wd: number; steps: number }): number[][] {
    const [a, b, c] = [3.4445, -4.775, 2.0315];
    const mat = (x: number[], R: number, C: number) => Array.from({ length: R }, (_, r) => x.slice(r * C, (r + 1) * C));
    const T = (X: number[][]) => X[0].map((_, j) => X.map((row) => row[j]));
    const mm = (X: number[][], Y: number[][]) => X.map((row) => Y[0].map((_, j) => row.reduce((s, x, k) => s + x * Y[k][j], 0)));
    const w = [...w0];
    let buf = w.map(() => 0);
    return grads.map((g) => {
      buf = buf.map((bv, i) => o.mu * bv + (1 - o.mu) * g[i]);
      const u = o.nesterov ? buf.map((bv, i) => o.mu * bv + (1 - o.mu) * g[i]) : [...buf];
      let X = mat(u, A, B);
      if (A > B) X = T(X);
      const norm = Math.max(Math.sqrt(u.reduce((s, x) => s + x * x, 0)), 1e-7);
      X = X.map((row) => row.map((x) => x / norm));
      for (let s = 0; s < o.steps; s++) {
        const S = mm(X, T(X));
        const SS = mm(S, S);
        const Y = S.map((row, i) => row.map((x, j) => b * x + c * SS[i][j]));
        const YX = mm(Y, X);
        X = X.map((row, i) => row.map((x, j) => a * x + YX[i][j]));
      }
      if (A > B) X = T(X);
      const O = X.flat();
      const adjusted = o.lr * Math.sqrt(Math.max(1, A / B));
      for (let i = 0; i < w.length; i++) w[i] = w[i] * (1 - o.lr * o.wd) - adjusted * O[i];
      return [...w];
    });
  }

  it.each([
    ['wide (3,5), Nesterov, weight decay 0.1', 3, 5, { lr: 0.02, mu: 0.95, nesterov: true, wd: 0.1, steps: 5 }],
    ['tall (5,3): orthogonalized transposed, rate × √(5/3); plain momentum, 3 steps', 5, 3, { lr: 0.02, mu: 0.9, nesterov: false, wd: 0, steps: 3 }],
  ] as const)('%s', (_name, A, B, o) => {
    const n = A * B;
    const grads = golden.grads.map((g) => g.slice(0, n));
    const want = reference(golden.w0.slice(0, n), A, B, grads, o);
    const w = Tensor.from(new Float32Array(golden.w0.slice(0, n)), { shape: [A, B], requiresGrad: true });
    const opt = new Muon([w], { lr: o.lr, momentum: o.mu, nesterov: o.nesterov, weightDecay: o.wd, nsSteps: o.steps });
    grads.forEach((g, s) => {
      w.grad = Tensor.from(new Float32Array(g), { shape: [A, B] });
      opt.step();
      // Float32 products against float64 ones, through five steps of a quintic: 1e-5 of the weights.
      expectClose(w.data, want[s], 1e-5);
    });
  });

  it('the buffer is a lerp (torch.optim.Muon\'s code), not the docstring\'s heavy-ball sum', () => {
    const w = Tensor.zeros([1, 1], { requiresGrad: true });
    const opt = new Muon([w], { momentum: 0.9, nesterov: false });
    w.grad = Tensor.from([[2]]);
    opt.step();
    expect(opt.state.get(w)!.buffers.momentumBuffer[0]).toBeCloseTo(0.2, 7); // (1 − 0.9)·2, not 2
  });

  it('refuses a parameter that is not 2-D, naming it; muonWithAdamW routes those to AdamW', () => {
    const model = new Sequential([new Dense(4, 8), new BatchNorm(8), new ReLU(), new Dense(8, 3)]);
    expect(() => new Muon(model.parameters())).toThrow(ShapeError);
    expect(() => new Muon(model.parameters())).toThrow(/Muon: parameter 1 of group 0 has shape \[8\]; Muon orthogonalizes 2-D weight matrices only/);
    const opt = muonWithAdamW(model, { lr: 0.02 });
    expect(opt.type).toBe('Muon+AdamW');
    expect(opt.parts[0]).toBeInstanceOf(Muon);
    expect(opt.parts[1]).toBeInstanceOf(AdamW);
    expect(opt.parts[0].params().map((p) => p.shape)).toEqual([[8, 4], [3, 8]]);
    expect(opt.parts[1].params().map((p) => p.shape)).toEqual([[8], [8], [8], [3]]);
    expect(opt.parts[1].lr).toBeCloseTo(0.002, 12);
    expect(opt.parts[1].paramGroups[0].weightDecay).toBe(0.1);
    // A schedule keeps the ratio; OneCycle cycles Muon's momentum and AdamW's beta1.
    new OneCycle(opt, { maxLr: 0.04, totalSteps: 10 }).step(2);
    expect(opt.parts[1].lr / opt.parts[0].lr).toBeCloseTo(0.1, 12);
    expect(opt.parts[0].paramGroups[0].momentum).toBe(opt.parts[1].paramGroups[0].betas[0]);
  });
});

describe('every new optimizer resumes from its state dictionary bit for bit', () => {
  const matrices = (): Tensor[] => params([[3, 5]]);
  const makers: Array<[string, () => { ps: Tensor[]; opt: Optimizer<any> }]> = [
    ['SGD with dampening', () => { const ps = params(); return { ps, opt: new SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.3 }) }; }],
    ['Adamax', () => { const ps = params(); return { ps, opt: new Adamax(ps, { lr: 0.01, weightDecay: 0.01 }) }; }],
    ['RAdam', () => { const ps = params(); return { ps, opt: new RAdam(ps, { lr: 0.01 }) }; }],
    ['AMSBound', () => { const ps = params(); return { ps, opt: new AdaBound(ps, { lr: 0.01, amsbound: true, gamma: 0.1 }) }; }],
    ['Lion', () => { const ps = params(); return { ps, opt: new Lion(ps, { lr: 0.01, weightDecay: 0.1 }) }; }],
    ['Muon', () => { const ps = matrices(); return { ps, opt: new Muon(ps, { lr: 0.02 }) }; }],
    ['Muon+AdamW', () => { const ps = params(); return { ps, opt: muonWithAdamW(ps, { lr: 0.02 }) }; }],
    ['Lookahead(Adam), stopped mid-cycle', () => { const ps = params(); return { ps, opt: new Lookahead(new Adam(ps, { lr: 0.05 }), { k: 3 }) }; }],
    ['Lookahead(Muon+AdamW)', () => { const ps = params(); return { ps, opt: new Lookahead(muonWithAdamW(ps, { lr: 0.02 }), { k: 4, alpha: 0.8 }) }; }],
  ];

  it.each(makers)('%s', (_name, make) => {
    const a = make();
    for (let s = 0; s < 5; s++) stepWith(a.opt, a.ps, s);
    const saved = a.opt.stateDict();
    const b = make();
    a.ps.forEach((p, i) => b.ps[i].data.set(p.data));
    // The metadata goes through JSON, as it does in a checkpoint.
    b.opt.loadStateDict({ meta: JSON.parse(JSON.stringify(saved.meta)), buffers: saved.buffers });
    for (let s = 5; s < STEPS; s++) {
      stepWith(a.opt, a.ps, s);
      stepWith(b.opt, b.ps, s);
    }
    expect(flatten(b.ps)).toEqual(flatten(a.ps));
    expect(b.opt.iterations).toBe(STEPS);
    // A fresh optimizer that did not get the state ends elsewhere: the state mattered.
    const c = make();
    a.ps.forEach((p, i) => c.ps[i].data.set(p.data));
    for (let s = 0; s < 5; s++) stepWith(a.opt, a.ps, s);
    for (let s = 0; s < 5; s++) stepWith(c.opt, c.ps, s);
    expect(flatten(c.ps)).not.toEqual(flatten(a.ps));
  });

  it('a state for another optimizer is refused before anything changes', () => {
    const a = makers[7][1]();
    stepWith(a.opt, a.ps, 0);
    const la = a.opt.stateDict();
    const other = new Lookahead(new SGD(params(), { lr: 0.1 }));
    expect(() => other.loadStateDict(la)).toThrow(/the state is for Adam, not SGD/);
    expect(other.inner.state.size).toBe(0);
    const combined = new Combined([new SGD(params([[3, 5]]), { lr: 0.1 })]);
    expect(() => combined.loadStateDict(la)).toThrow(/the state is for Lookahead, not SGD/);
  });
});

describe('fit trains and resumes Lookahead(Muon+AdamW) under a cyclic rate exactly, from an interrupt mid-epoch', () => {
  const { train, test } = loadDataset('iris');
  const setup = () => {
    const model = new Sequential([new Dense(4, 16, { rng: new Rng(3) }), new ReLU(), new Dense(16, 3, { rng: new Rng(5) })]);
    const optimizer = new Lookahead(muonWithAdamW(model, { lr: 0.02 }), { k: 3 });
    return { model, optimizer, schedule: new Cyclic(optimizer, { baseLr: 0.005, maxLr: 0.05, stepSize: 5 }) };
  };
  const common = { train, validationData: test, batchSize: 16, seed: 11 };

  it('3 epochs straight == interrupted at epoch 2, batch 3, then resumed; the rate cycles per batch', async () => {
    const straight = setup();
    const full = await fit(straight.model, { ...common, epochs: 3, optimizer: straight.optimizer, schedule: straight.schedule });
    expect(full.history.loss[2]).toBeLessThan(full.history.loss[0]);

    const controller = new AbortController();
    const stopper: Callback = {
      onBatchEnd(batch, _logs, ctx) {
        if (ctx.epoch === 1 && batch === 2) controller.abort();
      },
    };
    const dir = mkdtempSync(join(tmpdir(), 'tapegrad-zoo-'));
    const first = setup();
    await fit(first.model, { ...common, epochs: 3, optimizer: first.optimizer, schedule: first.schedule, signal: controller.signal, callbacks: [stopper, new ModelCheckpoint({ dir })] });
    const ck = load(join(dir, 'last.safetensors'));
    expect(ck.progress).toMatchObject({ epoch: 1, batch: 3 });
    expect(Object.keys(ck.optimizerState!.buffers).some((k) => k.startsWith('inner.part1.'))).toBe(true);
    const second = setup();
    const rest = await fit(second.model, { ...common, epochs: 3, optimizer: second.optimizer, schedule: second.schedule, resume: ck });
    expect(Array.from(second.model.parameters()[0].data)).toEqual(Array.from(straight.model.parameters()[0].data));
    expect(rest.history.loss).toEqual(full.history.loss);
    expect(second.optimizer.iterations).toBe(straight.optimizer.iterations);
  });
});

describe('bad hyper-parameters are RangeErrors that echo the value', () => {
  const p = () => [Tensor.zeros([2, 2], { requiresGrad: true })];
  it.each([
    ['SGD dampening', () => new SGD(p(), { momentum: 0.9, dampening: 1.5 }), 'SGD: invalid dampening 1.5, expected 0 <= dampening <= 1'],
    ['SGD Nesterov with dampening', () => new SGD(p(), { momentum: 0.9, nesterov: true, dampening: 0.1 }), 'SGD: invalid dampening 0.1, expected 0 with Nesterov'],
    ['Adamax beta2', () => new Adamax(p(), { betas: [0.9, 1] }), 'Adamax: invalid beta2 1, expected 0 <= beta2 < 1'],
    ['Adamax eps', () => new Adamax(p(), { eps: -1e-8 }), 'Adamax: invalid eps -1e-8, expected a finite eps > 0'],
    ['RAdam lr', () => new RAdam(p(), { lr: -0.001 }), 'RAdam: invalid lr -0.001'],
    ['RAdam weightDecay', () => new RAdam(p(), { weightDecay: NaN }), 'RAdam: invalid weightDecay NaN'],
    ['AdaBound gamma', () => new AdaBound(p(), { gamma: 1.5 }), 'AdaBound: invalid gamma 1.5, expected 0 < gamma < 1'],
    ['AdaBound finalLr', () => new AdaBound(p(), { finalLr: -0.1 }), 'AdaBound: invalid finalLr -0.1'],
    ['AdaBound amsbound', () => new AdaBound(p(), { amsbound: 'yes' as never }), 'AdaBound: invalid amsbound yes, expected true or false'],
    ['Lion beta1', () => new Lion(p(), { betas: [-0.1, 0.99] }), 'Lion: invalid beta1 -0.1, expected 0 <= beta1 < 1'],
    ['Muon momentum', () => new Muon(p(), { momentum: 1 }), 'Muon: invalid momentum 1, expected 0 <= momentum < 1'],
    ['Muon nsSteps', () => new Muon(p(), { nsSteps: 100 }), 'Muon: invalid nsSteps 100, expected an integer from 1 to 99'],
    ['Muon nsCoefficients', () => new Muon(p(), { nsCoefficients: [1, 2] as never }), 'Muon: invalid nsCoefficients [1, 2], expected three finite numbers'],
    ['Muon adjustLrFn', () => new Muon(p(), { adjustLrFn: 'spectral' as never }), "Muon: invalid adjustLrFn spectral, expected 'original' or 'match_rms_adamw'"],
    ['Lookahead k', () => new Lookahead(new SGD(p()), { k: 0 }), 'Lookahead: invalid k 0, expected an integer k >= 1'],
    ['Lookahead alpha', () => new Lookahead(new SGD(p()), { alpha: 1.5 }), 'Lookahead: invalid alpha 1.5, expected 0 <= alpha <= 1'],
    ['muonWithAdamW ratio', () => muonWithAdamW(p(), { adamwLrRatio: 0 }), 'muonWithAdamW: invalid adamwLrRatio 0, expected a finite ratio > 0'],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(RangeError);
    expect(make).toThrow(message);
  });

  it('Lookahead around something that is not an optimizer is a TypeError saying what to pass', () => {
    expect(() => new Lookahead({ lr: 0.1 } as never)).toThrow(/Lookahead: the first argument is the optimizer to wrap/);
  });
});
