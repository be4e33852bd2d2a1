import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/index.js';
import { Rng, ShapeError, Tensor } from '../../engine/index.js';
import { Dense, Dropout, ReLU, Sequential, Sigmoid, Softmax } from '../../layers/index.js';
import { ExponentialDecay, SGD, StepDecay } from '../../optim/index.js';
import {
  CsvLogger,
  EarlyStopping,
  JsonlLogger,
  ModelCheckpoint,
  evaluate,
  fit,
  load,
  type Callback,
  type FitOptions,
  type Logs,
  type TrainContext,
} from '../../train/index.js';
import { expectClose } from '../support/expectClose.js';

const { train, test } = loadDataset('iris');
const dir = mkdtempSync(join(tmpdir(), 'tapegrad-fit-'));

function mlp(softmax = false) {
  const layers = [new Dense(4, 16, { rng: new Rng(1) }), new ReLU(), new Dense(16, 3, { rng: new Rng(2) })];
  return new Sequential(softmax ? [...layers, new Softmax()] : layers);
}

/** Least squares with an intercept, in float64: the known answer a regression through fit must reach. */
function leastSquares(x: number[][], y: number[][]): { weight: number[][]; bias: number[] } {
  const d = x[0].length + 1;
  const rows = x.map((r) => [...r, 1]);
  // Normal equations (XᵀX) β = Xᵀy, solved by Gauss-Jordan elimination, for each output.
  const weight: number[][] = [];
  const bias: number[] = [];
  for (let o = 0; o < y[0].length; o++) {
    const a = Array.from({ length: d }, (_, i) => [...Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[i] * r[j], 0)), rows.reduce((s, r, k) => s + r[i] * y[k][o], 0)]);
    for (let c = 0; c < d; c++) {
      const p = a[c][c];
      for (let j = c; j <= d; j++) a[c][j] /= p;
      for (let r = 0; r < d; r++) {
        if (r === c) continue;
        const f = a[r][c];
        for (let j = c; j <= d; j++) a[r][j] -= f * a[c][j];
      }
    }
    weight.push(a.slice(0, d - 1).map((row) => row[d]));
    bias.push(a[d - 1][d]);
  }
  return { weight, bias };
}

/** A callback that records every hook call: what Keras and TF.js users expect to see. */
function recorder(): Callback & { calls: Array<[string, ...unknown[]]> } {
  const calls: Array<[string, ...unknown[]]> = [];
  return {
    calls,
    onTrainBegin: (logs) => void calls.push(['trainBegin', { ...logs }]),
    onEpochBegin: (epoch, logs) => void calls.push(['epochBegin', epoch, { ...logs }]),
    onBatchBegin: (batch, logs) => void calls.push(['batchBegin', batch, { ...logs }]),
    onBatchEnd: (batch, logs) => void calls.push(['batchEnd', batch, { ...logs }]),
    onEpochEnd: (epoch, logs) => void calls.push(['epochEnd', epoch, { ...logs }]),
    onTrainEnd: (logs) => void calls.push(['trainEnd', { ...logs }]),
  };
}

