/**
 * The safetensors file format (https://github.com/huggingface/safetensors), float32 only:
 *
 *   [8 bytes]  N, the header's length, an unsigned 64-bit little-endian integer
 *   [N bytes]  a JSON object: { "<name>": { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] },
 *                               "__metadata__": { "<key>": "<string value>" } }
 *   [rest]     the tensors' bytes, little-endian, each at [begin, end) counted from the end of the header
 *
 * The reader trusts nothing: every size and offset is checked against the file's real length before a
 * byte is read, so a truncated or corrupt file is a FormatError naming the file, never garbage or a
 * huge allocation. Writes are atomic (temporary file in the same folder, fsync, rename), so a crash or
 * Ctrl-C mid-write leaves the previous checkpoint intact; a write that fails (a full disk) is a
 * WriteError naming the file, and the previous file is still there.
 *
 * The encoder and the decoder work on bytes alone (TextEncoder, TextDecoder, DataView: no Buffer), so
 * they run in a page too; what touches files asks for node:fs when it runs (node.ts) and is a
 * NodeOnlyError in a page.
 */
import { FormatError, fmtShape } from '../engine/errors.js';
import { readFileFor as dataReadFileFor, writeFileAtomicFor as dataWriteFileAtomicFor } from '../data/files.js';
import { FILES_IN_A_PAGE } from './node.js';

/** One tensor as stored: row-major float32 values and their shape. */
export interface StoredTensor {
  /** Its dimensions, outermost first (`[out, in]` for a Dense weight); `[]` for a scalar. */
  shape: number[];
  /** Its values, row-major: as many as the product of `shape`. */
  data: Float32Array;
}

/** A safetensors file's tensors and metadata, as `readSafetensors` returns them. */
export interface SafetensorsContents {
  /** Every tensor of the file by name (`0.weight`, ...), each with its own copy of the values. */
  tensors: Map<string, StoredTensor>;
  /** `__metadata__`: strings only, by the format's rule (tapegrad JSON-encodes structured values). */
  metadata: Record<string, string>;
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

/** Serializes tensors and metadata into one safetensors byte buffer. Names are written in sorted order. */
export function encodeSafetensors(
  tensors: Map<string, StoredTensor> | Record<string, StoredTensor>,
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

/** Parses a safetensors buffer; `file` names the source in error messages. */
export function decodeSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsContents {
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
  const tensors = new Map<string, StoredTensor>();
  const spans: Array<[number, number, string]> = [];

  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__['${k}'] is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail(`entry '${name}' is not an object`);
    if (info.dtype !== 'F32') fail(`tensor '${name}' has dtype ${JSON.stringify(info.dtype)}; tapegrad reads F32 only`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    const n = elementCount(shape as number[]);
    if (end - begin !== n * 4) {
      fail(`tensor '${name}' spans ${end - begin} bytes but shape ${fmtShape(shape as number[])} needs ${n * 4}`);
    }
    if (end > dataLen) fail(`tensor '${name}' ends at byte ${end} but the data section has ${dataLen} bytes (truncated)`);
    spans.push([begin, end, name]);
    // Copy: the tensor must own 4-byte-aligned memory, whatever the file's alignment.
    const copy = new Uint8Array(n * 4);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { shape: [...(shape as number[])], data: new Float32Array(copy.buffer) });
  }

  // The format forbids holes and overlaps: the tensors must tile the data section exactly.
  spans.sort((a, b) => a[0] - b[0]);
  let expected = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== expected) fail(`tensor '${name}' starts at byte ${begin}, expected ${expected} (hole or overlap)`);
    expected = end;
  }
  if (expected !== dataLen) fail(`data section has ${dataLen} bytes but the tensors cover ${expected}`);
  return { tensors, metadata };
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

/** Writes `tensors` (float32) and `metadata` as a safetensors file, atomically (temporary file, fsync, rename). Node only. */
export function writeSafetensors(
  path: string,
  tensors: Map<string, StoredTensor> | Record<string, StoredTensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomicFor(path, encodeSafetensors(tensors, metadata), 'writeSafetensors');
}

/** Reads a safetensors file. A missing file throws Node's ENOENT error; a malformed one a FormatError. Node only. */
export function readSafetensors(path: string): SafetensorsContents {
  return decodeSafetensors(readFileFor(path, 'readSafetensors'), path);
}
