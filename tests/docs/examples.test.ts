/**
 * The API reference's examples, run. TypeDoc converts the package exactly as `npm run docs` does
 * (typedoc.json: the root entry and `tapegrad/ndarray`), and from its reflections we take:
 *   - the validation warnings: every public export has a doc comment, every link resolves;
 *   - every `@example` block, which is a small complete program importing from 'tapegrad' (or a
 *     subpath), as a user would write it. Each one type-checks against the sources, and runs, with the
 *     package's specifiers mapped to the sources through the `exports` map.
 *
 * The README's library section's JavaScript blocks run the same way (without checks: they must not throw).
 *
 * An example checks itself doctest-style: a line `console.log(expr); // => expected` fails the suite
 * unless `expr` equals `expected` (a JavaScript literal). Numbers written with decimals match to the
 * digits shown (`// => 0.6931` accepts 0.69314...); integers match exactly; typed arrays compare as
 * arrays. Every example has at least one such line, so none of them can pass by printing nothing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Application, Logger, LogLevel, type Comment, type ProjectReflection, type Reflection } from 'typedoc';
import ts from 'typescript';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { getBackend, setBackend } from '../../engine/index.js';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'tapegrad-examples-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The APIs issue 10 names: each carries at least one example. */
const MUST_HAVE_EXAMPLES = [
  'Tensor',
  'Tensor.from',
  'Tensor.matmul',
  'Tensor.backward',
  'Sequential',
  'Dense',
  'SGD',
  'Adam',
  'fit',
  'evaluate',
  'save',
  'load',
  'findLearningRate',
  'rangeTest',
  'StepDecay',
  'CosineAnnealing',
  'OneCycle',
  'toDot',
  'setBackend',
];

/** Collects TypeDoc's messages instead of printing them. */
class CollectingLogger extends Logger {
  readonly warnings: string[] = [];
  override log(message: string, level: LogLevel): void {
    if (level >= LogLevel.Warn) this.warnings.push(message);
  }
}

interface Example {
  /** 'Tensor.matmul', 'fit', ... plus '#2' for a second example of the same thing. */
  name: string;
  /** Where the comment is: 'engine/tensor.ts:120'. */
  where: string;
  code: string;
}

async function convert(): Promise<{ project: ProjectReflection; warnings: string[] }> {
  const app = await Application.bootstrapWithPlugins({ options: join(root, 'typedoc.json') });
  const logger = new CollectingLogger();
  app.logger = logger;
  const project = await app.convert();
  if (!project) throw new Error(`TypeDoc could not convert the package:\n${logger.warnings.join('\n')}`);
  app.validate(project);
  return { project, warnings: logger.warnings };
}

/** The dotted name a reader looks for: 'Tensor.matmul', not 'index.Tensor.matmul'. */
function displayName(r: Reflection): string {
  const parts: string[] = [];
  for (let at: Reflection | undefined = r; at && !at.isProject(); at = at.parent) {
    if (at.kindOf(0x2 /* Module */)) break;
    if (!parts.length || parts[0] !== at.name) parts.unshift(at.name);
  }
  return parts.join('.');
}

