/**
 * Where a training step's time goes: runs benchmarks/profileTarget.ts under V8's sampling profiler
 * (`node --cpu-prof`, every thread: the main thread and each pool worker write a profile) and sorts the
 * samples of the profiled window (the steps inside `profiledSteps`, after the warm-up) into the parts
 * a step is made of: the products' tiles and packing, waiting for the worker, the optimizer update, the
 * gradient copy, allocation, BatchNorm, Dropout, tanh, ... (CATEGORIES below, by function and file).
 *
 *   npx tsx benchmarks/profile.ts [--node <path>] [--quick] [--only mlp:64:2] [--out <file.md>] [--keep <dir>]
 *
 * Without --only it profiles the MLP (784-300-100-10, SGD momentum) at batch 64 on 2 threads and on 1,
 * and each seed workload (article 001's net at 128, d2l's dropout net at 256) on 2 threads and on 1.
 * --node picks the Node binary (default this one; Node 24 is the headline); --out writes the markdown
 * (default: print it); --keep keeps the .cpuprofile files (open them in Chrome's DevTools, Performance).
 *
 * The percentages are self time: a function's own samples over all the thread's samples in the window,
 * idle and garbage collection included. The sampling profiler slows the step a little (the samples/s
 * it reports are below the benchmark's). When files move in engine/, CATEGORIES follow them; the table
 * of the top functions needs no rules.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuInfo } from './machine.js';
import type { Workload } from './mnist.js';
import { WORKLOADS } from './mnist.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** A V8 .cpuprofile (the parts used here). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A sampled function: its name, its file relative to the repository ('' for V8's own), and whether it is WebAssembly. */
export interface Frame {
  name: string;
  file: string;
  wasm: boolean;
}

/** The parts of a step, first match wins. */
export const CATEGORIES: { name: string; test: (f: Frame) => boolean }[] = [
  { name: 'products: tiles (wasm)', test: (f) => f.wasm && f.name === 'tiles' },
  { name: 'products: packing (wasm)', test: (f) => f.wasm && f.name.startsWith('pack') },
  { name: 'products: JavaScript kernels', test: (f) => f.file === 'engine/kernels/matmul.ts' || f.file === 'engine/kernels/gemmPacked.ts' },
  { name: 'waiting for the worker (pool.run)', test: (f) => f.file === 'engine/threads/pool.ts' },
  // nextTask polls for SPIN_MS, then parks in Atomics.wait: a sampling profiler cannot tell the two apart.
  { name: 'waiting for a task: polling, then asleep in Atomics.wait (worker)', test: (f) => f.file === 'engine/threads/worker.ts' && (f.name === 'loop' || f.name === 'nextTask') },
  { name: 'thread pool: planner, protocol, chunks', test: (f) => f.file.startsWith('engine/threads/') },
  { name: 'optimizer update (wasm)', test: (f) => f.wasm && f.name.endsWith('Update') },
  { name: 'optimizer update (JavaScript)', test: (f) => f.file === 'engine/kernels/updates.ts' || (f.file.startsWith('optim/') && f.name.endsWith('Update')) },
  { name: 'bias, ReLU (wasm)', test: (f) => f.wasm && /^(bias|relu)/.test(f.name) },
  { name: 'BatchNorm, Dropout, tanh, sigmoid (wasm)', test: (f) => f.wasm && /^(batchNorm|dropout|tanh|sigmoid)/.test(f.name) },
  { name: 'LayerNorm, softmax + cross-entropy (wasm)', test: (f) => f.wasm && /^(layerNorm|affineBackward|softmax|logSoftmax|crossEntropy|logF64)/.test(f.name) },
  { name: 'gradient copy into .grad (accumulateInto)', test: (f) => f.file === 'engine/tape.ts' && f.name === 'accumulateInto' },
  { name: 'allocation and zeroing (engine/memory.ts)', test: (f) => f.file === 'engine/memory.ts' },
  { name: 'Dropout: mask and scale (JavaScript)', test: (f) => /dropout/i.test(f.file) || f.file === 'engine/rng.ts' },
  { name: 'BatchNorm (JavaScript)', test: (f) => /batchNorm\.ts$/.test(f.file) },
  { name: 'LayerNorm (JavaScript)', test: (f) => /layerNorm\.ts$/.test(f.file) },
  { name: 'tanh, sigmoid (JavaScript)', test: (f) => ['engine/ops/tanh.ts', 'engine/ops/sigmoid.ts', 'engine/kernels/activation.ts'].includes(f.file) },
  { name: 'softmax + cross-entropy (JavaScript)', test: (f) => /softmax|crossEntropy/i.test(f.file) },
  { name: 'other ops and kernels (JavaScript)', test: (f) => f.file.startsWith('engine/ops/') || f.file.startsWith('engine/kernels/') },
  { name: 'tape and tensors (JavaScript)', test: (f) => ['engine/tape.ts', 'engine/tensor.ts', 'engine/node.ts', 'engine/broadcast.ts'].includes(f.file) },
  {
    name: 'backend dispatch, JS↔wasm calls',
    test: (f) => f.file.startsWith('engine/backends/') || /^(js-to-wasm|wasm-to-js)/.test(f.name) || f.name === 'get buffer',
  },
  { name: 'layers, model, optimizer step (JavaScript)', test: (f) => f.file.startsWith('layers/') || f.file.startsWith('optim/') },
  { name: 'garbage collector', test: (f) => f.name === '(garbage collector)' },
  { name: 'idle, or V8 outside JavaScript', test: (f) => f.name === '(program)' || f.name === '(idle)' || f.name === '(root)' },
  { name: 'other', test: () => true },
];

