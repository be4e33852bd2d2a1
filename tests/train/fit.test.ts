import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/index.js';
import { Rng } from '../../engine/index.js';
import { Dense, ReLU, Sequential, Softmax } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { CsvLogger, EarlyStopping, JsonlLogger, ModelCheckpoint, evaluate, fit, load, type EpochLogs, type TrainContext } from '../../train/index.js';

const { train, test } = loadDataset('iris');
const dir = mkdtempSync(join(tmpdir(), 'tapegrad-fit-'));

function mlp(softmax = false) {
  const layers = [new Dense(4, 16, { rng: new Rng(1) }), new ReLU(), new Dense(16, 3, { rng: new Rng(2) })];
  return new Sequential(softmax ? [...layers, new Softmax()] : layers);
}

describe('fit', () => {
  it('learns Iris and records every metric per epoch', async () => {
    const model = mlp();
    const { history } = await fit(model, {
      train,
      validation: test,
      epochs: 30,
      batchSize: 16,
      optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }),
      callbacks: [new CsvLogger(join(dir, 'm.csv')), new JsonlLogger(join(dir, 'm.jsonl'))],
    });
    expect(history).toHaveLength(30);
    expect(Object.keys(history[0])).toEqual(['epoch', 'loss', 'accuracy', 'valLoss', 'valAccuracy', 'lr', 'seconds', 'samplesPerSec']);
    expect(history[29].loss).toBeLessThan(history[0].loss);
    expect(evaluate(model, test).accuracy).toBeGreaterThan(0.85);
    expect(readFileSync(join(dir, 'm.csv'), 'utf8').trim().split('\n')).toHaveLength(31);
    const rows = readFileSync(join(dir, 'm.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows[29].valAccuracy).toBe(history[29].valAccuracy);
  });

  it('takes the loss before a trailing Softmax layer (same training as the logits model)', async () => {
    const run = async (softmax: boolean) => {
      const model = mlp(softmax);
      const r = await fit(model, { train, epochs: 3, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 0.1 }) });
      return { losses: r.history.map((h) => h.loss), w: Array.from(model.stateDict()['2.weight'].data) };
    };
    const plain = await run(false);
    const keras = await run(true);
    expect(keras).toEqual(plain);
  });

  it('stops at a NaN loss naming the epoch and batch, and never checkpoints non-finite weights', async () => {
    const model = mlp();
    const ckdir = join(dir, 'nan');
    const r = await fit(model, {
      train,
      epochs: 20,
      batchSize: 8,
      optimizer: new SGD(model.parameters(), { lr: 50, momentum: 0.9 }),
      callbacks: [new ModelCheckpoint({ dir: ckdir })],
    });
    expect(r.diverged).toBe(true);
    expect(r.stopReason).toMatch(/loss is (NaN|Infinity) at epoch \d+, batch \d+/);
    if (existsSync(join(ckdir, 'last.safetensors'))) {
      const ck = load(join(ckdir, 'last.safetensors'));
      for (const t of ck.weights.values()) expect(t.data.every(Number.isFinite)).toBe(true);
    }
  });
});

describe('EarlyStopping', () => {
  const logs = (epoch: number, valLoss: number): EpochLogs => ({ epoch, loss: 1, accuracy: 0.5, valLoss, valAccuracy: 0.5, lr: 0.1, seconds: 1, samplesPerSec: 1 });
  const ctx = () => ({ model: mlp(), stopTraining: false }) as unknown as TrainContext;

  it('waits `patience` epochs without an improvement larger than minDelta', () => {
    const es = new EarlyStopping({ patience: 2, minDelta: 0.01 });
    const c = ctx();
    const seq = [1.0, 0.9, 0.895, 0.899, 0.85];
    const stoppedAt: number[] = [];
    seq.forEach((v, i) => {
      es.onEpochEnd(logs(i + 1, v), c);
      if (c.stopTraining) stoppedAt.push(i + 1);
    });
    // 0.895 and 0.899 do not beat 0.9 by 0.01: two bad epochs are tolerated, the third stops.
    expect(stoppedAt).toEqual([]);
    es.onEpochEnd(logs(6, 0.9), c);
    expect(c.stopTraining).toBe(false);
    es.onEpochEnd(logs(7, 0.9), c);
    es.onEpochEnd(logs(8, 0.9), c);
    expect(c.stopTraining).toBe(true);
    expect(c.stopReason).toMatch(/epoch 8/);
  });

  it('restores the best weights when it stops', () => {
    const es = new EarlyStopping({ patience: 0, restoreBestWeights: true });
    const c = ctx();
    const w = c.model.parameters()[0];
    const best = w.data.slice();
    es.onEpochEnd(logs(1, 0.5), c);
    w.data.fill(7);
    es.onEpochEnd(logs(2, 0.6), c);
    expect(c.stopTraining).toBe(true);
    es.onTrainEnd(c);
    expect(Array.from(w.data)).toEqual(Array.from(best));
  });
});
