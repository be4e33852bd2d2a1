import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { parseLayers, parseSchedule, parseTrainConfig, UsageError } from '../../cli/options.js';
import { runCli } from '../../cli/program.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-cli-'));

/** Runs the CLI in-process; returns the exit code and what it printed. */
async function cli(...argv: string[]) {
  const io = memoryIo();
  const code = await runCli(argv, io);
  return { code, out: io.lines, err: io.errors };
}

describe('flag validation', () => {
  const bad: Array<[string[], string, string]> = [
    [['train', '--lr', 'abc'], '--lr', 'abc'],
    [['train', '--lr', '-1'], '--lr', '-1'],
    [['train', '--dropout', '1.5'], '--dropout', '1.5'],
    [['train', '--input-dropout', '1'], '--input-dropout', '1'],
    [['train', '--batch-size', '0'], '--batch-size', '0'],
    [['train', '--batch-size', '2.5'], '--batch-size', '2.5'],
    [['train', '--layers', '300,,x'], '--layers', '300,,x'],
    [['train', '--optimizer', 'sgdx'], '--optimizer', 'sgdx'],
    [['train', '--dataset', 'cifar10'], '--dataset', 'cifar10'],
    [['train', '--epochs', '0'], '--epochs', '0'],
    [['train', '--val-split', '1'], '--val-split', '1'],
    [['train', '--momentum', '1'], '--momentum', '1'],
    [['train', '--schedule', 'step:drop=x'], '--schedule', 'step:drop=x'],
    [['train', '--schedule', 'linear'], '--schedule', 'linear'],
    [['train', '--schedule', 'exp:every=3'], '--schedule', 'exp:every=3'],
    [['train', '--seed', '-3'], '--seed', '-3'],
    [['train', '--threads', '0'], '--threads', '0'],
    [['train', '--early-stopping', 'soon'], '--early-stopping', 'soon'],
    [['sweep', '--dropout', '0,0.5,1.2'], '--dropout', '0,0.5,1.2'],
    [['eval', '--model', join(dir, 'missing.safetensors')], '--model', 'missing.safetensors'],
  ];
  for (const [argv, flag, value] of bad) {
    it(`${argv.join(' ')} → exit 2, one line naming ${flag}`, async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toContain(flag);
      expect(r.err[0]).toContain(value);
      expect(r.err[0]).not.toMatch(/\n|    at /);
    });
  }

  it('unknown options and a missing --model are usage errors too', async () => {
    for (const argv of [['train', '--bogus'], ['eval'], ['frobnicate']]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });

  it('a corrupt --model file is exit 2, an unreadable one (a folder) exit 1', async () => {
    const corrupt = join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, Buffer.from('this is not a checkpoint at all'));
    const r = await cli('eval', '--model', corrupt);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/--model .*corrupt\.safetensors: not a valid tapegrad checkpoint/);

    const folder = join(dir, 'folder.safetensors');
    mkdirSync(folder);
    const u = await cli('eval', '--model', folder);
    expect(u.code).toBe(1);
    expect(u.err).toHaveLength(1);
    expect(u.err[0]).toContain('--model');
  });

  it('--help shows examples and exits 0', async () => {
    const r = await cli('train', '--help');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toContain('Examples:');
    expect(r.out.join('\n')).toContain('--early-stopping');
  });
});

describe('option parsing', () => {
  it('fills the defaults that npm run train uses', () => {
    const c = parseTrainConfig({});
    expect(c).toMatchObject({ dataset: 'mnist', layers: [300, 100], optimizer: 'sgd', batchSize: 64, epochs: 10, dropout: 0 });
    expect(c.lr).toBeGreaterThan(0);
    expect(parseTrainConfig({ optimizer: 'adam' }).lr).toBe(0.001);
  });

  it('parses layers and schedules', () => {
    expect(parseLayers('--layers', '300,100')).toEqual([300, 100]);
    expect(parseLayers('--layers', 'none')).toEqual([]);
    expect(parseSchedule('--schedule', 'step:drop=0.5,every=10')).toEqual({ name: 'step', params: { drop: 0.5, every: 10 } });
    expect(parseSchedule('--schedule', 'cosine')).toEqual({ name: 'cosine', params: {} });
  });

  it('rejects flag combinations that make no sense', () => {
    expect(() => parseTrainConfig({ optimizer: 'adam', decay: '0.1' })).toThrow(UsageError);
    expect(() => parseTrainConfig({ optimizer: 'adam', nesterov: true })).toThrow(/--nesterov/);
    expect(() => parseTrainConfig({ optimizer: 'adam', momentum: '0.5' })).toThrow(/--momentum/);
  });
});