describe('fit on a data set (classification)', () => {
  it('learns Iris and records every metric per epoch under Keras names; the CSV and JSONL use them too', async () => {
    const model = mlp();
    const history = await fit(model, {
      train,
      validationData: test,
      epochs: 30,
      batchSize: 16,
      optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }),
      callbacks: [new CsvLogger(join(dir, 'm.csv')), new JsonlLogger(join(dir, 'm.jsonl'))],
    });
    expect(history.epoch).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(Object.keys(history.history)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy', 'learning_rate', 'seconds', 'samples_per_sec']);
    expect(history.history.loss[29]).toBeLessThan(history.history.loss[0]);
    expect(history.history.learning_rate.every((lr) => lr === 0.05)).toBe(true);
    expect(evaluate(model, test).accuracy).toBeGreaterThan(0.85);
    const csv = readFileSync(join(dir, 'm.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(31);
    expect(csv[0]).toBe('epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds,samples_per_sec');
    expect(csv[1].startsWith('0,')).toBe(true);
    const rows = readFileSync(join(dir, 'm.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows[29].epoch).toBe(29);
    expect(rows[29].val_accuracy).toBe(history.history.val_accuracy[29]);
    // The last validation numbers are evaluate's on the final weights.
    const final = evaluate(model, test);
    expect(history.history.val_loss[29]).toBe(final.loss);
    expect(history.history.val_accuracy[29]).toBe(final.accuracy);
  });

  it('takes the loss before a trailing Softmax layer (same training as the logits model)', async () => {
    const run = async (softmax: boolean) => {
      const model = mlp(softmax);
      const h = await fit(model, { train, epochs: 3, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 0.1 }) });
      return { losses: h.history.loss, w: Array.from(model.stateDict()['2.weight'].data) };
    };
    const plain = await run(false);
    const keras = await run(true);
    expect(keras).toEqual(plain);
  });

  it('stops a run that diverges naming the epoch and batch, applies none of it, and never checkpoints non-finite weights', async () => {
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
    expect(r.stopReason).toMatch(/^training diverged: loss .* at epoch \d+, batch \d+\/15/);
    for (const p of model.parameters()) expect(p.data.every(Number.isFinite)).toBe(true);
    if (existsSync(join(ckdir, 'last.safetensors'))) {
      const ck = load(join(ckdir, 'last.safetensors'));
      for (const t of ck.weights.values()) expect(t.data.every(Number.isFinite)).toBe(true);
    }
  });
});

describe('fit on a user\'s own arrays', () => {
  // y = 2x + 1 with noise: the answer is the least-squares line, close to (2, 1).
  const rng = new Rng(7);
  const xs = Array.from({ length: 256 }, () => [rng.uniformIn(-1, 1)]);
  const ys = xs.map(([x]) => 2 * x + 1 + 0.1 * rng.normal());

  it("a regression y = 2x + 1 with noise, loss 'mse', reaches the least-squares line; 'mae' is reported", async () => {
    const model = new Sequential([new Dense(1, 1, { rng: new Rng(3) })]);
    const history = await fit(model, {
      x: xs,
      y: ys,
      loss: 'mse',
      metrics: ['mae'],
      epochs: 300,
      batchSize: 256,
      optimizer: new SGD(model.parameters(), { lr: 0.3, momentum: 0.5 }),
    });
    const ols = leastSquares(xs, ys.map((v) => [v]));
    const dense = model.layers[0] as Dense;
    expectClose(dense.weight.data, ols.weight.flat(), 1e-4);
    expectClose(dense.bias!.data, ols.bias, 1e-4);
    expect(Math.abs(dense.weight.data[0] - 2)).toBeLessThan(0.05);
    expect(Math.abs(dense.bias!.data[0] - 1)).toBeLessThan(0.05);
    expect(Object.keys(history.history).slice(0, 2)).toEqual(['loss', 'mae']);
    // The residual noise is 0.1: mse ≈ 0.01, mae ≈ 0.1 · sqrt(2/π) ≈ 0.08.
    expect(history.history.loss[299]).toBeLessThan(0.015);
    expect(history.history.mae[299]).toBeLessThan(0.1);
    const pred = model.predict([[0], [1]]);
    expectClose(pred.data, [ols.bias[0], ols.weight[0][0] + ols.bias[0]], 1e-4);
  });

  it('a 2-output regression (Tensor x, number[][] y) reaches each output\'s least-squares answer', async () => {
    const r = new Rng(11);
    const x = Array.from({ length: 80 }, () => [r.uniformIn(-1, 1), r.uniformIn(-1, 1)]);
    const y = x.map(([a, b]) => [a + 2 * b + 0.05 * r.normal(), 3 - a + 0.05 * r.normal()]);
    const model = new Sequential([new Dense(2, 2, { rng: new Rng(4) })]);
    await fit(model, { x: Tensor.from(x), y, loss: 'mse', epochs: 400, batchSize: 80, optimizer: new SGD(model.parameters(), { lr: 0.3, momentum: 0.5 }) });
    const ols = leastSquares(x, y);
    const dense = model.layers[0] as Dense;
    expectClose(dense.weight.data, ols.weight.flat(), 1e-4);
    expectClose(dense.bias!.data, ols.bias, 1e-4);
    expectClose(dense.weight.data, [1, 2, -1, 0], 0.05);
    expectClose(dense.bias!.data, [0, 3], 0.05);
    // A flat Float32Array of N × 2 targets is read as [N, 2]: the same run.
    const flatModel = new Sequential([new Dense(2, 2, { rng: new Rng(4) })]);
    await fit(flatModel, { x: Tensor.from(x), y: Float32Array.from(y.flat()), loss: 'mse', epochs: 400, batchSize: 80, optimizer: new SGD(flatModel.parameters(), { lr: 0.3, momentum: 0.5 }) });
    expect(Array.from((flatModel.layers[0] as Dense).weight.data)).toEqual(Array.from(dense.weight.data));
  });

  it('a custom loss function trains through the same step: (pred, target) => scalar', async () => {
    const run = async (loss: FitOptions['loss']) => {
      const model = new Sequential([new Dense(1, 1, { rng: new Rng(3) })]);
      const h = await fit(model, { x: xs, y: ys, loss, epochs: 5, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 0.1 }) });
      return h.history.loss;
    };
    // Written out, mse is the same arithmetic as the built-in one: the same numbers, bit for bit.
    expect(await run((p, t) => p.sub(t).square().mean())).toEqual(await run('mse'));
    // An absolute-error loss (a composition: relu(d) + relu(-d)) goes down too.
    const l1 = await run((p, t) => {
      const d = p.sub(t);
      return d.relu().add(d.neg().relu()).mean();
    });
    expect(l1[4]).toBeLessThan(l1[0]);
    // On class ids, a custom loss sees them as a float tensor [B].
    let seen: number[] = [];
    const model = mlp();
    await fit(model, {
      train: train.take(8),
      loss: (p, t) => {
        seen = Array.from(t.data);
        return p.mean();
      },
      epochs: 1,
      batchSize: 8,
      shuffle: false,
      optimizer: new SGD(model.parameters(), { lr: 0.01 }),
    });
    expect(seen).toEqual(Array.from(train.labels.subarray(0, 8)));
  });

  it("binaryCrossEntropy on a model that ends in a Sigmoid trains on its logits, with 'accuracy'", async () => {
    const r = new Rng(5);
    const x = Array.from({ length: 100 }, () => [r.normal(), r.normal()]);
    const y = x.map(([a, b]) => (a + b > 0 ? 1 : 0));
    const model = new Sequential([new Dense(2, 1, { rng: new Rng(6) }), new Sigmoid()]);
    const h = await fit(model, { x, y, loss: 'binaryCrossEntropy', metrics: ['accuracy', 'mae'], epochs: 30, batchSize: 10, optimizer: new SGD(model.parameters(), { lr: 0.5 }) });
    expect(h.history.accuracy[29]).toBeGreaterThan(0.95);
    expect(h.history.loss[29]).toBeLessThan(h.history.loss[0]);
    // evaluate agrees with a hand count on the probabilities the model outputs.
    const p = model.predict(x).data;
    let right = 0;
    let absError = 0;
    for (let i = 0; i < 100; i++) {
      right += (p[i] > 0.5 ? 1 : 0) === y[i] ? 1 : 0;
      absError += Math.abs(p[i] - y[i]);
    }
    const e = evaluate(model, { x, y }, { loss: 'binaryCrossEntropy', metrics: ['accuracy', 'mae'] });
    expect(e.accuracy).toBe(right / 100);
    expectClose(e.mae, absError / 100, 1e-6);
  });

  it('validationData { x, y } and validationSplit give val_ metrics; the split holds out round(fraction × N), by seed', async () => {
    const model = new Sequential([new Dense(1, 1, { rng: new Rng(3) })]);
    const validationData = { x: [[0.5], [-0.5]], y: [2, 0] };
    const h = await fit(model, { x: xs, y: ys, loss: 'mse', metrics: ['mae'], validationData, epochs: 3, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 0.1 }) });
    expect(Object.keys(h.history)).toEqual(['loss', 'mae', 'val_loss', 'val_mae', 'learning_rate', 'seconds', 'samples_per_sec']);
    const final = evaluate(model, validationData, { loss: 'mse', metrics: ['mae'] });
    expect(h.history.val_loss[2]).toBe(final.loss);
    expect(h.history.val_mae[2]).toBe(final.mae);

    const sizes: number[] = [];
    const counter: Callback = { onTrainBegin: (_logs, ctx) => void sizes.push(ctx.samples, ctx.stepsPerEpoch) };
    const split = async (seed: number) => {
      const m = new Sequential([new Dense(1, 1, { rng: new Rng(3) })]);
      return fit(m, { x: xs, y: ys, loss: 'mse', validationSplit: 0.25, seed, epochs: 2, batchSize: 16, optimizer: new SGD(m.parameters(), { lr: 0.1 }), callbacks: [counter] });
    };
    const a = await split(1);
    expect(sizes).toEqual([192, 12]);
    expect(a.history.val_loss).toHaveLength(2);
    expect((await split(1)).history.val_loss).toEqual(a.history.val_loss);
    expect((await split(2)).history.val_loss).not.toEqual(a.history.val_loss);
  });
});

