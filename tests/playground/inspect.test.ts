/**
 * The playground's watched steps (playground/inspect.ts) are train/'s trainStep: the same loss and the
 * same update, bit for bit, as a plain trainStep on a copy of the model; and what they show is what the
 * step computed: each layer's outputs as a forward pass gives them, the logits' gradient as the
 * cross-entropy's (softmax − one-hot) / B, the weight gradients as a plain backward gives them.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, loadMnist, type Batch, type Dataset } from '../../data/index.js';
import { Tensor, noGrad } from '../../engine/index.js';
import { Dense } from '../../layers/index.js';
import { buildModel, buildOptimizer, resolveLoss, resolveMetrics, seeds, trainStep, type StepSetup } from '../../train/index.js';
import { CLASSES, INPUTS, parseConfig, type TrainConfig } from '../../playground/config.js';
import { QUANTILES, measuredStep, pictureStep, quantiles } from '../../playground/inspect.js';

let train: Dataset;
beforeAll(() => {
  train = loadMnist({ trainSize: 512 }).train;
});

/** A model, optimizer and loader of `config`, and its first batch: two calls give two identical runs. */
function runOf(config: TrainConfig): { setup: StepSetup & { model: ReturnType<typeof buildModel> }; batch: Batch; loader: DataLoader } {
  const model = buildModel(config, INPUTS, CLASSES);
  const optimizer = buildOptimizer(config, model);
  const loss = resolveLoss('crossEntropy', 'test');
  const loader = new DataLoader(train.take(config.train), { batchSize: config.batchSize, seed: seeds.loader(config.seed) });
  const batch = loader.epochBatches(0)[Symbol.iterator]().next().value as Batch;
  model.train();
  return { setup: { model, optimizer, loss, metrics: resolveMetrics(['accuracy'], loss, true, 'test') }, batch, loader };
}

const weightsOf = (setup: StepSetup) => setup.model.parameters().map((p) => Array.from(p.data));

describe('pictureStep: one batch, watched', () => {
  const config = parseConfig({ hidden: '32,16', batch: '24', train: '512', seed: '5' });

  it("its loss and update are trainStep's, bit for bit", () => {
    const watched = runOf(config);
    const plain = runOf(config);
    const pictures = pictureStep(watched.setup, watched.batch, 8);
    const result = trainStep(plain.setup, plain.batch);
    expect(pictures.result.loss).toBe(result.loss);
    expect(pictures.result.metrics).toEqual(result.metrics);
    expect(pictures.result.applied).toBe(true);
    expect(weightsOf(watched.setup)).toEqual(weightsOf(plain.setup));
  });

  it('shows each layer output of the shown samples as a forward pass gives it', () => {
    const watched = runOf(config);
    const reference = runOf(config);
    const x = reference.batch.x;
    const expected: number[][] = [];
    noGrad(() => {
      let y: Tensor = x;
      for (const layer of reference.setup.model.layers) {
        y = layer.forward(y);
        expected.push(Array.from(y.data.slice(0, 8 * y.shape[1])));
      }
    });
    const pictures = pictureStep(watched.setup, watched.batch, 8);
    expect(pictures.layers.map((l) => l.name)).toEqual(['Dense(784 → 32)', 'ReLU', 'Dense(32 → 16)', 'ReLU', 'Dense(16 → 10)']);
    expect(pictures.layers.map((l) => Array.from(l.values))).toEqual(expected);
    expect(pictures.rows).toBe(8);
    expect(Array.from(pictures.images)).toEqual(Array.from(x.data.slice(0, 8 * 784)));
    expect(Array.from(pictures.labels)).toEqual(Array.from(reference.batch.y.slice(0, 8)));
    const logits = expected[4];
    const guesses = Array.from({ length: 8 }, (_, r) => logits.slice(r * 10, r * 10 + 10).indexOf(Math.max(...logits.slice(r * 10, r * 10 + 10))));
    expect(Array.from(pictures.guesses)).toEqual(guesses);
  });

  it("the logits' gradient is (softmax − one-hot) / B, computed here in float64", () => {
    const watched = runOf(config);
    const pictures = pictureStep(watched.setup, watched.batch, 8);
    const logits = pictures.layers[4];
    const B = watched.batch.size;
    for (let r = 0; r < 8; r++) {
      const row = Array.from(logits.values.slice(r * 10, r * 10 + 10));
      const max = Math.max(...row);
      const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
      for (let c = 0; c < 10; c++) {
        const expected = (Math.exp(row[c] - max) / sum - (pictures.labels[r] === c ? 1 : 0)) / B;
        expect(Math.abs(logits.grad![r * 10 + c] - expected)).toBeLessThan(1e-7);
      }
    }
    // Every layer's output gets a gradient (they all lie between the weights and the loss).
    expect(pictures.layers.every((l) => l.grad !== null && l.grad.length === 8 * l.units)).toBe(true);
  });

  it('shows the weight gradients a plain backward gives, and the tape with its names', () => {
    const watched = runOf(config);
    const plain = runOf(config);
    const pictures = pictureStep(watched.setup, watched.batch, 8);
    plain.setup.optimizer.zeroGrad();
    Tensor.crossEntropy(plain.setup.model.forward(plain.batch.x), plain.batch.y).backward();
    const dense = plain.setup.model.layers.flatMap((l, index) => (l instanceof Dense ? [{ index, grad: Array.from(l.weight.grad!.data) }] : []));
    expect(pictures.weightGradients.map((g) => g.index)).toEqual(dense.map((d) => d.index));
    expect(pictures.weightGradients.map((g) => [g.rows, g.cols])).toEqual([[32, 784], [16, 32], [10, 16]]);
    pictures.weightGradients.forEach((g, i) => expect(Array.from(g.data)).toEqual(dense[i].grad));

    expect(pictures.dot.startsWith('digraph tape {')).toBe(true);
    for (const name of ['x (the batch)', '0.weight', '0.bias', '4.weight', '1: ReLU out', 'loss']) expect(pictures.dot).toContain(`${name}\\n`);
    expect([...pictures.dot.matchAll(/label="(\w+)", shape=ellipse/g)].map((m) => m[1])).toContain('crossEntropy');
  });

  it('a step later in the run is the same step too (momentum buffers and all)', () => {
    const watched = runOf(config);
    const plain = runOf(config);
    const wIt = watched.loader.epochBatches(0)[Symbol.iterator]();
    const pIt = plain.loader.epochBatches(0)[Symbol.iterator]();
    for (let i = 0; i < 5; i++) {
      trainStep(watched.setup, wIt.next().value as Batch);
      trainStep(plain.setup, pIt.next().value as Batch);
    }
    expect(pictureStep(watched.setup, wIt.next().value as Batch, 4).result.loss).toBe(trainStep(plain.setup, pIt.next().value as Batch).loss);
    expect(weightsOf(watched.setup)).toEqual(weightsOf(plain.setup));
  });
});

