/**
 * `runBenchmark({ quick, nodes })`: the whole benchmark in one run, each contestant in its own process.
 *
 *   1. the kernel table (benchmarks/kernels.ts), on each Node: GFLOP/s of the naive twin and of the
 *      JavaScript and WebAssembly kernels on 1 thread and on the pool, mul+add and FMA;
 *   2. training and inference throughput on MNIST for the rows of benchmarks/contestants.ts: the
 *      784-300-100-10 MLP at batch 64 and 256 (tapegrad wasm and js on 1 and 2 threads, PyTorch on 1
 *      and 2 threads, jax-js, TF.js wasm and cpu), and the seeds' own workloads (article 001's
 *      BatchNorm/Dropout/tanh/Adam net at 128, d2l's dropout net at 256), every Node row on each Node
 *      given; batches converted to float32 before timing (benchmarks/mnist.ts), warm-up excluded, rows
 *      interleaved round by round (the two sides of a ratio back to back: runOrder), medians; the
 *      ratios and targets of issue 19, from this same run;
 *   3. (full run) five epochs of tapegrad on all 60,000 images on the first Node: heap and tensor arena
 *      after each epoch, peak RSS.
 *
 * Writes benchmarks/results/<date>.json and .md (<date>-quick.* for --quick) and returns the result.
 * `npx tsx benchmarks/run.ts [--quick] [--node <path>]...` and `tapegrad bench [--quick]` both call it
 * (the Node binaries: benchmarks/machine.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getPriority, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { NodeRuntime, Ratio, Row } from './contestants.js';
import { CONTESTANTS, MEMORY_RUN, ratios as ratioList, rows as tableRows } from './contestants.js';
import type { KernelRow } from './kernels.js';
import type { CpuInfo } from './machine.js';
import { cpuInfo, nodePaths, resolveNodes } from './machine.js';
import { WARMUP_MS, type PeerResult, type Workload } from './mnist.js';
import type { PythonFound } from './python.js';
import { findPython } from './python.js';
import { markdown } from './report.js';

export { markdown, ZERO_SKIP_NOTE } from './report.js';

export interface BenchmarkOptions {
  quick?: boolean;
  /** Paths of the Node binaries the Node rows run on, the headline first; default nodePaths(): $TAPEGRAD_BENCH_NODES or this Node. */
  nodes?: string[];
  /** Where results go; default benchmarks/results. */
  outDir?: string;
  /** Progress lines; default console.log. */
  log?: (line: string) => void;
  /** Only the tapegrad rows of this backend (`tapegrad bench --backend`); the peers run as usual. */
  backend?: 'wasm' | 'js';
  /** How the run was started, for the results' header; default the benchmarks/run.ts command that repeats it. */
  command?: string;
}

/** One run of one row: the peer's result line, and which row and round it was. */
export type RunRecord = PeerResult & { row: string; round: number };

/** One row of the training tables: medians over the row's runs; null figures when it could not run here. */
export interface RowSummary {
  row: string;
  contestant: string;
  workload: Workload;
  batch: number;
  /** The row's runtime: a Node label ('node24') or 'python'. */
  runtime: string;
  /** What its runs reported: 'node v24.22.3', 'python 3.11.2, torch 1.13.0a0'; null when it did not run. */
  version: string | null;
  runs: number;
  trainSamplesPerSec: number | null;
  inferSamplesPerSec: number | null;
  peakRssMiB: number | null;
  lossFirst: number | null;
  lossLast: number | null;
  /** Median 1-minute load average when its timed steps began. */
  loadAverage: number | null;
  /** tapegrad's wasm rows: whether the products used FMA. */
  fma?: boolean;
  /** tapegrad's rows with more than one thread: median products the pool ran per step (PeerResult). */
  pooledPerStep?: number;
  /** Why the row did not run (PyTorch without a Python that has torch, a --backend filter). */
  unavailable?: string;
  note?: string;
}

export interface MemoryResult {
  heapMiB: number[];
  /** The tensor arena's size after each epoch (empty when the engine has no arena here). */
  arenaMiB: number[];
  heapGrowthEpoch2To5MiB: number;
  arenaGrowthEpoch2To5MiB: number;
  peakRssMiB: number;
  threads: number;
  backend: string;
  node: string;
}

