/**
 * Issue 22's examples with --quick, in-process: the optimizer zoo, the augmentation table and the
 * augmentation picture. Each prints the lines docs/EXPERIMENTS.md quotes; the numbers that can be
 * checked are.
 */
import { describe, expect, it } from 'vitest';
import { main as zoo } from '../../examples/mnist-optimizer-zoo.js';
import { main as augmentation } from '../../examples/mnist-augmentation.js';
import { encodePng, main as picture } from '../../examples/augmentations.js';
import { inflateSync } from 'node:zlib';

async function run<T>(main: (args: string[], log: (line: string) => void) => Promise<T>, args: string[]): Promise<{ lines: string[]; result: T }> {
  const lines: string[] = [];
  const result = await main(args, (line) => lines.push(line));
  return { lines, result };
}

describe('mnist-optimizer-zoo --quick', () => {
  it('finds a rate for each optimizer, trains it, and tabulates rate, test accuracy and time', async () => {
    // Muon's Newton–Schulz on the 300×784 matrix takes most of a step: it is left to the full run (and tests/cli).
    const { lines, result } = await run(zoo, ['--quick', '--only', 'momentum,adamax,lion,lookahead(adam)']);
    expect(result.map((r) => r.name)).toEqual(['Momentum', 'AdaMax', 'Lookahead(Adam)', 'Lion']);
    for (const r of result) {
      expect(r.lr, r.name).toBeGreaterThan(1e-6);
      expect(r.lr, r.name).toBeLessThan(10);
      // Ten classes: chance is 0.1; one quick epoch on 1,200 images gets well past it.
      expect(r.testAccuracy, r.name).toBeGreaterThan(0.3);
    }
    expect(lines).toContain('| optimizer | `--optimizer` | rate (finder) | test accuracy | training time |');
    expect(lines.some((l) => /^\| Lookahead\(Adam\) \| adam --lookahead 5 \| \d\.\de-\d \| \d\.\d{4} \| \d+ s \|$/.test(l))).toBe(true);
  });
});

describe('mnist-augmentation --quick', () => {
  it('trains the same net without and with augmentation and tabulates the test error', async () => {
    const { lines, result } = await run(augmentation, ['--quick', '--only', 'none,affine']);
    expect(result.map((r) => r.name)).toEqual(['none', 'affine']);
    for (const r of result) expect(r.testError).toBeLessThan(0.8);
    expect(lines.some((l) => /^\| affine \| \d+\.\d\d% \| \d\.\d{4} \| \d+\.\d \([+-]\d+%\) \|$/.test(l))).toBe(true);
  });
});

describe('augmentations (the picture)', () => {
  it('draws a digit and eight augmentations whose ink stays near the digit\'s', async () => {
    const { lines, result } = await run(picture, ['--quick']);
    expect(result.inkRatios).toHaveLength(9);
    expect(result.inkRatios[0]).toBe(1);
    // Shifts keep every pixel (the digit is inside the frame); resampling blurs and moves ink, within limits.
    expect(result.inkRatios[1]).toBeCloseTo(1, 6);
    for (const r of result.inkRatios) expect(r).toBeGreaterThan(0.6);
    for (const r of result.inkRatios) expect(r).toBeLessThan(1.4);
    expect(lines[0]).toMatch(/^sample 7 \(a 3\): ink of each augmentation/);
  });

  it('encodePng writes a PNG whose pixels read back', () => {
    const pixels = Uint8Array.from({ length: 6 }, (_, i) => i * 40);
    const png = encodePng(pixels, 3, 2);
    expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    const view = new DataView(png.buffer, png.byteOffset);
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([3, 2]);
    const idatLength = view.getUint32(33);
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    // Each row: filter byte 0, then the row's pixels.
    expect(Array.from(raw)).toEqual([0, 0, 40, 80, 0, 120, 160, 200]);
  });
});
