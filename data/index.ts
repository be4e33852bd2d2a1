/**
 * Data: the IDX reader, MNIST, Fashion-MNIST, Iris, the common `Dataset` shape, validation and k-fold
 * splits, and the shuffling batch loader with its augmentations (shifts, affine maps, elastic distortion, mirror images).
 *
 *   const { train, test } = loadDataset('mnist');
 *   const { train: fit, validation } = splitValidation(train, 0.1, new Rng(1));
 *   const loader = new DataLoader(fit, { batchSize: 64, seed: 1, augment: true });
 *   for (const { x, y } of loader.epochBatches(epoch)) { ... }   // x: Tensor [64, 784], y: Int32Array
 *
 * In a page too: this entry imports nothing of Node. The parsers (`parseIdx`, `encodeIdx`,
 * `parseClothesJson`), `createDataset`, the splits (`splitValidation`, `kFold`, `fashionSplit`), the
 * standardizer, the `DataLoader` with its augmentation, and Iris (`loadIris`, `loadIrisSplit`,
 * `loadDataset('iris')`: its rows are JSON a bundler inlines) all run there. What reads files is Node
 * only, and asks for node:fs when it runs (data/node.ts): `loadMnist`, `mnistDir`, the Fashion-MNIST
 * loaders and cache, `readIdx`, `writeIdx`, `writeFileAtomic`, `removeStaleTemporaries`, `optionalPackages`; in a page each throws a
 * `NodeOnlyError` naming itself.
 */
import { loadFashionMnist } from './fashion.js';
import type { TrainTestSplit } from './dataset.js';
import { loadIrisSplit } from './iris.js';
import { loadMnist } from './mnist.js';

export { createDataset, splitValidation, classCounts, indicesByClass } from './dataset.js';
export type { Dataset, DatasetInit, TrainTestSplit } from './dataset.js';
export { readIdx, parseIdx, encodeIdx, writeIdx } from './idx.js';
export { writeFileAtomic, removeStaleTemporaries, WriteError, ReadError } from './files.js';
export type { IdxArray, IdxExpectation } from './idx.js';
export { loadMnist, mnistDir, MNIST_CLASS_NAMES } from './mnist.js';
export type { MnistOptions } from './mnist.js';
export {
  loadFashionMnist,
  loadFashionMnistAll,
  fashionSplit,
  fashionCacheFiles,
  parseClothesJson,
  FASHION_CLASS_NAMES,
  FASHION_SPLIT_SEED,
  FASHION_TEST_PER_CLASS,
} from './fashion.js';
export type { FashionOptions } from './fashion.js';
export {
  loadIris,
  loadIrisSplit,
  fitStandardizer,
  applyStandardizer,
  kFold,
  IRIS_CLASS_NAMES,
  IRIS_FEATURE_NAMES,
} from './iris.js';
export type { IrisOptions, Standardizer, Fold } from './iris.js';
export { MissingPackageError, optionalPackages } from './optional.js';
export { NodeOnlyError } from './nodeOnlyError.js';
export { DataLoader, shiftImage, shiftImages } from './loader.js';
export { mixSeed } from './mixSeed.js';
export { AUGMENT_NAMES, Augmenter, resolveAugment } from './augment.js';
export type { AugmentName, AugmentOptions, AffineOptions, ElasticOptions, ResolvedAugment } from './augment.js';
export type { Batch, LoaderOptions, LoaderState } from './loader.js';

/** The names `loadDataset` (and the command line's `--dataset`) take. */
export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'iris'] as const;
/** One of `DATASET_NAMES`. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Options of `loadDataset`. */
export interface LoadOptions {
  /** Keep only the first n training samples (`--quick`, tests). */
  trainSize?: number;
  /** Keep only the first n test samples. */
  testSize?: number;
  /** Iris only: the seed of its stratified 120/30 train/test split (default 1). */
  seed?: number;
  /** Fashion-MNIST only: use the binary cache (default true). */
  cache?: boolean;
}

/**
 * `{ train, test }` of a named data set (MNIST and Fashion-MNIST: Node only; Iris: anywhere). MNIST: the official 60,000/10,000. Fashion-MNIST: our
 * deterministic stratified 60,000/10,000 (see fashion.ts). Iris: a stratified 120/30 split, standardized
 * with the training part's statistics (see `loadIrisSplit`).
 */
export function loadDataset(name: string, opts: LoadOptions = {}): TrainTestSplit {
  switch (name as DatasetName) {
    case 'mnist':
      return loadMnist({ trainSize: opts.trainSize, testSize: opts.testSize });
    case 'fashion-mnist':
      return loadFashionMnist({ trainSize: opts.trainSize, testSize: opts.testSize, cache: opts.cache });
    case 'iris': {
      const { train, test } = loadIrisSplit({ seed: opts.seed });
      return {
        train: opts.trainSize === undefined ? train : train.take(opts.trainSize),
        test: opts.testSize === undefined ? test : test.take(opts.testSize),
      };
    }
    default:
      throw new RangeError(`loadDataset: unknown data set ${JSON.stringify(name)}; expected one of ${DATASET_NAMES.join(', ')}`);
  }
}
