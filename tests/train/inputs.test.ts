/**
 * Bad input to fit, evaluate and load is refused before any work, with a typed error naming what was
 * wrong, where and what was expected (issue 18): labels that are no class id, samples that are not
 * finite, a folder where a checkpoint file was expected.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDataset, ReadError } from '../../data/index.js';
import { Rng, Tensor } from '../../engine/index.js';
import { Dense, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { evaluate, fit, load, readSafetensors } from '../../train/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-inputs-'));

function model(): Sequential {
  return new Sequential([new Dense(2, 3, { rng: new Rng(1) })]);
}

const x = [[0, 1], [1, 0], [1, 1], [0, 0]];

async function fitError(options: Record<string, unknown>): Promise<Error> {
  const m = model();
  const before = Float32Array.from(m.parameters()[0].data);
  let error: unknown = null;
  try {
    await fit(m, { epochs: 1, batchSize: 2, optimizer: new SGD(m.parameters(), { lr: 0.1 }), ...options } as never);
  } catch (e) {
    error = e;
  }
  expect(error, 'fit refused').toBeInstanceOf(Error);
  // Refused before the first step: the weights are untouched.
  expect(Array.from(m.parameters()[0].data)).toEqual(Array.from(before));
  return error as Error;
}

describe('class ids', () => {
  for (const [label, value] of [['2³² + 1 (which an Int32Array reads as 1)', 2 ** 32 + 1], ['2³¹ (which reads as −2³¹)', 2 ** 31], ['1e300', 1e300], ['2⁵³ + 2 (past the safe integers)', 2 ** 53 + 2]] as const) {
    it(`a label of ${label} is a RangeError naming its index and value, not a silent class`, async () => {
      const e = await fitError({ x, y: [0, 1, value, 2] });
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toContain(`y[2] is ${value}`);
      expect(e.message).toMatch(/class id/);
      expect(() => evaluate(model(), { x, y: [0, 1, value, 2] })).toThrow(RangeError);
    });
  }

  it('a label that is no integer (1.5, NaN) is a TypeError naming its index and value', async () => {
    for (const value of [1.5, NaN, Infinity]) {
      const e = await fitError({ x, y: [0, value, 1, 2] });
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toContain(`y[1] is ${value}`);
    }
  });
});

describe('samples that are not finite', () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`${bad} in x is refused by fit before training, naming the row and the column`, async () => {
      const rows = x.map((r) => [...r]);
      rows[2][1] = bad;
      const e = await fitError({ x: rows, y: [0, 1, 2, 0] });
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toMatch(new RegExp(`x holds ${bad} at row 2, column 1`));
    });
  }

  it('in a Tensor, in validation data and in a Dataset too', async () => {
    const t = Tensor.from([[0, 1], [1, 0], [1, 1], [0, NaN]]);
    expect((await fitError({ x: t, y: [0, 1, 2, 0] })).message).toMatch(/x holds NaN at row 3, column 0|x holds NaN at row 3, column 1/);
    const v = await fitError({ x, y: [0, 1, 2, 0], validationData: { x: [[0, 1], [Infinity, 0]], y: [0, 1] } });
    expect(v.message).toMatch(/validation data.*Infinity at row 1, column 0/);
    const ds = createDataset({ name: 'points', x: Float32Array.of(0, 1, 1, 0, 1, NaN), featureShape: [2], labels: Int32Array.of(0, 1, 2), classNames: ['a', 'b', 'c'] });
    const d = await fitError({ train: ds });
    expect(d.message).toMatch(/NaN at row 2, column 1/);
    expect(() => evaluate(model(), ds)).toThrow(/NaN at row 2, column 1/);
  });
});

describe('load and readSafetensors of a folder', () => {
  it('say the path is a folder and that a checkpoint file was expected (it was a bare EISDIR that named no path)', () => {
    const folder = join(dir, 'runs');
    mkdirSync(folder);
    for (const read of [load, readSafetensors]) {
      let error: unknown;
      try {
        read(folder);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ReadError);
      expect((error as ReadError).code).toBe('EISDIR');
      expect((error as ReadError).path).toBe(folder);
      expect((error as Error).message).toMatch(new RegExp(`^${read.name}: ${folder} is a folder \\(EISDIR\\); expected a safetensors file`));
    }
  });

  it('a missing file is still Node\'s ENOENT error, naming the path', () => {
    expect(() => load(join(dir, 'nothing.safetensors'))).toThrow(/ENOENT.*nothing\.safetensors/);
  });
});

describe('samples that are not finite, with validationSplit', () => {
  it('are named by the row the caller gave, not the row in the split', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => [i % 3, (i * 7) % 5]);
    rows[13][0] = NaN;
    const e = await fitError({ x: rows, y: rows.map((_, i) => i % 3), validationSplit: 0.5 });
    expect(e.message).toMatch(/x holds NaN at row 13, column 0/);
  });
});
