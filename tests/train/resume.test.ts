import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/index.js';
import { Rng } from '../../engine/index.js';
import { Dense, Dropout, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { StepDecay } from '../../optim/schedules/stepDecay.js';
import { EarlyStopping, ModelCheckpoint, fit, load, type Callback, type Model } from '../../train/index.js';

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

const common = { train, validation: test, batchSize: 16, seed: 11 };

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
    const second = setup(ck.model as Sequential);
    second.optimizer.loadStateDict(ck.optimizerState as never);
    second.schedule.loadStateDict(ck.scheduleState as never);
    const rest = await fit(second.model, {
      ...common,
      epochs: 8,
      optimizer: second.optimizer,
      schedule: second.schedule,
      resume: ck.progress!,
      callbacks: [new EarlyStopping({ patience: 50 })],
    });

    expect(weightsOf(second.model)).toEqual(weightsOf(straight.model));
    expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
    expect(rest.history.map((h) => h.lr)).toEqual([0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125]);
  });

  it('an interrupt in the middle of an epoch resumes exactly too', async () => {
    const straight = setup();
    const full = await fit(straight.model, { ...common, epochs: 3, optimizer: straight.optimizer, schedule: straight.schedule });

    const controller = new AbortController();
    const stopper: Callback = {
      onBatchEnd(logs, ctx) {
        if (ctx.epoch === 1 && logs.batch === 2) controller.abort();
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
    expect(interrupted.history).toHaveLength(1);

    const ck = load(join(ckdir, 'last.safetensors'));
    expect(ck.progress).toMatchObject({ epoch: 1, batch: 3 });
    const second = setup(ck.model as Sequential);
    second.optimizer.loadStateDict(ck.optimizerState as never);
    second.schedule.loadStateDict(ck.scheduleState as never);
    const rest = await fit(second.model, { ...common, epochs: 3, optimizer: second.optimizer, schedule: second.schedule, resume: ck.progress! });

    expect(weightsOf(second.model)).toEqual(weightsOf(straight.model));
    expect(rest.history.map((h) => [h.loss, h.accuracy, h.valLoss])).toEqual(full.history.map((h) => [h.loss, h.accuracy, h.valLoss]));
  });
});
