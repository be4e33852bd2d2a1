import { describe, expect, it } from 'vitest';
import { classCounts, kFold, loadDataset, loadIris, IRIS_CLASS_NAMES } from '../../data/index.js';

describe('Iris', () => {
  it('has 150 samples, 4 features, 50 of each of 3 species, in the package order', () => {
    const raw = loadIris({ standardize: false });
    expect(raw.count).toBe(150);
    expect(raw.features).toBe(4);
    expect(raw.x).toBeInstanceOf(Float32Array);
    expect(raw.scale).toBe(1);
    expect(raw.classNames).toEqual(IRIS_CLASS_NAMES);
    expect(Array.from(classCounts(raw))).toEqual([50, 50, 50]);
    // The first flower of Fisher's table: 5.1, 3.5, 1.4, 0.2, setosa; the last: 5.9, 3.0, 5.1, 1.8, virginica.
    expect(Array.from(raw.x.subarray(0, 4))).toEqual([5.1, 3.5, 1.4, 0.2].map(Math.fround));
    expect(Array.from(raw.x.subarray(596, 600))).toEqual([5.9, 3.0, 5.1, 1.8].map(Math.fround));
    expect(raw.labels[0]).toBe(0);
    expect(raw.labels[149]).toBe(2);
  });

  it('standardizes every feature to mean 0 and (population) deviation 1', () => {
    const ds = loadIris();
    for (let f = 0; f < 4; f++) {
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < 150; i++) sum += ds.x[i * 4 + f];
      const mean = sum / 150;
      for (let i = 0; i < 150; i++) sq += (ds.x[i * 4 + f] - mean) ** 2;
      expect(Math.abs(mean)).toBeLessThan(1e-6);
      expect(Math.sqrt(sq / 150)).toBeCloseTo(1, 5);
    }
    // Sepal length: mean 5.8433, population std 0.8253 -> the first flower's 5.1 becomes about -0.9007.
    expect(ds.x[0]).toBeCloseTo(-0.9007, 3);
  });

  it('10-fold CV puts every sample in exactly one test fold, stratified 5/5/5', () => {
    const ds = loadIris();
    const folds = kFold(ds, 10, { seed: 7 });
    expect(folds.length).toBe(10);
    const timesTested = new Int32Array(150);
    for (const fold of folds) {
      expect(fold.testIndices.length).toBe(15);
      expect(fold.trainIndices.length).toBe(135);
      expect(Array.from(classCounts(fold.test))).toEqual([5, 5, 5]);
      const inTest = new Set(fold.testIndices);
      for (const i of fold.trainIndices) expect(inTest.has(i)).toBe(false);
      for (const i of fold.testIndices) timesTested[i]++;
      // The fold's data sets hold the rows they name.
      const i0 = fold.testIndices[0];
      expect(Array.from(fold.test.x.subarray(0, 4))).toEqual(Array.from(ds.x.subarray(i0 * 4, i0 * 4 + 4)));
      expect(fold.test.labels[0]).toBe(ds.labels[i0]);
    }
    expect(timesTested.every((t) => t === 1)).toBe(true);
  });

  it('k-fold is deterministic for a seed and differs between seeds; fold sizes differ by at most one', () => {
    const ds = loadIris();
    const a = kFold(ds, 7, { seed: 3 }).map((f) => Array.from(f.testIndices));
    const b = kFold(ds, 7, { seed: 3 }).map((f) => Array.from(f.testIndices));
    const c = kFold(ds, 7, { seed: 4 }).map((f) => Array.from(f.testIndices));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const sizes = a.map((t) => t.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(150);
    expect(() => kFold(ds, 1)).toThrow(/k must be an integer in \[2, 150\], got 1/);
  });

  it('k-fold can standardize each fold with its training part only', () => {
    const raw = loadIris({ standardize: false });
    const folds = kFold(raw, 5, { seed: 1, standardize: true });
    const plain = kFold(raw, 5, { seed: 1 });
    for (let f = 0; f < 5; f++) {
      const fold = folds[f];
      expect(Array.from(fold.testIndices)).toEqual(Array.from(plain[f].testIndices));
      for (let j = 0; j < 4; j++) {
        let sum = 0;
        for (let i = 0; i < fold.train.count; i++) sum += fold.train.x[i * 4 + j];
        expect(Math.abs(sum / fold.train.count)).toBeLessThan(1e-5);
      }
      // The test part uses the training statistics, so its mean is not exactly 0.
      let testSum = 0;
      for (let i = 0; i < fold.test.count; i++) testSum += fold.test.x[i * 4];
      expect(Math.abs(testSum / fold.test.count)).toBeGreaterThan(1e-4);
    }
  });

  it('loadDataset("iris") is a stratified 120/30 split standardized on the training part', () => {
    const { train, test } = loadDataset('iris');
    expect(train.count).toBe(120);
    expect(test.count).toBe(30);
    expect(Array.from(classCounts(test))).toEqual([10, 10, 10]);
    let mean = 0;
    for (let i = 0; i < 120; i++) mean += train.x[i * 4 + 2];
    expect(Math.abs(mean / 120)).toBeLessThan(1e-6);
    const again = loadDataset('iris');
    expect(Array.from(again.test.x)).toEqual(Array.from(test.x));
  });
});
