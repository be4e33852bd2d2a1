import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng, Tensor } from '../../engine/index.js';
import { Dense, Dropout, ReLU, Sequential, Softmax } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { load, readSafetensors, save } from '../../train/index.js';

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
