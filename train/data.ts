/**
 * From what a user passes to `fit`/`evaluate` to a data set, and the checks that run before any training:
 * that the targets fit the loss, the rows match, the class ids fit the model's outputs (and an Int32Array),
 * every sample and target is finite, the target shape fits the prediction's, and the loss comes out a scalar. Each failure is a typed error naming what was
 * wrong, raised before the first step, never halfway through an epoch.
 */
import { ShapeError, Tensor, fmtShape, noGrad } from '../engine/index.js';
import { DataLoader, createDataset, type Dataset } from '../data/index.js';
import type { Loss } from './losses.js';
import type { Metric } from './metrics.js';
import { predictionOf } from './step.js';
import type { Model } from './types.js';

/** Samples: a tensor [N, ...features], or one array of numbers per sample. */
export type Features = Tensor | number[][];
/**
 * What each sample should give. Class ids (for crossEntropy): an Int32Array or a number[] of integers.
 * Float targets (the other losses): a Float32Array or number[] (flat: N × outputs values, read as
 * [N, outputs]), a number[][] (one row per sample) or a Tensor.
 */
export type Targets = Int32Array | Float32Array | number[] | number[][] | Tensor;
/** Samples and their targets as plain arrays or tensors: `{ x, y }`. */
export interface ArrayData {
  /** The samples, one row each. */
  x: Features;
  /** Class ids or float targets, one per sample. */
  y: Targets;
}

/** A data set given as `{ x, y }` (anything with a `y`), as opposed to a data/ Dataset. */
export function isArrayData(data: unknown): data is ArrayData {
  return typeof data === 'object' && data !== null && 'y' in data;
}

/** `{ x, y }` as a data set for `loss`; `what` names it in messages ('fit: x', 'fit: validationData.x'). */
export function arraysToDataset(data: ArrayData, loss: Loss, op: string, what = ''): Dataset {
  const xName = `${op}: ${what}x`;
  const yName = `${op}: ${what}y`;
  const x = featuresOf(data.x, xName);
  const N = x.shape[0];
  const base = { name: `${what}x`, x: x.data, featureShape: x.shape.slice(1) };
  const y = data.y;
  const classIds = loss.targets === 'classes' || (loss.targets === 'any' && y instanceof Int32Array);
  if (classIds) {
    const labels = classIdsOf(y, loss, yName);
    if (labels.length !== N) throw new ShapeError(`${yName} has ${labels.length} class ids for the ${N} samples of ${what}x`);
    let max = -1;
    for (let i = 0; i < labels.length; i++) if (labels[i] > max) max = labels[i];
    return createDataset({ ...base, labels, classNames: Array.from({ length: max + 1 }, (_, c) => String(c)) });
  }
  const targets = targetsOf(y, N, yName, what);
  return createDataset({ ...base, targets: targets.data, targetShape: targets.shape.slice(1) });
}

function featuresOf(x: Features, name: string): Tensor {
  if (x instanceof Float32Array || (Array.isArray(x) && x.length > 0 && typeof x[0] === 'number')) {
    throw new TypeError(`${name} is a flat array, which has no shape: give a Tensor [samples, features] (Tensor.from(data, { shape })) or number[][] with one row per sample`);
  }
  const t = x instanceof Tensor ? x : Array.isArray(x) ? Tensor.from(x) : null;
  if (t === null) throw new TypeError(`${name} must be a Tensor or number[][], got ${describe(x)}`);
  if (t.ndim < 2 || t.shape[0] === 0) throw new ShapeError(`${name} must be [samples, features...] with at least one sample, got ${fmtShape(t.shape)}`);
  return t;
}

function classIdsOf(y: Targets, loss: Loss, name: string): Int32Array {
  const floats = `; for float targets use loss 'mse' or 'binaryCrossEntropy'`;
  if (y instanceof Int32Array) {
    for (let i = 0; i < y.length; i++) if (y[i] < 0) throw new RangeError(`${name}[${i}] is ${y[i]}: class ids count from 0`);
    return y;
  }
  if (!Array.isArray(y) || y.some((v) => Array.isArray(v))) {
    throw new TypeError(`${name}: loss ${loss.name} takes class ids (an Int32Array or number[] of integers), got ${describe(y)}${floats}`);
  }
  const ids = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const v = y[i] as number;
    if (!Number.isInteger(v)) throw new TypeError(`${name}[${i}] is ${v}: loss ${loss.name} takes class ids (integers)${floats}`);
    if (v < 0) throw new RangeError(`${name}[${i}] is ${v}: class ids count from 0`);
    // An Int32Array keeps the low 32 bits: 2³² + 1 would train silently as class 1, 2³¹ as −2³¹.
    if (v > MAX_CLASS_ID) throw new RangeError(`${name}[${i}] is ${v}: a class id must be an integer from 0 to ${MAX_CLASS_ID} (and below the model's outputs)`);
    ids[i] = v;
  }
  return ids;
}

/** The largest class id an Int32Array holds. */
const MAX_CLASS_ID = 2 ** 31 - 1;

/**
 * The first value of `values` (rows of `width`) that is NaN or ±∞, as `x holds NaN at row 3, column 17`,
 * or null. One pass, no allocation: fit checks every sample before training, and MNIST's 47 M floats
 * take about 50 ms (its bytes are skipped: a byte is always finite).
 */
