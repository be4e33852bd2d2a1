/**
 * The one shape every data set takes: a flat block of samples (one row of `features` values per sample)
 * and what each sample should give: integer labels and the names of the classes (classification), or
 * rows of float targets (regression, binary cross-entropy). Images stay as bytes (`Uint8Array`, 1 byte a
 * pixel, so MNIST's 60,000 training images take 47 MB instead of 188 MB as float32); the loader turns one
 * batch at a time into float32 by multiplying with `scale`.
 */
import { ShapeError, type Rng } from '../engine/index.js';
import { inSharedMemory } from '../engine/memory.js';

/**
 * A data set: samples in one flat typed array, with labels (classification) or float targets
 * (regression). Make one with `createDataset`; the loaders return them too.
 */
export interface Dataset {
  /** 'mnist/train', 'fashion-mnist/test', 'iris', ... (appears in messages). */
  readonly name: string;
  /** Row-major samples: sample `i` is `x[i*features .. (i+1)*features)`. */
  readonly x: Uint8Array | Float32Array;
  /** The shape of one sample: `[28, 28]` for images, `[4]` for Iris. */
  readonly featureShape: readonly number[];
  /** The product of `featureShape`: the length of one row. */
  readonly features: number;
  /** One class id per sample, in [0, classes); empty for a set of float targets. */
  readonly labels: Int32Array;
  /** The number of samples. */
  readonly count: number;
  /** The number of classes; 0 for a set of float targets. */
  readonly classes: number;
  /** One name per class (`classNames[label]`); empty for a set of float targets. */
  readonly classNames: readonly string[];
  /** Float targets, row-major, `targetShape` per sample; null for a labelled set. */
  readonly targets: Float32Array | null;
  /** The shape of one sample's target (`[outputs]`); `[]` for a labelled set. */
  readonly targetShape: readonly number[];
  /** float value = stored value × scale: 1/255 for bytes, 1 for data already in float32. */
  readonly scale: number;
  /**
   * True when a left–right mirror image of a sample shows the same class (clothes, shoes), so the
   * loader may flip it; false or absent for digits and letters (a mirrored 2 is not a 2).
   */
  readonly mirrorable?: boolean;
  /** A new data set holding the given samples, in the given order (copied). */
  subset(indices: ArrayLike<number>, name?: string): Dataset;
  /** The first `n` samples (a view: no copy). `n` larger than `count` gives the whole set. */
  take(n: number): Dataset;
}

/** The samples and their labels (`labels` with `classNames`) or their float targets (`targets` with `targetShape`). */
export interface DatasetInit {
  /** Appears in messages: 'mnist/train', 'toy'. */
  name: string;
  /** The samples, row-major, `features` values each. */
  x: Uint8Array | Float32Array;
  /** The shape of one sample. */
  featureShape: readonly number[];
  /** One class id per sample, in [0, classNames.length). */
  labels?: Int32Array;
  /** One name per class (with `labels`). */
  classNames?: readonly string[];
  /** Float targets, row-major, `targetShape` per sample (instead of labels). */
  targets?: Float32Array;
  /** The shape of one sample's target (default `[]`, one number). */
  targetShape?: readonly number[];
  /** Defaults to 1/255 for bytes and 1 for float32. */
  scale?: number;
  /** A mirror image keeps the class (default false): what lets the loader's flip augmentation run. */
  mirrorable?: boolean;
}

/** A data set's training and test parts, as `loadDataset` and the loaders return them. */
export interface TrainTestSplit {
  /** The samples to fit on (the first `trainSize` of them when asked); `splitValidation` holds a part out of it. */
  train: Dataset;
  /** The held-out samples to evaluate on (the first `testSize` of them when asked), never trained on. */
  test: Dataset;
}

/**
 * Builds a data set and checks that its parts agree (lengths, label range): a `ShapeError` or
 * `RangeError` naming the set and what does not fit. Works anywhere (a page too): bring the arrays.
 *
 * @example
 * ```ts
 * import { createDataset, splitValidation, classCounts, Rng } from 'tapegrad';
 *
 * const ds = createDataset({
 *   name: 'toy',
 *   x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1, 2, 2]), // 5 samples of 2 features
 *   featureShape: [2],
 *   labels: new Int32Array([0, 1, 1, 0, 1]),
 *   classNames: ['even', 'odd'],
 * });
 * console.log([ds.count, ds.features, ds.classes]); // => [5, 2, 2]
 * const { train, validation } = splitValidation(ds, 0.4, new Rng(1)); // stratified by class
 * console.log([train.count, validation.count]); // => [3, 2]
 * console.log(classCounts(validation)); // => [1, 1]
 * ```
 */
