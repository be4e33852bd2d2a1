/**
 * One question: does a training loop of your own, with no scope (the README's), run at `fit`'s speed and
 * in flat memory? (engine/memory.ts, rule 2.) The same 784-300-100-10 net, SGD with momentum, batch 64,
 * the same batches, timed three ways in interleaved rounds: `fit` (one scope per step), the README's loop
 * (no scope), and the same loop with each step in `scoped`. Prints samples/s (median of the rounds) and
 * the arena after each run.
 *
 *   npx tsx benchmarks/loops.ts [--samples 10000] [--rounds 3] [--threads 2]
 */
import { DataLoader, loadMnist } from '../data/index.js';
import { Rng, Tensor, memoryStats, scoped, setThreads, threadsReady } from '../engine/index.js';
import { Dense, ReLU, Sequential } from '../layers/index.js';
import { SGD } from '../optim/index.js';
import { fit } from '../train/index.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const samples = arg('samples', 10_000);
const rounds = arg('rounds', 3);
setThreads(arg('threads', 2));
await threadsReady();

const { train } = loadMnist({ trainSize: samples, testSize: 100 });
const make = () => {
  const rng = new Rng(1);
  const model = new Sequential([new Dense(784, 300, { rng }), new ReLU(), new Dense(300, 100, { rng }), new ReLU(), new Dense(100, 10, { rng })]);
  return { model, optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }) };
};

type Way = 'fit' | 'loop' | 'scoped loop';
const ways: Record<Way, () => Promise<void>> = {
  fit: async () => {
    const { model, optimizer } = make();
    await fit(model, { train, epochs: 1, batchSize: 64, optimizer, seed: 1, shuffle: true });
  },
  loop: async () => {
    const { model, optimizer } = make();
    for (const { x, y } of new DataLoader(train, { batchSize: 64, seed: 1 }).epochBatches(0)) {
      optimizer.zeroGrad();
      Tensor.crossEntropy(model.forward(x), y).backward();
      optimizer.step();
    }
  },
  'scoped loop': async () => {
    const { model, optimizer } = make();
    for (const { x, y } of new DataLoader(train, { batchSize: 64, seed: 1 }).epochBatches(0)) {
      scoped(() => {
        optimizer.zeroGrad();
        Tensor.crossEntropy(model.forward(x), y).backward();
        optimizer.step();
      });
    }
  },
};

const times: Record<Way, number[]> = { fit: [], loop: [], 'scoped loop': [] };
for (let r = 0; r < rounds + 1; r++) {
  for (const way of Object.keys(ways) as Way[]) {
    const t0 = performance.now();
    await ways[way]();
    const ms = performance.now() - t0;
    if (r > 0) times[way].push(ms); // round 0 warms up
    const m = memoryStats();
    if (r === rounds) console.log(`${way.padEnd(12)} arena ${(m.arenaBytes / 2 ** 20).toFixed(1)} MiB, in use ${(m.inUseBytes / 2 ** 20).toFixed(1)} MiB`);
  }
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
for (const way of Object.keys(ways) as Way[]) {
  console.log(`${way.padEnd(12)} ${Math.round(samples / (median(times[way]) / 1000)).toLocaleString('en')} samples/s (median of ${rounds})`);
}
