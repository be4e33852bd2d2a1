import { expect } from 'vitest';

/**
 * Asserts two lists of numbers agree within `tol` (|a − b| ≤ tol · max(1, |b|)); on failure the
 * message names the largest difference and where it is.
 */
export function expectClose(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, tol = 1e-5): void {
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
  if (worst > tol) expect.fail(`largest difference ${worst.toExponential(3)} > ${tol} at index ${at}: got ${a[at]}, expected ${e[at]}`);
}
