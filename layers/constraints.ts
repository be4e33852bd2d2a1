import { FormatError, ShapeError, Tensor, fmtShape } from '../engine/index.js';

/** A projection applied to a weight in place after each optimizer update (Keras's `kernel_constraint`). */
export interface Constraint {
  /** Which constraint. */
  readonly type: 'maxNorm';
  /** Projects `w` in place. */
  apply(w: Tensor): void;
  /** The JSON that `constraintFromConfig` rebuilds it from. */
  config(): {
    /** Which constraint, as `type`. */
    type: 'maxNorm';
    /** The largest L2 norm c > 0 a unit's incoming weights may have (Keras's `max_value`). */
    maxValue: number;
  };
}

/**
 * Keras `MaxNorm(max_value)`: each unit's incoming weight vector is rescaled so its L2 norm is at
 * most c. Keras's kernel is [in, out] with axis=0, i.e. one vector per output unit; in our [out, in]
 * layout that vector is a row. Keras computes w · min(n, c) / (n + ε) for every row, which nudges rows
 * below c by n/(n + ε); we touch only rows with n > c (as PyTorch's `renorm`), so they stay exact:
 *   row ← row · c / (n + 1e-7)   when n > c.
 * Used with dropout by Srivastava et al. (2014), typically c = 3 or 4.
 */
export function maxNorm(c = 2): Constraint {
  if (typeof c !== 'number' || !Number.isFinite(c) || c <= 0) {
    throw new RangeError(`maxNorm: the maximum norm must be a finite number > 0, got ${String(c)}`);
  }
  return {
    type: 'maxNorm',
    apply(w: Tensor): void {
      // w is (OUT,IN) — or (N) for a vector, treated as one row.
      if (w.ndim !== 2 && w.ndim !== 1) throw new ShapeError(`maxNorm: expected a [out,in] weight, got ${fmtShape(w.shape)}`);
      const OUT = w.ndim === 2 ? w.shape[0] : 1;
      const IN = w.ndim === 2 ? w.shape[1] : w.shape[0];
      const W = w.data;
      for (let o = 0; o < OUT; o++) {
        const row = o * IN;
        let sq = 0;
        for (let i = 0; i < IN; i++) sq += W[row + i] * W[row + i];
        const n = Math.sqrt(sq);
        if (n <= c) continue;
        const scale = c / (n + 1e-7);
        for (let i = 0; i < IN; i++) W[row + i] *= scale;
      }
    },
    config: () => ({ type: 'maxNorm', maxValue: c }),
  };
}

/** The constraint a `config()` describes (null for none); a `FormatError` for an unknown type. */
export function constraintFromConfig(cfg: unknown): Constraint | null {
  if (cfg === null || cfg === undefined) return null;
  const c = cfg as { type?: unknown; maxValue?: unknown };
  if (c.type === 'maxNorm') return maxNorm(c.maxValue as number);
  throw new FormatError(`constraint config: unknown type ${JSON.stringify(c.type)}, expected 'maxNorm'`);
}
