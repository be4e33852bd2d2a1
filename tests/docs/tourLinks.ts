/**
 * Checks (and repairs) the source links of a markdown document such as docs/TOUR.md.
 *
 * A link like `[engine/ops/relu.ts#L6-L14](../engine/ops/relu.ts#L6-L14)` must name an existing file and a
 * line range inside it. When the link ends the text that introduces a fenced code block (the block follows
 * with only blank lines between), the block is a quote of that range: every non-blank line of the block,
 * trimmed, must appear in the range, in order (lines in between may be skipped, and a line that is only an
 * elision, `// ...` or `...`, stands for skipped lines). Other engineers keep editing the quoted files, so
 * line numbers drift; `fixLinks` moves each quoted range to where its snippet now is.
 *
 *   npx tsx tests/docs/tourLinks.ts docs/TOUR.md          # report problems, exit 1 if any
 *   npx tsx tests/docs/tourLinks.ts docs/TOUR.md --fix    # rewrite the line numbers of quoted links
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SourceLink {
  /** The link target as written, e.g. `../engine/ops/relu.ts#L6-L14`. */
  target: string;
  /** Path relative to the document's folder, without the fragment. */
  path: string;
  /** 1-based, inclusive; absent for a link to a whole file. */
  from?: number;
  to?: number;
  /** Line of the document (1-based) holding the link. */
  docLine: number;
  /** The fenced code block this link introduces, if any: its lines, fences excluded. */
  quote?: string[];
}

const LINK = /\]\(([^)\s]+)\)/g;
const RANGE = /^(.*?)#L(\d+)(?:-L(\d+))?$/;

function isExternal(target: string): boolean {
  return /^[a-z]+:/i.test(target) || target.startsWith('#');
}

/** Every relative link of the document, with the code block each one introduces. */
export function parseLinks(markdown: string): SourceLink[] {
  const lines = markdown.split('\n');
  const links: SourceLink[] = [];
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trimStart().startsWith('```')) {
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const found: SourceLink[] = [];
    for (const m of line.matchAll(LINK)) {
      const target = m[1];
      if (isExternal(target)) continue;
      const r = RANGE.exec(target);
      const path = r ? r[1] : target.split('#')[0];
      const link: SourceLink = { target, path, docLine: i + 1 };
      if (r) {
        link.from = Number(r[2]);
        link.to = Number(r[3] ?? r[2]);
      }
      found.push(link);
    }
    // The last ranged link of a line introduces the code block that follows it.
    const last = [...found].reverse().find((l) => l.from !== undefined);
    if (last) {
      let j = i + 1;
      while (j < lines.length && lines[j].trim() === '') j++;
      if (j < lines.length && lines[j].trimStart().startsWith('```')) {
        const quote: string[] = [];
        for (let k = j + 1; k < lines.length && !lines[k].trimStart().startsWith('```'); k++) quote.push(lines[k]);
        last.quote = quote;
      }
    }
    links.push(...found);
  }
  return links;
}

function isElision(line: string): boolean {
  const t = line.trim();
  return t === '' || t === '...' || t === '…' || t === '// ...' || t === '// …';
}

/** The quote's meaningful lines, trimmed. */
function quoteLines(quote: string[]): string[] {
  return quote.filter((l) => !isElision(l)).map((l) => l.trim());
}

/**
 * Matches the quote's lines in order against `fileLines` starting at index `start` (0-based), first
 * line exactly at `start`. Returns the 0-based index of the last matched line, or -1.
 */
function matchFrom(fileLines: string[], quote: string[], start: number, limit: number): number {
  let at = start;
  for (let q = 0; q < quote.length; q++) {
    if (q === 0) {
      if (fileLines[at]?.trim() !== quote[0]) return -1;
      continue;
    }
    at++;
    while (at <= limit && fileLines[at].trim() !== quote[q]) at++;
    if (at > limit) return -1;
  }
  return at;
}

