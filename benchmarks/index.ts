/**
 * `runBenchmark({ quick })`: the whole benchmark in one run, each contestant in its own process.
 *
 *   1. the kernel table (benchmarks/kernels.ts): GFLOP/s of the naive twin and of the JavaScript and
 *      WebAssembly kernels on 1 thread and on the pool (FMA columns from a child with the relaxed-SIMD flag);
 *   2. training and inference throughput on MNIST, 784-300-100-10, SGD lr 0.1 momentum 0.9,
 *      batch 64, for the rows of benchmarks/contestants.ts: tapegrad on 1 and 2 threads, PyTorch on
 *      one thread with OpenBLAS (when a Python with torch is found, benchmarks/python.ts), TensorFlow.js
 *      CPU and WASM, jax-js (benchmarks/peers/*), warm-up excluded, peers interleaved round by
 *      round, medians; the ratios the table asks for, from this same run;
 *   3. (full run) five epochs of tapegrad on all 60,000 images: heap and tensor arena after each
 *      epoch, peak RSS.
 *
 * Writes benchmarks/results/<date>.json and .md (<date>-quick.* for --quick) and returns the result.
 * `npx tsx benchmarks/run.ts [--quick]` and `tapegrad bench [--quick]` both call it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, getPriority, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Contestant } from './contestants.js';
import { CONTESTANTS, MEMORY_RUN, ratios as ratioList } from './contestants.js';
import type { KernelRow } from './kernels.js';
import { kernelMarkdown } from './kernels.js';
import type { PeerResult } from './mnist.js';
import type { PythonFound } from './python.js';
import { findPython } from './python.js';

export interface BenchmarkOptions {
  quick?: boolean;
  /** Where results go; default benchmarks/results. */
  outDir?: string;
  /** Progress lines; default console.log. */
  log?: (line: string) => void;
  /** Only the tapegrad rows of this backend (`tapegrad bench --backend`); the peers run as usual. */
  backend?: 'wasm' | 'js';
}

/** One row of the training table: medians over the row's runs; all null when it could not run here. */
export interface ContestantSummary {
  peer: string;
  runs: number;
  trainSamplesPerSec: number | null;
  inferSamplesPerSec: number | null;
  peakRssMiB: number | null;
  lossFirst: number | null;
  lossLast: number | null;
  /** Why the row did not run (PyTorch without a Python that has torch). */
  unavailable?: string;
  note?: string;
}

export interface BenchmarkResult {
  date: string;
  quick: boolean;
  command: string;
  machine: {
    cpu: string; cores: number; node: string; niceness: number; loadAverageStart: number[]; loadAverageEnd: number[];
    /** Two concurrent single-thread kernels' total rate over one alone (benchmarks/capacity.ts), before and after. */
    parallelCapacity: number[];
    /** The Python that ran the PyTorch rows and its torch, or why there was none. */
    python: { python: string; torch: string } | { missing: string; tried: string[] };
  };
  kernels: KernelRow[];
  training: ContestantSummary[];
  runs: PeerResult[];
  memory: {
    heapMiB: number[];
    /** The tensor arena's size after each epoch (empty when the engine has no arena here). */
    arenaMiB: number[];
    heapGrowthEpoch2To5MiB: number;
    arenaGrowthEpoch2To5MiB: number;
    peakRssMiB: number;
    threads: number;
    backend: string;
  } | null;
  /** `${row} / ${other}` → training samples/s over training samples/s; null (n/a) when either did not run. */
  ratios: Record<string, number | null>;
  /** For each n/a ratio: which row did not run, and why. */
  ratiosMissing: Record<string, string>;
  files: { json: string; markdown: string };
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** How a script runs: a command, its arguments before the script, and the environment. */
interface Launcher {
  command: string;
  prefix: string[];
  env: NodeJS.ProcessEnv;
}

function nodeLauncher(nodeFlags: string[] = []): Launcher {
  return { command: process.execPath, prefix: [...nodeFlags, '--import', tsxLoader()], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } };
}

