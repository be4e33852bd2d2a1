/**
 * The safetensors file format (https://github.com/huggingface/safetensors):
 *
 *   [8 bytes]  N, the header's length, an unsigned 64-bit little-endian integer
 *   [N bytes]  a JSON object: { "<name>": { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] },
 *                               "__metadata__": { "<key>": "<string value>" } }
 *   [rest]     the tensors' bytes, little-endian, each at [begin, end) counted from the end of the header
 *
 * tapegrad writes float32 (F32). It reads what PyTorch's `save_file(model.state_dict(), path)` writes for
 * the layers it has, converting every value to float32 as it reads (`DTYPES` below says how for each):
 * the float dtypes F32, F16, BF16 and F64, and the integer dtypes of buffers such as BatchNorm's
 * `num_batches_tracked` (I64). Any producer's `__metadata__` is read as strings (PyTorch writes
 * `{"format": "pt"}`); what tapegrad's own keys mean is save.ts's business.
 *
 * The reader trusts nothing: the header is checked whole (every dtype, shape and offset against the file's
 * real length, and the tensors tiling the data section exactly) before one byte of tensor data is copied,
 * so a truncated, corrupt or crafted file is a FormatError naming the file, never garbage, and nothing is
 * allocated for a file that will be refused; a tensor larger than the file cannot be asked for. Writes are
 * atomic (temporary file in the same folder, fsync, rename), so a crash or Ctrl-C mid-write leaves the
 * previous checkpoint intact; a write that fails (a full disk) is a WriteError naming the file, and the
 * previous file is still there.
 *
 * The encoder and the decoder work on bytes alone (TextEncoder, TextDecoder, DataView: no Buffer), so
 * they run in a page too; what touches files asks for node:fs when it runs (node.ts) and is a
 * NodeOnlyError in a page.
 */
import { FormatError, fmtShape } from '../engine/errors.js';
import { readFileFor as dataReadFileFor, writeFileAtomicFor as dataWriteFileAtomicFor } from '../data/files.js';
import type { TensorLike } from '../layers/index.js';
import { FILES_IN_A_PAGE } from './node.js';

/** One tensor as stored: row-major float32 values and their shape. */
export interface StoredTensor {
  /** Its dimensions, outermost first (`[out, in]` for a Dense weight); `[]` for a scalar. */
  shape: number[];
  /** Its values, row-major: as many as the product of `shape`. */
  data: Float32Array;
  /** The dtype the file stored it in ('F32', 'F16', 'I64'...), before the conversion to float32; absent in what is to be written (always F32). */
  dtype?: string;
}

/**
 * A safetensors file's tensors and metadata, as `readSafetensors` and `decodeSafetensors` return them.
 * It is itself the Map of the tensors by name, so a model takes it as it is:
 * `model.loadStateDict(readSafetensors('from-pytorch.safetensors'))`.
 */
export class SafetensorsContents extends Map<string, StoredTensor> {
  /** `__metadata__`: strings only, by the format's rule (tapegrad JSON-encodes structured values; PyTorch writes `{ format: 'pt' }`). */
  readonly metadata: Record<string, string>;

  constructor(tensors: Iterable<[string, StoredTensor]> = [], metadata: Record<string, string> = {}) {
    super(tensors);
    this.metadata = metadata;
  }

  /** Every tensor of the file by name (`0.weight`, ...), each with its own copy of the values: this Map itself. */
  get tensors(): Map<string, StoredTensor> {
    return this;
  }
}

/** Headers larger than this are refused before allocating: a corrupt length field must not eat memory. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

// Float32Array uses the machine's byte order; the format is little-endian. Every machine Node runs
// on today is little-endian, but a big-endian host would silently read garbage, so check once.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** How one dtype's values become float32: its size in bytes and the loop that converts `n` of them. */
interface Dtype {
  bytes: number;
  /** Writes the `out.length` values that start at byte `at` of `view` into `out`, as float32. */
  read(out: Float32Array, view: DataView, at: number): void;
}

/** An IEEE half (1 sign, 5 exponent, 10 fraction bits) as a number: every half is exactly a float32. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and the subnormals: fraction · 2^-14 / 2^10
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** An integer dtype of `bytes` bytes read by `get`: rounded to the nearest float32 (exact up to 2^24 in magnitude). */
function integer(bytes: number, get: (view: DataView, at: number) => number | bigint): Dtype {
  return {
    bytes,
    read(out, view, at) {
      for (let i = 0; i < out.length; i++) out[i] = Number(get(view, at + i * bytes));
    },
  };
}

/**
 * The dtypes tapegrad reads, and the conversion of each to float32 (a Float32Array rounds a number to the
 * nearest float32, ties to even, as `Math.fround` does):
 *   F32           as stored, bit for bit (NaN payloads too)
 *   F16, BF16     exactly: every half and every bfloat16 is a float32 (a bfloat16 is a float32's upper 16 bits)
 *   F64           rounded to the nearest float32; beyond ±3.4e38 that is ±Infinity (which `load` refuses as
 *                 weights), below 1.4e-45 in magnitude ±0
 *   I8 I16 I32 I64, U8 U16 U32 U64
 *                 the integer, rounded to the nearest float32: exact up to 2^24 = 16,777,216 in magnitude
 *                 (I64 and U64 pass through float64 first, which rounds again only beyond 2^53)
 *   BOOL          0 or 1
 * Anything else (the F8 formats, complex numbers) is a FormatError naming the tensor and its dtype.
 */
