/**
 * The learning-rate range test on a model and its data, trained the way `fit` trains: optim's
 * `findLearningRate` owns the sweep (the rates, the smoothing, the stop rule, the restore, the
 * suggestions) and is handed `trainStep` as its step, so the loss is computed in the one place training
 * computes it. The data and the loss are checked as `fit` checks them, before the first step.
 */
import { DataLoader, type Dataset, type LoaderOptions } from '../data/index.js';
import { findLearningRate, type FindLearningRateOptions, type LrFinderResult } from '../optim/index.js';
import { arraysToDataset, checkData, type ArrayData } from './data.js';
import { resolveLoss, type LossFunction, type LossName } from './losses.js';
import { trainStep } from './step.js';
import type { Model } from './types.js';

/** Options of `rangeTest`: `findLearningRate`'s, plus the data and how to batch it. */
export interface RangeTestOptions extends Omit<FindLearningRateOptions, 'model'> {
  /** The data: `{ x, y }` or a Dataset, batched and shuffled as `fit` does. */
  data: ArrayData | Dataset;
  /** 'crossEntropy' (default), 'mse', 'binaryCrossEntropy', or (pred, target) => scalar Tensor, as `fit` takes it. */
  loss?: LossName | LossFunction;
  /** Samples per step (default 32); the finder goes on into the next epoch when it runs past one. */
  batchSize?: number;
  /** The loader's seed (default 1). */
  seed?: number;
  /** Augmentation of image data, as `fit`'s `augment` (default false). */
  augment?: LoaderOptions['augment'];
}

/**
 * The learning-rate range test (`findLearningRate`) on `model` and `options.data`, each step a
 * training step as `fit` takes it. The weights and the optimizer are put back afterwards.
 *
 * @example
 * ```ts
 * import { Sequential, Dense, ReLU, SGD, rangeTest, Rng } from 'tapegrad';
 *
 * const rng = new Rng(3);
 * const x: number[][] = [];
 * const y: number[] = [];
 * for (let i = 0; i < 256; i++) {
 *   const [a, b] = [rng.uniform() * 2 - 1, rng.uniform() * 2 - 1];
 *   x.push([a, b]);
 *   y.push(a + b > 0 ? 1 : 0);
 * }
 * const model = new Sequential([new Dense(2, 8, { rng }), new ReLU(), new Dense(8, 2, { rng })]);
 * const optimizer = new SGD(model.parameters(), { lr: 0.1 });
 * const before = model.parameters()[0].data.slice();
 * const result = rangeTest(model, { data: { x, y }, optimizer, start: 1e-3, end: 100, steps: 100, batchSize: 16 });
 * console.log(result.rates[0]); // => 0.001
 * console.log(result.suggested > 0.01 && result.suggested < 10); // => true
 * console.log(model.parameters()[0].data.every((w, i) => w === before[i])); // => true
 * ```
 */
export function rangeTest(model: Model, options: RangeTestOptions): LrFinderResult {
  const op = 'rangeTest';
  const loss = resolveLoss(options.loss, op);
  const ds = 'y' in options.data ? arraysToDataset(options.data as ArrayData, loss, op) : (options.data as Dataset);
  checkData(model, loss, [], ds, op, 'the data');
  const loader = new DataLoader(ds, { batchSize: options.batchSize ?? 32, seed: options.seed ?? 1, augment: options.augment ?? false });
  const setup = { model, optimizer: options.optimizer, loss, metrics: [] };
  model.train();
  // The finder cycles its batches: a sweep longer than an epoch goes on into the next one (a new order).
  return findLearningRate((batch) => trainStep(setup, batch).loss, loader, { ...options, model });
}
