import { afterAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../data/index.js';
import { Rng, Tensor, getBackend, noGrad, scoped, setBackend, setThreads, threadsReady, usesFma, type BackendName } from '../../engine/index.js';
import { setAutoThreads } from '../../engine/threads/index.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { AdamW, SGD } from '../../optim/index.js';

// The two backends compute the same losses to within float32 rounding, step after step of training,
// and one backend gives the same bits on one thread and on two.
//
// The JavaScript products sum in float64 and round once; the WebAssembly ones sum in float32 lanes,
// with mul+add or with FMA (relaxed SIMD, on by default from Node 22): the orders differ, so the two
// trajectories part slowly, and a long run's losses drift apart by more than any one step's rounding
// (measured: 2.4e-4 relative after 100 Nesterov steps with FMA, 6e-7 without). What the backends must
// agree on is each step: at checkpoints of the WebAssembly run, the JavaScript backend computes the loss
// on the same weights and batch, and the two differ by no more than float32 accumulation allows.
// `roundingBound` works that out with the probabilistic model of rounding errors of Higham and Mary (SIAM J.
// Sci. Comput. 41(5), 2019): each float32 rounding is an independent error of at most u = 2^-24 relative to
// the value rounded, whatever the order of a sum, with or without fused multiply-adds. A sum of K products
// makes K of them, each at most u·Σ|a·w| in size; an error already in a layer's input reaches each output
// through its weight; ReLU passes an error on unchanged or drops it (1-Lipschitz). The logits' error is then
// a sum of independent bounded terms, and Hoeffding's inequality bounds it by λ·√(Σ c_i²) (the c_i the
// terms' bounds, added in quadrature layer by layer) with probability at least 1 − 2·exp(−λ²/2): λ = 8
// makes that 1 − 3e-14 a logit. Cross-entropy moves by at most 2·max|Δlogit| a row. Each backend is within
// that of the exact loss, so the two are within twice it. (The worst case, K·u per sum and |W| per layer,
// needs every rounding to go the same way, and comes out larger than the loss itself after training.)

const { train } = loadMnist();
const B = 64;
const STEPS = 100;

function batch(b: number): { x: Tensor; y: Int32Array } {
  const x = new Float32Array(B * 784);
  const y = new Int32Array(B);
  for (let r = 0; r < B; r++) {
    const i = b * B + r;
    for (let p = 0; p < 784; p++) x[r * 784 + p] = train.x[i * 784 + p] / 255;
    y[r] = train.labels[i];
  }
  return { x: Tensor.from(x, { shape: [B, 784] }), y };
}
const batches = Array.from({ length: STEPS }, (_, b) => batch(b));

type Recipe = 'sgd-momentum' | 'sgd-nesterov-wd-decay' | 'adamw';

/** One step's loss on both backends: the training backend's, the JavaScript one's on the same weights, and the bound. */
interface Lockstep {
  step: number;
  loss: number;
  js: number;
  bound: number;
}

/** Steps at which `trainRun` also asks the JavaScript backend (a tenth of them: each costs a float64 reference pass). */
const CHECKED = new Set([0, 1, 10, 20, 30, 40, 50, 60, 70, 80, 90, STEPS - 1]);

async function trainRun(recipe: Recipe, lockstep = false): Promise<{ losses: number[]; weights: Float32Array; checks: Lockstep[] }> {
  const backend = getBackend();
  const rng = new Rng(11);
  const model = new Sequential([new Dense(784, 300, { rng }), new ReLU(), new Dense(300, 100, { rng }), new ReLU(), new Dense(100, 10, { rng })]);
  const opt =
    recipe === 'sgd-momentum' ? new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 })
    : recipe === 'adamw' ? new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 1e-2 })
    : new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4, decay: 1e-3 });
  const losses: number[] = [];
  const checks: Lockstep[] = [];
  for (const [step, { x, y }] of batches.entries()) {
    if (lockstep && CHECKED.has(step)) {
      await setBackend('js');
      const js = scoped(() => noGrad(() => Tensor.crossEntropy(model.forward(x), y).item()));
      await setBackend(backend);
      checks.push({ step, loss: NaN, js, bound: 2 * roundingBound(model, x) });
    }
    const loss = scoped(() => {
      opt.zeroGrad();
      const l = Tensor.crossEntropy(model.forward(x), y);
      l.backward();
      opt.step();
      return l.item();
    });
    losses.push(loss);
    if (checks.at(-1)?.step === step) checks.at(-1)!.loss = loss;
  }
  return { losses, weights: model.parameters()[0].data.slice(), checks };
}

/** float32's unit roundoff. */
const U = 2 ** -24;
/** Hoeffding's λ: each logit's bound holds with probability at least 1 − 2·exp(−λ²/2). */
const LAMBDA = 8;

/**
 * How far a float32 computation of the model's mean cross-entropy on `x` can be from the exact one (with
 * the probability above): the forward pass in float64 with each value's error scale carried along.
 */
