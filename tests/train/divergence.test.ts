/**
 * Divergence (train/callbacks.ts TerminateOnNaN): a NaN loss, a loss far above where training started,
 * a validation loss far above it while training is not learning. Each stops the run naming the epoch,
 * the batch and the loss; no checkpoint is written of a diverged state; healthy runs, noisy ones
 * included, are never stopped.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/index.js';
import { Rng, Tensor } from '../../engine/index.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { ModelCheckpoint, TerminateOnNaN, fit, load, type Callback } from '../../train/index.js';

const { train, test } = loadDataset('iris');
const dir = mkdtempSync(join(tmpdir(), 'tapegrad-diverge-'));

/** The CLI's default model on Iris: 4-300-100-3. */
function big() {
  const rng = new Rng(1);
  return new Sequential([new Dense(4, 300, { rng }), new ReLU(), new Dense(300, 100, { rng }), new ReLU(), new Dense(100, 3, { rng })]);
}

function small(seed = 1) {
  return new Sequential([new Dense(4, 16, { rng: new Rng(seed) }), new ReLU(), new Dense(16, 3, { rng: new Rng(seed + 1) })]);
}

describe('divergence', () => {
  it('lr 16 on Iris: the validation loss explodes in epoch 1 and the run stops there, with no checkpoint', async () => {
    const model = big();
    const out = join(dir, 'lr16');
    const h = await fit(model, {
      train,
      validationData: test,
      epochs: 5,
      batchSize: 64,
      optimizer: new SGD(model.parameters(), { lr: 16, momentum: 0.9 }),
      callbacks: [new ModelCheckpoint({ dir: out })],
    });
    expect(h.diverged).toBe(true);
    expect(h.epoch).toEqual([0]);
    expect(h.stopReason).toMatch(/^training diverged: validation loss [\d.e+]+ at the end of epoch 1 is more than 10× the [\d.]+ training started from/);
    expect(h.history.val_loss[0]).toBeGreaterThan(1000);
    // Before: best.safetensors held this epoch (val_loss 5.6e5, the first and so the best).
    expect(existsSync(join(out, 'best.safetensors'))).toBe(false);
    expect(existsSync(join(out, 'last.safetensors'))).toBe(false);
  });

  it('a loss that explodes within the first batches is measured against where it started, not the explosion', async () => {
    const model = small();
    const seen: number[] = [];
    const spy: Callback = { onBatchEnd: (_b, logs) => void seen.push(logs.loss) };
    const terminate = new TerminateOnNaN();
    const h = await fit(model, { train, epochs: 20, batchSize: 8, optimizer: new SGD(model.parameters(), { lr: 50, momentum: 0.9 }), callbacks: [terminate, spy] });
    expect(h.diverged).toBe(true);
    const m = /loss ([\d.e+]+) \(smoothed over the last batches\) at epoch 1, batch (\d+)\/15 is more than 10× the ([\d.]+) training started from/.exec(h.stopReason!);
    expect(m, h.stopReason).not.toBeNull();
    // The first batch's loss (the untrained model's, ~ln 3) is where it started.
    expect(Number(m![3])).toBeCloseTo(seen[0], 3);
    expect(Number(m![2])).toBeLessThanOrEqual(3);
    expect(terminate.startingLoss).toBeCloseTo(seen[0], 5);
    for (const p of model.parameters()) expect(p.data.every(Number.isFinite)).toBe(true);
  });

  it('a NaN loss stops at its batch, with factor Infinity too (Keras\'s rule alone), applying none of it', async () => {
    // Batch 3 of epoch 1 has a NaN loss: a loss of our own makes it (fit refuses NaN samples before training).
    for (const factor of [10, Infinity]) {
      const model = small();
      let batches = 0;
      const loss = (pred: Tensor, target: Tensor): Tensor => {
        const ce = Tensor.crossEntropy(pred, Int32Array.from(target.data));
        // fit first checks the loss on one sample; the training batches hold 8.
        return target.size === 8 && ++batches === 3 ? ce.mul(NaN) : ce;
      };
      const before = model.parameters().map((p) => p.data.slice());
      const snapshots: Float32Array[][] = [];
      const spy: Callback = { onBatchEnd: () => void snapshots.push(model.parameters().map((p) => p.data.slice())) };
      const h = await fit(model, { train, loss, epochs: 3, batchSize: 8, shuffle: false, optimizer: new SGD(model.parameters(), { lr: 0.05 }), callbacks: [new TerminateOnNaN({ factor }), spy] });
      expect(h.diverged).toBe(true);
      expect(h.stopReason).toBe('training diverged: loss is NaN at epoch 1, batch 3/15');
      expect(h.epoch).toEqual([]);
      // The NaN batch changed nothing: the weights are those after batch 2.
      expect(snapshots).toHaveLength(3);
      expect(snapshots[2]).toEqual(snapshots[1]);
      expect(snapshots[1]).not.toEqual(before);
    }
  });

  it('never stops a healthy run, nor a noisy one: batch size 1 regression with heavy-tailed noise', async () => {
    const rng = new Rng(5);
    const xs: number[][] = [];
    const ys: number[] = [];
    for (let i = 0; i < 200; i++) {
      const a = rng.uniform() * 2 - 1;
      // Student-t-like noise: a normal over a random scale, some targets far off.
      const noise = rng.normal() / Math.max(0.05, rng.uniform());
      xs.push([a]);
      ys.push(3 * a + 0.5 * noise);
    }
    const model = new Sequential([new Dense(1, 1, { rng: new Rng(2) })]);
    const h = await fit(model, { x: xs, y: ys, loss: 'mse', epochs: 5, batchSize: 1, optimizer: new SGD(model.parameters(), { lr: 0.001 }) });
    expect(h.diverged).toBe(false);
    expect(h.epoch).toEqual([0, 1, 2, 3, 4]);

    const clf = small(3);
    const c = await fit(clf, { train, validationData: test, epochs: 60, batchSize: 8, optimizer: new SGD(clf.parameters(), { lr: 0.1, momentum: 0.9 }) });
    expect(c.diverged).toBe(false);
    expect(c.epoch).toHaveLength(60);
  });

  it('a loss that goes negative (a function of your own) is judged by rule 1 alone', async () => {
    const model = small();
    // The negative log of a rising score: below zero from the start, and going down.
    const h = await fit(model, {
      train,
      epochs: 3,
      batchSize: 16,
      loss: (pred: Tensor) => pred.mul(pred).mean().add(1).log().neg().sub(Tensor.from([1])).sum(),
      metrics: [],
      optimizer: new SGD(model.parameters(), { lr: 0.01 }),
    });
    expect(h.diverged).toBe(false);
    expect(h.history.loss.every((v) => v < 0)).toBe(true);
  });

  it('checks its factor', () => {
    expect(() => new TerminateOnNaN({ factor: 1 })).toThrow(/factor must be a number > 1/);
    expect(() => new TerminateOnNaN({ factor: NaN })).toThrow(RangeError);
  });
});
