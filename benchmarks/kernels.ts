/**
 * The kernel table: GFLOP/s of the three products of tapegrad's widest Dense layer (784 → 300,
 * PyTorch layout W (300,784)) at batch 64 and 128, for the naive twin, the JavaScript register-blocked
 * kernel on one thread and through the worker pool (2 threads), the WebAssembly kernel likewise with
 * mul+add, and the WebAssembly kernel with FMA (relaxed SIMD's f32x4.relaxed_madd).
 *
 * Which WebAssembly build the engine makes depends on the runtime, never on a flag the program sets:
 * Node 20 validates relaxed SIMD only behind --experimental-wasm-relaxed-simd, so there this process's
 * wasm columns are mul+add and the FMA columns come from a child this script starts with the flag;
 * Node ≥ 22 ships relaxed SIMD on (and rejects the flag), so there the engine's wasm kernels already are
 * FMA: this process's wasm columns are the FMA columns, and the mul+add ones stay empty ("—"), because
 * the engine builds no mul+add kernel where FMA validates. Each row records the Node that ran it.
 *
 * Each kernel's output is compared with its naive twin first (the JavaScript kernel within 1e-5 — it
 * gives the same bits; the WebAssembly one within float32 accumulation's bound K·2⁻²³·Σ|a·b|,
 * tests/engine/wasm-checks.ts); one that disagrees is reported as refused, never timed.
 * The operands are dense (uniform in [−1, 1]), so zero skipping skips nothing here.
 * Run standalone (`npx tsx benchmarks/kernels.ts [--quick]`) it prints the table; benchmarks/index.ts
 * runs it in its own process on each Node it was given and reads the JSON on the last line.
 */
import { allocPersistent } from '../engine/memory.js';
import { pathToFileURL } from 'node:url';
import {
  gemmNNBlocked, gemmNNNaive, gemmNTBlocked, gemmNTNaive, gemmTNBlocked, gemmTNNaive,
} from '../engine/kernels/matmul.js';
import { gemmNN, gemmNT, gemmTN } from '../engine/backends/index.js';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getBackend, setBackend, threadsReady, usesFma, type BackendName } from '../engine/index.js';
import { Rng } from '../engine/rng.js';
import { PARALLEL_MIN_MACS, parallelProductCount, setParallelMinMacs, setThreads } from '../engine/threads/index.js';

type Gemm = (C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number) => void;

export interface KernelRow {
  product: string;
  layout: 'NN' | 'NT' | 'TN';
  batch: number;
  M: number;
  K: number;
  N: number;
  /** GFLOP/s (2·M·K·N per product), median of the timed repetitions; null when refused or not run. */
  naive: number | null;
  /** The JavaScript kernel: one thread, and through the pool. */
  blocked: number | null;
  threaded: number | null;
  /** The WebAssembly kernel with mul+add: one thread, and through the pool (null on Node ≥ 22: the engine builds FMA there). */
  wasm: number | null;
  wasmThreaded: number | null;
  /** The WebAssembly kernel with FMA (Node ≥ 22 as is; Node 20 in a child with its relaxed-SIMD flag): one thread, the pool. */
  fma: number | null;
  fmaThreaded: number | null;
  threads: number;
  /** The Node that ran the row (`process.version`). */
  node: string;
  refused: string[];
}

interface Product {
  product: string;
  layout: 'NN' | 'NT' | 'TN';
  shape: (batch: number) => [number, number, number];
  naive: Gemm;
  blocked: Gemm;
  threaded: Gemm;
}

const IN = 784;
const OUT = 300;

export const PRODUCTS: Product[] = [
  { product: 'forward Y = X·Wᵀ', layout: 'NT', shape: (b) => [b, IN, OUT], naive: gemmNTNaive, blocked: gemmNTBlocked, threaded: gemmNT },
  { product: 'input grad dX = dY·W', layout: 'NN', shape: (b) => [b, OUT, IN], naive: gemmNNNaive, blocked: gemmNNBlocked, threaded: gemmNN },
  { product: 'weight grad dW = dYᵀ·X', layout: 'TN', shape: (b) => [OUT, b, IN], naive: gemmTNNaive, blocked: gemmTNBlocked, threaded: gemmTN },
];

