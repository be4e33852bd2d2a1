import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../data/index.js';
import { Rng, Tensor, getBackend, scoped, setBackend, setThreads, threadsReady, usesFma, type BackendName } from '../../engine/index.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { AdamW, SGD } from '../../optim/index.js';

// The two backends train the same way: from one seed their losses agree to float32 rounding's drift
// (the JavaScript products sum in float64, the WebAssembly ones in float32 lanes); one backend gives
// the same bits on one thread and on two.

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

describe('the wasm and js backends train alike', () => {

  for (const recipe of ['sgd-momentum', 'sgd-nesterov-wd-decay', 'adamw'] as const) {
    it(`${recipe}: losses agree to 1e-4 relative over ${STEPS} steps; wasm on 1 and 2 threads give the same bits`, async () => {
      const js = await on('js', 1, recipe);
      const wasm1 = await on('wasm', 1, recipe);
      const wasm2 = await on('wasm', 2, recipe);
      let worst = 0;
      for (let s = 0; s < STEPS; s++) worst = Math.max(worst, Math.abs(wasm1.losses[s] - js.losses[s]) / Math.abs(js.losses[s]));
      expect(worst, `largest relative loss difference, fma ${usesFma()}`).toBeLessThan(1e-4);
      expect(js.losses[STEPS - 1]).toBeLessThan(js.losses[0] * 0.5); // it trained
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
