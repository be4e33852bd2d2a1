/**
 * The batch loader: cuts a data set into mini-batches, shuffled differently every epoch, and turns each
 * batch of stored samples (bytes for images) into a float32 tensor `[B, features]`.
 *
 * Determinism and exact resume: nothing here keeps a running random stream. The order of epoch `e` is a
 * pure function of `(seed, e)`, the shifts of batch `b` of epoch `e` a pure function of `(seed, e, b)`, and
 * the per-sample augmentations (affine, elastic, flip: data/augment.ts) of sample `i` a pure function of
 * `(seed, e, i)`.
 * So the whole loader state is `{ seed, epoch, batch }` (`getState`/`setState`): a training loop that saves
 * it in a checkpoint and restores it gets the same batches, in the same order, with the same shifts, as a
 * run that never stopped — even when it stopped in the middle of an epoch.
 *
 * Memory: a batch's `x` (and `targets`) are owned by the loader (engine/memory.ts, rule 3): when it makes
 * the next batch, it gives the previous one's storage back, and the same block serves every batch, so an
 * epoch allocates nothing new. Reading an old batch's `x` then throws a `RecycledTensorError`; `clone()`
 * or `keep()` it to hold it longer (a kept batch is left alone). `y` is a fresh array each batch, yours.
 */
import { Rng, Tensor } from '../engine/index.js';
import { allocOwned, releaseOwned } from '../engine/memory.js';
import { Augmenter, checkAugment, hasPerSample, resolveAugment, type AugmentName, type AugmentOptions, type ResolvedAugment } from './augment.js';
import type { Dataset } from './dataset.js';
import { mixSeed } from './mixSeed.js';

/** One mini-batch, as `DataLoader` hands it out (its tensors are recycled when the loader makes the next batch). */
export interface Batch {
  /** `[size, features]` float32: the stored values × the data set's scale, augmented if asked. Recycled at the next batch. */
  x: Tensor;
  /** The `size` labels (a new array each batch). Empty for a data set of float targets. */
  y: Int32Array;
  /** `[size, ...targetShape]` float32 targets of a data set that has them; null for a labelled one. Recycled at the next batch. */
  targets: Tensor | null;
  /** Samples in this batch: `batchSize`, or fewer for the last batch of an epoch. */
  size: number;
  /** Which samples of the data set these are (a view into the epoch's order). */
  indices: Int32Array;
  /** The epoch this batch belongs to, from 0. */
  epoch: number;
  /** The batch's number within its epoch, from 0. */
  index: number;
}

/** Options of `DataLoader`. */
export interface LoaderOptions {
  /** Samples per batch (the last batch of an epoch may have fewer). */
  batchSize: number;
  /** Shuffle every epoch (default true); false keeps the data set's order (for evaluation). */
  shuffle?: boolean;
  /** Drop the last batch of an epoch when it is smaller than `batchSize` (default false: keep it). */
  dropLast?: boolean;
  /** The base seed of every shuffle and shift (default 1). */
  seed?: number;
  /** Instead of `seed`: draw the base seed from this generator (one 32-bit number, at construction). */
  rng?: Rng;
  /**
   * Augmentation of H×W images, drawn afresh every epoch (data/augment.ts): `true` shifts by up to 2
   * pixels; a list of names (`['shift', 'affine', 'elastic', 'flip']`) turns those on with their defaults;
   * options set each one (`{ affine: { degrees: 10 }, elastic: true }`, or the original `{ maxShift: 1 }`).
   * The per-sample ones run flip, affine, elastic in that order, then the shifts.
   */
  augment?: boolean | AugmentOptions | readonly AugmentName[];
}

/** Where a loader is: all `getState` saves and `setState` restores. */
export interface LoaderState {
  /** The base seed of the shuffles and shifts. */
  seed: number;
  /** The epoch being (or about to be) read, from 0. */
  epoch: number;
  /** How many batches of that epoch have been handed out. */
  batch: number;
}

/**
 * Cuts a data set into shuffled mini-batches of float32 tensors, the same ones for the same seed and
 * epoch (see the top of data/loader.ts), with optional random shifts of images. Runs anywhere.
 *
 * @example
 * ```ts
 * import { createDataset, DataLoader } from 'tapegrad';
 *
 * const ds = createDataset({
 *   name: 'bytes',
 *   x: new Uint8Array([0, 255, 51, 102, 204, 153, 255, 0, 0, 0]), // 5 samples of 2 bytes
 *   featureShape: [2],
 *   labels: new Int32Array([0, 1, 0, 1, 0]),
 *   classNames: ['a', 'b'],
 * });
 * const loader = new DataLoader(ds, { batchSize: 2, shuffle: false });
 * const sizes: number[] = [];
 * for (const batch of loader.epochBatches(0)) sizes.push(batch.size);
 * console.log(sizes); // => [2, 2, 1]
 * const first = loader.epochBatches(0).next().value!;
 * console.log(first.x.toArray()); // => [[0, 1], [0.2, 0.4]]
 * console.log(first.y); // => [0, 1]
 * const shuffled = new DataLoader(ds, { batchSize: 5, seed: 7 });
 * console.log(Array.from(shuffled.order(0)).sort()); // => [0, 1, 2, 3, 4]
 * ```
 */
