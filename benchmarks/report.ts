/**
 * The results file's markdown (benchmarks/results/<date>.md): the machine, the targets of issue 19
 * met or not, the training tables (the MLP at each batch size, then the seeds' workloads), every
 * ratio, the notes that say what the figures mean, the memory check and the kernel tables.
 */
import type { Ratio } from './contestants.js';
import { TORCH_WAIT_NOTE, WORKLOAD_TITLES } from './contestants.js';
import type { BenchmarkResult, RowSummary } from './index.js';
import { PEAK_RSS_TARGET_MIB } from './index.js';
import { kernelMarkdown } from './kernels.js';
import { POOL_IMAGES, TEST_POOL_IMAGES, WARMUP_MS } from './mnist.js';

/** Said next to every training table: the kernel table below measures dense operands. */
export const ZERO_SKIP_NOTE =
  'tapegrad\'s products skip k-steps whose packed values are all zero (engine/kernels/gemmPacked.ts), and MNIST ' +
  'pixels are about 80% zeros, so its first layer does less arithmetic than the peers\' (same results, bit for bit); ' +
  'the kernel table uses dense random operands, where nothing is skipped, and tapegrad-wasm-2t-dense trains with skipping ' +
  'turned off.';

export const DATA_NOTE =
  `Every contestant converts the same images to float32 pixels / 255 before anything is timed (the first ${POOL_IMAGES.toLocaleString('en-US')} ` +
  `training images, cycled through in file order, and ${TEST_POOL_IMAGES.toLocaleString('en-US')} test images); a timed step takes a slice of them, ` +
  `trains on it and reads the loss back. Warm-up steps are not timed: a tenth of the steps (at least 5) and, in a full run, more until ${WARMUP_MS / 1000} s have passed; each row runs in its own process, rows interleaved round by round; medians.`;

