/**
 * The few things every example shares: reading its flags, printing, mean ± std, writing a figure, and
 * running `main` when the file is executed directly (`npx tsx examples/NAME.ts --quick`). Each example
 * also exports `main(args, log)` so that the test suite can run it in-process and read what it printed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VegaLiteSpec } from '../train/index.js';

export type Log = (line: string) => void;

export interface ExampleArgs {
  /** Small data, few epochs/folds: a few seconds. */
  quick: boolean;
  /** Where figures go: `--figures DIR` (or `none`); by default docs/figures for a full run, nowhere for `--quick`. */
  figures: string | null;
  /** `--seed N` (default 1). */
  seed: number;
  /** Every `--name value` flag, for example-specific options. */
  flags: Map<string, string>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function parseArgs(args: readonly string[]): ExampleArgs {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) throw new RangeError(`unexpected argument ${JSON.stringify(a)}; flags look like --quick or --figures DIR`);
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags.set(a.slice(2), next);
      i++;
    } else {
      flags.set(a.slice(2), 'true');
    }
  }
  const quick = flags.get('quick') === 'true';
  const seed = Number(flags.get('seed') ?? 1);
  if (!Number.isInteger(seed)) throw new RangeError(`--seed must be an integer, got ${flags.get('seed')}`);
  const fig = flags.get('figures');
  const figures = fig === 'none' ? null : fig !== undefined ? resolve(fig) : quick ? null : resolve(ROOT, 'docs/figures');
  return { quick, figures, seed, flags };
}

/** Mean and population standard deviation (NumPy's `std()`, which the reference articles print). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  return { mean, std: Math.sqrt(variance) };
}

/** Renders a vega-lite spec to `<dir>/<name>` and reports the path; does nothing when `dir` is null. */
export async function writeFigure(dir: string | null, name: string, spec: VegaLiteSpec, log: Log): Promise<void> {
  if (dir === null) return;
  // Loaded on demand: vega takes about a second to import, and most runs draw nothing.
  const { renderSvg } = await import('../train/index.js');
  writeText(dir, name, await renderSvg(spec), log);
}

/** Writes an already rendered figure to `<dir>/<name>` and reports the path; does nothing when `dir` is null. */
export function writeText(dir: string | null, name: string, text: string, log: Log): void {
  if (dir === null) return;
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, name);
  writeFileSync(path, text);
  log(`figure: ${path.startsWith(ROOT) ? path.slice(ROOT.length + 1) : path}`);
}

/** Runs `main` with the command line's arguments when `moduleUrl` is the script node was started with. */
export function runIfMain(moduleUrl: string, main: (args: string[], log: Log) => Promise<unknown>): void {
  if (process.argv[1] === undefined || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main(process.argv.slice(2), (line) => console.log(line)).catch((err: unknown) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    process.exitCode = 1;
  });
}

export function fmt(x: number, digits = 4): string {
  return x.toFixed(digits);
}
