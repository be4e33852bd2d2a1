/**
 * Reference article 003's optimizer zoo, and the two the field has added since (Lion, Muon), on MNIST:
 * the same 784-300-100-10 ReLU net (the same initial weights) trained with each optimizer at the rate
 * the learning-rate finder suggests for it, annealed to 0 by cosine over the run (the command line's
 * default schedule), batches of 128, 5,000 training images held out for validation. One figure holds
 * every optimizer's training loss and validation accuracy per epoch; the table, each one's rate, test
 * accuracy and training time.
 *
 * The finder (optim/lrFinder.ts via train's rangeTest) sweeps each optimizer's rate geometrically
 * over 100 batches from 1e-6 to 10 and suggests half the rate where the smoothed loss turns up (the
 * rule of reference article 002). Everything is built by the recipe (train/recipe.ts), as the command
 * line builds it: `--optimizer NAME --lr RATE` reproduces any row.
 *
 *   npx tsx examples/mnist-optimizer-zoo.ts [--quick] [--epochs 8] [--only sgd,adam] [--figures DIR]
 */
import { Rng, setThreads } from '../engine/index.js';
import { loadMnist, splitValidation } from '../data/index.js';
import {
  RECIPE_DEFAULTS, buildModel, buildOptimizer, buildSchedule, checkRecipe, evaluate, fit, parseScheduleSpec, rangeTest, seeds,
  type OptimizerName, type Recipe, type VegaLiteSpec, type History,
} from '../train/index.js';
import { fmt, parseArgs, runIfMain, writeFigure, type Log } from './common.js';

/** The runs: article 003's list (SGD, momentum, NAG, Adagrad, Adadelta, RMSprop, Adam, AdaMax, Nadam, AMSGrad, AdaBound, AdamW, RAdam, Lookahead), then Lion and Muon. */
const RUNS: Array<{ name: string; flags: string; recipe: Partial<Recipe> }> = [
  { name: 'SGD', flags: 'sgd --momentum 0', recipe: { optimizer: 'sgd', momentum: 0 } },
  { name: 'Momentum', flags: 'sgd', recipe: { optimizer: 'sgd', momentum: 0.9 } },
  { name: 'NAG', flags: 'sgd --nesterov', recipe: { optimizer: 'sgd', momentum: 0.9, nesterov: true } },
  { name: 'Adagrad', flags: 'adagrad', recipe: { optimizer: 'adagrad' } },
  { name: 'Adadelta', flags: 'adadelta', recipe: { optimizer: 'adadelta' } },
  { name: 'RMSprop', flags: 'rmsprop', recipe: { optimizer: 'rmsprop' } },
  { name: 'Adam', flags: 'adam', recipe: { optimizer: 'adam' } },
  { name: 'AdaMax', flags: 'adamax', recipe: { optimizer: 'adamax' } },
  { name: 'Nadam', flags: 'nadam', recipe: { optimizer: 'nadam' } },
  { name: 'AdamW', flags: 'adamw', recipe: { optimizer: 'adamw' } },
  { name: 'RAdam', flags: 'radam', recipe: { optimizer: 'radam' } },
  { name: 'AdaBound', flags: 'adabound', recipe: { optimizer: 'adabound' } },
  { name: 'Lookahead(Adam)', flags: 'adam --lookahead 5', recipe: { optimizer: 'adam', lookahead: 5 } },
  { name: 'Lion', flags: 'lion', recipe: { optimizer: 'lion' } },
  { name: 'Muon', flags: 'muon', recipe: { optimizer: 'muon' } },
];

export interface ZooRow {
  name: string;
  optimizer: OptimizerName;
  lr: number;
  testAccuracy: number;
  seconds: number;
  history: History;
}

