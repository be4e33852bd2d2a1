import { FormatError, Tensor } from '../engine/index.js';

/**
 * A weight penalty added to the loss, as Keras's `kernel_regularizer`. `penalty(w)` is a scalar on
 * the tape, so `loss.add(penalty)` sends its gradient to w.
 */
export interface Regularizer {
  /** Which penalty: 'l1' (λ·Σ|w|), 'l2' (λ·Σw²) or both ('l1l2'). */
  readonly type: 'l1' | 'l2' | 'l1l2';
  /** The strength of the L1 term (0 for `l2`). */
  readonly l1: number;
  /** The strength of the L2 term (0 for `l1`). */
  readonly l2: number;
  /** The penalty of weight `w`, a scalar on the tape. */
  penalty(w: Tensor): Tensor;
  /** The JSON that `regularizerFromConfig` rebuilds it from. */
  config(): RegularizerConfig;
}

/** A regularizer as JSON: Keras's arguments, `{ type: 'l2', lambda: 0.01 }` or `{ type: 'l1l2', l1, l2 }`. */
export type RegularizerConfig =
  | {
      /** 'l1' (λ·Σ|w|) or 'l2' (λ·Σw²). */
      type: 'l1' | 'l2';
      /** The strength λ >= 0 (Keras's `l1=` / `l2=` argument). */
      lambda: number;
    }
  | {
      /** Both penalties, Keras's `L1L2`. */
      type: 'l1l2';
      /** The L1 strength >= 0. */
      l1: number;
      /** The L2 strength >= 0. */
      l2: number;
    };

function checkLambda(lambda: unknown, op: string, name = 'lambda'): number {
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) {
    throw new RangeError(`${op}: ${name} must be a finite number >= 0, got ${String(lambda)}`);
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
    l1: l,
    l2: 0,
    penalty: (w) => absSum(w).mul(l),
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
    l1: 0,
    l2: l,
    penalty: (w) => w.square().sum().mul(l),
    config: () => ({ type: 'l2', lambda: l }),
  };
}

/**
 * Keras `L1L2(l1=0.0, l2=0.0)`: penalty = l1 · Σ|w| + l2 · Σw², the elastic-net penalty (gradient
 * l1·sign(w) + 2·l2·w, with l1 and l2 as `l1` and `l2` above).
 *
 * @example
 * ```ts
 * import { Tensor, l1l2 } from 'tapegrad';
 *
 * const w = Tensor.from([1, -2], { requiresGrad: true });
 * const penalty = l1l2(0.1, 0.01).penalty(w); // 0.1·(1 + 2) + 0.01·(1 + 4)
 * console.log(penalty.item()); // => 0.35
 * penalty.backward();
 * console.log(w.grad!.toArray()); // => [0.12, -0.14]
 * ```
 */
export function l1l2(l1 = 0, l2 = 0): Regularizer {
  const a = checkLambda(l1, 'l1l2', 'l1');
  const b = checkLambda(l2, 'l1l2', 'l2');
  return {
    type: 'l1l2',
    l1: a,
    l2: b,
    penalty: (w) => absSum(w).mul(a).add(w.square().sum().mul(b)),
    config: () => ({ type: 'l1l2', l1: a, l2: b }),
  };
}

/** Σ|w|, composed as relu(w) + relu(−w) (see l1). */
function absSum(w: Tensor): Tensor {
  return w.relu().add(w.neg().relu()).sum();
}

/** The regularizer a `config()` describes (null for none); a `FormatError` for an unknown type. */
export function regularizerFromConfig(cfg: unknown): Regularizer | null {
  if (cfg === null || cfg === undefined) return null;
  const c = cfg as { type?: unknown; lambda?: unknown; l1?: unknown; l2?: unknown };
  if (c.type === 'l1') return l1(c.lambda as number);
  if (c.type === 'l2') return l2(c.lambda as number);
  if (c.type === 'l1l2') return l1l2(c.l1 as number, c.l2 as number);
  throw new FormatError(`regularizer config: unknown type ${JSON.stringify(c.type)}, expected 'l1', 'l2' or 'l1l2'`);
}
