/**
 * The update kernels of Adamax, RAdam, AdaBound, Lion, Muon, Lookahead, RMSprop, Nadam, Adagrad and
 * Adadelta: on each backend (the
 * JavaScript loop, the WebAssembly loop) against the naive twin of engine/kernels/updates.ts, on odd
 * sizes (the WebAssembly loop takes two floats at a time and the odd one alone), with NaN, ±Infinity,
 * −0 and subnormal inputs. Both loops compute in float64 with the same operations in the same order
 * and round once per store, so they must agree with the twin bit for bit (any NaN matching any NaN).
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  Rng, adaboundUpdate, adadeltaUpdate, adagradUpdate, adamaxUpdate, alloc, getBackend, lionUpdate, lookaheadSync, muonApply, muonMomentum,
  nadamMu, nadamUpdate, radamUpdate, rmspropUpdate, setBackend, type BackendName,
} from '../../engine/index.js';
import {
  adaboundUpdateNaive, adadeltaUpdateNaive, adagradUpdateNaive, adamaxUpdateNaive, lionUpdateNaive, lookaheadSyncNaive, muonApplyNaive,
  muonMomentumNaive, nadamUpdateNaive, radamUpdateNaive, rmspropUpdateNaive,
} from '../../engine/kernels/updates.js';

const SIZES = [1, 2, 3, 17, 127, 301, 1001];
const SPECIAL = [NaN, Infinity, -Infinity, -0, 0, 1e-40, -1e-40, 3e38, -3e38];
const before = getBackend();
afterAll(async () => {
  await setBackend(before);
});

/** N floats: normals, and with `special` one in four of them NaN, ±Infinity, ±0, subnormal or huge. */
function values(rng: Rng, N: number, special: boolean, positive = false): Float32Array {
  const out = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const v = special && rng.uniform() < 0.25 ? SPECIAL[rng.int(SPECIAL.length)] : rng.normal();
    out[i] = positive ? Math.abs(v) : v;
  }
  return out;
}

/** The same numbers in the engine's memory (where the WebAssembly loop reads them in place). */
function engineCopy(a: Float32Array): Float32Array {
  const out = alloc(a.length);
  out.set(a);
  return out;
}

function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const same = Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
    if (!same) throw new Error(`${what}: [${i}] of ${want.length} is ${got[i]}, the naive twin gives ${want[i]}`);
  }
}

/**
 * Runs `kernel` on each backend and `naive` on plain arrays, over the same starting arrays (made by
 * `make`), and compares every array after the call. Two calls in a row, so the state written by the
 * first (a moment, a maximum) is read by the second.
 */
async function check(name: string, make: (rng: Rng, N: number, special: boolean) => Float32Array[], kernel: (a: Float32Array[]) => void, naive: (a: Float32Array[]) => void): Promise<void> {
  for (const special of [false, true]) {
    for (const N of SIZES) {
      const start = make(new Rng(N * 7 + (special ? 1 : 0)), N, special);
      const want = start.map((a) => a.slice());
      naive(want);
      naive(want);
      for (const backend of ['js', 'wasm'] as BackendName[]) {
        await setBackend(backend);
        expect(getBackend()).toBe(backend);
        const got = start.map(engineCopy);
        kernel(got);
        kernel(got);
        got.forEach((a, k) => sameBits(a, want[k], `${name} on ${backend}, N ${N}${special ? ' with NaN/±Inf/subnormals' : ''}, array ${k}`));
      }
    }
  }
}