function random(n: number, rng: Rng): Float32Array {
  const a = allocPersistent(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniformIn(-1, 1);
  return a;
}

/** Largest |got − want| / (1 + |want|): the blocked kernels should give 0 (same sums, same order). */
function maxError(got: Float32Array, want: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  return Number.isNaN(worst) ? Infinity : worst;
}

const TOLERANCE = 1e-5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds per call of each kernel, the kernels interleaved so that a burst of load hits all alike. */
function timeInterleaved(calls: (() => void)[], reps: number, minMs: number): number[][] {
  const inner = calls.map((f) => {
    const t0 = performance.now();
    f();
    const ms = Math.max(performance.now() - t0, 0.01);
    return Math.max(1, Math.ceil(minMs / ms));
  });
  const samples: number[][] = calls.map(() => []);
  for (let r = 0; r < reps; r++) {
    calls.forEach((f, c) => {
      const t0 = performance.now();
      for (let i = 0; i < inner[c]; i++) f();
      samples[c].push((performance.now() - t0) / inner[c]);
    });
  }
  return samples;
}

/** Within float32 accumulation's bound of the twin: |got − want| ≤ K·2⁻²³·Σ_k |a·b| per element. */
function withinFloat32Bound(got: Float32Array, want: Float32Array, abs: Float32Array, K: number): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const bound = K * 2 ** -23 * abs[i];
    const excess = Math.abs(got[i] - want[i]) / Math.max(bound, 1e-30);
    worst = Math.max(worst, Number.isNaN(excess) ? Infinity : excess);
  }
  return worst; // ≤ 1 passes
}

/** One thread: the product stays on the calling thread (the pool keeps running for the next column). */
function alone(kernel: Gemm): Gemm {
  return (C, A, B, M, K, N) => {
    setParallelMinMacs(Infinity);
    try {
      kernel(C, A, B, M, K, N);
    } finally {
      setParallelMinMacs(PARALLEL_MIN_MACS);
    }
  };
}

interface Column {
  name: 'blocked' | 'threaded' | 'wasm' | 'wasmThreaded';
  backend: BackendName;
  kernel: (p: Product) => Gemm;
}

const COLUMNS: Column[] = [
  { name: 'blocked', backend: 'js', kernel: (p) => p.blocked },
  { name: 'threaded', backend: 'js', kernel: (p) => p.threaded },
  { name: 'wasm', backend: 'wasm', kernel: (p) => alone(p.threaded) },
  { name: 'wasmThreaded', backend: 'wasm', kernel: (p) => p.threaded },
];

