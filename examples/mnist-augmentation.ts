/**
 * Reference article 003's first remedy for overfitting, data augmentation, on MNIST: the command line's
 * default net (784-300-100-10, SGD lr 0.05 momentum 0.9, batches of 64, cosine to 0, 10% held out for
 * validation) trained with no augmentation, with shifts, with random affine maps and with elastic
 * distortion (`tapegrad train --augment NAME --epochs N`, built by the same recipe), and the test error
 * of each. Augmentation is drawn afresh for every image in every epoch, so it fights overfitting by
 * never showing the same image twice; it needs more epochs than a plain run to pay off.
 *
 *   npx tsx examples/mnist-augmentation.ts [--quick] [--epochs 20] [--only none,affine] [--threads N] [--figures DIR]
 */
import { Rng, setThreads } from '../engine/index.js';
import { loadMnist, splitValidation, type AugmentName } from '../data/index.js';
import {
  RECIPE_DEFAULTS, buildModel, buildOptimizer, buildSchedule, checkRecipe, evaluate, fit, seeds, type History, type Recipe, type VegaLiteSpec,
} from '../train/index.js';
import { fmt, parseArgs, runIfMain, writeFigure, type Log } from './common.js';

const RUNS: Array<{ name: string; augment: AugmentName[] }> = [
  { name: 'none', augment: [] },
  { name: 'shift', augment: ['shift'] },
  { name: 'affine', augment: ['affine'] },
  { name: 'elastic', augment: ['elastic'] },
];

export interface AugmentRow {
  name: string;
  testError: number;
  secondsPerEpoch: number;
  history: History;
}

export async function main(args: string[], log: Log = console.log): Promise<AugmentRow[]> {
  const { quick, seed, figures, flags } = parseArgs(args);
  const epochs = Number(flags.get('epochs') ?? (quick ? 1 : 20));
  const only = flags.get('only')?.split(',');
  if (flags.has('threads')) setThreads(Number(flags.get('threads')));
  const data = loadMnist(quick ? { trainSize: 1000, testSize: 300 } : {});
  // The command line's split and seeds (cli/build.ts loadRunData), so each row is `tapegrad train --augment NAME`.
  const { train, validation } = splitValidation(data.train, 0.1, new Rng(seeds.split(seed)));
  log(`mnist: ${train.count} train, ${validation.count} validation, ${data.test.count} test; 784-300-100-10, SGD lr 0.05 momentum 0.9, batch 64, ${epochs} epochs, cosine to 0`);

  const rows: AugmentRow[] = [];
  for (const run of RUNS.filter((r) => only === undefined || only.includes(r.name))) {
    const recipe: Recipe = checkRecipe({ ...RECIPE_DEFAULTS, epochs, seed, augment: run.augment } as Recipe);
    const model = buildModel(recipe, 784, 10);
    const optimizer = buildOptimizer(recipe, model);
    const history = await fit(model, {
      train, validationData: validation, epochs, batchSize: 64, optimizer, seed: seeds.loader(seed), augment: recipe.augment,
      schedule: ({ stepsPerEpoch }) => buildSchedule(recipe, optimizer, stepsPerEpoch),
    });
    const { accuracy } = evaluate(model, data.test);
    const seconds = history.history.seconds.reduce((a, b) => a + b, 0) / history.length;
    rows.push({ name: run.name, testError: 1 - accuracy, secondsPerEpoch: seconds, history });
    const last = history.last()!;
    log(`${run.name.padEnd(8)} train accuracy ${fmt(last.accuracy)}  val_accuracy ${fmt(last.val_accuracy)}  test error ${(100 * (1 - accuracy)).toFixed(2)}%  ${seconds.toFixed(1)} s/epoch`);
  }
  const base = rows.find((r) => r.name === 'none');
  const table = [
    '| `--augment` | test error | final train accuracy | seconds per epoch |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const time = base && r !== base ? ` (${r.secondsPerEpoch >= base.secondsPerEpoch ? '+' : ''}${(((r.secondsPerEpoch - base.secondsPerEpoch) / base.secondsPerEpoch) * 100).toFixed(0)}%)` : '';
      return `| ${r.name} | ${(100 * r.testError).toFixed(2)}% | ${fmt(r.history.last()!.accuracy)} | ${r.secondsPerEpoch.toFixed(1)}${time} |`;
    }),
  ];
  for (const line of table) log(line);
  await writeFigure(figures, 'mnist-augmentation.svg', curves(rows), log);
  return rows;
}

/** Training and validation accuracy per epoch, one colour per augmentation. */
function curves(rows: readonly AugmentRow[]): VegaLiteSpec {
  const values = rows.flatMap((r) =>
    r.history.epoch.flatMap((e, i) => [
      { epoch: e + 1, augment: r.name, split: 'train', accuracy: r.history.history.accuracy[i] },
      { epoch: e + 1, augment: r.name, split: 'validation', accuracy: r.history.history.val_accuracy[i] },
    ]),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'MNIST 784-300-100-10 with and without augmentation',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, axis: { format: '.3f' } },
      color: { field: 'augment', type: 'nominal', sort: rows.map((r) => r.name) },
      strokeDash: { field: 'split', type: 'nominal' },
    },
    width: 420,
    height: 280,
  } as VegaLiteSpec;
}

runIfMain(import.meta.url, main);
