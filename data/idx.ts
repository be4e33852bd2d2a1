/**
 * The IDX format of LeCun's MNIST files (http://yann.lecun.com/exdb/mnist/):
 *
 *   bytes 0-1  zero
 *   byte  2    element type: 0x08 unsigned byte (0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)
 *   byte  3    number of dimensions D
 *   then D big-endian uint32 sizes, then the elements, row-major, nothing after them.
 *
 * So the images file starts with 0x00000803 (bytes, 3 dimensions: count, rows, columns) and the labels file
 * with 0x00000801 (bytes, 1 dimension: count). Only unsigned bytes are read: they are all MNIST and
 * Fashion-MNIST use. Every check names the file, so a truncated download says which file and by how much
 * instead of turning into garbage pixels.
 */
import { FormatError } from '../engine/index.js';
import { writeFileAtomicFor } from './files.js';
import { nodeModule } from './node.js';

/** An IDX file's contents: its shape and its bytes. */
export interface IdxArray {
  /** The D sizes from the header: `[60000, 28, 28]` for MNIST's training images. */
  shape: number[];
  /** The elements, row-major (a view into the file's bytes). */
  data: Uint8Array;
}

/** What `parseIdx`/`readIdx` check the header against (any mismatch is a `FormatError`). */
export interface IdxExpectation {
  /** The number of dimensions the caller needs (3 for images, 1 for labels). */
  dims?: number;
  /** Sizes the caller needs; `null` leaves one free (`[null, 28, 28]`). */
  shape?: readonly (number | null)[];
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const hex = (v: number, digits: number): string => '0x' + v.toString(16).padStart(digits, '0');

/**
 * Reads and checks an IDX file of unsigned bytes. Throws `FormatError` naming `path` if anything is off.
 * Node only (it reads the file with node:fs); in a page, fetch the bytes and call `parseIdx`.
 */
export function readIdx(path: string, expect: IdxExpectation = {}): IdxArray {
  const { readFileSync } = nodeModule('node:fs', 'readIdx');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new FormatError(`IDX file ${path}: cannot read it (${(err as Error).message})`);
  }
  return parseIdx(bytes, path, expect);
}

/**
 * Checks and decodes IDX bytes; `source` names them in errors (a path, or '<buffer>'). Needs no Node:
 * this is the reader a page uses on fetched bytes.
 *
 * @example
 * ```ts
 * import { encodeIdx, parseIdx } from 'tapegrad';
 *
 * const bytes = encodeIdx(new Uint8Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * console.log(Array.from(bytes.subarray(0, 4))); // => [0, 0, 8, 2]
 * const { shape, data } = parseIdx(bytes, 'two rows', { dims: 2 });
 * console.log([shape, data]); // => [[2, 3], [1, 2, 3, 4, 5, 6]]
 * try {
 *   parseIdx(bytes.subarray(0, 10), 'cut short');
 * } catch (err) {
 *   console.log((err as Error).message); // => 'IDX file cut short: expected at least 12 bytes of header for 2 dimension(s), got 10 (truncated)'
 * }
 * ```
 */
export function parseIdx(bytes: Uint8Array, source = '<buffer>', expect: IdxExpectation = {}): IdxArray {
  const fail = (what: string): never => {
    throw new FormatError(`IDX file ${source}: ${what}`);
  };
  if (bytes.length < 4) fail(`expected at least 4 bytes of header, got ${bytes.length} (truncated or empty)`);

  const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  const type = bytes[2];
  const dims = bytes[3];
  // The first two bytes are always zero; anything else is not an IDX file (or a gzip: 0x1f8b...).
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (this is a gzip file: gunzip it first)' : '';
    fail(`magic ${hex(magic, 8)} is not an IDX header: the first two bytes must be zero${gz}`);
  }
  if (type !== 0x08) {
    const name = TYPE_NAMES[type] ?? 'unknown type';
    fail(`magic ${hex(magic, 8)}: element type ${hex(type, 2)} (${name}) is not supported; expected 0x08 (unsigned byte)`);
  }
  if (dims === 0) fail(`magic ${hex(magic, 8)}: zero dimensions`);
  if (expect.dims !== undefined && dims !== expect.dims) {
    fail(`magic ${hex(magic, 8)} says ${dims} dimension(s); expected ${expect.dims} (magic ${hex(0x800 + expect.dims, 8)})`);
  }

  const headerLength = 4 + 4 * dims;
  if (bytes.length < headerLength) {
    fail(`expected at least ${headerLength} bytes of header for ${dims} dimension(s), got ${bytes.length} (truncated)`);
  }
  const shape: number[] = [];
  let elements = 1;
  for (let d = 0; d < dims; d++) {
    const o = 4 + 4 * d;
    // Big-endian, as the format says; `>>> 0` keeps sizes above 2^31 positive so the length check catches them.
    const size = ((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]) >>> 0;
    shape.push(size);
    elements *= size;
  }
  if (expect.shape) {
    const ok =
      expect.shape.length === dims && expect.shape.every((want, d) => want === null || want === shape[d]);
    if (!ok) {
      const want = expect.shape.map((s) => (s === null ? '*' : String(s))).join(',');
      fail(`shape [${shape.join(',')}] from the header; expected [${want}]`);
    }
  }
  const expected = headerLength + elements;
  if (bytes.length !== expected) {
    const how = bytes.length < expected ? 'truncated' : 'trailing bytes after the data';
    fail(`expected ${expected} bytes (${headerLength} header + ${elements} for shape [${shape.join(',')}]), got ${bytes.length} (${how})`);
  }
  return { shape, data: bytes.subarray(headerLength, expected) };
}

/** The IDX bytes of `data` with the given shape (unsigned bytes). */
export function encodeIdx(data: Uint8Array, shape: readonly number[]): Uint8Array {
  const elements = shape.reduce((a, b) => a * b, 1);
  if (data.length !== elements || shape.length === 0 || shape.length > 255) {
    throw new FormatError(`encodeIdx: shape [${shape.join(',')}] holds ${elements} bytes, got ${data.length}`);
  }
  const headerLength = 4 + 4 * shape.length;
  const out = new Uint8Array(headerLength + elements);
  out[2] = 0x08;
  out[3] = shape.length;
  for (let d = 0; d < shape.length; d++) {
    const o = 4 + 4 * d;
    out[o] = (shape[d] >>> 24) & 0xff;
    out[o + 1] = (shape[d] >>> 16) & 0xff;
    out[o + 2] = (shape[d] >>> 8) & 0xff;
    out[o + 3] = shape[d] & 0xff;
  }
  out.set(data, headerLength);
  return out;
}

/**
 * Writes an IDX file atomically: to a temporary file in the same folder, fsync, then rename, so a reader
 * (or a crash) never sees half a file. Node only.
 */
export function writeIdx(path: string, data: Uint8Array, shape: readonly number[]): void {
  writeFileAtomicFor(path, encodeIdx(data, shape), 'writeIdx');
}

