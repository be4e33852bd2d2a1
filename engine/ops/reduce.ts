import { normalizeAxis } from '../tensor.js';

/**
 * A reduction over one axis sees the tensor as (OUTER, N, INNER): N values, INNER apart, are
 * reduced to one, for each of OUTER·INNER positions. Reducing everything is OUTER = INNER = 1.
 */
export interface AxisView {
  outer: number;
  n: number;
  inner: number;
  /** The result's shape, with or without the reduced axis kept as size 1. */
  shape: number[];
}

export function axisView(shape: readonly number[], axis: number | undefined, keepDims: boolean, op: string): AxisView {
  if (axis === undefined) {
    const n = shape.reduce((p, d) => p * d, 1);
    return { outer: 1, n, inner: 1, shape: keepDims ? shape.map(() => 1) : [] };
  }
  const a = normalizeAxis(axis, shape.length, op);
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const out = keepDims ? shape.map((d, i) => (i === a ? 1 : d)) : shape.filter((_, i) => i !== a);
  return { outer, n: shape[a], inner, shape: out };
}
