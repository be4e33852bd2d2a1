/**
 * Reference article 004 (Dive into Deep Learning's dropout chapter): Fashion-MNIST, 784-256-256-10 with
 * ReLU, dropout 0.2 after the first hidden layer and 0.5 after the second, plain SGD lr 0.5, batches of
 * 256, 10 epochs; the same network without dropout for comparison. Test accuracy is measured after
 * every epoch, as d2l's `train_ch3` does. Writes one figure: train and test accuracy per epoch, both nets.
 *
 *   npx tsx examples/fashion-d2l-dropout.ts [--quick] [--epochs 10] [--figures DIR]
 */
import { Rng } from '../engine/index.js';
import { loadDataset } from '../data/index.js';
import { Dense, Dropout, ReLU, Sequential } from '../layers/index.js';
import { SGD } from '../optim/index.js';
import { fit, type History } from '../train/index.js';
import { fmt, parseArgs, runIfMain, writeFigure, type Log } from './common.js';

function build(p1: number, p2: number, rng: Rng): Sequential {
  return new Sequential([
    new Dense(784, 256, { rng }), new ReLU(), new Dropout(p1, { rng }),
    new Dense(256, 256, { rng }), new ReLU(), new Dropout(p2, { rng }),
    new Dense(256, 10, { rng }),
  ]);
}

/** Accuracy per epoch, train (solid) and test (dashed), one colour per network. */
function accuracySpec(runs: { name: string; history: History }[]) {
  const values = runs.flatMap(({ name, history }) =>
    history.rows().flatMap((h) => [
      { epoch: h.epoch + 1, net: name, split: 'train', accuracy: h.accuracy },
      { epoch: h.epoch + 1, net: name, split: 'test', accuracy: h.val_accuracy },
    ]),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Fashion-MNIST 784-256-256-10, SGD lr 0.5: with and without dropout',
    width: 420,
    height: 260,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
      y: { field: 'accuracy', type: 'quantitative', scale: { zero: false } },
      color: { field: 'net', type: 'nominal', title: null },
      strokeDash: { field: 'split', type: 'nominal', title: null },
    },
  };
}

export async function main(args: string[], log: Log = console.log) {
  const { quick, seed, figures, flags } = parseArgs(args);
  const epochs = Number(flags.get('epochs') ?? (quick ? 2 : 10));
  const { train, test } = loadDataset('fashion-mnist', quick ? { trainSize: 1000, testSize: 300 } : {});
  log(`fashion-mnist ${train.count}/${test.count}: 784-256-256-10, SGD lr 0.5, batch 256, ${epochs} epochs`);

  const runs: { name: string; history: History }[] = [];
  for (const [name, p1, p2] of [['dropout 0.2/0.5', 0.2, 0.5], ['no dropout', 0, 0]] as const) {
    const model = build(p1, p2, new Rng(seed));
    const optimizer = new SGD(model.parameters(), { lr: 0.5 });
    const history = await fit(model, { train, validationData: test, epochs, batchSize: 256, optimizer, seed });
    for (const h of history.rows()) log(`${name} epoch ${String(h.epoch + 1).padStart(2)}: loss ${fmt(h.loss)} train ${fmt(h.accuracy)} test ${fmt(h.val_accuracy)}`);
    const last = history.last()!;
    log(`${name}: train accuracy ${fmt(last.accuracy)}, test accuracy ${fmt(last.val_accuracy)}`);
    runs.push({ name, history });
  }
  await writeFigure(figures, 'fashion-d2l-dropout.svg', accuracySpec(runs), log);
  return runs;
}

runIfMain(import.meta.url, main);