const DTYPES: Record<string, Dtype> = {
  F32: {
    bytes: 4,
    read(out, view, at) {
      if (HOST_IS_LITTLE_ENDIAN) {
        // Copy bytes: the tensor must own 4-byte-aligned memory, whatever the file's alignment.
        new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(new Uint8Array(view.buffer, view.byteOffset + at, out.byteLength));
      } else {
        for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(at + i * 4, true);
      }
    },
  },
  F16: {
    bytes: 2,
    read(out, view, at) {
      for (let i = 0; i < out.length; i++) out[i] = halfToNumber(view.getUint16(at + i * 2, true));
    },
  },
  BF16: {
    bytes: 2,
    read(out, view, at) {
      // Through the float32's bits, so NaN payloads and signed zeros come through as they are.
      const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
      for (let i = 0; i < out.length; i++) bits[i] = view.getUint16(at + i * 2, true) << 16;
    },
  },
  F64: {
    bytes: 8,
    read(out, view, at) {
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(at + i * 8, true);
    },
  },
  I8: integer(1, (v, at) => v.getInt8(at)),
  U8: integer(1, (v, at) => v.getUint8(at)),
  I16: integer(2, (v, at) => v.getInt16(at, true)),
  U16: integer(2, (v, at) => v.getUint16(at, true)),
  I32: integer(4, (v, at) => v.getInt32(at, true)),
  U32: integer(4, (v, at) => v.getUint32(at, true)),
  I64: integer(8, (v, at) => v.getBigInt64(at, true)),
  U64: integer(8, (v, at) => v.getBigUint64(at, true)),
  BOOL: integer(1, (v, at) => (v.getUint8(at) === 0 ? 0 : 1)),
};

/** The dtypes `decodeSafetensors` reads (each converted to float32 as `DTYPES` says). */
export const SAFETENSORS_DTYPES: readonly string[] = Object.keys(DTYPES);

/** Serializes tensors and metadata into one safetensors byte buffer (float32, F32). Names are written in sorted order. */
export function encodeSafetensors(
  tensors: Map<string, TensorLike> | Record<string, TensorLike>,
  metadata: Record<string, string> = {},
): Uint8Array {
  if (!HOST_IS_LITTLE_ENDIAN) throw new FormatError('safetensors: big-endian hosts are not supported');
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  const header: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new FormatError(`safetensors: __metadata__ values must be strings, got ${typeof value} for '${key}'`);
    }
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;

  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new FormatError(`safetensors: '__metadata__' cannot be a tensor name`);
    const n = elementCount(t.shape);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || n !== t.data.length) {
      throw new FormatError(
        `safetensors: tensor '${name}' has shape ${fmtShape(t.shape)} (${n} values) but ${t.data.length} values`,
      );
    }
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }

  // The format allows trailing spaces in the header; padding to 8 bytes keeps the data aligned.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** A tensor as the header describes it, once checked against the file: its dtype, shape and bytes. */
export interface SafetensorsEntry {
  /** Its name in the file (`0.weight`). */
  name: string;
  /** The dtype the file stores it in ('F32', 'F16', 'I64'...). */
  dtype: string;
  /** Its dimensions. */
  shape: number[];
  /** Where its bytes start, counted from the end of the header. */
  begin: number;
}

/**
 * A safetensors buffer's header, checked whole against the file (every dtype, shape and offset, and the
 * tensors tiling the data section), with nothing of the values read yet: what a reader checks before it
 * allocates anything (save.ts checks a checkpoint's metadata and architecture against it). `values` converts
 * one tensor to float32, into memory of its own.
 */
export interface SafetensorsHeader {
  /** `__metadata__`, as in `SafetensorsContents`. */
  metadata: Record<string, string>;
  /** The tensors, in the header's order. */
  entries: SafetensorsEntry[];
  /** One tensor's values, converted to float32 as `DTYPES` says. */
  values(entry: SafetensorsEntry): Float32Array;
}

/**
 * Parses a safetensors buffer (any producer's: see the file's comment for the dtypes and their conversion
 * to float32); `file` names the source in error messages. The header is checked whole before any tensor
 * is copied.
 */
export function decodeSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsContents {
  const header = decodeSafetensorsHeader(bytes, file);
  const tensors = new SafetensorsContents([], header.metadata);
  for (const entry of header.entries) tensors.set(entry.name, { shape: entry.shape, data: header.values(entry), dtype: entry.dtype });
  return tensors;
}