function examplesOf(project: ProjectReflection): Example[] {
  const seen = new Set<string>();
  const out: Example[] = [];
  const count = new Map<string, number>();
  const visit = (r: Reflection, comment: Comment | undefined, source: Reflection) => {
    for (const tag of comment?.blockTags ?? []) {
      if (tag.tag !== '@example') continue;
      const text = tag.content.map((part) => part.text).join('');
      const blocks = [...text.matchAll(/```(?:ts|typescript|js|javascript)?\n([\s\S]*?)```/g)].map((m) => m[1]);
      if (blocks.length === 0) throw new Error(`${displayName(r)}: an @example without a fenced code block`);
      for (const code of blocks) {
        // Inherited members carry their parent's comment: one run per example text.
        if (seen.has(code)) continue;
        seen.add(code);
        const base = displayName(r);
        const n = (count.get(base) ?? 0) + 1;
        count.set(base, n);
        const src = (source as { sources?: { fileName: string; line: number }[] }).sources?.[0];
        out.push({ name: n === 1 ? base : `${base}#${n}`, where: src ? `${src.fileName.replace(/^tapegrad\//, '')}:${src.line}` : '?', code });
      }
    }
  };
  for (const r of Object.values(project.reflections)) {
    visit(r, r.comment, r);
    if ('signatures' in r) for (const s of (r as { signatures?: Reflection[] }).signatures ?? []) visit(r, s.comment, s);
    for (const accessor of ['getSignature', 'setSignature'] as const) {
      const s = (r as Partial<Record<typeof accessor, Reflection>>)[accessor];
      if (s) visit(r, s.comment, s);
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** 'tapegrad' and 'tapegrad/x' to the source files behind them, read off package.json's `exports`. */
function sourceOfSpecifier(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { default: string }> };
  const map = new Map<string, string>();
  for (const [key, target] of Object.entries(pkg.exports)) {
    const js = typeof target === 'string' ? target : target.default;
    if (!js.startsWith('./dist/') || !js.endsWith('.js')) continue;
    map.set(key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`, join(root, js.slice('./dist/'.length).replace(/\.js$/, '.ts')));
  }
  return map;
}

const specifiers = sourceOfSpecifier();

/**
 * The expected value's source with every number literal wrapped as `__doc.n('literal')`, so the check
 * knows how many digits were written. Strings are copied as they are.
 */
function markNumbers(expected: string): string {
  let out = '';
  let i = 0;
  while (i < expected.length) {
    const ch = expected[i];
    if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < expected.length && expected[j] !== ch) j += expected[j] === '\\' ? 2 : 1;
      out += expected.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const before = out.trimEnd().at(-1);
    const m = /^-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?/i.exec(expected.slice(i));
    if (m && (before === undefined || '[({,:'.includes(before))) {
      out += `__doc.n(${JSON.stringify(m[0])})`;
      i += m[0].length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

/** `from 'tapegrad'` (and its subpaths) to the source files, as file URLs. */
function toSources(code: string, name: string): string {
  return code.replace(/(from\s+|import\s*\(\s*)(['"])(tapegrad(?:\/[\w-]+)?)\2/g, (_all, lead: string, _q: string, spec: string) => {
    const file = specifiers.get(spec);
    if (!file) throw new Error(`${name}: imports ${spec}, which package.json's exports do not name`);
    return `${lead}${JSON.stringify(pathToFileURL(file).href)}`;
  });
}

/** The example as it runs: specifiers to sources, checked lines to `__doc.check` calls. */
function runnable(example: Example): { code: string; checks: number } {
  let checks = 0;
  const lines = example.code.split('\n').map((line, index) => {
    const m = /^(\s*)console\.log\((.*)\);?\s*\/\/ => (.+)$/.exec(line);
    if (!m) return line;
    checks++;
    return `${m[1]}__doc.check(${m[2]}, ${markNumbers(m[3].trim())}, ${JSON.stringify(`line ${index + 1}: ${line.trim()}`)});`;
  });
  return { code: toSources(lines.join('\n'), example.name), checks };
}

class Num {
  constructor(readonly text: string) {}
}

/** null when `actual` is what `expected` (with its `Num`s) says, else where they differ. */
function difference(actual: unknown, expected: unknown, path = ''): string | null {
  const at = path || 'the value';
  if (expected instanceof Num) {
    if (typeof actual !== 'number') return `${at}: expected the number ${expected.text}, got ${String(actual)}`;
    const want = Number(expected.text);
    const m = /^-?\d*(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(expected.text)!;
    const decimals = m[1]?.length ?? 0;
    const exponent = Number(m[2] ?? 0);
    const ok = m[1] === undefined ? actual === want : Math.abs(actual - want) <= 0.5 * 10 ** (exponent - decimals) * (1 + 1e-9);
    return ok ? null : `${at}: expected ${expected.text}, got ${actual}`;
  }
  if (ArrayBuffer.isView(actual) && !(actual instanceof DataView)) actual = Array.from(actual as unknown as ArrayLike<number>);
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: expected an array, got ${JSON.stringify(actual)}`;
    if (actual.length !== expected.length) return `${at}: expected ${expected.length} elements, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = difference(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return `${at}: expected an object, got ${String(actual)}`;
    const keys = Object.keys(expected);
    const actualKeys = Object.keys(actual);
    if (keys.join() !== actualKeys.join()) return `${at}: expected keys ${keys.join(', ')}, got ${actualKeys.join(', ')}`;
    for (const k of keys) {
      const d = difference((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(actual, expected) ? null : `${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

const { project, warnings } = await convert();
const examples = examplesOf(project);

describe('the API reference (TypeDoc, as npm run docs builds it)', () => {
  it('has nothing to warn about: every public export has a doc comment, every link resolves', () => {
    expect(warnings).toEqual([]);
  });

  it('has an example for each main API', () => {
    const named = new Set(examples.map((e) => e.name.replace(/#\d+$/, '')));
    expect(MUST_HAVE_EXAMPLES.filter((name) => !named.has(name))).toEqual([]);
  });

  it('has examples that type-check against the sources, importing the package by its name', () => {
    const dir = join(work, 'typecheck');
    mkdirSync(dir);
    const files = examples.map((e, i) => {
      const file = join(dir, `example${i}.mts`); // .mts: an ES module, as a user's would be
      // `export {}`: each example is a module of its own (top-level await, no shared names).
      writeFileSync(file, `${e.code}\nexport {};\n`);
      return file;
    });
    const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    const paths = Object.fromEntries([...specifiers].map(([spec, file]) => [spec, [file]]));
    const program = ts.createProgram(files, { ...config.options, paths, noEmit: true });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.includes(resolve(d.file.fileName)))
      .map((d) => {
        const example = examples[files.indexOf(resolve(d.file!.fileName))];
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${example.name} (${example.where}) line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  }, 120_000);
});

describe('every @example runs and prints what it says', () => {
  const backend = getBackend();
  afterEach(async () => {
    // An example may switch the backend; the next one starts from the default again.
    if (getBackend() !== backend) await setBackend(backend);
  });

  it.each(examples.map((e) => [e.name, e] as const))('%s', async (_name, example) => {
    const { code, checks } = runnable(example);
    expect(checks, `${example.name} (${example.where}) has no \`console.log(...); // => value\` line`).toBeGreaterThan(0);
    const failures: string[] = [];
    let ran = 0;
    (globalThis as { __doc?: unknown }).__doc = {
      n: (text: string) => new Num(text),
      check: (actual: unknown, expected: unknown, line: string) => {
        ran++;
        const d = difference(actual, expected);
        if (d) failures.push(`${line}\n    ${d}`);
      },
    };
    const file = join(work, `${example.name.replace(/[^\w]+/g, '_')}.mts`);
    writeFileSync(file, code);
    await import(pathToFileURL(file).href);
    expect(failures, `${example.name} (${example.where})`).toEqual([]);
    expect(ran, `${example.name}: every checked line runs`).toBe(checks);
  });
});

describe("the README's library examples", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it as a library'), readme.indexOf('\n## ', readme.indexOf('## Use it as a library') + 1));
  const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

  it('are there: Node, a page, data/ in a page', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  it.each(blocks.map((code, i) => [i + 1, code] as const))('block %i runs', async (i, code) => {
    const file = join(work, `readme${i}.mjs`);
    writeFileSync(file, toSources(code, `README block ${i}`));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await import(pathToFileURL(file).href);
    } finally {
      log.mockRestore();
    }
  });
});
