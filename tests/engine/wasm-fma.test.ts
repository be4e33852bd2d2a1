import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { wasmSupport } from '../../engine/wasm/index.js';

const child = fileURLToPath(new URL('./wasm-fma-child.ts', import.meta.url));

describe('wasm kernels with FMA (f32x4.relaxed_madd)', () => {
  it('is not available without the V8 flag on Node 20, so the program builds mul+add there', () => {
    const [major] = process.versions.node.split('.').map(Number);
    // Newer Nodes ship relaxed SIMD on; on 20 it validates only behind --experimental-wasm-relaxed-simd.
    if (major === 20) expect(wasmSupport().relaxedSimd).toBe(false);
    expect(wasmSupport().simd).toBe(true);
  });

  it('passes every twin check in a child that has relaxed SIMD (Node 20: started with --experimental-wasm-relaxed-simd)', () => {
    // Node 22 and later ship relaxed SIMD on and reject the flag ("bad option"); Node 20 has it only behind it.
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
