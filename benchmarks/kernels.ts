/**
 * The kernel table: GFLOP/s of the three products of tapegrad's widest Dense layer (784 → 300,
 * PyTorch layout W (300,784)) at batch 64 and 128, for the naive twin, the register-blocked kernel
 * on one thread, and the dispatching kernel on the worker pool (2 threads). Each kernel's output is
 * compared with its naive twin first; one that disagrees is reported as refused, never timed.
 * Run standalone (`npx tsx benchmarks/kernels.ts [--quick]`) it prints the table; benchmarks/index.ts
 * runs it in its own process and reads the JSON on the last line.
 */
import { allocPersistent } from '../engine/memory.js';
import { pathToFileURL } from 'node:url';
import {
  gemmNNBlocked, gemmNNNaive, gemmNTBlocked, gemmNTNaive, gemmTNBlocked, gemmTNNaive,
} from '../engine/kernels/matmul.js';
import { gemmNN, gemmNT, gemmTN } from '../engine/compute.js';
import { Rng } from '../engine/rng.js';
import { parallelProductCount, setAutoThreads, setThreads, threadsReady } from '../engine/threads/index.js';

type Gemm = (C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number) => void;

export interface KernelRow {
  product: string;
  layout: 'NN' | 'NT' | 'TN';
  batch: number;
  M: number;
  K: number;
  N: number;
  /** GFLOP/s (2·M·K·N per product), median of the timed repetitions; null when refused. */
  naive: number | null;
  blocked: number | null;
  threaded: number | null;
  threads: number;
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

export async function kernelTable(options: { quick?: boolean; threads?: number } = {}): Promise<KernelRow[]> {
  const quick = options.quick === true;
  const threads = options.threads ?? 2;
  setThreads(threads);
  setAutoThreads(false); // the threaded column always runs on the pool
  await threadsReady();
  const rows: KernelRow[] = [];
  const rng = new Rng(42);
  for (const batch of [64, 128]) {
    for (const p of PRODUCTS) {
      const [M, K, N] = p.shape(batch);
      const A = random(M * K, rng);
      const B = random(K * N, rng);
      const want = new Float32Array(M * N);
      p.naive(want, A, B, M, K, N);
      const refused: string[] = [];
      const candidates: [string, Gemm][] = [['blocked', p.blocked], ['threaded', p.threaded]];
      const ok = new Map<string, boolean>();
      for (const [name, kernel] of candidates) {
        const got = allocPersistent(M * N).fill(NaN);
        kernel(got, A, B, M, K, N);
        const err = maxError(got, want);
        ok.set(name, err <= TOLERANCE);
        if (err > TOLERANCE) refused.push(`${name}: max relative error ${err.toExponential(2)} vs naive`);
      }
      const C = allocPersistent(M * N);
      const names = ['naive', ...candidates.filter(([n]) => ok.get(n)).map(([n]) => n)];
      const kernels = new Map<string, Gemm>([['naive', p.naive], ...candidates]);
      const before = parallelProductCount();
      const samples = timeInterleaved(names.map((n) => () => kernels.get(n)!(C, A, B, M, K, N)), quick ? 3 : 9, quick ? 20 : 60);
      const usedPool = parallelProductCount() > before;
      const gflops = new Map(names.map((n, i) => [n, (2 * M * K * N) / (median(samples[i]) * 1e6)]));
      rows.push({
        product: p.product, layout: p.layout, batch, M, K, N,
        naive: gflops.get('naive') ?? null,
        blocked: gflops.get('blocked') ?? null,
        threaded: gflops.get('threaded') ?? null,
        threads: usedPool ? threads : 1,
        refused,
      });
    }
  }
  return rows;
}

export function kernelMarkdown(rows: KernelRow[]): string {
  const f = (v: number | null): string => (v === null ? 'refused' : v.toFixed(2));
  const lines = [
    '| product | layout | batch | M×K×N | naive | blocked, 1 thread | blocked, threads |',
    '| --- | --- | ---: | --- | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.product} | ${r.layout} | ${r.batch} | ${r.M}×${r.K}×${r.N} | ${f(r.naive)} | ${f(r.blocked)} | ${f(r.threaded)} (${r.threads}) |`);
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const rows = await kernelTable({ quick });
  if (!process.argv.includes('--json')) console.log(`GFLOP/s, median of ${quick ? 3 : 9} interleaved runs\n\n${kernelMarkdown(rows)}\n`);
  console.log(JSON.stringify(rows));
  process.exit(0);
}