export function categoryOf(f: Frame): string {
  return (CATEGORIES.find((c) => c.test(f)) as (typeof CATEGORIES)[number]).name;
}

function frameOf(callFrame: CpuProfile['nodes'][number]['callFrame']): Frame {
  const url = callFrame.url;
  const file = url.startsWith('file://') ? relative(root, fileURLToPath(url)) : '';
  return { name: callFrame.functionName, file, wasm: url.startsWith('wasm://') };
}

/** Each sample's time (µs, the profiler's clock, shared by every thread of the process). */
function sampleTimes(p: CpuProfile): number[] {
  const out = new Array<number>(p.timeDeltas.length);
  let t = p.startTime;
  for (let i = 0; i < p.timeDeltas.length; i++) out[i] = t += p.timeDeltas[i];
  return out;
}

/** The first and last sample times whose stack holds `marker`, or null when none does. */
export function windowOf(p: CpuProfile, marker: string): [number, number] | null {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const inside = new Map<number, boolean>();
  const holds = (id: number): boolean => {
    const known = inside.get(id);
    if (known !== undefined) return known;
    const up = parent.get(id);
    const v = byId.get(id)?.callFrame.functionName === marker || (up !== undefined && holds(up));
    inside.set(id, v);
    return v;
  };
  const times = sampleTimes(p);
  let first = Infinity;
  let last = -Infinity;
  p.samples.forEach((id, i) => {
    if (!holds(id)) return;
    first = Math.min(first, times[i]);
    last = Math.max(last, times[i]);
  });
  return first <= last ? [first, last] : null;
}

/** One thread's samples in a window: per function (self) and per category, as fractions. */
export interface ThreadShare {
  samples: number;
  functions: { name: string; file: string; share: number }[];
  categories: Map<string, number>;
}

export function shares(p: CpuProfile, window: [number, number]): ThreadShare {
  const byId = new Map(p.nodes.map((n) => [n.id, frameOf(n.callFrame)]));
  const times = sampleTimes(p);
  const perFunction = new Map<string, { name: string; file: string; count: number }>();
  const perCategory = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    if (times[i] < window[0] || times[i] > window[1]) return;
    const f = byId.get(id) as Frame;
    const key = `${f.name}\u0000${f.file || (f.wasm ? 'wasm' : '')}`;
    const entry = perFunction.get(key) ?? { name: f.name || '(anonymous)', file: f.file || (f.wasm ? '(wasm)' : ''), count: 0 };
    entry.count++;
    perFunction.set(key, entry);
    const c = categoryOf(f);
    perCategory.set(c, (perCategory.get(c) ?? 0) + 1);
    total++;
  });
  const functions = [...perFunction.values()].sort((a, b) => b.count - a.count).map((e) => ({ name: e.name, file: e.file, share: e.count / total }));
  return { samples: total, functions, categories: new Map([...perCategory].map(([k, v]) => [k, v / total])) };
}

export interface ProfileConfig {
  workload: Workload;
  batch: number;
  threads: number;
  /** Profiled steps (full run; --quick takes a quarter). */
  steps: number;
}

