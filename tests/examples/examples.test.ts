/**
 * Runs every example with --quick, in-process (each exports `main(args, log)`), and checks the lines it
 * promises: their format, and the numbers that can be checked exactly (the decayed rates, mean ± std of
 * the folds printed above it, the softmax-CE gradient of the tour).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main as irisInput } from '../../examples/iris-input-dropout.js';
import { main as irisHidden } from '../../examples/iris-hidden-dropout.js';
import { main as irisTime } from '../../examples/iris-time-decay.js';
import { main as irisStep, articleStepDecay } from '../../examples/iris-step-decay.js';
import { main as fashionLr } from '../../examples/fashion-lr-range-test.js';
import { main as sweep } from '../../examples/mnist-dropout-sweep.js';
import { main as d2l } from '../../examples/fashion-d2l-dropout.js';
import { main as tour } from '../../examples/tour.js';
import { main as drawGraph } from '../../examples/draw-graph.js';
import { main as regression } from '../../examples/regression.js';

async function run(main: (args: string[], log: (line: string) => void) => Promise<unknown>, args: string[]): Promise<string[]> {
  const lines: string[] = [];
  await main(args, (line) => lines.push(line));
  return lines;
}

/** The numbers of the first line matching `re` (its capture groups). */
function grab(lines: string[], re: RegExp): number[] {
  const line = lines.find((l) => re.test(l));
  expect(line, `no line matches ${re}\n${lines.join('\n')}`).toBeDefined();
  return re.exec(line!)!.slice(1).map(Number);
}

const tmp = mkdtempSync(join(tmpdir(), 'tapegrad-examples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each([
  ['iris-input-dropout', irisInput],
  ['iris-hidden-dropout', irisHidden],
])('%s --quick', (_name, main) => {
  it('prints one line per fold and their mean ± population std', async () => {
    const lines = await run(main, ['--quick']);
    const folds = lines.filter((l) => /^fold +\d+\/3: /.test(l)).map((l) => Number(/accuracy (\d\.\d{4})$/.exec(l)![1]));
    expect(folds).toHaveLength(3);
    const [mean, std] = grab(lines, /^accuracy: (\d\.\d{4}) ± (\d\.\d{4})$/);
    const m = folds.reduce((a, b) => a + b, 0) / 3;
    const s = Math.sqrt(folds.reduce((a, b) => a + (b - m) ** 2, 0) / 3);
    expect(mean).toBeCloseTo(m, 3);
    expect(std).toBeCloseTo(s, 3);
    expect(mean).toBeGreaterThan(0.5); // three classes: chance is 1/3
  });
});

describe('iris-time-decay --quick', () => {
  it("prints Keras's per-batch decayed rate every 20 epochs", async () => {
    const lines = await run(irisTime, ['--quick']);
    const rateLines = lines.filter((l) => l.startsWith('epoch'));
    expect(rateLines.length).toBe(2);
    for (const line of rateLines) {
      const [epoch, lr, iterations] = /^epoch +(\d+): lr (\d\.\d+) = 0\.1 \/ \(1 \+ 0\.005 × (\d+)\)$/.exec(line)!.slice(1).map(Number);
      expect(iterations).toBe(epoch * 24); // 120 flowers in batches of 5
      expect(lr).toBeCloseTo(0.1 / (1 + 0.005 * iterations), 6);
    }
    expect(grab(lines, /^test accuracy: (\d\.\d{4})$/)[0]).toBeGreaterThan(0.5);
  });
});

describe('iris-step-decay --quick', () => {
  it("halves the rate every 10 epochs and shows the article's formula next to it", async () => {
    const lines = await run(irisStep, ['--quick']);
    const at = (e: number) => grab(lines, new RegExp(`^epoch +${e}: lr ([\\d.e-]+) +article's formula: ([\\d.e-]+)`));
    expect(at(0)).toEqual([0.1, 0.093303]);
    expect(at(9)).toEqual([0.1, 0.05]);
    expect(at(10)).toEqual([0.05, 0.046652]);
    expect(at(20)[0]).toBe(0.025);
    expect(articleStepDecay(0)).toBeCloseTo(0.1 * 0.5 ** 0.1, 12);
    expect(grab(lines, /^test accuracy: (\d\.\d{4})$/)[0]).toBeGreaterThan(0.5);
  });
});

