/**
 * `runBenchmark({ quick })`: the whole benchmark in one run, each contestant in its own process.
 *
 *   1. the kernel table (benchmarks/kernels.ts): naive vs blocked vs threaded GFLOP/s;
 *   2. training and inference throughput on MNIST, 784-300-100-10, SGD lr 0.1 momentum 0.9,
 *      batch 64: tapegrad on 1 and 2 threads, TensorFlow.js CPU and WASM, js-pytorch
 *      (benchmarks/peers/*.ts), warm-up excluded, peers interleaved round by round, medians;
 *   3. (full run) five epochs of tapegrad on all 60,000 images: heap after each epoch, peak RSS.
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
import type { KernelRow } from './kernels.js';
import { kernelMarkdown } from './kernels.js';
import type { PeerResult } from './mnist.js';

export interface BenchmarkOptions {
  quick?: boolean;
  /** Where results go; default benchmarks/results. */
  outDir?: string;
  /** Progress lines; default console.log. */
  log?: (line: string) => void;
}

export interface ContestantSummary {
  peer: string;
  runs: number;
  trainSamplesPerSec: number;
  inferSamplesPerSec: number;
  peakRssMiB: number;
  lossFirst: number;
  lossLast: number;
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
  };
  kernels: KernelRow[];
  training: ContestantSummary[];
  runs: PeerResult[];
  memory: { heapMiB: number[]; heapGrowthEpoch2To5MiB: number; peakRssMiB: number; threads: number } | null;
  ratios: Record<string, number>;
  files: { json: string; markdown: string };
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

interface Contestant {
  peer: string;
  script: string;
  args: string[];
  /** Timed steps (full, quick): sized so each takes a few seconds at its expected speed. */
  steps: [number, number];
  /** Timed inference batches of 1000 (full, quick). */
  infer: [number, number];
}

const CONTESTANTS: Contestant[] = [
  { peer: 'tapegrad-1t', script: 'peers/tapegrad.ts', args: ['--threads', '1'], steps: [400, 100], infer: [10, 2] },
  { peer: 'tapegrad-2t', script: 'peers/tapegrad.ts', args: ['--threads', '2'], steps: [600, 150], infer: [10, 2] },
  { peer: 'tapegrad-2t-dense', script: 'peers/tapegrad.ts', args: ['--threads', '2', '--zero-skip', '0'], steps: [400, 100], infer: [5, 1] },
  { peer: 'tfjs-cpu', script: 'peers/tfjs.ts', args: ['--backend', 'cpu'], steps: [60, 10], infer: [3, 1] },
  { peer: 'tfjs-wasm', script: 'peers/tfjs.ts', args: ['--backend', 'wasm'], steps: [250, 60], infer: [10, 2] },
  { peer: 'js-pytorch', script: 'peers/jspytorch.ts', args: [], steps: [20, 3], infer: [2, 1] },
];

