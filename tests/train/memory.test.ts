// Memory over whole runs, on the production path (poison mode OFF: a block that goes back is reused at
// once): fit's scopes, the README's own loop with no scope, a PyTorch-style loop that makes its inputs
// every step, two fits at once, and the patterns a tester found that used to read other tensors' numbers.
import { beforeAll, describe, expect, it } from 'vitest';
import { createDataset, DataLoader, loadMnist } from '../../data/index.js';
import { RecycledTensorError, Rng, ScopeError, Tensor, keep, memoryStats, scoped, setPoisonOnRelease, threadsReady } from '../../engine/index.js';
import { Dense, Dropout, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { fit, type Callback } from '../../train/index.js';

beforeAll(async () => {
  setPoisonOnRelease(false); // reuse at once, as outside the tests
  await threadsReady(); // the pool's scratch is made when it first runs: start it before, not mid-run
});

const mnist = () => loadMnist({ trainSize: 3000, testSize: 100 });

describe('fit recycles its storage', () => {
  it('the arena and its use stay flat from the second epoch on (each step runs in a memory scope)', async () => {
    const { train } = mnist();
    const rng = new Rng(4);
    const model = new Sequential([new Dense(784, 128, { rng }), new ReLU(), new Dropout(0.2, { rng }), new Dense(128, 10, { rng })]);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const after: { arena: number; inUse: number; blocks: number }[] = [];
    const record: Callback = {
      onEpochEnd() {
        const s = memoryStats();
        after.push({ arena: s.arenaBytes, inUse: s.inUseBytes, blocks: s.liveBlocks });
      },
    };
    const history = await fit(model, { train, validationSplit: 0.1, epochs: 4, batchSize: 64, optimizer, callbacks: [record] });
    expect(history.history.loss[3]).toBeLessThan(history.history.loss[0]);
    for (let e = 2; e < 4; e++) {
      expect(after[e].arena, `arena after epoch ${e}: ${JSON.stringify(after)}`).toBe(after[1].arena);
      expect(after[e].inUse, `in use after epoch ${e}: ${JSON.stringify(after)}`).toBeLessThanOrEqual(after[1].inUse);
      expect(after[e].blocks, `blocks after epoch ${e}: ${JSON.stringify(after)}`).toBeLessThanOrEqual(after[1].blocks);
    }
  });

  it('two fits at once give the same weights, bit for bit, as the same two one after the other', async () => {
    const { train } = mnist();
    const small = train.take(600);
    const make = (seed: number) => {
      const rng = new Rng(seed);
      const model = new Sequential([new Dense(784, 64, { rng }), new ReLU(), new Dropout(0.1, { rng }), new Dense(64, 10, { rng })]);
      return { model, optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }) };
    };
    const run = (m: ReturnType<typeof make>, seed: number) => fit(m.model, { train: small, epochs: 2, batchSize: 32, optimizer: m.optimizer, seed, validationSplit: 0.1 });
    const weights = (m: ReturnType<typeof make>) => m.model.parameters().map((p) => Array.from(p.data));
    const a1 = make(1);
    const b1 = make(2);
    await run(a1, 10);
    await run(b1, 20);
    const a2 = make(1);
    const b2 = make(2);
    await Promise.all([run(a2, 10), run(b2, 20)]);
    expect(weights(a2)).toEqual(weights(a1));
    expect(weights(b2)).toEqual(weights(b1));
  });

  it('a custom loss that caches a tensor made inside a step fails loudly, naming keep(); with keep() it trains', async () => {
    const x = Array.from({ length: 64 }, (_, i) => [Math.sin(i), Math.cos(i)]);
    const y = x.map(([a, b]) => [0.5 * a - b]);
    const cache = new Map<number, Tensor>();
    const halfLoss = (wrap: (t: Tensor) => Tensor) => (pred: Tensor, target: Tensor): Tensor => {
      const B = pred.shape[0];
      if (!cache.has(B)) cache.set(B, wrap(Tensor.full([B, 1], 0.5)));
      return Tensor.mse(pred.mul(cache.get(B)!), target.mul(cache.get(B)!));
    };
    const model = () => new Sequential([new Dense(2, 8, { rng: new Rng(1) }), new ReLU(), new Dense(8, 1, { rng: new Rng(2) })]);
    const m1 = model();
    const bad = fit(m1, { x, y, loss: halfLoss((t) => t), epochs: 2, batchSize: 16, optimizer: new SGD(m1.parameters(), { lr: 0.05 }) });
    await expect(bad).rejects.toThrow(RecycledTensorError);
    await expect(bad).rejects.toThrow(/keep\(\)/);
    cache.clear();
    const m2 = model();
    const history = await fit(m2, { x, y, loss: halfLoss(keep), epochs: 5, batchSize: 16, optimizer: new SGD(m2.parameters(), { lr: 0.05 }) });
    for (const l of history.history.loss) expect(l).toBeGreaterThanOrEqual(0);
    expect(history.history.loss[4]).toBeLessThan(history.history.loss[0]);
  });

  it('await scoped(() => fit(...)) is refused with a ScopeError, and nothing the fit uses is recycled', async () => {
    const x = [[0, 0], [0, 1], [1, 0], [1, 1]];
    const y = [0, 1, 1, 0];
    const model = new Sequential([new Dense(2, 8, { rng: new Rng(3) }), new ReLU(), new Dense(8, 2, { rng: new Rng(4) })]);
    let running!: Promise<unknown>;
    expect(() => scoped(() => (running = fit(model, { x, y, epochs: 30, batchSize: 4, optimizer: new SGD(model.parameters(), { lr: 0.3, momentum: 0.9 }) })))).toThrow(ScopeError);
    const history = (await running) as { history: { loss: number[] } };
    expect(history.history.loss[29]).toBeLessThan(history.history.loss[0]);
  });
});

