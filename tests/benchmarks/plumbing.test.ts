// The benchmark's plumbing, not its speed (speed is measured in benchmarks/, never in a test): the
// contestant table and its rows on several Nodes, the ratios and targets naming real rows, finding a
// Python with torch and the Node binaries, the CPU's SIMD width, the float32 pools, the results file
// when a row is missing, and the peers' result lines (a few steps each, untimed).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Contestant, NodeRuntime, RatioSpec, RowSpeed } from '../../benchmarks/contestants.js';
import { CONTESTANTS, RATIOS, nodeLabels, ratios, rowId, rows } from '../../benchmarks/contestants.js';
import type { BenchmarkResult, RunRecord } from '../../benchmarks/index.js';
import { markdown, roundOrder, runOrder, stepsFor, summarize, withEnv } from '../../benchmarks/index.js';
import type { KernelRow } from '../../benchmarks/kernels.js';
import { kernelMarkdown } from '../../benchmarks/kernels.js';
import { NODES_ENV_VAR, nodePaths, parseColonLines, resolveNodes, simdWidth } from '../../benchmarks/machine.js';
import type { PeerResult } from '../../benchmarks/mnist.js';
import type { CpuProfile } from '../../benchmarks/profile.js';
import { categoryOf, parseOnly, shares, windowOf } from '../../benchmarks/profile.js';
import { PIXELS, POOL_IMAGES, WARMUP_MS, batchStart, floatPool, loadMnist, parsePeerArgs, poolBatch } from '../../benchmarks/mnist.js';
import { DEFAULT_PYTHON, OPENBLAS_DIR, TORCH_MISSING, findPython, pythonCandidates, pythonEnv } from '../../benchmarks/python.js';

const NODES: NodeRuntime[] = [
  { path: '/opt/node24/bin/node', version: 'v24.22.3', label: 'node24' },
  { path: '/usr/bin/node', version: 'v20.20.2', label: 'node20' },
];
const fast = (ids: string[]): RowSpeed[] => ids.map((id) => ({ id, trainSamplesPerSec: 1 }));

