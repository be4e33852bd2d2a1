/**
 * train/ without Node: `process.getBuiltinModule`, `Buffer` and `setImmediate` taken away, as in a page.
 * `fit` (arrays, a validation split, callbacks with (epoch, logs), a schedule, early stopping),
 * `evaluate`, `predict`, the safetensors and checkpoint encoders and the plot specs still work; every
 * function that writes or reads files, or the terminal, throws a `NodeOnlyError` naming itself, the
 * module it needed and what a page does instead. (tests/package bundles the root entry for a real
 * Chromium; this is the fast check of each function.)
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { NodeOnlyError, removeStaleTemporaries, writeFileAtomic } from '../../data/index.js';
import { Rng, Tensor } from '../../engine/index.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { SGD, StepDecay } from '../../optim/index.js';
import {
  CsvLogger,
  EarlyStopping,
  JsonlLogger,
  ModelCheckpoint,
  ProgressBar,
  curvesSpec,
  decodeCheckpoint,
  decodeSafetensors,
  encodeCheckpoint,
  encodeSafetensors,
  evaluate,
  fit,
  load,
  readSafetensors,
  renderSvg,
  requirePlotPackages,
  save,
  terminalChart,
  writeSafetensors,
  History,
  type Logs,
} from '../../train/index.js';

/** XOR of the signs of two coordinates: not linearly separable, so a hidden layer has to learn it. */
function xorData(n: number, rng: Rng): { x: number[][]; y: number[] } {
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.uniform() * 2 - 1;
    const b = rng.uniform() * 2 - 1;
    x.push([a, b]);
    y.push(a * b > 0 ? 1 : 0);
  }
  return { x, y };
}

