/**
 * Your own arrays through `fit`, Keras-style: a straight line y = 2x + 1 with noise, learned by one Dense
 * unit with `loss: 'mse'`, then a two-output regression, and a binary classifier ending in a sigmoid.
 * No data set object, no training loop: `fit(model, { x, y, loss, metrics, validationSplit, ... })`.
 *
 *   npx tsx examples/regression.ts [--seed 1]
 */
import { Rng } from '../engine/index.js';
import { Dense, Sequential, Sigmoid } from '../layers/index.js';
import { SGD } from '../optim/index.js';
import { evaluate, fit } from '../train/index.js';
import { fmt, parseArgs, runIfMain, type Log } from './common.js';

export async function main(args: string[], log: Log = console.log) {
  const { seed } = parseArgs(args);
  const rng = new Rng(seed);

  // 1. y = 2x + 1 + noise: x is one row per sample, y one target per sample.
  const x = Array.from({ length: 200 }, () => [rng.uniformIn(-1, 1)]);
  const y = x.map(([v]) => 2 * v + 1 + 0.1 * rng.normal());
  const line = new Sequential([new Dense(1, 1, { rng })]);
  const history = await fit(line, {
    x, y, loss: 'mse', metrics: ['mae'], validationSplit: 0.2,
    epochs: 100, batchSize: 16, seed, optimizer: new SGD(line.parameters(), { lr: 0.05 }),
  });
  const dense = line.layers[0] as Dense;
  const last = history.last()!;
  log(`line: y = ${fmt(dense.weight.data[0], 3)}x + ${fmt(dense.bias!.data[0], 3)} (true: 2x + 1); mse ${fmt(last.loss)}, val_mae ${fmt(last.val_mae)}`);
  log(`line: predict([[0], [1]]) = ${Array.from(line.predict([[0], [1]]).data).map((v) => fmt(v, 3)).join(', ')}`);

  // 2. Two outputs at once: y = [x1 + 2 x2, 3 - x1].
  const x2 = Array.from({ length: 200 }, () => [rng.uniformIn(-1, 1), rng.uniformIn(-1, 1)]);
  const y2 = x2.map(([a, b]) => [a + 2 * b, 3 - a]);
  const plane = new Sequential([new Dense(2, 2, { rng })]);
  await fit(plane, { x: x2, y: y2, loss: 'mse', epochs: 100, batchSize: 16, seed, optimizer: new SGD(plane.parameters(), { lr: 0.1 }) });
  const w = (plane.layers[0] as Dense).weight.data;
  const b = (plane.layers[0] as Dense).bias!.data;
  log(`plane: y1 = ${fmt(w[0], 3)}x1 + ${fmt(w[1], 3)}x2 + ${fmt(b[0], 3)}, y2 = ${fmt(w[2], 3)}x1 + ${fmt(w[3], 3)}x2 + ${fmt(b[1], 3)}`);

  // 3. A binary classifier: 0/1 targets, a sigmoid output, binary cross-entropy (taken on its logits).
  const yb = x2.map(([a, c]) => (a - c > 0 ? 1 : 0));
  const classifier = new Sequential([new Dense(2, 1, { rng }), new Sigmoid()]);
  await fit(classifier, { x: x2, y: yb, loss: 'binaryCrossEntropy', metrics: ['accuracy'], epochs: 50, batchSize: 16, seed, optimizer: new SGD(classifier.parameters(), { lr: 0.5 }) });
  const { accuracy } = evaluate(classifier, { x: x2, y: yb }, { loss: 'binaryCrossEntropy', metrics: ['accuracy'] });
  log(`classifier: accuracy ${fmt(accuracy)}`);
  return { weight: dense.weight.data[0], bias: dense.bias!.data[0], plane: { w: Array.from(w), b: Array.from(b) }, accuracy };
}

runIfMain(import.meta.url, main);
