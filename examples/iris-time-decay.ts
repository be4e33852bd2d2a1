/**
 * Reference article 000, section 3.1: Keras's time-based decay. SGD lr 0.1, momentum 0.9, decay 0.005:
 * every *batch* uses lr_t = lr / (1 + decay · iterations), iterations counting the steps taken so far
 * (optim/sgd.ts). Iris 4-4-6-3, 200 epochs of batches of 5; trained on a stratified 120-flower split
 * (the article fits all 150 and reports training accuracy only) and tested on the other 30.
 * Prints the rate the first step of every 20th epoch uses, and the final accuracies.
 *
 *   npx tsx examples/iris-time-decay.ts [--quick] [--seed 1]
 */
import { Rng } from '../engine/index.js';
import { loadDataset } from '../data/index.js';
import { Dense, ReLU, Sequential, Softmax } from '../layers/index.js';
import { SGD } from '../optim/index.js';
import { evaluate, fit, type Callback } from '../train/index.js';
import { fmt, parseArgs, runIfMain, type Log } from './common.js';

export async function main(args: string[], log: Log = console.log) {
  const { quick, seed } = parseArgs(args);
  const epochs = quick ? 40 : 200;
  const lr = 0.1;
  const decay = 0.005;
  const batchSize = 5;
  const { train, test } = loadDataset('iris', { seed });
  const rng = new Rng(seed);
  const model = new Sequential([
    new Dense(4, 4, { rng }), new ReLU(),
    new Dense(4, 6, { rng }), new ReLU(),
    new Dense(6, 3, { rng }), new Softmax(),
  ]);
  const optimizer = new SGD(model.parameters(), { lr, momentum: 0.9, decay });
  const steps = Math.ceil(train.count / batchSize);
  log(`iris ${train.count}/${test.count}, SGD lr ${lr} momentum 0.9 decay ${decay} (per batch, ${steps} batches an epoch), ${epochs} epochs`);

  const printRate: Callback = {
    onEpochBegin(epoch) {
      if (epoch % 20 !== 0) return;
      const it = optimizer.iterations;
      log(`epoch ${String(epoch).padStart(3)}: lr ${optimizer.currentLr.toFixed(6)} = ${lr} / (1 + ${decay} × ${it})`);
    },
  };
  const history = await fit(model, { train, epochs, batchSize, optimizer, seed, callbacks: [printRate] });
  log(`after ${epochs} epochs: lr ${optimizer.currentLr.toFixed(6)}, train accuracy ${fmt(history.last()!.accuracy)}`);
  const { accuracy } = evaluate(model, test);
  log(`test accuracy: ${fmt(accuracy)}`);
  return { accuracy, history };
}

runIfMain(import.meta.url, main);