describe('update kernels: JavaScript and WebAssembly loops equal the naive twin bit for bit', () => {
  it('Adamax (with weight decay)', async () => {
    const step = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: 3 };
    await check('adamaxUpdate', (r, N, s) => [values(r, N, s), values(r, N, s), values(r, N, s, true), values(r, N, s)],
      ([w, m, u, g]) => adamaxUpdate(w, m, u, g, step, w.length),
      ([w, m, u, g]) => adamaxUpdateNaive(w, m, u, g, step, w.length));
  });

  it('RAdam, before (t 2: plain momentum) and after (t 9: rectified) rho_t passes 5', async () => {
    for (const t of [2, 9]) {
      const step = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, t };
      await check(`radamUpdate t ${t}`, (r, N, s) => [values(r, N, s), values(r, N, s), values(r, N, s, true), values(r, N, s)],
        ([w, m, v, g]) => radamUpdate(w, m, v, g, step, w.length),
        ([w, m, v, g]) => radamUpdateNaive(w, m, v, g, step, w.length));
    }
  });

  it('AdaBound and AMSBound (the bounds follow lr / baseLr)', async () => {
    const step = { lr: 0.003, baseLr: 0.01, finalLr: 0.1, gamma: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: 5 };
    await check('adaboundUpdate', (r, N, s) => [values(r, N, s), values(r, N, s), values(r, N, s, true), values(r, N, s)],
      ([w, m, v, g]) => adaboundUpdate(w, m, v, null, g, step, w.length),
      ([w, m, v, g]) => adaboundUpdateNaive(w, m, v, null, g, step, w.length));
    await check('adaboundUpdate (amsbound)', (r, N, s) => [values(r, N, s), values(r, N, s), values(r, N, s, true), values(r, N, s, true), values(r, N, s)],
      ([w, m, v, vmax, g]) => adaboundUpdate(w, m, v, vmax, g, step, w.length),
      ([w, m, v, vmax, g]) => adaboundUpdateNaive(w, m, v, vmax, g, step, w.length));
  });

  it('Lion (sign of ±0 and NaN kept, decoupled decay)', async () => {
    const step = { lr: 1e-3, beta1: 0.9, beta2: 0.99, weightDecay: 0.1 };
    await check('lionUpdate', (r, N, s) => {
      const m = values(r, N, s);
      const g = values(r, N, s);
      // Some elements where beta1·m + (1 − beta1)·g is exactly 0: sign(0) moves nothing.
      for (let i = 0; i < N; i += 5) m[i] = g[i] = 0;
      return [values(r, N, s), m, g];
    },
      ([w, m, g]) => lionUpdate(w, m, g, step, w.length),
      ([w, m, g]) => lionUpdateNaive(w, m, g, step, w.length));
  });

  it("Muon's momentum (Nesterov and plain) and its step", async () => {
    for (const nesterov of [true, false]) {
      const step = { momentum: 0.95, nesterov };
      await check(`muonMomentum nesterov ${nesterov}`, (r, N, s) => [new Float32Array(N), values(r, N, s), values(r, N, s)],
        ([u, b, g]) => muonMomentum(u, b, g, step, u.length),
        ([u, b, g]) => muonMomentumNaive(u, b, g, step, u.length));
    }
    const apply = { lr: 0.02, adjustedLr: 0.02 * Math.sqrt(3), weightDecay: 0.1 };
    await check('muonApply', (r, N, s) => [values(r, N, s), values(r, N, s)],
      ([w, o]) => muonApply(w, o, apply, w.length),
      ([w, o]) => muonApplyNaive(w, o, apply, w.length));
  });

  it("Lookahead's synchronisation leaves fast and slow weights equal", async () => {
    const step = { alpha: 0.5 };
    await check('lookaheadSync', (r, N, s) => [values(r, N, s), values(r, N, s)],
      ([w, slow]) => lookaheadSync(w, slow, step, w.length),
      ([w, slow]) => lookaheadSyncNaive(w, slow, step, w.length));
    const w = new Float32Array([1, 2, 3]);
    const slow = new Float32Array([0, 0, 0]);
    lookaheadSyncNaive(w, slow, { alpha: 0.5 }, 3);
    expect(Array.from(w)).toEqual([0.5, 1, 1.5]);
    expect(Array.from(slow)).toEqual([0.5, 1, 1.5]);
  });

  it('RMSprop: plain, centered, with momentum, both (the buffers a case does not use are null)', async () => {
    for (const centered of [false, true]) {
      for (const momentum of [0, 0.9]) {
        const step = { lr: 0.01, alpha: 0.9, eps: 1e-8, weightDecay: 0.01, momentum, centered };
        const avg = (a: Float32Array) => (centered ? a : null);
        const buf = (b: Float32Array) => (momentum > 0 ? b : null);
        await check(`rmspropUpdate centered ${centered} momentum ${momentum}`,
          (r, N, s) => [values(r, N, s), values(r, N, s, true), values(r, N, s), values(r, N, s), values(r, N, s)],
          ([w, sq, a, b, g]) => rmspropUpdate(w, sq, avg(a), buf(b), g, step, w.length),
          ([w, sq, a, b, g]) => rmspropUpdateNaive(w, sq, avg(a), buf(b), g, step, w.length));
      }
    }
  });

  it('RMSprop refuses buffers that disagree with centered and momentum', () => {
    const a = new Float32Array(2);
    const step = { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: true };
    expect(() => rmspropUpdate(a, a.slice(), null, null, a.slice(), step, 2)).toThrow(/rmspropUpdate: centered is true but the gradient average is null/);
    expect(() => rmspropUpdate(a, a.slice(), a.slice(), a.slice(), a.slice(), step, 2)).toThrow(/rmspropUpdate: momentum is 0 but the momentum buffer is given/);
  });

  it('Nadam, at its first step and later (the momentum schedule and its running product)', async () => {
    for (const t of [1, 7]) {
      let muProduct = 1;
      for (let k = 1; k <= t; k++) muProduct *= nadamMu(0.9, 4e-3, k);
      const step = { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, momentumDecay: 4e-3, t, muProduct };
      await check(`nadamUpdate t ${t}`, (r, N, s) => [values(r, N, s), values(r, N, s), values(r, N, s, true), values(r, N, s)],
        ([w, m, v, g]) => nadamUpdate(w, m, v, g, step, w.length),
        ([w, m, v, g]) => nadamUpdateNaive(w, m, v, g, step, w.length));
    }
  });

  it('Adagrad (rate decay at step 4, weight decay)', async () => {
    const step = { lr: 0.1, lrDecay: 0.05, eps: 1e-10, weightDecay: 0.01, t: 4 };
    await check('adagradUpdate', (r, N, s) => [values(r, N, s), values(r, N, s, true), values(r, N, s)],
      ([w, sum, g]) => adagradUpdate(w, sum, g, step, w.length),
      ([w, sum, g]) => adagradUpdateNaive(w, sum, g, step, w.length));
  });

  it('Adadelta (weight decay)', async () => {
    const step = { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0.01 };
    await check('adadeltaUpdate', (r, N, s) => [values(r, N, s), values(r, N, s, true), values(r, N, s, true), values(r, N, s)],
      ([w, sq, acc, g]) => adadeltaUpdate(w, sq, acc, g, step, w.length),
      ([w, sq, acc, g]) => adadeltaUpdateNaive(w, sq, acc, g, step, w.length));
  });

  it('the naive twins compute the formulas (one element, by hand)', async () => {
    // Adamax from zero state, t 1: m = 0.1·g, u = |g| + eps, w -= lr/(1 − 0.9)·m/u = lr·sign(g) (up to eps).
    const w = new Float32Array([1]);
    adamaxUpdateNaive(w, new Float32Array(1), new Float32Array(1), new Float32Array([-4]), { lr: 0.002, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 1 }, 1);
    expect(w[0]).toBeCloseTo(1.002, 7);
    // RAdam's first steps are plain momentum: t 1, w -= lr·m/(1 − beta1) = lr·g.
    const r = new Float32Array([1]);
    radamUpdateNaive(r, new Float32Array(1), new Float32Array(1), new Float32Array([3]), { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 1 }, 1);
    expect(r[0]).toBeCloseTo(0.7, 6);
    // Lion moves by exactly lr whatever the gradient's size.
    const l = new Float32Array([1]);
    lionUpdateNaive(l, new Float32Array(1), new Float32Array([1e-6]), { lr: 0.25, beta1: 0.9, beta2: 0.99, weightDecay: 0 }, 1);
    expect(l[0]).toBe(0.75);
    // Adagrad's first step from a zero sum: sum = g², w -= lr·g/|g| = lr·sign(g) (up to eps).
    const a = new Float32Array([1]);
    adagradUpdateNaive(a, new Float32Array(1), new Float32Array([-4]), { lr: 0.5, lrDecay: 0, eps: 1e-10, weightDecay: 0, t: 1 }, 1);
    expect(a[0]).toBe(1.5);
    // RMSprop's first step: sq = (1 − alpha)·g² = 0.25·4 = 1, so w -= lr·g/(1 + eps) = 0.125·2.
    const r2 = new Float32Array([1]);
    rmspropUpdateNaive(r2, new Float32Array(1), null, null, new Float32Array([2]), { lr: 0.125, alpha: 0.75, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false }, 1);
    expect(r2[0]).toBe(0.75);
    // Adadelta's first step: d = √eps / √((1 − rho)·g² + eps)·g, tiny at first (no step has been taken yet).
    const d = new Float32Array([1]);
    adadeltaUpdateNaive(d, new Float32Array(1), new Float32Array(1), new Float32Array([2]), { lr: 1, rho: 0.5, eps: 1e-6, weightDecay: 0 }, 1);
    expect(d[0]).toBeCloseTo(1 - (1e-3 / Math.sqrt(2 + 1e-6)) * 2, 7);
  });
});