export interface BenchmarkResult {
  date: string;
  quick: boolean;
  command: string;
  machine: {
    cpu: CpuInfo;
    /** The Node binaries, the headline first. */
    nodes: NodeRuntime[];
    niceness: number;
    loadAverageStart: number[];
    loadAverageEnd: number[];
    /** Two concurrent single-thread kernels' total rate over one alone (benchmarks/capacity.ts), before and after. */
    parallelCapacity: number[];
    /** The same, just before each round of the training rows (not in a quick run): a host that gives less than two cores for a while shows here. */
    roundCapacity?: number[];
    /** The Python that ran the PyTorch rows and its torch, or why there was none. */
    python: { python: string; torch: string } | { missing: string; tried: string[] };
  };
  kernels: KernelRow[];
  training: RowSummary[];
  runs: RunRecord[];
  memory: MemoryResult | null;
  /** Every ratio of benchmarks/contestants.ts's RATIOS; those with `min` are issue 19's targets. */
  ratios: Ratio[];
  /** Two threads against one within one process (benchmarks/interleave.ts) on the headline Node, per batch. */
  interleaved?: Interleaved[];
  files: { json: string; markdown: string };
}

/** What benchmarks/interleave.ts prints. */
export interface Interleaved {
  workload: string;
  batch: number;
  blocks: number;
  runtime: string;
  oneThread: number;
  twoThreads: number;
  /** Median over the pairs of blocks of two threads' samples/s over one's. */
  ratio: number;
  ratioQuartiles: [number, number];
  pooledPerStep: number[];
}

/** Peak RSS the memory run should stay under (issue 19). */
export const PEAK_RSS_TARGET_MIB = 300;

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

function nodeLauncher(node: NodeRuntime, nodeFlags: string[] = []): Launcher {
  return { command: node.path, prefix: [...nodeFlags, '--import', tsxLoader()], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } };
}