export async function main(args: string[], log: Log = console.log): Promise<ZooRow[]> {
  const { quick, seed, figures, flags } = parseArgs(args);
  const epochs = Number(flags.get('epochs') ?? (quick ? 1 : 8));
  const batchSize = 128;
  const only = flags.get('only')?.split(',');
  if (flags.has('threads')) setThreads(Number(flags.get('threads')));
  const runs = RUNS.filter((r) => only === undefined || only.includes(r.name.toLowerCase()) || only.includes(r.recipe.optimizer!));
  const data = loadMnist(quick ? { trainSize: 1500, testSize: 300 } : {});
  const { train, validation } = splitValidation(data.train, quick ? 0.2 : 5000 / 60000, new Rng(seeds.split(seed)));
  log(`mnist: ${train.count} train, ${validation.count} validation, ${data.test.count} test; 784-300-100-10, batch ${batchSize}, ${epochs} epochs, cosine to 0`);

  const rows: ZooRow[] = [];
  for (const run of runs) {
    const base: Recipe = { ...RECIPE_DEFAULTS, ...run.recipe, epochs, seed, schedule: parseScheduleSpec('cosine') } as Recipe;
    // The rate: the finder's suggestion for this optimizer, from the same initial weights.
    const probe = buildModel(base, 784, 10);
    const range = rangeTest(probe, {
      data: train, optimizer: buildOptimizer({ ...base, lr: 1e-6 }, probe), batchSize, seed, start: 1e-6, end: 10, steps: quick ? 30 : 100,
    });
    const recipe = checkRecipe({ ...base, lr: Number(range.suggested.toPrecision(2)) });
    const model = buildModel(recipe, 784, 10);
    const optimizer = buildOptimizer(recipe, model);
    const t0 = performance.now();
    const history = await fit(model, {
      train, validationData: validation, epochs, batchSize, optimizer, seed: seeds.loader(seed),
      schedule: ({ stepsPerEpoch }) => buildSchedule(recipe, optimizer, stepsPerEpoch),
    });
    const seconds = (performance.now() - t0) / 1000;
    const head = `${run.name.padEnd(16)} lr ${recipe.lr.toExponential(1).padStart(7)}`;
    if (history.diverged) {
      // TerminateOnNaN stopped it (train/callbacks.ts): the finder's rate was too high for this optimizer.
      rows.push({ name: run.name, optimizer: recipe.optimizer, lr: recipe.lr, testAccuracy: NaN, seconds, history });
      log(`${head}  diverged: ${history.stopReason}`);
      continue;
    }
    const { accuracy } = evaluate(model, data.test);
    const last = history.last()!;
    rows.push({ name: run.name, optimizer: recipe.optimizer, lr: recipe.lr, testAccuracy: accuracy, seconds, history });
    log(`${head}  loss ${fmt(last.loss)}  val_accuracy ${fmt(last.val_accuracy)}  test accuracy ${fmt(accuracy)}  ${seconds.toFixed(1)} s`);
  }

  const table = [
    '| optimizer | `--optimizer` | rate (finder) | test accuracy | training time |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const accuracy = Number.isNaN(r.testAccuracy) ? `diverged (epoch ${r.history.length + 1})` : fmt(r.testAccuracy);
      return `| ${r.name} | ${RUNS.find((x) => x.name === r.name)!.flags} | ${r.lr.toExponential(1)} | ${accuracy} | ${r.seconds.toFixed(0)} s |`;
    }),
  ];
  for (const line of table) log(line);
  await writeFigure(figures, 'mnist-optimizer-zoo.svg', zooSpec(rows), log);
  return rows;
}

/** Training loss (log scale) and validation accuracy per epoch, one line per optimizer. */
function zooSpec(rows: readonly ZooRow[]): VegaLiteSpec {
  const values = rows.flatMap((r) =>
    r.history.epoch.map((e, i) => ({ epoch: e + 1, optimizer: r.name, loss: r.history.history.loss[i], val_accuracy: r.history.history.val_accuracy[i] })),
  );
  const panel = (field: string, title: string, log: boolean) => ({
    title,
    width: 320,
    height: 260,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' } },
      y: { field, type: 'quantitative', title, scale: log ? { type: 'log' } : { zero: false }, axis: { format: log ? '.2' : '.3f' } },
      color: { field: 'optimizer', type: 'nominal', sort: rows.map((r) => r.name), scale: { scheme: 'tableau20' } },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'MNIST 784-300-100-10: the optimizer zoo at the finder\'s rates',
    data: { values },
    hconcat: [panel('loss', 'training loss', true), panel('val_accuracy', 'validation accuracy', false)],
  } as VegaLiteSpec;
}

runIfMain(import.meta.url, main);
