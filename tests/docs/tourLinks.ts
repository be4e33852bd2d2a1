/**
 * Checks (and repairs) the source links of a markdown document such as docs/TOUR.md.
 *
 * A link like `[engine/ops/relu.ts#L6-L14](../engine/ops/relu.ts#L6-L14)` must name an existing file and a
 * line range inside it. When the link ends the text that introduces a fenced code block (the block follows
 * with only blank lines between), the block is a quote of that range, checked line by line (trimmed):
 *
 *   - its lines appear in the range in order, and next to each other, blank lines aside;
 *   - where the quote leaves lines out it says so with a line that is only `// …`, and such a marker
 *     stands for at least one line of code (a reader must never lose lines silently);
 *   - a variable the quote uses is not declared only in lines it left out (`s` appearing from nowhere
 *     because `const s = pg.data;` was elided).
 *
 * Other engineers keep editing the quoted files, so line numbers drift; `fixLinks` moves each quoted
 * range to where its snippet now is.
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

/** The one elision marker: a line that is only `// …` stands for lines left out of the quote. */
export const ELISION = '// …';

/** A meaningful line of a quote, trimmed, and whether an elision marker stands right before it. */
interface QuoteLine {
  text: string;
  elidedBefore: boolean;
}

/** The quote's meaningful lines (blank lines and markers dropped), each knowing if lines were elided before it. */
function quoteLines(quote: string[]): QuoteLine[] {
  const out: QuoteLine[] = [];
  let elided = false;
  for (const raw of quote) {
    const text = raw.trim();
    if (text === '') continue;
    if (text === ELISION) {
      elided = true;
      continue;
    }
    out.push({ text, elidedBefore: elided && out.length > 0 });
    elided = false;
  }
  return out;
}

/**
 * Where the quote's lines sit in `fileLines` (0-based indexes), its first line exactly at `start` and
 * none past `limit`, or null. Between two quoted lines the file may hold only blank lines, unless the
 * quote marks an elision there; a marker must stand for at least one non-blank line. Backtracks, so a
 * line that occurs twice in a range is matched wherever the whole quote fits.
 */
function matchFrom(fileLines: string[], quote: QuoteLine[], start: number, limit: number): number[] | null {
  if (quote.length === 0 || start > limit || fileLines[start]?.trim() !== quote[0].text) return null;
  const at: number[] = [start];
  const rest = (q: number): boolean => {
    if (q === quote.length) return true;
    const prev = at[q - 1];
    const { text, elidedBefore } = quote[q];
    if (!elidedBefore) {
      let i = prev + 1;
      while (i <= limit && fileLines[i].trim() === '') i++;
      if (i > limit || fileLines[i].trim() !== text) return false;
      at[q] = i;
      return rest(q + 1);
    }
    let skipped = false;
    for (let i = prev + 1; i <= limit; i++) {
      const line = fileLines[i].trim();
      if (skipped && line === text) {
        at[q] = i;
        if (rest(q + 1)) return true;
      }
      if (line !== '') skipped = true;
    }
    return false;
  };
  return rest(1) ? at.slice(0, quote.length) : null;
}

/** The tightest range (1-based, inclusive) of the file holding the quote, or null. */
export function locateQuote(fileLines: string[], quote: string[]): { from: number; to: number } | null {
  const q = quoteLines(quote);
  if (q.length === 0) return null;
  let best: { from: number; to: number } | null = null;
  for (let s = 0; s < fileLines.length; s++) {
    const at = matchFrom(fileLines, q, s, fileLines.length - 1);
    if (at === null) continue;
    const end = at[at.length - 1];
    if (best === null || end - s < best.to - best.from) best = { from: s + 1, to: end + 1 };
  }
  return best;
}

/**
 * A line with its `//` comment and its quoted strings blanked, so that only code is searched for names
 * (template literals are kept: their `${...}` holes are code).
 */
function codeOf(line: string): string {
  return line
    .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''")
    .replace(/\/\/.*$/, '');
}

/** Names a line declares: `const x`, `let x`, `var x`, destructured `const [a, b]` and `const { data: d }`. */
export function declaredNames(line: string): string[] {
  const code = codeOf(line);
  const names: string[] = [];
  for (const m of code.matchAll(/\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)/g)) names.push(m[1]);
  for (const m of code.matchAll(/\b(?:const|let|var)\s*[[{]([^\]}]*)[\]}]/g)) {
    for (const part of m[1].split(',')) {
      const name = part.split('=')[0].split(':').pop()!.replace('...', '').trim();
      if (/^[A-Za-z_$][\w$]*$/.test(name)) names.push(name);
    }
  }
  return names;
}

/** True when `line`'s code uses `name` as a variable (not as `.name`, not inside a comment or string). */
function uses(line: string, name: string): boolean {
  const escaped = name.replace(/\$/g, '\\$');
  return new RegExp(`(?<![\\w$.])${escaped}(?![\\w$])`).test(codeOf(line));
}

/**
 * Variables the quote uses that it declares only in lines it elided: `s` appearing from nowhere because
 * `const s = pg.data;` was left out. One sentence each; empty when every name it uses is shown or comes
 * from outside the quoted range.
 */
function hiddenDeclarations(fileLines: string[], quote: QuoteLine[], at: number[]): string[] {
  const problems: string[] = [];
  const hidden = new Map<string, number>(); // name → 1-based line of the elided declaration
  const shown = new Set<string>();
  for (let q = 0; q < quote.length; q++) {
    if (q > 0 && quote[q].elidedBefore) {
      for (let i = at[q - 1] + 1; i < at[q]; i++) {
        for (const name of declaredNames(fileLines[i])) if (!hidden.has(name)) hidden.set(name, i + 1);
      }
    }
    const line = quote[q].text;
    for (const [name, declaredAt] of hidden) {
      if (!shown.has(name) && uses(line, name) && !declaredNames(line).includes(name)) {
        problems.push(`the quote uses '${name}', declared in an elided line (L${declaredAt}): show that line`);
        hidden.delete(name);
      }
    }
    for (const name of declaredNames(line)) shown.add(name);
  }
  return problems;
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
      let at: number[] | null = null;
      for (let s = link.from - 1; s < link.to && at === null; s++) at = matchFrom(fileLines, q, s, link.to - 1);
      if (at === null) {
        const now = locateQuote(fileLines, link.quote);
        const hint = now
          ? `; the quote is now at L${now.from}-L${now.to}`
          : `; the quote is not in the file as written (its lines in order, '${ELISION}' where lines are left out)`;
        problems.push(`${where}: the code block after the link is not within L${link.from}-L${link.to}${hint}`);
        continue;
      }
      for (const p of hiddenDeclarations(fileLines, q, at)) problems.push(`${where}: ${p}`);
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