export function createDataset(init: DatasetInit): Dataset {
  return new ArrayDataset(init);
}

const NO_LABELS = new Int32Array(0);

class ArrayDataset implements Dataset {
  readonly name: string;
  readonly x: Uint8Array | Float32Array;
  readonly featureShape: readonly number[];
  readonly features: number;
  readonly labels: Int32Array;
  readonly count: number;
  readonly classes: number;
  readonly classNames: readonly string[];
  readonly targets: Float32Array | null;
  readonly targetShape: readonly number[];
  readonly scale: number;
  readonly mirrorable: boolean;

  constructor(init: DatasetInit) {
    const op = `createDataset(${init.name})`;
    const features = init.featureShape.reduce((a, b) => a * b, 1);
    if (!init.featureShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ShapeError(`${op}: featureShape must be positive integers, got [${init.featureShape.join(',')}]`);
    }
    const labelled = init.labels !== undefined;
    if (labelled === (init.targets !== undefined)) {
      throw new TypeError(`${op}: give labels (with classNames) or targets (with targetShape), ${labelled ? 'not both' : 'got neither'}`);
    }
    let count: number;
    if (labelled) {
      if (init.classNames === undefined) throw new TypeError(`${op}: labels need classNames (one name per class)`);
      count = init.labels!.length;
      this.targetShape = [];
    } else {
      const shape = init.targetShape ?? [];
      if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
        throw new ShapeError(`${op}: targetShape must be positive integers, got [${shape.join(',')}]`);
      }
      const per = shape.reduce((a, b) => a * b, 1);
      count = init.targets!.length / per;
      if (!Number.isInteger(count)) throw new ShapeError(`${op}: ${init.targets!.length} target values do not make whole rows of shape [${shape.join(',')}]`);
      this.targetShape = shape.slice();
    }
    if (init.x.length !== count * features) {
      const what = labelled ? `${count} labels` : `${count} target rows`;
      throw new ShapeError(`${op}: ${what} × ${features} features needs x of length ${count * features}, got ${init.x.length}`);
    }
    const classNames = labelled ? init.classNames! : [];
    const classes = classNames.length;
    const labels = labelled ? init.labels! : NO_LABELS;
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i];
      if (!(label >= 0 && label < classes)) {
        throw new RangeError(`${op}: label ${label} of sample ${i} is outside [0, ${classes})`);
      }
    }
    this.name = init.name;
    // A Float32Array that lies in the engine's tensor memory (`someTensor.data`) may be recycled with its
    // tensor (engine/memory.ts): the data set takes its own copy, so it never reads another tensor's numbers.
    this.x = init.x instanceof Float32Array && inSharedMemory(init.x) ? init.x.slice() : init.x;
    this.featureShape = init.featureShape.slice();
    this.features = features;
    this.labels = labels;
    this.count = count;
    this.classes = classes;
    this.classNames = classNames.slice();
    this.targets = labelled ? null : inSharedMemory(init.targets!) ? init.targets!.slice() : init.targets!;
    this.scale = init.scale ?? (init.x instanceof Uint8Array ? 1 / 255 : 1);
    this.mirrorable = init.mirrorable ?? false;
  }

  /** Values per target row (0 for a labelled set). */
  private get targetWidth(): number {
    return this.targets === null ? 0 : this.targetShape.reduce((a, b) => a * b, 1);
  }

  subset(indices: ArrayLike<number>, name = this.name): Dataset {
    const F = this.features;
    const T = this.targetWidth;
    const n = indices.length;
    const x = this.x instanceof Uint8Array ? new Uint8Array(n * F) : new Float32Array(n * F);
    const labels = this.targets === null ? new Int32Array(n) : undefined;
    const targets = this.targets === null ? undefined : new Float32Array(n * T);
    for (let i = 0; i < n; i++) {
      const src = indices[i];
      if (!(Number.isInteger(src) && src >= 0 && src < this.count)) {
        throw new RangeError(`${this.name}.subset: index ${src} (position ${i}) is outside [0, ${this.count})`);
      }
      x.set(this.x.subarray(src * F, (src + 1) * F), i * F);
      if (labels) labels[i] = this.labels[src];
      if (targets) targets.set(this.targets!.subarray(src * T, (src + 1) * T), i * T);
    }
    return new ArrayDataset({ ...this.parts(), name, x, labels, targets });
  }

  take(n: number): Dataset {
    if (!(Number.isInteger(n) && n >= 0)) {
      throw new RangeError(`${this.name}.take: n must be a non-negative integer, got ${n}`);
    }
    if (n >= this.count) return this;
    return new ArrayDataset({
      ...this.parts(),
      x: this.x.subarray(0, n * this.features),
      labels: this.targets === null ? this.labels.subarray(0, n) : undefined,
      targets: this.targets === null ? undefined : this.targets.subarray(0, n * this.targetWidth),
    });
  }

  /** Everything but the samples, for a subset or a view. */
  private parts(): DatasetInit {
    return this.targets === null
      ? { name: this.name, x: this.x, featureShape: this.featureShape, classNames: this.classNames, scale: this.scale, mirrorable: this.mirrorable }
      : { name: this.name, x: this.x, featureShape: this.featureShape, targetShape: this.targetShape, scale: this.scale, mirrorable: this.mirrorable };
  }
}

