/**
 * Every TypeScript and JavaScript block of the README type-checks as a user's strict TypeScript would
 * (the project's tsconfig: `strict`, ES modules, Node's types), each as a module of its own, with
 * 'tapegrad' and its subpaths mapped to the sources through package.json's `exports` (as
 * tests/docs/examples.test.ts does for the API reference) and the repository's relative imports to the
 * repository. A JavaScript block is checked as TypeScript: what a user pastes into a .ts file must compile
 * (issue 20: the XOR example's `cond && console.log(...)` callback did not). tests/docs/examples.test.ts
 * runs the library section's JavaScript blocks; tests/train/pytorch-way-out.test.ts runs "The way out".
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { fencedBlocks } from './markdown.js';

const root = resolve(import.meta.dirname, '../..');
// Inside the repository, so that packages the README imports (onnxruntime-web) resolve from its node_modules.
const work = join(root, 'node_modules', '.cache', `tapegrad-readme-${process.pid}`);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** 'tapegrad' and 'tapegrad/x' to the source files behind them, read off package.json's `exports`. */
function sourcesOfSpecifiers(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { default: string }> };
  const paths: Record<string, string[]> = {};
  for (const [key, target] of Object.entries(pkg.exports)) {
    const js = typeof target === 'string' ? target : target.default;
    if (!js.startsWith('./dist/') || !js.endsWith('.js')) continue;
    paths[key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`] = [join(root, js.slice('./dist/'.length).replace(/\.js$/, '.ts'))];
  }
  return paths;
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const all = fencedBlocks(readme);
const code = all.filter((b) => ['ts', 'typescript', 'js', 'javascript'].includes(b.lang));

describe("the README's code blocks", () => {
  it('are fenced with a language, and the TypeScript and JavaScript ones are many (sh, python and the tables aside)', () => {
    expect(all.filter((b) => b.lang === '').map((b) => b.line)).toEqual([]);
    expect(code.length).toBeGreaterThanOrEqual(6);
  });

  it('type-check under strict TypeScript, each as a module of its own; the old XOR callback (issue 20) would not', () => {
    mkdirSync(work, { recursive: true });
    const files = code.map((block, i) => {
      const file = join(work, `block${i}.mts`);
      // The repository's own relative imports (`./engine/index.js`) are the repository's files.
      const text = block.code.replace(/(from\s+)(['"])\.\/([^'"]+)\2/g, (_all, lead: string, q: string, rest: string) => `${lead}${q}${join(root, rest)}${q}`);
      writeFileSync(file, `${text}\nexport {};\n`);
      return file;
    });
    // The check can fail: the block as it was before issue 20, in the same program, must not compile.
    const old = join(work, 'old-xor.mts');
    writeFileSync(
      old,
      `import { Sequential, Dense, Tanh, SGD, fit } from 'tapegrad';
const model = new Sequential([new Dense(2, 8), new Tanh(), new Dense(8, 2)]);
const optimizer = new SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
const progress = { onEpochEnd: (epoch, logs) => epoch % 50 === 49 && console.log(epoch + 1, logs.loss) };
await fit(model, { x: [[0, 0]], y: [0], epochs: 1, optimizer, callbacks: [progress] });
export {};
`,
    );
    const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    const program = ts.createProgram([...files, old, join(root, 'types/ndarray-ops.d.ts')], { ...config.options, paths: sourcesOfSpecifiers(), noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program);
    const problems = diagnostics
      .filter((d) => d.file && files.includes(resolve(d.file.fileName)))
      .map((d) => {
        const block = code[files.indexOf(resolve(d.file!.fileName))];
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `README.md line ${block.line + 1 + line} (a ${block.lang} block): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
    const oldProblems = diagnostics.filter((d) => d.file && resolve(d.file.fileName) === old).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(oldProblems.some((m) => /Parameter 'epoch' implicitly has an 'any' type/.test(m)), oldProblems.join('\n')).toBe(true);
  }, 120_000);
});
