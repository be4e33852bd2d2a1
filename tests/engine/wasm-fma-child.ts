/**
 * Run by tests/engine/wasm-fma.test.ts as `node [--experimental-wasm-relaxed-simd] --import tsx
 * tests/engine/wasm-fma-child.ts`: the twin checks of wasm-checks.ts on the FMA build
 * (f32x4.relaxed_madd), printed as one JSON line. The flag (Node 20 only: newer Nodes have relaxed SIMD
 * on, and refuse it) is the test's, never the program's.
 */
import { wasmSupport } from '../../engine/wasm/index.js';
import { allChecks, setup } from './wasm-checks.js';

const support = wasmSupport();
const result: { support: typeof support; fma: boolean; checks: number; failures: Record<string, string[]> } = {
  support, fma: false, checks: 0, failures: {},
};
if (support.relaxedSimd) {
  const { kernels, arena } = setup(true);
  result.fma = kernels.fma;
  for (const check of allChecks(kernels, arena)) {
    result.checks++;
    const bad = check.run();
    if (bad.length > 0) result.failures[check.name] = bad;
  }
}
process.stdout.write(`${JSON.stringify(result)}\n`);
