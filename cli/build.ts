/**
 * From a checked TrainConfig to what `fit` wants. The model, the optimizer and the schedule come from
 * the recipe (train/recipe.ts), which a page builds from too; what is the command line's own is here:
 * loading the data (Node), and the checks that need it (--val-split, --augment, --batch-norm), as
 * UsageErrors naming the flag.
 */
import { Rng } from '../engine/index.js';
import { loadDataset, splitValidation, type Dataset } from '../data/index.js';
import { RecipeError, buildSchedule, checkBatches, seeds, type RunSchedule } from '../train/index.js';
import type { Optimizer } from '../optim/index.js';
import { UsageError, flagName, type TrainConfig } from './options.js';

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

/** The recipe's batch check (a batch of one under BatchNorm, train/recipe.ts checkBatches), as a UsageError naming the flags. */
function checkBatchNorm(config: TrainConfig, count: number): void {
  try {
    checkBatches(config, config.batchSize, count, flagName);
  } catch (e) {
    if (e instanceof RecipeError) throw new UsageError(e.message);
    throw e;
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
