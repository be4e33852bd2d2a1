/**
 * Trains a small MLP for a few steps and prints its losses and final weights as JSON, on whatever
 * memory the engine finds. With NO_SHARED_MEMORY=1 it deletes SharedArrayBuffer after the modules have
 * loaded (tsx's transformer needs it) and before the engine makes its first tensor, as in a page
 * without cross-origin isolation. tests/engine/backends-private.test.ts runs it both ways.
 */
import { Rng, Tensor, getBackend, getThreads, memoryStats, scoped, setThreads, usesFma } from '../../engine/index.js';
import { BatchNorm, Dense, Dropout, ReLU, Sequential, Tanh } from '../../layers/index.js';
import { Adam, SGD } from '../../optim/index.js';

if (process.env.NO_SHARED_MEMORY === '1') delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;
else setThreads(1);

const rng = new Rng(3);
const B = 32;
const x = Tensor.from(Float32Array.from({ length: B * 50 }, () => rng.uniformIn(-1, 1)), { shape: [B, 50] });
const y = Int32Array.from({ length: B }, (_, i) => i % 10);
const model = new Sequential([
  new BatchNorm(50), new Dropout(0.2, { rng: new Rng(5) }), new Dense(50, 40, { rng, activation: 'tanh' }),
  new Dense(40, 30, { rng }), new ReLU(), new Dense(30, 10, { rng }), new Tanh(),
]);
const params = model.parameters();
const optimizers = [new Adam(params.slice(0, 4), { lr: 1e-2 }), new SGD(params.slice(4), { lr: 0.1, momentum: 0.9 })];
const losses: number[] = [];
for (let step = 0; step < 12; step++) {
  losses.push(scoped(() => {
    for (const o of optimizers) o.zeroGrad();
    const loss = Tensor.crossEntropy(model.forward(x), y);
    loss.backward();
    for (const o of optimizers) o.step();
    return loss.item();
  }));
}
console.log(JSON.stringify({
  backend: getBackend(), threads: getThreads(), fma: usesFma(), shared: typeof SharedArrayBuffer !== 'undefined',
  arena: memoryStats().arenaBytes > 0, losses, weights: params.map((p) => Array.from(p.data)),
}));
