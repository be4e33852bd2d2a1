/**
 * The training table of the benchmark, and the ratios it reports (the targets of issue 19).
 *
 * A contestant is one library configuration (`tapegrad-wasm-2t`, `pytorch-2t`, ...) on one workload;
 * it runs at each of its batch sizes, and a Node contestant on each Node binary the benchmark was
 * given (`--node`, TAPEGRAD_BENCH_NODES; benchmarks/index.ts) or on the first one only. Each of those
 * is a row, named `[workload] contestant [node label] b<batch>`: `tapegrad-wasm-2t node24 b64`,
 * `pytorch-1t b256`, `a001 tapegrad-wasm-1t node20 b128`.
 *
 * A ratio divides a contestant's training speed by another's (or by the fastest of several, "PyTorch's
 * best 2-thread configuration"), at the same batch size, on the same Node when both are Node rows.
 * Adding a contestant is adding one line to CONTESTANTS; adding a ratio, one line to RATIOS.
 */
import type { Workload } from './mnist.js';

export interface Contestant {
  /** The contestant's name: the row's name without its workload, runtime and batch. */
  name: string;
  workload: Workload;
  /** 'node': a TypeScript script run under tsx by each Node; 'python': run by the Python that has torch (benchmarks/python.ts). */
  runtime: 'node' | 'python';
  /** Relative to benchmarks/. */
  script: string;
  args: string[];
  /** Python only: variables over benchmarks/python.ts's one-thread environment; null removes one. */
  env?: Record<string, string | null>;
  batches: number[];
  /** Node only: on every Node given ('all', the default) or on the first (the headline) only. */
  nodes?: 'all' | 'first';
  /** Training samples timed per run (full, quick), sized for a few seconds at the expected speed; steps = samples / batch. */
  samples: [number, number];
  /** Timed inference batches of 1000 (full, quick). */
  infer: [number, number];
}

/** PyTorch with two threads: OpenBLAS's and OpenMP's pools at 2. */
const TORCH_2T = { OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '2' };

/**
 * PyTorch's 2-thread rows: with OMP_WAIT_POLICY=PASSIVE (OpenMP's threads sleep between ops), and with
 * the default policy, where they spin after every op and fight OpenBLAS's threads for the two cores.
 */
export const TORCH_WAIT_NOTE =
  'PyTorch with 2 threads runs with OMP_WAIT_POLICY=PASSIVE (pytorch-2t): under the default wait policy (pytorch-2t-spin) ' +
  'OpenMP\'s threads spin after each op and fight OpenBLAS\'s for the two cores, which oversubscribes them and runs 3–4× slower ' +
  'than one thread; the targets compare against the faster of the two.';

const TG = 'peers/tapegrad.ts';
const TORCH = 'peers/pytorch.py';
const mlp = (x: Omit<Contestant, 'workload'>): Contestant => ({ ...x, workload: 'mlp' });

