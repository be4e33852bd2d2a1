/**
 * The picture of docs/EXPERIMENTS.md's augmentation section: one MNIST digit and eight of its
 * augmentations as the DataLoader makes them (`--augment`), in a 3×3 grid, written as a PNG
 * (docs/figures/mnist-augmentations.png): top row the digit, two shifts; middle row two random affine
 * maps and an elastic distortion; bottom row another elastic distortion and two of both. Each is the
 * loader's draw for that sample in epochs 0, 1, 2..., so the picture is what training sees.
 *
 *   npx tsx examples/augmentations.ts [--quick] [--figures DIR] [--sample N]
 */
import { deflateSync } from 'node:zlib';
import { DataLoader, loadMnist, type AugmentOptions } from '../data/index.js';
import { parseArgs, runIfMain, type Log } from './common.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

/** PNG's CRC-32 (ISO 3309), table-driven. */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A grey-scale PNG of `pixels` (0-255, row-major, width × height). */
export function encodePng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8); // 8 bits, grey, deflate, no filter method beyond 0, no interlace
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    png.set(p, at);
    at += p.length;
  }
  return png;
}

/** The eight augmentations of the grid, after the digit itself. */
const CELLS: Array<[string, AugmentOptions, number]> = [
  ['shift', { shift: true }, 0],
  ['shift', { shift: true }, 1],
  ['affine', { affine: true }, 0],
  ['affine', { affine: true }, 1],
  ['elastic', { elastic: true }, 0],
  ['elastic', { elastic: true }, 1],
  ['affine + elastic', { affine: true, elastic: true }, 0],
  ['affine + elastic', { affine: true, elastic: true }, 1],
];

export async function main(args: string[], log: Log): Promise<{ path: string | null; inkRatios: number[] }> {
  const opts = parseArgs(args);
  const sample = Number(opts.flags.get('sample') ?? 7);
  const { train } = loadMnist({ trainSize: Math.max(sample + 1, 64), testSize: 1 });
  const image = (augment: AugmentOptions | undefined, epoch: number): Float32Array => {
    const loader = new DataLoader(train, { batchSize: train.count, shuffle: false, seed: opts.seed, augment });
    const batch = loader.epochBatches(epoch).next().value!;
    return batch.x.data.slice(sample * 784, (sample + 1) * 784);
  };
  const images = [image(undefined, 0), ...CELLS.map(([, augment, epoch]) => image(augment, epoch))];
  const ink = (img: Float32Array) => img.reduce((a, b) => a + b, 0);
  const inkRatios = images.map((img) => ink(img) / ink(images[0]));
  log(`sample ${sample} (a ${train.labels[sample]}): ink of each augmentation / the digit's: ${inkRatios.map((r) => r.toFixed(2)).join(' ')}`);

  const scale = 6;
  const gap = 4;
  const cell = 28 * scale;
  const size = 3 * cell + 4 * gap;
  const pixels = new Uint8Array(size * size).fill(255);
  images.forEach((img, k) => {
    const x0 = gap + (k % 3) * (cell + gap);
    const y0 = gap + Math.floor(k / 3) * (cell + gap);
    for (let y = 0; y < cell; y++) {
      for (let x = 0; x < cell; x++) {
        const v = img[Math.floor(y / scale) * 28 + Math.floor(x / scale)];
        pixels[(y0 + y) * size + x0 + x] = 255 - Math.round(Math.min(1, Math.max(0, v)) * 255); // ink dark on white
      }
    }
  });
  if (opts.figures === null) return { path: null, inkRatios };
  mkdirSync(opts.figures, { recursive: true });
  const path = resolve(opts.figures, 'mnist-augmentations.png');
  writeFileSync(path, encodePng(pixels, size, size));
  log(`figure: ${relative(process.cwd(), path)}`);
  log(`grid: digit, ${CELLS.map(([name, , e]) => `${name} (epoch ${e})`).join(', ')}`);
  return { path, inkRatios };
}

runIfMain(import.meta.url, main);
