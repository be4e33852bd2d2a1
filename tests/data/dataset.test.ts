import { describe, expect, it } from 'vitest';
import { Rng, ShapeError } from '../../engine/index.js';
import { classCounts, createDataset, DataLoader, DATASET_NAMES, loadDataset, splitValidation } from '../../data/index.js';

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

  it('holds float targets instead of labels: checked, subset, taken, split at random, batched', () => {
    // sample i = [i], target i = [2i, -i]
    const n = 20;
    const x = Float32Array.from({ length: n }, (_, i) => i);
    const targets = Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? k : -(k - 1) / 2));
    const ds = createDataset({ name: 'reg', x, featureShape: [1], targets, targetShape: [2] });
    expect(ds.count).toBe(n);
    expect(ds.classes).toBe(0);
    expect(ds.labels).toHaveLength(0);
    expect(Array.from(ds.subset([3, 1]).targets!)).toEqual([6, -3, 2, -1]);
    expect(Array.from(ds.take(2).targets!)).toEqual([0, -0, 2, -1]);
    const { train, validation } = splitValidation(ds, 0.25, new Rng(2));
    expect(validation.count).toBe(5);
    expect(train.count).toBe(15);
    // Each sample keeps its own target, and the parts keep the original order.
    for (const part of [train, validation]) {
      for (let i = 0; i < part.count; i++) expect([part.targets![2 * i], part.targets![2 * i + 1]]).toEqual([2 * part.x[i], -part.x[i]]);
      for (let i = 1; i < part.count; i++) expect(part.x[i]).toBeGreaterThan(part.x[i - 1]);
    }
    expect(Array.from(splitValidation(ds, 0.25, new Rng(2)).validation.x)).toEqual(Array.from(validation.x));

    const shapes: (readonly number[])[] = [];
    for (const b of new DataLoader(ds, { batchSize: 8, seed: 3 }).epochBatches(0)) {
      shapes.push(b.targets!.shape);
      expect(b.y).toHaveLength(0);
      for (let r = 0; r < b.size; r++) expect(b.targets!.data[2 * r]).toBe(2 * b.x.data[r]);
    }
    expect(shapes).toEqual([[8, 2], [8, 2], [4, 2]]);
    expect(() => createDataset({ name: 'odd', x, featureShape: [1], targets: new Float32Array(7), targetShape: [2] })).toThrow(/7 target values do not make whole rows/);
    expect(() => createDataset({ name: 'both', x, featureShape: [1], targets, targetShape: [2], labels: new Int32Array(n), classNames: ['a'] })).toThrow(/not both/);
    expect(() => createDataset({ name: 'none', x, featureShape: [1] })).toThrow(/got neither/);
  });

  it('loadDataset names the valid data sets when given an unknown one', () => {
    expect(DATASET_NAMES).toEqual(['mnist', 'fashion-mnist', 'iris']);
    expect(() => loadDataset('cifar10')).toThrow('loadDataset: unknown data set "cifar10"; expected one of mnist, fashion-mnist, iris');
  });
});
