/**
 * Shared by the two Iris dropout examples: stratified k-fold cross-validation of a Keras-style model
 * trained with SGD, as in reference article 000 (scikit-learn's `cross_val_score` over a `KerasClassifier`).
 *
 * One difference from the article, on purpose: the features are standardized with each fold's training
 * part (the article feeds raw centimetres). The network is tiny and ReLU; on raw features some folds can
 * start with dead units and the spread between folds mostly measures that.
 */
import { Rng } from '../engine/index.js';
import { applyStandardizer, fitStandardizer, kFold, loadIris } from '../data/index.js';
import type { Sequential } from '../layers/index.js';
import { SGD } from '../optim/index.js';
import { evaluate, fit } from '../train/index.js';
import { fmt, meanStd, type Log } from './common.js';

export interface CvOptions {
  folds: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  seed: number;
  log: Log;
}

/** Trains a fresh model on each fold and prints each fold's test accuracy, then `accuracy: mean ± std`. */
export async function crossValidate(build: (rng: Rng) => Sequential, o: CvOptions): Promise<{ mean: number; std: number; accuracies: number[] }> {
  const iris = loadIris({ standardize: false });
  const accuracies: number[] = [];
  for (const fold of kFold(iris, o.folds, { seed: o.seed })) {
    const s = fitStandardizer(fold.train);
    const train = applyStandardizer(fold.train, s);
    const test = applyStandardizer(fold.test, s);
    const model = build(new Rng(o.seed * 1000 + fold.index));
    const optimizer = new SGD(model.parameters(), { lr: o.lr, momentum: o.momentum });
    await fit(model, { train, epochs: o.epochs, batchSize: o.batchSize, optimizer, seed: o.seed * 1000 + fold.index });
    const { accuracy } = evaluate(model, test);
    accuracies.push(accuracy);
    o.log(`fold ${String(fold.index + 1).padStart(2)}/${o.folds}: ${test.count} flowers, accuracy ${fmt(accuracy)}`);
  }
  const { mean, std } = meanStd(accuracies);
  o.log(`accuracy: ${fmt(mean)} ± ${fmt(std)}`);
  return { mean, std, accuracies };
}
