import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/index.js';
import { Rng, getBackend, setBackend } from '../../engine/index.js';

const defaultBackend = getBackend();
import { Dense, Dropout, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { StepDecay } from '../../optim/schedules/stepDecay.js';
import { EarlyStopping, ModelCheckpoint, fit, load, save, type Callback, type Model } from '../../train/index.js';

const { train, test } = loadDataset('iris');
const dir = mkdtempSync(join(tmpdir(), 'tapegrad-resume-'));

function setup(model?: Sequential) {
  const m =
    model ??
    new Sequential([
      new Dense(4, 16, { rng: new Rng(3) }),
      new ReLU(),
      new Dropout(0.3, { rng: new Rng(4) }),
      new Dense(16, 3, { rng: new Rng(5) }),
    ]);
  const optimizer = new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
  const schedule = new StepDecay(optimizer, { drop: 0.5, every: 3 });
  return { model: m, optimizer, schedule };
}

const common = { train, validationData: test, batchSize: 16, seed: 11 };

function weightsOf(model: Model): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(model.stateDict())) out[k] = Array.from(t.data);
  return out;
}

describe('resume', () => {
  it('4 epochs, stop, resume for 4 more == 8 epochs straight, bit for bit', async () => {
    const straight = setup();
    const full = await fit(straight.model, { ...common, epochs: 8, optimizer: straight.optimizer, schedule: straight.schedule });

    const first = setup();
    const ckdir = join(dir, 'boundary');
    await fit(first.model, {
      ...common,
      epochs: 4,
      optimizer: first.optimizer,
      schedule: first.schedule,
      callbacks: [new ModelCheckpoint({ dir: ckdir }), new EarlyStopping({ patience: 50 })],
    });

    const ck = load(join(ckdir, 'last.safetensors'));
    expect(ck.progress?.epoch).toBe(4);
    // fit alone restores the run: a freshly built model, optimizer and schedule get the checkpoint's state.
    const second = setup();
    const rest = await fit(second.model, {
      ...common,
      epochs: 8,
      optimizer: second.optimizer,
      schedule: second.schedule,
      resume: ck,
      callbacks: [new EarlyStopping({ patience: 50 })],
    });

    expect(weightsOf(second.model)).toEqual(weightsOf(straight.model));
    expect(rest.epoch).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(rest.history.loss).toEqual(full.history.loss);
    expect(rest.history.learning_rate).toEqual([0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125]);
  });

  it('an interrupt in the middle of an epoch resumes exactly too', async () => {
    const straight = setup();
    const full = await fit(straight.model, { ...common, epochs: 3, optimizer: straight.optimizer, schedule: straight.schedule });

    const controller = new AbortController();
    const stopper: Callback = {
      onBatchEnd(batch, _logs, ctx) {
        if (ctx.epoch === 1 && batch === 2) controller.abort();
      },
    };
    const first = setup();
    const ckdir = join(dir, 'interrupt');
    const interrupted = await fit(first.model, {
      ...common,
      epochs: 3,
      optimizer: first.optimizer,
      schedule: first.schedule,
      signal: controller.signal,
      callbacks: [stopper, new ModelCheckpoint({ dir: ckdir })],
    });
    expect(interrupted.interrupted).toBe(true);
    expect(interrupted.epoch).toEqual([0]);

    const ck = load(join(ckdir, 'last.safetensors'));
    expect(ck.progress).toMatchObject({ epoch: 1, batch: 3 });
    const second = setup(ck.model as Sequential);
    const rest = await fit(second.model, { ...common, epochs: 3, optimizer: second.optimizer, schedule: second.schedule, resume: ck });

    expect(weightsOf(second.model)).toEqual(weightsOf(straight.model));
    for (const name of ['loss', 'accuracy', 'val_loss', 'val_accuracy']) expect(rest.history[name]).toEqual(full.history[name]);
  });

  it('a checkpoint of format 1 (camelCase history, epochs from 1) is read, upgraded and resumed exactly', async () => {
    // Written by the format-1 code on the js backend (format 1 predates the wasm one): the interrupt above
    // (epoch 1, batch 3 of 3 epochs), with early stopping. Exactly: on the backend that wrote it.
    await setBackend('js');
    const ck = load(join(import.meta.dirname, 'fixtures', 'v1-mid-epoch.safetensors'));
    expect(ck.backend).toBeNull();
    expect(ck.metadata.format).toBe('tapegrad-checkpoint/1');
    expect(ck.progress).toMatchObject({ epoch: 1, batch: 3 });
    expect(ck.progress!.history.epoch).toEqual([0]);
    expect(Object.keys(ck.progress!.history.history)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy', 'learning_rate', 'seconds', 'samples_per_sec']);
    expect(ck.progress!.partial).toMatchObject({ metricSums: { accuracy: 32 }, seen: 48, learningRate: 0.05 });
    expect(ck.progress!.callbacks.earlyStopping).toMatchObject({ bestEpoch: 0, wait: 0 });

    const straight = setup();
    const full = await fit(straight.model, { ...common, epochs: 3, optimizer: straight.optimizer, schedule: straight.schedule });
    const second = setup();
    const rest = await fit(second.model, {
      ...common,
      epochs: 3,
      optimizer: second.optimizer,
      schedule: second.schedule,
      resume: ck,
      callbacks: [new EarlyStopping({ patience: 50 })],
    });
    expect(weightsOf(second.model)).toEqual(weightsOf(straight.model));
    for (const name of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'learning_rate']) expect(rest.history[name]).toEqual(full.history[name]);
    await setBackend(defaultBackend);
  });

  it('refuses a checkpoint without training progress, and one whose half-epoch has other metrics', async () => {
    const m = setup();
    const path = join(dir, 'plain.safetensors');
    save(path, { model: m.model });
    await expect(fit(m.model, { ...common, epochs: 1, optimizer: m.optimizer, resume: load(path) })).rejects.toThrow(/holds no training progress to resume/);
    const ck = load(join(import.meta.dirname, 'fixtures', 'v1-mid-epoch.safetensors'));
    await expect(fit(m.model, { ...common, epochs: 3, optimizer: m.optimizer, metrics: [], resume: ck })).rejects.toThrow(
      /stopped mid-epoch with metrics \[accuracy\]; this run asks for \[\]/,
    );
  });
});
