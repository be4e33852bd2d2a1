import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, Rng, Tensor, setBackend, usesFma } from '../../engine/index.js';
import { Dense, Dropout, Layer, ReLU, Sequential, Softmax, layerFromConfig, registerLayer, type LayerConfig } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { ModelCheckpoint, fit, load, readSafetensors, save } from '../../train/index.js';

/** A user's own layer: y = x · scale + shift, one learnable scale and shift per feature. */
class Scale extends Layer {
  readonly type = 'Scale';
  readonly scale: Tensor;
  readonly shift: Tensor;

  constructor(readonly features: number) {
    super();
    this.scale = Tensor.ones([features], { requiresGrad: true });
    this.shift = Tensor.zeros([features], { requiresGrad: true });
  }

  forward(x: Tensor): Tensor {
    return x.mul(this.scale).add(this.shift);
  }

  protected override ownParameters(): [string, Tensor][] {
    return [['scale', this.scale], ['shift', this.shift]];
  }

  config(): LayerConfig {
    return { type: 'Scale', features: this.features };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-save-'));

describe('save/load', () => {
  it('stores PyTorch-named weights, optimizer buffers under optimizer., and string metadata', () => {
    const model = new Sequential([new Dense(3, 5, { rng: new Rng(1) }), new ReLU(), new Dropout(0.5, { rng: new Rng(2) }), new Dense(5, 2, { rng: new Rng(3) }), new Softmax()]);
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    opt.zeroGrad();
    model.forward(Tensor.from([[1, 2, 3]])).sum().backward();
    opt.step();
    const path = join(dir, 'ck.safetensors');
    save(path, { model, optimizer: opt, epoch: 3, info: { hyperParams: { note: 'x' } } });

    const raw = readSafetensors(path);
    expect(raw.tensors.get('0.weight')!.shape).toEqual([5, 3]);
    expect(raw.tensors.get('3.bias')!.shape).toEqual([2]);
    expect([...raw.tensors.keys()].filter((k) => k.startsWith('optimizer.')).length).toBeGreaterThan(0);
    for (const v of Object.values(raw.metadata)) expect(typeof v).toBe('string');
    expect(raw.metadata.epoch).toBe('3');

    const ck = load(path);
    expect(ck.epoch).toBe(3);
    expect(ck.hyperParams).toEqual({ note: 'x' });
    const rebuilt = ck.model as unknown as Sequential;
    expect(rebuilt.layers.map((l) => l.type)).toEqual(['Dense', 'ReLU', 'Dropout', 'Dense', 'Softmax']);
    model.eval();
    rebuilt.eval();
    const x = Tensor.from([[0.5, -1, 2]]);
    expect(Array.from(rebuilt.forward(x).data)).toEqual(Array.from(model.forward(x).data));

    const opt2 = new SGD(rebuilt.parameters(), { lr: 0.5 });
    opt2.loadStateDict(ck.optimizerState as never);
    expect(opt2.stateDict()).toEqual(opt.stateDict());
  });
});

describe('a layer of your own', () => {
  it('is saved, registered with registerLayer, and loaded back with the same outputs', async () => {
    const model = new Sequential([new Scale(4), new Dense(4, 3, { rng: new Rng(1) }), new Softmax()]);
    const { train } = await import('../../data/index.js').then((d) => d.loadDataset('iris'));
    await fit(model, { train, epochs: 2, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 0.1 }) });
    // Training moved the layer's own parameters, and they are saved under PyTorch-style names.
    expect(Array.from((model.layers[0] as Scale).scale.data)).not.toEqual([1, 1, 1, 1]);
    const path = join(dir, 'custom.safetensors');
    save(path, { model });
    expect([...readSafetensors(path).tensors.keys()]).toContain('0.scale');

    // Until the type is registered, load names the way out.
    expect(() => load(path)).toThrow(FormatError);
    expect(() => load(path)).toThrow(/unknown layer type "Scale"; a layer of your own must be registered first: registerLayer\("Scale"/);
    registerLayer('Scale', (cfg) => new Scale(cfg.features as number));
    const rebuilt = load(path).model as unknown as Sequential;
    expect(rebuilt.layers[0]).toBeInstanceOf(Scale);
    const x = Tensor.from([[5.1, 3.5, 1.4, 0.2], [-1, 0, 2, 0.5]]);
    expect(Array.from(rebuilt.predict(x).data)).toEqual(Array.from(model.predict(x).data));
  });

  it('cannot replace a built-in type; bad arguments are named', () => {
    expect(() => registerLayer('Dense', () => new Scale(1))).toThrow(/Dense is a built-in layer type and cannot be replaced/);
    expect(() => registerLayer('', () => new Scale(1))).toThrow(TypeError);
    expect(() => registerLayer('Thing', 3 as never)).toThrow(/fromConfig must be a function/);
    // A user type may be registered again (a reloaded module); the latest wins.
    registerLayer('Scale2', () => new Scale(2));
    registerLayer('Scale2', () => new Scale(3));
    expect((layerFromConfig({ type: 'Scale2' }) as Scale).features).toBe(3);
  });
});

describe('a checkpoint records the backend that computed it', () => {
  it('backend and fma are in the metadata and read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapegrad-backend-'));
    const model = new Sequential([new Dense(3, 2, { rng: new Rng(1) })]);
    for (const backend of ['js', 'wasm'] as const) {
      await setBackend(backend);
      const path = join(dir, `${backend}.safetensors`);
      save(path, { model });
      const ck = load(path);
      expect(ck.backend).toBe(backend);
      expect(ck.fma).toBe(usesFma());
      expect(readSafetensors(path).metadata.backend).toBe(backend);
    }
  });
});