export const DEFAULT_CONFIGS: ProfileConfig[] = [
  { workload: 'mlp', batch: 64, threads: 2, steps: 2000 },
  { workload: 'mlp', batch: 64, threads: 1, steps: 2000 },
  { workload: 'a001', batch: 128, threads: 2, steps: 800 },
  { workload: 'a001', batch: 128, threads: 1, steps: 800 },
  { workload: 'd2l', batch: 256, threads: 2, steps: 600 },
  { workload: 'd2l', batch: 256, threads: 1, steps: 600 },
];

export interface ProfileResult {
  config: ProfileConfig;
  command: string;
  samplesPerSec: number;
  /** Products a step sent to the thread pool (parallelProductCount over the window). */
  poolProductsPerStep: number;
  windowSeconds: number;
  loadAverage: number;
  main: ThreadShare;
  workers: ThreadShare[];
}

const INTERVAL_US = 250;

/** `mlp:64:2` → a config (steps from the default of that workload). */
export function parseOnly(s: string): ProfileConfig {
  const [workload, batch, threads] = s.split(':');
  if (!(WORKLOADS as readonly string[]).includes(workload) || !(Number(batch) > 0) || !(Number(threads) > 0)) {
    throw new Error(`profile: --only wants workload:batch:threads (e.g. mlp:64:2), got ${s}`);
  }
  const like = DEFAULT_CONFIGS.find((c) => c.workload === workload) as ProfileConfig;
  return { workload: workload as Workload, batch: Number(batch), threads: Number(threads), steps: Math.round((like.steps * like.batch) / Number(batch)) };
}

