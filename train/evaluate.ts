/**
 * `evaluate(model, { x, y } | dataset, { loss, metrics, batchSize })`: the loss and metrics over a whole
 * data set, in eval mode (no dropout, BatchNorm's running statistics), without a tape, batch by batch
 * through `evalStep`. Returns Keras's logs: `{ loss, accuracy?, mae?, ... }`.
 *
 * The loss is the data's alone: regularization penalties are a training term and are not in it (Keras
 * adds them to `evaluate`'s loss too; here validation loss stays comparable across --l2 settings).
 */
import { scoped } from '../engine/index.js';
import { DataLoader, type Dataset } from '../data/index.js';
import { arraysToDataset, checkData, isArrayData, type ArrayData } from './data.js';
import type { Logs } from './history.js';
import { resolveLoss, type Loss, type LossFunction, type LossName } from './losses.js';
import { resolveMetrics, type Metric, type MetricName } from './metrics.js';
import { evalStep } from './step.js';
import type { Model } from './types.js';

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Default 'crossEntropy'. */
  loss?: LossName | LossFunction;
  /** Default ['accuracy'] for crossEntropy, [] otherwise. */
  metrics?: MetricName[];
  /** Rows per forward pass (default 1000: evaluation keeps no activations for a backward pass). */
  batchSize?: number;
}

/**
 * The loss and metrics of `model` on `data` (`{ x, y }` or a Dataset), in eval mode, without a tape:
 * Keras's `model.evaluate`. The data are checked as `fit` checks them.
 *
 * @example
 * ```ts
 * import { Sequential, Dense, evaluate } from 'tapegrad';
 *
 * const model = new Sequential([new Dense(2, 2, { useBias: false })]);
 * model.parameters()[0].data.set([1, 0, 0, 1]); // the identity: the logits are the inputs
 * const x = [[2, 0], [0, 2], [2, 0], [0, 0]];
 * const logs = evaluate(model, { x, y: [0, 1, 1, 0] });
 * console.log(Object.keys(logs)); // => ['loss', 'accuracy']
 * // Sample 3 is wrong; sample 4's logits tie (the first class wins), which is right.
 * console.log(logs.accuracy); // => 0.75
 * console.log(logs.loss); // => 0.7685
 * ```
 */
export function evaluate(model: Model, data: ArrayData | Dataset, options: EvaluateOptions = {}): Logs {
  const op = 'evaluate';
  const loss = resolveLoss(options.loss, op);
  const ds = isArrayData(data) ? arraysToDataset(data, loss, op) : data;
  const metrics = resolveMetrics(options.metrics, loss, ds.targets === null, op);
  const batchSize = options.batchSize ?? 1000;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`${op}: batchSize must be a positive integer, got ${batchSize}`);
  checkData(model, loss, metrics, ds, op, ds.name);
  return evaluateDataset(model, loss, metrics, ds, batchSize);
}

/**
 * The checked core, shared with `fit`'s validation pass. A model in training mode is put back in it.
 * The pass runs in an engine memory scope, so its loader's batch buffer goes back to the arena with it.
 */
export function evaluateDataset(model: Model, loss: Loss, metrics: readonly Metric[], ds: Dataset, batchSize = 1000): Logs {
  return scoped(() => evaluatePass(model, loss, metrics, ds, batchSize));
}

function evaluatePass(model: Model, loss: Loss, metrics: readonly Metric[], ds: Dataset, batchSize: number): Logs {
  const loader = new DataLoader(ds, { batchSize, shuffle: false });
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  const sums = metrics.map(() => 0);
  let count = 0;
  try {
    for (const batch of loader.epochBatches(0)) {
      const step = evalStep({ model, loss, metrics }, batch);
      lossSum += step.loss * step.size;
      for (let i = 0; i < sums.length; i++) sums[i] += step.metrics[i];
      count += step.size;
    }
  } finally {
    if (wasTraining === true) model.train();
  }
  const logs: Logs = { loss: lossSum / count };
  metrics.forEach((m, i) => (logs[m.name] = sums[i] / count));
  return logs;
}
