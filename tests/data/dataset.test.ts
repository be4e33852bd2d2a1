import { describe, expect, it } from 'vitest';
import { Rng, ShapeError } from '../../engine/index.js';
import { classCounts, createDataset, DATASET_NAMES, loadDataset, splitValidation } from '../../data/index.js';

/** n samples of 2 bytes each, sample i = [i, 100 + i], label i % classes. */
function toy(n: number, classes = 3) {
  const x = new Uint8Array(2 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = i;
    x[2 * i + 1] = 100 + i;
    labels[i] = i % classes;
  }
  return createDataset({ name: 'toy', x, featureShape: [2], labels, classNames: Array.from({ length: classes }, (_, c) => `c${c}`) });
}

describe('Dataset', () => {
  it('checks that x, labels and classes agree', () => {
    expect(() => createDataset({ name: 'bad', x: new Uint8Array(5), featureShape: [2], labels: new Int32Array(3), classNames: ['a'] })).toThrow(
      ShapeError,
    );
    expect(() => createDataset({ name: 'bad', x: new Uint8Array(6), featureShape: [2], labels: Int32Array.from([0, 1, 2]), classNames: ['a', 'b'] })).toThrow(
      /label 2 of sample 2 is outside \[0, 2\)/,
    );
    const ds = toy(4);
    expect(ds.scale).toBeCloseTo(1 / 255, 12);
    expect(ds.features).toBe(2);
  });

  it('subset copies the chosen rows in order; take gives a prefix view', () => {
    const ds = toy(10);
    const sub = ds.subset([7, 2, 7]);
    expect(Array.from(sub.x)).toEqual([7, 107, 2, 102, 7, 107]);
    expect(Array.from(sub.labels)).toEqual([1, 2, 1]);
    expect(() => ds.subset([10])).toThrow(/index 10 .* outside \[0, 10\)/);
    const head = ds.take(3);
    expect(head.count).toBe(3);
    expect(head.x.buffer).toBe(ds.x.buffer);
    expect(ds.take(99)).toBe(ds);
  });

  it('splitValidation holds out exactly round(fraction*n), stratified, deterministic per seed, disjoint', () => {
    const ds = toy(100, 3); // classes of 34, 33, 33
    const a = splitValidation(ds, 0.1, new Rng(5));
    const b = splitValidation(ds, 0.1, new Rng(5));
    const c = splitValidation(ds, 0.1, new Rng(6));
    expect(a.validation.count).toBe(10);
    expect(a.train.count).toBe(90);
    // 3.4, 3.3, 3.3 -> 3, 3, 3 and one more for the largest remainder (class 0).
    expect(Array.from(classCounts(a.validation))).toEqual([4, 3, 3]);
    expect(Array.from(a.validation.x)).toEqual(Array.from(b.validation.x));
    expect(Array.from(a.validation.x)).not.toEqual(Array.from(c.validation.x));
    const ids = new Set<number>();
    for (const part of [a.train, a.validation]) for (let i = 0; i < part.count; i++) ids.add(part.x[2 * i]);
    expect(ids.size).toBe(100);
    expect(() => splitValidation(ds, 1, new Rng(1))).toThrow(RangeError);
    expect(splitValidation(ds, 0, new Rng(1)).validation.count).toBe(0);
  });

  it('loadDataset names the valid data sets when given an unknown one', () => {
    expect(DATASET_NAMES).toEqual(['mnist', 'fashion-mnist', 'iris']);
    expect(() => loadDataset('cifar10')).toThrow('loadDataset: unknown data set "cifar10"; expected one of mnist, fashion-mnist, iris');
  });
});