function profileOne(node: string, config: ProfileConfig, quick: boolean, keep: string | null): ProfileResult {
  const dir = keep !== null ? join(keep, `${config.workload}-b${config.batch}-${config.threads}t`) : mkdtempSync(join(tmpdir(), 'tapegrad-prof-'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const steps = quick ? Math.ceil(config.steps / 4) : config.steps;
  const args = ['--workload', config.workload, '--batch', String(config.batch), '--threads', String(config.threads), '--steps', String(steps), '--warmup', String(Math.ceil(steps / 10))];
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const loadAverage = loadavg()[0];
  const r = spawnSync(node, ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${INTERVAL_US}`, '--import', tsx, join(here, 'profileTarget.ts'), ...args], {
    cwd: root, encoding: 'utf8', maxBuffer: 1 << 24,
    // The profiler's own thread wakes every INTERVAL_US, and the busy check (engine/threads/contention.ts)
    // would count it as other work holding the cores and keep the pool idle: this profiles the pool.
    env: { ...process.env, TAPEGRAD_BUSY_CHECK: '0' },
  });
  if (r.status !== 0) throw new Error(`profile: ${config.workload} b${config.batch} ${config.threads}t exited with ${r.status}:\n${r.stderr.slice(-2000)}`);
  const line = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { samplesPerSec: number; poolProductsPerStep: number };
  const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
  const main = profiles.find((p) => windowOf(p, 'profiledSteps') !== null);
  if (main === undefined) throw new Error(`profile: no profile in ${dir} holds profiledSteps`);
  const window = windowOf(main, 'profiledSteps') as [number, number];
  // Thread profiles that sampled nothing in the window (a loader thread) are left out.
  const workers = profiles.filter((p) => p !== main).map((p) => shares(p, window)).filter((s) => s.samples > 0);
  if (keep === null) rmSync(dir, { recursive: true, force: true });
  return {
    config, command: `${node} --cpu-prof --cpu-prof-interval=${INTERVAL_US} --import tsx benchmarks/profileTarget.ts ${args.join(' ')}`,
    samplesPerSec: line.samplesPerSec, poolProductsPerStep: line.poolProductsPerStep, windowSeconds: (window[1] - window[0]) / 1e6, loadAverage, main: shares(main, window), workers,
  };
}

const pct = (x: number | undefined): string => (x === undefined || x === 0 ? '' : x < 0.0005 ? '0.0' : (100 * x).toFixed(1));
const title = (c: ProfileConfig): string => `${c.workload} b${c.batch} ${c.threads}t`;

export function profileMarkdown(results: ProfileResult[], about: { date: string; node: string; version: string; cpu: string; command: string }): string {
  const lines: string[] = [];
  lines.push(`# Where a training step's time goes, ${about.date}`);
  lines.push('');
  lines.push(`\`${about.command}\` on ${about.cpu}, Node ${about.version} (\`${about.node}\`). V8's sampling profiler (\`--cpu-prof\`, every ${INTERVAL_US} µs, ` +
    'every thread), the steps after a tenth as many warm-up steps; self time as a share of each thread\'s samples in that window. ' +
    'Workloads: `mlp` 784-300-100-10 ReLU with SGD momentum; `a001` reference article 001\'s 784 → BatchNorm → Dropout 0.3 → Dense 100 tanh → Dense 10 with Adam; ' +
    '`d2l` d2l\'s 784-256-256-10 with Dropout 0.2 / 0.5 and SGD. The profiler costs some speed: compare samples/s with the benchmark\'s, not with these.');
  lines.push('');
  lines.push('## Main thread, % of its samples');
  lines.push('');
  lines.push(`| where | ${results.map((r) => title(r.config)).join(' | ')} |`);
  lines.push(`| --- | ${results.map(() => '---:').join(' | ')} |`);
  for (const c of CATEGORIES) {
    if (!results.some((r) => (r.main.categories.get(c.name) ?? 0) > 0)) continue;
    lines.push(`| ${c.name} | ${results.map((r) => pct(r.main.categories.get(c.name))).join(' | ')} |`);
  }
  lines.push(`| samples/s while profiled | ${results.map((r) => Math.round(r.samplesPerSec).toLocaleString('en-US')).join(' | ')} |`);
  lines.push(`| products sent to the pool per step | ${results.map((r) => r.poolProductsPerStep.toFixed(2)).join(' | ')} |`);
  lines.push(`| profiled seconds (samples) | ${results.map((r) => `${r.windowSeconds.toFixed(1)} (${r.main.samples})`).join(' | ')} |`);
  lines.push(`| load average at the start | ${results.map((r) => r.loadAverage.toFixed(1)).join(' | ')} |`);
  const withWorkers = results.filter((r) => r.workers.length > 0);
  if (withWorkers.length > 0) {
    lines.push('');
    lines.push('## The pool\'s worker, % of its samples in the same window');
    lines.push('');
    lines.push(`| where | ${withWorkers.map((r) => title(r.config)).join(' | ')} |`);
    lines.push(`| --- | ${withWorkers.map(() => '---:').join(' | ')} |`);
    for (const c of CATEGORIES) {
      if (!withWorkers.some((r) => r.workers.some((w) => (w.categories.get(c.name) ?? 0) > 0))) continue;
      lines.push(`| ${c.name} | ${withWorkers.map((r) => r.workers.map((w) => pct(w.categories.get(c.name))).join(' / ')).join(' | ')} |`);
    }
  }
  for (const r of results) {
    lines.push('');
    lines.push(`## ${title(r.config)}: the top functions (self time)`);
    lines.push('');
    lines.push(`\`${r.command}\``);
    lines.push('');
    lines.push('| thread | function | file | % |');
    lines.push('| --- | --- | --- | ---: |');
    for (const f of r.main.functions.slice(0, 15)) lines.push(`| main | ${f.name} | ${f.file} | ${pct(f.share)} |`);
    r.workers.forEach((w, i) => {
      for (const f of w.functions.slice(0, 5)) lines.push(`| worker ${i + 1} | ${f.name} | ${f.file} | ${pct(f.share)} |`);
    });
  }
  lines.push('');
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const value = (flag: string): string | null => {
    const i = argv.indexOf(flag);
    return i >= 0 ? (argv[i + 1] ?? null) : null;
  };
  const node = value('--node') ?? process.execPath;
  const quick = argv.includes('--quick');
  const keep = value('--keep');
  const out = value('--out');
  const only = argv.flatMap((a, i) => (a === '--only' ? [parseOnly(argv[i + 1] ?? '')] : []));
  const configs = only.length > 0 ? only : DEFAULT_CONFIGS;
  const version = spawnSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim();
  const results: ProfileResult[] = [];
  for (const config of configs) {
    const r = profileOne(node, config, quick, keep);
    console.error(`${title(config)}: ${Math.round(r.samplesPerSec)} samples/s while profiled, ${r.main.samples} main-thread samples`);
    results.push(r);
  }
  const cpu = cpuInfo();
  const md = profileMarkdown(results, {
    date: new Date().toISOString().slice(0, 10), node, version, cpu: `${cpu.model} (${cpu.cores} cores, ${cpu.simd})`,
    command: ['npx tsx benchmarks/profile.ts', ...argv].join(' '),
  });
  if (out !== null) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, md);
    console.error(`wrote ${out}`);
  } else {
    console.log(md);
  }
}
