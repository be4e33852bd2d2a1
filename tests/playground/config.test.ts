import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchNorm, Dense, Dropout, ReLU, Sigmoid, Tanh } from '../../layers/index.js';
import { Adam, CosineAnnealing, OneCycle, SGD, StepDecay } from '../../optim/index.js';
import {
  ACTIVATIONS,
  DEFAULTS,
  DEFAULT_LR,
  FIELDS,
  OPTIMIZERS,
  SCHEDULES,
  buildModel,
  buildOptimizer,
  buildSchedule,
  configFields,
  describeModel,
  parseConfig,
  shareUrl,
  type TrainConfig,
} from '../../playground/config.js';

describe('playground config', () => {
  it('no fields give the command line defaults (784-300-100-10, SGD 0.05 momentum 0.9, cosine, batch 64)', () => {
    const c = parseConfig({});
    expect(c).toEqual(DEFAULTS);
    expect(describeModel(c)).toBe('784-300-100-10, relu');
    expect(describeModel(parseConfig({ hidden: '50', activation: 'tanh', batchnorm: '1', dropout: '0.5', noise: '0.2' }))).toBe('784-50-10, tanh, BatchNorm, dropout 0.5, input noise σ 0.2');
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
    [{ activation: 'gelu' }, /activation: "gelu" is not one of relu, tanh, sigmoid/],
    [{ batchnorm: 'yes' }, /batchnorm: "yes" is not 0 or 1/],
    [{ inputdropout: '-0.1' }, /inputdropout: "-0.1" is not a rate in \[0, 1\)/],
    [{ noise: '2' }, /noise: "2" is not a standard deviation from 0 to 1/],
    [{ batchnorm: '1', batch: '1' }, /batch: 1 with BatchNorm leaves a batch of 1 image/],
    [{ batchnorm: '1', batch: '64', train: '129' }, /batch: 64 with BatchNorm leaves a batch of 1 image \(of 129\)/],
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

  it("builds the command line's order: [input Dropout] → (Dense → [BatchNorm] → activation → [Dropout]) → Dense", () => {
    const model = buildModel(parseConfig({ hidden: '30,20', activation: 'tanh', batchnorm: '1', dropout: '0.2', inputdropout: '0.1' }));
    expect(model.layers.map((l) => l.constructor)).toEqual([Dropout, Dense, BatchNorm, Tanh, Dropout, Dense, BatchNorm, Tanh, Dropout, Dense]);
    expect(buildModel(parseConfig({ hidden: '30', activation: 'sigmoid' })).layers.map((l) => l.constructor)).toEqual([Dense, Sigmoid, Dense]);
    // BatchNorm and the input dropout do not re-draw the weights either.
    const plain = buildModel(parseConfig({ hidden: '30,20' })).parameters();
    const dense = model.layers.filter((l): l is Dense => l instanceof Dense);
    expect(Array.from(dense[0].weight.data)).toEqual(Array.from(plain[0].data));
    expect(Array.from(dense[2].weight.data)).toEqual(Array.from(plain[4].data));
  });

  it('a shared link gives the configuration back, and names only what differs from the defaults', () => {
    const config = parseConfig({ hidden: '128', activation: 'sigmoid', batchnorm: '1', noise: '0.3', optimizer: 'adam', epochs: '3' });
    const link = new URL(shareUrl(config, 'https://tapegrad.github.io/tapegrad/playground/?autostart=1&hidden=9'));
    expect(link.pathname).toBe('/tapegrad/playground/');
    expect(link.searchParams.get('autostart')).toBe('1');
    expect([...link.searchParams.keys()].sort()).toEqual(['activation', 'autostart', 'batchnorm', 'epochs', 'hidden', 'noise', 'optimizer']);
    expect(parseConfig(Object.fromEntries(link.searchParams))).toEqual(config);
    expect(shareUrl(DEFAULTS, 'https://h/p/')).toBe('https://h/p/');

    const configs = fc.record({
      hidden: fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 4 }),
      activation: fc.constantFrom(...ACTIVATIONS),
      batchNorm: fc.constant(false),
      dropout: fc.double({ min: 0, max: 0.99, noNaN: true }),
      inputDropout: fc.double({ min: 0, max: 0.99, noNaN: true }),
      noise: fc.double({ min: 0, max: 1, noNaN: true }),
      optimizer: fc.constantFrom(...OPTIMIZERS),
      lr: fc.double({ min: 1e-6, max: 100, noNaN: true }),
      momentum: fc.double({ min: 0, max: 0.99, noNaN: true }),
      schedule: fc.constantFrom(...(Object.keys(SCHEDULES) as (keyof typeof SCHEDULES)[])),
      batchSize: fc.integer({ min: 1, max: 4096 }),
      epochs: fc.integer({ min: 1, max: 1000 }),
      train: fc.integer({ min: 1, max: 60000 }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
    fc.assert(
      fc.property(configs, (c: TrainConfig) => {
        const url = new URL(shareUrl(c, 'http://127.0.0.1:8080/playground/'));
        const fields = Object.fromEntries([...url.searchParams].filter(([k]) => (FIELDS as readonly string[]).includes(k)));
        expect(parseConfig(fields)).toEqual(c);
      }),
      { numRuns: 300 },
    );
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
