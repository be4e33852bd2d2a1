import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLinks, fixLinks, locateQuote, parseLinks } from './tourLinks.js';

const docsDir = resolve(__dirname, '../../docs');

describe('docs/TOUR.md', () => {
  const tour = readFileSync(resolve(docsDir, 'TOUR.md'), 'utf8');

  it('every link resolves to a file, every range is inside it, every quote is inside its range', () => {
    // On failure, `npx tsx tests/docs/tourLinks.ts docs/TOUR.md --fix` moves ranges to where the quotes are now.
    expect(checkLinks(tour, docsDir)).toEqual([]);
  });

  it('quotes the code of every stop: engine, layers, optimizer', () => {
    const links = parseLinks(tour);
    const quoted = links.filter((l) => l.quote).map((l) => l.path);
    expect(quoted.length).toBeGreaterThanOrEqual(10);
    for (const file of ['../engine/tensor.ts', '../engine/ops/linear.ts', '../engine/kernels/softmax.ts', '../engine/gradcheck.ts']) {
      expect(quoted).toContain(file);
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
    expect(locateQuote(fileLines, ['function f() {', '  // ...', '  return x;'])).toEqual({ from: 2, to: 4 });
    expect(locateQuote(fileLines, ['return x;', 'const x = 1;'])).toBeNull();
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
