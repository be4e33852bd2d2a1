/**
 * From a checked TrainConfig to what `fit` wants. The model, the optimizer and the schedule come from
 * the recipe (train/recipe.ts), which a page builds from too; what is the command line's own is here:
 * loading the data (Node), and the checks that need it (--val-split, --augment, --batch-norm), as
 * UsageErrors naming the flag.
 */
import { Rng } from '../engine/index.js';
import { loadDataset, splitValidation, type Dataset } from '../data/index.js';
import { RecipeError, buildSchedule, seeds, type RunSchedule } from '../train/index.js';
import type { Optimizer } from '../optim/index.js';
import { UsageError, type TrainConfig } from './options.js';

export { buildModel, buildOptimizer, cyclesOf, seeds, spansRun } from '../train/index.js';

export interface RunData {
  train: Dataset;
  validation: Dataset | undefined;
  test: Dataset;
}

/**
 * The data of a run, with the checks that need it: `--val-split` must leave training data, and
 * `--augment` needs images (and flip, data whose classes survive a mirror).
 */
export function loadRunData(config: TrainConfig): RunData {
  const { train: full, test } = loadDataset(config.dataset, {
    trainSize: config.trainSize ?? undefined,
    testSize: config.testSize ?? undefined,
    // Iris has no official split: its stratified 120/30 split follows --seed (eval reuses the saved seed).
    seed: config.dataset === 'iris' ? config.seed : undefined,
  });
  if (config.augment.length > 0) {
    const list = config.augment.join(',');
    if (full.featureShape.length !== 2) {
      throw new UsageError(`--augment ${list}: augments images, and ${config.dataset}'s samples are ${full.featureShape.join('×')} features, not images`);
    }
    if (config.augment.includes('flip') && full.mirrorable !== true) {
      throw new UsageError(
        `--augment ${list}: flip mirrors images left to right, which changes what ${config.dataset} shows (a mirrored 2, 3, 4, 5 or 7 is not a digit); ` +
          'flip is for data whose classes survive a mirror, such as fashion-mnist',
      );
    }
  }
  if (config.valSplit === 0) {
    checkBatchNorm(config, full.count);
    return { train: full, validation: undefined, test };
  }
  const { train, validation } = splitValidation(full, config.valSplit, new Rng(seeds.split(config.seed)));
  if (train.count === 0) {
    throw new UsageError(`--val-split ${config.valSplit}: holds out ${validation.count} of the ${full.count} training samples of ${config.dataset}, leaving none to train on`);
  }
  checkBatchNorm(config, train.count);
  return { train, validation: validation.count > 0 ? validation : undefined, test };
}

/**
 * BatchNorm normalizes by the batch's own variance in training, which one sample does not have
 * (PyTorch refuses it too: "Expected more than 1 value per channel"). A batch of one comes from
 * --batch-size 1, or as the last of each epoch when the training samples are one more than a multiple
 * of the batch size: found here, before training, rather than as a crash at the end of epoch 1.
 */
function checkBatchNorm(config: TrainConfig, count: number): void {
  if (!config.batchNorm) return;
  if (config.batchSize === 1) throw new UsageError('--batch-norm needs batches of at least 2 samples (--batch-size 1): BatchNorm normalizes by the batch\'s variance');
  const b = config.batchSize;
  if (count % b === 1) {
    const near = [b + 1, b - 1, b + 2, b - 2, b + 3].find((c) => c >= 2 && count % c !== 1);
    throw new UsageError(
      `--batch-size ${b}: with --batch-norm, the last batch of each epoch would hold 1 of the ${count} training samples, and BatchNorm needs at least 2; choose another --batch-size${near ? ` (e.g. ${near})` : ''}`,
    );
  }
}

/** The recipe's schedule (train/recipe.ts buildSchedule); a parameter it cannot take is a UsageError naming --schedule. */
export function buildRunSchedule(config: TrainConfig, optimizer: Optimizer, stepsPerEpoch: number): RunSchedule | undefined {
  try {
    return buildSchedule(config, optimizer, stepsPerEpoch, '--schedule');
  } catch (e) {
    if (e instanceof RecipeError) throw new UsageError(e.message);
    throw e;
  }
}
