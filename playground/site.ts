/**
 * `npm run site`: the whole site as one static folder (`site/`, not committed) that any static host
 * serves as it is (GitHub Pages included: no server of ours, no headers of ours):
 *
 *   index.html              the landing page
 *   playground/             the playground: its page, bundles, coi-serviceworker's service worker, and
 *                           MNIST's four IDX files under data/ (fetched by the page; no data in a bundle)
 *   tour.html               docs/TOUR.md
 *   experiments.html        docs/EXPERIMENTS.md
 *   examples.html           the README's examples: its library and command-line sections
 *   figures/                docs/figures/
 *   api/                    the TypeDoc API reference (`npm run docs`'s, with the site's links added)
 *
 * Every page links to the others. A relative link in the Markdown to a file of the repository (the
 * tour's `../engine/tape.ts#L12-L30`) becomes a link to that file in the repository on GitHub
 * (package.json's `repository`), at the commit the site is built from, so that the line numbers are the
 * ones the tour quotes; a link to a page the site has stays in the site. The build ends by checking
 * every link of every page (`brokenLinks`), fragments included, and fails on one that goes nowhere.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import MarkdownIt from 'markdown-it';
import { buildPlayground, STATIC_DIR } from './build.js';
import { MNIST_FILES } from './mnist.js';
import { mnistDataDir } from './server.js';

export const REPO_DIR = fileURLToPath(new URL('../', import.meta.url));
export const DEFAULT_SITE_DIR = join(REPO_DIR, 'site');
const PAGES_DIR = fileURLToPath(new URL('./pages/', import.meta.url));

/** The Markdown the site renders, by repository path, and the page each becomes. */
export const DOC_PAGES: Record<string, string> = {
  'docs/TOUR.md': 'tour.html',
  'docs/EXPERIMENTS.md': 'experiments.html',
};

/** The README's sections that make the examples page, by their headings. */
export const EXAMPLE_SECTIONS = ['Use it as a library', 'The command line'];

/** The site's menu: page, label. */
const NAV: [string, string][] = [
  ['index.html', 'tapegrad'],
  ['playground/', 'Playground'],
  ['tour.html', 'Tour'],
  ['experiments.html', 'Experiments'],
  ['examples.html', 'Examples'],
  ['api/', 'API reference'],
];

/** `https://github.com/owner/name`, from package.json's `repository`. */
export function repositoryUrl(): string {
  const pkg = JSON.parse(readFileSync(join(REPO_DIR, 'package.json'), 'utf8')) as { repository?: string | { url?: string } };
  const raw = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  if (raw === undefined) throw new Error('site: package.json has no repository, which the source links point at');
  return raw.replace(/^git\+/, '').replace(/\.git$/, '');
}

/** The commit checked out (the source links' revision), or 'main' where git cannot say. */
export function currentRevision(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'main';
  }
}

export interface LinkContext {
  /** `https://github.com/owner/name`. */
  repository: string;
  /** Branch, tag or commit the source links point at. */
  revision: string;
}

/**
 * Where a link in the Markdown file `from` (a repository path) goes on the site: a page the site has,
 * a figure it copies, or the file in the repository. External links and fragments stay as written. A
 * link to a file that does not exist is an error naming both.
 */