export class DataLoader implements Iterable<Batch> {
  /** What it batches. */
  readonly dataset: Dataset;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Whether each epoch has its own order. */
  readonly shuffle: boolean;
  /** Whether an epoch's last, smaller batch is dropped. */
  readonly dropLast: boolean;
  /** Pixels of the largest shift; 0 when shifts are off. */
  readonly maxShift: number;
  /** The augmentations with their settings (data/augment.ts), defaults filled in. */
  readonly augment: ResolvedAugment;
  /** The base seed of every order and shift. */
  seed: number;
  /** The epoch being (or about to be) read. */
  epoch = 0;
  /** Batches of that epoch handed out so far. */
  batch = 0;

  /** The last batch's buffers, given back when the next batch is made. */
  private current: Float32Array[] = [];
  /** stored byte value -> float, so converting a pixel is one load (exactly `v × scale` in float32). */
  private readonly byteToFloat: Float32Array;
  private readonly scratch: Float32Array;
  private readonly augmenter: Augmenter | null;
  private orderEpoch = -1;
  private orderCache: Int32Array = new Int32Array(0);

  constructor(dataset: Dataset, opts: LoaderOptions) {
    const B = opts.batchSize;
    if (!(Number.isInteger(B) && B > 0)) {
      throw new RangeError(`DataLoader(${dataset.name}): batchSize must be a positive integer, got ${B}`);
    }
    this.dataset = dataset;
    this.batchSize = B;
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? false;
    if (opts.seed !== undefined && !Number.isInteger(opts.seed)) {
      throw new RangeError(`DataLoader(${dataset.name}): seed must be an integer, got ${opts.seed}`);
    }
    this.seed = opts.rng ? opts.rng.nextUint32() : (opts.seed ?? 1) >>> 0;

    const where = `DataLoader(${dataset.name})`;
    this.augment = resolveAugment(opts.augment, where);
    checkAugment(this.augment, dataset, where);
    this.maxShift = this.augment.shift?.maxShift ?? 0;
    this.augmenter = hasPerSample(this.augment) ? new Augmenter(this.augment, dataset) : null;

    this.byteToFloat = new Float32Array(256);
    for (let v = 0; v < 256; v++) this.byteToFloat[v] = v * dataset.scale;
    this.scratch = new Float32Array(this.maxShift > 0 ? dataset.features : 0);
  }

  /** Batches in one epoch (the last, partial one included unless `dropLast`). */
  get batchesPerEpoch(): number {
    const n = this.dataset.count;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of `epoch`: a pure function of (seed, epoch). Do not modify the array. */
  order(epoch: number): Int32Array {
    if (epoch === this.orderEpoch) return this.orderCache;
    const n = this.dataset.count;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.shuffle) new Rng(mixSeed(this.seed, epoch, SHUFFLE_STREAM)).shuffle(order);
    this.orderEpoch = epoch;
    this.orderCache = order;
    return order;
  }

  /**
   * The batches of one epoch, from `startBatch` on. Updates `epoch`/`batch` as it goes, so `getState()`
   * after a batch has been used says where to resume; after the last batch it moves to the next epoch.
   */
  *epochBatches(epoch: number = this.epoch, startBatch = 0): Generator<Batch, void, undefined> {
    if (!(Number.isInteger(epoch) && epoch >= 0 && Number.isInteger(startBatch) && startBatch >= 0)) {
      throw new RangeError(`DataLoader(${this.dataset.name}): epoch and batch must be non-negative integers, got ${epoch}, ${startBatch}`);
    }
    const order = this.order(epoch);
    const total = this.batchesPerEpoch;
    this.epoch = epoch;
    this.batch = startBatch;
    for (let b = startBatch; b < total; b++) {
      const start = b * this.batchSize;
      const size = Math.min(this.batchSize, order.length - start);
      const indices = order.subarray(start, start + size);
      const ds = this.dataset;
      for (const prev of this.current) releaseOwned(prev, 'loader');
      // In the engine's memory, so the WebAssembly kernels and the pool read batches in place; overwritten whole.
      const x = allocOwned(size * ds.features, false);
      const targets = ds.targets === null ? null : allocOwned(size * targetWidth(ds), false);
      this.current = targets === null ? [x] : [x, targets];
      const y = new Int32Array(ds.targets === null ? size : 0);
      this.fill(x, y, targets, indices);
      this.augmenter?.apply(x, indices, size, this.seed, epoch);
      if (this.maxShift > 0) {
        const rng = new Rng(mixSeed(this.seed, epoch, b, AUGMENT_STREAM));
        const [H, W] = ds.featureShape;
        shiftImages(x, this.scratch, size, H, W, this.maxShift, rng);
      }
      this.batch = b + 1;
      yield {
        x: Tensor.from(x, { shape: [size, ds.features] }),
        y,
        targets: targets === null ? null : Tensor.from(targets, { shape: [size, ...ds.targetShape] }),
        size,
        indices,
        epoch,
        index: b,
      };
    }
    this.epoch = epoch + 1;
    this.batch = 0;
  }

