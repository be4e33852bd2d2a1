/**
 * The losses `fit` and `evaluate` take by name (Keras's `loss=`), and the rule for a function of your own.
 * A loss says what targets it needs and whether it trains on the model's logits or its output; `fit`
 * checks the data against that before training starts.
 *
 *   'crossEntropy'        class ids; on logits, softmax fused in (engine's crossEntropy: stable, p − onehot)
 *   'binaryCrossEntropy'  float targets in [0, 1], one per output; on logits, sigmoid fused in (below)
 *   'mse'                 float targets of the output's shape; on the output
 *   (pred, target) => t   on the output; `target` is the batch's targets as a tensor (class ids, for a
 *                         labelled data set, as a float tensor [B]); must return a scalar
 *
 * "On logits" is `model.forwardLogits(x)`: a model that ends in a Softmax or Sigmoid (Keras's habit) is
 * not squashed twice, and one that ends in logits (PyTorch's) is used as it is. Keras's default
 * `from_logits=False` clips probabilities to [1e-7, 1 − 1e-7] instead; the logits form needs no clipping.
 */
import { ShapeError, Tensor, fmtShape } from '../engine/index.js';
import type { Batch } from '../data/index.js';

/** The losses `fit` and `evaluate` know by name. */
export const LOSS_NAMES = ['crossEntropy', 'binaryCrossEntropy', 'mse'] as const;
/** One of `LOSS_NAMES`. */
export type LossName = (typeof LOSS_NAMES)[number];
/** A loss of your own: the batch's predictions and targets to a scalar tensor on the tape. */
export type LossFunction = (pred: Tensor, target: Tensor) => Tensor;

/** A loss as `fit` uses it, resolved from a name or a function by `resolveLoss`. */
export interface Loss {
  /** The name in messages: 'crossEntropy', ..., or 'custom loss'. */
  readonly name: string;
  /** What y must hold: class ids, float targets, or either (a function of your own). */
  readonly targets: 'classes' | 'values' | 'any';
  /** How the logits become the model's prediction, for a loss on logits; null for a loss on the output. */
  readonly link: 'softmax' | 'sigmoid' | null;
  /** The batch's mean loss, a scalar on the tape. `pred` is the logits when `link` is set, else the output. */
  compute(pred: Tensor, batch: Batch): Tensor;
}

const crossEntropy: Loss = {
  name: 'crossEntropy',
  targets: 'classes',
  link: 'softmax',
  compute: (logits, batch) => Tensor.crossEntropy(logits, batch.y),
};

const binaryCrossEntropy: Loss = {
  name: 'binaryCrossEntropy',
  targets: 'values',
  link: 'sigmoid',
  compute: (logits, batch) => binaryCrossEntropyWithLogits(logits, batch.targets!),
};

const mse: Loss = {
  name: 'mse',
  targets: 'values',
  link: null,
  compute: (pred, batch) => Tensor.mse(pred, batch.targets!),
};

/** The loss named (default 'crossEntropy'), or a function of your own; anything else is an error naming the choices. */
export function resolveLoss(spec: LossName | LossFunction | undefined, op: string): Loss {
  if (spec === undefined || spec === 'crossEntropy') return crossEntropy;
  if (spec === 'binaryCrossEntropy') return binaryCrossEntropy;
  if (spec === 'mse') return mse;
  if (typeof spec === 'function') return customLoss(spec);
  throw new RangeError(`${op}: unknown loss ${JSON.stringify(spec)}; expected one of ${LOSS_NAMES.join(', ')}, or a function (pred, target) => scalar Tensor`);
}

function customLoss(fn: LossFunction): Loss {
  return {
    name: 'custom loss',
    targets: 'any',
    link: null,
    compute(pred, batch) {
      const target = batch.targets ?? Tensor.from(Float32Array.from(batch.y), { shape: [batch.y.length] });
      const value = fn(pred, target);
      if (!(value instanceof Tensor) || value.size !== 1) {
        const got = value instanceof Tensor ? `a tensor of shape ${fmtShape(value.shape)}` : String(value);
        throw new ShapeError(`the loss function returned ${got}; a loss must be a scalar Tensor (reduce it, e.g. with .mean())`);
      }
      return value;
    },
  };
}

/**
 * Mean binary cross-entropy of logits z against targets t in [0, 1], in a stable form:
 *
 *     −[t·log σ(z) + (1 − t)·log(1 − σ(z))]  =  softplus(z) − z·t,   softplus(z) = log(1 + e^z)
 *                                            =  m + log(e^(−m) + e^(z − m)) − z·t,   m = max(z, 0)
 *
 * Both exponents are ≤ 0, so nothing overflows for logits of ±1000 and nothing is clipped (Keras clips
 * probabilities to [1e-7, 1 − 1e-7] instead). `m` enters as a constant, as the maximum in log-sum-exp
 * does: the derivative of what is left is σ(z) − t for every z. (PyTorch's form max(z, 0) + log(1 +
 * e^(−|z|)) is the same value, but built from relu and |z| its tape derivative at z = 0 would be −t
 * rather than ½ − t, by relu's convention at the kink, and zero-initialized models start at z = 0.)
 * A composition of primitives, so it needs no backward of its own.
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor): Tensor {
  if (logits.shape.length !== targets.shape.length || logits.shape.some((d, i) => d !== targets.shape[i])) {
    throw new ShapeError(`binaryCrossEntropy: logits ${fmtShape(logits.shape)} and targets ${fmtShape(targets.shape)} must have the same shape`);
  }
  const m = Tensor.from(logits.data.map((z) => (z > 0 ? z : 0)), { shape: logits.shape });
  const softplus = m.add(m.neg().exp().add(logits.sub(m).exp()).log());
  return softplus.sub(logits.mul(targets)).mean();
}