function caught(call: () => unknown): unknown {
  try {
    call();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('train/ where Node is absent', () => {
  // fit yields through a MessageChannel where there is no setImmediate. Node 22 and later deliver its
  // messages as MessageEvents from their bundled undici, which is loaded on the first message and reads the
  // global Buffer as it loads: with Buffer stubbed away that throws inside Node, and fit waits forever (a
  // page has no undici). One message before the stubs loads it.
  beforeAll(async () => {
    const { port1, port2 } = new MessageChannel();
    await new Promise<void>((done) => {
      // As fit listens (a page's onmessage), so that the MessageEvent path is the one taken.
      (port1 as unknown as { onmessage: (event: unknown) => void }).onmessage = () => done();
      port2.postMessage(0);
    });
    port1.close();
  });

  beforeEach(() => {
    vi.stubGlobal('process', { ...process, getBuiltinModule: undefined });
    vi.stubGlobal('Buffer', undefined);
    vi.stubGlobal('setImmediate', undefined);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('fit trains from arrays with a validation split, a schedule, early stopping and a callback of its own; evaluate and predict work', async () => {
    const rng = new Rng(3);
    const { x, y } = xorData(400, rng);
    const model = new Sequential([new Dense(2, 16, { rng }), new ReLU(), new Dense(16, 2, { rng })]);
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const seen: Array<[number, Logs]> = [];
    const lines: string[] = [];
    const history = await fit(model, {
      x,
      y,
      epochs: 15,
      batchSize: 32,
      optimizer,
      validationSplit: 0.25,
      schedule: new StepDecay(optimizer, { drop: 0.5, every: 10 }),
      callbacks: [
        new EarlyStopping({ patience: 100 }),
        new ProgressBar({ tty: false, write: (line) => lines.push(line) }),
        { onEpochEnd: (epoch, logs) => void seen.push([epoch, { ...logs }]) },
      ],
    });
    const { loss, val_loss: valLoss, val_accuracy: valAccuracy, learning_rate: rate } = history.history;
    expect(history.epoch).toEqual([...Array(15).keys()]);
    expect(loss[14]).toBeLessThan(0.5 * loss[0]);
    expect(valLoss[14]).toBeLessThan(0.5 * valLoss[0]);
    expect(valAccuracy[14]).toBeGreaterThan(0.9);
    expect(rate[9]).toBeCloseTo(0.1);
    expect(rate[10]).toBeCloseTo(0.05);
    expect(seen.map(([epoch]) => epoch)).toEqual(history.epoch);
    expect(seen[14][1].val_loss).toBe(valLoss[14]);
    expect(lines).toHaveLength(15);
    expect(lines[14]).toMatch(/^epoch 15\/15 {2}loss 0\.\d{4} {2}acc /);

    const result = evaluate(model, { x, y });
    expect(result.accuracy).toBeGreaterThan(0.9);
    const logits = model.predict(Tensor.from([[0.5, 0.5], [-0.5, 0.5]]));
    expect(logits.shape).toEqual([2, 2]);
    const [same, other] = logits.toArray() as number[][];
    expect(same[1]).toBeGreaterThan(same[0]); // same signs: class 1
    expect(other[0]).toBeGreaterThan(other[1]);
  });

  it('a checkpoint and any tensors go to bytes and back (no Buffer), and the rebuilt model computes the same', () => {
    const rng = new Rng(7);
    const model = new Sequential([new Dense(3, 5, { rng }), new ReLU(), new Dense(5, 2, { rng })]);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const bytes = encodeCheckpoint({ model, optimizer, epoch: 2, info: { hyperParams: { note: 'é, in UTF-8' } } });
    const checkpoint = decodeCheckpoint(bytes, 'page.safetensors');
    expect(checkpoint.path).toBe('page.safetensors');
    expect(checkpoint.epoch).toBe(2);
    expect(checkpoint.hyperParams).toEqual({ note: 'é, in UTF-8' });
    expect(checkpoint.optimizerState).not.toBeNull();
    const x = Tensor.randn([4, 3], { rng });
    expect(Array.from(checkpoint.model!.forward(x).data)).toEqual(Array.from(model.forward(x).data));

    // The header is padded with spaces to 8 bytes, whatever its UTF-8 length ('é' is two bytes).
    const raw = encodeSafetensors({ 'é': { shape: [2], data: new Float32Array([1.5, -2]) } }, { k: 'v' });
    const headerLength = Number(new DataView(raw.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    expect(raw.length).toBe(8 + headerLength + 8);
    const back = decodeSafetensors(raw);
    expect(back.metadata).toEqual({ k: 'v' });
    expect(Array.from(back.tensors.get('é')!.data)).toEqual([1.5, -2]);
  });

  it('the plot specs work; the Node-only functions throw a NodeOnlyError naming themselves, the module and what a page does instead', async () => {
    const history = new History();
    history.record(0, { loss: 1 });
    history.record(1, { loss: 0.5 });
    expect((curvesSpec(history).data as { values: unknown[] }).values).toHaveLength(2);

    const model = new Sequential([new Dense(2, 2)]);
    const cases: Array<[() => unknown, string, string, RegExp]> = [
      [() => save('/tmp/m.safetensors', { model }), 'save', 'node:fs', /encodeCheckpoint and decodeCheckpoint/],
      [() => load('/tmp/m.safetensors'), 'load', 'node:fs', /encodeCheckpoint and decodeCheckpoint/],
      [() => writeSafetensors('/tmp/t.safetensors', {}), 'writeSafetensors', 'node:fs', /encodeSafetensors and decodeSafetensors/],
      [() => readSafetensors('/tmp/t.safetensors'), 'readSafetensors', 'node:fs', /encodeSafetensors/],
      [() => writeFileAtomic('/tmp/x', 'text'), 'writeFileAtomic', 'node:fs', /IndexedDB/],
      [() => removeStaleTemporaries('/tmp'), 'removeStaleTemporaries', 'node:fs', /IndexedDB/],
      [() => new ModelCheckpoint({ dir: '/tmp/run' }), 'ModelCheckpoint', 'node:path', /encodeCheckpoint/],
      [() => new CsvLogger('/tmp/metrics.csv'), 'CsvLogger', 'node:fs', /metricsCsv\(history\)/],
      [() => new JsonlLogger('/tmp/metrics.jsonl'), 'JsonlLogger', 'node:fs', /onEpochEnd receives each epoch's logs/],
      [() => new ProgressBar(), 'ProgressBar', 'node:process', /\{ tty: false, write \}/],
      [() => new ProgressBar({ tty: true, write: () => {} }), 'ProgressBar', 'node:process', /\{ tty: false, write \}/],
      [() => requirePlotPackages(), 'requirePlotPackages', 'node:module', /vega-embed/],
      [() => terminalChart(history), 'terminalChart', 'node:module', /curvesSpec\(history\) with vega-embed/],
    ];
    for (const [call, op, module, instead] of cases) {
      const err = caught(call);
      expect(err, op).toBeInstanceOf(NodeOnlyError);
      expect((err as NodeOnlyError).op).toBe(op);
      expect((err as NodeOnlyError).module).toBe(module);
      expect((err as Error).message).toMatch(new RegExp(`^${op} needs Node \\(${module}\\), which this runtime does not have; in a page, `));
      expect((err as Error).message, op).toMatch(instead);
    }
    const rendering = await renderSvg(curvesSpec(history)).catch((err: unknown) => err);
    expect(rendering).toBeInstanceOf(NodeOnlyError);
    expect((rendering as NodeOnlyError).op).toBe('renderSvg');
  });
});
