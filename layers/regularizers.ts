import { FormatError, Tensor } from '../engine/index.js';

/**
 * A weight penalty added to the loss, as Keras's `kernel_regularizer`. `penalty(w)` is a scalar on
 * the tape, so `loss.add(penalty)` sends its gradient to w.
 */
export interface Regularizer {
  /** Which penalty. */
  readonly type: 'l1' | 'l2';
  /** Its strength λ. */
  readonly lambda: number;
  /** The penalty of weight `w`, a scalar on the tape. */
  penalty(w: Tensor): Tensor;
  /** The JSON that `regularizerFromConfig` rebuilds it from. */
  config(): {
    /** Which penalty, as `type`: 'l1' (λ·Σ|w|) or 'l2' (λ·Σw²). */
    type: 'l1' | 'l2';
    /** The strength λ >= 0, as `lambda` (Keras's `l1=` / `l2=` argument). */
    lambda: number;
  };
}

function checkLambda(lambda: unknown, op: string): number {
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) {
    throw new RangeError(`${op}: lambda must be a finite number >= 0, got ${String(lambda)}`);
  }
  return lambda;
}

/**
 * Keras `L1(l1=0.01)`: penalty = λ · Σ|w|. |w| is composed as relu(w) + relu(−w), whose gradient is
 * sign(w) and 0 at w = 0 (the subgradient Keras uses, since tf.abs has gradient sign(0) = 0).
 */
export function l1(lambda = 0.01): Regularizer {
  const l = checkLambda(lambda, 'l1');
  return {
    type: 'l1',
    lambda: l,
    penalty: (w) => w.relu().add(w.neg().relu()).sum().mul(l),
    config: () => ({ type: 'l1', lambda: l }),
  };
}

/**
 * Keras `L2(l2=0.01)`: penalty = λ · Σw², gradient 2λw. Note the absence of Keras's ½: l2(λ) here is
 * SGD weight decay of 2λ, not λ.
 */
export function l2(lambda = 0.01): Regularizer {
  const l = checkLambda(lambda, 'l2');
  return {
    type: 'l2',
    lambda: l,
    penalty: (w) => w.square().sum().mul(l),
    config: () => ({ type: 'l2', lambda: l }),
  };
}

/** The regularizer a `config()` describes (null for none); a `FormatError` for an unknown type. */
export function regularizerFromConfig(cfg: unknown): Regularizer | null {
  if (cfg === null || cfg === undefined) return null;
  const c = cfg as { type?: unknown; lambda?: unknown };
  if (c.type === 'l1') return l1(c.lambda as number);
  if (c.type === 'l2') return l2(c.lambda as number);
  throw new FormatError(`regularizer config: unknown type ${JSON.stringify(c.type)}, expected 'l1' or 'l2'`);
}