/** How many samples of each class: `counts[c]`. */
export function classCounts(ds: Pick<Dataset, 'labels' | 'classes'>): Int32Array {
  const counts = new Int32Array(ds.classes);
  for (let i = 0; i < ds.labels.length; i++) counts[ds.labels[i]]++;
  return counts;
}

/** The sample indices of each class, in their original order. */
export function indicesByClass(labels: Int32Array, classes: number): Int32Array[] {
  const counts = new Int32Array(classes);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  const groups = Array.from(counts, (c) => new Int32Array(c));
  const filled = new Int32Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    groups[c][filled[c]++] = i;
  }
  return groups;
}

/**
 * Holds out `fraction` of a data set for validation, drawn at random (`rng`, so the split is deterministic
 * for a seed). The validation set has exactly `round(fraction × count)` samples, and both parts keep the
 * original sample order. A labelled set is split stratified: each class gives `floor(fraction × its
 * count)` and the classes with the largest remainders give one more (ties to the lower class). A set of
 * float targets has no classes: its samples are drawn uniformly.
 *
 * Keras's `validation_split` takes the last samples instead; with data sorted by class (as Fashion-MNIST's
 * package and Iris's store it) that would hold out whole classes, which is why this one draws.
 */
export function splitValidation(ds: Dataset, fraction: number, rng: Rng): {
  /** The samples left to train on, `count − round(fraction × count)` of them, in their original order. */
  train: Dataset;
  /** The `round(fraction × count)` held-out samples (named `<name>/validation`), in their original order. */
  validation: Dataset;
} {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`splitValidation(${ds.name}): fraction must be in [0, 1), got ${fraction}`);
  }
  const total = Math.round(fraction * ds.count);
  const isValidation = new Uint8Array(ds.count);
  if (ds.targets !== null) {
    const order = new Int32Array(ds.count);
    for (let i = 0; i < ds.count; i++) order[i] = i;
    rng.shuffle(order);
    for (let i = 0; i < total; i++) isValidation[order[i]] = 1;
  } else {
    const groups = indicesByClass(ds.labels, ds.classes);
    const take = groups.map((g) => Math.floor(fraction * g.length));
    let missing = total - take.reduce((a, b) => a + b, 0);
    // Largest remainder first; a stable sort keeps the lower class first among equals.
    const byRemainder = groups
      .map((g, c) => ({ c, rem: fraction * g.length - take[c] }))
      .sort((a, b) => b.rem - a.rem);
    for (let i = 0; missing > 0 && i < byRemainder.length; i++) {
      const c = byRemainder[i].c;
      if (take[c] < groups[c].length) {
        take[c]++;
        missing--;
      }
    }
    for (let c = 0; c < ds.classes; c++) {
      const shuffled = rng.shuffle(groups[c].slice());
      for (let i = 0; i < take[c]; i++) isValidation[shuffled[i]] = 1;
    }
  }
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  for (let i = 0; i < ds.count; i++) (isValidation[i] ? valIdx : trainIdx).push(i);
  return { train: ds.subset(trainIdx), validation: ds.subset(valIdx, `${ds.name}/validation`) };
}