export function siteLink(target: string, from: string, ctx: LinkContext): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) return target;
  const hash = target.indexOf('#');
  const path = hash < 0 ? target : target.slice(0, hash);
  const fragment = hash < 0 ? '' : target.slice(hash);
  const repoPath = posix.normalize(posix.join(posix.dirname(from), decodeURI(path)));
  if (repoPath.startsWith('..')) throw new Error(`site: ${from} links to ${target}, outside the repository`);
  const page = DOC_PAGES[repoPath];
  if (page !== undefined) return page + fragment;
  if (repoPath.startsWith('docs/figures/') && existsSync(join(REPO_DIR, repoPath))) return `figures/${posix.basename(repoPath)}`;
  const file = join(REPO_DIR, repoPath);
  if (!existsSync(file)) throw new Error(`site: ${from} links to ${target}, but ${repoPath} does not exist`);
  const kind = statSync(file).isDirectory() ? 'tree' : 'blob';
  return `${ctx.repository}/${kind}/${ctx.revision}/${repoPath.replace(/\/$/, '')}${fragment}`;
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens ("1. One number" → "1-one-number"). */
export function slug(text: string): string {
  return text.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/**
 * Markdown to HTML (markdown-it: CommonMark and GitHub's tables), with the site's links (siteLink)
 * and GitHub's ids on headings, so that a section can be linked to as on GitHub.
 */
export function renderMarkdown(markdown: string, from: string, ctx: LinkContext): string {
  const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
  md.core.ruler.push('tapegrad_site', (state) => {
    const seen = new Map<string, number>();
    state.tokens.forEach((token, i) => {
      if (token.type === 'heading_open') {
        const inline = state.tokens[i + 1];
        const text = (inline.children ?? []).filter((c) => c.type === 'text' || c.type === 'code_inline').map((c) => c.content).join('');
        const base = slug(text);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        token.attrSet('id', n === 0 ? base : `${base}-${n}`);
      }
      for (const child of token.children ?? []) {
        if (child.type === 'link_open') child.attrSet('href', siteLink(String(child.attrGet('href')), from, ctx));
        if (child.type === 'image') child.attrSet('src', siteLink(String(child.attrGet('src')), from, ctx));
      }
    });
  });
  return md.render(markdown);
}

/** The README's `## heading` section, heading included, up to the next `## `. */
export function readmeSection(readme: string, heading: string): string {
  const lines = readme.split('\n');
  let inFence = false;
  let start = -1;
  let end = lines.length;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('```')) inFence = !inFence;
    if (inFence || !lines[i].startsWith('## ')) continue;
    if (start >= 0) {
      end = i;
      break;
    }
    if (lines[i] === `## ${heading}`) start = i;
  }
  if (start < 0) throw new Error(`site: README.md has no section '## ${heading}'`);
  return lines.slice(start, end).join('\n');
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The site's menu, for a page `root` away from the site's top ('' or '../'), `current` marked. */
export function navHtml(root: string, current: string): string {
  const links = NAV.map(([href, label]) => `<a href="${root}${href}"${href === current ? ' aria-current="page"' : ''}>${label}</a>`);
  return `<nav class="site-nav" aria-label="site">${links.join('')}<a class="repo" href="${escapeHtml(repositoryUrl())}">source on GitHub</a></nav>`;
}