/** Runs a benchmark script under tsx in a fresh Node process and parses the JSON on its last line. */
function runScript<T>(script: string, args: string[], launcher: Launcher = nodeLauncher()): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(launcher.command, [...launcher.prefix, join(here, script), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: launcher.env,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{') && !last.startsWith('[')) {
        reject(new Error(`bench: ${launcher.command} ${script} ${args.join(' ')} exited with ${code}:\n${err.slice(-2000)}${out.slice(-500)}`));
        return;
      }
      resolve(JSON.parse(last) as T);
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Sum of two concurrent kernel rates over one alone: how many free cores there are right now. */
async function parallelCapacity(): Promise<number> {
  type Rate = { gflops: number };
  const solo = await runScript<Rate>('capacity.ts', []);
  const pair = await Promise.all([runScript<Rate>('capacity.ts', []), runScript<Rate>('capacity.ts', [])]);
  return (pair[0].gflops + pair[1].gflops) / solo.gflops;
}

export async function runBenchmark(options: BenchmarkOptions = {}): Promise<BenchmarkResult> {
  const quick = options.quick === true;
  const log = options.log ?? ((line: string) => console.log(line));
  const loadAverageStart = loadavg();
  const started = performance.now();
  const capacity = [await parallelCapacity()];
  log(`parallel capacity: two concurrent kernels run ${capacity[0].toFixed(2)}× one alone (2.00 = two free cores)`);

  log(`kernels: ${quick ? 'quick' : 'full'} table (naive; JavaScript and WebAssembly, 1 thread and the pool; FMA in a child)`);
  const kernels = await runScript<KernelRow[]>('kernels.ts', quick ? ['--json', '--quick'] : ['--json']);

  const python = CONTESTANTS.some((c) => c.runtime === 'python') ? findPython() : null;
  if (python?.found === true) log(`pytorch: ${python.python}, torch ${python.torch} (one thread, OpenBLAS first on LD_LIBRARY_PATH)`);
  if (python?.found === false) log(`pytorch: ${python.reason} (tried ${python.tried.join('; ')})`);
  /** How a contestant runs here, or why it cannot. */
  const launcherFor = (c: Contestant): Launcher | string => {
    const backend = c.script === 'peers/tapegrad.ts' ? c.args[c.args.indexOf('--backend') + 1] : undefined;
    if (options.backend !== undefined && backend !== undefined && backend !== options.backend) return `not run: --backend ${options.backend}`;
    if (c.runtime === 'node') return nodeLauncher();
    if (python === null || python.found === false) return python?.reason ?? 'no Python was looked for';
    return { command: python.python, prefix: [], env: python.env };
  };

  const rounds = quick ? 1 : 3;
  const runs: PeerResult[] = [];
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no contestant always runs first (or right after the slowest).
    const order = CONTESTANTS.map((_, i) => CONTESTANTS[(i + r) % CONTESTANTS.length]);
    for (const c of order) {
      const launcher = launcherFor(c);
      if (typeof launcher === 'string') continue;
      const steps = quick ? c.steps[1] : c.steps[0];
      const warmup = quick ? Math.max(2, Math.round(steps / 10)) : Math.max(5, Math.round(steps / 10));
      const inferBatches = quick ? c.infer[1] : c.infer[0];
      const res = await runScript<PeerResult>(c.script, [...c.args, '--steps', String(steps), '--warmup', String(warmup), '--infer-batches', String(inferBatches)], launcher);
      res.peer = c.peer;
      runs.push(res);
      log(`round ${r + 1}/${rounds} ${c.peer.padEnd(18)} train ${res.trainSamplesPerSec.toFixed(0).padStart(6)} samples/s, inference ${res.inferSamplesPerSec.toFixed(0).padStart(6)} samples/s, loss ${res.lossFirst.toFixed(3)} → ${res.lossLast.toFixed(3)}`);
    }
  }

  const training = CONTESTANTS.map((c) => {
    const launcher = launcherFor(c);
    return summarize(c.peer, runs, typeof launcher === 'string' ? launcher : undefined);
  });

  let memory: BenchmarkResult['memory'] = null;
  if (!quick) {
    log('memory: tapegrad, 2 threads, 5 epochs of 60,000 images (heap after a full GC, and the tensor arena, after each epoch)');
    const res = await runScript<PeerResult>(MEMORY_RUN.script, MEMORY_RUN.args, nodeLauncher(MEMORY_RUN.nodeFlags));
    const heap = res.heapMiB ?? [];
    const arena = res.arenaMiB ?? [];
    const growth = (xs: number[]): number => (xs.length >= 5 ? xs[4] - xs[1] : NaN);
    memory = {
      heapMiB: heap, arenaMiB: arena, heapGrowthEpoch2To5MiB: growth(heap), arenaGrowthEpoch2To5MiB: growth(arena),
      peakRssMiB: res.peakRssMiB, threads: res.threads ?? 2, backend: res.backend ?? 'unknown',
    };
    log(`memory: heap ${heap.map((h) => h.toFixed(1)).join(', ')} MiB; arena ${arena.map((h) => h.toFixed(1)).join(', ')} MiB; peak RSS ${res.peakRssMiB.toFixed(0)} MiB`);
  }

  if (!quick) {
    capacity.push(await parallelCapacity());
    log(`parallel capacity at the end: ${capacity[1].toFixed(2)}×`);
  }

  const ratios: Record<string, number | null> = {};
  const ratiosMissing: Record<string, string> = {};
  for (const q of ratioList(CONTESTANTS, training)) {
    ratios[q.name] = q.value;
    if (q.missing !== undefined) ratiosMissing[q.name] = q.missing;
  }

  const outDir = options.outDir ?? join(here, 'results');
  mkdirSync(outDir, { recursive: true });
  const date = today();
  const base = join(outDir, quick ? `${date}-quick` : date);
  const result: BenchmarkResult = {
    date,
    quick,
    command: quick ? 'npx tsx benchmarks/run.ts --quick' : 'npx tsx benchmarks/run.ts',
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, niceness: getPriority(),
      loadAverageStart, loadAverageEnd: loadavg(), parallelCapacity: capacity, python: pythonSummary(python),
    },
    kernels,
    training,
    runs,
    memory,
    ratios,
    ratiosMissing,
    files: { json: `${base}.json`, markdown: `${base}.md` },
  };
  const md = markdown(result, (performance.now() - started) / 1000);
  writeFileSync(result.files.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(result.files.markdown, md);
  log('');
  log(md);
  return result;
}

/** A row of the training table: medians of the contestant's runs, or why it did not run. */
export function summarize(peer: string, runs: PeerResult[], unavailable?: string): ContestantSummary {
  if (unavailable !== undefined) {
    return { peer, runs: 0, trainSamplesPerSec: null, inferSamplesPerSec: null, peakRssMiB: null, lossFirst: null, lossLast: null, unavailable };
  }
  const mine = runs.filter((x) => x.peer === peer);
  return {
    peer,
    runs: mine.length,
    trainSamplesPerSec: median(mine.map((x) => x.trainSamplesPerSec)),
    inferSamplesPerSec: median(mine.map((x) => x.inferSamplesPerSec)),
    peakRssMiB: Math.max(...mine.map((x) => x.peakRssMiB)),
    lossFirst: median(mine.map((x) => x.lossFirst)),
    lossLast: median(mine.map((x) => x.lossLast)),
    ...(mine[0]?.note ? { note: mine[0].note } : {}),
  };
}

function pythonSummary(p: PythonFound | null): BenchmarkResult['machine']['python'] {
  if (p === null) return { missing: 'no contestant needs Python', tried: [] };
  return p.found ? { python: p.python, torch: p.torch } : { missing: p.reason, tried: p.tried };
}

/** Said next to every training table: the kernel table below measures dense operands. */
export const ZERO_SKIP_NOTE =
  'tapegrad\'s products skip k-steps whose packed values are all zero (engine/kernels/gemmPacked.ts), and MNIST ' +
  'pixels are about 80% zeros, so its first layer does less arithmetic than the peers\' (same results, bit for bit); ' +
  'the kernel table uses dense random operands, where nothing is skipped, and tapegrad-2t-dense trains with skipping ' +
  'turned off.';

export function markdown(r: BenchmarkResult, seconds?: number): string {
  const n = (v: number | null, d = 0): string => (v !== null && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
  const lines: string[] = [];
  lines.push(`# tapegrad benchmark, ${r.date}${r.quick ? ' (quick)' : ''}`);
  lines.push('');
  lines.push(`\`${r.command}\` on ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}` +
    `${seconds === undefined ? '' : `, ${n(seconds)} s`}${r.machine.niceness !== 0 ? `, niceness ${r.machine.niceness} (every contestant alike)` : ''}; load average ${r.machine.loadAverageStart.map((x) => x.toFixed(1)).join('/')} at the start ` +
    `(other work shares the machine: medians, peers interleaved). Parallel capacity ` +
    `${r.machine.parallelCapacity.map((c) => `${c.toFixed(2)}×`).join(' at the start, ')}${r.machine.parallelCapacity.length > 1 ? ' at the end' : ''}: ` +
    `two single-thread kernels at once ran that much faster than one (2.00× = two free cores), which bounds what two threads can gain.`);
  lines.push('');
  lines.push('## Training: MLP 784-300-100-10, SGD lr 0.1 momentum 0.9, batch 64, MNIST');
  lines.push('');
  lines.push('| contestant | train samples/s | inference samples/s (batch 1000) | peak RSS MiB | loss, first → last 10 timed steps | runs |');
  lines.push('| --- | ---: | ---: | ---: | --- | ---: |');
  for (const t of r.training) {
    if (t.unavailable !== undefined) {
      lines.push(`| ${t.peer} | ${t.unavailable} | | | | 0 |`);
      continue;
    }
    lines.push(`| ${t.peer} | ${n(t.trainSamplesPerSec)} | ${n(t.inferSamplesPerSec)} | ${n(t.peakRssMiB)} | ${n(t.lossFirst, 3)} → ${n(t.lossLast, 3)} | ${t.runs} |`);
  }
  lines.push('');
  lines.push('| ratio (train samples/s) | value |');
  lines.push('| --- | ---: |');
  for (const [k, v] of Object.entries(r.ratios)) {
    lines.push(`| ${k} | ${v === null ? `n/a (${r.ratiosMissing[k] ?? 'a row did not run'})` : `${n(v, 2)}×`} |`);
  }
  const notes = r.training.filter((t) => t.note).map((t) => `${t.peer}: ${t.note}.`);
  notes.unshift(ZERO_SKIP_NOTE);
  if (notes.length > 0) {
    lines.push('');
    lines.push(notes.join(' '));
  }
  if (r.memory) {
    const m = r.memory;
    lines.push('');
    lines.push(`Memory (tapegrad, ${m.backend} backend, ${m.threads} threads, 5 epochs of 60,000 images, each step in a scope): ` +
      `growth from epoch 2 to 5: heap ${n(m.heapGrowthEpoch2To5MiB, 2)} MiB, arena ${n(m.arenaGrowthEpoch2To5MiB, 2)} MiB; peak RSS ${n(m.peakRssMiB)} MiB.`);
    lines.push('');
    lines.push('| after epoch | heap MiB (after a full GC) | tensor arena MiB |');
    lines.push('| ---: | ---: | ---: |');
    m.heapMiB.forEach((h, e) => lines.push(`| ${e + 1} | ${n(h, 1)} | ${m.arenaMiB[e] === undefined ? '—' : n(m.arenaMiB[e], 1)} |`));
  }
  lines.push('');
  lines.push('## Kernels: GFLOP/s of the 784→300 Dense layer\'s products (W stored (300,784), PyTorch layout)');
  lines.push('');
  lines.push(kernelMarkdown(r.kernels));
  lines.push('');
  return lines.join('\n');
}
