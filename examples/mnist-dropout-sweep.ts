/**
 * Reference article 001: how the dropout rate changes learning. MNIST, for each rate 0.0, 0.1, ..., 0.9:
 * input (784) → LayerNorm → Dropout(rate) → Dense(100, tanh) → Dense(10, softmax), Adam (lr 1e-3),
 * batches of 128, 10 epochs, the 10,000 test images as validation data (as the article does).
 * Prints the final train and validation accuracy per rate and writes the article's two figures:
 * training accuracy and validation accuracy per epoch, one line per rate.
 *
 * Each finished rate's history is saved as JSON in `--runs DIR` (default runs/mnist-dropout-sweep; none
 * for --quick). With `--reuse`, a rate whose JSON is already there is read instead of trained, so the
 * sweep can be split over several processes (`--rates 0,0.2,...` each) and plotted by a last `--reuse` run.
 *
 *   npx tsx examples/mnist-dropout-sweep.ts [--quick] [--rates 0,0.5,0.9] [--epochs 10] [--figures DIR] [--runs DIR] [--reuse]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../engine/index.js';
import { loadDataset } from '../data/index.js';
import { Dense, Dropout, LayerNorm, Sequential, Softmax } from '../layers/index.js';
import { Adam } from '../optim/index.js';
import { History, fit, sweepSpec, type SweepRun, type VegaLiteSpec } from '../train/index.js';
import { fmt, parseArgs, runIfMain, writeFigure, type Log } from './common.js';

/** One panel of `sweepSpec`'s pair as a figure of its own (the article draws two separate plots). */
function panel(spec: VegaLiteSpec, index: number, title: string): VegaLiteSpec {
  const { hconcat, ...rest } = spec as VegaLiteSpec & { hconcat: VegaLiteSpec[] };
  return { ...rest, ...hconcat[index], title };
}

export async function main(args: string[], log: Log = console.log) {
  const { quick, seed, figures, flags } = parseArgs(args);
  const allRates = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const rates = flags.has('rates') ? flags.get('rates')!.split(',').map(Number) : quick ? [0, 0.5, 0.9] : allRates;
  const epochs = Number(flags.get('epochs') ?? (quick ? 2 : 10));
  const runsDir = flags.get('runs') ?? (quick ? null : 'runs/mnist-dropout-sweep');
  const saved = (rate: number) => (runsDir === null ? null : join(runsDir, `rate-${rate.toFixed(1)}-epochs-${epochs}.json`));
  const { train, test } = loadDataset('mnist', quick ? { trainSize: 1000, testSize: 500 } : {});
  log(`mnist ${train.count}/${test.count}: LayerNorm → Dropout(rate) → Dense(100, tanh) → Dense(10, softmax), Adam, batch 128, ${epochs} epochs`);

  const runs: SweepRun[] = [];
  for (const rate of rates) {
    const file = saved(rate);
    if (file !== null && flags.has('reuse') && existsSync(file)) {
      // Files written before the History object (a list of rows) read as well.
      const history = History.fromJSON(JSON.parse(readFileSync(file, 'utf8')));
      runs.push({ rate, history });
      const last = history.logs(epochs - 1);
      log(`rate ${rate.toFixed(1)}: train accuracy ${fmt(last.accuracy)}, validation accuracy ${fmt(last.val_accuracy)} (read from ${file})`);
      continue;
    }
    const rng = new Rng(seed);
    const model = new Sequential([
      new LayerNorm(784),
      new Dropout(rate, { rng }),
      new Dense(784, 100, { rng, activation: 'tanh' }),
      new Dense(100, 10, { rng }), new Softmax(),
    ]);
    const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
    const history = await fit(model, { train, validationData: test, epochs, batchSize: 128, optimizer, seed });
    runs.push({ rate, history });
    if (file !== null) {
      mkdirSync(runsDir!, { recursive: true });
      writeFileSync(file, JSON.stringify(history));
    }
    const last = history.last()!;
    log(`rate ${rate.toFixed(1)}: train accuracy ${fmt(last.accuracy)}, validation accuracy ${fmt(last.val_accuracy)}`);
  }

  const spec = sweepSpec(runs, 'dropout');
  await writeFigure(figures, 'mnist-dropout-train.svg', panel(spec, 0, 'MNIST: training accuracy per epoch, by dropout rate'), log);
  await writeFigure(figures, 'mnist-dropout-validation.svg', panel(spec, 1, 'MNIST: validation accuracy per epoch, by dropout rate'), log);
  return runs;
}

runIfMain(import.meta.url, main);
