import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../data/index.js';
import { Rng, Tensor, getBackend, scoped, setBackend, setThreads, threadsReady, usesFma, type BackendName } from '../../engine/index.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { AdamW, SGD } from '../../optim/index.js';

// The two backends compute the same losses to float32 accumulation's bound on the same weights (the
// JavaScript products sum in float64, the WebAssembly ones in float32 lanes, with FMA or without); both
// train; one backend gives the same bits on one thread and on two.

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

function trainRun(recipe: Recipe): { losses: number[]; weights: Float32Array } {
  const rng = new Rng(11);
  const model = new Sequential([new Dense(784, 300, { rng }), new ReLU(), new Dense(300, 100, { rng }), new ReLU(), new Dense(100, 10, { rng })]);
  const opt =
    recipe === 'sgd-momentum' ? new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 })
    : recipe === 'adamw' ? new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 1e-2 })
    : new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4, decay: 1e-3 });
  const losses = batches.map(({ x, y }) =>
    scoped(() => {
      opt.zeroGrad();
      const loss = Tensor.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    }),
  );
  return { losses, weights: model.parameters()[0].data.slice() };
}

async function on(backend: BackendName, threads: number, recipe: Recipe): Promise<{ losses: number[]; weights: Float32Array }> {
  await setBackend(backend);
  setThreads(threads);
  await threadsReady();
  expect(getBackend()).toBe(backend);
  return trainRun(recipe);
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/**
 * How far the WebAssembly forward's loss may lie from the JavaScript one's on the same weights, derived
 * from float32 accumulation (tests/engine/wasm-checks.ts): a Dense output o sums K products in float32
 * lanes, so |ŷ − y| ≤ K·2⁻²³·Σ_k |w_ok|·(|x_k| + e_k) + Σ_k |w_ok|·e_k + 2⁻²³·|y_o| with e the input's
 * own error (ReLU passes it on, never grows it); cross-entropy moves by at most 2·max_c |Δz_c| per row
 * (its gradient p − onehot has ℓ1 norm ≤ 2), averaged over the batch, and the loss is rounded once more.
 * FMA or mul+add, both lie inside it.
 */
function lossBound(model: Sequential, x: Tensor, loss: number): number {
  const [B, IN] = x.shape;
  let act = Float64Array.from(x.data);
  let err = new Float64Array(B * IN);
  let width = IN;
  for (const layer of model.layers) {
    if (layer instanceof Dense) {
      const W = layer.weight.data;
      const bias = layer.bias?.data;
      const OUT = layer.outFeatures;
      const K = width;
      const y = new Float64Array(B * OUT);
      const e = new Float64Array(B * OUT);
      for (let b = 0; b < B; b++) {
        for (let o = 0; o < OUT; o++) {
          let sum = bias ? bias[o] : 0, absSum = 0, prop = 0;
          for (let k = 0; k < K; k++) {
            const w = W[o * K + k];
            const xv = act[b * K + k];
            sum += w * xv;
            absSum += Math.abs(w) * (Math.abs(xv) + err[b * K + k]);
            prop += Math.abs(w) * err[b * K + k];
          }
          y[b * OUT + o] = sum;
          e[b * OUT + o] = K * 2 ** -23 * absSum + prop + 2 ** -23 * (Math.abs(sum) + Math.abs(bias ? bias[o] : 0));
        }
      }
      act = y;
      err = e;
      width = OUT;
    } else {
      act = act.map((v) => (v > 0 ? v : 0)); // ReLU: 1-Lipschitz, the error passes on
    }
  }
  let total = 0;
  for (let b = 0; b < B; b++) {
    let worst = 0;
    for (let c = 0; c < width; c++) worst = Math.max(worst, err[b * width + c]);
    total += 2 * worst;
  }
  return total / B + 2 ** -22 * Math.abs(loss);
}

describe('the wasm and js backends train alike', () => {
  it(`on the same weights, every tenth of ${STEPS} training steps, the wasm loss lies within float32 accumulation's bound of the js one (fma or not)`, async () => {
    const rng = new Rng(11);
    const model = new Sequential([new Dense(784, 300, { rng }), new ReLU(), new Dense(300, 100, { rng }), new ReLU(), new Dense(100, 10, { rng })]);
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4, decay: 1e-3 });
    let checked = 0;
    for (let s = 0; s < STEPS; s++) {
      const { x, y } = batches[s];
      if (s % 10 === 0) {
        await setBackend('wasm');
        const wasmLoss = scoped(() => Tensor.crossEntropy(model.forward(x), y).item());
        await setBackend('js');
        const jsLoss = scoped(() => Tensor.crossEntropy(model.forward(x), y).item());
        const bound = lossBound(model, x, jsLoss);
        expect(Math.abs(wasmLoss - jsLoss), `step ${s}: wasm ${wasmLoss}, js ${jsLoss}, bound ${bound}, fma ${usesFma()}`).toBeLessThanOrEqual(bound);
        checked++;
      }
      await setBackend('js');
      scoped(() => {
        opt.zeroGrad();
        Tensor.crossEntropy(model.forward(x), y).backward();
        opt.step();
      });
    }
    expect(checked).toBe(STEPS / 10);
  }, 180_000);

  for (const recipe of ['sgd-momentum', 'sgd-nesterov-wd-decay', 'adamw'] as const) {
    it(`${recipe}: both backends train; wasm on 1 and 2 threads give the same bits, run after run`, async () => {
      const js = await on('js', 1, recipe);
      const wasm1 = await on('wasm', 1, recipe);
      const wasm2 = await on('wasm', 2, recipe);
      expect(js.losses[STEPS - 1]).toBeLessThan(js.losses[0] * 0.5); // it trained
      expect(wasm1.losses[STEPS - 1]).toBeLessThan(wasm1.losses[0] * 0.5);
      expect(wasm2.losses).toEqual(wasm1.losses);
      expect(sameBits(wasm2.weights, wasm1.weights)).toBe(true);
      const again = await on('wasm', 1, recipe);
      expect(sameBits(again.weights, wasm1.weights)).toBe(true); // same seed, backend, threads: same bits
    }, 180_000); // 7 s alone; four trainings of 100 steps take minutes when the suite shares two busy cores
  }

  it("setBackend rejects an unknown name with a typed error and leaves the backend as it was", async () => {
    await setBackend('js');
    await expect(setBackend('gpu' as BackendName)).rejects.toThrow(/setBackend: unknown backend "gpu", expected 'wasm' or 'js'/);
    await expect(setBackend('gpu' as BackendName)).rejects.toHaveProperty('name', 'BackendError');
    expect(getBackend()).toBe('js');
  });
});