function roundingBound(model: Sequential, x: Tensor): number {
  const [B, IN0] = x.shape;
  let a = Float64Array.from(x.data);
  let err = new Float64Array(B * IN0); // the input is exact
  const dense = model.layers.filter((l): l is Dense => l instanceof Dense);
  let logitErr = err;
  dense.forEach((layer, li) => {
    const IN = layer.inFeatures;
    const OUT = layer.outFeatures;
    const W = layer.weight.data;
    const bias = layer.bias!.data;
    const out = new Float64Array(B * OUT);
    const outErr = new Float64Array(B * OUT);
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < OUT; o++) {
        let sum = bias[o];
        let magnitude = Math.abs(bias[o]);
        let carried = 0;
        for (let k = 0; k < IN; k++) {
          const w = W[o * IN + k];
          sum += a[b * IN + k] * w;
          magnitude += Math.abs(a[b * IN + k] * w);
          carried += (err[b * IN + k] * w) ** 2;
        }
        // In quadrature: the input's errors through the weights, the IN + 1 roundings of the sum (each at
        // most u times a partial sum, itself at most the magnitude), the rounding of the result.
        outErr[b * OUT + o] = Math.sqrt(carried + (IN + 1) * (U * magnitude) ** 2 + (U * sum) ** 2);
        out[b * OUT + o] = sum;
      }
    }
    const last = li === dense.length - 1;
    a = last ? out : out.map((v) => Math.max(v, 0)); // ReLU: 1-Lipschitz, the error passes unchanged
    err = outErr;
    logitErr = outErr;
  });
  // Cross-entropy of a row moves by at most 2·max|Δlogit|; its own float32 evaluation (a log-sum-exp of 10,
  // then the mean of B rows) adds a few roundings of the magnitudes involved, counted in the worst case.
  const C = 10;
  let total = 0;
  for (let b = 0; b < B; b++) {
    let maxErr = 0;
    let maxAbs = 0;
    for (let c = 0; c < C; c++) {
      maxErr = Math.max(maxErr, logitErr[b * C + c]);
      maxAbs = Math.max(maxAbs, Math.abs(a[b * C + c]));
    }
    total += 2 * LAMBDA * maxErr + (C + 2) * U * 2 * (maxAbs + Math.log(C));
  }
  return (total / B) * (1 + B * U);
}

async function on(backend: BackendName, threads: number, recipe: Recipe, lockstep = false): Promise<{ losses: number[]; weights: Float32Array; checks: Lockstep[] }> {
  await setBackend(backend);
  setThreads(threads);
  await threadsReady();
  expect(getBackend()).toBe(backend);
  return trainRun(recipe, lockstep);
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

describe('the wasm and js backends train alike', () => {
  setAutoThreads(false); // every big product on the pool when two threads are asked for
  afterAll(() => setAutoThreads(true));

  for (const recipe of ['sgd-momentum', 'sgd-nesterov-wd-decay', 'adamw'] as const) {
    it(`${recipe}: each checked step's loss agrees with the js backend's within float32 accumulation's bound over ${STEPS} steps; wasm on 1 and 2 threads give the same bits`, async () => {
      const js = await on('js', 1, recipe);
      const wasm1 = await on('wasm', 1, recipe, true);
      const wasm2 = await on('wasm', 2, recipe);
      expect(wasm1.checks.map((c) => c.step)).toEqual([...CHECKED]);
      const outside = wasm1.checks.filter((c) => !(Math.abs(c.loss - c.js) <= c.bound));
      const detail = wasm1.checks.map((c) => `step ${c.step}: |${c.loss} - ${c.js}| = ${Math.abs(c.loss - c.js).toExponential(2)}, bound ${c.bound.toExponential(2)}`);
      expect(outside, `fma ${usesFma()}\n${detail.join('\n')}`).toEqual([]);
      // Not a vacuous bound: far below the loss itself (a wrong kernel moves the loss by more).
      for (const c of wasm1.checks) expect(c.bound, detail.join('\n')).toBeLessThan(1e-2 * c.js);
      expect(js.losses[STEPS - 1]).toBeLessThan(js.losses[0] * 0.5); // both trained
      expect(wasm1.losses[STEPS - 1]).toBeLessThan(wasm1.losses[0] * 0.5);
      expect(wasm2.losses).toEqual(wasm1.losses);
      expect(sameBits(wasm2.weights, wasm1.weights)).toBe(true);
      const again = await on('wasm', 1, recipe);
      expect(sameBits(again.weights, wasm1.weights)).toBe(true); // same seed, backend, threads: same bits
    });
  }

  it("setBackend rejects an unknown name with a typed error and leaves the backend as it was", async () => {
    await setBackend('js');
    await expect(setBackend('gpu' as BackendName)).rejects.toThrow(/setBackend: unknown backend "gpu", expected 'wasm' or 'js'/);
    await expect(setBackend('gpu' as BackendName)).rejects.toHaveProperty('name', 'BackendError');
    expect(getBackend()).toBe('js');
  });
});
