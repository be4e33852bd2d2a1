/**
 * What the PyTorch tests share: the Python with torch (Debian's /usr/bin/python3; skipped where there is
 * none), and `save_file`, the safetensors writer of the `safetensors` package written by hand (Debian has
 * no python3-safetensors): struct + json, the format's three parts, the same bytes `save_file` writes.
 */
import { spawnSync } from 'node:child_process';

/** A Python that imports torch and numpy, or undefined (the tests that need it are skipped, saying why). */
export const python = [process.env.TAPEGRAD_PYTHON, '/usr/bin/python3', 'python3'].find(
  (p) => p !== undefined && spawnSync(p, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0,
);

/** PyTorch fast on one core (PEERS.md): OpenBLAS rather than Debian's reference BLAS, one thread. */
export const TORCH_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  OPENBLAS_NUM_THREADS: '1',
  OMP_NUM_THREADS: '1',
  LD_LIBRARY_PATH: ['/usr/lib/x86_64-linux-gnu/openblas-pthread', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
};

/** What safetensors.torch.save_file writes, by hand: the format's own three parts. */
export const SAVE_FILE = `
import json, struct
import numpy as np
import torch

DTYPES = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64',
          torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}

def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: its bits are an int16's
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()

def save_file(tensors, path, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = raw_bytes(t) if isinstance(t, torch.Tensor) else t[1]
        dtype = DTYPES[t.dtype] if isinstance(t, torch.Tensor) else t[0]
        shape = list(t.shape) if isinstance(t, torch.Tensor) else t[2]
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata is not None:
        header['__metadata__'] = metadata
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
`;

/**
 * `load_file` of safetensors.torch, for the F32 files tapegrad writes: the format read as it says (an
 * 8-byte little-endian header length, the JSON header, raw little-endian float32), with the standard library.
 */
export const LOAD_FILE = `
import json, struct
import torch

def load_file(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32', info['dtype']
        begin, end = info['data_offsets']
        out[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(info['shape'])
    return out
`;

/** Runs `script` (after SAVE_FILE) with `input` as JSON on stdin; its stdout's JSON. */
export function runPython(script: string, input: unknown): unknown {
  const r = spawnSync(python!, ['-c', SAVE_FILE + script], { input: JSON.stringify(input), encoding: 'utf8', timeout: 120_000, env: TORCH_ENV });
  if (r.status !== 0) throw new Error(`python exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