describe('a loop of your own, with no scope, runs in flat memory', () => {
  it('the README\'s DataLoader loop: 2,000 steps of MNIST, the arena flat after the first epochs', () => {
    const { train } = mnist();
    const rng = new Rng(5);
    const model = new Sequential([new Dense(784, 64, { rng }), new ReLU(), new Dropout(0.2, { rng }), new Dense(64, 10, { rng })]);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const loader = new DataLoader(train, { batchSize: 64, seed: 1 });
    const atEpochEnd: ReturnType<typeof memoryStats>[] = [];
    let steps = 0;
    let first = 0;
    let last = 0;
    for (let epoch = 0; steps < 2000; epoch++) {
      for (const { x, y } of loader.epochBatches(epoch)) {
        optimizer.zeroGrad();
        const loss = Tensor.crossEntropy(model.forward(x), y);
        loss.backward();
        optimizer.step();
        if (steps === 0) first = loss.item();
        last = loss.item();
        steps++;
      }
      atEpochEnd.push(memoryStats());
    }
    expect(last).toBeLessThan(first / 3);
    const warm = atEpochEnd[3];
    const end = atEpochEnd[atEpochEnd.length - 1];
    expect(end.arenaBytes, JSON.stringify(atEpochEnd)).toBe(warm.arenaBytes);
    expect(end.inUseBytes, JSON.stringify(atEpochEnd)).toBeLessThanOrEqual(warm.inUseBytes);
    expect(end.liveBlocks, JSON.stringify(atEpochEnd)).toBeLessThanOrEqual(warm.liveBlocks);
  });

  it('a PyTorch-style loop that makes its batch with Tensor.from every step: the arena flat too', () => {
    const { train } = mnist();
    const rng = new Rng(6);
    const model = new Sequential([new Dense(784, 32, { rng }), new ReLU(), new Dense(32, 10, { rng })]);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const F = train.features;
    const stats: ReturnType<typeof memoryStats>[] = [];
    for (let step = 0; step < 1200; step++) {
      const start = (step * 32) % (train.count - 32);
      const rows: number[][] = [];
      for (let r = 0; r < 32; r++) rows.push(Array.from(train.x.subarray((start + r) * F, (start + r + 1) * F), (v) => v / 255));
      const x = Tensor.from(rows); // ordinary memory (engine/memory.ts, rule 4): the collector frees it
      const y = train.labels.slice(start, start + 32);
      optimizer.zeroGrad();
      Tensor.crossEntropy(model.forward(x), y).backward();
      optimizer.step();
      if (step % 200 === 199) stats.push(memoryStats());
    }
    expect(stats[stats.length - 1].arenaBytes, JSON.stringify(stats)).toBe(stats[1].arenaBytes);
    expect(stats[stats.length - 1].inUseBytes, JSON.stringify(stats)).toBeLessThanOrEqual(stats[1].inUseBytes);
  });

  it('createDataset from a tensor\'s data takes its own copy: the data set keeps its numbers after the tensor is recycled', () => {
    const w = Tensor.from([[1, 2], [3, 4], [5, 6]], { requiresGrad: true });
    const features = w.mul(1); // on the tape: recycled two backwards from now
    const ds = createDataset({ name: 'from-tensor', x: features.data, featureShape: [2], labels: new Int32Array([0, 1, 0]), classNames: ['a', 'b'] });
    for (let i = 0; i < 3; i++) w.mul(2).sum().backward();
    expect(features.recycled).toBe(true);
    expect(Array.from(ds.x)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
