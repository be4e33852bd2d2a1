import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../engine/errors.js';
import { WriteError, writeFileAtomic } from '../../data/files.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors } from '../../train/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-st-'));

function sample() {
  return {
    '0.weight': { shape: [3, 2], data: new Float32Array([1, -2, 3.5, 1e-8, -0, Infinity]) },
    '0.bias': { shape: [3], data: new Float32Array([0.25, 0.5, 0.75]) },
    scalar: { shape: [], data: new Float32Array([42]) },
    empty: { shape: [0, 4], data: new Float32Array(0) },
  };
}

describe('safetensors', () => {
  it('round-trips tensors and metadata through a file', () => {
    const path = join(dir, 'a.safetensors');
    writeSafetensors(path, sample(), { epoch: '3', architecture: '{"layers":[]}' });
    const back = readSafetensors(path);
    expect(back.metadata).toEqual({ epoch: '3', architecture: '{"layers":[]}' });
    for (const [name, t] of Object.entries(sample())) {
      const got = back.tensors.get(name)!;
      expect(got.shape).toEqual(t.shape);
      expect(Array.from(got.data)).toEqual(Array.from(t.data));
    }
    // No temporary file is left beside the target.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the layout of the specification', () => {
    const bytes = encodeSafetensors({ b: { shape: [1], data: new Float32Array([2]) }, a: { shape: [2], data: new Float32Array([1, 3]) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
    expect(header).toEqual({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    });
    // Little-endian float32 1.0 is 00 00 80 3f.
    expect(Array.from(bytes.subarray(8 + n, 8 + n + 4))).toEqual([0, 0, 0x80, 0x3f]);
  });

  it('rejects truncated and corrupt files with a FormatError naming the file', () => {
    const good = encodeSafetensors(sample(), { k: 'v' });
    const cases: Array<[string, Uint8Array]> = [
      ['short', good.subarray(0, 5)],
      ['truncated-data', good.subarray(0, good.length - 3)],
      ['truncated-header', good.subarray(0, 20)],
      ['garbage', new Uint8Array(64).fill(0xff)],
    ];
    const badJson = good.slice();
    badJson[8] = 0x5b; // '[' instead of '{'
    badJson[9] = 0x5b;
    cases.push(['bad-json', badJson]);
    const headerLen = Number(new DataView(good.buffer).getBigUint64(0, true));
    const hdr = JSON.parse(Buffer.from(good.subarray(8, 8 + headerLen)).toString());
    hdr['0.bias'].dtype = 'C64'; // a dtype tapegrad does not read (complex64)
    const wrongDtype = Buffer.from(JSON.stringify(hdr).padEnd(headerLen, ' '));
    const f8 = good.slice();
    f8.set(wrongDtype, 8);
    cases.push(['dtype', f8]);
    for (const [name, bytes] of cases) {
      const path = join(dir, `${name}.safetensors`);
      writeFileSync(path, bytes);
      expect(() => readSafetensors(path), name).toThrow(FormatError);
      expect(() => readSafetensors(path), name).toThrow(path);
    }
    expect(() => decodeSafetensors(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => readSafetensors(join(dir, 'dtype.safetensors'))).toThrow(
      /tensor '0\.bias' has dtype "C64"; tapegrad reads F32, F16, BF16, F64, I8, U8, I16, U16, I32, U32, I64, U64, BOOL$/,
    );
    // A dtype whose size does not fit the span: 3 F64 values need 24 bytes, the file gives 12.
    hdr['0.bias'].dtype = 'F64';
    const f64 = good.slice();
    f64.set(Buffer.from(JSON.stringify(hdr).padEnd(headerLen, ' ')), 8);
    expect(() => decodeSafetensors(f64, 'f64.safetensors')).toThrow("f64.safetensors: not a valid safetensors file: tensor '0.bias' spans 12 bytes but shape [3] of F64 needs 24");
  });

  it('rejects a header whose offsets leave a hole', () => {
    const header = JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } });
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(Buffer.from(header), 8);
    expect(() => decodeSafetensors(bytes, 'hole.safetensors')).toThrow(/hole\.safetensors.*hole or overlap/);
  });

  it('is itself the Map of its tensors, so loadStateDict takes it as it is', () => {
    const back = decodeSafetensors(encodeSafetensors(sample(), { note: 'x' }));
    expect(back).toBeInstanceOf(Map);
    expect(back.tensors).toBe(back);
    expect([...back.keys()].sort()).toEqual(['0.bias', '0.weight', 'empty', 'scalar']);
    expect(back.get('0.bias')!.dtype).toBe('F32');
    expect(back.metadata).toEqual({ note: 'x' });
  });

  it('replaces an existing file whole', () => {
    const path = join(dir, 'replace.safetensors');
    writeSafetensors(path, sample());
    writeSafetensors(path, { x: { shape: [1], data: new Float32Array([7]) } });
    expect([...readSafetensors(path).tensors.keys()]).toEqual(['x']);
    expect(readFileSync(path).length).toBeGreaterThan(8);
  });
});

describe('atomic writes', () => {
  it("remove the temporary files a killed write left in the folder, and only those", async () => {
    const folder = mkdtempSync(join(tmpdir(), 'tapegrad-stale-'));
    // A process that has exited (as a `kill -9`ed one has), and one that is still running.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      const stale = [`.last.safetensors.tapegrad-${dead}-1700000000000.tmp`, `.best.safetensors.tapegrad-${dead}-1700000000001.tmp`, `.metrics.csv.tapegrad-${process.pid}-1700000000002.tmp`];
      const live = `.last.safetensors.tapegrad-${alive.pid}-1700000000003.tmp`;
      // Not ours, though they look alike (an older tapegrad's names, another program's): left alone.
      const others = [`.last.safetensors.${dead}.1700000000004.tmp`, 'notes.tmp', '.hidden'];
      for (const name of [...stale, live, ...others]) writeFileSync(join(folder, name), Buffer.alloc(1000));
      // A writer whose id is running again, in another process, an hour later: stale all the same.
      const reused = `.best.safetensors.tapegrad-${alive.pid}-1700000000005.tmp`;
      writeFileSync(join(folder, reused), Buffer.alloc(1000));
      const anHourAgo = (Date.now() - 61 * 60 * 1000) / 1000;
      utimesSync(join(folder, reused), anHourAgo, anHourAgo);
      writeFileAtomic(join(folder, 'metrics.csv'), 'epoch\n0\n');
      expect(readdirSync(folder).sort()).toEqual([live, ...others, 'metrics.csv'].sort());
    } finally {
      alive.kill();
    }
  });

  it('a failed write is a WriteError naming the file, leaves no temporary file, and the previous file intact', () => {
    const folder = mkdtempSync(join(tmpdir(), 'tapegrad-fail-'));
    const target = join(folder, 'last.safetensors');
    writeFileSync(target, 'previous');
    // A folder in the way of the rename: the write itself succeeds, the rename fails (EISDIR).
    const blocked = join(folder, 'best.safetensors');
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'x'), '');
    let error: unknown;
    try {
      writeFileAtomic(blocked, 'new');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WriteError);
    expect((error as WriteError).message).toMatch(new RegExp(`^cannot write ${blocked}: .* \\((EISDIR|ENOTEMPTY|EEXIST)\\)$`));
    expect(readdirSync(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readFileSync(target, 'utf8')).toBe('previous');
  });
});
