import { GradError } from './errors.js';
import { Rng } from './rng.js';
import { noGrad } from './tape.js';
import { Tensor } from './tensor.js';

/** Options of `gradcheck`. */
export interface GradcheckOptions {
  /** The step of the central difference (default 1e-2: float32 storage makes smaller steps noisy). */
  eps?: number;
  /** Gradients smaller than this are compared absolutely rather than relatively (default 1e-2). */
  floor?: number;
  /** Seed of the random weights that reduce a non-scalar output to a scalar (default 1). */
  seed?: number;
}

/**
 * Checks the tape's gradients against central differences, (f(x+h) − f(x−h)) / 2h, computed in
 * float64 from the function's float32 outputs. A non-scalar output is reduced to the scalar
 * Σ out·r with a fixed random r, which checks every column of the Jacobian at once.
 *
 * Returns the largest relative error max |analytic − numeric| / max(|analytic|, |numeric|, floor)
 * over every element of every input. Every input is checked: each is marked `requiresGrad` for the
 * check and given back its own flag afterwards, so a test cannot leave an input out by accident.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): number {
  const eps = options.eps ?? 1e-2;
  const floor = options.floor ?? 1e-2;
  const flags = inputs.map((t) => [t.requiresGrad, t.grad] as const);
  try {
    return check(fn, inputs, eps, floor, options.seed ?? 12345);
  } finally {
    inputs.forEach((t, i) => ([t.requiresGrad, t.grad] = flags[i]));
  }
}

function check(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], eps: number, floor: number, seed: number): number {
  for (const t of inputs) {
    t.requiresGrad = true;
    t.grad = null;
  }
  const out = fn(...inputs);
  if (!out.requiresGrad) throw new GradError('gradcheck: the function output does not depend on any input that requires a gradient');
  const rng = new Rng(seed);
  const r = new Float64Array(out.size);
  for (let i = 0; i < r.length; i++) r[i] = out.size === 1 ? 1 : rng.uniformIn(-1, 1);
  out.backward(Float32Array.from(r));

  const project = (): number =>
    noGrad(() => {
      const y = fn(...inputs).data;
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i] * r[i];
      return s;
    });

  let worst = 0;
  for (const t of inputs) {
    const analytic = t.grad?.data ?? new Float32Array(t.size);
    for (let i = 0; i < t.size; i++) {
      const original = t.data[i];
      // The stored steps are what float32 can hold, not exactly ±eps: divide by the real ones.
      t.data[i] = original + eps;
      const up = t.data[i] - original;
      const fUp = project();
      t.data[i] = original - eps;
      const down = original - t.data[i];
      const fDown = project();
      t.data[i] = original;
      const numeric = (fUp - fDown) / (up + down);
      const a = analytic[i];
      const err = Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), floor);
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : Math.max(worst, err);
    }
  }
  return worst;
}
