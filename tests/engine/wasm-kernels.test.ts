import { describe, expect, it } from 'vitest';
import { wasmSupport } from '../../engine/wasm/index.js';
import { elementwiseChecks, gemmChecks, layerChecks, normChecks, optimChecks, setup } from './wasm-checks.js';

// The runtime as the program sees it (no V8 flag): 128-bit SIMD, the mul+add tile loop. The FMA
// build runs the same checks in a child process (wasm-fma.test.ts).
const { kernels, arena } = setup(false);

describe('wasm kernels (mul+add) against their naive twins', () => {
  it('are the mul+add build', () => {
    expect(wasmSupport().simd).toBe(true);
    expect(kernels.fma).toBe(false);
  });
  for (const check of [
    ...gemmChecks(kernels, arena), ...elementwiseChecks(kernels, arena), ...optimChecks(kernels, arena), ...layerChecks(kernels, arena),
    ...normChecks(kernels, arena),
  ]) {
    it(check.name, () => {
      expect(check.run()).toEqual([]);
    });
  }
});

describe('wasm kernels over a non-shared memory (one thread, no SharedArrayBuffer)', () => {
  const plain = setup(false, false);
  const checks = [...gemmChecks(plain.kernels, plain.arena)].filter((c) => c.name.startsWith('NT: 127'));
  checks.push(...elementwiseChecks(plain.kernels, plain.arena).slice(0, 1), ...layerChecks(plain.kernels, plain.arena).slice(0, 1));
  checks.push(...normChecks(plain.kernels, plain.arena).slice(0, 3));
  for (const check of checks) {
    it(check.name, () => {
      expect(check.run()).toEqual([]);
    });
  }
});
