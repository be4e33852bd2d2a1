/**
 * The page's settings (playground/config.ts): its fields and URL parameters read into a recipe
 * (train/recipe.ts), checked by the recipe's rules, written back into a link; and the run a page's
 * settings build is the run the command line builds from the same settings given as flags: the same
 * recipe, the same weights bit for bit, the same optimizer and schedule.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../cli/options.js';
import { BatchNorm, Dense, Dropout, ReLU, Sigmoid, Tanh } from '../../layers/index.js';
import { Cyclic, Lion, Lookahead, type Optimizer } from '../../optim/index.js';
import {
  DEFAULT_LR, HIDDEN_ACTIVATIONS, MOMENTUM_DEFAULT, OPTIMIZER_NAMES, RECIPE_DEFAULTS, SCHEDULE_NAMES, SCHEDULE_PARAMS, buildModel, buildOptimizer, buildSchedule,
  formatScheduleSpec, type Recipe, type ScheduleSpec,
} from '../../train/index.js';
import {
  CLASSES, DEFAULTS, FIELDS, INPUTS, OPTIMIZER_LABELS, SCHEDULE_LABELS, configFields, describeModel, parseConfig, scheduleParts, scheduleText, shareUrl,
  type FieldName, type TrainConfig,
} from '../../playground/config.js';

describe('playground config', () => {
  it('no fields give the command line defaults (784-300-100-10, SGD 0.05 momentum 0.9, cosine, batch 64)', () => {
    const c = parseConfig({});
    expect(c).toEqual(DEFAULTS);
    expect(describeModel(c)).toBe('784-300-100-10, relu');
    expect(describeModel(parseConfig({ hidden: '50', activation: 'tanh', batchnorm: '1', dropout: '0.5', noise: '0.2', l2: '1e-4', maxnorm: '3' }))).toBe(
      '784-50-10, tanh, BatchNorm, dropout 0.5, input noise σ 0.2, L2 0.0001, max-norm 3',
    );
    expect(c).toMatchObject({ optimizer: 'sgd', lr: 0.05, momentum: null, schedule: { name: 'cosine', params: {} }, batchSize: 64, train: 60000 });
  });

  it('the menus hold every optimizer and schedule the recipe has', () => {
    expect(Object.keys(OPTIMIZER_LABELS)).toEqual([...OPTIMIZER_NAMES]);
    expect(Object.keys(SCHEDULE_LABELS).sort()).toEqual([...SCHEDULE_NAMES].sort());
    expect(OPTIMIZER_NAMES).toEqual(['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta', 'nadam', 'adamax', 'radam', 'adabound', 'lion', 'muon']);
    expect(SCHEDULE_NAMES).toEqual(expect.arrayContaining(['cyclic', 'restarts', 'multistep', 'poly']));
  });

  it('reads URL-style fields, and an optimizer without a rate gets its own default rate', () => {
    const c = parseConfig({ hidden: '128, 64', dropout: '0.2', optimizer: 'adam', batch: '32', epochs: '1', train: '20000' });
    expect(c).toMatchObject({ layers: [128, 64], dropout: 0.2, optimizer: 'adam', lr: DEFAULT_LR.adam, batchSize: 32, epochs: 1, train: 20000 });
    expect(parseConfig({ optimizer: 'lion' }).lr).toBe(1e-4);
    expect(parseConfig({ hidden: '' }).layers).toEqual([]);
    expect(parseConfig({ hidden: 'none' }).layers).toEqual([]);
    expect(parseConfig({ optimizer: 'muon', momentum: '0.9', lookahead: '5', lookaheadalpha: '0.8', schedule: 'cyclic:max=0.01,mode=triangular2' })).toMatchObject({
      momentum: 0.9, lookahead: 5, lookaheadAlpha: 0.8, schedule: { name: 'cyclic', params: { max: 0.01, mode: 'triangular2' } },
    });
  });

  it('configFields gives the config back through parseConfig', () => {
    const c = parseConfig({ hidden: '50', optimizer: 'rmsprop', lr: '0.002', momentum: '0.5', schedule: 'multistep:at=3+6,gamma=0.5', seed: '7', lookahead: '3', l2: '0.001' });
    expect(parseConfig(configFields(c))).toEqual(c);
  });

  it.each([
    [{ hidden: '300,abc' }, /hidden: "300,abc" is not a comma-separated list/],
    [{ hidden: '0' }, /hidden: "0"/],
    [{ dropout: '1' }, /dropout: "1" is not a rate in \[0, 1\)/],
    [{ optimizer: 'lbfgs' }, /optimizer: "lbfgs" is not one of sgd, adam, .*, lion, muon/],
    [{ lr: '-1' }, /lr: "-1" is not a learning rate > 0/],
    [{ lr: 'fast' }, /lr: "fast"/],
    [{ lr: '0x10' }, /lr: "0x10"/],
    [{ schedule: 'warm' }, /schedule "warm": expected one of none, step, .*, cyclic, restarts, multistep, poly/],
    [{ schedule: 'cyclic:mode=sideways' }, /schedule "cyclic:mode=sideways": expected mode=<triangular\|triangular2\|exprange>/],
    [{ schedule: 'cyclic:gamma=2' }, /schedule cyclic:gamma=2: Cyclic: invalid gamma 2/],
    [{ schedule: 'step:every=0' }, /schedule "step:every=0": expected every=<a whole number >= 1>/],
    [{ batch: '2.5' }, /batch: "2.5" is not an integer from 1 to 4096/],
    [{ train: '70000' }, /train: "70000" is not an integer from 1 to 60000/],
    [{ momentum: '1' }, /momentum: "1"/],
    [{ optimizer: 'adam', momentum: '0.9' }, /momentum 0.9: applies to optimizer sgd, rmsprop or muon only \(got adam\)/],
    [{ optimizer: 'adam', nesterov: '1' }, /nesterov needs optimizer sgd with momentum > 0/],
    [{ lookahead: '0' }, /lookahead: "0" is not k, a whole number of steps/],
    [{ lookaheadalpha: '0.8' }, /lookaheadalpha 0.8: applies with lookahead K only/],
    [{ weightdecay: '-1' }, /weightdecay: "-1" is not a number >= 0/],
    [{ activation: 'gelu' }, /activation: "gelu" is not one of relu, tanh, sigmoid/],
    [{ batchnorm: 'yes' }, /batchnorm: "yes" is not 0 or 1/],
    [{ inputdropout: '-0.1' }, /inputdropout: "-0.1" is not a rate in \[0, 1\)/],
    [{ noise: '2' }, /noise: "2" is not a standard deviation from 0 to 1/],
    [{ batchnorm: '1', batch: '1' }, /batchnorm needs batches of at least 2 samples \(batch 1\)/],
    [{ batchnorm: '1', batch: '64', train: '129' }, /batch 64: with batchnorm, the last batch of each epoch would hold 1 of the 129 training samples.* \(e\.g\. 65\)/],
  ])('rejects %o with a RangeError naming the field and the value', (fields, message) => {
    expect(() => parseConfig(fields as Partial<Record<FieldName, string>>)).toThrow(RangeError);
    expect(() => parseConfig(fields as Partial<Record<FieldName, string>>)).toThrow(message);
  });

  it("builds the command line's order from the page's fields: [input Dropout] → (Dense → [BatchNorm] → activation → [Dropout]) → Dense", () => {
    const build = (fields: Partial<Record<FieldName, string>>) => buildModel(parseConfig(fields), INPUTS, CLASSES);
    const model = build({ hidden: '30,20', activation: 'tanh', batchnorm: '1', dropout: '0.2', inputdropout: '0.1' });
    expect(model.layers.map((l) => l.constructor)).toEqual([Dropout, Dense, BatchNorm, Tanh, Dropout, Dense, BatchNorm, Tanh, Dropout, Dense]);
    expect(build({ hidden: '30', activation: 'sigmoid' }).layers.map((l) => l.constructor)).toEqual([Dense, Sigmoid, Dense]);
    expect(build({ hidden: '300,100' }).parameters().map((p) => p.shape)).toEqual([[300, 784], [300], [100, 300], [100], [10, 100], [10]]);
    expect(build({ hidden: '' }).layers.map((l) => l.constructor)).toEqual([Dense]);
    expect(build({}).layers.map((l) => l.constructor)).toEqual([Dense, ReLU, Dense, ReLU, Dense]);
  });

  it('a schedule field is the menu name and a field per given parameter, and back', () => {
    expect(scheduleParts('cyclic:max=0.1,mode=triangular2')).toEqual({ name: 'cyclic', params: { max: '0.1', mode: 'triangular2' } });
    expect(scheduleParts('multistep:at=3+6')).toEqual({ name: 'multistep', params: { at: '3+6' } });
    expect(scheduleText('cyclic', { min: '', max: ' 0.1 ', mode: '' })).toBe('cyclic:max=0.1');
    expect(scheduleText('none', {})).toBe('none');
    fc.assert(
      fc.property(fc.constantFrom(...SCHEDULE_NAMES), fc.infiniteStream(fc.boolean()), (name, given) => {
        const params = Object.fromEntries(
          Object.entries(SCHEDULE_PARAMS[name]).filter(() => given.next().value).map(([k, kind]) => [k, Array.isArray(kind) ? kind[1] : kind === 'epochs' ? '2+5' : '3']),
        );
        const text = scheduleText(name, params);
        expect(scheduleParts(text)).toEqual({ name, params });
      }),
    );
  });
});

/** Any schedule with some of its parameters, at values its class accepts. */
const schedules: fc.Arbitrary<ScheduleSpec> = fc.constantFrom(...SCHEDULE_NAMES).chain((name) =>
  fc
    .record(
      Object.fromEntries(
        Object.entries(SCHEDULE_PARAMS[name]).map(([key, kind]) => [
          key,
          fc.option<ScheduleSpec['params'][string]>(
            Array.isArray(kind)
              ? fc.constantFrom(...(kind as string[]))
              : kind === 'epochs'
                ? fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 3 }).map((a) => a.sort((x, y) => x - y))
                : kind === 'integer'
                  ? fc.integer({ min: 1, max: 50 })
                  : fc.double({ min: 0.01, max: 1, noNaN: true }),
            { nil: undefined },
          ),
        ]),
      ),
    )
    .map((params) => ({ name, params: Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as ScheduleSpec['params'] })),
);

