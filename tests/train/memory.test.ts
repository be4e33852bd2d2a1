import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../data/index.js';
import { Rng, memoryStats, setPoisonOnRelease, threadsReady } from '../../engine/index.js';
import { Dense, Dropout, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { fit, type Callback } from '../../train/index.js';

describe('fit recycles its storage', () => {
  it('the arena and its use stay flat from the second epoch on (each step runs in a memory scope)', async () => {
    setPoisonOnRelease(false); // reuse at once, as outside the tests
    await threadsReady(); // the pool's scratch is made when it first runs: start it before, not mid-run
    const { train } = loadMnist({ trainSize: 3000, testSize: 100 });
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
    // Nothing grows after epoch 1. (Use may shrink: a block made outside any step, such as the one-sample
    // loader fit checks the data with, returns when the garbage collector gets to it.)
    for (let e = 2; e < 4; e++) {
      expect(after[e].arena, `arena after epoch ${e}: ${JSON.stringify(after)}`).toBe(after[1].arena);
      expect(after[e].inUse, `in use after epoch ${e}: ${JSON.stringify(after)}`).toBeLessThanOrEqual(after[1].inUse);
      expect(after[e].blocks, `blocks after epoch ${e}: ${JSON.stringify(after)}`).toBeLessThanOrEqual(after[1].blocks);
    }
  });
});
