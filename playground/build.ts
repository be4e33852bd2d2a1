/**
 * Bundles the page (main.ts) and its worker (worker.ts) with esbuild for a browser: ES modules, no
 * Node built-ins (esbuild fails the build if anything imports one), minified with source maps.
 * index.html and style.css are served as they are from static/.
 */
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

export const PLAYGROUND_DIR = fileURLToPath(new URL('.', import.meta.url));
export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('./dist/', import.meta.url));

export interface BuildResult {
  outDir: string;
  /** Each output file (relative to outDir) and its size in bytes, maps excluded. */
  files: { file: string; bytes: number }[];
  ms: number;
}

export async function buildPlayground(outDir = DEFAULT_OUT_DIR): Promise<BuildResult> {
  const t0 = performance.now();
  const result = await build({
    entryPoints: { main: `${PLAYGROUND_DIR}main.ts`, worker: `${PLAYGROUND_DIR}worker.ts` },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Module workers, top-level await and class fields: every current browser (Chromium 80+, Firefox 114+, Safari 15+).
    target: ['es2022'],
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const meta: Metafile = result.metafile;
  const files = Object.entries(meta.outputs)
    .filter(([file]) => !file.endsWith('.map'))
    .map(([file, out]) => ({ file: file.slice(file.lastIndexOf('/') + 1), bytes: out.bytes }));
  return { outDir, files, ms: performance.now() - t0 };
}
