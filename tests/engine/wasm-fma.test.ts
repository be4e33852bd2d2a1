import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gemmNN } from '../../engine/backends/index.js';
import { allocPersistent } from '../../engine/memory.js';
import { getBackend, setBackend, usesFma } from '../../engine/index.js';
import { wasmSupport } from '../../engine/wasm/index.js';

const child = fileURLToPath(new URL('./wasm-fma-child.ts', import.meta.url));

describe('wasm kernels with FMA (f32x4.relaxed_madd)', () => {
  it('is not available without the V8 flag on Node 20, so the program builds mul+add there', () => {
    const [major] = process.versions.node.split('.').map(Number);
    // Newer Nodes ship relaxed SIMD on; on 20 it validates only behind --experimental-wasm-relaxed-simd.
    if (major === 20) expect(wasmSupport().relaxedSimd).toBe(false);
    expect(wasmSupport().simd).toBe(true);
  });

  it('usesFma() says what the products compute: a sum that differs by one rounding', async () => {
    await setBackend('wasm');
    expect(getBackend()).toBe('wasm');
    // C = a0·b0 + a1·b1 with a0·b0 = −(1 + 2⁻¹¹) exactly and a1·b1 = 1 + 2⁻¹¹ + 2⁻²⁴: fused, the second
    // multiply-add rounds once and leaves 2⁻²⁴; as mul then add, a1·b1 rounds to 1 + 2⁻¹¹ first and C is 0.
    const A = allocPersistent(2);
    const B = allocPersistent(2);
    A.set([-(1 + 2 ** -11), 1 + 2 ** -12]);
    B.set([1, 1 + 2 ** -12]);
    const C = allocPersistent(1);
    gemmNN(C, A, B, 1, 2, 1);
    expect(C[0] === 2 ** -24 ? 'fused' : C[0] === 0 ? 'mul+add' : `other ${C[0]}`).toBe(usesFma() ? 'fused' : 'mul+add');
    expect(usesFma()).toBe(wasmSupport().fusedMadd);
  });

  it('passes every twin check in a child whose WebAssembly has relaxed SIMD (with --experimental-wasm-relaxed-simd on Node 20)', () => {
    // Node 20 validates relaxed SIMD only behind the flag; Node ≥ 22 has it on and rejects the flag.
    const flags = wasmSupport().relaxedSimd ? [] : ['--experimental-wasm-relaxed-simd'];
    const out = execFileSync(process.execPath, [...flags, '--import', 'tsx', child], {
      encoding: 'utf8', timeout: 120_000,
    });
    const result = JSON.parse(out.trim().split('\n').at(-1) as string);
    expect(result.support.relaxedSimd).toBe(true);
    expect(result.fma).toBe(true);
    expect(result.checks).toBeGreaterThan(20);
    expect(result.failures).toEqual({});
  });
});