/** Python's environment with a contestant's variables over it (null removes one). */
export function withEnv(base: NodeJS.ProcessEnv, over: Record<string, string | null> = {}): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs a benchmark script in a fresh process and parses the JSON on its last line. */
function runScript<T>(script: string, args: string[], launcher: Launcher): Promise<T> {
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
async function parallelCapacity(node: NodeRuntime): Promise<number> {
  type Rate = { gflops: number };
  const solo = await runScript<Rate>('capacity.ts', [], nodeLauncher(node));
  const pair = await Promise.all([runScript<Rate>('capacity.ts', [], nodeLauncher(node)), runScript<Rate>('capacity.ts', [], nodeLauncher(node))]);
  return (pair[0].gflops + pair[1].gflops) / solo.gflops;
}

/**
 * Timed steps and warm-up of a row's run: the contestant's samples over the batch; a tenth of them
 * warm up, and in a full run at least WARMUP_MS as well.
 */
export function stepsFor(row: Pick<Row, 'contestant' | 'batch'>, quick: boolean): { steps: number; warmup: number; warmupMs: number } {
  const steps = Math.max(10, Math.ceil(row.contestant.samples[quick ? 1 : 0] / row.batch));
  return { steps, warmup: Math.max(quick ? 3 : 5, Math.round(steps / 10)), warmupMs: quick ? 0 : WARMUP_MS };
}

/**
 * The order of round r: the rows rotated by r/rounds of their number, so that no row always runs first
 * or right after the same neighbour.
 */
export function roundOrder<T>(items: T[], r: number, rounds: number): T[] {
  const shift = Math.floor((r * items.length) / rounds);
  return items.map((_, i) => items[(i + shift) % items.length]);
}

/**
 * Round r's order of the rows: the rows a ratio compares — one workload and batch on one Node, with
 * the Python rows beside the headline Node's — run back to back, so that the host's ups and downs
 * fall on both sides of a ratio alike (a pair run minutes apart sees two different machines; another
 * Node's ratios against the Python rows are the exception, and are not targets). The
 * groups rotate as roundOrder rotates rows, and every other round runs each group backwards, so that
 * neither side of a pair always runs first.
 */
export function runOrder(rows: Row[], nodes: NodeRuntime[], r: number, rounds: number): Row[] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const node = row.node === null ? 0 : nodes.findIndex((n) => n.label === row.node?.label);
    const key = `${row.contestant.workload} b${row.batch} ${node}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  return roundOrder([...groups.values()], r, rounds).flatMap((g) => (r % 2 === 1 ? [...g].reverse() : g));
}

function commandLine(quick: boolean, nodes: NodeRuntime[]): string {
  const flags = [quick ? '--quick' : null, ...(nodes.length === 1 && nodes[0].path === process.execPath ? [] : nodes.map((n) => `--node ${n.path}`))];
  return ['npx tsx benchmarks/run.ts', ...flags.filter((f) => f !== null)].join(' ');
}

export async function runBenchmark(options: BenchmarkOptions = {}): Promise<BenchmarkResult> {
  const quick = options.quick === true;
  const log = options.log ?? ((line: string) => console.log(line));
  const nodes = resolveNodes(options.nodes ?? nodePaths([]));
  const headline = nodes[0];
  const cpu = cpuInfo();
  const loadAverageStart = loadavg();
  const started = performance.now();
  log(`machine: ${cpu.model}, ${cpu.cores} cores, ${cpu.simd}${cpu.fma ? ' + FMA' : ''}; load average ${loadAverageStart.map((x) => x.toFixed(2)).join(' ')}`);
  log(`nodes: ${nodes.map((n) => `${n.label} = ${n.version} (${n.path})`).join(', ')}; headline ${headline.label}`);
  const capacity = [await parallelCapacity(headline)];
  log(`parallel capacity: two concurrent kernels run ${capacity[0].toFixed(2)}× one alone (2.00 = two free cores)`);

  const kernels: KernelRow[] = [];
  for (const node of nodes) {
    log(`kernels on ${node.label}: ${quick ? 'quick' : 'full'} table (naive; JavaScript and WebAssembly, 1 thread and the pool; mul+add and FMA)`);
    kernels.push(...(await runScript<KernelRow[]>('kernels.ts', quick ? ['--json', '--quick'] : ['--json'], nodeLauncher(node))));
  }

  const python = CONTESTANTS.some((c) => c.runtime === 'python') ? findPython() : null;
  if (python?.found === true) log(`pytorch: ${python.python}, torch ${python.torch} (OpenBLAS first on LD_LIBRARY_PATH)`);
  if (python?.found === false) log(`pytorch: ${python.reason} (tried ${python.tried.join('; ')})`);
  /** How a row runs here, or why it cannot. */
  const launcherFor = (row: Row): Launcher | string => {
    const c = row.contestant;
    const backend = c.script === 'peers/tapegrad.ts' ? c.args[c.args.indexOf('--backend') + 1] : undefined;
    if (options.backend !== undefined && backend !== undefined && backend !== options.backend) return `not run: --backend ${options.backend}`;
    if (row.node !== null) return nodeLauncher(row.node);
    if (python === null || python.found === false) return python?.reason ?? 'no Python was looked for';
    return { command: python.python, prefix: [], env: withEnv(python.env, c.env) };
  };

  const all = tableRows(nodes);
  const rounds = quick ? 1 : 3;
  const runs: RunRecord[] = [];
  const roundCapacity: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (!quick) {
      roundCapacity.push(await parallelCapacity(headline));
      log(`round ${r + 1}/${rounds}: parallel capacity ${roundCapacity[r].toFixed(2)}×`);
    }
    for (const row of runOrder(all, nodes, r, rounds)) {
      const launcher = launcherFor(row);
      if (typeof launcher === 'string') continue;
      const { steps, warmup, warmupMs } = stepsFor(row, quick);
      const inferBatches = row.contestant.infer[quick ? 1 : 0];
      const args = [
        ...row.contestant.args, '--workload', row.contestant.workload, '--batch', String(row.batch),
        '--steps', String(steps), '--warmup', String(warmup), '--warmup-ms', String(warmupMs), '--infer-batches', String(inferBatches),
      ];
      const res = await runScript<PeerResult>(row.contestant.script, args, launcher);
      runs.push({ ...res, row: row.id, round: r + 1 });
      log(`round ${r + 1}/${rounds} ${row.id.padEnd(36)} train ${res.trainSamplesPerSec.toFixed(0).padStart(6)} samples/s, inference ${res.inferSamplesPerSec.toFixed(0).padStart(6)} samples/s, loss ${res.lossFirst.toFixed(3)} → ${res.lossLast.toFixed(3)}, load ${res.loadAverage.toFixed(1)}`);
    }
  }

  // Two threads against one in one process, alternating blocks: the rest of the machine falls on both
  // alike, which separate processes minutes apart do not share (the ratio rows above).
  const interleaved: Interleaved[] = [];
  if (options.backend === undefined || options.backend === 'wasm') {
    for (const batch of [64, 256]) {
      const res = await runScript<Interleaved>('interleave.ts', ['--batch', String(batch), '--blocks', quick ? '4' : '16'], nodeLauncher(headline));
      interleaved.push(res);
      log(`interleaved on ${headline.label}, batch ${batch}: two threads ${res.ratio.toFixed(2)}× one (quartiles ${res.ratioQuartiles.map((q) => q.toFixed(2)).join('–')})`);
    }
  }

  const training = all.map((row) => {
    const launcher = launcherFor(row);
    return summarize(row, runs, typeof launcher === 'string' ? launcher : undefined);
  });

  let memory: MemoryResult | null = null;
  if (!quick) {
    log(`memory: tapegrad, 2 threads, 5 epochs of 60,000 images on ${headline.label} (heap after a full GC, and the tensor arena, after each epoch)`);
    const res = await runScript<PeerResult>(MEMORY_RUN.script, MEMORY_RUN.args, nodeLauncher(headline, MEMORY_RUN.nodeFlags));
    const heap = res.heapMiB ?? [];
    const arena = res.arenaMiB ?? [];
    const growth = (xs: number[]): number => (xs.length >= 5 ? xs[4] - xs[1] : NaN);
    memory = {
      heapMiB: heap, arenaMiB: arena, heapGrowthEpoch2To5MiB: growth(heap), arenaGrowthEpoch2To5MiB: growth(arena),
      peakRssMiB: res.peakRssMiB, threads: res.threads ?? 2, backend: res.backend ?? 'unknown', node: res.runtime,
    };
    log(`memory: heap ${heap.map((h) => h.toFixed(1)).join(', ')} MiB; arena ${arena.map((h) => h.toFixed(1)).join(', ')} MiB; peak RSS ${res.peakRssMiB.toFixed(0)} MiB`);
    capacity.push(await parallelCapacity(headline));
    log(`parallel capacity at the end: ${capacity[1].toFixed(2)}×`);
  }

  const outDir = options.outDir ?? join(here, 'results');
  mkdirSync(outDir, { recursive: true });
  const date = today();
  // A second full run on the same day (another machine, another commit) gets -2, -3, ...: a committed file is not overwritten.
  let base = join(outDir, quick ? `${date}-quick` : date);
  for (let k = 2; !quick && existsSync(`${base}.json`); k++) base = join(outDir, `${date}-${k}`);
  const result: BenchmarkResult = {
    date,
    quick,
    command: options.command ?? commandLine(quick, nodes),
    machine: {
      cpu, nodes, niceness: getPriority(), loadAverageStart, loadAverageEnd: loadavg(), parallelCapacity: capacity, roundCapacity, python: pythonSummary(python),
    },
    kernels,
    training,
    runs,
    memory,
    ratios: ratioList(nodes, training.map((t) => ({ id: t.row, trainSamplesPerSec: t.trainSamplesPerSec, ...(t.unavailable !== undefined ? { unavailable: t.unavailable } : {}) }))),
    interleaved,
    files: { json: `${base}.json`, markdown: `${base}.md` },
  };
  const md = markdown(result, (performance.now() - started) / 1000);
  writeFileSync(result.files.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(result.files.markdown, md);
  log('');
  log(md);
  return result;
}

/** A row of the training tables: medians of its runs, or why it did not run. */
export function summarize(row: Pick<Row, 'id' | 'contestant' | 'batch' | 'node'>, runs: RunRecord[], unavailable?: string): RowSummary {
  const base = {
    row: row.id, contestant: row.contestant.name, workload: row.contestant.workload, batch: row.batch,
    runtime: row.node?.label ?? 'python',
  };
  const mine = runs.filter((x) => x.row === row.id);
  if (unavailable !== undefined || mine.length === 0) {
    return {
      ...base, version: null, runs: 0, trainSamplesPerSec: null, inferSamplesPerSec: null, peakRssMiB: null, lossFirst: null, lossLast: null, loadAverage: null,
      unavailable: unavailable ?? 'did not run',
    };
  }
  return {
    ...base,
    version: mine[0].runtime,
    runs: mine.length,
    trainSamplesPerSec: median(mine.map((x) => x.trainSamplesPerSec)),
    inferSamplesPerSec: median(mine.map((x) => x.inferSamplesPerSec)),
    peakRssMiB: Math.max(...mine.map((x) => x.peakRssMiB)),
    lossFirst: median(mine.map((x) => x.lossFirst)),
    lossLast: median(mine.map((x) => x.lossLast)),
    loadAverage: median(mine.map((x) => x.loadAverage)),
    ...(mine[0].fma !== undefined && mine[0].backend === 'wasm' ? { fma: mine[0].fma } : {}),
    ...(mine[0].pooledPerStep !== undefined ? { pooledPerStep: median(mine.map((x) => x.pooledPerStep as number)) } : {}),
    ...(mine[0].note ? { note: mine[0].note } : {}),
  };
}

function pythonSummary(p: PythonFound | null): BenchmarkResult['machine']['python'] {
  if (p === null) return { missing: 'no contestant needs Python', tried: [] };
  return p.found ? { python: p.python, torch: p.torch } : { missing: p.reason, tried: p.tried };
}