describe('callbacks', () => {
  it('get (epoch, logs) and (batch, logs) counted from 0, with Keras log names, and the run as a third argument', async () => {
    const model = mlp();
    const rec = recorder();
    let context: TrainContext | undefined;
    const peek: Callback = { onTrainBegin: (_logs, ctx) => void (context = ctx) };
    await fit(model, { train: train.take(40), validationData: test, epochs: 2, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 0.05 }), callbacks: [rec, peek] });
    const names = rec.calls.map((c) => (c.length > 2 ? `${c[0]} ${c[1]}` : c[0]));
    expect(names).toEqual([
      'trainBegin',
      'epochBegin 0', 'batchBegin 0', 'batchEnd 0', 'batchBegin 1', 'batchEnd 1', 'batchBegin 2', 'batchEnd 2', 'epochEnd 0',
      'epochBegin 1', 'batchBegin 0', 'batchEnd 0', 'batchBegin 1', 'batchEnd 1', 'batchBegin 2', 'batchEnd 2', 'epochEnd 1',
      'trainEnd',
    ]);
    const batchEnd = rec.calls.find((c) => c[0] === 'batchEnd')![2] as Logs;
    expect(Object.keys(batchEnd)).toEqual(['batch', 'size', 'loss', 'accuracy']);
    expect(rec.calls.filter((c) => c[0] === 'batchEnd').map((c) => (c[2] as Logs).size)).toEqual([16, 16, 8, 16, 16, 8]);
    const epochEnd = rec.calls.find((c) => c[0] === 'epochEnd')![2] as Logs;
    expect(Object.keys(epochEnd)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy', 'learning_rate', 'seconds', 'samples_per_sec']);
    // The epoch's loss is the mean of its batches' losses, weighted by their sizes.
    const batches = rec.calls.filter((c) => c[0] === 'batchEnd').slice(0, 3).map((c) => c[2] as Logs);
    expectClose(epochEnd.loss, batches.reduce((s, b) => s + b.loss * b.size, 0) / 40, 1e-12);
    // onTrainEnd gets the last epoch's logs.
    expect(rec.calls[rec.calls.length - 1][1]).toEqual(rec.calls[rec.calls.length - 2][2]);
    expect(context).toMatchObject({ epochs: 2, stepsPerEpoch: 3, batchSize: 16, samples: 40 });
  });

  it('ctx.stopTraining from a batch ends training after that batch', async () => {
    const model = mlp();
    const stopper: Callback = {
      onBatchEnd(batch, _logs, ctx) {
        if (ctx.epoch === 1 && batch === 1) {
          ctx.stopTraining = true;
          ctx.stopReason = 'enough';
        }
      },
    };
    const rec = recorder();
    const h = await fit(model, { train, epochs: 5, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 0.05 }), callbacks: [stopper, rec] });
    expect(h.epoch).toEqual([0]);
    expect(h.stopReason).toBe('enough');
    expect(rec.calls.filter((c) => c[0] === 'batchEnd' && c[1] === 1)).toHaveLength(2);
  });
});

