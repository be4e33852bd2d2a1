/**
 * What the benchmark ran on: the CPU and its SIMD width, and the Node binaries the Node contestants
 * run on.
 *
 * The machines differ from day to day (an AMD EPYC with AVX2 one day, an Intel Xeon with AVX-512 the
 * next), and OpenBLAS picks its kernels by the widest SIMD there is while WebAssembly SIMD is 128-bit
 * everywhere, so every results file names the width: AVX-512 when lscpu lists avx512f, else AVX2, else
 * AVX, else SSE.
 *
 * The Node binaries: `--node <path>` (repeatable) on benchmarks/run.ts, else the environment variable
 * TAPEGRAD_BENCH_NODES (paths separated by ':' like PATH, or ','), else the Node running the benchmark.
 * The first is the headline (the README's figures; Node 24, the active LTS, on the lead's runs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { NodeRuntime } from './contestants.js';
import { nodeLabels } from './contestants.js';

export const NODES_ENV_VAR = 'TAPEGRAD_BENCH_NODES';

export type SimdWidth = 'AVX-512' | 'AVX2' | 'AVX' | 'SSE' | 'unknown';

export interface CpuInfo {
  model: string;
  cores: number;
  simd: SimdWidth;
  /** Fused multiply-add in the x86 vector units (the `fma` flag). */
  fma: boolean;
  /** Where the flags came from: 'lscpu', '/proc/cpuinfo', or 'none'. */
  source: string;
}

/** The widest x86 SIMD a list of CPU flags names. */
export function simdWidth(flags: readonly string[]): SimdWidth {
  const has = new Set(flags.map((f) => f.toLowerCase()));
  if (has.has('avx512f')) return 'AVX-512';
  if (has.has('avx2')) return 'AVX2';
  if (has.has('avx')) return 'AVX';
  if (has.has('sse2') || has.has('sse4_1') || has.has('sse4_2')) return 'SSE';
  return 'unknown';
}

/** `Key: value` lines (lscpu's and /proc/cpuinfo's format) → the first value of each key. */
export function parseColonLines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    if (!out.has(key)) out.set(key, line.slice(i + 1).trim());
  }
  return out;
}

/** The CPU's model, core count and SIMD width: from lscpu, else /proc/cpuinfo, else only what node:os knows. */
export function cpuInfo(): CpuInfo {
  const cores = cpus().length;
  const lscpu = spawnSync('lscpu', [], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (lscpu.status === 0 && lscpu.stdout.includes('Flags')) {
    const info = parseColonLines(lscpu.stdout);
    const flags = (info.get('Flags') ?? '').split(/\s+/);
    return { model: info.get('Model name') ?? cpus()[0]?.model ?? 'unknown', cores, simd: simdWidth(flags), fma: flags.includes('fma'), source: 'lscpu' };
  }
  if (existsSync('/proc/cpuinfo')) {
    const info = parseColonLines(readFileSync('/proc/cpuinfo', 'utf8'));
    const flags = (info.get('flags') ?? '').split(/\s+/);
    return { model: info.get('model name') ?? 'unknown', cores, simd: simdWidth(flags), fma: flags.includes('fma'), source: '/proc/cpuinfo' };
  }
  return { model: cpus()[0]?.model ?? 'unknown', cores, simd: 'unknown', fma: false, source: 'none' };
}

/** The Node binaries asked for: every `--node <path>` of argv, else $TAPEGRAD_BENCH_NODES, else this Node. */
export function nodePaths(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, self: string = process.execPath): string[] {
  const given: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--node') {
      const path = argv[i + 1];
      if (path === undefined || path.startsWith('--')) throw new Error('bench: --node needs the path of a Node binary');
      given.push(path);
      i++;
    } else if (argv[i].startsWith('--node=')) {
      given.push(argv[i].slice('--node='.length));
    }
  }
  if (given.length > 0) return given;
  const listed = (env[NODES_ENV_VAR] ?? '').split(/[,:]/).map((s) => s.trim()).filter((s) => s !== '');
  return listed.length > 0 ? listed : [self];
}

/** Each binary's version and row label; a path that does not run as Node throws, naming it. */
export function resolveNodes(paths: readonly string[]): NodeRuntime[] {
  const versions = paths.map((path) => {
    const r = spawnSync(path, ['-p', 'process.version'], { encoding: 'utf8', timeout: 60_000 });
    const version = r.status === 0 ? r.stdout.trim() : '';
    if (!/^v\d+\.\d+\.\d+/.test(version)) {
      const why = r.error ? ((r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message) : `exit code ${r.status}: ${r.stderr.trim().split('\n').pop() ?? ''}`;
      throw new Error(`bench: the Node binary ${path} did not run (${why}); give --node <path> or ${NODES_ENV_VAR}`);
    }
    return version;
  });
  const labels = nodeLabels(versions);
  return paths.map((path, i) => ({ path, version: versions[i], label: labels[i] }));
}
