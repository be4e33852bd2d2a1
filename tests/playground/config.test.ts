import { describe, expect, it } from 'vitest';
import { Dense, Dropout, ReLU } from '../../layers/index.js';
import { Adam, CosineAnnealing, OneCycle, SGD, StepDecay } from '../../optim/index.js';
import {
  DEFAULTS,
  DEFAULT_LR,
  buildModel,
  buildOptimizer,
  buildSchedule,
  configFields,
  describeModel,
  parseConfig,
} from '../../playground/config.js';

describe('playground config', () => {
  it('no fields give the command line defaults (784-300-100-10, SGD 0.05 momentum 0.9, cosine, batch 64)', () => {
    const c = parseConfig({});
    expect(c).toEqual(DEFAULTS);
    expect(describeModel(c)).toBe('784-300-100-10');
    expect(c).toMatchObject({ optimizer: 'sgd', lr: 0.05, momentum: 0.9, schedule: 'cosine', batchSize: 64, train: 60000 });
  });

  it('reads URL-style fields, and an optimizer without a rate gets its own default rate', () => {
    const c = parseConfig({ hidden: '128, 64', dropout: '0.2', optimizer: 'adam', batch: '32', epochs: '1', train: '20000' });
    expect(c).toMatchObject({ hidden: [128, 64], dropout: 0.2, optimizer: 'adam', lr: DEFAULT_LR.adam, batchSize: 32, epochs: 1, train: 20000 });
    expect(parseConfig({ hidden: '' }).hidden).toEqual([]);
    expect(parseConfig({ hidden: 'none' }).hidden).toEqual([]);
  });

  it('configFields gives the config back through parseConfig', () => {
    const c = parseConfig({ hidden: '50', optimizer: 'rmsprop', lr: '0.002', schedule: 'onecycle', seed: '7' });
    expect(parseConfig(configFields(c))).toEqual(c);
  });

  it.each([
    [{ hidden: '300,abc' }, /hidden: "300,abc" is not a comma-separated list/],
    [{ hidden: '0' }, /hidden: "0"/],
    [{ dropout: '1' }, /dropout: "1" is not a rate in \[0, 1\)/],
    [{ optimizer: 'lbfgs' }, /optimizer: "lbfgs" is not one of sgd, adam/],
    [{ lr: '-1' }, /lr: "-1" is not a learning rate > 0/],
    [{ lr: 'fast' }, /lr: "fast"/],
    [{ schedule: 'warm' }, /schedule: "warm" is not one of none, cosine/],
    [{ batch: '2.5' }, /batch: "2.5" is not an integer from 1 to 4096/],
    [{ train: '70000' }, /train: "70000" is not an integer from 1 to 60000/],
    [{ momentum: '1' }, /momentum: "1"/],
  ])('rejects %o with a RangeError naming the field and the value', (fields, message) => {
    expect(() => parseConfig(fields)).toThrow(RangeError);
    expect(() => parseConfig(fields)).toThrow(message);
  });

  it('builds Dense → ReLU → [Dropout] per hidden width, then Dense to 10 logits', () => {
    const model = buildModel(parseConfig({ hidden: '300,100', dropout: '0.5' }));
    expect(model.layers.map((l) => l.constructor)).toEqual([Dense, ReLU, Dropout, Dense, ReLU, Dropout, Dense]);
    expect(model.parameters().map((p) => p.shape)).toEqual([[300, 784], [300], [100, 300], [100], [10, 100], [10]]);
    const linear = buildModel(parseConfig({ hidden: '' }));
    expect(linear.parameters().map((p) => p.shape)).toEqual([[10, 784], [10]]);
  });

  it('the seed fixes the weights, and dropout does not re-draw them', () => {
    const a = buildModel(parseConfig({ seed: '3' })).parameters()[0].data;
    const b = buildModel(parseConfig({ seed: '3', dropout: '0.3' })).parameters()[0].data;
    const c = buildModel(parseConfig({ seed: '4' })).parameters()[0].data;
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('builds the optimizer and schedule the menus name', () => {
    const config = parseConfig({ epochs: '4' });
    const model = buildModel(config);
    const sgd = buildOptimizer(config, model.parameters());
    expect(sgd).toBeInstanceOf(SGD);
    expect(sgd.lr).toBe(0.05);
    const cosine = buildSchedule(config, sgd, 100)!;
    expect(cosine).toBeInstanceOf(CosineAnnealing);
    expect(cosine.stepsOn).toBe('epoch');
    expect(cosine.lrAt(0)).toBeCloseTo(0.05, 12);
    expect(cosine.lrAt(2)).toBeCloseTo(0.025, 12); // half-way down the cosine
    expect(buildSchedule(parseConfig({ schedule: 'none' }), sgd, 100)).toBeNull();
    const step = buildSchedule(parseConfig({ schedule: 'step' }), sgd, 100)!;
    expect(step).toBeInstanceOf(StepDecay);

    const adamConfig = parseConfig({ optimizer: 'adam', schedule: 'onecycle', epochs: '2' });
    const adam = buildOptimizer(adamConfig, model.parameters());
    expect(adam).toBeInstanceOf(Adam);
    const onecycle = buildSchedule(adamConfig, adam, 50)!;
    expect(onecycle).toBeInstanceOf(OneCycle);
    expect(onecycle.stepsOn).toBe('batch');
    // The peak is the form's rate, reached 30% of the way through the 100 batches (PyTorch's default).
    expect(onecycle.lrAt(29)).toBeCloseTo(DEFAULT_LR.adam, 12);
    // Adagrad has no momentum to cycle: the schedule must not insist on one.
    const adagradConfig = parseConfig({ optimizer: 'adagrad', schedule: 'onecycle' });
    expect(() => buildSchedule(adagradConfig, buildOptimizer(adagradConfig, model.parameters()), 10)).not.toThrow();
  });
});
