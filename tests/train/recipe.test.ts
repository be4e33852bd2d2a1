/**
 * What train/recipe.ts adds for the playground: the activation a recipe may name, and the schedule
 * parameters' defaults as one table (the help and the page's empty fields show it), which must be what
 * buildSchedule applies when a parameter is not given.
 */
import { describe, expect, it } from 'vitest';
import { Dense, ReLU, Sigmoid, Tanh } from '../../layers/index.js';
import {
  RECIPE_DEFAULTS, RecipeError, SCHEDULE_DEFAULTS, SCHEDULE_HELP, SCHEDULE_NAMES, SCHEDULE_PARAMS, buildModel, buildOptimizer, buildSchedule, checkBatches, checkRecipe,
  formatScheduleSpec, parseScheduleSpec, type Recipe, type ScheduleName,
} from '../../train/index.js';

const recipe = (over: Partial<Recipe>): Recipe => checkRecipe({ ...RECIPE_DEFAULTS, ...over } as Recipe);

describe('the activation', () => {
  it('relu unless named; tanh and sigmoid are the layers of that name, with the same initial weights', () => {
    const kinds = (activation?: Recipe['activation']) => buildModel(recipe({ layers: [5, 4], activation }), 3, 2).layers.map((l) => l.constructor);
    expect(kinds(undefined)).toEqual([Dense, ReLU, Dense, ReLU, Dense]);
    expect(kinds('tanh')).toEqual([Dense, Tanh, Dense, Tanh, Dense]);
    expect(kinds('sigmoid')).toEqual([Dense, Sigmoid, Dense, Sigmoid, Dense]);
    const weights = (activation: Recipe['activation']) => buildModel(recipe({ layers: [5, 4], activation }), 3, 2).parameters().map((p) => Array.from(p.data));
    expect(weights('sigmoid')).toEqual(weights('relu'));
  });

  it('any other name is a RecipeError naming the field and the value', () => {
    expect(() => recipe({ activation: 'gelu' as never })).toThrow(RecipeError);
    expect(() => recipe({ activation: 'gelu' as never })).toThrow('activation "gelu": expected one of relu, tanh, sigmoid');
  });
});

describe('checkBatches', () => {
  it('refuses a batch of one under BatchNorm, first or last, with a batch size that works; nothing to refuse without BatchNorm or hidden layers', () => {
    const bn = recipe({ batchNorm: true, layers: [8] });
    expect(() => checkBatches(bn, 1, 100)).toThrow('batchNorm needs batches of at least 2 samples (batchSize 1)');
    expect(() => checkBatches(bn, 33, 100)).toThrow(RecipeError);
    expect(() => checkBatches(bn, 33, 100)).toThrow('batchSize 33: with batchNorm, the last batch of each epoch would hold 1 of the 100 training samples, and BatchNorm needs at least 2; choose another batchSize (e.g. 34)');
    expect(() => checkBatches(bn, 32, 100)).not.toThrow();
    expect(() => checkBatches(recipe({ layers: [8] }), 1, 100)).not.toThrow();
    expect(() => checkBatches(recipe({ batchNorm: true, layers: [] }), 1, 100)).not.toThrow();
  });
});

describe('SCHEDULE_DEFAULTS', () => {
  it('names exactly the parameters each schedule takes, and the help is made of it', () => {
    for (const name of SCHEDULE_NAMES) expect(Object.keys(SCHEDULE_DEFAULTS[name]), name).toEqual(Object.keys(SCHEDULE_PARAMS[name]));
    expect(SCHEDULE_HELP.step).toBe('step:drop=0.5,every=10');
    expect(SCHEDULE_HELP.cyclic).toBe('cyclic:min=LR/4,max=LR,step=2,down=step,mode=triangular|triangular2|exprange,gamma=1 (step, down: epochs up and down; per batch)');
  });

  /** The rate after each step of a schedule over a fresh optimizer at 0.1 (a plateau fed a loss that never improves). */
  function rates(name: ScheduleName, spec: string, epochs: number, stepsPerEpoch: number): number[] {
    const r = recipe({ lr: 0.1, epochs, schedule: parseScheduleSpec(spec) });
    const optimizer = buildOptimizer(r, buildModel(r, 3, 2));
    const schedule = buildSchedule(r, optimizer, stepsPerEpoch);
    if (schedule === undefined) return [];
    const steps = schedule.stepsOn === 'batch' ? epochs * stepsPerEpoch : epochs;
    return Array.from({ length: steps }, (_, t) => {
      if (schedule.stepsOn === 'metric') schedule.step(t, 1);
      else schedule.step(t);
      return optimizer.lr;
    });
  }

  it('each default, given explicitly, gives the rates that leaving it out gives', () => {
    const epochs = 24;
    const stepsPerEpoch = 3;
    for (const name of SCHEDULE_NAMES) {
      const defaults = SCHEDULE_DEFAULTS[name];
      // The defaults' words as the run's numbers: LR is 0.1, EPOCHS 24, cyclic's down its step.
      const spelled = Object.fromEntries(Object.entries(defaults).map(([key, text]) => [key,
        text.replace('EPOCHS/2+3*EPOCHS/4', `${epochs / 2}+${(3 * epochs) / 4}`).replace('EPOCHS', String(epochs)).replace('LR/4', String(0.1 / 4)).replace('LR', '0.1').replace(/^step$/, defaults.step)]));
      const implicit = rates(name, name, epochs, stepsPerEpoch);
      const explicit = rates(name, formatScheduleSpec({ name, params: spelled }), epochs, stepsPerEpoch);
      expect(explicit, `${name}: ${formatScheduleSpec({ name, params: spelled })}`).toEqual(implicit);
      if (name !== 'none') expect(new Set(implicit).size, `${name} moves the rate`).toBeGreaterThan(1);
    }
  });
});