function nonFinite(values: ArrayLike<number>, width: number, what: string): string | null {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v === 0) continue; // false exactly for NaN and ±∞
    let bad = 0;
    for (let j = i; j < values.length; j++) if (!(values[j] - values[j] === 0)) bad++;
    const more = bad > 1 ? ` (${bad} values are not finite)` : '';
    return `${what} holds ${v} at row ${Math.floor(i / width)}, column ${i % width}${more}`;
  }
  return null;
}

function targetsOf(y: Targets, N: number, name: string, what: string): Tensor {
  let t: Tensor;
  if (y instanceof Tensor) t = y;
  else if (y instanceof Float32Array || y instanceof Int32Array) t = Tensor.from(Float32Array.from(y));
  else if (Array.isArray(y)) t = Tensor.from(y as number[] | number[][]);
  else throw new TypeError(`${name} must be a Float32Array, number[], number[][] or Tensor of targets, got ${describe(y)}`);
  // A flat array is [N, outputs].
  if (t.ndim === 1) {
    if (t.size % N !== 0 || t.size === 0) throw new ShapeError(`${name} has ${t.size} values for the ${N} samples of ${what}x (a flat y is read as [samples, outputs])`);
    return Tensor.from(t.data, { shape: [N, t.size / N] });
  }
  if (t.shape[0] !== N) throw new ShapeError(`${name} has ${t.shape[0]} rows (shape ${fmtShape(t.shape)}) for the ${N} samples of ${what}x`);
  for (let i = 0; i < t.size; i++) if (!Number.isFinite(t.data[i])) throw new RangeError(`${name} holds ${t.data[i]} at position ${i}: targets must be finite`);
  return t;
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return `a Tensor ${fmtShape(v.shape)}`;
  if (Array.isArray(v)) return Array.isArray(v[0]) ? 'number[][]' : 'number[]';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return v === null ? 'null' : typeof v;
}

/**
 * Refuses a data set holding NaN or ±∞ in a sample or a target, naming the row and the column (a
 * RangeError): one such sample makes every loss after it NaN, which would be blamed on the learning
 * rate. fit checks its training data before splitting off validation, so the row is the caller's.
 */
export function checkFinite(ds: Dataset, op: string, what: string): void {
  const badX = ds.x instanceof Uint8Array ? null : nonFinite(ds.x, ds.features, 'x');
  if (badX !== null) throw new RangeError(`${op}: ${what}'s ${badX}: samples must be finite numbers`);
  const badY = ds.targets === null || ds.count === 0 ? null : nonFinite(ds.targets, ds.targets.length / ds.count, 'y');
  if (badY !== null) throw new RangeError(`${op}: ${what}'s ${badY}: targets must be finite numbers`);
}

/**
 * Checks a data set against the loss and the model, on one sample in eval mode without a tape (no
 * dropout mask is drawn, no running statistic moves): labels or targets as the loss needs them, class ids
 * inside the model's outputs, the target shape the prediction's, a scalar loss, metrics that can read it.
 */
export function checkData(model: Model, loss: Loss, metrics: readonly Metric[], ds: Dataset, op: string, what: string): void {
  if (ds.count === 0) throw new RangeError(`${op}: ${what} is empty`);
  checkFinite(ds, op, what);
  const labelled = ds.targets === null;
  if (loss.targets === 'classes' && !labelled) {
    throw new TypeError(`${op}: loss ${loss.name} takes class ids, but ${what} holds float targets [${ds.targetShape.join(',')}] per sample; for float targets use loss 'mse' or 'binaryCrossEntropy'`);
  }
  if (loss.targets === 'values' && labelled) {
    throw new TypeError(`${op}: loss ${loss.name} takes float targets, but ${what} holds class ids; use loss 'crossEntropy' (or give y as floats)`);
  }
  const batch = new DataLoader(ds.take(1), { batchSize: 1, shuffle: false }).epochBatches(0).next().value!;
  model.eval();
  try {
    noGrad(() => {
      let pred: Tensor;
      try {
        pred = predictionOf(model, loss, batch.x);
      } catch (e) {
        throw retag(e, `${op}: the model cannot take ${what}'s samples [${ds.featureShape.join(',')}]: `);
      }
      if (labelled) {
        let max = 0;
        let at = 0;
        for (let i = 0; i < ds.labels.length; i++) {
          if (ds.labels[i] > max) {
            max = ds.labels[i];
            at = i;
          }
        }
        const outputs = pred.ndim === 2 ? pred.shape[1] : NaN;
        if (loss.targets === 'classes' && !(max < outputs)) {
          throw new RangeError(`${op}: ${what} has class id ${max} (sample ${at}), outside the model's ${pred.ndim === 2 ? `${outputs} outputs` : `output ${fmtShape(pred.shape)}`} (ids must be in [0, ${outputs}))`);
        }
      } else if (loss.targets === 'values') {
        const want = [1, ...ds.targetShape];
        if (want.length !== pred.ndim || want.some((d, i) => d !== pred.shape[i])) {
          throw new ShapeError(`${op}: the model's output per sample is [${pred.shape.slice(1).join(',')}], ${what}'s targets are [${ds.targetShape.join(',')}]: they must match for loss ${loss.name}`);
        }
      }
      try {
        loss.compute(pred, batch);
        for (const m of metrics) m.sum(pred, batch);
      } catch (e) {
        throw retag(e, `${op}: `);
      }
    });
  } finally {
    model.train();
  }
}

/** The same error type, its message prefixed with where it happened. */
function retag(e: unknown, prefix: string): Error {
  if (!(e instanceof Error)) return new Error(prefix + String(e));
  const copy = new (e.constructor as new (message: string) => Error)(prefix + e.message);
  return copy;
}