describe('fashion-lr-range-test --quick', () => {
  it("sweeps the rate with the library's finder, trains at its suggestion, checkpoints and reports test accuracy", async () => {
    const out = join(tmp, 'fashion-lr');
    const lines = await run(fashionLr, ['--quick', '--out', out]);
    const [swept, batches, first, last] = grab(lines, /^range test: (\d+) of (\d+) batches \((?:diverged|completed)\), rate ([\d.e+-]+) -> ([\d.e+-]+)/);
    expect(first).toBe(0.001);
    expect(swept).toBeLessThanOrEqual(batches);
    expect(last).toBeGreaterThan(0.1); // the loss does not turn up before this on Fashion-MNIST
    const [steepest, minOver10, halfTurn] = grab(lines, /^suggestions: steepest descent ([\d.e+-]+), minimum \/ 10 ([\d.e+-]+), half the turning point ([\d.e+-]+)$/);
    const [turning, lagging] = grab(lines, /^the loss turns up at rate ([\d.e+-]+) \(the moving average, which lags, is lowest at ([\d.e+-]+)\)$/);
    // The suggestions are read from one minimum of the loss (see optim/lrFinder.ts), before the lagging one.
    expect(halfTurn).toBeCloseTo(turning / 2, 3);
    expect(minOver10).toBeCloseTo(turning / 10, 3);
    expect(steepest).toBeLessThanOrEqual(turning);
    expect(lagging).toBeGreaterThanOrEqual(turning);
    expect(grab(lines, /^training at half the turning point: lr ([\d.e+-]+)$/)[0]).toBe(halfTurn);
    expect(existsSync(join(out, 'best.safetensors'))).toBe(true);
    expect(grab(lines, /^test accuracy: (\d\.\d{4})/)[0]).toBeGreaterThan(0.5);
  });
});

describe('mnist-dropout-sweep --quick', () => {
  it('prints the final accuracies per rate and writes the two figures', async () => {
    const figures = join(tmp, 'figures');
    const lines = await run(sweep, ['--quick', '--figures', figures]);
    const acc = (rate: string) => grab(lines, new RegExp(`^rate ${rate}: train accuracy (\\d\\.\\d{4}), validation accuracy (\\d\\.\\d{4})$`));
    const none = acc('0\\.0');
    const heavy = acc('0\\.9');
    acc('0\\.5');
    // Dropping 90% of the inputs slows learning a lot: the article's figure 1.
    expect(none[0]).toBeGreaterThan(heavy[0]);
    for (const name of ['mnist-dropout-train.svg', 'mnist-dropout-validation.svg']) {
      expect(readFileSync(join(figures, name), 'utf8')).toMatch(/^<svg/);
    }
  });
});

describe('fashion-d2l-dropout --quick', () => {
  it('trains with and without dropout and prints both', async () => {
    const lines = await run(d2l, ['--quick']);
    for (const name of ['dropout 0\\.2/0\\.5', 'no dropout']) {
      const [train, test] = grab(lines, new RegExp(`^${name}: train accuracy (\\d\\.\\d{4}), test accuracy (\\d\\.\\d{4})$`));
      expect(train).toBeGreaterThan(0.1);
      expect(test).toBeGreaterThan(0.1);
    }
  });
});

describe('tour --quick', () => {
  it('prints every stop of docs/TOUR.md with the numbers the text promises', async () => {
    const lines = await run(tour, ['--quick']);
    for (let stop = 1; stop <= 14; stop++) expect(lines.some((l) => l.startsWith(`${stop}. `)), `stop ${stop}`).toBe(true);
    // One number: c = a·b + b at a = 2, b = -3; b is used twice, so its gradient is a + 1.
    expect(lines).toContain('   c = -9');
    expect(grab(lines, /^ {3}a\.grad = (-?\d+) /)[0]).toBe(-3);
    expect(grab(lines, /^ {3}b\.grad = (-?\d+) /)[0]).toBe(3);
    expect(grab(lines, /^ {3}b is reached twice: (-?\d+) \+ (-?\d+) = (-?\d+)$/)).toEqual([1, 2, 3]);
    expect(lines).toContain('   c.backward() gives the same: a.grad = -3, b.grad = 3');
    expect(lines).toContain('   w.grad = [[5,5],[7,7],[9,9]]   (row k: the sum of x\'s column k)');
    expect(lines).toContain('   x: Tensor [64, 784], storage Float32Array(50176); y: Int32Array(64) = 8 6 8 7 2 7 3 7 9 3 ...');
    expect(grab(lines, /against the naive twin .*: largest difference ([\d.e+-]+)$/)[0]).toBeLessThan(1e-5);
    expect(grab(lines, /max difference ([\d.e+-]+), row sum/)[0]).toBeLessThan(1e-6);
    const [byHand, tape] = grab(lines, /dW\[3, 7\] = sum over b of .* = ([\d.e+-]+); the tape: ([\d.e+-]+)$/);
    expect(Math.abs(byHand - tape)).toBeLessThan(1e-5 * Math.abs(byHand));
    expect(byHand).not.toBe(0);
    expect(grab(lines, /that received a gradient: (\d+)$/)[0]).toBe(0);
    expect(grab(lines, /max relative error ([\d.e+-]+)$/)[0]).toBeLessThan(1e-2);
    const [before, after] = grab(lines, /after the step: (\d\.\d+) -> (\d\.\d+)$/);
    expect(after).toBeLessThan(before);
    expect(lines).toContain('   crossEntropy -> linear -> relu -> linear -> relu -> linear (then the leaves: 6 parameters)');
    // Sequential fuses Dense + ReLU; the gradients must not change.
    expect(lines).toContain('   through model.forward: crossEntropy -> linear -> linear+relu -> linear+relu; largest gradient difference 0');
    // fit: two epochs of 16 batches; the loss falls.
    const [loss0, , loss1] = grab(lines, /^ {3}epoch 0: loss (\d\.\d+), accuracy (\d\.\d+); epoch 1: loss (\d\.\d+)/);
    expect(loss1).toBeLessThan(loss0);
    expect(loss0).toBeLessThan(2.3);
    // The SIMD stop: the k-step's bytes, disassembled, are the engine's own (found in both k loops of each build).
    expect(lines).toContain('   packed (k-major panel): 0 10 20 30 1 11 21 31 2 12 22 32');
    expect(grab(lines, /^ {3}one k-step of the 4×8 tile \(mul\+add\): (\d+) instructions, (\d+) bytes/)).toEqual([66, 160]);
    expect(lines).toContain('     fd 09 02 00  v128.load32_splat align=4');
    expect(lines).toContain('     fd 85 02     f32x4.relaxed_madd');
    expect(grab(lines, /kernel module: mul\+add build (\d+)×, FMA build (\d+)×/)).toEqual([2, 2]);
  });
});