/** The tightest range (1-based, inclusive) of the file holding the quote in order, or null. */
export function locateQuote(fileLines: string[], quote: string[]): { from: number; to: number } | null {
  const q = quoteLines(quote);
  if (q.length === 0) return null;
  let best: { from: number; to: number } | null = null;
  for (let s = 0; s < fileLines.length; s++) {
    if (fileLines[s].trim() !== q[0]) continue;
    const end = matchFrom(fileLines, q, s, fileLines.length - 1);
    if (end < 0) continue;
    if (best === null || end - s < best.to - best.from) best = { from: s + 1, to: end + 1 };
  }
  return best;
}

/** Problems with the document's links, one sentence each; empty when every link resolves. */
export function checkLinks(markdown: string, docDir: string): string[] {
  const problems: string[] = [];
  for (const link of parseLinks(markdown)) {
    const where = `line ${link.docLine}: ${link.target}`;
    const file = resolve(docDir, link.path);
    if (!existsSync(file)) {
      problems.push(`${where}: no such file ${relative(process.cwd(), file)}`);
      continue;
    }
    if (link.from === undefined || link.to === undefined) continue;
    if (statSync(file).isDirectory()) {
      problems.push(`${where}: a line range on a folder`);
      continue;
    }
    const fileLines = readFileSync(file, 'utf8').split('\n');
    const count = fileLines.length - (fileLines[fileLines.length - 1] === '' ? 1 : 0);
    if (!(link.from >= 1 && link.from <= link.to && link.to <= count)) {
      problems.push(`${where}: range L${link.from}-L${link.to} is outside the file's ${count} lines`);
      continue;
    }
    if (link.quote) {
      const q = quoteLines(link.quote);
      if (q.length === 0) continue;
      const start = link.from - 1;
      let ok = false;
      for (let s = start; s < link.to && !ok; s++) ok = matchFrom(fileLines, q, s, link.to - 1) >= 0;
      if (!ok) {
        const now = locateQuote(fileLines, link.quote);
        const hint = now ? `; the quote is now at L${now.from}-L${now.to}` : '; the quote is no longer in the file';
        problems.push(`${where}: the code block after the link is not within L${link.from}-L${link.to}${hint}`);
      }
    }
  }
  return problems;
}

/** Rewrites the line numbers of every quoting link to where its quote is now. Unfound quotes are left. */
export function fixLinks(markdown: string, docDir: string): { text: string; moved: string[]; lost: string[] } {
  const lines = markdown.split('\n');
  const moved: string[] = [];
  const lost: string[] = [];
  for (const link of parseLinks(markdown)) {
    if (!link.quote || link.from === undefined) continue;
    const file = resolve(docDir, link.path);
    if (!existsSync(file)) {
      lost.push(`${link.target}: no such file`);
      continue;
    }
    const now = locateQuote(readFileSync(file, 'utf8').split('\n'), link.quote);
    if (now === null) {
      lost.push(`${link.target}: quote not found`);
      continue;
    }
    if (now.from === link.from && now.to === link.to) continue;
    const label = `${link.path.replace(/^(\.\.\/)+/, '')}#L${now.from}-L${now.to}`;
    const newTarget = `${link.path}#L${now.from}-L${now.to}`;
    const i = link.docLine - 1;
    const oldLabel = `${link.path.replace(/^(\.\.\/)+/, '')}#L${link.from}-L${link.to}`;
    lines[i] = lines[i].split(`(${link.target})`).join(`(${newTarget})`).split(`[${oldLabel}]`).join(`[${label}]`);
    moved.push(`${link.target} -> ${newTarget}`);
  }
  return { text: lines.join('\n'), moved, lost };
}

// Command line: check or fix a document.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const doc = resolve(process.argv[2] ?? 'docs/TOUR.md');
  const text = readFileSync(doc, 'utf8');
  if (process.argv.includes('--fix')) {
    const { text: fixed, moved, lost } = fixLinks(text, dirname(doc));
    if (fixed !== text) writeFileSync(doc, fixed);
    for (const m of moved) console.log(`moved ${m}`);
    for (const l of lost) console.log(`LOST  ${l}`);
  }
  const problems = checkLinks(readFileSync(doc, 'utf8'), dirname(doc));
  for (const p of problems) console.log(p);
  console.log(problems.length === 0 ? 'all links resolve' : `${problems.length} problem(s)`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
