import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Where SharedArrayBuffer is missing (a page without cross-origin isolation, a worker without it), the
// WebAssembly backend still runs: tensors are plain arrays and each kernel call copies its operands
// into the backend's private memory and back. The copies change no value, so training there gives the
// same bits as over the shared memory on one thread.

const child = fileURLToPath(new URL('./backends-private-child.ts', import.meta.url));

function run(noShared: boolean): { backend: string; threads: number; fma: boolean; shared: boolean; arena: boolean; losses: number[]; weights: number[][] } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', child], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_SHARED_MEMORY: noShared ? '1' : '0' },
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string);
}

describe('the wasm backend without SharedArrayBuffer', () => {
  it('runs (not the JavaScript kernels), on one thread, and trains to the shared memory\'s bits', () => {
    const shared = run(false);
    const plain = run(true);
    expect(plain.shared).toBe(false);
    expect(plain.arena).toBe(false); // tensors are plain arrays
    expect(plain.backend).toBe('wasm');
    expect(plain.threads).toBe(1);
    expect(shared.shared && shared.arena).toBe(true);
    expect(plain.fma).toBe(shared.fma);
    expect(plain.losses[11]).toBeLessThan(plain.losses[0]);
    expect(plain.losses).toEqual(shared.losses);
    expect(plain.weights).toEqual(shared.weights);
  }, 120_000);
});