function pageHtml(options: { title: string; file: string; body: string; ctx: LinkContext }): string {
  const { title, file, body, ctx } = options;
  const short = ctx.revision.length === 40 ? ctx.revision.slice(0, 7) : ctx.revision;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="site.css">
</head>
<body class="doc">
${navHtml('', file)}
<main>
${body}
</main>
<footer>tapegrad, MIT licence. Built from <a href="${ctx.repository}/tree/${ctx.revision}">${escapeHtml(short)}</a>; source links point at that commit.</footer>
</body>
</html>
`;
}

/** The first `# heading` of a Markdown file, as text. */
function titleOf(markdown: string): string {
  return (/^# (.*)$/m.exec(markdown)?.[1] ?? 'tapegrad').replace(/`/g, '');
}

export interface SiteOptions {
  /** Where the site goes; emptied first. Default `site/` in the repository. */
  outDir?: string;
  /** The revision source links point at (default: the commit checked out). */
  revision?: string;
  /** Called with each step's description as it starts. */
  log?: (line: string) => void;
}

export interface SiteResult {
  outDir: string;
  /** Every HTML page, relative to outDir. */
  pages: string[];
  revision: string;
  ms: number;
}

/** Builds the site (see the file's comment). Throws if any page links to something the site does not have. */
export async function buildSite(options: SiteOptions = {}): Promise<SiteResult> {
  const t0 = performance.now();
  const outDir = resolve(options.outDir ?? DEFAULT_SITE_DIR);
  const log = options.log ?? (() => {});
  const ctx: LinkContext = { repository: repositoryUrl(), revision: options.revision ?? currentRevision() };
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  log('the API reference (TypeDoc)…');
  const api = typedoc(join(outDir, 'api'), ctx.revision);
  log('the playground…');
  await playground(join(outDir, 'playground'));
  log('the pages…');
  pages(outDir, ctx);
  await api;
  siteLinksInApi(join(outDir, 'api'));
  // GitHub Pages runs Jekyll unless told not to, and Jekyll drops files whose names start with '_'.
  writeFileSync(join(outDir, '.nojekyll'), '');

  const broken = brokenLinks(outDir);
  if (broken.length > 0) throw new Error(`site: ${broken.length} broken link(s):\n${broken.slice(0, 20).join('\n')}`);
  return { outDir, pages: htmlFiles(outDir), revision: ctx.revision, ms: performance.now() - t0 };
}

async function playground(dir: string): Promise<void> {
  await buildPlayground(dir);
  copyFileSync(join(STATIC_DIR, 'style.css'), join(dir, 'style.css'));
  const require = createRequire(import.meta.url);
  copyFileSync(require.resolve('coi-serviceworker/coi-serviceworker.js'), join(dir, 'coi-serviceworker.js'));
  const html = readFileSync(join(STATIC_DIR, 'index.html'), 'utf8')
    .replace('<!-- site: head -->', '<meta name="tapegrad:service-worker" content="coi-serviceworker.js">\n  <link rel="stylesheet" href="../site.css">')
    .replace('<!-- site: nav -->', navHtml('../', 'playground/'));
  writeFileSync(join(dir, 'index.html'), html);
  mkdirSync(join(dir, 'data'));
  for (const name of Object.values(MNIST_FILES)) copyFileSync(join(mnistDataDir(), name), join(dir, 'data', name));
}

function pages(outDir: string, ctx: LinkContext): void {
  copyFileSync(join(PAGES_DIR, 'site.css'), join(outDir, 'site.css'));
  mkdirSync(join(outDir, 'figures'));
  for (const f of readdirSync(join(REPO_DIR, 'docs/figures'))) copyFileSync(join(REPO_DIR, 'docs/figures', f), join(outDir, 'figures', f));

  for (const [doc, file] of Object.entries(DOC_PAGES)) {
    const markdown = readFileSync(join(REPO_DIR, doc), 'utf8');
    writeFileSync(join(outDir, file), pageHtml({ title: `${titleOf(markdown)} · tapegrad`, file, body: renderMarkdown(markdown, doc, ctx), ctx }));
  }

  const readme = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');
  const examples = EXAMPLE_SECTIONS.map((s) => renderMarkdown(readmeSection(readme, s), 'README.md', ctx)).join('\n');
  const examplesIntro = `<h1 id="examples">Examples</h1>\n<p>From the <a href="${ctx.repository}/blob/${ctx.revision}/README.md">README</a>: tapegrad as a library, in Node and in a page, and its command line. Every snippet of the library section is run by the test suite.</p>\n`;
  writeFileSync(join(outDir, 'examples.html'), pageHtml({ title: 'Examples · tapegrad', file: 'examples.html', body: examplesIntro + examples, ctx }));

  // The landing page: its own text (pages/index.html), with the README's opening paragraphs in it.
  const start = readme.indexOf('tapegrad is a from-scratch');
  const intro = renderMarkdown(readme.slice(start, readme.indexOf('\n## ', start)).trim(), 'README.md', ctx);
  const landing = readFileSync(join(PAGES_DIR, 'index.html'), 'utf8').replace('{{readme-intro}}', intro).replaceAll('{{repository}}', ctx.repository);
  writeFileSync(join(outDir, 'index.html'), pageHtml({ title: 'tapegrad: an autograd engine in TypeScript, to read and to run', file: 'index.html', body: landing, ctx }));
}

/**
 * TypeDoc with the repository's typedoc.json, into `out`: source links at `revision` (TypeDoc asks git
 * only to find the remote, which a clone without one lacks; the template in typedoc.json says where
 * the repository is), and the site's pages in its toolbar (as `@site/…`, made relative by siteLinksInApi).
 */
function typedoc(out: string, revision: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('typedoc/package.json')), 'bin', 'typedoc');
  const options = join(tmpdir(), `tapegrad-site-typedoc-${process.pid}-${Date.now()}.json`);
  const navigationLinks = Object.fromEntries(NAV.filter(([href]) => href !== 'api/').map(([href, label]) => [href === 'index.html' ? 'Home' : label, `@site/${href}`]));
  writeFileSync(options, JSON.stringify({ extends: [join(REPO_DIR, 'typedoc.json')], out, gitRevision: revision, disableGit: true, navigationLinks }));
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, '--options', options, '--logLevel', 'Warn'], { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => {
      rmSync(options, { force: true });
      if (code === 0) done();
      else fail(new Error(`site: TypeDoc failed (exit ${code}):\n${output}`));
    });
  });
}

