import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../engine/index.js';
import {
  classCounts,
  FASHION_CLASS_NAMES,
  fashionCacheFiles,
  fashionSplit,
  loadFashionMnistAll,
  loadFashionMnist,
  parseClothesJson,
  readIdx,
} from '../../data/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'tapegrad-fashion-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const image = (v: number): string => `[${new Array(784).fill(v).join(',')}]`;

describe('parseClothesJson (the package JSON scanner)', () => {
  it('reads images, skips the empty separator arrays', () => {
    const out = parseClothesJson(bytes(`{"data":[${image(7)},[], ${image(255)}\n,[]]}\n`), 'c.json');
    expect(out.length).toBe(2 * 784);
    expect(out[0]).toBe(7);
    expect(out[784 + 783]).toBe(255);
  });

  it('rejects a short image, a value above 255, a cut file, and a wrong top level, naming the file', () => {
    const short = `{"data":[[1,2,3]]}`;
    expect(() => parseClothesJson(bytes(short), 'short.json')).toThrow(/short\.json: image 0 has 3 values, expected 784/);
    const big = `{"data":[[${new Array(783).fill(0).join(',')},256]]}`;
    expect(() => parseClothesJson(bytes(big), 'big.json')).toThrow(/pixel value 256/);
    const cut = `{"data":[${image(1)},[1,2`;
    expect(() => parseClothesJson(bytes(cut), 'cut.json')).toThrow(/cut\.json: unexpected end of file/);
    expect(() => parseClothesJson(bytes('[1,2]'), 'top.json')).toThrow(FormatError);
    expect(() => parseClothesJson(bytes(`{"data":[[1,x]]}`), 'x.json')).toThrow(/expected a pixel value/);
  });
});

describe('Fashion-MNIST from the fashion-mnist package', () => {
  // Loaded once (from the binary cache after the first run ever).
  const { train, test } = loadFashionMnist();

  it('is 60,000/10,000 with 6,000/1,000 of each class', () => {
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    expect(Array.from(classCounts(train))).toEqual(new Array(10).fill(6000));
    expect(Array.from(classCounts(test))).toEqual(new Array(10).fill(1000));
    expect(train.featureShape).toEqual([28, 28]);
    expect(train.x).toBeInstanceOf(Uint8Array);
  });

  it('has the official class names in the official order', () => {
    expect(train.classNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    expect(FASHION_CLASS_NAMES.length).toBe(10);
  });

  it('the split is deterministic, disjoint, covers all 70,000, and interleaves the classes', () => {
    const labels = new Int32Array(70000);
    for (let c = 0; c < 10; c++) labels.fill(c, c * 7000, (c + 1) * 7000);
    const a = fashionSplit(labels, 10);
    const b = fashionSplit(labels, 10);
    expect(sameBytes(a.trainIndices, b.trainIndices)).toBe(true);
    expect(sameBytes(a.testIndices, b.testIndices)).toBe(true);
    const seen = new Uint8Array(70000);
    for (const i of a.trainIndices) seen[i]++;
    for (const i of a.testIndices) seen[i]++;
    expect(seen.every((v) => v === 1)).toBe(true);
    // Shuffled across classes: the first 1,000 training samples hold every class in a fair share.
    const head = classCounts({ labels: train.labels.subarray(0, 1000), classes: 10 });
    for (const n of head) expect(n).toBeGreaterThan(60);
  });

  it('the first n samples are the same as the head of the full set', () => {
    const small = loadFashionMnist({ trainSize: 100, testSize: 10 });
    expect(small.train.count).toBe(100);
    expect(small.test.count).toBe(10);
    expect(Array.from(small.train.labels)).toEqual(Array.from(train.labels.subarray(0, 100)));
    expect(Array.from(small.test.x.subarray(0, 784))).toEqual(Array.from(test.x.subarray(0, 784)));
  });

});

describe('the Fashion-MNIST binary cache', () => {
  // A tiny stand-in for the package: ten class files of three images each (class 0 with the separators
  // the real file has), image k of class c filled with the value 10*c + k.
  const source = join(tmp, 'clothes');
  mkdirSync(source);
  for (let c = 0; c < 10; c++) {
    const images = [0, 1, 2].map((k) => image(10 * c + k));
    if (c === 0) images.splice(1, 0, '[]');
    writeFileSync(join(source, `${c}.json`), `{"data":[${images.join(',')}${c === 0 ? ',[]' : ''}]}`);
  }
  const cacheDir = join(tmp, 'cache');
  const files = fashionCacheFiles(cacheDir);

  it('is written (atomically) on the first load and read back identically', () => {
    expect(files.images).toMatch(/fashion-mnist-1\.1\.0-v\d+-images\.idx$/);
    const first = loadFashionMnistAll({ sourceDir: source, cacheDir });
    expect(first.count).toBe(30);
    expect(Array.from(first.labels)).toEqual(Array.from({ length: 30 }, (_, i) => Math.floor(i / 3)));
    expect(first.x[0]).toBe(0);
    expect(first.x[784]).toBe(1); // the separator after class 0's first image is skipped
    expect(first.x[29 * 784 + 783]).toBe(92);
    expect(readIdx(files.images).shape).toEqual([30, 28, 28]);
    expect(readdirSync(cacheDir).some((f) => f.endsWith('.tmp'))).toBe(false);

    // Now the JSON is not needed: the second load reads only the cache.
    const second = loadFashionMnistAll({ sourceDir: join(tmp, 'nowhere'), cacheDir });
    expect(sameBytes(second.x, first.x)).toBe(true);
    expect(sameBytes(second.labels, first.labels)).toBe(true);
  });

  it('a damaged cache is ignored and rebuilt from the JSON', () => {
    writeFileSync(files.images, new Uint8Array(1000));
    writeFileSync(files.labels, new Uint8Array([1, 2, 3]));
    const rebuilt = loadFashionMnistAll({ sourceDir: source, cacheDir });
    expect(rebuilt.count).toBe(30);
    expect(rebuilt.x[29 * 784]).toBe(92);
    expect(statSync(files.images).size).toBe(16 + 30 * 784);
    expect(readIdx(files.labels).shape).toEqual([30]);
  });

  it('a missing class file is a FormatError naming it; a custom source is never cached by default', () => {
    expect(() => loadFashionMnistAll({ sourceDir: join(tmp, 'nowhere'), cache: false })).toThrow(/nowhere.0\.json: cannot read it/);
    const shared = fashionCacheFiles().images;
    const stamp = (): number => (existsSync(shared) ? statSync(shared).mtimeMs : -1);
    const before = stamp();
    expect(loadFashionMnistAll({ sourceDir: source }).count).toBe(30);
    expect(stamp()).toBe(before);
  });
});

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