/** Any page configuration the rules allow (momentum and Nesterov only where the optimizer takes them, alpha with Lookahead). */
const configs: fc.Arbitrary<TrainConfig> = fc
  .record({
    layers: fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 4 }),
    activation: fc.constantFrom(...HIDDEN_ACTIVATIONS),
    dropout: fc.double({ min: 0, max: 0.99, noNaN: true }),
    inputDropout: fc.double({ min: 0, max: 0.99, noNaN: true }),
    noise: fc.double({ min: 0, max: 1, noNaN: true }),
    l2: fc.double({ min: 0, max: 1, noNaN: true }),
    maxNorm: fc.double({ min: 0, max: 10, noNaN: true }),
    optimizer: fc.constantFrom(...OPTIMIZER_NAMES),
    lr: fc.double({ min: 1e-6, max: 100, noNaN: true }),
    momentum: fc.option(fc.double({ min: 0.01, max: 0.99, noNaN: true }), { nil: null }),
    nesterov: fc.boolean(),
    weightDecay: fc.double({ min: 0, max: 1, noNaN: true }),
    lookahead: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null }),
    lookaheadAlpha: fc.double({ min: 0, max: 1, noNaN: true }),
    schedule: schedules,
    batchSize: fc.integer({ min: 1, max: 4096 }),
    epochs: fc.integer({ min: 1, max: 1000 }),
    train: fc.integer({ min: 1, max: 60000 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .map((c) => {
    const hasMomentum = MOMENTUM_DEFAULT[c.optimizer] !== undefined;
    return {
      ...DEFAULTS,
      ...c,
      momentum: hasMomentum ? c.momentum : null,
      nesterov: c.optimizer === 'sgd' && c.nesterov,
      lookaheadAlpha: c.lookahead === null ? RECIPE_DEFAULTS.lookaheadAlpha : c.lookaheadAlpha,
    };
  });

describe('a shared link', () => {
  it('gives the configuration back, and names only what differs from the defaults', () => {
    const config = parseConfig({ hidden: '128', activation: 'sigmoid', batchnorm: '1', noise: '0.3', optimizer: 'lion', schedule: 'cyclic:step=1', lookahead: '4', epochs: '3' });
    const link = new URL(shareUrl(config, 'https://tapegrad.github.io/tapegrad/playground/?autostart=1&hidden=9'));
    expect(link.pathname).toBe('/tapegrad/playground/');
    expect(link.searchParams.get('autostart')).toBe('1');
    expect([...link.searchParams.keys()].sort()).toEqual(['activation', 'autostart', 'batchnorm', 'epochs', 'hidden', 'lookahead', 'noise', 'optimizer', 'schedule']);
    expect(link.searchParams.get('schedule')).toBe('cyclic:step=1');
    expect(parseConfig(Object.fromEntries(link.searchParams))).toEqual(config);
    expect(shareUrl(DEFAULTS, 'https://h/p/')).toBe('https://h/p/');
  });

  it('round-trips every field, for any configuration the rules allow', () => {
    let checked = 0;
    fc.assert(
      fc.property(configs, (c) => {
        // A few schedules drawn here are ones their classes refuse (cyclic's min above its max): those are no page's configuration.
        let config: TrainConfig;
        try {
          config = parseConfig(configFields(c));
        } catch {
          fc.pre(false);
          return;
        }
        expect(config).toEqual(c);
        const url = new URL(shareUrl(config, 'http://127.0.0.1:8080/playground/'));
        const fields = Object.fromEntries([...url.searchParams].filter(([k]) => (FIELDS as readonly string[]).includes(k)));
        expect(parseConfig(fields)).toEqual(config);
        checked++;
      }),
      { numRuns: 300 },
    );
    expect(checked).toBeGreaterThan(200);
  });
});

describe("the page's run is the command line's", () => {
  /** The command line's flags for the page's fields (the page trains on the first `train` images: --train-size). */
  const FLAG_OF: Partial<Record<FieldName, string>> = {
    hidden: 'layers', batchnorm: 'batchNorm', inputdropout: 'inputDropout', maxnorm: 'maxNorm', weightdecay: 'weightDecay',
    lookaheadalpha: 'lookaheadAlpha', batch: 'batchSize', train: 'trainSize',
  };
  /** Only the page has these: the command line's net is ReLU, and it adds no noise. */
  const PAGE_ONLY: readonly FieldName[] = ['activation', 'noise'];

  function cliConfigOf(fields: Partial<Record<FieldName, string>>) {
    const raw: Record<string, string | boolean> = {};
    for (const [name, value] of Object.entries(fields) as [FieldName, string][]) {
      if (PAGE_ONLY.includes(name)) continue;
      const flag = FLAG_OF[name] ?? name;
      raw[flag] = name === 'batchnorm' || name === 'nesterov' ? value === '1' : name === 'hidden' && value === '' ? 'none' : value;
    }
    return parseTrainConfig(raw);
  }

  const recipeOf = (r: Recipe) => Object.fromEntries(Object.keys(RECIPE_DEFAULTS).filter((k) => k !== 'activation').map((k) => [k, r[k as keyof Recipe]]));
  /** An optimizer's hyper-parameters: each group without its tensors, the class of it and of what it wraps. */
  const hyper = (o: Optimizer): unknown => ({
    type: o.constructor.name,
    groups: o.paramGroups.map(({ params: _params, ...rest }) => rest),
    inner: o instanceof Lookahead ? [o.k, o.alpha, hyper(o.inner)] : null,
    parts: 'parts' in o ? (o.parts as Optimizer[]).map(hyper) : null,
  });

  it.each([
    {},
    { optimizer: 'lion', schedule: 'cyclic:step=1,mode=triangular2', epochs: '3', hidden: '64,32', train: '2000', batch: '50' },
    { optimizer: 'muon', lookahead: '5', lookaheadalpha: '0.7', schedule: 'restarts:t0=2', weightdecay: '0.05', seed: '9' },
    { optimizer: 'sgd', momentum: '0.8', nesterov: '1', schedule: 'multistep:at=2+4,gamma=0.5', dropout: '0.5', inputdropout: '0.2', maxnorm: '3', l2: '0.0001', hidden: '1024,1024,1024' },
    { optimizer: 'adabound', lr: '0.003', schedule: 'poly:power=2', batchnorm: '1', hidden: '40' },
    { optimizer: 'radam', schedule: 'onecycle', hidden: '' },
    { optimizer: 'adamax', schedule: 'plateau:patience=2' },
  ] as Partial<Record<FieldName, string>>[])('%o: the same recipe, weights, optimizer and schedule', (fields) => {
    const page = parseConfig(fields);
    const cli = cliConfigOf(fields);
    expect(recipeOf(page)).toEqual(recipeOf(cli));
    expect(cli.trainSize ?? 60000).toBe(page.train);
    expect(cli.batchSize).toBe(page.batchSize);

    const pageModel = buildModel(page, INPUTS, CLASSES);
    const cliModel = buildModel(cli, INPUTS, CLASSES);
    expect(pageModel.describe()).toBe(cliModel.describe());
    const pageWeights = pageModel.parameters();
    const bits = (data: Float32Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    cliModel.parameters().forEach((w, i) => expect(bits(pageWeights[i].data).equals(bits(w.data)), `parameter ${i}`).toBe(true));

    const pageOptimizer = buildOptimizer(page, pageModel);
    const cliOptimizer = buildOptimizer(cli, cliModel);
    expect(hyper(pageOptimizer)).toEqual(hyper(cliOptimizer));
    const stepsPerEpoch = Math.ceil(page.train / page.batchSize);
    const pageSchedule = buildSchedule(page, pageOptimizer, stepsPerEpoch);
    const cliSchedule = buildSchedule(cli, cliOptimizer, stepsPerEpoch);
    expect(pageSchedule?.constructor).toBe(cliSchedule?.constructor);
    if (pageSchedule !== undefined && cliSchedule !== undefined) {
      const rates = (s: typeof pageSchedule, o: Optimizer) =>
        Array.from({ length: 3 * (s.stepsOn === 'batch' ? stepsPerEpoch : 1) }, (_, t) => (s.stepsOn === 'metric' ? s.step(t, 1) : s.step(t), o.lr));
      expect(rates(pageSchedule, pageOptimizer)).toEqual(rates(cliSchedule, cliOptimizer));
    }
  });

  it('Lion under a cyclic rate, as the page builds it', () => {
    const page = parseConfig({ optimizer: 'lion', schedule: 'cyclic:step=1', train: '640', batch: '64' });
    const optimizer = buildOptimizer(page, buildModel(page, INPUTS, CLASSES));
    expect(optimizer).toBeInstanceOf(Lion);
    const cyclic = buildSchedule(page, optimizer, 10) as Cyclic;
    expect(cyclic).toBeInstanceOf(Cyclic);
    expect(cyclic.stepsOn).toBe('batch');
    // A quarter of Lion's 1e-4 at the bottom, 1e-4 after one epoch of 10 batches.
    expect([cyclic.lrAt(0), cyclic.lrAt(10), cyclic.lrAt(20)]).toEqual([2.5e-5, 1e-4, 2.5e-5].map((v) => expect.closeTo(v, 15)) as never);
    expect(formatScheduleSpec(page.schedule)).toBe('cyclic:step=1');
  });
});
