/**
 * PyTorch → tapegrad. PyTorch (Debian's python3-torch 1.13) builds and trains a model of the layers
 * tapegrad has, and writes `model.state_dict()` as safetensors the way `safetensors.torch.save_file`
 * does: `{"format": "pt"}` metadata, each tensor in its own dtype, BatchNorm's `num_batches_tracked` as
 * I64. Debian has no python3-safetensors, so the script writes the format by hand (struct + json: an
 * 8-byte little-endian header length, the JSON header, the raw little-endian bytes); `save_file` writes
 * the same bytes. tapegrad builds the same model, fills it with `model.loadStateDict(readSafetensors(path))`
 * and must compute what PyTorch computed, for files in F32, F16, BF16 and F64.
 *
 * The dtype conversions are checked exhaustively against an independent implementation: every one of the
 * 65,536 halves and bfloat16s, and chosen float64 and integer values, converted to float32 by numpy and
 * torch in the same Python run, must be what tapegrad reads, bit for bit.
 * Skipped, with the reason, where no Python with torch is found.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, Tensor } from '../../engine/index.js';
import { BatchNorm, Dense, LayerNorm, ReLU, Sequential, Tanh } from '../../layers/index.js';
import { load, readSafetensors } from '../../train/index.js';
import { python, runPython } from './pytorch-support.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-torch-in-'));

const DTYPE_SCRIPT = `
import sys
out = json.load(sys.stdin)['path']
u16 = np.arange(65536, dtype=np.uint16)
halves = u16.view(np.float16)
bf = torch.from_numpy(u16.view(np.int16).copy()).view(torch.bfloat16)
f64 = np.array([0.1, -1/3, np.pi, 1e300, -1e300, 3.4028235677973366e38, 3.4028235677973362e38, 1e-46, -7e-46, 1e-40,
                -0.0, 0.0, 1 + 2**-24, 1 + 3 * 2**-24, np.inf, -np.inf, 65504.0, 1e-320], dtype=np.float64)
ints = [0, 1, -1, 7, 2**24, 2**24 + 1, 2**24 + 3, -(2**31), 2**31 - 1, 2**53, -(2**62), 2**63 - 1]
i64 = np.array(ints, dtype=np.int64)
tensors = {
    'f16': ('F16', halves.astype('<f2').tobytes(), [256, 256]),
    'f16.expected': torch.from_numpy(halves.astype(np.float32)).reshape(256, 256),
    'bf16': torch.reshape(bf, (65536,)),
    'bf16.expected': bf.float(),
    'f64': torch.from_numpy(f64),
    'f64.expected': torch.from_numpy(f64.astype(np.float32)),
    'i64': torch.from_numpy(i64),
    'i64.expected': torch.from_numpy(i64.astype(np.float32)),
    'i32': torch.tensor([0, -5, 2**24 + 1, -(2**31), 2**31 - 1], dtype=torch.int32),
    'i32.expected': torch.tensor([0, -5, 2**24 + 1, -(2**31), 2**31 - 1], dtype=torch.int32).float(),
    'i16': torch.tensor([-32768, 32767, -1], dtype=torch.int16),
    'i16.expected': torch.tensor([-32768, 32767, -1], dtype=torch.float32),
    'i8': torch.tensor([-128, 127, 0], dtype=torch.int8),
    'i8.expected': torch.tensor([-128, 127, 0], dtype=torch.float32),
    'u8': torch.tensor([0, 255, 128], dtype=torch.uint8),
    'u8.expected': torch.tensor([0, 255, 128], dtype=torch.float32),
    'u16': ('U16', np.array([0, 65535, 40000], dtype='<u2').tobytes(), [3]),
    'u16.expected': torch.tensor([0, 65535, 40000], dtype=torch.float32),
    'u32': ('U32', np.array([0, 2**32 - 1, 2**24 + 1], dtype='<u4').tobytes(), [3]),
    'u32.expected': torch.from_numpy(np.array([0, 2**32 - 1, 2**24 + 1], dtype=np.uint32).astype(np.float32)),
    'u64': ('U64', np.array([0, 2**64 - 1, 2**40 + 1], dtype='<u8').tobytes(), [3]),
    'u64.expected': torch.from_numpy(np.array([0, 2**64 - 1, 2**40 + 1], dtype=np.uint64).astype(np.float32)),
    'bool': torch.tensor([True, False, True]),
    'bool.expected': torch.tensor([1.0, 0.0, 1.0]),
}
save_file(tensors, out, {'format': 'pt'})
print(json.dumps({'ok': True}))
`;

const MODEL_SCRIPT = `
import sys
request = json.load(sys.stdin)
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(5, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
    torch.nn.Linear(16, 8), torch.nn.LayerNorm(8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
# A few steps of training, so the BatchNorm statistics and num_batches_tracked are not their initial values
# and LayerNorm's affine parameters have moved.
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for step in range(7):
    x = torch.randn(32, 5) * 2 + 0.5
    loss = torch.nn.functional.cross_entropy(model(x), (x[:, 0] > 0.5).long())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
model.eval()
x = torch.tensor(request['x'], dtype=torch.float32)
result = {}
for dtype_name, dtype in (('F32', torch.float32), ('F16', torch.float16), ('BF16', torch.bfloat16), ('F64', torch.float64)):
    state = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    path = request['dir'] + '/torch-' + dtype_name + '.safetensors'
    save_file(state, path, {'format': 'pt'})
    # What a float32 model with those stored weights computes: the weights rounded to the dtype, then float32.
    twin = torch.nn.Sequential(
        torch.nn.Linear(5, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
        torch.nn.Linear(16, 8), torch.nn.LayerNorm(8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    twin.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    twin.eval()
    with torch.no_grad():
        result[dtype_name] = {'path': path, 'logits': twin(x).tolist(), 'dtypes': sorted({str(v.dtype) for v in state.values()})}
result['num_batches_tracked'] = int(model[1].num_batches_tracked)
print(json.dumps(result))
`;

describe.skipIf(python === undefined)(`PyTorch's safetensors in tapegrad (${python ?? 'no Python with torch found: skipped'})`, () => {
  it('reads every dtype as numpy and torch convert it to float32: all 65,536 halves and bfloat16s, float64 and integers, bit for bit', () => {
    const path = join(dir, 'dtypes.safetensors');
    runPython(DTYPE_SCRIPT, { path });
    const contents = readSafetensors(path);
    expect(contents.metadata).toEqual({ format: 'pt' });
    const names = [...contents.keys()].filter((k) => !k.endsWith('.expected'));
    expect(names.sort()).toEqual(['bf16', 'bool', 'f16', 'f64', 'i16', 'i32', 'i64', 'i8', 'u16', 'u32', 'u64', 'u8']);
    for (const name of names) {
      const got = contents.get(name)!;
      const want = contents.get(`${name}.expected`)!;
      expect(got.shape, name).toEqual(want.shape);
      expect(got.dtype, name).toBe(name === 'bool' ? 'BOOL' : name.toUpperCase());
      const differ: string[] = [];
      for (let i = 0; i < want.data.length; i++) if (!Object.is(got.data[i], want.data[i])) differ.push(`[${i}] ${got.data[i]} != ${want.data[i]}`);
      expect(differ.slice(0, 5), `${name}: ${differ.length} values differ`).toEqual([]);
    }
    // Spot checks of the rules the doc comment states.
    const f64 = contents.get('f64')!.data;
    expect([f64[3], f64[4], f64[7], f64[8], f64[10]]).toEqual([Infinity, -Infinity, 0, -0, -0]); // beyond float32: ±Infinity; below: ±0
    expect(contents.get('i64')!.data[5]).toBe(2 ** 24); // 2^24 + 1 rounds to even
  });

  it('a model PyTorch trained and saved in F32, F16, BF16 and F64 loads into the same tapegrad model, which computes what PyTorch computes', () => {
    const x = Array.from({ length: 9 }, (_, i) => Array.from({ length: 5 }, (_, j) => Math.sin(i * 5 + j) * 2 + 0.5));
    const result = runPython(MODEL_SCRIPT, { dir, x }) as Record<string, { path: string; logits: number[][]; dtypes: string[] }> & { num_batches_tracked: number };
    for (const dtype of ['F32', 'F16', 'BF16', 'F64']) {
      const { path, logits, dtypes } = result[dtype];
      expect(dtypes).toContain('torch.int64'); // num_batches_tracked stays an integer
      const model = new Sequential([new Dense(5, 16), new BatchNorm(16), new ReLU(), new Dense(16, 8), new LayerNorm(8), new Tanh(), new Dense(8, 3)]);
      model.loadStateDict(readSafetensors(path)); // strict: every name and shape of PyTorch's state_dict
      expect((model.layers[1] as BatchNorm).numBatchesTracked.item()).toBe(result.num_batches_tracked);
      const ours = model.predict(Tensor.from(x)).toArray() as number[][];
      let worst = 0;
      for (let i = 0; i < x.length; i++) for (let j = 0; j < 3; j++) worst = Math.max(worst, Math.abs(ours[i][j] - logits[i][j]));
      expect(worst, `${dtype}: largest difference ${worst}`).toBeLessThan(1e-5);

      // load() reads the same file: the weights, and no model (PyTorch's file has no architecture).
      const checkpoint = load(path);
      expect(checkpoint.model).toBeNull();
      expect(checkpoint.weights.get('1.num_batches_tracked')!.item()).toBe(result.num_batches_tracked);
    }
  });

  it('a file of another layout is refused with the names and shapes that differ', () => {
    const model = new Sequential([new Dense(5, 16), new ReLU(), new Dense(16, 3)]);
    expect(() => model.loadStateDict(readSafetensors(join(dir, 'torch-F32.safetensors')))).toThrow(FormatError);
    expect(() => model.loadStateDict(readSafetensors(join(dir, 'torch-F32.safetensors')))).toThrow(/missing key\(s\): '2\.weight' \[3,16\].*unexpected key\(s\): .*'1\.running_mean' \[16\]/);
  });
});