/** The header of a safetensors buffer, checked against the file, without reading a value (see `SafetensorsHeader`). */
export function decodeSafetensorsHeader(bytes: Uint8Array, file = '<buffer>'): SafetensorsHeader {
  const fail: (why: string) => never = (why) => {
    throw new FormatError(`${file}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = view.getBigUint64(0, true);
  if (headerLen64 > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    fail(`header length ${headerLen64} exceeds the ${bytes.length - 8} bytes that follow (truncated or corrupt)`);
  }
  const headerLen = Number(headerLen64);

  let header: unknown;
  try {
    // ignoreBOM keeps a byte-order mark, so such a header fails as JSON (the format starts it with '{').
    header = JSON.parse(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Array<SafetensorsEntry & { end: number }> = [];

  // First the whole header, against the file: nothing is allocated for a file that will be refused.
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__['${k}'] is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`entry '${name}' is not an object`);
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof info.dtype === 'string' && Object.hasOwn(DTYPES, info.dtype) ? DTYPES[info.dtype] : undefined;
    if (dtype === undefined) {
      fail(`tensor '${name}' has dtype ${JSON.stringify(info.dtype)}; tapegrad reads ${SAFETENSORS_DTYPES.join(', ')}`);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    const n = elementCount(shape as number[]);
    if (end - begin !== n * dtype.bytes) {
      fail(`tensor '${name}' spans ${end - begin} bytes but shape ${fmtShape(shape as number[])} of ${info.dtype} needs ${n * dtype.bytes}`);
    }
    if (end > dataLen) fail(`tensor '${name}' ends at byte ${end} but the data section has ${dataLen} bytes (truncated)`);
    entries.push({ name, dtype: info.dtype as string, shape: [...(shape as number[])], begin, end });
  }

  // The format forbids holes and overlaps: the tensors must tile the data section exactly.
  const spans = [...entries].sort((a, b) => a.begin - b.begin);
  let expected = 0;
  for (const { begin, end, name } of spans) {
    if (begin !== expected) fail(`tensor '${name}' starts at byte ${begin}, expected ${expected} (hole or overlap)`);
    expected = end;
  }
  if (expected !== dataLen) fail(`data section has ${dataLen} bytes but the tensors cover ${expected}`);

  return {
    metadata,
    entries: entries.map(({ name, dtype, shape, begin }) => ({ name, dtype, shape, begin })),
    values(entry) {
      const data = new Float32Array(elementCount(entry.shape));
      DTYPES[entry.dtype].read(data, view, dataStart + entry.begin);
      return data;
    },
  };
}

/**
 * data/files.ts's writeFileAtomic for `op`, the public function that was called (`save`, `CsvLogger`...);
 * in a page its NodeOnlyError says what a page does instead (the checkpoint encoders).
 */
export function writeFileAtomicFor(path: string, bytes: Uint8Array | string, op: string): void {
  dataWriteFileAtomicFor(path, bytes, op, FILES_IN_A_PAGE);
}

/** A file's bytes, for `op`; a missing file is Node's ENOENT error, a folder a ReadError saying what was expected. */
export function readFileFor(path: string, op: string): Uint8Array {
  return dataReadFileFor(path, op, FILES_IN_A_PAGE, 'a safetensors file (a checkpoint, e.g. runs/NAME/last.safetensors)');
}

/** Writes `tensors` (float32: a state dict's Tensors, or what `readSafetensors` gave) and `metadata` as a safetensors file, atomically (temporary file, fsync, rename). Node only. */
export function writeSafetensors(
  path: string,
  tensors: Map<string, TensorLike> | Record<string, TensorLike>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomicFor(path, encodeSafetensors(tensors, metadata), 'writeSafetensors');
}

/**
 * Reads a safetensors file, any producer's (PyTorch's `save_file(model.state_dict(), path)` too), its values
 * converted to float32 (see `decodeSafetensors`). The result is the Map of the tensors by name, with the
 * file's `metadata`, so a model whose architecture you built fills itself with it. A missing file throws
 * Node's ENOENT error; a malformed one a FormatError. Node only.
 *
 * @example
 * ```ts
 * import { mkdtempSync, rmSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { Sequential, Dense, ReLU, BatchNorm, readSafetensors, writeSafetensors } from 'tapegrad';
 *
 * const dir = mkdtempSync(join(tmpdir(), 'tapegrad-'));
 * const path = join(dir, 'weights.safetensors');
 * const trained = new Sequential([new Dense(3, 4), new BatchNorm(4), new ReLU(), new Dense(4, 2)]);
 * writeSafetensors(path, trained.stateDict());          // as PyTorch's save_file(model.state_dict(), path) would
 * const model = new Sequential([new Dense(3, 4), new BatchNorm(4), new ReLU(), new Dense(4, 2)]);
 * model.loadStateDict(readSafetensors(path));            // strict: every name and shape must match
 * const x = [[1, 2, 3]];
 * console.log(JSON.stringify(model.predict(x).toArray()) === JSON.stringify(trained.predict(x).toArray())); // => true
 * rmSync(dir, { recursive: true });
 * ```
 */
export function readSafetensors(path: string): SafetensorsContents {
  return decodeSafetensors(readFileFor(path, 'readSafetensors'), path);
}
