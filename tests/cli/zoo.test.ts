/**
 * The command line's flags for issue 22: the new optimizers, --lookahead, the schedules cyclic,
 * restarts, multistep and poly, --augment's list; their parsing, their errors (one line, exit 2, the
 * flag and the value named), their help with defaults, what the recipe builds from them, and short runs
 * that train and resume.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { parseTrainConfig, UsageError } from '../../cli/options.js';
import { runCli } from '../../cli/program.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import {
  AdaBound, Adamax, Combined, CosineWarmRestarts, Cyclic, Lookahead, MultiStepDecay, Muon, PolynomialDecay, RAdam, AdamW, SGD,
} from '../../optim/index.js';
import { Tensor } from '../../engine/index.js';
import { buildOptimizer, buildSchedule, checkRecipe, parseScheduleSpec, RECIPE_DEFAULTS, type Recipe } from '../../train/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-cli-zoo-'));

async function cli(...argv: string[]) {
  const io = memoryIo();
  const code = await runCli(argv, io);
  return { code, out: io.lines, err: io.errors };
}

describe('parsing', () => {
  it('the new optimizers, each with its default rate', () => {
    const rates = { adamax: 0.002, radam: 0.001, adabound: 0.001, lion: 0.0001, muon: 0.001 };
    for (const [optimizer, lr] of Object.entries(rates)) expect(parseTrainConfig({ optimizer })).toMatchObject({ optimizer, lr });
    expect(parseTrainConfig({ optimizer: 'muon', momentum: '0.9' }).momentum).toBe(0.9);
  });

  it('--lookahead and --lookahead-alpha', () => {
    expect(parseTrainConfig({ lookahead: '5' })).toMatchObject({ lookahead: 5, lookaheadAlpha: 0.5 });
    expect(parseTrainConfig({ lookahead: '6', lookaheadAlpha: '0.8' })).toMatchObject({ lookahead: 6, lookaheadAlpha: 0.8 });
    expect(() => parseTrainConfig({ lookaheadAlpha: '0.8' })).toThrow(UsageError);
    expect(() => parseTrainConfig({ lookaheadAlpha: '0.8' })).toThrow('--lookahead-alpha 0.8: applies with --lookahead K only');
  });

  it('the schedules with their parameters', () => {
    expect(parseTrainConfig({ schedule: 'cyclic:min=0.01,max=0.1,step=1.5,mode=triangular2' }).schedule).toEqual({
      name: 'cyclic', params: { min: 0.01, max: 0.1, step: 1.5, mode: 'triangular2' },
    });
    expect(parseTrainConfig({ schedule: 'restarts:t0=3,mult=2,min=0.001' }).schedule).toEqual({ name: 'restarts', params: { t0: 3, mult: 2, min: 0.001 } });
    expect(parseTrainConfig({ schedule: 'multistep:at=5+8,gamma=0.2' }).schedule).toEqual({ name: 'multistep', params: { at: [5, 8], gamma: 0.2 } });
    expect(parseTrainConfig({ schedule: 'poly:power=2' }).schedule).toEqual({ name: 'poly', params: { power: 2 } });
  });

  it('--augment takes a list; a saved true (the old switch) means shifts', () => {
    expect(parseTrainConfig({ augment: 'affine,elastic' }).augment).toEqual(['affine', 'elastic']);
    expect(parseTrainConfig({ augment: 'none' }).augment).toEqual([]);
    expect(parseTrainConfig({}).augment).toEqual([]);
    const old = { ...parseTrainConfig({}), augment: true } as unknown as Recipe;
    expect(parseTrainConfig({}, old as never).augment).toEqual(['shift']);
    // A checkpoint from before --lookahead existed has none.
    const { lookahead: _l, lookaheadAlpha: _a, ...older } = parseTrainConfig({});
    expect(parseTrainConfig({}, older as never)).toMatchObject({ lookahead: null, lookaheadAlpha: 0.5 });
  });
});

describe('errors: one line, exit 2, naming the flag and the value', () => {
  it.each([
    [['--optimizer', 'adamw2'], '--optimizer "adamw2": expected one of sgd, adam, adamw, rmsprop, adagrad, adadelta, nadam, adamax, radam, adabound, lion, muon'],
    [['--lookahead', '0'], '--lookahead "0": expected k, a whole number of steps >= 1'],
    [['--lookahead', '3', '--lookahead-alpha', '1.5'], '--lookahead-alpha "1.5": expected a number in [0, 1]'],
    [['--optimizer', 'adam', '--momentum', '0.5'], '--momentum 0.5: applies to --optimizer sgd, rmsprop or muon only (got adam)'],
    [['--schedule', 'cyclic:mode=sine'], '--schedule "cyclic:mode=sine": expected mode=<triangular|triangular2|exprange>'],
    [['--schedule', 'multistep:at=3.5'], '--schedule "multistep:at=3.5": expected at=<epochs joined by +, e.g. at=10+15>'],
    [['--schedule', 'restarts:mult=0'], '--schedule "restarts:mult=0": expected mult=<a whole number >= 1>'],
    [['--schedule', 'poly:speed=2'], '--schedule "poly:speed=2": expected poly parameters among total, power (e.g. poly:total=...)'],
    [['--augment', 'spin'], '--augment "spin": expected a comma-separated list of shift, affine, elastic, flip (or none)'],
    [['--augment', 'shift,affine,shift'], '--augment "shift,affine,shift": expected each augmentation once (shift is listed twice)'],
  ])('train %j', async (argv, message) => {
    const r = await cli('train', ...argv, '--out', join(dir, 'never'));
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toBe(`tapegrad train: ${message}`);
  });

  it('flip on digits is refused before training, saying why and where flip belongs', async () => {
    const r = await cli('train', '--dataset', 'mnist', '--train-size', '64', '--augment', 'shift,flip', '--out', join(dir, 'flip'));
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      'tapegrad train: --augment shift,flip: flip mirrors images left to right, which changes what mnist shows (a mirrored 2, 3, 4, 5 or 7 is not a digit); flip is for data whose classes survive a mirror, such as fashion-mnist',
    ]);
  });

  it('a schedule the run cannot take is named with its parameters', async () => {
    const r = await cli('train', '--dataset', 'iris', '--schedule', 'step:drop=2', '--epochs', '1', '--out', join(dir, 'step'));
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['tapegrad train: --schedule step:drop=2: StepDecay: invalid drop 2, expected 0 < drop <= 1']);
  });
});

describe('help', () => {
  it('lists the new optimizers, the Lookahead flags, the schedules\' parameters and the augmentations, with their defaults', async () => {
    const help = (await cli('train', '--help')).out.join('\n').replace(/\s+/g, ' ');
    expect(help).toContain('sgd | adam | adamw | rmsprop | adagrad | adadelta | nadam | adamax | radam | adabound | lion | muon');
    expect(help).toMatch(/--lookahead <k> wrap the optimizer in Lookahead/);
    expect(help).toMatch(/--lookahead-alpha <alpha> .* \(default: 0\.5\)/);
    for (const spec of ['cyclic:min=LR/4,max=LR,step=2,down=step,mode=triangular|triangular2|exprange,gamma=1', 'restarts:t0=10,mult=2,min=0', 'multistep:at=EPOCHS/2+3*EPOCHS/4,gamma=0.1', 'poly:total=EPOCHS,power=1']) {
      expect(help).toContain(spec);
    }
    expect(help).toMatch(/--augment <list> augmentations of the training images, .*shift .*affine .*elastic .*flip \(mirror; not for digits\) \(default: none\)/);
    expect(help).toMatch(/0\.0001 for lion, 0\.001 for muon/);
  });
});

describe('what the recipe builds from the flags', () => {
  const model = () => new Sequential([new Dense(4, 8), new ReLU(), new Dense(8, 3)]);
  const recipe = (over: Partial<Recipe>): Recipe => checkRecipe({ ...RECIPE_DEFAULTS, ...over } as Recipe);

  it('each optimizer, muon as Muon+AdamW, --lookahead around it', () => {
    expect(buildOptimizer(recipe({ optimizer: 'adamax', lr: 0.002 }), model())).toBeInstanceOf(Adamax);
    expect(buildOptimizer(recipe({ optimizer: 'radam', lr: 0.001 }), model())).toBeInstanceOf(RAdam);
    expect(buildOptimizer(recipe({ optimizer: 'adabound', lr: 0.001 }), model())).toBeInstanceOf(AdaBound);
    expect(buildOptimizer(recipe({ optimizer: 'lion', lr: 1e-4, weightDecay: 0.1 }), model()).paramGroups[0]).toMatchObject({ lr: 1e-4, weightDecay: 0.1 });
    const muon = buildOptimizer(recipe({ optimizer: 'muon', lr: 0.02 }), model()) as Combined;
    expect(muon).toBeInstanceOf(Combined);
    expect(muon.parts[0]).toBeInstanceOf(Muon);
    expect(muon.parts[1]).toBeInstanceOf(AdamW);
    expect(muon.parts[0].paramGroups[0]).toMatchObject({ momentum: 0.95, weightDecay: 0.1 });
    const la = buildOptimizer(recipe({ optimizer: 'lion', lr: 1e-4, lookahead: 4, lookaheadAlpha: 0.7 }), model()) as Lookahead;
    expect(la).toBeInstanceOf(Lookahead);
    expect([la.k, la.alpha, la.inner.type]).toEqual([4, 0.7, 'Lion']);
  });

  it('each schedule, with the defaults the help shows', () => {
    const opt = () => buildOptimizer(recipe({ lr: 0.1 }), model());
    const at = (spec: string, epochs = 10) => {
      const o = opt();
      return { o, s: buildSchedule(recipe({ lr: 0.1, epochs, schedule: parseScheduleSpec(spec) }), o, 100)! };
    };
    const cyclic = at('cyclic');
    expect(cyclic.s).toBeInstanceOf(Cyclic);
    // A quarter of the rate at the bottom, the rate at the top after two epochs of 100 batches.
    expect([(cyclic.s as Cyclic).lrAt(0), (cyclic.s as Cyclic).lrAt(200), (cyclic.s as Cyclic).lrAt(400)]).toEqual([0.025, 0.1, 0.025]);
    expect((cyclic.o as SGD).paramGroups[0].momentum).toBe(0.9);
    const restarts = at('restarts').s as CosineWarmRestarts;
    expect(restarts).toBeInstanceOf(CosineWarmRestarts);
    expect([restarts.lrAt(0), restarts.lrAt(10), restarts.lrAt(30)]).toEqual([0.1, 0.1, 0.1]); // restarts at 10 and 30 (10, then 20)
    const multistep = at('multistep', 20).s as MultiStepDecay;
    expect(multistep.milestones).toEqual([10, 15]);
    expect(multistep.lrAt(15)).toBeCloseTo(0.001, 12);
    const poly = at('poly', 4).s as PolynomialDecay;
    expect([0, 2, 4].map((t) => poly.lrAt(t))).toEqual([0.1, 0.05, 0]);
  });

  it('a cosine run extended past its end restarts with CosineWarmRestarts over the two cycles', () => {
    const o = buildOptimizer(recipe({ lr: 0.1 }), model());
    const s = buildSchedule(recipe({ lr: 0.1, epochs: 6, schedule: { name: 'cosine', params: {}, cycles: [3, 6] } }), o, 5) as CosineWarmRestarts;
    expect(s).toBeInstanceOf(CosineWarmRestarts);
    expect(s.periods).toEqual([3, 3]);
    expect([0, 1, 2, 3, 4].map((t) => s.lrAt(t))).toEqual([0.1, 0.075, 0.025, 0.1, 0.075].map((v) => expect.closeTo(v, 12)) as never);
    // A checkpoint written before the extension holds the first cycle's CosineAnnealing state.
    s.loadStateDict({ type: 'CosineAnnealing', baseLr: 0.1, last: 3 });
    expect(s.last).toBe(3);
    // One the command line wrote after an extension, before CosineWarmRestarts: its first cycle's base rate.
    s.loadStateDict({ type: 'Restarted', cycles: [{ type: 'CosineAnnealing', baseLr: 0.2, last: 2 }, { type: 'CosineAnnealing', baseLr: 0.2, last: 1 }] } as never);
    expect(s.baseLr).toBe(0.2);
    expect(() => s.loadStateDict({ type: 'StepDecay', baseLr: 0.1, last: 0 })).toThrow(/the state is for StepDecay/);
  });
});

describe('short runs from the command line', () => {
  const model = () => new Sequential([new Dense(4, 8), new ReLU(), new Dense(8, 3)]);
  const recipe = (over: Partial<Recipe>): Recipe => checkRecipe({ ...RECIPE_DEFAULTS, ...over } as Recipe);

  it('Muon+AdamW in Lookahead under a cyclic rate trains Iris, resumes, and says what it runs', async () => {
    const out = join(dir, 'muon');
    const flags = ['--dataset', 'iris', '--layers', '8', '--optimizer', 'muon', '--lr', '0.02', '--lookahead', '3', '--schedule', 'cyclic:step=1', '--batch-size', '16', '--quiet'];
    const r = await cli('train', ...flags, '--epochs', '2', '--out', out);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out.some((l) => l.includes('muon lr 0.02 (Muon for the weight matrices, AdamW at 0.1 of the rate for the rest) in Lookahead k 3 alpha 0.5'))).toBe(true);
    const more = await cli('train', '--resume', join(out, 'last.safetensors'), '--epochs', '3');
    expect(more.code, more.err.join('\n')).toBe(0);
    expect(more.out[more.out.length - 1]).toMatch(/^test accuracy: \d\.\d{4} \(last weights, epoch 3\)$/);
  });

  it('affine and elastic augmentation of a few MNIST digits', async () => {
    const r = await cli('train', '--train-size', '256', '--test-size', '64', '--layers', '32', '--epochs', '1', '--augment', 'affine,elastic', '--quiet', '--out', join(dir, 'aug'));
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out.some((l) => l.includes('augment affine,elastic'))).toBe(true);
  });

  it('every new optimizer trains a step through the recipe without error', () => {
    for (const optimizer of ['adamax', 'radam', 'adabound', 'lion', 'muon'] as const) {
      const m = model();
      const o = buildOptimizer(recipe({ optimizer, lr: 0.01 }), m);
      const before = Array.from(m.parameters()[0].data);
      o.zeroGrad();
      Tensor.crossEntropy(m.forward(Tensor.from([[1, 2, 3, 4], [0, 1, 0, 1]])), new Int32Array([0, 2])).backward();
      o.step();
      expect(Array.from(m.parameters()[0].data), optimizer).not.toEqual(before);
    }
  });
});