export const CONTESTANTS: Contestant[] = [
  // The main table: 784-300-100-10, SGD momentum, batch 64 and 256.
  mlp({ name: 'tapegrad-wasm-1t', runtime: 'node', script: TG, args: ['--backend', 'wasm', '--threads', '1'], batches: [64, 256], samples: [96_000, 16_000], infer: [20, 4] }),
  mlp({ name: 'tapegrad-wasm-2t', runtime: 'node', script: TG, args: ['--backend', 'wasm', '--threads', '2'], batches: [64, 256], samples: [128_000, 20_000], infer: [20, 4] }),
  mlp({ name: 'tapegrad-wasm-2t-dense', runtime: 'node', script: TG, args: ['--backend', 'wasm', '--threads', '2', '--zero-skip', '0'], batches: [64], nodes: 'first', samples: [64_000, 12_000], infer: [10, 2] }),
  mlp({ name: 'tapegrad-js-1t', runtime: 'node', script: TG, args: ['--backend', 'js', '--threads', '1'], batches: [64], samples: [24_000, 4_000], infer: [10, 2] }),
  mlp({ name: 'tapegrad-js-2t', runtime: 'node', script: TG, args: ['--backend', 'js', '--threads', '2'], batches: [64], samples: [32_000, 6_000], infer: [10, 2] }),
  mlp({ name: 'pytorch-1t', runtime: 'python', script: TORCH, args: ['--threads', '1'], batches: [64, 256], samples: [128_000, 20_000], infer: [40, 10] }),
  mlp({ name: 'pytorch-2t', runtime: 'python', script: TORCH, args: ['--threads', '2'], env: { ...TORCH_2T, OMP_WAIT_POLICY: 'PASSIVE' }, batches: [64, 256], samples: [160_000, 24_000], infer: [40, 10] }),
  // Few samples: it runs 3–4× slower than one thread, 30× on a loaded machine, and spins both cores meanwhile.
  mlp({ name: 'pytorch-2t-spin', runtime: 'python', script: TORCH, args: ['--threads', '2'], env: { ...TORCH_2T, OMP_WAIT_POLICY: null }, batches: [64, 256], samples: [10_240, 2_560], infer: [4, 1] }),
  mlp({ name: 'jax-js', runtime: 'node', script: 'peers/jaxjs.ts', args: [], batches: [64, 256], samples: [48_000, 8_000], infer: [10, 2] }),
  mlp({ name: 'tfjs-wasm', runtime: 'node', script: 'peers/tfjs.ts', args: ['--backend', 'wasm'], batches: [64, 256], samples: [12_000, 3_000], infer: [10, 2] }),
  mlp({ name: 'tfjs-cpu', runtime: 'node', script: 'peers/tfjs.ts', args: ['--backend', 'cpu'], batches: [64], samples: [2_560, 640], infer: [3, 1] }),
  // The seeds' own workloads: reference article 001's net at batch 128, d2l's dropout net at 256.
  { name: 'tapegrad-wasm-1t', workload: 'a001', runtime: 'node', script: TG, args: ['--backend', 'wasm', '--threads', '1'], batches: [128], samples: [64_000, 10_240], infer: [10, 2] },
  { name: 'tapegrad-wasm-2t', workload: 'a001', runtime: 'node', script: TG, args: ['--backend', 'wasm', '--threads', '2'], batches: [128], samples: [64_000, 10_240], infer: [10, 2] },
  { name: 'pytorch-1t', workload: 'a001', runtime: 'python', script: TORCH, args: ['--threads', '1'], batches: [128], samples: [96_000, 16_000], infer: [20, 4] },
  { name: 'pytorch-2t', workload: 'a001', runtime: 'python', script: TORCH, args: ['--threads', '2'], env: { ...TORCH_2T, OMP_WAIT_POLICY: 'PASSIVE' }, batches: [128], samples: [96_000, 16_000], infer: [20, 4] },
  { name: 'tapegrad-wasm-1t', workload: 'd2l', runtime: 'node', script: TG, args: ['--backend', 'wasm', '--threads', '1'], batches: [256], samples: [96_000, 15_360], infer: [10, 2] },
  { name: 'tapegrad-wasm-2t', workload: 'd2l', runtime: 'node', script: TG, args: ['--backend', 'wasm', '--threads', '2'], batches: [256], samples: [96_000, 15_360], infer: [10, 2] },
  { name: 'pytorch-1t', workload: 'd2l', runtime: 'python', script: TORCH, args: ['--threads', '1'], batches: [256], samples: [128_000, 20_480], infer: [20, 4] },
  { name: 'pytorch-2t', workload: 'd2l', runtime: 'python', script: TORCH, args: ['--threads', '2'], env: { ...TORCH_2T, OMP_WAIT_POLICY: 'PASSIVE' }, batches: [256], samples: [128_000, 20_480], infer: [20, 4] },
];

/** What the workloads' tables are titled. */
export const WORKLOAD_TITLES: Record<Workload, string> = {
  mlp: 'MLP 784-300-100-10 ReLU, SGD lr 0.1 momentum 0.9',
  a001: 'reference article 001: 784 → BatchNorm → Dropout 0.3 → Dense 100 tanh → Dense 10, Adam lr 1e-3',
  d2l: 'd2l\'s dropout net: 784-256-256-10 ReLU, Dropout 0.2 / 0.5, SGD lr 0.5',
};

/** A Node binary the Node contestants run on. */
export interface NodeRuntime {
  path: string;
  /** `process.version` of that binary: 'v24.22.3'. */
  version: string;
  /** How rows name it: 'node24' (the full version when two share a major). */
  label: string;
}

/** One row of the training table: a contestant at one batch size on one runtime. */
export interface Row {
  id: string;
  contestant: Contestant;
  batch: number;
  /** Node rows: the Node that runs them; null for Python rows. */
  node: NodeRuntime | null;
}

export function rowId(c: Pick<Contestant, 'name' | 'workload'>, batch: number, node: Pick<NodeRuntime, 'label'> | null): string {
  return [c.workload === 'mlp' ? null : c.workload, c.name, node?.label ?? null, `b${batch}`].filter((s) => s !== null).join(' ');
}

