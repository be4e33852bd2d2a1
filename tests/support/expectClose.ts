import { expect } from 'vitest';

type Numeric = ArrayLike<number> | number;

/**
 * Asserts two arrays (or numbers) agree within `tol`, absolutely or relatively (whichever is looser:
 * |a − b| ≤ tol · max(1, |b|)), and on failure reports the largest difference and where it is.
 */
export function expectClose(actual: Numeric, expected: Numeric, tol = 1e-5): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  expect(a.length, 'lengths differ').toBe(e.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i] - e[i]) / Math.max(1, Math.abs(e[i]));
    if (!(diff <= worst)) {
      worst = Number.isNaN(diff) ? Infinity : diff;
      at = i;
    }
  }
  if (worst > tol) {
    expect.fail(`largest difference ${worst.toExponential(3)} > ${tol} at index ${at}: got ${a[at]}, expected ${e[at]}`);
  }
}

/** Flattens nested arrays of numbers. */
export function flat(values: unknown): number[] {
  return Array.isArray(values) ? values.flatMap(flat) : [values as number];
}
