/**
 * Issue 18's checkpoint findings: a checkpoint is checked whole, against itself, before anything is built.
 *   - A 3 kB file whose architecture asks for a Dense(100000, 100000) made `tapegrad eval` take 1.65 GB
 *     before refusing it: the architecture is now checked against the tensors first, and nothing of the
 *     engine's memory is taken for a file that is refused.
 *   - The safetensors reader checks the whole header (offsets tiling the data) before it copies a tensor.
 *   - Damaged metadata is a FormatError naming the file and the field (it was `TypeError: Cannot read
 *     properties of undefined`), through `load` and through `tapegrad train --resume`, one line, exit 1.
 *   - A NaN in an optimizer buffer is named as such (it was blamed on the learning rate).
 *   - Another producer's metadata (PyTorch's {"format": "pt"}) is not "from a newer tapegrad?".
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, Rng, Tensor, memoryStats } from '../../engine/index.js';
import { BatchNorm, Dense, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { decodeCheckpoint, decodeSafetensors, encodeCheckpoint, encodeSafetensors, load, readSafetensors, writeSafetensors } from '../../train/index.js';
import { cli, expectOneLine } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-checks-'));


/** A small trained-looking checkpoint of iris's shape, with the run settings the command line saves. */
function smallCheckpoint(): Uint8Array {
  const model = new Sequential([new Dense(4, 8, { rng: new Rng(1) }), new ReLU(), new Dense(8, 3, { rng: new Rng(2) })]);
  return encodeCheckpoint({ model, epoch: 1, info: { hyperParams: { config: { dataset: 'iris', seed: 1 } } } });
}

/** The same tensors with one metadata field replaced. */
function withMetadata(bytes: Uint8Array, change: (metadata: Record<string, string>) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const copy = { ...metadata };
  change(copy);
  return encodeSafetensors(tensors, copy);
}

describe('a crafted checkpoint cannot make tapegrad allocate', () => {
  it('an architecture asking for Dense(100000, 100000) in a 3 kB file is refused before a layer is built, by load and by tapegrad eval', async () => {
    const bytes = withMetadata(smallCheckpoint(), (m) => {
      const arch = JSON.parse(m.architecture);
      arch.layers[0].in = 100_000;
      arch.layers[0].out = 100_000;
      m.architecture = JSON.stringify(arch);
    });
    expect(bytes.length).toBeLessThan(4000);
    const path = join(dir, 'crafted.safetensors');
    writeFileSync(path, bytes);

    const arena = memoryStats().arenaBytes;
    const heap = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    expect(() => load(path)).toThrow(FormatError);
    expect(() => load(path)).toThrow(
      `${path}: the architecture in __metadata__ does not match the tensors: '0.weight' is [8,4] in the file, [100000,100000] in the architecture, '0.bias' is [8] in the file, [100000] in the architecture`,
    );
    expectOneLine(await cli('eval', '--model', path), 1, `--model ${path}`, "'0.weight' is [8,4] in the file, [100000,100000] in the architecture");
    // Before: 1e10 weights (40 GB) were asked for. Now nothing beyond the file's own few kB.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(memoryStats().arenaBytes).toBe(arena);
    expect(process.memoryUsage().arrayBuffers - heap).toBeLessThan(1 << 20);
  });

  it('a tensor the architecture does not hold, and one it lacks, are named', () => {
    const bytes = withMetadata(smallCheckpoint(), (m) => {
      const arch = JSON.parse(m.architecture);
      arch.layers.splice(1, 0, { type: 'BatchNorm', features: 8 });
      m.architecture = JSON.stringify(arch);
    });
    expect(() => decodeCheckpoint(bytes, 'bn.safetensors')).toThrow(
      "bn.safetensors: the architecture in __metadata__ does not match the tensors: " +
        "missing from the file: '1.weight' [8], '1.bias' [8], '1.running_mean' [8] and 4 more; not in the architecture: '2.bias' [3], '2.weight' [3,8]",
    );
  });

  it('the reader checks every offset before it copies a tensor: a 64 MB file with a hole after its first tensor takes no memory', () => {
    const n = 16 << 20; // 64 MB of float32
    const header = JSON.stringify({
      big: { dtype: 'F32', shape: [n], data_offsets: [0, n * 4] },
      late: { dtype: 'F32', shape: [1], data_offsets: [n * 4 + 4, n * 4 + 8] }, // 4 bytes of nowhere before it
    });
    const bytes = new Uint8Array(8 + header.length + n * 4 + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => decodeSafetensors(bytes, 'holey.safetensors')).toThrow(/holey\.safetensors: .*'late' starts at byte 67108868, expected 67108864 \(hole or overlap\)/);
    // Before: 'big' was copied (64 MB) before the hole was found.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(n);
  });
});

