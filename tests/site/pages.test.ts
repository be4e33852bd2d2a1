/**
 * The site's pieces that need no build: where a Markdown link goes (siteLink), GitHub's heading ids,
 * the README's sections, the rendered links, and the link checker on a folder made here with known
 * broken links. (tests/site/site.test.ts builds the whole site and opens it.)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXAMPLE_SECTIONS, brokenLinks, navHtml, readmeSection, renderMarkdown, siteLink, slug } from '../../playground/site.js';

const ctx = { repository: 'https://github.com/tapegrad/tapegrad', revision: 'abc1234' };

describe('siteLink: where a Markdown link goes on the site', () => {
  it('a source file, with its lines, goes to the repository at the revision', () => {
    expect(siteLink('../engine/tape.ts#L12-L30', 'docs/TOUR.md', ctx)).toBe('https://github.com/tapegrad/tapegrad/blob/abc1234/engine/tape.ts#L12-L30');
    expect(siteLink('CHANGELOG.md', 'README.md', ctx)).toBe('https://github.com/tapegrad/tapegrad/blob/abc1234/CHANGELOG.md');
    expect(siteLink('../examples/', 'docs/EXPERIMENTS.md', ctx)).toBe('https://github.com/tapegrad/tapegrad/tree/abc1234/examples');
  });

  it("a page the site renders stays in the site, a figure is the site's copy, other sites and fragments stay as written", () => {
    expect(siteLink('docs/TOUR.md', 'README.md', ctx)).toBe('tour.html');
    expect(siteLink('EXPERIMENTS.md#5-fashion-mnist', 'docs/TOUR.md', ctx)).toBe('experiments.html#5-fashion-mnist');
    expect(siteLink('figures/graph-mlp.svg', 'docs/TOUR.md', ctx)).toBe('figures/graph-mlp.svg');
    expect(siteLink('docs/figures/playground-draw.png', 'README.md', ctx)).toBe('figures/playground-draw.png');
    expect(siteLink('https://pytorch.org/docs', 'docs/TOUR.md', ctx)).toBe('https://pytorch.org/docs');
    expect(siteLink('#speed', 'README.md', ctx)).toBe('#speed');
  });

  it('a link to a file that is not there, or outside the repository, is an error naming both', () => {
    expect(() => siteLink('../engine/nothing.ts#L1', 'docs/TOUR.md', ctx)).toThrow(/docs\/TOUR\.md links to \.\.\/engine\/nothing\.ts#L1, but engine\/nothing\.ts does not exist/);
    expect(() => siteLink('../../etc/passwd', 'docs/TOUR.md', ctx)).toThrow(/outside the repository/);
  });
});

describe('the Markdown pages', () => {
  it("heading ids are GitHub's", () => {
    expect(slug('1. One number: a, b, c = a·b + b')).toBe('1-one-number-a-b-c--ab--b');
    expect(slug('Use it as a library')).toBe('use-it-as-a-library');
    expect(slug('The `fit` loop (train/fit.ts)')).toBe('the-fit-loop-trainfitts');
    const html = renderMarkdown('# Title\n\n## Same\n\n## Same\n\n## With `code` and [a link](../README.md)\n', 'docs/X.md', ctx);
    expect(html).toContain('<h1 id="title">');
    expect(html).toContain('<h2 id="same">');
    expect(html).toContain('<h2 id="same-1">');
    expect(html).toContain('<h2 id="with-code-and-a-link">');
  });

  it('links and images are rewritten; raw HTML is not passed through', () => {
    const html = renderMarkdown('See [step](../train/step.ts#L5) and ![g](figures/graph-mlp.svg). <script>x()</script>', 'docs/TOUR.md', ctx);
    expect(html).toContain('<a href="https://github.com/tapegrad/tapegrad/blob/abc1234/train/step.ts#L5">step</a>');
    expect(html).toContain('<img src="figures/graph-mlp.svg" alt="g">');
    expect(html).not.toContain('<script>');
  });

  it("the examples are the README's sections, whole, and a heading inside a code block does not end one", () => {
    const readme = '# t\n\n## A\n\none\n\n```sh\n## not a heading\n```\n\n### A.1\n\ntwo\n\n## B\n\nthree\n';
    expect(readmeSection(readme, 'A')).toBe('## A\n\none\n\n```sh\n## not a heading\n```\n\n### A.1\n\ntwo\n');
    expect(readmeSection(readme, 'B')).toBe('## B\n\nthree\n');
    expect(() => readmeSection(readme, 'C')).toThrow("README.md has no section '## C'");
    expect(EXAMPLE_SECTIONS).toEqual(['Use it as a library', 'The command line']);
  });

  it('the menu is relative to the page and marks where it is', () => {
    const nav = navHtml('../', 'playground/');
    expect(nav).toContain('<a href="../playground/" aria-current="page">Playground</a>');
    expect(nav).toContain('<a href="../api/">API reference</a>');
    expect(nav).toContain('<a class="repo" href="https://github.com/tapegrad/tapegrad">');
  });
});

describe('brokenLinks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapegrad-links-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds missing files and fragments, follows folders to index.html, and leaves other sites alone', () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub/index.html'), '<h1 id="top">x</h1><a href="../index.html#here">back</a><a name="anchor"></a>');
    writeFileSync(join(dir, 'pic.svg'), '<svg/>');
    writeFileSync(
      join(dir, 'index.html'),
      [
        '<p id="here">', '<a href="sub/">ok</a>', '<a href="sub/#top">ok</a>', '<a href="sub/index.html#anchor">ok</a>', '<img src="pic.svg">',
        '<a href="#here">ok</a>', '<a href="https://example.com/x">ok</a>', '<link rel="icon" href="data:,">',
        '<a href="missing.html">bad</a>', '<a href="sub/#nowhere">bad</a>', '<img src="gone.png">', '<a href="../../outside.html">bad</a>',
      ].join('\n'),
    );
    expect(brokenLinks(dir)).toEqual([
      'index.html: missing.html',
      'index.html: sub/#nowhere (no #nowhere there)',
      'index.html: gone.png',
      'index.html: ../../outside.html (outside the site)',
    ]);
  });
});

describe('npm run site (playground/siteCli.ts)', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'playground/siteCli.ts', ...args], { cwd: process.cwd() });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('a bad flag is one line on stderr and exit code 2, before anything is built', async () => {
    for (const args of [['--serve', '--port', 'eighty'], ['--bogus']]) {
      const { code, stdout, stderr } = await run(args);
      expect(code, args.join(' ')).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^site: /);
    }
  }, 60_000);
});
