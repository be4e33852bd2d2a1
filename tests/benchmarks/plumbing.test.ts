// The benchmark's plumbing, not its speed (speed is measured in benchmarks/, never in a test): the
// contestant and ratio table, finding a Python with torch, the rows and ratios when it is absent,
// and the PyTorch peer's result line.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Contestant, RowSpeed } from '../../benchmarks/contestants.js';
import { CONTESTANTS, ratios } from '../../benchmarks/contestants.js';
import type { BenchmarkResult } from '../../benchmarks/index.js';
import { markdown, summarize } from '../../benchmarks/index.js';
import type { PeerResult } from '../../benchmarks/mnist.js';
import { DEFAULT_PYTHON, OPENBLAS_DIR, TORCH_MISSING, findPython, pythonCandidates, pythonEnv } from '../../benchmarks/python.js';

const row = (peer: string, vs?: string[]): Contestant => ({ peer, runtime: 'node', script: 'peers/x.ts', args: [], steps: [1, 1], infer: [1, 1], vs });

describe('the contestant table', () => {
  it('names each row once, and every ratio names rows of the table', () => {
    const names = CONTESTANTS.map((c) => c.peer);
    expect(new Set(names).size).toBe(names.length);
    const all: RowSpeed[] = names.map((peer) => ({ peer, trainSamplesPerSec: 1 }));
    const list = ratios(CONTESTANTS, all).map((r) => r.name);
    expect(list).toContain('tapegrad-2t / pytorch-1t');
    expect(list).toContain('tapegrad-1t / pytorch-1t');
    expect(new Set(list).size).toBe(list.length);
  });

  it('runs PyTorch under Python, on one thread', () => {
    const torch = CONTESTANTS.find((c) => c.peer === 'pytorch-1t');
    expect(torch?.runtime).toBe('python');
    expect(torch?.args).toEqual(['--threads', '1']);
  });

  it('divides training speeds from the same rows, and says n/a (and why) when one did not run', () => {
    const table = [row('a', ['b', 'c']), row('b'), row('c')];
    const got = ratios(table, [
      { peer: 'a', trainSamplesPerSec: 300 },
      { peer: 'b', trainSamplesPerSec: 120 },
      { peer: 'c', trainSamplesPerSec: null, unavailable: TORCH_MISSING },
    ]);
    expect(got).toEqual([
      { name: 'a / b', value: 2.5 },
      { name: 'a / c', value: null, missing: `c ${TORCH_MISSING}` },
    ]);
  });

  it('refuses a ratio against a row that is not in the table', () => {
    expect(() => ratios([row('a', ['nobody'])], [{ peer: 'a', trainSamplesPerSec: 1 }])).toThrow(/a \/ nobody names a row that is not in the table/);
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

const found = findPython();

describe('rows and ratios without PyTorch', () => {
  const run = (peer: string, train: number): PeerResult => ({
    peer, batch: 64, steps: 10, trainSamplesPerSec: train, inferSamplesPerSec: 2 * train, lossFirst: 2, lossLast: 1, peakRssMiB: 100,
  });

  it('the row says how to install it, the ratio says n/a, the others are medians', () => {
    const runs = [run('tapegrad-2t', 900), run('tapegrad-2t', 1000), run('tapegrad-2t', 1300)];
    const training = [summarize('tapegrad-2t', runs), summarize('pytorch-1t', runs, TORCH_MISSING)];
    expect(training[0]).toMatchObject({ runs: 3, trainSamplesPerSec: 1000, inferSamplesPerSec: 2000 });
    expect(training[1]).toMatchObject({ runs: 0, trainSamplesPerSec: null, unavailable: TORCH_MISSING });
    const result: BenchmarkResult = {
      date: '2026-01-01', quick: true, command: 'npx tsx benchmarks/run.ts --quick',
      machine: { cpu: 'test', cores: 2, node: 'v20', niceness: 0, loadAverageStart: [0, 0, 0], loadAverageEnd: [0, 0, 0], parallelCapacity: [2], python: { missing: TORCH_MISSING, tried: [] } },
      kernels: [], training, runs, memory: { heapMiB: [7.5, 7.6], arenaMiB: [], heapGrowthEpoch2To5MiB: NaN, arenaGrowthEpoch2To5MiB: NaN, peakRssMiB: 200, threads: 2, backend: 'js' },
      ratios: { 'tapegrad-2t / pytorch-1t': null }, ratiosMissing: { 'tapegrad-2t / pytorch-1t': `pytorch-1t ${TORCH_MISSING}` },
      files: { json: 'x.json', markdown: 'x.md' },
    };
    const md = markdown(result);
    expect(md).toContain(`| pytorch-1t | ${TORCH_MISSING} | | | | 0 |`);
    expect(md).toContain('| tapegrad-2t | 1,000 | 2,000 | 100 | 2.000 → 1.000 | 3 |');
    expect(md).toContain(`| tapegrad-2t / pytorch-1t | n/a (pytorch-1t ${TORCH_MISSING}) |`);
    expect(md).toContain('| 2 | 7.6 | — |');
  });
});

describe.skipIf(!found.found)('the PyTorch peer (benchmarks/peers/pytorch.py)', () => {
  const peer = (args: string[]) => {
    if (!found.found) throw new Error('unreachable');
    return spawnSync(found.python, ['benchmarks/peers/pytorch.py', ...args], { env: found.env, encoding: 'utf8', timeout: 120_000 });
  };

  it('prints the peers\' result line: one thread, OpenBLAS mapped, the loss of an untrained 10-way classifier, then learning', () => {
    const r = peer(['--warmup', '0', '--steps', '40', '--infer-batch', '100', '--infer-batches', '2']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const res = JSON.parse(lines[lines.length - 1]) as PeerResult & { blas: string[] };
    expect(res).toMatchObject({ peer: 'pytorch-1t', batch: 64, steps: 40, threads: 1 });
    for (const k of ['trainSamplesPerSec', 'inferSamplesPerSec', 'peakRssMiB'] as const) expect(res[k]).toBeGreaterThan(0);
    expect(res.blas.some((p) => p.includes('openblas'))).toBe(true);
    expect(res.note).toContain('OpenBLAS');
    // The first ten steps start from Glorot-uniform weights and zero biases (loss near ln 10 = 2.30 at
    // step 0) and SGD with momentum has brought the last ten well below.
    expect(res.lossFirst).toBeGreaterThan(1.2);
    expect(res.lossFirst).toBeLessThan(2.6);
    expect(res.lossLast).toBeLessThan(0.6 * res.lossFirst);
  });

  it('its first step\'s loss is that of an untrained 10-way classifier', () => {
    const r = peer(['--warmup', '0', '--steps', '1', '--infer-batch', '100', '--infer-batches', '1']);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop() as string) as PeerResult;
    expect(Math.abs(res.lossFirst - Math.log(10))).toBeLessThan(0.25);
  });

  it('rejects a bad flag with exit 2 and names it', () => {
    const r = peer(['--steps', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--steps must be at least 1, got 0');
  });
});