export async function kernelTable(options: { quick?: boolean; threads?: number; wasmOnly?: boolean } = {}): Promise<KernelRow[]> {
  const quick = options.quick === true;
  const threads = options.threads ?? 2;
  setThreads(threads);
  const rows: KernelRow[] = [];
  const rng = new Rng(42);
  const reps = quick ? 3 : 9;
  const minMs = quick ? 20 : 60;
  for (const batch of [64, 128]) {
    for (const p of PRODUCTS) {
      const [M, K, N] = p.shape(batch);
      const A = random(M * K, rng);
      const B = random(K * N, rng);
      const want = new Float32Array(M * N);
      p.naive(want, A, B, M, K, N);
      const abs = new Float32Array(M * N);
      p.naive(abs, A.map(Math.abs), B.map(Math.abs), M, K, N);
      const row: KernelRow = {
        product: p.product, layout: p.layout, batch, M, K, N,
        naive: null, blocked: null, threaded: null, wasm: null, wasmThreaded: null, fma: null, fmaThreaded: null,
        threads: 1, node: process.version, refused: [],
      };
      const C = allocPersistent(M * N);
      // One pass per backend: the columns of a pass are interleaved, so a burst of load hits them alike.
      for (const backend of (options.wasmOnly ? ['wasm'] : ['js', 'wasm']) as BackendName[]) {
        await setBackend(backend);
        await threadsReady();
        const cols = COLUMNS.filter((c) => c.backend === backend);
        const timed: [string, Gemm][] = backend === 'js' && !options.wasmOnly ? [['naive', p.naive]] : [];
        for (const c of cols) {
          const kernel = c.kernel(p);
          const got = allocPersistent(M * N).fill(NaN);
          kernel(got, A, B, M, K, N);
          const err = backend === 'js' ? maxError(got, want) : withinFloat32Bound(got, want, abs, K);
          const limit = backend === 'js' ? TOLERANCE : 1;
          if (err <= limit) timed.push([c.name, kernel]);
          else row.refused.push(`${c.name}: ${backend === 'js' ? `max relative error ${err.toExponential(2)}` : `${err.toFixed(1)}× float32's bound`} vs naive`);
        }
        const before = parallelProductCount();
        const samples = timeInterleaved(timed.map(([, k]) => () => k(C, A, B, M, K, N)), reps, minMs);
        if (parallelProductCount() > before) row.threads = threads;
        timed.forEach(([name], i) => ((row as unknown as Record<string, number>)[name] = (2 * M * K * N) / (median(samples[i]) * 1e6)));
      }
      // The engine's wasm kernels are FMA where relaxed SIMD validates (Node ≥ 22, or Node 20 with its flag).
      if (usesFma()) {
        [row.fma, row.fmaThreaded, row.wasm, row.wasmThreaded] = [row.wasm, row.wasmThreaded, null, null];
        row.refused = row.refused.map((x) => x.replace(/^wasm/, 'fma'));
      }
      rows.push(row);
    }
  }
  return rows;
}

/**
 * The FMA columns where this runtime builds mul+add (Node 20): this script again in a child started
 * with --experimental-wasm-relaxed-simd, where relaxed SIMD validates and the engine builds its tile
 * loop with f32x4.relaxed_madd. Null when the child fails: the table then says so.
 */
function fmaColumns(quick: boolean): KernelRow[] | null {
  try {
    const out = execFileSync(process.execPath, [
      '--experimental-wasm-relaxed-simd', '--import', 'tsx', fileURLToPath(import.meta.url), '--fma-child', '--json', ...(quick ? ['--quick'] : []),
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    return JSON.parse(out.trim().split('\n').pop()!) as KernelRow[];
  } catch {
    return null;
  }
}

export function kernelMarkdown(rows: KernelRow[]): string {
  const f = (v: number | null): string => (v === null ? '—' : v.toFixed(2));
  const lines = [
    '| Node | product | layout | batch | M×K×N | naive | JS, 1 thread | JS, threads | wasm mul+add, 1 thread | wasm mul+add, threads | wasm FMA, 1 thread | wasm FMA, threads |',
    '| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const t = `(${r.threads})`;
    lines.push(`| ${r.node} | ${r.product} | ${r.layout} | ${r.batch} | ${r.M}×${r.K}×${r.N} | ${f(r.naive)} | ${f(r.blocked)} | ${f(r.threaded)} ${t} | ${f(r.wasm)} | ${f(r.wasmThreaded)} ${t} | ${f(r.fma)} | ${f(r.fmaThreaded)} ${t} |`);
  }
  if (rows.some((r) => r.wasm === null && r.wasmThreaded === null && r.fma !== null)) {
    lines.push('', 'On Node ≥ 22 relaxed SIMD is on by default and the engine builds its products with FMA only, so the mul+add columns are empty there; Node 20 gives both (FMA from a child started with --experimental-wasm-relaxed-simd).');
  }
  const refused = rows.flatMap((r) => r.refused.map((x) => `${r.node} ${r.layout} ${r.batch}: ${x}`));
  if (refused.length > 0) lines.push('', `Refused (disagreed with the naive twin, not timed): ${refused.join('; ')}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--fma-child')) {
    // In the child with the relaxed-SIMD flag: the wasm columns only, and they are FMA (or say why not).
    const rows = await kernelTable({ quick, wasmOnly: true });
    if (getBackend() !== 'wasm' || !usesFma()) throw new Error('kernels: the FMA child did not get an FMA build');
    console.log(JSON.stringify(rows));
    process.exit(0);
  }
  const rows = await kernelTable({ quick });
  // Node ≥ 22: this process's wasm columns already are FMA (and the flag would be rejected).
  const fma = usesFma() ? null : fmaColumns(quick);
  if (!usesFma()) {
    rows.forEach((r, i) => {
      r.fma = fma?.[i]?.fma ?? null;
      r.fmaThreaded = fma?.[i]?.fmaThreaded ?? null;
      if (fma?.[i]) r.refused.push(...fma[i].refused);
    });
  }
  if (!process.argv.includes('--json')) {
    const how = usesFma() ? ' (this Node builds FMA kernels only)' : fma === null ? ' (the FMA child failed)' : ' (FMA from a child with --experimental-wasm-relaxed-simd)';
    console.log(`GFLOP/s, median of ${quick ? 3 : 9} interleaved runs${how}\n\n${kernelMarkdown(rows)}\n`);
  }
  console.log(JSON.stringify(rows));
  process.exit(0);
}
