/**
 * Reference article 002: find a learning rate with a range test, then train with it.
 *
 * 1. Fashion-MNIST, 784-300-100-10 (ReLU, softmax), plain SGD, batches of 32 (Keras's default). For up
 *    to one epoch the rate starts at 1e-3 and is multiplied by 1.005 after every batch (the article's
 *    `ExponentialLearningRate` callback), recording rate and loss: optim's `findLearningRate` on that
 *    grid, which also stops once the smoothed loss passes 4× its minimum and restores the weights.
 * 2. The loss against the rate on a log axis: it falls, flattens, then shoots up. The article's rule is
 *    to train at about half the rate where it turns up. That is the finder's suggestion (`halfTurn`):
 *    it locates the turn on a centered average of the batch losses, which does not lag. (The minimum of
 *    the exponential moving average that is plotted lags by some batches, and on this grid a few
 *    batches are a large factor in rate: findLearningRate's doc comment measures 3× past divergence.)
 * 3. A fresh model trained at that rate, with 5,000 training images held out for validation, early
 *    stopping on the validation loss (best weights restored) and best/last checkpoints.
 *    The article's bar: more than 85% test accuracy.
 *
 * `--dataset mnist` runs the same recipe on MNIST, for comparison with LeCun et al.'s 3.05% test error
 * of a 300+100 network (figures then get an `mnist-` prefix).
 *
 *   npx tsx examples/fashion-lr-range-test.ts [--quick] [--dataset mnist] [--epochs 20] [--out DIR] [--figures DIR]
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Rng } from '../engine/index.js';
import { loadDataset, splitValidation } from '../data/index.js';
import { Dense, ReLU, Sequential, Softmax } from '../layers/index.js';
import { SGD } from '../optim/index.js';
import { EarlyStopping, ModelCheckpoint, curvesSpec, evaluate, fit, load, lrFindSpec, rangeTest, type Callback } from '../train/index.js';
import { fmt, parseArgs, runIfMain, writeFigure, type Log } from './common.js';

const build = (rng: Rng) =>
  new Sequential([
    new Dense(784, 300, { rng }), new ReLU(),
    new Dense(300, 100, { rng }), new ReLU(),
    new Dense(100, 10, { rng }), new Softmax(),
  ]);

export async function main(args: string[], log: Log = console.log) {
  const { quick, seed, figures, flags } = parseArgs(args);
  const epochs = Number(flags.get('epochs') ?? (quick ? 2 : 20));
  const batchSize = 32;
  const dataset = flags.get('dataset') ?? 'fashion-mnist';
  if (dataset !== 'fashion-mnist' && dataset !== 'mnist') throw new RangeError(`--dataset must be fashion-mnist or mnist, got ${dataset}`);
  const prefix = dataset === 'mnist' ? 'mnist-' : 'fashion-';
  const out = resolve(flags.get('out') ?? (quick ? join(tmpdir(), `tapegrad-fashion-lr-${process.pid}`) : `runs/${prefix}lr-range-test`));
  const data = loadDataset(dataset, quick ? { trainSize: 2000, testSize: 500 } : {});
  const { train, validation } = splitValidation(data.train, 5000 / 60000, new Rng(seed));
  const test = data.test;
  const batches = Math.ceil(train.count / batchSize);
  // 1.005 per batch over an epoch of 55,000 images (1,719 batches) goes from 1e-3 to about 5.3; the quick
  // run has far fewer batches, so it uses the factor that covers the same range.
  const factor = quick ? Math.pow(5.3 / 1e-3, 1 / batches) : 1.005;
  log(`${dataset}: ${train.count} train, ${validation.count} validation, ${test.count} test; 784-300-100-10, SGD, batch ${batchSize}`);

  // 1. The range test: rate_i = 1e-3 · factor^i for batch i, the article's grid, through the library's finder.
  const probe = build(new Rng(seed));
  const start = 1e-3;
  const probeOpt = new SGD(probe.parameters(), { lr: start });
  const range = rangeTest(probe, { data: train, optimizer: probeOpt, batchSize, seed, start, end: start * factor ** (batches - 1), steps: batches });
  const { rates, smoothed, suggestions } = range;
  const lr = range.suggested;
  const turning = 2 * suggestions.halfTurn;
  log(`range test: ${rates.length} of ${batches} batches (${range.stopReason}), rate ${rates[0].toExponential(2)} -> ${rates[rates.length - 1].toExponential(2)} (×${factor.toFixed(4)} a batch)`);
  log(`suggestions: steepest descent ${suggestions.steepest.toExponential(2)}, minimum / 10 ${suggestions.minOver10.toExponential(2)}, half the turning point ${suggestions.halfTurn.toExponential(2)}`);
  let lowest = 0;
  for (let i = 1; i < smoothed.length; i++) if (smoothed[i] < smoothed[lowest]) lowest = i;
  log(`the loss turns up at rate ${turning.toExponential(2)} (the moving average, which lags, is lowest at ${rates[lowest].toExponential(2)})`);
  log(`training at half the turning point: lr ${lr.toExponential(2)}`);
  await writeFigure(figures, `${prefix}lr-range-test.svg`, lrFindSpec(range), log);

  // 2. Training from scratch at that rate.
  const model = build(new Rng(seed + 1));
  const optimizer = new SGD(model.parameters(), { lr });
  const checkpoints = new ModelCheckpoint({ dir: out, monitor: 'val_loss' });
  const stopping = new EarlyStopping({ monitor: 'val_loss', patience: quick ? 1 : 3, restoreBestWeights: true });
  const printEpoch: Callback = {
    onEpochEnd(epoch, logs) {
      log(`epoch ${String(epoch + 1).padStart(2)}: loss ${fmt(logs.loss)} accuracy ${fmt(logs.accuracy)}  val_loss ${fmt(logs.val_loss)} val_accuracy ${fmt(logs.val_accuracy)}`);
    },
  };
  const history = await fit(model, { train, validationData: validation, epochs, batchSize, optimizer, seed, callbacks: [printEpoch, stopping, checkpoints] });
  if (history.stopReason) log(history.stopReason);
  await writeFigure(figures, `${prefix}lr-curves.svg`, curvesSpec(history, `${dataset}, SGD lr ${lr.toExponential(2)}`), log);

  const { accuracy } = evaluate(model, test);
  const fromFile = load(checkpoints.bestPath).model!;
  const { accuracy: bestAccuracy } = evaluate(fromFile, test);
  log(`best checkpoint ${checkpoints.bestPath}: test accuracy ${fmt(bestAccuracy)}`);
  log(`test accuracy: ${fmt(accuracy)} (${dataset === 'mnist' ? "LeCun et al.'s 300+100 net: 0.9695" : "article 002's bar: > 0.85"})`);
  // A --quick run without --out leaves nothing behind.
  if (quick && !flags.has('out')) rmSync(out, { recursive: true, force: true });
  return { accuracy, lr, turning, history };
}

runIfMain(import.meta.url, main);
