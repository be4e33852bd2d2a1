/**
 * ONNX out. `exportOnnx(model)` and `tapegrad export` write a file that
 *   - ONNX Runtime (onnxruntime-web's WebAssembly build, in Node) runs with the outputs `model.predict`
 *     gives, to 1e-5, at any batch size (the batch dimension is symbolic), for every layer tapegrad has;
 *   - ONNX's own checker (Debian's python3-onnx 1.12, `onnx.checker.check_model(full_check=True)`, which
 *     also infers every shape) accepts, with opset 17, ir_version 8 and BatchNormalization's momentum in
 *     ONNX's convention (1 − PyTorch's);
 *   - carries a model PyTorch trained: PyTorch → safetensors → tapegrad → ONNX Runtime gives PyTorch's
 *     outputs to 1e-5, for an MLP with BatchNorm and LayerNorm.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/program.js';
import { Rng, Tensor } from '../../engine/index.js';
import { BatchNorm, Dense, Dropout, Flatten, Layer, LayerNorm, ReLU, Sequential, Sigmoid, Softmax, Tanh, type LayerConfig } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { exportOnnx, fit, load, readSafetensors, writeSafetensors } from '../../train/index.js';
import { python, runPython } from './pytorch-support.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-onnx-'));
const onnxPython = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0);

beforeAll(() => {
  ort.env.wasm.numThreads = 1; // no worker threads: the suite's processes share two cores
});

/** Runs the ONNX bytes in ONNX Runtime on `x` ([rows, ...sample]); the output's values and shape. */
async function runOrt(bytes: Uint8Array, x: Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data.slice(), x.shape.slice()) });
  const out = result[session.outputNames[0]];
  return { data: out.data as Float32Array, dims: out.dims };
}

/** The largest absolute difference. */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
}

/** An MLP with every layer tapegrad has, trained a little so BatchNorm's statistics and LayerNorm's affine have moved. */
async function everyLayer(): Promise<Sequential> {
  const rng = new Rng(7);
  const model = new Sequential([
    new Dropout(0.1, { rng }),
    new Dense(6, 24, { rng }),
    new BatchNorm(24, { momentum: 0.3, eps: 1e-3 }),
    new ReLU(),
    new Dropout(0.3, { rng }),
    new Dense(24, 16, { rng, activation: 'tanh' }),
    new LayerNorm(16),
    new Sequential([new Dense(16, 12, { rng, activation: 'relu' }), new Dense(12, 12, { rng, useBias: false, activation: 'sigmoid' })]),
    new Tanh(),
    new Dense(12, 10, { rng, activation: 'softmax' }),
    new Sigmoid(),
    new Dense(10, 4, { rng }),
    new Softmax(),
  ]);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 128; i++) {
    const row = Array.from({ length: 6 }, () => rng.uniform() * 4 - 1);
    x.push(row);
    y.push((row[0] > 0.5 ? 1 : 0) + (row[1] > 1 ? 2 : 0));
  }
  await fit(model, { x, y, epochs: 3, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }), seed: 3 });
  return model;
}