function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** Runs a benchmark script under tsx in a fresh Node process and parses the JSON on its last line. */
function runScript<T>(script: string, args: string[], nodeFlags: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', tsxLoader(), join(here, script), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{') && !last.startsWith('[')) {
        reject(new Error(`bench: ${script} ${args.join(' ')} exited with ${code}:\n${err.slice(-2000)}${out.slice(-500)}`));
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

  log(`kernels: ${quick ? 'quick' : 'full'} table (naive vs blocked vs threaded)`);
  const kernels = await runScript<KernelRow[]>('kernels.ts', quick ? ['--json', '--quick'] : ['--json']);

  const rounds = quick ? 1 : 3;
  const runs: PeerResult[] = [];
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no contestant always runs first (or right after the slowest).
    const order = CONTESTANTS.map((_, i) => CONTESTANTS[(i + r) % CONTESTANTS.length]);
    for (const c of order) {
      const steps = quick ? c.steps[1] : c.steps[0];
      const warmup = quick ? Math.max(2, Math.round(steps / 10)) : Math.max(5, Math.round(steps / 10));
      const inferBatches = quick ? c.infer[1] : c.infer[0];
      const res = await runScript<PeerResult>(c.script, [...c.args, '--steps', String(steps), '--warmup', String(warmup), '--infer-batches', String(inferBatches)]);
      res.peer = c.peer;
      runs.push(res);
      log(`round ${r + 1}/${rounds} ${c.peer.padEnd(12)} train ${res.trainSamplesPerSec.toFixed(0).padStart(6)} samples/s, inference ${res.inferSamplesPerSec.toFixed(0).padStart(6)} samples/s, loss ${res.lossFirst.toFixed(3)} → ${res.lossLast.toFixed(3)}`);
    }
  }

  const training: ContestantSummary[] = CONTESTANTS.map((c) => {
    const mine = runs.filter((x) => x.peer === c.peer);
    return {
      peer: c.peer,
      runs: mine.length,
      trainSamplesPerSec: median(mine.map((x) => x.trainSamplesPerSec)),
      inferSamplesPerSec: median(mine.map((x) => x.inferSamplesPerSec)),
      peakRssMiB: Math.max(...mine.map((x) => x.peakRssMiB)),
      lossFirst: median(mine.map((x) => x.lossFirst)),
      lossLast: median(mine.map((x) => x.lossLast)),
      ...(mine[0]?.note ? { note: mine[0].note } : {}),
    };
  });

  let memory: BenchmarkResult['memory'] = null;
  if (!quick) {
    log('memory: tapegrad, 2 threads, 5 epochs of 60,000 images (heap after each epoch, after a full GC)');
    const res = await runScript<PeerResult>('peers/tapegrad.ts', ['--threads', '2', '--steps', '20', '--warmup', '5', '--infer-batches', '1', '--epochs', '5'], ['--expose-gc']);
    const heap = res.heapMiB ?? [];
    memory = { heapMiB: heap, heapGrowthEpoch2To5MiB: heap.length >= 5 ? heap[4] - heap[1] : NaN, peakRssMiB: res.peakRssMiB, threads: 2 };
    log(`memory: heap ${heap.map((h) => h.toFixed(1)).join(', ')} MiB; peak RSS ${res.peakRssMiB.toFixed(0)} MiB`);
  }

  if (!quick) {
    capacity.push(await parallelCapacity());
    log(`parallel capacity at the end: ${capacity[1].toFixed(2)}×`);
  }

  const speed = (peer: string): number => training.find((t) => t.peer === peer)?.trainSamplesPerSec ?? NaN;
  const ratios: Record<string, number> = {
    'tapegrad-2t / tfjs-cpu': speed('tapegrad-2t') / speed('tfjs-cpu'),
    'tapegrad-2t / tfjs-wasm': speed('tapegrad-2t') / speed('tfjs-wasm'),
    'tapegrad-2t / js-pytorch': speed('tapegrad-2t') / speed('js-pytorch'),
    'tapegrad-1t / tfjs-cpu': speed('tapegrad-1t') / speed('tfjs-cpu'),
    'tapegrad-1t / tfjs-wasm': speed('tapegrad-1t') / speed('tfjs-wasm'),
    'tapegrad-2t / tapegrad-1t': speed('tapegrad-2t') / speed('tapegrad-1t'),
    'tapegrad-2t-dense / tfjs-cpu': speed('tapegrad-2t-dense') / speed('tfjs-cpu'),
    'tapegrad-2t-dense / tfjs-wasm': speed('tapegrad-2t-dense') / speed('tfjs-wasm'),
  };

  const outDir = options.outDir ?? join(here, 'results');
  mkdirSync(outDir, { recursive: true });
  const date = today();
  const base = join(outDir, quick ? `${date}-quick` : date);
  const result: BenchmarkResult = {
    date,
    quick,
    command: quick ? 'npx tsx benchmarks/run.ts --quick' : 'npx tsx benchmarks/run.ts',
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, niceness: getPriority(), loadAverageStart, loadAverageEnd: loadavg(), parallelCapacity: capacity },
    kernels,
    training,
    runs,
    memory,
    ratios,
    files: { json: `${base}.json`, markdown: `${base}.md` },
  };
  const md = markdown(result, (performance.now() - started) / 1000);
  writeFileSync(result.files.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(result.files.markdown, md);
  log('');
  log(md);
  return result;
}

/** Said next to every training table: the kernel table below measures dense operands. */
export const ZERO_SKIP_NOTE =
  'tapegrad\'s products skip k-steps whose packed values are all zero (engine/kernels/gemmPacked.ts), and MNIST ' +
  'pixels are about 80% zeros, so its first layer does less arithmetic than the peers\' (same results, bit for bit); ' +
  'the kernel table uses dense random operands, where nothing is skipped, and tapegrad-2t-dense trains with skipping ' +
  'turned off.';

export function markdown(r: BenchmarkResult, seconds?: number): string {
  const n = (v: number, d = 0): string => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');
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
    lines.push(`| ${t.peer} | ${n(t.trainSamplesPerSec)} | ${n(t.inferSamplesPerSec)} | ${n(t.peakRssMiB)} | ${t.lossFirst.toFixed(3)} → ${t.lossLast.toFixed(3)} | ${t.runs} |`);
  }
  lines.push('');
  lines.push('| ratio (train samples/s) | value |');
  lines.push('| --- | ---: |');
  for (const [k, v] of Object.entries(r.ratios)) lines.push(`| ${k} | ${n(v, 2)}× |`);
  const notes = r.training.filter((t) => t.note).map((t) => `${t.peer}: ${t.note}.`);
  notes.unshift(ZERO_SKIP_NOTE);
  if (notes.length > 0) {
    lines.push('');
    lines.push(notes.join(' '));
  }
  if (r.memory) {
    lines.push('');
    lines.push(`Memory (tapegrad, ${r.memory.threads} threads, 5 epochs of 60,000 images): heap after each epoch ` +
      `${r.memory.heapMiB.map((h) => h.toFixed(1)).join(', ')} MiB (growth from epoch 2 to 5: ${r.memory.heapGrowthEpoch2To5MiB.toFixed(2)} MiB); ` +
      `peak RSS ${n(r.memory.peakRssMiB)} MiB.`);
  }
  lines.push('');
  lines.push('## Kernels: GFLOP/s of the 784→300 Dense layer\'s products (W stored (300,784), PyTorch layout)');
  lines.push('');
  lines.push(kernelMarkdown(r.kernels));
  lines.push('');
  return lines.join('\n');
}