/**
 * The toolbar's `@site/…` links of every API page, made relative to that page; and an icon, as the
 * site's other pages have, since without one the browser asks the host's root for /favicon.ico (a 404
 * in the console of every API page).
 */
function siteLinksInApi(apiDir: string): void {
  for (const file of htmlFiles(apiDir)) {
    const path = join(apiDir, file);
    const up = '../'.repeat(file.split('/').length);
    const html = readFileSync(path, 'utf8').replaceAll('href="@site/', `href="${up}`).replace('</head>', '<link rel="icon" href="data:,"></head>');
    writeFileSync(path, html);
  }
}

/** Every .html file under `dir`, relative to it, with '/' separators. */
export function htmlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.html')) out.push(relative(dir, path).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

const ATTRIBUTE = /\s(?:href|src)="([^"]*)"/g;

/**
 * Every link of every page of the site at `dir` that goes nowhere: `page: link` for an href or src to a
 * file that is not there (a folder counts if it has index.html), or to a fragment no element of the
 * target page has as its id or name. Links to other sites, `data:` and the like are not followed.
 */
export function brokenLinks(dir: string): string[] {
  const ids = new Map<string, Set<string>>();
  const idsOf = (file: string): Set<string> => {
    let set = ids.get(file);
    if (set === undefined) {
      const html = readFileSync(file, 'utf8');
      set = new Set([...html.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((m) => m[1]));
      ids.set(file, set);
    }
    return set;
  };
  const broken: string[] = [];
  for (const page of htmlFiles(dir)) {
    const file = join(dir, page);
    const html = readFileSync(file, 'utf8');
    for (const m of html.matchAll(ATTRIBUTE)) {
      const link = m[1].replace(/&amp;/g, '&');
      if (link === '' || /^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//')) continue;
      const hash = link.indexOf('#');
      const path = decodeURIComponent((hash < 0 ? link : link.slice(0, hash)).split('?')[0]);
      const fragment = hash < 0 ? '' : decodeURIComponent(link.slice(hash + 1));
      let target = path === '' ? file : resolve(dirname(file), path);
      if (!target.startsWith(dir)) {
        broken.push(`${page}: ${link} (outside the site)`);
        continue;
      }
      if (existsSync(target) && statSync(target).isDirectory()) target = join(target, 'index.html');
      if (!existsSync(target)) broken.push(`${page}: ${link}`);
      else if (fragment !== '' && target.endsWith('.html') && !idsOf(target).has(fragment)) broken.push(`${page}: ${link} (no #${fragment} there)`);
    }
  }
  return broken;
}
