/**
 * The learning-rate range test on a model and its data, trained the way `fit` trains: optim's
 * `findLearningRate` owns the sweep (the rates, the smoothing, the stop rule, the restore, the
 * suggestions) and is handed `trainStep` as its step, so the loss is computed in the one place training
 * computes it. The data and the loss are checked as `fit` checks them, before the first step.
 */
import { DataLoader, type Dataset } from '../data/index.js';
import { findLearningRate, type FindLearningRateOptions, type LrFinderResult } from '../optim/index.js';
import { arraysToDataset, checkData, type ArrayData } from './data.js';
import { resolveLoss, type LossFunction, type LossName } from './losses.js';
import { trainStep } from './step.js';
import type { Model } from './types.js';

export interface RangeTestOptions extends Omit<FindLearningRateOptions, 'model'> {
  /** The data: `{ x, y }` or a Dataset, batched and shuffled as `fit` does. */
  data: ArrayData | Dataset;
  loss?: LossName | LossFunction;
  batchSize?: number;
  /** The loader's seed (default 1). */
  seed?: number;
  augment?: boolean;
}

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
