import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLAG_TABLES, RESUME_FLAGS, TRAIN_DEFAULTS, TRAIN_FLAGS, flagHelp, flagName, parseLayers, parseSchedule, parseTrainConfig, UsageError, type CommandName } from '../../cli/options.js';
import { cli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-cli-'));


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
    // Numbers are decimal: JavaScript's Number() reads 0x10 as 16, 0b11 as 3, '' as 0.
    [['train', '--lr', '0x10'], '--lr', '0x10'],
    [['train', '--lr', '0b11'], '--lr', '0b11'],
    [['train', '--lr', 'Infinity'], '--lr', 'Infinity'],
    [['train', '--epochs', '0o7'], '--epochs', '0o7'],
    [['train', '--schedule', 'step:drop=0x1'], '--schedule', 'step:drop=0x1'],
    [['sweep', '--dropout', '0,0x0'], '--dropout', '0,0x0'],
    // Seeds are 32-bit: 4294967297 was silently seed 1.
    [['train', '--seed', '4294967297'], '--seed', '4294967297'],
    [['train', '--seed', '1e10'], '--seed', '1e10'],
    [['train', '--threads', '99'], '--threads', '99'],
    [['train', '--backend', 'cuda'], '--backend', 'cuda'],
    [['eval', '--model', 'x.safetensors', '--backend', 'gpu'], '--backend', 'gpu'],
    // Two runs of one rate would share a folder.
    [['sweep', '--dropout', '0.5,0.5'], '--dropout', '0.5,0.5'],
    [['sweep', '--dropout', '0.5,0.50'], '--dropout', '0.5,0.50'],
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

  it('mistyped flags: one line each, the hint on the same line, every mistake named (it stopped at the first, hint on a line of its own)', async () => {
    const two = await cli('train', '--lrr', '0.1', '--epoch', '3', '--quiet');
    expect(two.code).toBe(2);
    expect(two.err).toEqual([
      "tapegrad train: unknown option '--lrr' (did you mean --lr?)",
      "tapegrad train: unknown option '--epoch' (did you mean --epochs?)",
    ]);
    const one = await cli('eval', '--model', 'x.safetensors', '--datset', 'mnist');
    expect(one.err).toEqual(["tapegrad eval: unknown option '--datset' (did you mean --dataset?)"]);
    // No hint when nothing is close; a value that looks like a flag after a flag that takes one is a value.
    expect((await cli('train', '--zzzzzz', '--lr', '-1e-3')).err).toEqual(["tapegrad train: unknown option '--zzzzzz'"]);
    // Another command's flag is not offered: --start is lr-find's.
    expect((await cli('train', '--stat', '1')).err).toEqual(["tapegrad train: unknown option '--stat'"]);
    expect((await cli('lr-find', '--stat', '1')).err).toEqual(["tapegrad lr-find: unknown option '--stat' (did you mean --start?)"]);
    // A mistyped command: commander's hint, on the same line too.
    expect((await cli('tran')).err).toEqual(["tapegrad: unknown command 'tran' (did you mean train?)"]);
  });

  it('unknown options and a missing --model are usage errors too', async () => {
    for (const argv of [['train', '--bogus'], ['eval'], ['frobnicate']]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toHaveLength(1);
    }
  });

  it('a bad --model file is exit 1 (a corrupt one, an unreadable one: a folder), naming it', async () => {
    const corrupt = join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, Buffer.from('this is not a checkpoint at all'));
    const r = await cli('eval', '--model', corrupt);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/--model .*corrupt\.safetensors: not a valid tapegrad checkpoint/);

    const folder = join(dir, 'folder.safetensors');
    mkdirSync(folder);
    const u = await cli('eval', '--model', folder);
    expect(u.code).toBe(1);
    expect(u.err).toHaveLength(1);
    expect(u.err[0]).toBe(`tapegrad eval: --model ${folder}: is a folder (EISDIR); expected a safetensors file (a checkpoint, e.g. runs/NAME/last.safetensors)`);
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

describe('the flag table (one declaration per flag)', () => {
  it("feeds every command's --help: each flag it takes, spelled from its key, with its help and default", async () => {
    const commands: CommandName[] = ['train', 'eval', 'lr-find', 'sweep', 'export', 'bench'];
    for (const command of commands) {
      const r = await cli(command, '--help');
      expect(r.code, command).toBe(0);
      const raw = r.out.join('\n');
      const help = raw.replace(/\s+/g, ' ');
      // The options section: one line per option, starting with its flag.
      const listed = [...raw.matchAll(/^ {2}(--[a-z0-9-]+)/gm)].map((m) => m[1]).filter((f) => f !== '--help');
      const declared: string[] = [];
      for (const table of FLAG_TABLES) {
        for (const [key, f] of Object.entries(table)) {
          if (!f.commands.includes(command)) continue;
          declared.push(flagName(key));
          expect(help, `${command} ${flagName(key)}`).toContain(flagHelp(f, command).replace(/\s+/g, ' '));
        }
      }
      // Nothing among the options that the table does not declare, and everything it does.
      for (const f of new Set(listed)) expect(declared, `${command} --help lists ${f}`).toContain(f);
      for (const f of declared) expect(listed).toContain(f);
    }
  });

  it('the defaults, the resume rules and the spelling come from it', () => {
    expect(flagName('batchSize')).toBe('--batch-size');
    expect(flagHelp(TRAIN_FLAGS.batchSize)).toBe('samples per batch (default: 64)');
    expect(flagHelp(TRAIN_FLAGS.lr)).toMatch(/^learning rate \(default: 0\.05 for sgd, 0\.001 for adam, .*, 0\.0001 for lion, 0\.001 for muon\)$/);
    expect(TRAIN_DEFAULTS.batchSize).toBe(TRAIN_FLAGS.batchSize.default);
    expect([...RESUME_FLAGS].sort()).toEqual(['backend', 'earlyStopping', 'epochs', 'json', 'out', 'quiet', 'resume', 'threads']);
  });

  it('--resume refuses a flag that would change the saved run, naming the ones that may change', async () => {
    const r = await cli('train', '--resume', join(dir, 'x.safetensors'), '--lr', '0.1');
    expect(r.code).toBe(2);
    expect(r.err[0]).toContain('--lr cannot be combined with --resume');
    expect(r.err[0]).toContain('--epochs, --early-stopping');
  });
});
