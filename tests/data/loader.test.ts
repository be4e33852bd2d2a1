import { describe, expect, it } from 'vitest';
import { RecycledTensorError, Rng, ShapeError, keep, setPoisonOnRelease } from '../../engine/index.js';
import { createDataset, DataLoader, shiftImage, shiftImages, type Batch, type Dataset } from '../../data/index.js';

/** n float samples of 3 features, sample i = [i, -i, 0.5], label i % 4: a batch row names its sample. */
function numbered(n: number): Dataset {
  const x = new Float32Array(3 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set([i, -i, 0.5], 3 * i);
    labels[i] = i % 4;
  }
  return createDataset({ name: 'numbered', x, featureShape: [3], labels, classNames: ['a', 'b', 'c', 'd'] });
}

/** Drains an epoch, copying what each batch holds (batches are only valid until the next one). */
function drain(batches: Iterable<Batch>): { ids: number[]; sizes: number[]; labels: number[]; data: number[][] } {
  const ids: number[] = [];
  const sizes: number[] = [];
  const labels: number[] = [];
  const data: number[][] = [];
  for (const b of batches) {
    sizes.push(b.size);
    expect(b.x.shape).toEqual([b.size, b.x.shape[1]]);
    for (let r = 0; r < b.size; r++) ids.push(b.x.data[r * b.x.shape[1]]);
    labels.push(...b.y);
    data.push(Array.from(b.x.data));
  }
  return { ids, sizes, labels, data };
}