describe('schedules in fit', () => {
  it("PyTorch's schedule.step() after each epoch gives the rates fit records: 1, 0.5, 0.25, 0.125", async () => {
    const model = new Sequential([new Dense(1, 1, { rng: new Rng(3) })]);
    const x = [[0.1], [0.2]];
    const y = [0.3, 0.5];
    const optimizer = new SGD(model.parameters(), { lr: 1 });
    const h = await fit(model, { x, y, loss: 'mse', epochs: 4, batchSize: 2, shuffle: false, optimizer, schedule: new ExponentialDecay(optimizer, { gamma: 0.5 }) });
    expect(h.history.learning_rate).toEqual([1, 0.5, 0.25, 0.125]);

    // The PyTorch loop: train an epoch at opt.lr, then scheduler.step().
    const twin = new Sequential([new Dense(1, 1, { rng: new Rng(3) })]);
    const opt = new SGD(twin.parameters(), { lr: 1 });
    const sched = new ExponentialDecay(opt, { gamma: 0.5 });
    const rates: number[] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      rates.push(opt.lr);
      opt.zeroGrad();
      Tensor.mse(twin.forward(Tensor.from(x)), Tensor.from([[0.3], [0.5]])).backward();
      opt.step();
      sched.step();
    }
    expect(rates).toEqual(h.history.learning_rate);
    expect(Array.from(twin.parameters()[0].data)).toEqual(Array.from(model.parameters()[0].data));
  });

  it('a schedule factory is built once the batches per epoch are known', async () => {
    const model = mlp();
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    let shape: unknown;
    await fit(model, {
      train,
      epochs: 2,
      batchSize: 50,
      optimizer,
      schedule: (run) => {
        shape = { epochs: run.epochs, stepsPerEpoch: run.stepsPerEpoch, same: run.optimizer === optimizer };
        return new StepDecay(optimizer, { drop: 0.5, every: 1 });
      },
    });
    expect(shape).toEqual({ epochs: 2, stepsPerEpoch: 3, same: true });
  });
});

