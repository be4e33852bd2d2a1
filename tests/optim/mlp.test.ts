import { describe, expect, it } from 'vitest';
import { Rng, Tensor } from '../../engine/index.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop, SGD } from '../../optim/index.js';
import type { Optimizer } from '../../optim/index.js';

/** Iris-sized synthetic data: 3 classes of 30 points, Gaussian clusters in 4 dimensions. */
function clusters(): { x: Tensor; y: Int32Array } {
  const rng = new Rng(11);
  const centres = [[1, 0, 0, 1], [-1, 1, 0, 0], [0, -1, 1, -1]];
  const x = new Float32Array(90 * 4);
  const y = new Int32Array(90);
  for (let i = 0; i < 90; i++) {
    y[i] = i % 3;
    for (let j = 0; j < 4; j++) x[i * 4 + j] = centres[y[i]][j] + 0.5 * rng.normal();
  }
  return { x: Tensor.from(x, { shape: [90, 4] }), y };
}

const makers: Array<[string, (params: Tensor[]) => Optimizer<any>]> = [
  ['SGD', (p) => new SGD(p, { lr: 0.1 })],
  ['SGD momentum + Nesterov + decay', (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, decay: 1e-3 })],
  ['Adam', (p) => new Adam(p, { lr: 0.01 })],
  ['AdamW', (p) => new AdamW(p, { lr: 0.01 })],
  ['Nadam', (p) => new Nadam(p, { lr: 0.01 })],
  ['RMSprop', (p) => new RMSprop(p, { lr: 0.01 })],
  ['Adagrad', (p) => new Adagrad(p, { lr: 0.1 })],
  ['Adadelta', (p) => new Adadelta(p, { lr: 1 })],
];

describe('a 4-16-3 MLP trains with every optimizer', () => {
  const { x, y } = clusters();
  it.each(makers)('%s: the loss falls and the clusters are learned', (_name, make) => {
    const rng = new Rng(5);
    const model = new Sequential([new Dense(4, 16, { rng }), new ReLU(), new Dense(16, 3, { rng })]);
    const opt = make(model.parameters());
    const losses: number[] = [];
    for (let epoch = 0; epoch < 60; epoch++) {
      opt.zeroGrad();
      const loss = Tensor.crossEntropy(model.forward(x), y);
      losses.push(loss.item());
      loss.backward();
      opt.step();
    }
    expect(losses[59]).toBeLessThan(0.5 * losses[0]);
    // Mostly downhill: the last ten losses are all below the first ten.
    expect(Math.max(...losses.slice(50))).toBeLessThan(Math.min(...losses.slice(0, 10)));
    const logits = model.forward(x).data;
    let correct = 0;
    for (let i = 0; i < 90; i++) {
      const row = logits.subarray(i * 3, i * 3 + 3);
      if (row.indexOf(Math.max(...row)) === y[i]) correct++;
    }
    expect(correct / 90).toBeGreaterThan(0.85);
    expect(opt.iterations).toBe(60);
  });
});
