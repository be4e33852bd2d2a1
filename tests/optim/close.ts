import { expect } from 'vitest';

/** Asserts every value is within `tol` (absolute + relative) of its reference, reporting the largest miss. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]) / (tol * (1 + Math.abs(expected[i])));
    if (!(diff <= worst)) {
      worst = diff;
      at = i;
    }
  }
  if (!(worst <= 1)) {
    throw new Error(`largest difference at [${at}]: got ${actual[at]}, expected ${expected[at]} (tolerance ${tol})`);
  }
}