const n = (v: number | null | undefined, d = 0): string =>
  (v !== null && v !== undefined && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');

/** The runtime cell of a row: 'node24 (v24.22.3, FMA)', 'python 3.11.2, torch 1.13.0a0'. */
function runtimeCell(rows: RowSummary[]): string {
  const ran = rows.find((r) => r.version !== null);
  if (ran === undefined) return rows[0].runtime;
  if (ran.runtime === 'python') return (ran.version as string).replace(/^python /, 'Python ');
  const version = (ran.version as string).replace(/^node /, '');
  return `${ran.runtime} (${version}${ran.fma === true ? ', FMA' : ran.fma === false ? ', mul+add' : ''})`;
}

function trainCell(r: RowSummary | undefined): string {
  if (r === undefined) return '';
  return r.trainSamplesPerSec === null ? (r.unavailable ?? 'did not run') : n(r.trainSamplesPerSec);
}

/** One table per workload: a line per contestant and runtime, a column per batch size. */
function trainingTable(r: BenchmarkResult, workload: keyof typeof WORKLOAD_TITLES): string[] {
  const mine = r.training.filter((t) => t.workload === workload);
  const batches = [...new Set(mine.map((t) => t.batch))].sort((a, b) => a - b);
  const groups = new Map<string, RowSummary[]>();
  for (const t of mine) {
    const key = `${t.contestant} ${t.runtime}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const lines = [
    `| contestant | runtime | ${batches.map((b) => `train, batch ${b}`).join(' | ')} | inference (batch 1000) | peak RSS MiB | loss at batch ${batches[0]}, first → last 10 steps | runs |`,
    `| --- | --- | ${batches.map(() => '---:').join(' | ')} | ---: | ---: | --- | ---: |`,
  ];
  for (const rows of groups.values()) {
    const ran = rows.filter((t) => t.trainSamplesPerSec !== null);
    const infer = ran.length > 0 ? Math.max(...ran.map((t) => t.inferSamplesPerSec as number)) : null;
    const rss = ran.length > 0 ? Math.max(...ran.map((t) => t.peakRssMiB as number)) : null;
    const first = rows.find((t) => t.batch === Math.min(...rows.map((x) => x.batch)));
    const loss = first?.lossFirst !== null && first?.lossFirst !== undefined ? `${n(first.lossFirst, 3)} → ${n(first.lossLast, 3)}` : '';
    lines.push(`| ${rows[0].contestant} | ${runtimeCell(rows)} | ${batches.map((b) => trainCell(rows.find((t) => t.batch === b))).join(' | ')} | ${n(infer)} | ${n(rss)} | ${loss} | ${rows.map((t) => t.runs).join('/')} |`);
  }
  return lines;
}

function ratioValue(q: Ratio): string {
  return q.value === null ? `n/a (${q.missing ?? 'a row did not run'})` : `${n(q.value, 2)}×`;
}

export function markdown(r: BenchmarkResult, seconds?: number): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`# tapegrad benchmark, ${r.date}${r.quick ? ' (quick)' : ''}`);
  lines.push('');
  const simd = m.cpu.simd === 'unknown' ? 'SIMD width unknown' : `${m.cpu.simd}${m.cpu.fma ? ' with FMA' : ''}${m.cpu.simd === 'AVX-512' ? '' : ', no AVX-512'}`;
  lines.push(`\`${r.command}\` on ${m.cpu.model}, ${m.cpu.cores} cores, ${simd} (OpenBLAS picks its kernels by this width; WebAssembly SIMD is 128-bit everywhere)` +
    `${seconds === undefined ? '' : `, ${n(seconds)} s`}${m.niceness !== 0 ? `, niceness ${m.niceness} (every contestant alike)` : ''}.`);
  lines.push('');
  lines.push(`Node: ${m.nodes.map((x, i) => `${x.label} = ${x.version} (\`${x.path}\`)${i === 0 ? ', the headline' : ''}`).join('; ')}. ` +
    `PyTorch: ${'python' in m.python ? `\`${m.python.python}\`, torch ${m.python.torch}` : m.python.missing}.`);
  lines.push('');
  lines.push(`Load average (1, 5, 15 min) ${m.loadAverageStart.map((x) => x.toFixed(2)).join(' / ')} at the start, ${m.loadAverageEnd.map((x) => x.toFixed(2)).join(' / ')} at the end ` +
    `(each row's median at the start of its timed steps is in the JSON). Parallel capacity ` +
    `${m.parallelCapacity.map((c) => `${c.toFixed(2)}×`).join(' at the start, ')}${m.parallelCapacity.length > 1 ? ' at the end' : ''}: ` +
    'two single-thread kernels at once ran that much faster than one (2.00× = two free cores), which bounds what two threads can gain.' +
    (m.roundCapacity !== undefined && m.roundCapacity.length > 0
      ? ` Just before each round of the training rows: ${m.roundCapacity.map((c) => `${c.toFixed(2)}×`).join(', ')}.`
      : ''));

  // The targets are read on the headline Node (the first); the other Nodes' are in the ratio table and the JSON.
  const headline = m.nodes[0]?.label ?? null;
  const targets = r.ratios.filter((q) => q.min !== undefined && (q.node === null || q.node === headline));
  if (targets.length > 0 || r.memory) {
    lines.push('');
    lines.push(`## Targets (issue 19), from this run, on ${headline ?? 'Python'}`);
    lines.push('');
    lines.push('| target | ratio of train samples/s | value | at least | met |');
    lines.push('| --- | --- | ---: | ---: | :---: |');
    for (const q of targets) {
      const met = q.value === null ? 'n/a' : q.value >= (q.min as number) ? 'yes' : 'no';
      lines.push(`| ${q.why ?? ''} | ${q.name}${q.den !== null && q.dens.length > 1 ? ` (best: ${q.den})` : ''} | ${ratioValue(q)} | ${n(q.min, 1)}× | ${met} |`);
    }
    if (r.memory) {
      lines.push(`| peak RSS, 5 epochs of tapegrad (memory run) | ${r.memory.node} | ${n(r.memory.peakRssMiB)} MiB | < ${PEAK_RSS_TARGET_MIB} MiB | ${r.memory.peakRssMiB < PEAK_RSS_TARGET_MIB ? 'yes' : 'no'} |`);
    }
  }

  if (r.interleaved !== undefined && r.interleaved.length > 0) {
    lines.push('');
    lines.push('What the second thread gains, measured within one process (`benchmarks/interleave.ts`: blocks of steps on one ' +
      'thread and on two, alternating, so that the rest of the machine falls on both alike; the MLP with SGD momentum, ' +
      `${r.interleaved[0].runtime}): ` +
      r.interleaved.map((x) => `batch ${x.batch} ${n(x.ratio, 2)}× (quartiles ${n(x.ratioQuartiles[0], 2)}–${n(x.ratioQuartiles[1], 2)} over ${x.blocks} pairs; ` +
        `${n(x.twoThreads)} against ${n(x.oneThread)} samples/s; the pool ran ${n(Math.min(...x.pooledPerStep), 2)}–${n(Math.max(...x.pooledPerStep), 2)} products a step)`).join(', ') + '.');
  }

  // The ratio the host moves most, seen inside each run: one and two threads, tenth by tenth.
  const pairRows = r.runs.filter((x) => x.workload === 'mlp' && x.windowSamplesPerSec !== undefined &&
    /^tapegrad-wasm-[12]t /.test(x.row) && (headline === null || x.row.includes(` ${headline} `)));
  if (pairRows.length > 0) {
    lines.push('');
    lines.push('One and two threads within each run, over each tenth of its timed steps (thousand train samples/s; a host that ' +
      'gives one core\'s throughput for a second or two shows as a run of low tenths in a two-thread row):');
    lines.push('');
    lines.push('| row | round | tenths of the timed steps | whole run |');
    lines.push('| --- | ---: | --- | ---: |');
    for (const x of [...pairRows].sort((a, b) => a.row.localeCompare(b.row) || a.round - b.round)) {
      lines.push(`| ${x.row} | ${x.round} | ${x.windowSamplesPerSec!.map((w) => n(w / 1000)).join(' ')} | ${n(x.trainSamplesPerSec / 1000)} |`);
    }
  }

  for (const workload of ['mlp', 'a001', 'd2l'] as const) {
    if (!r.training.some((t) => t.workload === workload)) continue;
    lines.push('');
    lines.push(workload === 'mlp'
      ? `## Training: ${WORKLOAD_TITLES.mlp}, MNIST (samples/s)`
      : `## The seeds' workload: ${WORKLOAD_TITLES[workload]}, MNIST (samples/s)`);
    lines.push('');
    lines.push(...trainingTable(r, workload));
    const pooled = r.training.filter((t) => t.workload === workload && t.pooledPerStep !== undefined);
    if (pooled.length > 0) {
      lines.push('');
      lines.push('Products the pool ran per step (median of the runs; fewer than the step has above the cut-over when the busy check kept ' +
        `tasks on the calling thread while other work held the cores): ${pooled.map((t) => `${t.contestant} ${t.runtime} b${t.batch} ${n(t.pooledPerStep, 2)}`).join(', ')}.`);
    }
  }

  lines.push('');
  lines.push('## Ratios (train samples/s, this run)');
  lines.push('');
  lines.push('| ratio | value |');
  lines.push('| --- | ---: |');
  for (const q of r.ratios) lines.push(`| ${q.name}${q.den !== null && q.dens.length > 1 ? ` (best: ${q.den})` : ''} | ${ratioValue(q)} |`);

  const notes = [DATA_NOTE, ZERO_SKIP_NOTE, TORCH_WAIT_NOTE];
  const fma = r.training.filter((t) => t.fma !== undefined);
  const fmaOn = [...new Set(fma.filter((t) => t.fma).map((t) => t.runtime))];
  const fmaOff = [...new Set(fma.filter((t) => !t.fma).map((t) => t.runtime))];
  if (fmaOn.length + fmaOff.length > 0) {
    notes.push(`tapegrad's WebAssembly products ran with FMA (relaxed SIMD) on ${fmaOn.join(', ') || 'no Node'} and with mul+add on ${fmaOff.join(', ') || 'no Node'}: ` +
      'Node ≥ 22 turns relaxed SIMD on by default, Node 20 only behind a flag the engine never sets.');
  }
  const seen = new Set<string>();
  for (const t of r.training) {
    if (!t.note) continue;
    const note = `${t.contestant}: ${t.note}.`;
    if (!seen.has(note)) notes.push(note);
    seen.add(note);
  }
  lines.push('');
  lines.push(notes.join('\n\n'));

  if (r.memory) {
    const mem = r.memory;
    lines.push('');
    lines.push(`## Memory (tapegrad, ${mem.backend} backend, ${mem.threads} threads, ${mem.node}, 5 epochs of 60,000 images, each step in a scope)`);
    lines.push('');
    lines.push(`Growth from epoch 2 to 5: heap ${n(mem.heapGrowthEpoch2To5MiB, 2)} MiB, arena ${n(mem.arenaGrowthEpoch2To5MiB, 2)} MiB; peak RSS ${n(mem.peakRssMiB)} MiB.`);
    lines.push('');
    lines.push('| after epoch | heap MiB (after a full GC) | tensor arena MiB |');
    lines.push('| ---: | ---: | ---: |');
    mem.heapMiB.forEach((h, e) => lines.push(`| ${e + 1} | ${n(h, 1)} | ${mem.arenaMiB[e] === undefined ? '—' : n(mem.arenaMiB[e], 1)} |`));
  }
  lines.push('');
  lines.push('## Kernels: GFLOP/s of the 784→300 Dense layer\'s products (W stored (300,784), PyTorch layout), dense operands');
  lines.push('');
  lines.push(kernelMarkdown(r.kernels));
  lines.push('');
  return lines.join('\n');
}
