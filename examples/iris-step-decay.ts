/**
 * Reference article 000, section 3.2: step decay through a schedule. SGD lr0 0.1, momentum 0.9, and the
 * rate halves every 10 epochs: lr = lr0 · 0.5^floor(epoch / 10), epochs counted from 0.
 *
 * The article's formula is `lr0 · pow(drop, floor(1 + epoch) / epochs_drop)`: its `floor` wraps only
 * `1 + epoch`, already a whole number, so the exponent grows by 1/10 every epoch and the rate decays
 * smoothly by 0.5^0.1 ≈ 0.933 per epoch (it is 0.0933, not 0.1, at epoch 0). The intended
 * `floor((1 + epoch) / epochs_drop)` is a step. We print both columns next to each other.
 *
 *   npx tsx examples/iris-step-decay.ts [--quick] [--seed 1]
 */
import { Rng } from '../engine/index.js';
import { loadDataset } from '../data/index.js';
import { Dense, ReLU, Sequential, Softmax } from '../layers/index.js';
import { SGD, StepDecay } from '../optim/index.js';
import { evaluate, fit, type Callback } from '../train/index.js';
import { fmt, parseArgs, runIfMain, type Log } from './common.js';

/** The article's formula, as written. */
export function articleStepDecay(epoch: number, lr0 = 0.1, drop = 0.5, epochsDrop = 10): number {
  return lr0 * Math.pow(drop, Math.floor(1 + epoch) / epochsDrop);
}

const fmtLr = (lr: number): string => (lr >= 1e-3 ? lr.toFixed(6) : lr.toExponential(3));

export async function main(args: string[], log: Log = console.log) {
  const { quick, seed } = parseArgs(args);
  const epochs = quick ? 30 : 200;
  const { train, test } = loadDataset('iris', { seed });
  const rng = new Rng(seed);
  const model = new Sequential([
    new Dense(4, 4, { rng }), new ReLU(),
    new Dense(4, 6, { rng }), new ReLU(),
    new Dense(6, 3, { rng }), new Softmax(),
  ]);
  const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const schedule = new StepDecay(optimizer, { drop: 0.5, every: 10 });
  log(`iris ${train.count}/${test.count}, SGD lr0 0.1 momentum 0.9, step decay ×0.5 every 10 epochs, ${epochs} epochs`);

  const printRate: Callback = {
    // fit applies the schedule before the other callbacks' onEpochBegin, so this is the epoch's rate.
    onEpochBegin(epoch) {
      if (epoch % 10 !== 0 && epoch !== 9 && epoch !== 1) return;
      log(`epoch ${String(epoch).padStart(3)}: lr ${fmtLr(optimizer.lr).padEnd(9)}   article's formula: ${fmtLr(articleStepDecay(epoch))}`);
    },
  };
  const history = await fit(model, { train, epochs, batchSize: 5, optimizer, schedule, seed, callbacks: [printRate] });
  log(`train accuracy ${fmt(history.last()!.accuracy)}`);
  const { accuracy } = evaluate(model, test);
  log(`test accuracy: ${fmt(accuracy)}`);
  return { accuracy, history };
}

runIfMain(import.meta.url, main);
