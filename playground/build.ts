/**
 * Bundles the page (main.ts) and its worker (worker.ts) with esbuild for a browser: ES modules, no
 * Node built-ins (esbuild fails the build if anything imports one), minified with source maps.
 * index.html and style.css are served as they are from static/.
 *
 * The page is split: Graphviz (@viz-js/viz, 1.2 MB, for the drawing of the tape) is a chunk of its own
 * under chunks/, loaded the first time the tape is shown. The worker is one file.
 */
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';

export const PLAYGROUND_DIR = fileURLToPath(new URL('.', import.meta.url));
export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

export interface BuildResult {
  outDir: string;
  /** Each output file (relative to outDir) and its size in bytes, maps excluded: main.js, worker.js, then the chunks. */
  files: { file: string; bytes: number }[];
  ms: number;
}

const COMMON: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Module workers, top-level await and class fields: every current browser (Chromium 80+, Firefox 114+, Safari 15+).
  target: ['es2022'],
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
};

export async function buildPlayground(outDir = DEFAULT_OUT_DIR): Promise<BuildResult> {
  const t0 = performance.now();
  const [page, worker] = await Promise.all([
    build({ ...COMMON, entryPoints: { main: `${PLAYGROUND_DIR}main.ts` }, outdir: outDir, splitting: true, chunkNames: 'chunks/[name]-[hash]' }),
    build({ ...COMMON, entryPoints: { worker: `${PLAYGROUND_DIR}worker.ts` }, outdir: outDir }),
  ]);
  const outputs = (meta: Metafile) =>
    Object.entries(meta.outputs)
      .filter(([file]) => !file.endsWith('.map'))
      .map(([file, out]) => ({ file: relative(outDir, resolve(file)), bytes: out.bytes }));
  const all = [...outputs(page.metafile!), ...outputs(worker.metafile!)];
  const order = (f: string) => (f === 'main.js' ? 0 : f === 'worker.js' ? 1 : 2);
  all.sort((a, b) => order(a.file) - order(b.file) || a.file.localeCompare(b.file));
  return { outDir, files: all, ms: performance.now() - t0 };
}