describe('a checkpoint refused for its metadata takes no memory for its tensors', () => {
  it('32 MB of weights under damaged metadata: refused before a value is read', () => {
    const n = 8 << 20;
    const tensors = { '0.weight': { shape: [n / 4, 4], data: new Float32Array(n) }, '0.bias': { shape: [n / 4], data: new Float32Array(n / 4) } };
    const bytes = encodeSafetensors(tensors, { format: 'tapegrad-checkpoint/2', architecture: '{"type":"Sequential","layers":[{"type":"Dense","in":4,"out":2097152}]}', progress: '{"epoch": 1,' });
    const before = process.memoryUsage().arrayBuffers;
    expect(() => decodeCheckpoint(bytes, 'big.safetensors')).toThrow(/^big\.safetensors: __metadata__\.progress is not valid JSON/);
    // Before: every tensor was copied (40 MB) before the metadata was read.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(n);
  });
});

describe('damaged metadata is named: the file and the field', () => {
  const cases: Array<[string, (m: Record<string, string>) => void, string]> = [
    ['progress without its history', (m) => edit(m, 'progress', (p) => delete p.history), '__metadata__.progress.history is undefined'],
    ['a history column of the wrong length', (m) => edit(m, 'progress', (p) => p.history.history.loss.push(1)), '__metadata__.progress.history.history.loss is [0.5,1]; expected one number per epoch run (1)'],
    ['an epoch that is not a number', (m) => edit(m, 'progress', (p) => (p.epoch = 'abc')), '__metadata__.progress.epoch is "abc"'],
    ['a generator state that is not an array', (m) => edit(m, 'progress', (p) => (p.modelRng = { 1: 'x' })), '__metadata__.progress.modelRng is {"1":"x"}'],
    ['a callback state that is not an object', (m) => edit(m, 'progress', (p) => (p.callbacks.earlyStopping = 3)), '__metadata__.progress.callbacks.earlyStopping is 3'],
    ['an optimizer without groups', (m) => edit(m, 'optimizer', (o) => delete o.groups), '__metadata__.optimizer.groups is undefined'],
    ['an optimizer without its step count', (m) => edit(m, 'optimizer', (o) => delete o.iterations), '__metadata__.optimizer.iterations is undefined'],
    ['an optimizer state entry without an index', (m) => edit(m, 'optimizer', (o) => (o.state[0].index = -1)), '__metadata__.optimizer.state[0].index is -1'],
    ['metadata that is not JSON', (m) => (m.progress = '{"epoch": 1,'), '__metadata__.progress is not valid JSON'],
    ['an architecture that is not a layer config', (m) => (m.architecture = '[1, 2]'), '__metadata__.architecture is [1,2]'],
    ['hyper-parameters that are not an object', (m) => (m.hyperParams = '"x"'), '__metadata__.hyperParams is "x"; expected an object'],
    ['an epoch count that is not one', (m) => (m.epoch = 'abc104729'), '__metadata__.epoch is "abc104729"'],
  ];

  function edit(m: Record<string, string>, key: string, change: (value: any) => void): void {
    const value = JSON.parse(m[key]);
    change(value);
    m[key] = JSON.stringify(value);
  }

  it.each(cases)('%s: a FormatError naming the file and the field', (_name, change, message) => {
    const bytes = withMetadata(resumable(), change);
    let error: unknown;
    try {
      decodeCheckpoint(bytes, 'run/last.safetensors');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toContain(`run/last.safetensors: ${message}`);
  });

  /** A checkpoint with every field a resume reads, as fit writes it. */
  function resumable(): Uint8Array {
    const model = new Sequential([new Dense(2, 3, { rng: new Rng(1) }), new ReLU(), new Dense(3, 2, { rng: new Rng(2) })]);
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    optimizer.zeroGrad();
    Tensor.crossEntropy(model.forward(Tensor.from([[1, 2]])), new Int32Array([1])).backward();
    optimizer.step();
    return encodeCheckpoint({
      model,
      optimizer,
      progress: {
        epoch: 1, batch: 0, partial: null, lr: 0.1, loaderSeed: 7, rng: {}, modelRng: {},
        history: { epoch: [0], history: { loss: [0.5] } }, callbacks: {},
      },
    });
  }
});

describe('tapegrad train --resume of a damaged checkpoint', () => {
  it('one line naming the file and the field, exit 1: the run settings, a NaN in an optimizer buffer, a damaged optimizer state', async () => {
    const out = join(dir, 'run');
    expect((await cli('train', '--dataset', 'iris', '--layers', '8', '--epochs', '2', '--batch-size', '16', '--out', out, '--quiet')).code).toBe(0);
    const last = join(out, 'last.safetensors');
    const { tensors, metadata } = readSafetensors(last);
    const damaged = (name: string, change: (m: Record<string, string>) => void, tensorsOf = tensors) => {
      const m = { ...metadata };
      change(m);
      const path = join(out, `${name}.safetensors`);
      writeSafetensors(path, tensorsOf, m);
      return path;
    };

    // Before: `RangeError: fit: seed must be an integer, got abc104729`, naming no file.
    const seed = damaged('seed', (m) => {
      const h = JSON.parse(m.hyperParams);
      h.config.seed = 'abc104729';
      m.hyperParams = JSON.stringify(h);
    });
    expectOneLine(await cli('train', '--resume', seed, '--epochs', '3'), 1, `--resume ${seed}: __metadata__.hyperParams.config.seed is "abc104729"; expected an integer from 0 to 4294967295`);

    // Before: `TypeError: Cannot read properties of undefined (reading 'name')`.
    const schedule = damaged('schedule', (m) => {
      const h = JSON.parse(m.hyperParams);
      h.config.schedule = { params: {} };
      m.hyperParams = JSON.stringify(h);
    });
    expectOneLine(await cli('train', '--resume', schedule, '--epochs', '3'), 1, `--resume ${schedule}: __metadata__.hyperParams.config.schedule is {"params":{}}`);

    const history = damaged('history', (m) => {
      const p = JSON.parse(m.progress);
      delete p.history;
      m.progress = JSON.stringify(p);
    });
    expectOneLine(await cli('train', '--resume', history, '--epochs', '3'), 1, `--resume ${history}: not a valid tapegrad checkpoint: __metadata__.progress.history is undefined`);

    // Before: "training diverged: loss is NaN ... try a lower --lr".
    const velocity = [...tensors.keys()].find((k) => k.startsWith('optimizer.'))!;
    const poisoned = new Map(tensors);
    const data = tensors.get(velocity)!.data.slice();
    data[1] = NaN;
    poisoned.set(velocity, { shape: tensors.get(velocity)!.shape, data });
    const nan = damaged('nan', () => {}, poisoned);
    const r = await cli('train', '--resume', nan, '--epochs', '3');
    expectOneLine(r, 1, `--resume ${nan}`, `optimizer buffer '${velocity}' holds NaN (value 1 of`);
    expect(r.err[0]).not.toContain('--lr');

    const optimizer = damaged('optimizer', (m) => {
      const o = JSON.parse(m.optimizer);
      o.type = 'Adam';
      m.optimizer = JSON.stringify(o);
    });
    expectOneLine(await cli('train', '--resume', optimizer, '--epochs', '3'), 1, `${optimizer}: __metadata__.optimizer cannot be restored: SGD.loadStateDict: the state is for Adam, not SGD`);
  });
});

describe('safetensors files of other producers', () => {
  it("PyTorch's {\"format\": \"pt\"} gives the weights and no model; a newer tapegrad format is refused as such", () => {
    const model = new Sequential([new Dense(3, 4, { rng: new Rng(3) }), new BatchNorm(4)]);
    const state = new Map(Object.entries(model.stateDict()).map(([k, t]) => [k, { shape: [...t.shape], data: t.data.slice() }]));
    const pt = decodeCheckpoint(encodeSafetensors(state, { format: 'pt' }), 'pt.safetensors');
    expect(pt.model).toBeNull();
    expect(pt.progress).toBeNull();
    expect([...pt.weights.keys()].sort()).toEqual(['0.bias', '0.weight', '1.bias', '1.num_batches_tracked', '1.running_mean', '1.running_var', '1.weight']);
    const rebuilt = new Sequential([new Dense(3, 4), new BatchNorm(4)]);
    rebuilt.loadStateDict(pt.weights);
    expect(Array.from(rebuilt.predict([[1, 2, 3]]).data)).toEqual(Array.from(model.predict([[1, 2, 3]]).data));
    // Another producer's keys that happen to share tapegrad's names mean nothing here.
    expect(decodeCheckpoint(encodeSafetensors(state, { format: 'other', architecture: 'llama', epoch: 'x' })).model).toBeNull();
    expect(() => decodeCheckpoint(encodeSafetensors(state, { format: 'tapegrad-checkpoint/9' }), 'new.safetensors')).toThrow(
      'new.safetensors: checkpoint format "tapegrad-checkpoint/9" is not one this version reads (tapegrad-checkpoint/1, tapegrad-checkpoint/2); is it from a newer tapegrad?',
    );
  });

  it('a restored model exposes predict in its type', () => {
    const ck = decodeCheckpoint(smallCheckpoint());
    const y: Tensor = ck.model!.predict([[1, 2, 3, 4]]);
    expect(y.shape).toEqual([1, 3]);
  });
});