describe('the contestant table', () => {
  const all = rows(NODES);
  const ids = all.map((r) => r.id);

  it('runs every Node contestant on each Node given (or the first only), Python ones once, each row named once', () => {
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('tapegrad-wasm-2t node24 b64');
    expect(ids).toContain('tapegrad-wasm-2t node20 b256');
    expect(ids).toContain('jax-js node20 b64');
    expect(ids).toContain('tfjs-wasm node24 b256');
    expect(ids).toContain('pytorch-2t b256');
    expect(ids).toContain('a001 tapegrad-wasm-1t node20 b128');
    expect(ids).toContain('d2l pytorch-2t b256');
    expect(ids).toContain('tapegrad-wasm-2t-dense node24 b64');
    expect(ids).not.toContain('tapegrad-wasm-2t-dense node20 b64');
    expect(ids.filter((id) => id.startsWith('pytorch-1t '))).toEqual(['pytorch-1t b64', 'pytorch-1t b256']);
    // One Node: the same rows without the second Node's.
    expect(rows(NODES.slice(0, 1)).length).toBe(all.filter((r) => r.node === null || r.node.label === 'node24').length);
    expect(() => rows([])).toThrow(/no Node runtime/);
  });

  it('has the issue\'s rows: the MLP at batch 64 and 256, article 001\'s net at 128, d2l\'s at 256, for tapegrad 1t/2t and PyTorch 1t/2t', () => {
    for (const name of ['tapegrad-wasm-1t', 'tapegrad-wasm-2t', 'pytorch-1t', 'pytorch-2t', 'jax-js', 'tfjs-wasm']) {
      expect(CONTESTANTS.find((c) => c.name === name && c.workload === 'mlp')?.batches, name).toEqual([64, 256]);
    }
    for (const [workload, batch] of [['a001', 128], ['d2l', 256]] as const) {
      const names = CONTESTANTS.filter((c) => c.workload === workload).map((c) => c.name).sort();
      expect(names).toEqual(['pytorch-1t', 'pytorch-2t', 'tapegrad-wasm-1t', 'tapegrad-wasm-2t']);
      for (const c of CONTESTANTS.filter((x) => x.workload === workload)) expect(c.batches).toEqual([batch]);
    }
    expect(CONTESTANTS.some((c) => c.name.includes('js-pytorch'))).toBe(false);
  });

  it('runs PyTorch under Python: one thread, two with OMP_WAIT_POLICY=PASSIVE, two with the default (spinning) policy', () => {
    const torch = (name: string) => CONTESTANTS.find((c) => c.name === name && c.workload === 'mlp') as Contestant;
    expect(torch('pytorch-1t')).toMatchObject({ runtime: 'python', args: ['--threads', '1'] });
    expect(torch('pytorch-1t').env).toBeUndefined();
    expect(torch('pytorch-2t')).toMatchObject({ args: ['--threads', '2'], env: { OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' } });
    expect(torch('pytorch-2t-spin').env).toEqual({ OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: null });
  });

  it('every ratio pairs real rows, a Node row only with the same Node\'s, at the same batch', () => {
    const list = ratios(NODES, fast(ids));
    expect(new Set(list.map((q) => q.name)).size).toBe(list.length);
    const byId = new Map(all.map((r) => [r.id, r]));
    for (const q of list) {
      const num = byId.get(q.num);
      expect(num, q.name).toBeDefined();
      for (const d of q.dens) {
        const den = byId.get(d);
        expect(den, q.name).toBeDefined();
        expect(den!.batch).toBe(num!.batch);
        if (den!.node !== null && num!.node !== null) expect(den!.node.label).toBe(num!.node.label);
      }
      expect(q.value).toBe(1);
    }
  });

  it('names the targets of issue 19 with their thresholds', () => {
    const got = new Map(ratios(NODES, fast(ids)).map((q) => [q.name, q.min]));
    expect(got.get('tapegrad-wasm-2t node24 b64 / best of (pytorch-2t b64, pytorch-2t-spin b64)')).toBe(1.0);
    expect(got.get('tapegrad-wasm-2t node24 b256 / best of (pytorch-2t b256, pytorch-2t-spin b256)')).toBe(0.8);
    expect(got.get('tapegrad-wasm-2t node24 b64 / pytorch-1t b64')).toBe(1.0);
    expect(got.get('tapegrad-wasm-2t node24 b256 / pytorch-1t b256')).toBe(1.0);
    expect(got.get('tapegrad-wasm-2t node24 b64 / tapegrad-wasm-1t node24 b64')).toBe(1.4);
    expect(got.get('tapegrad-wasm-2t node24 b256 / tapegrad-wasm-1t node24 b256')).toBe(1.6);
    expect(got.get('a001 tapegrad-wasm-2t node24 b128 / a001 pytorch-1t b128')).toBe(1.0);
    expect(got.get('d2l tapegrad-wasm-2t node24 b256 / d2l pytorch-1t b256')).toBe(1.0);
    expect(got.get('tapegrad-wasm-2t node24 b64 / jax-js node24 b64')).toBe(2.5);
    expect(got.get('tapegrad-wasm-2t node20 b256 / tfjs-wasm node20 b256')).toBe(12);
    expect(got.get('tapegrad-js-1t node24 b64 / tfjs-cpu node24 b64')).toBe(8);
    expect(got.has('tapegrad-wasm-2t node24 b64 / jax-js node20 b64')).toBe(false);
  });

  it('names rows [workload] contestant [node] b<batch>, and labels Nodes by major version unless two share one', () => {
    expect(rowId({ name: 'pytorch-1t', workload: 'mlp' }, 64, null)).toBe('pytorch-1t b64');
    expect(rowId({ name: 'tapegrad-wasm-2t', workload: 'a001' }, 128, { label: 'node24' })).toBe('a001 tapegrad-wasm-2t node24 b128');
    expect(nodeLabels(['v24.22.3', 'v20.20.2'])).toEqual(['node24', 'node20']);
    expect(nodeLabels(['v24.22.3', 'v24.1.0', 'v26.0.0'])).toEqual(['node24.22.3', 'node24.1.0', 'node26']);
  });
});

describe('ratios', () => {
  const table: Contestant[] = [
    { name: 'a', workload: 'mlp', runtime: 'node', script: 'x', args: [], batches: [64, 256], samples: [1, 1], infer: [1, 1] },
    { name: 'b', workload: 'mlp', runtime: 'python', script: 'x', args: [], batches: [64, 256], samples: [1, 1], infer: [1, 1] },
    { name: 'c', workload: 'mlp', runtime: 'python', script: 'x', args: [], batches: [64], samples: [1, 1], infer: [1, 1] },
  ];
  const one = NODES.slice(0, 1);

  it('divides the same batch\'s speeds, by the fastest that ran of several, and says n/a (and why) when none did', () => {
    const specs: RatioSpec[] = [{ workload: 'mlp', num: 'a', den: ['b', 'c'], min: { 64: 1, 256: 2 } }];
    const got = ratios(one, [
      { id: 'a node24 b64', trainSamplesPerSec: 300 },
      { id: 'a node24 b256', trainSamplesPerSec: 500 },
      { id: 'b b64', trainSamplesPerSec: 100 },
      { id: 'c b64', trainSamplesPerSec: 120 },
      { id: 'b b256', trainSamplesPerSec: null, unavailable: TORCH_MISSING },
    ], specs, table);
    expect(got).toEqual([
      { name: 'a node24 b64 / best of (b b64, c b64)', num: 'a node24 b64', node: 'node24', dens: ['b b64', 'c b64'], den: 'c b64', value: 2.5, min: 1 },
      { name: 'a node24 b256 / b b256', num: 'a node24 b256', node: 'node24', dens: ['b b256'], den: null, value: null, min: 2, missing: `b b256 ${TORCH_MISSING}` },
    ]);
  });

  it('refuses a ratio against a contestant that has no row, or that shares no batch size or Node', () => {
    expect(() => ratios(one, [], [{ workload: 'mlp', num: 'nobody', den: ['b'] }], table)).toThrow(/nobody has no row/);
    expect(() => ratios(one, [], [{ workload: 'a001', num: 'a', den: ['b'] }], table)).toThrow(/a has no row/);
    expect(() => ratios(one, [], [{ workload: 'mlp', num: 'a', den: ['nobody'] }], table)).toThrow(/pairs no rows/);
    // A Python row has no Node to pick a Node row by.
    expect(() => ratios(one, [], [{ workload: 'mlp', num: 'b', den: ['a'] }], table)).toThrow(/pairs no rows/);
  });

  it('the issue\'s ratios all have reasons when they have targets', () => {
    for (const spec of RATIOS) if (spec.min !== undefined) expect(spec.why, `${spec.num} / ${spec.den.join(', ')}`).toBeTruthy();
  });
});

describe('the machine', () => {
  it('names the widest SIMD the CPU flags list', () => {
    expect(simdWidth(['fpu', 'sse2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw'])).toBe('AVX-512');
    expect(simdWidth(['sse2', 'avx', 'fma', 'avx2'])).toBe('AVX2');
    expect(simdWidth(['sse2', 'avx'])).toBe('AVX');
    expect(simdWidth(['sse2'])).toBe('SSE');
    expect(simdWidth(['neon'])).toBe('unknown');
  });

  it('reads lscpu\'s key: value lines', () => {
    const info = parseColonLines('Architecture:   x86_64\nModel name:     AMD EPYC\nFlags:          fpu avx2 fma\n');
    expect(info.get('Model name')).toBe('AMD EPYC');
    expect(simdWidth((info.get('Flags') ?? '').split(/\s+/))).toBe('AVX2');
  });

  it('takes the Node binaries from --node (repeated), else $TAPEGRAD_BENCH_NODES, else this Node', () => {
    expect(nodePaths(['--quick', '--node', '/a/node', '--node=/b/node'], { [NODES_ENV_VAR]: '/c/node' }, '/self')).toEqual(['/a/node', '/b/node']);
    expect(nodePaths(['--quick'], { [NODES_ENV_VAR]: '/c/node:/d/node' }, '/self')).toEqual(['/c/node', '/d/node']);
    expect(nodePaths([], { [NODES_ENV_VAR]: '/c/node, /d/node' }, '/self')).toEqual(['/c/node', '/d/node']);
    expect(nodePaths([], {}, '/self')).toEqual(['/self']);
    expect(() => nodePaths(['--node'], {}, '/self')).toThrow(/--node needs the path/);
  });

  it('asks each binary its version, and names one that does not run', () => {
    const [me] = resolveNodes([process.execPath]);
    expect(me).toEqual({ path: process.execPath, version: process.version, label: `node${process.versions.node.split('.')[0]}` });
    expect(() => resolveNodes(['/nonexistent/node'])).toThrow(/\/nonexistent\/node did not run \(not found\)/);
  });
});

describe('running the rows', () => {
  it('gives Python its environment with a contestant\'s variables over it, null removing one', () => {
    const env = withEnv({ A: '1', OMP_WAIT_POLICY: 'ACTIVE', KEEP: 'x' }, { A: '2', OMP_WAIT_POLICY: null });
    expect(env).toEqual({ A: '2', KEEP: 'x' });
  });

  it('sizes a row\'s steps from its samples and batch, with a tenth (at least 5) as warm-up, and a second more in a full run', () => {
    const c = CONTESTANTS.find((x) => x.name === 'tfjs-cpu') as Contestant;
    expect(stepsFor({ contestant: c, batch: 64 }, false)).toEqual({ steps: Math.ceil(c.samples[0] / 64), warmup: Math.max(5, Math.round(Math.ceil(c.samples[0] / 64) / 10)), warmupMs: WARMUP_MS });
    expect(stepsFor({ contestant: { ...c, samples: [64, 64] }, batch: 64 }, true)).toMatchObject({ steps: 10, warmupMs: 0 });
  });

  it('runs every row once a round, starting each round at a different row', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const orders = [0, 1, 2].map((r) => roundOrder(items, r, 3));
    for (const o of orders) expect([...o].sort((a, b) => a - b)).toEqual(items);
    expect(new Set(orders.map((o) => o[0])).size).toBe(3);
  });
});

describe('the order of a round', () => {
  const nodes = [{ path: '/a', version: 'v24.1.0', label: 'node24' }, { path: '/b', version: 'v20.1.0', label: 'node20' }];
  const all = rows(nodes);

  it('runs every row once a round, and the two sides of every headline ratio with no other workload or batch between them', () => {
    const speeds = all.map((r) => ({ id: r.id, trainSamplesPerSec: 1 }));
    for (const r of [0, 1, 2]) {
      const order = runOrder(all, nodes, r, 3);
      expect([...order.map((x) => x.id)].sort()).toEqual(all.map((x) => x.id).sort());
      const at = new Map(order.map((x, i) => [x.id, i]));
      // Every ratio on the headline Node (the targets); another Node's rows sit apart from the Python rows.
      for (const ratio of ratios(nodes, speeds).filter((x) => x.node !== 'node20')) {
        for (const den of ratio.dens) {
          const [i, j] = [at.get(ratio.num)!, at.get(den)!].sort((a, b) => a - b);
          for (const between of order.slice(i, j + 1)) {
            expect([between.contestant.workload, between.batch]).toEqual([order[i].contestant.workload, order[i].batch]);
          }
        }
      }
      const one = at.get('tapegrad-wasm-1t node24 b256')!;
      const two = at.get('tapegrad-wasm-2t node24 b256')!;
      expect(Math.abs(one - two)).toBe(1);
      expect(two > one).toBe(r % 2 === 0); // every other round the other side first
    }
    expect(new Set([0, 1, 2].map((r) => runOrder(all, nodes, r, 3)[0].id)).size).toBe(3);
  });
});

describe('the data every contestant trains on', () => {
  const train = loadMnist('train');

  it('is converted to float32 before timing: pixels / 255 and the labels, a batch is a view of the pool', () => {
    const pool = floatPool(train, 256);
    expect(pool.x.length).toBe(256 * PIXELS);
    for (const i of [0, 123, 300 * 1 + 5, 255 * PIXELS + 783]) expect(pool.x[i]).toBe(Math.fround(train.images[i] / 255));
    expect(Array.from(pool.y.subarray(0, 5))).toEqual(Array.from(train.labels.subarray(0, 5)));
    const b = poolBatch(pool, 3, 64); // 256 / 64 = 4 batches: batch 3 is the last
    expect(b.x.buffer).toBe(pool.x.buffer);
    expect(b.x.byteOffset).toBe(pool.x.byteOffset + 3 * 64 * PIXELS * 4);
    expect(b.y[0]).toBe(train.labels[192]);
    expect(poolBatch(pool, 4, 64).x.byteOffset).toBe(pool.x.byteOffset); // wraps
    expect(() => floatPool(train, 0)).toThrow(RangeError);
  });

  it('holds whole batches of every size in the table, and wraps them in order', () => {
    for (const c of CONTESTANTS) for (const b of c.batches) expect(POOL_IMAGES % b, `${c.name} b${b}`).toBe(0);
    expect([0, 1, 2, 3].map((b) => batchStart(b, 3, 10))).toEqual([0, 3, 6, 0]);
    expect(() => batchStart(0, 11, 10)).toThrow(/does not fit/);
  });

  it('parses the peers\' flags, naming a bad one', () => {
    expect(parsePeerArgs(['--workload', 'a001', '--batch', '128', '--backend', 'wasm'])).toMatchObject({ workload: 'a001', batch: 128, backend: 'wasm' });
    expect(() => parsePeerArgs(['--workload', 'resnet'])).toThrow(/--workload must be one of mlp, a001, d2l, got resnet/);
    expect(() => parsePeerArgs(['--steps', 'ten'])).toThrow(/--steps must be a non-negative integer, got ten/);
    expect(() => parsePeerArgs(['--bogus', '1'])).toThrow(/unknown option --bogus/);
  });
});

describe('finding a Python with torch', () => {
  it('tries $TAPEGRAD_PYTHON first, then /usr/bin/python3', () => {
    expect(pythonCandidates({ TAPEGRAD_PYTHON: '/opt/py/bin/python' })).toEqual(['/opt/py/bin/python', DEFAULT_PYTHON]);
    expect(pythonCandidates({ TAPEGRAD_PYTHON: ' ' })).toEqual([DEFAULT_PYTHON]);
    expect(pythonCandidates({})).toEqual([DEFAULT_PYTHON]);
  });

  it('pins one thread and puts OpenBLAS first on the library path, keeping what was there', () => {
    const env = pythonEnv({ LD_LIBRARY_PATH: '/mine' });
    expect(env.OPENBLAS_NUM_THREADS).toBe('1');
    expect(env.OMP_NUM_THREADS).toBe('1');
    if (existsSync(OPENBLAS_DIR)) expect(env.LD_LIBRARY_PATH).toBe(`${OPENBLAS_DIR}:/mine`);
    else expect(env.LD_LIBRARY_PATH).toBe('/mine');
  });

  it('says why each candidate failed: missing, or no torch', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapegrad-py-'));
    const noTorch = join(dir, 'python3');
    // A stand-in interpreter that fails the way a Python without torch does.
    writeFileSync(noTorch, "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
    chmodSync(noTorch, 0o755);
    const got = findPython([join(dir, 'absent'), noTorch]);
    expect(got).toEqual({
      found: false,
      reason: TORCH_MISSING,
      tried: [`${join(dir, 'absent')}: not found`, `${noTorch}: ModuleNotFoundError: No module named 'torch'`],
    });
  });
});

describe('the results file', () => {
  const run = (row: string, train: number, extra: Partial<RunRecord> = {}): RunRecord => ({
    peer: 'x', workload: 'mlp', batch: 64, steps: 10, trainSamplesPerSec: train, inferSamplesPerSec: 2 * train, lossFirst: 2, lossLast: 1, peakRssMiB: 100,
    runtime: 'node v24.22.3', loadAverage: 1.5, row, round: 1, ...extra,
  });
  const one = NODES.slice(0, 1);
  const all = rows(one);
  const row = (id: string) => all.find((r) => r.id === id)!;

  it('shows medians, the Node and FMA per row, "not installed" and n/a without PyTorch, the targets met or not, and the machine', () => {
    const wasm = { backend: 'wasm', fma: true };
    const runs = [
      run('tapegrad-wasm-2t node24 b64', 900, wasm), run('tapegrad-wasm-2t node24 b64', 1000, wasm), run('tapegrad-wasm-2t node24 b64', 1300, wasm),
      run('tapegrad-wasm-1t node24 b64', 800, wasm),
    ];
    const training = [
      summarize(row('tapegrad-wasm-2t node24 b64'), runs),
      summarize(row('tapegrad-wasm-1t node24 b64'), runs),
      summarize(row('pytorch-1t b64'), runs, TORCH_MISSING),
    ];
    expect(training[0]).toMatchObject({ runs: 3, trainSamplesPerSec: 1000, inferSamplesPerSec: 2000, version: 'node v24.22.3', fma: true, loadAverage: 1.5 });
    expect(training[2]).toMatchObject({ runs: 0, trainSamplesPerSec: null, unavailable: TORCH_MISSING });
    const speeds = training.map((t) => ({ id: t.row, trainSamplesPerSec: t.trainSamplesPerSec, ...(t.unavailable ? { unavailable: t.unavailable } : {}) }));
    const specs: RatioSpec[] = [
      { workload: 'mlp', num: 'tapegrad-wasm-2t', den: ['tapegrad-wasm-1t'], min: { 64: 1.4 }, why: 'what the second thread gains' },
      { workload: 'mlp', num: 'tapegrad-wasm-2t', den: ['pytorch-1t'], min: { 64: 1 }, why: 'vs PyTorch' },
    ];
    const result: BenchmarkResult = {
      date: '2026-01-01', quick: true, command: 'npx tsx benchmarks/run.ts --quick',
      machine: {
        cpu: { model: 'AMD EPYC', cores: 2, simd: 'AVX2', fma: true, source: 'lscpu' }, nodes: one, niceness: 0,
        loadAverageStart: [2.5, 1, 0.5], loadAverageEnd: [3, 2, 1], parallelCapacity: [1.9], python: { missing: TORCH_MISSING, tried: [] },
      },
      kernels: [], training, runs,
      memory: { heapMiB: [7.5, 7.6], arenaMiB: [], heapGrowthEpoch2To5MiB: NaN, arenaGrowthEpoch2To5MiB: NaN, peakRssMiB: 200, threads: 2, backend: 'wasm', node: 'node v24.22.3' },
      ratios: ratios(one, speeds, specs), files: { json: 'x.json', markdown: 'x.md' },
      interleaved: [
        { workload: 'mlp', batch: 64, blocks: 16, runtime: 'node v24.22.3', oneThread: 50_000, twoThreads: 70_500, ratio: 1.41, ratioQuartiles: [1.388, 1.43], pooledPerStep: [5, 4.5, 5] },
      ],
    };
    const md = markdown(result);
    expect(md).toContain('batch 64 1.41× (quartiles 1.39–1.43 over 16 pairs; 70,500 against 50,000 samples/s; the pool ran 4.50–5.00 products a step)');
    expect(md).toContain('on AMD EPYC, 2 cores, AVX2 with FMA, no AVX-512');
    expect(md).toContain('node24 = v24.22.3 (`/opt/node24/bin/node`), the headline');
    expect(md).toContain('Load average (1, 5, 15 min) 2.50 / 1.00 / 0.50 at the start, 3.00 / 2.00 / 1.00 at the end');
    expect(md).not.toContain('Just before each round');
    expect(md).not.toContain('| row | round | tenths of the timed steps | whole run |'); // no run reported its tenths
    const tenths = markdown({ ...result, runs: [run('tapegrad-wasm-2t node24 b64', 90_000, { windowSamplesPerSec: [61_000, 62_400, 99_600] }), run('pytorch-1t b64', 1, { windowSamplesPerSec: [1] })] });
    expect(tenths).toContain('| tapegrad-wasm-2t node24 b64 | 1 | 61 62 100 | 90 |'); // thousands
    expect(tenths).not.toContain('| pytorch-1t b64 | 1 |');
    expect(markdown({ ...result, machine: { ...result.machine, roundCapacity: [1.98, 1.6, 1.553] } }))
      .toContain('Just before each round of the training rows: 1.98×, 1.60×, 1.55×.');
    expect(md).toContain('| tapegrad-wasm-2t | node24 (v24.22.3, FMA) | 1,000 | 2,000 | 100 | 2.000 → 1.000 | 3 |');
    expect(md).toContain(`| pytorch-1t | python | ${TORCH_MISSING} |`);
    expect(md).toContain('| what the second thread gains | tapegrad-wasm-2t node24 b64 / tapegrad-wasm-1t node24 b64 | 1.25× | 1.4× | no |');
    expect(md).toContain(`| vs PyTorch | tapegrad-wasm-2t node24 b64 / pytorch-1t b64 | n/a (pytorch-1t b64 ${TORCH_MISSING}) | 1.0× | n/a |`);
    expect(md).toContain('| peak RSS, 5 epochs of tapegrad (memory run) | node v24.22.3 | 200 MiB | < 300 MiB | yes |');
    expect(md).toContain('OMP_WAIT_POLICY=PASSIVE');
    expect(md).toContain('float32 pixels / 255 before anything is timed');
    expect(md).toContain('with FMA (relaxed SIMD) on node24');
    expect(md).toContain('| 2 | 7.6 | — |');
  });

  it('labels the kernel table\'s FMA columns by the Node that ran them', () => {
    const k = (node: string, fma: boolean): KernelRow => ({
      product: 'forward Y = X·Wᵀ', layout: 'NT', batch: 64, M: 64, K: 784, N: 300, naive: 1, blocked: 2, threaded: 3,
      wasm: fma ? null : 20, wasmThreaded: fma ? null : 30, fma: 40, fmaThreaded: 60, threads: 2, node, refused: [],
    });
    const md = kernelMarkdown([k('v24.22.3', true), k('v20.20.2', false)]);
    expect(md).toContain('| v24.22.3 | forward Y = X·Wᵀ | NT | 64 | 64×784×300 | 1.00 | 2.00 | 3.00 (2) | — | — (2) | 40.00 | 60.00 (2) |');
    expect(md).toContain('| v20.20.2 | forward Y = X·Wᵀ | NT | 64 | 64×784×300 | 1.00 | 2.00 | 3.00 (2) | 20.00 | 30.00 (2) | 40.00 | 60.00 (2) |');
    expect(md).toContain('On Node ≥ 22 relaxed SIMD is on by default');
  });
});

describe('the profile\'s analysis (benchmarks/profile.ts)', () => {
  const file = (path: string) => `file://${process.cwd()}/${path}`;
  // root → profiledSteps → { tiles (wasm), accumulateInto (tape.ts) }; root → GC; root → main (before the window).
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 5, 6] },
      { id: 2, callFrame: { functionName: 'profiledSteps', url: file('benchmarks/profileTarget.ts'), lineNumber: 30 }, children: [3, 4] },
      { id: 3, callFrame: { functionName: 'tiles', url: 'wasm://wasm/4b7b6026', lineNumber: 0 } },
      { id: 4, callFrame: { functionName: 'accumulateInto', url: file('engine/tape.ts'), lineNumber: 193 } },
      { id: 5, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
      { id: 6, callFrame: { functionName: 'loadMnist', url: file('benchmarks/mnist.ts'), lineNumber: 40 } },
    ],
    startTime: 1000,
    // Times 1010 (loadMnist, before the window), 1020, 1030 (GC inside), 1040, 1050 (tiles), 1060 (accumulateInto), 1070 (GC after).
    samples: [6, 3, 5, 3, 3, 4, 5],
    timeDeltas: [10, 10, 10, 10, 10, 10, 10],
  };

  it('takes the window from the first to the last sample under profiledSteps, garbage collection between included', () => {
    expect(windowOf(profile, 'profiledSteps')).toEqual([1020, 1060]);
    expect(windowOf(profile, 'nothing')).toBeNull();
    const s = shares(profile, [1020, 1060]);
    expect(s.samples).toBe(5);
    expect(s.categories.get('products: tiles (wasm)')).toBeCloseTo(3 / 5);
    expect(s.categories.get('gradient copy into .grad (accumulateInto)')).toBeCloseTo(1 / 5);
    expect(s.categories.get('garbage collector')).toBeCloseTo(1 / 5);
    expect(s.functions[0]).toEqual({ name: 'tiles', file: '(wasm)', share: 0.6 });
  });

  it('sorts functions into the parts of a step by name and file', () => {
    expect(categoryOf({ name: 'packB', file: '', wasm: true })).toBe('products: packing (wasm)');
    expect(categoryOf({ name: 'adamUpdate', file: '', wasm: true })).toBe('optimizer update (wasm)');
    expect(categoryOf({ name: 'run', file: 'engine/threads/pool.ts', wasm: false })).toBe('waiting for the worker (pool.run)');
    const waiting = 'waiting for a task: polling, then asleep in Atomics.wait (worker)';
    expect(categoryOf({ name: 'loop', file: 'engine/threads/worker.ts', wasm: false })).toBe(waiting);
    expect(categoryOf({ name: 'nextTask', file: 'engine/threads/worker.ts', wasm: false })).toBe(waiting);
    expect(categoryOf({ name: 'runChunks', file: 'engine/threads/protocol.ts', wasm: false })).toBe('thread pool: planner, protocol, chunks');
    expect(categoryOf({ name: 'dropoutForward', file: 'engine/kernels/dropout.ts', wasm: false })).toBe('Dropout: mask and scale (JavaScript)');
    expect(categoryOf({ name: 'batchNormForward', file: 'layers/batchNorm.ts', wasm: false })).toBe('BatchNorm (JavaScript)');
    expect(categoryOf({ name: 'batchNormForward', file: 'engine/kernels/batchNorm.ts', wasm: false })).toBe('BatchNorm (JavaScript)');
    expect(categoryOf({ name: 'batchNormStats', file: '', wasm: true })).toBe('BatchNorm, Dropout, tanh, sigmoid (wasm)');
    expect(categoryOf({ name: 'dropoutForward', file: '', wasm: true })).toBe('BatchNorm, Dropout, tanh, sigmoid (wasm)');
    expect(categoryOf({ name: 'tanh', file: 'engine/ops/tanh.ts', wasm: false })).toBe('tanh, sigmoid (JavaScript)');
    expect(categoryOf({ name: 'alloc', file: 'engine/memory.ts', wasm: false })).toBe('allocation and zeroing (engine/memory.ts)');
    expect(categoryOf({ name: 'whatever', file: 'somewhere.ts', wasm: false })).toBe('other');
  });

  it('puts the WebAssembly LayerNorm and softmax family in their own part of a step', () => {
    for (const name of ['layerNormForward', 'layerNormBackward', 'affineBackward', 'softmaxForward', 'logSoftmaxBackward', 'crossEntropyForward', 'logF64']) {
      expect(categoryOf({ name, file: '', wasm: true }), name).toBe('LayerNorm, softmax + cross-entropy (wasm)');
    }
    expect(categoryOf({ name: 'crossEntropyForward', file: 'engine/kernels/softmax.ts', wasm: false })).toBe('softmax + cross-entropy (JavaScript)');
  });

  it('reads --only workload:batch:threads, naming a bad one', () => {
    expect(parseOnly('a001:128:2')).toMatchObject({ workload: 'a001', batch: 128, threads: 2 });
    expect(() => parseOnly('resnet:1:1')).toThrow(/workload:batch:threads/);
  });
});