describe('draw-graph --quick', () => {
  it('writes the scalar expression with values and gradients and the MNIST step with shapes, as SVG', async () => {
    const figures = join(tmp, 'graphs');
    const lines = await run(drawGraph, ['--quick', '--figures', figures]);
    expect(grab(lines, /^graph-scalar\.svg: (\d+) nodes, (\d+) edges/)).toEqual([6, 6]); // a, b, a·b, c, mul, add
    // x, 6 parameters, 3 layer outputs, the loss; 3 linear ops and crossEntropy.
    expect(grab(lines, /^graph-mlp\.svg: (\d+) nodes, (\d+) edges/)).toEqual([15, 14]);
    const texts = (name: string) => {
      const svg = readFileSync(join(figures, name), 'utf8');
      expect(svg).toMatch(/<svg[\s>]/);
      return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&#45;/g, '-'));
    };
    const scalar = texts('graph-scalar.svg');
    for (const label of ['a', 'b', 'c', 'mul', 'add', 'data 2', 'grad -3', 'data -3', 'grad 3', 'data -9']) expect(scalar).toContain(label);
    const mlp = texts('graph-mlp.svg');
    for (const label of ['x: 8 images', '[8,784]', '0.weight', '[300,784]', '4.bias', 'linear+relu', 'linear', 'crossEntropy', 'loss']) expect(mlp).toContain(label);
    // Shapes only for the big tensors: the one value shown is the loss.
    expect(mlp.filter((t) => t.startsWith('data '))).toHaveLength(1);
  });
});

describe('regression', () => {
  it("learns y = 2x + 1, a two-output plane and a binary classifier from plain arrays", async () => {
    const lines = await run(regression, []);
    const [w, b] = grab(lines, /^line: y = ([\d.-]+)x \+ ([\d.-]+) \(true: 2x \+ 1\)/);
    expect(Math.abs(w - 2)).toBeLessThan(0.05);
    expect(Math.abs(b - 1)).toBeLessThan(0.05);
    const plane = grab(lines, /^plane: y1 = ([\d.-]+)x1 \+ ([\d.-]+)x2 \+ ([\d.-]+), y2 = ([\d.-]+)x1 \+ ([\d.-]+)x2 \+ ([\d.-]+)$/);
    plane.forEach((v, i) => expect(Math.abs(v - [1, 2, 0, -1, 0, 3][i])).toBeLessThan(0.02));
    expect(grab(lines, /^classifier: accuracy (\d\.\d{4})$/)[0]).toBeGreaterThan(0.95);
  });
});

describe('examples/common', () => {
  it('mean ± population std, and flags', async () => {
    const { meanStd, parseArgs } = await import('../../examples/common.js');
    const { mean, std } = meanStd([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    expect(std).toBeCloseTo(Math.sqrt(1.25), 12); // NumPy's std(), not the sample one (1.29)
    expect(parseArgs(['--quick']).figures).toBeNull();
    expect(parseArgs(['--figures', 'none']).figures).toBeNull();
    expect(parseArgs([]).figures).toMatch(/docs[\\/]figures$/);
    expect(parseArgs(['--rates', '0,0.5', '--quick']).flags.get('rates')).toBe('0,0.5');
    expect(() => parseArgs(['quick'])).toThrow(/unexpected argument "quick"/);
    expect(() => parseArgs(['--seed', '1.5'])).toThrow(/--seed must be an integer/);
  });
});
