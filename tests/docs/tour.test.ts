import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main as tourMain } from '../../examples/tour.js';
import { checkLinks, declaredNames, fixLinks, locateQuote, parseLinks } from './tourLinks.js';

const docsDir = resolve(__dirname, '../../docs');

describe('docs/TOUR.md', () => {
  const tour = readFileSync(resolve(docsDir, 'TOUR.md'), 'utf8');
  const links = parseLinks(tour);
  const quoted = (path: string) => links.filter((l) => l.quote && l.path === path);

  it('every link resolves to a file, every range is inside it, every quote is inside its range', () => {
    // On failure, `npx tsx tests/docs/tourLinks.ts docs/TOUR.md --fix` moves ranges to where the quotes are now.
    expect(checkLinks(tour, docsDir)).toEqual([]);
  });

  it('quotes the code of every stop: engine, layers, optimizer, training loop, kernels', () => {
    const files = links.filter((l) => l.quote).map((l) => l.path);
    expect(files.length).toBeGreaterThanOrEqual(30);
    for (const file of [
      '../examples/tour.ts', '../engine/tensor.ts', '../engine/tape.ts', '../engine/ops/mul.ts', '../engine/ops/linear.ts',
      '../engine/kernels/softmax.ts', '../engine/gradcheck.ts', '../optim/sgd.ts', '../train/step.ts', '../train/fit.ts',
      '../engine/wasm/gemm.ts', '../engine/kernels/gemmPacked.ts', '../engine/kernels/matmul.ts',
    ]) {
      expect(files).toContain(file);
    }
  });

  it('quotes the lines the stops are about, not just their files', () => {
    const has = (path: string, line: string) => quoted(path).some((l) => l.quote!.some((q) => q.trim() === line));
    // The gradient-routing loop, where a tensor used twice gets the sum.
    expect(has('../engine/tape.ts', 'for (let k = 0; k < d.length; k++) d[k] += s[k];')).toBe(true);
    expect(has('../engine/tape.ts', 'const parentGrads = node.backward(g);')).toBe(true);
    // The three products of a Dense layer's backward.
    expect(has('../engine/ops/linear.ts', 'gemmTN(dweight.data, dpre, x.data, OUT, B, IN);')).toBe(true);
    // The training loop calls one trainStep per batch, and trainStep calls backward and the optimizer.
    expect(has('../train/fit.ts', 'const step = trainStep(setup, batch);')).toBe(true);
    expect(has('../train/step.ts', 'total.backward();')).toBe(true);
    // The tile loop's pseudo-code beside its generator.
    expect(has('../engine/wasm/gemm.ts', '//           c_r0 += a·b0;  c_r1 += a·b1                (f32x4.relaxed_madd when fma)')).toBe(true);
    expect(has('../engine/wasm/gemm.ts', "f.set('a', f.v128Load32Splat(g('q'), 4 * r));")).toBe(true);
  });

  it('shows both pictures of the tape', () => {
    for (const figure of ['figures/graph-scalar.svg', 'figures/graph-mlp.svg']) {
      expect(tour.split('\n').some((l) => l.startsWith('![') && l.endsWith(`](${figure})`)), figure).toBe(true);
    }
  });

  it('starts at one number, and keeps the TypeScript box to five lines', () => {
    const stops = [...tour.matchAll(/^## (\d+)\. (.*)$/gm)];
    expect(stops[0][2]).toMatch(/^One number/);
    expect(stops.map((m) => Number(m[1]))).toEqual(stops.map((_, i) => i + 1));
    const box = tour.split('\n').filter((l, i, all) => l.startsWith('>') && all.slice(0, i + 1).some((b) => b.includes('TypeScript for Python readers')));
    expect(box.length).toBeGreaterThan(0);
    expect(box.length).toBeLessThanOrEqual(5);
  });

  it("shows examples/tour.ts's output as the tour prints it", async () => {
    // Blocks fenced as ```text tour hold lines of the tour's output: each must be printed, in this order.
    const lines: string[] = [];
    await tourMain([], (line) => lines.push(line.trimEnd()));
    const blocks = [...tour.matchAll(/^```text tour\n([\s\S]*?)^```$/gm)].map((m) => m[1].split('\n').filter((l) => l.trim() !== ''));
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    for (const block of blocks) {
      let at = lines.indexOf(block[0].trimEnd());
      expect(at, `not printed by examples/tour.ts: ${block[0]}`).toBeGreaterThanOrEqual(0);
      for (const line of block.slice(1)) {
        expect(lines[++at], `after "${lines[at - 1]}"`).toBe(line.trimEnd());
      }
    }
  });
});

describe('docs/EXPERIMENTS.md', () => {
  it('links only to files that exist: every example script and every figure it shows', () => {
    const text = readFileSync(resolve(docsDir, 'EXPERIMENTS.md'), 'utf8');
    expect(checkLinks(text, docsDir)).toEqual([]);
    const figures = parseLinks(text).filter((l) => l.path.endsWith('.svg'));
    expect(figures.length).toBeGreaterThanOrEqual(7);
    // Every experiment's command names a script that exists.
    for (const m of text.matchAll(/npx tsx (examples\/[\w-]+\.ts)/g)) {
      expect(checkLinks(`[x](../${m[1]})`, docsDir), m[1]).toEqual([]);
    }
  });
});

describe('the link checker itself', () => {
  const src = ['a', 'function f() {', '  const x = 1;', '  return x;', '}', ''].join('\n');
  const fileLines = src.split('\n');

  it('finds a quote in order, with elided lines, as the tightest range', () => {
    expect(locateQuote(fileLines, ['function f() {', '  // …', '  return x;'])).toEqual({ from: 2, to: 4 });
    expect(locateQuote(fileLines, ['return x;', 'const x = 1;'])).toBeNull();
  });

  it('refuses a quote that leaves lines out silently, or marks an elision that leaves nothing out', () => {
    expect(locateQuote(fileLines, ['function f() {', '  return x;'])).toBeNull(); // `const x = 1;` dropped unmarked
    expect(locateQuote(fileLines, ['function f() {', '// …', 'const x = 1;'])).toBeNull(); // nothing elided
    expect(locateQuote(fileLines, ['function f() {', '  // ...', '  return x;'])).toBeNull(); // only `// …` marks
    // Blank lines of the file may be left out without a marker.
    expect(locateQuote(['a', '', 'b'], ['a', 'b'])).toEqual({ from: 1, to: 3 });
  });

  it('reports a variable the quote uses but declares only in an elided line', () => {
    const dir = resolve(__dirname);
    const file = 'tourLinks.ts';
    const lines = readFileSync(resolve(dir, file), 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith('export function locateQuote')) + 1;
    const doc = (quote: string[]) => [`[q](${file}#L${at}-L${at + 12})`, '', '```ts', ...quote, '```'].join('\n');
    const hidden = checkLinks(doc(['export function locateQuote(fileLines: string[], quote: string[]): { from: number; to: number } | null {',
      '  // …', '  for (let s = 0; s < fileLines.length; s++) {', '    const at = matchFrom(fileLines, q, s, fileLines.length - 1);']), dir);
    expect(hidden).toHaveLength(1);
    expect(hidden[0]).toMatch(/uses 'q', declared in an elided line/);
    const shown = checkLinks(doc(['export function locateQuote(fileLines: string[], quote: string[]): { from: number; to: number } | null {',
      '  const q = quoteLines(quote);', '  // …', '  for (let s = 0; s < fileLines.length; s++) {', '    const at = matchFrom(fileLines, q, s, fileLines.length - 1);']), dir);
    expect(shown).toEqual([]);
    expect(declaredNames('const [dab, db1] = c.node!.backward(seed); let s = 0;')).toEqual(['s', 'dab', 'db1']);
    expect(declaredNames("const { data: dout, shape } = t; // const hidden = 1")).toEqual(['dout', 'shape']);
  });

  it('reports a quote outside its range, a missing file and a range past the end, and fixes the first', () => {
    const dir = resolve(__dirname);
    const self = 'tourLinks.ts';
    const lines = readFileSync(resolve(dir, self), 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith('export function parseLinks')) + 1;
    const doc = [
      `See [x](${self}#L1-L2):`,
      '',
      '```ts',
      'export function parseLinks(markdown: string): SourceLink[] {',
      '```',
      `[gone](nope.ts#L1-L2) and [long](${self}#L1-L99999)`,
    ].join('\n');
    const problems = checkLinks(doc, dir);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain(`now at L${at}-L${at}`);
    expect(problems[1]).toContain('no such file');
    expect(problems[2]).toContain('outside');
    const fixed = fixLinks(doc, dir).text;
    expect(fixed).toContain(`(${self}#L${at}-L${at})`);
    expect(checkLinks(fixed, dir)).toHaveLength(2);
  });
});