describe('bad input is a typed error naming it, before any training', () => {
  const x = [[1], [2], [3], [4]];
  const cases: Array<[string, () => Partial<FitOptions>, ErrorConstructor | typeof ShapeError, RegExp]> = [
    ['y of the wrong length', () => ({ x, y: [1, 2, 3], loss: 'mse' }), ShapeError, /fit: y has 3 values for the 4 samples of x/],
    ['class ids of the wrong length', () => ({ x, y: [0, 1, 0] }), ShapeError, /fit: y has 3 class ids for the 4 samples of x/],
    ['float targets with crossEntropy', () => ({ x, y: [0, 0.5, 1, 0] }), TypeError, /y\[1\] is 0\.5: loss crossEntropy takes class ids .*use loss 'mse'/],
    ['a Float32Array with crossEntropy', () => ({ x, y: new Float32Array(4) }), TypeError, /loss crossEntropy takes class ids .* got a Float32Array/],
    ['class ids outside the outputs', () => ({ x, y: [0, 1, 3, 1] }), RangeError, /class id 3 \(sample 2\), outside the model's 3 outputs/],
    ['a loss that returns a non-scalar', () => ({ x, y: [0.1, 0.2, 0.3, 0.4], loss: (p: Tensor, t: Tensor) => p.sub(t) }), ShapeError, /the loss function returned a tensor of shape \[1,3\]; a loss must be a scalar/],
    ['a validationSplit that leaves no training data', () => ({ x, y: [0, 1, 2, 1], validationSplit: 0.9 }), RangeError, /validationSplit 0\.9 of 4 samples leaves no training data/],
    ['a validationSplit outside [0, 1)', () => ({ x, y: [0, 1, 2, 1], validationSplit: 1 }), RangeError, /validationSplit must be in \[0, 1\), got 1/],
    ['targets of the wrong shape for mse', () => ({ x, y: [[1, 2], [3, 4], [5, 6], [7, 8]], loss: 'mse' }), ShapeError, /output per sample is \[3\], the training data's targets are \[2\]/],
    ['a flat x', () => ({ x: [1, 2, 3, 4] as unknown as number[][], y: [0, 1, 2, 1] }), TypeError, /fit: x is a flat array, which has no shape/],
    ['x of the wrong width', () => ({ x: [[1, 2], [3, 4]], y: [0, 1] }), ShapeError, /fit: the model cannot take the training data's samples \[2\]/],
    ['an unknown loss', () => ({ x, y: [0, 1, 2, 1], loss: 'hinge' as never }), RangeError, /unknown loss "hinge"; expected one of crossEntropy, binaryCrossEntropy, mse/],
    ['accuracy on a regression', () => ({ x, y: [0.1, 0.2, 0.3, 0.4], loss: 'mse', metrics: ['accuracy'] }), RangeError, /metric 'accuracy' needs class ids .* for regression use 'mae'/],
    ['mse on class ids', () => ({ train, loss: 'mse' }), TypeError, /loss mse takes float targets, but the training data holds class ids/],
    ['both validationSplit and validationData', () => ({ x, y: [0, 1, 2, 1], validationSplit: 0.5, validationData: { x, y: [0, 1, 2, 1] } }), TypeError, /validationSplit or validationData, not both/],
    ['no data', () => ({}), TypeError, /no training data: give x and y/],
  ];
  for (const [name, options, type, message] of cases) {
    it(name, async () => {
      const model = new Sequential([new Dense(1, 3, { rng: new Rng(1) }), new Dropout(0.5, { rng: new Rng(2) })]);
      const before = model.parameters().map((p) => Array.from(p.data));
      const rngBefore = model.rngState();
      const rec = recorder();
      const run = fit(model, { epochs: 2, batchSize: 2, optimizer: new SGD(model.parameters(), { lr: 0.1 }), callbacks: [rec], ...options() });
      await expect(run).rejects.toThrow(type);
      await expect(run).rejects.toThrow(message);
      expect(rec.calls).toEqual([]);
      expect(model.parameters().map((p) => Array.from(p.data))).toEqual(before);
      expect(model.rngState()).toEqual(rngBefore);
    });
  }
});

describe('EarlyStopping', () => {
  const logs = (valLoss: number): Logs => ({ loss: 1, accuracy: 0.5, val_loss: valLoss, val_accuracy: 0.5, learning_rate: 0.1 });
  const ctx = () => ({ model: mlp(), stopTraining: false }) as unknown as TrainContext;

  it('stops after `patience` epochs in a row without an improvement larger than minDelta (Keras\'s rule)', () => {
    const es = new EarlyStopping({ patience: 2, minDelta: 0.01 });
    const c = ctx();
    const seq = [1.0, 0.9, 0.895, 0.85];
    seq.forEach((v, epoch) => es.onEpochEnd(epoch, logs(v), c));
    // 0.895 does not beat 0.9 by 0.01 (one bad epoch), then 0.85 does: the count starts again.
    expect(c.stopTraining).toBe(false);
    es.onEpochEnd(4, logs(0.9), c);
    expect(c.stopTraining).toBe(false);
    es.onEpochEnd(5, logs(0.9), c);
    expect(c.stopTraining).toBe(true);
    // Messages count epochs from 1, as the per-epoch lines do; the state keeps Keras's 0-based epoch.
    expect(c.stopReason).toMatch(/early stopping at epoch 6: val_loss has not improved for 2 epochs \(best 0\.8500 at epoch 4\)/);
    expect(es.getState()).toEqual({ best: 0.85, bestEpoch: 3, wait: 2 });
  });

  it("Keras's documented example: patience 3 on a loss that never improves runs 4 epochs", async () => {
    // keras.callbacks.EarlyStopping's docstring: monitor='loss', patience=3, a Dense(10) fit to zeros
    // with SGD: 'Only 4 epochs are run.' A loss that cannot improve: the model's output is ignored.
    const model = new Sequential([new Dense(20, 10, { rng: new Rng(1) })]);
    const x = Array.from({ length: 5 }, (_, i) => Array.from({ length: 20 }, (_, j) => i * 20 + j));
    const constantLoss = (pred: Tensor): Tensor => pred.mul(0).sum().add(1);
    const history = await fit(model, {
      x, y: new Float32Array(5 * 10), loss: constantLoss, epochs: 10, batchSize: 1,
      optimizer: new SGD(model.parameters(), { lr: 0.01 }), callbacks: [new EarlyStopping({ monitor: 'loss', patience: 3 })],
    });
    expect(history.epoch).toEqual([0, 1, 2, 3]);
  });

  it('monitors any log name, falling back to the training one without validation', () => {
    const es = new EarlyStopping({ monitor: 'val_accuracy', patience: 0 });
    const c = ctx();
    es.onEpochEnd(0, { loss: 1, accuracy: 0.5 }, c);
    es.onEpochEnd(1, { loss: 1, accuracy: 0.6 }, c);
    expect(c.stopTraining).toBe(false);
    es.onEpochEnd(2, { loss: 1, accuracy: 0.6 }, c);
    expect(c.stopTraining).toBe(true);
  });

  it('restores the best weights when it stops', () => {
    const es = new EarlyStopping({ patience: 0, restoreBestWeights: true });
    const c = ctx();
    const w = c.model.parameters()[0];
    const best = w.data.slice();
    es.onEpochEnd(0, logs(0.5), c);
    w.data.fill(7);
    es.onEpochEnd(1, logs(0.6), c);
    expect(c.stopTraining).toBe(true);
    es.onTrainEnd({}, c);
    expect(Array.from(w.data)).toEqual(Array.from(best));
  });
});