  /** Continues from the current state: the rest of the current epoch. */
  [Symbol.iterator](): Iterator<Batch> {
    return this.epochBatches(this.epoch, this.batch);
  }

  /** Where the loader is: save it in a checkpoint to resume mid-epoch with the same batches. */
  getState(): LoaderState {
    return { seed: this.seed, epoch: this.epoch, batch: this.batch };
  }

  /** Resumes from a `getState()`; a RangeError for a state that does not fit this loader. */
  setState(state: LoaderState): void {
    const ok = [state.seed, state.epoch, state.batch].every((v) => Number.isInteger(v) && v >= 0);
    if (!ok || state.batch > this.batchesPerEpoch) {
      throw new RangeError(`DataLoader(${this.dataset.name}).setState: expected {seed, epoch, batch} of non-negative integers, got ${JSON.stringify(state)}`);
    }
    this.seed = state.seed >>> 0;
    this.epoch = state.epoch;
    this.batch = state.batch;
    this.orderEpoch = -1;
  }

  /** Copies the samples `indices` into a batch's buffers, converting to float32. out is [size, F]. */
  private fill(out: Float32Array, labels: Int32Array, targets: Float32Array | null, indices: Int32Array): void {
    const ds = this.dataset;
    const F = ds.features;
    const x = ds.x;
    const lut = this.byteToFloat;
    const s = ds.scale;
    for (let r = 0; r < indices.length; r++) {
      const src = indices[r] * F;
      const dst = r * F;
      if (x instanceof Uint8Array) {
        // Bytes: one table load a pixel.
        for (let j = 0; j < F; j++) out[dst + j] = lut[x[src + j]];
      } else if (s === 1) {
        // Floats already on their scale (Iris): a straight copy.
        out.set(x.subarray(src, src + F), dst);
      } else {
        for (let j = 0; j < F; j++) out[dst + j] = x[src + j] * s;
      }
      if (ds.targets === null) labels[r] = ds.labels[indices[r]];
    }
    if (ds.targets !== null && targets !== null) {
      const T = targetWidth(ds);
      for (let r = 0; r < indices.length; r++) {
        const src = indices[r] * T;
        targets.set(ds.targets.subarray(src, src + T), r * T);
      }
    }
  }
}

/** Values per target row: 0 for a labelled data set. */
function targetWidth(ds: Dataset): number {
  return ds.targets === null ? 0 : ds.targetShape.reduce((a, b) => a * b, 1);
}

/** Separate streams for the order and the shifts, so turning augmentation on does not change the order. */
const SHUFFLE_STREAM = 0x5348;
const AUGMENT_STREAM = 0x4155;

/**
 * Shifts one H×W image by (dx, dy) pixels: positive dx moves the content right, positive dy down; pixels
 * that come in from outside are 0 (the background of MNIST-like data).
 *   out[outOff + r*W + c] = inp[inOff + (r-dy)*W + (c-dx)], or 0 outside the image
 */
export function shiftImage(
  out: Float32Array,
  outOff: number,
  inp: Float32Array,
  inOff: number,
  H: number,
  W: number,
  dx: number,
  dy: number,
): void {
  for (let r = 0; r < H; r++) {
    const srcRow = r - dy;
    const outRow = outOff + r * W;
    if (srcRow < 0 || srcRow >= H) {
      out.fill(0, outRow, outRow + W);
      continue;
    }
    const inRow = inOff + srcRow * W;
    for (let c = 0; c < W; c++) {
      const srcCol = c - dx;
      out[outRow + c] = srcCol >= 0 && srcCol < W ? inp[inRow + srcCol] : 0;
    }
  }
}

/**
 * Shifts each of the first `B` images of `x` ([B, H*W]) in place by its own random (dx, dy), each uniform
 * in [-maxShift, maxShift] (dx drawn first). `scratch` holds one image.
 */
export function shiftImages(x: Float32Array, scratch: Float32Array, B: number, H: number, W: number, maxShift: number, rng: Rng): void {
  const HW = H * W;
  const span = 2 * maxShift + 1;
  for (let b = 0; b < B; b++) {
    const dx = rng.int(span) - maxShift;
    const dy = rng.int(span) - maxShift;
    if (dx === 0 && dy === 0) continue;
    shiftImage(scratch, 0, x, b * HW, H, W, dx, dy);
    x.set(scratch, b * HW);
  }
}