describe('exportOnnx', () => {
  it('runs in ONNX Runtime with the outputs of model.predict, to 1e-5, at batch sizes 1, 7 and 40: every layer type, nested', async () => {
    const model = await everyLayer();
    expect((model.layers[2] as BatchNorm).runningMean.data.some((v) => v !== 0)).toBe(true); // the statistics moved
    const bytes = exportOnnx(model);
    writeFileSync(join(dir, 'every.onnx'), bytes);
    const rng = new Rng(11);
    for (const rows of [1, 7, 40]) {
      const x = Tensor.randn([rows, 6], { rng }).mul(2);
      const ort = await runOrt(bytes, x);
      expect(ort.dims).toEqual([rows, 4]);
      expect(worst(ort.data, model.predict(x).data), `batch ${rows}`).toBeLessThan(1e-5);
    }
    // The export reads the model; it leaves its mode alone.
    expect(model.training).toBe(true);
  });

  it('a model that starts with Flatten takes its input shape from the options: [batch, 3, 4] in, Flatten in the graph', async () => {
    const rng = new Rng(2);
    const model = new Sequential([new Flatten(), new Dense(12, 5, { rng }), new BatchNorm(5), new ReLU(), new Dense(5, 2, { rng })]);
    expect(() => exportOnnx(model)).toThrow("exportOnnx: the model (Sequential) does not say its input's shape; give it: exportOnnx(model, { inputShape: [28, 28] })");
    expect(() => exportOnnx(model, { inputShape: [3, 5] })).toThrow(/expected input \[B,12\], got \[B,15\]/);
    const bytes = exportOnnx(model, { inputShape: [3, 4] });
    const x = Tensor.randn([9, 3, 4], { rng });
    const ort = await runOrt(bytes, x);
    expect(ort.dims).toEqual([9, 2]);
    expect(worst(ort.data, model.predict(x).data)).toBeLessThan(1e-5);
  });

  it('a layer with no ONNX form is a TypeError naming it', () => {
    class Scale extends Layer {
      readonly type = 'Scale';
      forward(x: Tensor): Tensor {
        return x.mul(2);
      }
      config(): LayerConfig {
        return { type: 'Scale' };
      }
    }
    const model = new Sequential([new Dense(3, 3), new Scale()]);
    expect(() => exportOnnx(model)).toThrow(TypeError);
    expect(() => exportOnnx(model)).toThrow(/^exportOnnx: layer 1 \(Scale\) has no ONNX form; exportOnnx writes Dense, ReLU, Tanh, Sigmoid, Softmax, Dropout, Flatten, BatchNorm, LayerNorm, Sequential$/);
  });

  it.skipIf(onnxPython === undefined)("passes ONNX's checker (full_check: every shape inferred), opset 17, a symbolic batch, ONNX's momentum convention", async () => {
    const path = join(dir, 'check.onnx');
    writeFileSync(path, exportOnnx(await everyLayer()));
    const script = `
import json, sys
import onnx
model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
bn = [n for n in model.graph.node if n.op_type == 'BatchNormalization'][0]
print(json.dumps({
    'ir_version': model.ir_version,
    'opsets': [[o.domain, o.version] for o in model.opset_import],
    'input': dims(model.graph.input[0]), 'output': dims(model.graph.output[0]),
    'inferred_output': dims(inferred.graph.output[0]),
    'ops': [n.op_type for n in model.graph.node],
    'initializers': [i.name for i in model.graph.initializer],
    'bn': {a.name: a.f for a in bn.attribute},
    'metadata': {p.key: p.value for p in model.metadata_props},
}))
`;
    const r = spawnSync(onnxPython!, ['-c', script, path], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as {
      ir_version: number; opsets: Array<[string, number]>; input: Array<string | number>; output: Array<string | number>; inferred_output: Array<string | number>;
      ops: string[]; initializers: string[]; bn: Record<string, number>; metadata: Record<string, string>;
    };
    expect(info.ir_version).toBe(8);
    expect(info.opsets).toEqual([['', 17]]);
    expect(info.input).toEqual(['batch', 6]);
    expect(info.output).toEqual(['batch', 4]);
    expect(info.inferred_output).toEqual(['batch', 4]);
    expect(info.ops).toEqual([
      'Identity', 'Gemm', 'BatchNormalization', 'Relu', 'Identity', 'Gemm', 'Tanh', 'LayerNormalization',
      'Gemm', 'Relu', 'Gemm', 'Sigmoid', 'Tanh', 'Gemm', 'Softmax', 'Sigmoid', 'Gemm', 'Softmax',
    ]);
    expect(info.initializers).toEqual([
      '1.weight', '1.bias', '2.weight', '2.bias', '2.running_mean', '2.running_var', '5.weight', '5.bias', '6.weight', '6.bias',
      '7.0.weight', '7.0.bias', '7.1.weight', '9.weight', '9.bias', '11.weight', '11.bias',
    ]);
    // tapegrad's (PyTorch's) momentum 0.3 weighs the new batch; ONNX's 0.7 weighs the running value.
    expect(info.bn.momentum).toBeCloseTo(0.7, 6);
    expect(info.bn.epsilon).toBeCloseTo(1e-3, 9);
    expect(JSON.parse(info.metadata['tapegrad.architecture']).type).toBe('Sequential');
  });
});

describe('tapegrad export', () => {
  async function cli(...argv: string[]) {
    const io = memoryIo();
    const code = await runCli(argv, io);
    return { code, out: io.lines, err: io.errors };
  }

  it('writes best.safetensors as model.onnx, which ONNX Runtime runs as load(best).model.predict does; mistakes are one line, exit 2', async () => {
    const out = join(dir, 'run');
    expect((await cli('train', '--dataset', 'iris', '--layers', '16,8', '--batch-norm', '--dropout', '0.2', '--epochs', '3', '--batch-size', '16', '--out', out, '--quiet')).code).toBe(0);
    const best = join(out, 'best.safetensors');
    const target = join(dir, 'iris.onnx');
    const r = await cli('export', '--model', best, '--format', 'onnx', '--out', target, '--json');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(new RegExp(`^wrote ${target}: ONNX opset 17, input \\[batch, 4\\] -> output \\[batch, 3\\], \\d+ bytes$`));
    expect(JSON.parse(r.out[1])).toMatchObject({ command: 'export', format: 'onnx', out: target, input: [-1, 4], output: [-1, 3] });

    const model = load(best).model!;
    const x = Tensor.randn([30, 4], { rng: new Rng(4) });
    const ort = await runOrt(readFileSync(target), x);
    expect(worst(ort.data, model.predict(x).data)).toBeLessThan(1e-5);

    // Without --out, beside the checkpoint.
    expect((await cli('export', '--model', best)).code).toBe(0);
    expect(readFileSync(join(out, 'best.onnx')).equals(readFileSync(target))).toBe(true);

    const oneLine = (res: { code: number; err: string[] }, code: number, text: string) => {
      expect(res.err).toHaveLength(1);
      expect(res.code, res.err[0]).toBe(code);
      expect(res.err[0]).toContain(text);
    };
    oneLine(await cli('export', '--model', join(dir, 'nothing.safetensors')), 2, 'no such file');
    oneLine(await cli('export', '--model', best, '--format', 'tflite'), 2, '--format "tflite": expected one of onnx');
    oneLine(await cli('export', '--model', best, '--out', join(dir, 'no', 'such', 'folder', 'm.onnx')), 2, 'does not exist');
    mkdirSync(join(dir, 'weights-only'));
    const weightsOnly = join(dir, 'weights-only', 'pt.safetensors');
    writeSafetensors(weightsOnly, readSafetensors(best), { format: 'pt' });
    oneLine(await cli('export', '--model', weightsOnly), 2, 'no architecture in its metadata (a PyTorch file?): build the model in code');
  });
});

const ROUND_TRIP = `
import sys
request = json.load(sys.stdin)
torch.manual_seed(1)
model = torch.nn.Sequential(
    torch.nn.Linear(10, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU(), torch.nn.Dropout(0.2),
    torch.nn.Linear(32, 16), torch.nn.LayerNorm(16), torch.nn.Tanh(), torch.nn.Linear(16, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(20):
    x = torch.randn(64, 10) * 3 - 1
    loss = torch.nn.functional.cross_entropy(model(x), (x[:, 0] + x[:, 1] > 0).long() + 2 * (x[:, 2] > 0).long())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
model.eval()
save_file(model.state_dict(), request['path'], {'format': 'pt'})
with torch.no_grad():
    print(json.dumps({'logits': model(torch.tensor(request['x'], dtype=torch.float32)).tolist()}))
`;

describe.skipIf(python === undefined)(`PyTorch -> tapegrad -> ONNX Runtime (${python ?? 'no Python with torch: skipped'})`, () => {
  it('an MLP with BatchNorm and LayerNorm trained by PyTorch serves from ONNX Runtime with PyTorch\'s outputs, to 1e-5', async () => {
    const rng = new Rng(5);
    const x = Tensor.randn([25, 10], { rng }).mul(3);
    const path = join(dir, 'from-torch.safetensors');
    const { logits } = runPython(ROUND_TRIP, { path, x: x.toArray() }) as { logits: number[][] };

    const model = new Sequential([new Dense(10, 32), new BatchNorm(32), new ReLU(), new Dropout(0.2), new Dense(32, 16), new LayerNorm(16), new Tanh(), new Dense(16, 4)]);
    model.loadStateDict(readSafetensors(path));
    const ort = await runOrt(exportOnnx(model), x);
    expect(ort.dims).toEqual([25, 4]);
    expect(worst(ort.data, logits.flat())).toBeLessThan(1e-5);
  });
});
