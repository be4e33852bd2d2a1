/**
 * The optimizers and schedules PyTorch 1.13 has, step by step against PyTorch's own numbers
 * (tests/optim/goldens/pytorch.json, written by tests/optim/goldens/make.py with Debian's
 * python3-torch; the suite reads the committed file and needs no Python).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../engine/index.js';
import {
  Adamax, CosineWarmRestarts, Cyclic, MultiStepDecay, PolynomialDecay, RAdam, SGD, type Optimizer, type Schedule,
} from '../../optim/index.js';
import { expectClose } from './close.js';

interface Golden {
  torch: string;
  w0: number[];
  shapes: number[][];
  grads: number[][];
  optimizers: { name: string; type: string; options: Record<string, unknown>; lrs: number[]; weights: number[][] }[];
  schedules: { name: string; type: string; options: Record<string, unknown>; lr: number; momentum: number; lrs: number[]; momenta: number[] }[];
}

const golden = JSON.parse(readFileSync(new URL('./goldens/pytorch.json', import.meta.url), 'utf8')) as Golden;

const OPTIMIZERS: Record<string, new (params: Tensor[], options: any) => Optimizer<any>> = { SGD, Adamax, RAdam };
const SCHEDULES: Record<string, new (optimizer: Optimizer<any>, options: any) => Schedule> = { Cyclic, CosineWarmRestarts, MultiStepDecay, PolynomialDecay };

/** The golden's parameters (their shapes), filled from a flat list. */
function params(flat: number[]): Tensor[] {
  let at = 0;
  return golden.shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = Tensor.from(new Float32Array(flat.slice(at, at + n)), { shape, requiresGrad: true });
    at += n;
    return t;
  });
}

function flatten(ps: Tensor[]): number[] {
  return ps.flatMap((p) => Array.from(p.data));
}

describe(`optimizers against PyTorch ${golden.torch}, after every one of ${golden.grads.length} steps`, () => {
  it.each(golden.optimizers.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const ps = params(golden.w0);
    const opt = new OPTIMIZERS[c.type](ps, { ...c.options, lr: c.lrs[0] });
    golden.grads.forEach((flat, step) => {
      opt.lr = c.lrs[step];
      let at = 0;
      for (const p of ps) {
        p.grad = Tensor.from(new Float32Array(flat.slice(at, at + p.size)), { shape: p.shape });
        at += p.size;
      }
      opt.step();
      try {
        expectClose(flatten(ps), c.weights[step], 1e-5);
      } catch (e) {
        throw new Error(`step ${step + 1}: ${(e as Error).message}`);
      }
    });
    // The weights moved: the comparison is not of two starting points.
    expect(Math.abs(flatten(ps)[0] - golden.w0[0])).toBeGreaterThan(1e-3);
  });
});

describe(`schedules against PyTorch ${golden.torch}: the rate and momentum at every step, stepped as PyTorch steps them`, () => {
  it.each(golden.schedules.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const opt = new SGD([Tensor.zeros([1], { requiresGrad: true })], { lr: c.lr, momentum: c.momentum });
    const schedule = new SCHEDULES[c.type](opt, c.options);
    const lrs: number[] = [];
    const momenta: number[] = [];
    for (let i = 0; i < c.lrs.length; i++) {
      lrs.push(opt.lr);
      momenta.push(opt.paramGroups[0].momentum);
      schedule.step();
    }
    expectClose(lrs, c.lrs, 1e-12);
    expectClose(momenta, c.momenta, 1e-12);
    // The closed form fit uses, lrAt(t), gives the same rates.
    expectClose(c.lrs.map((_, t) => schedule.lrAt(t)), c.lrs, 1e-12);
  });
});