describe('checkpoints that must not be used', () => {
  it('load refuses weights that are NaN or infinite, naming the tensor', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapegrad-nan-'));
    const model = new Sequential([new Dense(3, 4, { rng: new Rng(1) }), new ReLU(), new Dense(4, 2, { rng: new Rng(2) })]);
    (model.layers[2] as Dense).weight.data[5] = NaN;
    (model.layers[2] as Dense).weight.data[6] = Infinity;
    const path = join(dir, 'nan.safetensors');
    save(path, { model });
    expect(() => load(path)).toThrow(FormatError);
    expect(() => load(path)).toThrow(`${path}: tensor '2.weight' holds NaN (value 5 of 8; 2 not finite): the weights of a diverged run cannot be used`);
  });
});

describe('best.safetensors and last.safetensors', () => {
  it('best holds the weights alone (with the architecture); last everything a resume needs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapegrad-best-'));
    const { train, test } = await import('../../data/index.js').then((d) => d.loadDataset('iris'));
    const model = new Sequential([new Dense(4, 8, { rng: new Rng(1) }), new ReLU(), new Dropout(0.2, { rng: new Rng(2) }), new Dense(8, 3, { rng: new Rng(3) })]);
    const checkpoints = new ModelCheckpoint({ dir });
    await fit(model, { train, validationData: test, epochs: 3, batchSize: 16, optimizer: new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }), callbacks: [checkpoints] });
    const best = readSafetensors(join(dir, 'best.safetensors'));
    expect([...best.tensors.keys()].sort()).toEqual(['0.bias', '0.weight', '3.bias', '3.weight']);
    expect(best.metadata.progress).toBeUndefined();
    expect(best.metadata.optimizer).toBeUndefined();
    expect(load(join(dir, 'best.safetensors')).model).not.toBeNull();
    expect(load(join(dir, 'best.safetensors')).epoch).toBe(checkpoints.bestEpoch! + 1);
    const last = load(join(dir, 'last.safetensors'));
    expect(last.optimizerState).not.toBeNull();
    expect(last.progress!.epoch).toBe(3);
    expect(checkpoints.written).toEqual([join(dir, 'best.safetensors'), join(dir, 'last.safetensors')]);
  });
});