describe('DataLoader', () => {
  it('covers every sample exactly once per epoch, keeping the last partial batch', () => {
    const ds = numbered(103);
    const loader = new DataLoader(ds, { batchSize: 10, seed: 1 });
    expect(loader.batchesPerEpoch).toBe(11);
    for (let epoch = 0; epoch < 3; epoch++) {
      const { ids, sizes, labels } = drain(loader.epochBatches(epoch));
      expect(sizes).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
      expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
      expect(labels).toEqual(ids.map((i) => i % 4));
    }
  });

  it('drops the last partial batch when asked', () => {
    const loader = new DataLoader(numbered(103), { batchSize: 10, dropLast: true });
    const { ids, sizes } = drain(loader.epochBatches(0));
    expect(sizes).toEqual(new Array(10).fill(10));
    expect(new Set(ids).size).toBe(100);
  });

  it('shuffles differently each epoch, identically for the same seed, differently for another seed', () => {
    const ds = numbered(50);
    const a = new DataLoader(ds, { batchSize: 8, seed: 42 });
    const b = new DataLoader(ds, { batchSize: 8, seed: 42 });
    const c = new DataLoader(ds, { batchSize: 8, seed: 43 });
    const e0 = drain(a.epochBatches(0)).ids;
    const e1 = drain(a.epochBatches(1)).ids;
    expect(e0).not.toEqual(e1);
    expect(e0).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(drain(b.epochBatches(0)).ids).toEqual(e0);
    expect(drain(b.epochBatches(1)).ids).toEqual(e1);
    expect(drain(c.epochBatches(0)).ids).not.toEqual(e0);
    // Order is a pure function of (seed, epoch): asking for epoch 0 again gives epoch 0's order.
    expect(drain(a.epochBatches(0)).ids).toEqual(e0);
  });

  it('takes its seed from an Rng when given one', () => {
    const ds = numbered(20);
    const x = new DataLoader(ds, { batchSize: 5, rng: new Rng(9) });
    const y = new DataLoader(ds, { batchSize: 5, rng: new Rng(9) });
    expect(x.seed).toBe(y.seed);
    expect(drain(x.epochBatches(0)).ids).toEqual(drain(y.epochBatches(0)).ids);
  });

  it('keeps the order without shuffling (evaluation)', () => {
    const { ids } = drain(new DataLoader(numbered(7), { batchSize: 3, shuffle: false }));
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reuses its storage: every full batch in the same block, and an old batch says it was recycled', () => {
    setPoisonOnRelease(false); // reuse at once, as outside the tests
    const loader = new DataLoader(numbered(30), { batchSize: 10 });
    const offsets = new Set<number>();
    const batches: Batch[] = [];
    for (const b of loader.epochBatches(0)) {
      offsets.add(b.x.data.byteOffset);
      batches.push(b);
    }
    expect(offsets.size).toBe(1);
    // The first batch's block holds the third batch now: reading the first one throws instead of lying.
    expect(() => batches[0].x.toArray()).toThrow(RecycledTensorError);
    expect(() => batches[0].x.toArray()).toThrow(/DataLoader made the next batch.*clone\(\) it/);
    expect(batches[2].x.recycled).toBe(false);
    // A kept batch is left alone; y is a fresh array every batch.
    const it = loader.epochBatches(1);
    const kept = keep(it.next().value!.x);
    const first = Array.from(kept.data);
    const second = it.next().value!;
    expect(Array.from(kept.data)).toEqual(first);
    expect(second.x.data.byteOffset).not.toBe(kept.data.byteOffset);
    expect(batches[1].y).not.toBe(batches[2].y);
  });

  it('scales bytes by 1/255 exactly as float32 division would', () => {
    const x = Uint8Array.from({ length: 256 }, (_, v) => v);
    const ds = createDataset({ name: 'bytes', x, featureShape: [256], labels: new Int32Array(1), classNames: ['only'] });
    const b = new DataLoader(ds, { batchSize: 1 }).epochBatches(0).next().value!;
    for (let v = 0; v < 256; v++) expect(b.x.data[v]).toBe(Math.fround(v / 255));
  });

  it('resumes mid-epoch from getState() exactly, shifts included', () => {
    const ds = imageSet(40);
    const opts = { batchSize: 6, seed: 5, augment: true } as const;
    const straight = new DataLoader(ds, opts);
    const full = [...drain(straight.epochBatches(0)).data, ...drain(straight.epochBatches(1)).data];

    const first = new DataLoader(ds, opts);
    const head: number[][] = [];
    for (const b of first) {
      head.push(Array.from(b.x.data));
      if (head.length === 3) break;
    }
    const state = JSON.parse(JSON.stringify(first.getState()));
    expect(state).toEqual({ seed: 5, epoch: 0, batch: 3 });

    const resumed = new DataLoader(ds, { ...opts, seed: 999 });
    resumed.setState(state);
    const rest = drain(resumed).data; // the rest of epoch 0
    expect(resumed.getState()).toEqual({ seed: 5, epoch: 1, batch: 0 });
    const next = drain(resumed).data; // epoch 1
    expect([...head, ...rest, ...next]).toEqual(full);
  });

  it('rejects a bad batch size and augmentation of non-images', () => {
    expect(() => new DataLoader(numbered(5), { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => new DataLoader(numbered(5), { batchSize: 2, augment: true })).toThrow(ShapeError);
  });
});

/** n 28×28 images, each a 2×2 square of value 1 at a place that depends on i, away from the border. */
function imageSet(n: number): Dataset {
  const x = new Uint8Array(n * 784);
  for (let i = 0; i < n; i++) {
    const r = 5 + (i % 17);
    const c = 5 + ((i * 7) % 17);
    for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) x[i * 784 + (r + dr) * 28 + c + dc] = 255;
  }
  return createDataset({ name: 'squares', x, featureShape: [28, 28], labels: new Int32Array(n), classNames: ['square'] });
}

describe('shift augmentation', () => {
  it('shiftImage moves a known image: right/down for positive dx/dy, zeros coming in, pixels falling off', () => {
    // 3×4 image with values 1..12.
    const inp = Float32Array.from({ length: 12 }, (_, i) => i + 1);
    const out = new Float32Array(12);
    shiftImage(out, 0, inp, 0, 3, 4, 1, 0);
    expect(Array.from(out)).toEqual([0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11]);
    shiftImage(out, 0, inp, 0, 3, 4, -2, 1);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 3, 4, 0, 0, 7, 8, 0, 0]);
    shiftImage(out, 0, inp, 0, 3, 4, 0, 0);
    expect(Array.from(out)).toEqual(Array.from(inp));
  });

  it('shiftImages moves each image by at most maxShift, keeping its content (away from the border)', () => {
    const ds = imageSet(200);
    const x = new Float32Array(200 * 784);
    for (let i = 0; i < x.length; i++) x[i] = ds.x[i] / 255;
    const before = x.slice();
    shiftImages(x, new Float32Array(784), 200, 28, 28, 2, new Rng(3));
    const seenShifts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const [r0, c0] = topLeft(before, i);
      const [r1, c1] = topLeft(x, i);
      const dy = r1 - r0;
      const dx = c1 - c0;
      expect(Math.abs(dx)).toBeLessThanOrEqual(2);
      expect(Math.abs(dy)).toBeLessThanOrEqual(2);
      seenShifts.add(`${dx},${dy}`);
      let sum = 0;
      for (let p = 0; p < 784; p++) sum += x[i * 784 + p];
      expect(sum).toBe(4); // the whole 2×2 square survives
    }
    expect(seenShifts.size).toBe(25); // all 5×5 shifts occur
  });

  it('the loader applies shifts to the float batch without changing the order or the labels', () => {
    const ds = imageSet(30);
    const plain = drain(new DataLoader(ds, { batchSize: 8, seed: 2 }).epochBatches(0));
    const shifted = drain(new DataLoader(ds, { batchSize: 8, seed: 2, augment: { maxShift: 2 } }).epochBatches(0));
    expect(shifted.sizes).toEqual(plain.sizes);
    expect(shifted.data).not.toEqual(plain.data);
    // Each image still holds its square of four pixels of 1.0.
    for (const batch of shifted.data) {
      for (let r = 0; r < batch.length / 784; r++) {
        expect(batch.slice(r * 784, (r + 1) * 784).reduce((a, b) => a + b, 0)).toBe(4);
      }
    }
  });
});

function topLeft(x: Float32Array, image: number): [number, number] {
  for (let p = 0; p < 784; p++) if (x[image * 784 + p] > 0) return [Math.floor(p / 28), p % 28];
  return [-1, -1];
}