/** A peer script run for a few untimed steps: its result line. */
function peerLine(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stderr: string; result: PeerResult | null } {
  const r = spawnSync(command, args, { env, encoding: 'utf8', timeout: 120_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { status: r.status, stderr: r.stderr, result: last.startsWith('{') ? (JSON.parse(last) as PeerResult) : null };
}

describe('the Node peers (a few steps each, not timed)', () => {
  const tsx = (script: string, args: string[]) => peerLine(process.execPath, ['--import', 'tsx', `benchmarks/peers/${script}`, ...args]);
  const few = ['--warmup', '0', '--steps', '12', '--infer-batch', '100', '--infer-batches', '1'];

  it('tapegrad runs article 001\'s BatchNorm/Dropout/tanh/Adam net and learns', () => {
    const r = tsx('tapegrad.ts', ['--workload', 'a001', '--batch', '128', '--threads', '2', ...few]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ peer: `tapegrad-${r.result?.backend}-2t`, workload: 'a001', batch: 128, steps: 12, runtime: `node ${process.version}` });
    expect(r.result!.lossLast).toBeLessThan(r.result!.lossFirst);
  });

  it('jax-js trains the MLP from an untrained classifier\'s loss', () => {
    const r = tsx('jaxjs.ts', ['--batch', '64', ...few]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ peer: 'jax-js', workload: 'mlp', batch: 64 });
    expect(r.result!.lossFirst).toBeGreaterThan(1.0);
    expect(r.result!.lossLast).toBeLessThan(r.result!.lossFirst);
    expect(r.result!.inferSamplesPerSec).toBeGreaterThan(0);
  });

  it('warms up for --warmup steps and then until --warmup-ms have passed, and says how many steps that was', () => {
    const r = tsx('tapegrad.ts', ['--warmup', '2', '--warmup-ms', '400', '--steps', '3', '--infer-batch', '100', '--infer-batches', '1']);
    expect(r.status, r.stderr).toBe(0);
    // A step at batch 64 takes well under 40 ms, so 400 ms hold more than 10 steps.
    expect(r.result!.warmupSteps).toBeGreaterThan(10);
    expect(r.result!.steps).toBe(3);
    // Three timed steps: three tenths of one step each, whose time adds up to the whole run's.
    const w = r.result!.windowSamplesPerSec!;
    expect(w).toHaveLength(3);
    const seconds = w.reduce((t, x) => t + 64 / x, 0);
    expect(Math.abs(seconds - (3 * 64) / r.result!.trainSamplesPerSec)).toBeLessThan(0.01 * seconds + 1e-3);
    const plain = tsx('tapegrad.ts', ['--warmup', '2', ...few.slice(2)]);
    expect(plain.result!.warmupSteps).toBe(2);
  });

  it('the peers that run only the MLP refuse another workload', () => {
    const r = tsx('jaxjs.ts', ['--workload', 'd2l', ...few]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('only --workload mlp, got d2l');
  });
});

const found = findPython();

describe.skipIf(!found.found)('the PyTorch peer (benchmarks/peers/pytorch.py)', () => {
  const peer = (args: string[], env: Record<string, string | null> = {}) => {
    if (!found.found) throw new Error('unreachable');
    return peerLine(found.python, ['benchmarks/peers/pytorch.py', ...args], withEnv(found.env, env));
  };

  it('prints the peers\' result line: one thread, OpenBLAS mapped, the loss of an untrained 10-way classifier, then learning', () => {
    const r = peer(['--warmup', '0', '--steps', '40', '--infer-batch', '100', '--infer-batches', '2']);
    expect(r.status, r.stderr).toBe(0);
    const res = r.result as PeerResult & { blas: string[] };
    expect(res).toMatchObject({ peer: 'pytorch-1t', workload: 'mlp', batch: 64, steps: 40, threads: 1 });
    expect(res.runtime).toMatch(/^python \d+\.\d+\.\d+, torch \d/);
    for (const k of ['trainSamplesPerSec', 'inferSamplesPerSec', 'peakRssMiB', 'loadAverage'] as const) expect(res[k]).toBeGreaterThanOrEqual(0);
    expect(res.blas.some((p) => p.includes('openblas'))).toBe(true);
    expect(res.note).toContain('OpenBLAS');
    // The first ten steps start from Glorot-uniform weights and zero biases (loss near ln 10 = 2.30 at
    // step 0) and SGD with momentum has brought the last ten well below.
    expect(res.lossFirst).toBeGreaterThan(1.2);
    expect(res.lossFirst).toBeLessThan(2.6);
    expect(res.lossLast).toBeLessThan(0.6 * res.lossFirst);
  });

  it('warms up until --warmup-ms have passed, as the Node peers do', () => {
    const r = peer(['--warmup', '1', '--warmup-ms', '300', '--steps', '2', '--infer-batch', '100', '--infer-batches', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.result!.warmupSteps).toBeGreaterThan(5);
    expect(r.result!.windowSamplesPerSec).toHaveLength(2);
    expect(peer(['--warmup', '1', '--steps', '2', '--infer-batch', '100', '--infer-batches', '1']).result!.warmupSteps).toBe(1);
  });

  it('its first step\'s loss is that of an untrained 10-way classifier', () => {
    const r = peer(['--warmup', '0', '--steps', '1', '--infer-batch', '100', '--infer-batches', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(Math.abs(r.result!.lossFirst - Math.log(10))).toBeLessThan(0.25);
  });

  it('runs the seeds\' workloads, and two threads under the wait policy it was given', () => {
    const a = peer(['--workload', 'a001', '--batch', '128', '--warmup', '0', '--steps', '12', '--infer-batch', '100', '--infer-batches', '1']);
    expect(a.status, a.stderr).toBe(0);
    expect(a.result).toMatchObject({ peer: 'pytorch-1t', workload: 'a001', batch: 128 });
    expect(a.result!.lossLast).toBeLessThan(a.result!.lossFirst);
    const d = peer(['--workload', 'd2l', '--batch', '256', '--threads', '2', '--warmup', '0', '--steps', '12', '--infer-batch', '100', '--infer-batches', '1'],
      { OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' });
    expect(d.status, d.stderr).toBe(0);
    expect(d.result).toMatchObject({ peer: 'pytorch-2t', workload: 'd2l', batch: 256, threads: 2 });
    expect(d.result!.note).toContain('OMP_WAIT_POLICY PASSIVE');
  });

  it('rejects a bad flag with exit 2 and names it', () => {
    const r = peer(['--steps', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--steps must be at least 1, got 0');
  });
});