/** The rows of `table` on these Nodes (the first is the headline), in table order. */
export function rows(nodes: NodeRuntime[], table: Contestant[] = CONTESTANTS): Row[] {
  if (nodes.length === 0) throw new Error('bench: no Node runtime to run the Node contestants on');
  const out: Row[] = [];
  for (const c of table) {
    const on = c.runtime === 'python' ? [null] : c.nodes === 'first' ? [nodes[0]] : nodes;
    for (const node of on) for (const batch of c.batches) out.push({ id: rowId(c, batch, node), contestant: c, batch, node });
  }
  const ids = out.map((r) => r.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new Error(`bench: two rows are named ${twice}`);
  return out;
}

/** Node labels for these versions: node<major>, or node<full version> where two share a major. */
export function nodeLabels(versions: string[]): string[] {
  const major = (v: string): string => v.replace(/^v/, '').split('.')[0];
  return versions.map((v) => (versions.filter((w) => major(w) === major(v)).length > 1 ? `node${v.replace(/^v/, '')}` : `node${major(v)}`));
}

export interface RatioSpec {
  workload: Workload;
  /** The contestant whose speed is divided. */
  num: string;
  /** The contestant it is divided by, or several: the fastest of them that ran. */
  den: string[];
  /** The target (issue 19), per batch size: the ratio should be at least this. Absent: reported only. */
  min?: Record<number, number>;
  /** What the target says, for the results' table. */
  why?: string;
}

const both = (x: number): Record<number, number> => ({ 64: x, 128: x, 256: x });

export const RATIOS: RatioSpec[] = [
  { workload: 'mlp', num: 'tapegrad-wasm-2t', den: ['pytorch-2t', 'pytorch-2t-spin'], min: { 64: 1.0, 256: 0.8 }, why: '2 threads vs PyTorch\'s best 2-thread configuration' },
  { workload: 'mlp', num: 'tapegrad-wasm-2t', den: ['pytorch-1t'], min: both(1.0), why: '2 threads vs PyTorch on one thread' },
  { workload: 'mlp', num: 'tapegrad-wasm-1t', den: ['pytorch-1t'] },
  { workload: 'mlp', num: 'tapegrad-wasm-2t', den: ['tapegrad-wasm-1t'], min: { 64: 1.4, 256: 1.6 }, why: 'what the second thread gains' },
  { workload: 'mlp', num: 'tapegrad-wasm-2t', den: ['jax-js'], min: both(2.5), why: 'vs jax-js, same Node' },
  { workload: 'mlp', num: 'tapegrad-wasm-2t', den: ['tfjs-wasm'], min: both(12), why: 'vs TF.js wasm, same Node' },
  { workload: 'mlp', num: 'tapegrad-wasm-1t', den: ['jax-js'] },
  { workload: 'mlp', num: 'tapegrad-wasm-1t', den: ['tfjs-wasm'] },
  { workload: 'mlp', num: 'tapegrad-js-1t', den: ['tfjs-cpu'], min: both(8), why: 'the JavaScript backend vs TF.js\'s CPU backend, same Node' },
  { workload: 'mlp', num: 'tapegrad-js-2t', den: ['tfjs-cpu'], min: both(8), why: 'the JavaScript backend vs TF.js\'s CPU backend, same Node' },
  { workload: 'mlp', num: 'tapegrad-js-2t', den: ['tapegrad-js-1t'] },
  { workload: 'mlp', num: 'tapegrad-wasm-2t-dense', den: ['pytorch-1t'] },
  { workload: 'mlp', num: 'pytorch-2t', den: ['pytorch-1t'] },
  { workload: 'mlp', num: 'pytorch-2t-spin', den: ['pytorch-1t'] },
  { workload: 'a001', num: 'tapegrad-wasm-2t', den: ['pytorch-1t'], min: both(1.0), why: 'article 001\'s net vs PyTorch on one thread' },
  { workload: 'a001', num: 'tapegrad-wasm-1t', den: ['pytorch-1t'] },
  { workload: 'a001', num: 'tapegrad-wasm-2t', den: ['pytorch-2t'] },
  { workload: 'a001', num: 'tapegrad-wasm-2t', den: ['tapegrad-wasm-1t'], min: both(1.0), why: '2 threads never slower than 1' },
  { workload: 'd2l', num: 'tapegrad-wasm-2t', den: ['pytorch-1t'], min: both(1.0), why: 'd2l\'s dropout net vs PyTorch on one thread' },
  { workload: 'd2l', num: 'tapegrad-wasm-1t', den: ['pytorch-1t'] },
  { workload: 'd2l', num: 'tapegrad-wasm-2t', den: ['pytorch-2t'] },
  { workload: 'd2l', num: 'tapegrad-wasm-2t', den: ['tapegrad-wasm-1t'], min: both(1.0), why: '2 threads never slower than 1' },
];

/** A row's training speed, or why it has none (a contestant that could not run here). */
export interface RowSpeed {
  id: string;
  trainSamplesPerSec: number | null;
  unavailable?: string;
}

export interface Ratio {
  /** `${num row} / ${den row}`; with several denominators, `${num row} / best of (${den rows})`. */
  name: string;
  num: string;
  /** The Node of the numerator row ('node24'), null for a Python row: the targets are read on the headline Node. */
  node: string | null;
  /** The denominator rows; `den` is the one divided by (the fastest that ran), null when none did. */
  dens: string[];
  den: string | null;
  /** null: n/a, because a row did not run (`missing` says which and why). */
  value: number | null;
  missing?: string;
  min?: number;
  why?: string;
}

/**
 * Every ratio of `specs` over `table`'s rows on these Nodes, in spec order. A spec naming a contestant
 * that has no row to pair with (wrong name, workload or batch) is a mistake in the table, not a missing
 * contestant, and throws; a row that did not run makes its ratio n/a.
 */
export function ratios(nodes: NodeRuntime[], speeds: RowSpeed[], specs: RatioSpec[] = RATIOS, table: Contestant[] = CONTESTANTS): Ratio[] {
  const all = rows(nodes, table);
  const speed = new Map(speeds.map((s) => [s.id, s]));
  const find = (name: string, workload: Workload): Row[] => all.filter((r) => r.contestant.name === name && r.contestant.workload === workload);
  const out: Ratio[] = [];
  for (const spec of specs) {
    const nums = find(spec.num, spec.workload);
    if (nums.length === 0) throw new Error(`bench: ratio ${spec.num} / ${spec.den.join(', ')} (${spec.workload}): ${spec.num} has no row`);
    let paired = 0;
    for (const num of nums) {
      // The same batch; a Node row divides by the same Node's row or by a Python row (which has no Node),
      // a Python row by Python rows only.
      const dens = spec.den.flatMap((d) => find(d, spec.workload).filter((r) => r.batch === num.batch && (r.node === null || r.node.label === num.node?.label)));
      if (dens.length === 0) continue;
      paired++;
      const name = dens.length === 1 ? `${num.id} / ${dens[0].id}` : `${num.id} / best of (${dens.map((d) => d.id).join(', ')})`;
      const a = speed.get(num.id);
      const ran = dens.map((d) => speed.get(d.id)).filter((s): s is RowSpeed => s !== undefined && s.trainSamplesPerSec !== null);
      const base = { name, num: num.id, node: num.node?.label ?? null, dens: dens.map((d) => d.id), ...(spec.min?.[num.batch] !== undefined ? { min: spec.min[num.batch] } : {}), ...(spec.why ? { why: spec.why } : {}) };
      if (a === undefined || a.trainSamplesPerSec === null || ran.length === 0) {
        const gone = [num.id, ...dens.map((d) => d.id)].map((id) => speed.get(id) ?? { id, trainSamplesPerSec: null }).filter((s) => s.trainSamplesPerSec === null);
        out.push({ ...base, den: null, value: null, missing: gone.map((s) => `${s.id} ${s.unavailable ?? 'did not run'}`).join('; ') });
        continue;
      }
      const best = ran.reduce((x, y) => ((y.trainSamplesPerSec as number) > (x.trainSamplesPerSec as number) ? y : x));
      out.push({ ...base, den: best.id, value: a.trainSamplesPerSec / (best.trainSamplesPerSec as number) });
    }
    if (paired === 0) throw new Error(`bench: ratio ${spec.num} / ${spec.den.join(', ')} (${spec.workload}) pairs no rows (no shared batch size or Node)`);
  }
  return out;
}

/** The full run's memory check: five epochs of tapegrad on all 60,000 images, heap and arena after each. */
export const MEMORY_RUN = {
  script: 'peers/tapegrad.ts',
  args: ['--backend', 'wasm', '--threads', '2', '--infer-batches', '1', '--epochs', '5'],
  nodeFlags: ['--expose-gc'],
};
