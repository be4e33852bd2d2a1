/**
 * Metrics by name (Keras's `metrics=`), reported each epoch next to the loss. Each one reads a batch's
 * predictions as plain numbers and returns the SUM of its per-sample values, so an epoch's value is the
 * sum over its batches divided by the samples seen, exactly, whatever the batch sizes:
 *
 *   'accuracy'  class ids: the share of rows whose largest output is the label (the argmax of the logits
 *               is the argmax of the probabilities); binaryCrossEntropy: the share of outputs on the
 *               right side of 0.5 (σ(z) > 0.5 ⇔ z > 0), Keras's binary_accuracy
 *   'mae'       float targets: mean |prediction − target| (per sample over its outputs, then over samples)
 *   'mse'       float targets: mean (prediction − target)²
 *
 * The prediction is the model's output; for a loss on logits, the loss's link applied to them
 * (σ(z) for binaryCrossEntropy), which is what a model ending in that activation outputs.
 */
import type { Tensor } from '../engine/index.js';
import type { Batch } from '../data/index.js';
import type { Loss } from './losses.js';

/** The metrics `fit` and `evaluate` compute by name. */
export const METRIC_NAMES = ['accuracy', 'mae', 'mse'] as const;
/** One of `METRIC_NAMES`. */
export type MetricName = (typeof METRIC_NAMES)[number];

/** A metric as `fit` uses it: a per-batch sum, averaged over the epoch's samples. */
export interface Metric {
  /** Its name in the logs (`accuracy`, `val_accuracy`, ...). */
  readonly name: MetricName;
  /** The sum over the batch's samples of this metric's per-sample value. */
  sum(pred: Tensor, batch: Batch): number;
}

/**
 * The metrics asked for (default: ['accuracy'] for crossEntropy, none otherwise), checked against the
 * loss and the data: accuracy needs class ids or binary targets, mae and mse float targets.
 */
export function resolveMetrics(names: readonly string[] | undefined, loss: Loss, labelled: boolean, op: string): Metric[] {
  const list = names ?? (loss.targets === 'classes' ? ['accuracy'] : []);
  if (!Array.isArray(list)) throw new TypeError(`${op}: metrics must be a list of names (${METRIC_NAMES.join(', ')}), got ${JSON.stringify(names)}`);
  const seen = new Set<string>();
  return list.map((name) => {
    if (!(METRIC_NAMES as readonly string[]).includes(name)) {
      throw new RangeError(`${op}: unknown metric ${JSON.stringify(name)}; expected one of ${METRIC_NAMES.join(', ')}`);
    }
    if (seen.has(name)) throw new RangeError(`${op}: metric '${name}' is listed twice`);
    seen.add(name);
    if (name === 'accuracy') {
      if (labelled) return argmaxAccuracy;
      if (loss.link === 'sigmoid') return binaryAccuracy;
      throw new RangeError(`${op}: metric 'accuracy' needs class ids (loss crossEntropy) or binary targets (loss binaryCrossEntropy); the targets here are floats for ${loss.name}: for regression use 'mae'`);
    }
    if (labelled) throw new RangeError(`${op}: metric '${name}' compares float targets, but y holds class ids; use 'accuracy'`);
    const squash = loss.link === 'sigmoid';
    return name === 'mae' ? errorMetric('mae', squash, false) : errorMetric('mse', squash, true);
  });
}

/** Rows (B,C) whose largest value is at the label. */
const argmaxAccuracy: Metric = {
  name: 'accuracy',
  sum(pred, batch) {
    const [B, C] = pred.shape;
    const z = pred.data;
    const labels = batch.y;
    let correct = 0;
    for (let b = 0; b < B; b++) {
      const row = b * C;
      let best = 0;
      for (let c = 1; c < C; c++) if (z[row + c] > z[row + best]) best = c;
      if (best === labels[b]) correct++;
    }
    return correct;
  },
};

/** Logits on the right side of 0 for targets on either side of 0.5, per sample averaged over its outputs. */
const binaryAccuracy: Metric = {
  name: 'accuracy',
  sum(logits, batch) {
    const z = logits.data;
    const t = batch.targets!.data;
    const K = z.length / batch.size;
    let total = 0;
    for (let b = 0; b < batch.size; b++) {
      let right = 0;
      for (let k = b * K; k < (b + 1) * K; k++) if (z[k] > 0 === t[k] > 0.5) right++;
      total += right / K;
    }
    return total;
  },
};

function errorMetric(name: 'mae' | 'mse', sigmoid: boolean, squared: boolean): Metric {
  return {
    name,
    sum(pred, batch) {
      const p = pred.data;
      const t = batch.targets!.data;
      const K = p.length / batch.size;
      let total = 0;
      for (let b = 0; b < batch.size; b++) {
        let row = 0;
        for (let k = b * K; k < (b + 1) * K; k++) {
          const y = sigmoid ? 1 / (1 + Math.exp(-p[k])) : p[k];
          const d = y - t[k];
          row += squared ? d * d : Math.abs(d);
        }
        total += row / K;
      }
      return total;
    },
  };
}