describe('measuredStep: the hidden layers in numbers', () => {
  it("trains as trainStep does and measures each activation's outputs and gradients", () => {
    for (const activation of ['relu', 'tanh', 'sigmoid']) {
      const config = parseConfig({ hidden: '20,12', activation, batchnorm: activation === 'tanh' ? '1' : '0', batch: '32', train: '512' });
      const measured = runOf(config);
      const plain = runOf(config);
      const reference = runOf(config);
      const { result, layers } = measuredStep(measured.setup, measured.batch);
      expect(result.loss).toBe(trainStep(plain.setup, plain.batch).loss);
      expect(weightsOf(measured.setup)).toEqual(weightsOf(plain.setup));

      // The hidden outputs, from a forward pass of the untouched copy.
      const hidden: Float32Array[] = [];
      noGrad(() => {
        let y: Tensor = reference.batch.x;
        for (const layer of reference.setup.model.layers) {
          y = layer.forward(y);
          if (layer.type.toLowerCase() === activation) hidden.push(y.data.slice());
        }
      });
      expect(layers.map((l) => l.index)).toEqual(activation === 'tanh' ? [2, 5] : [1, 3]);
      layers.forEach((l, k) => {
        const sorted = Array.from(hidden[k]).sort((a, b) => a - b);
        expect(l.values).toEqual(QUANTILES.map((q) => sorted[Math.round(q * (sorted.length - 1))]));
        const stuckOf = (v: number) => (activation === 'relu' ? v === 0 : activation === 'tanh' ? Math.abs(v) > 0.99 : v < 0.01 || v > 0.99);
        expect(l.stuck).toBeCloseTo(sorted.filter(stuckOf).length / sorted.length, 12);
        expect(l.grads.every((g) => g >= 0 && Number.isFinite(g))).toBe(true);
        expect(l.grads[4]).toBeGreaterThan(0);
      });
    }
  });
});

describe('quantiles', () => {
  it('are the nearest-rank values of the sorted array, for any values', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 200 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (values, at) => {
        const f32 = Float32Array.from(values);
        const sorted = Array.from(f32).sort((a, b) => a - b);
        const got = quantiles(f32, at);
        at.forEach((q, i) => expect(Object.is(got[i], sorted[Math.round(q * (sorted.length - 1))]) || got[i] === sorted[Math.round(q * (sorted.length - 1))]).toBe(true));
      }),
    );
    expect(quantiles(new Float32Array(0), [0.5])).toEqual([NaN]);
  });
});
