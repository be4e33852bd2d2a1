/**
 * Issue 12, in-process: every fault path of the command line says what happened, in one line, with
 * the exit code that tells a script what kind of failure it was (2: a bad flag or a complete run;
 * 1: a bad file, a diverged run, a failed sweep), and a successful run claims only the files it wrote.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng, getBackend, setBackend } from '../../engine/index.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { load, readSafetensors, save, writeSafetensors } from '../../train/index.js';
import { cli, expectOneLine } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-rel-'));
const iris = ['--dataset', 'iris', '--layers', '8', '--batch-size', '16', '--quiet'];


/** The rows of a metrics.csv column. */
function column(path: string, name: string): number[] {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const k = head.split(',').indexOf(name);
  return rows.map((r) => Number(r.split(',')[k]));
}

describe('flags a command would ignore, and data that does not fit a flag', () => {
  it('lr-find refuses --lr, --schedule and --test-size, saying why (they were silently ignored)', async () => {
    expectOneLine(await cli('lr-find', '--dataset', 'iris', '--lr', '0.1'), 2, '--lr', 'sets the rate itself', '--start', '--end');
    expectOneLine(await cli('lr-find', '--dataset', 'iris', '--schedule', 'cosine'), 2, '--schedule', 'sets the rate itself');
    expectOneLine(await cli('lr-find', '--dataset', 'iris', '--test-size', '10'), 2, '--test-size', 'does not test');
    // They are not in its help, and train still takes them.
    const help = (await cli('lr-find', '--help')).out.join('\n');
    expect(help).not.toMatch(/--lr |--schedule |--test-size /);
  });

  it('--val-split that leaves no training data and --augment on data that is not images: one line, exit 2', async () => {
    expectOneLine(await cli('train', '--dataset', 'iris', '--val-split', '0.999', '--out', join(dir, 'vs')), 2, '--val-split 0.999', 'leaving none to train on');
    expectOneLine(await cli('train', '--dataset', 'iris', '--augment', 'shift', '--out', join(dir, 'aug')), 2, '--augment shift', 'not images');
    expectOneLine(await cli('lr-find', '--dataset', 'iris', '--augment', 'affine', '--out', join(dir, 'aug2')), 2, '--augment affine');
  });
});

describe('runs that cannot work are refused before they start, or said to have failed', () => {
  it('--batch-norm with a batch of one sample, first or last: one line, exit 2 (it crashed at the end of epoch 1)', async () => {
    expectOneLine(await cli('train', '--dataset', 'iris', '--batch-norm', '--batch-size', '1', '--out', join(dir, 'bn1')), 2, '--batch-norm', 'at least 2');
    // Iris's 108 training samples in batches of 107: the last holds 1.
    expectOneLine(await cli('train', '--dataset', 'iris', '--batch-norm', '--batch-size', '107', '--out', join(dir, 'bn107')), 2, '--batch-size 107', 'the last batch', 'e.g. 108');
  });

  it('lr-find whose loss only rises (every rate too high) fails, exit 1, instead of suggesting half the first rate', async () => {
    const out = join(dir, 'lr-high');
    const r = await cli('lr-find', '--dataset', 'iris', '--start', '1e12', '--end', '1e15', '--out', out);
    expectOneLine(r, 1, 'the loss rose from the first rate on (1.00e+12', 'give a lower --start');
    expect(r.out.some((l) => l.startsWith('suggested'))).toBe(false);
    expect(existsSync(join(out, 'lr-find.svg'))).toBe(true);
  });

  it('a run that diverges at the last batch of an epoch is reported by that batch, not by its validation', async () => {
    const r = await cli('train', '--dataset', 'iris', '--weight-decay', '1e9', '--epochs', '3', '--quiet', '--out', join(dir, 'wd'));
    expectOneLine(r, 1, 'at epoch 1, batch 2/2', 'or a smaller --weight-decay than 1000000000');
  });
});

describe('--out is checked before any work', () => {
  it('an existing file, or a path through one: one line naming --out, exit 2, nothing trained', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const command of ['train', 'lr-find', 'sweep']) {
      const extra = command === 'sweep' ? ['--dropout', '0,0.5'] : [];
      const flags = command === 'lr-find' ? iris.filter((f) => f !== '--quiet') : iris;
      const r = await cli(command, ...flags, ...extra, '--out', file);
      expectOneLine(r, 2, `--out ${file}`, 'is a file, not a folder');
      // lr-find used to sweep first and fail after; nothing ran here.
      expect(r.out).toEqual([]);
      expectOneLine(await cli(command, ...flags, ...extra, '--out', join(file, 'run')), 2, `--out ${join(file, 'run')}`, 'a part of the path is a file');
    }
  });
});

describe('checkpoints that cannot be used', () => {
  it('eval on a checkpoint holding NaN or infinite weights: one line naming the tensor, exit 1', async () => {
    const model = new Sequential([new Dense(4, 8, { rng: new Rng(1) }), new ReLU(), new Dense(8, 3, { rng: new Rng(2) })]);
    model.layers[0].parameters()[0].data[3] = NaN;
    const path = join(dir, 'nan.safetensors');
    save(path, { model, info: { hyperParams: { config: { dataset: 'iris', seed: 1 } } } });
    // Before: relu(NaN) was 0, and eval printed a finite "test loss: 2.3989", exit 0.
    expectOneLine(await cli('eval', '--model', path), 1, `--model ${path}`, "tensor '0.weight' holds NaN");
  });

  it('a checkpoint naming a data set tapegrad does not know: exit 1 for eval and --resume, naming it', async () => {
    const out = join(dir, 'unknown-ds');
    expect((await cli('train', ...iris, '--epochs', '1', '--out', out)).code).toBe(0);
    for (const name of ['best', 'last']) {
      const { tensors, metadata } = readSafetensors(join(out, `${name}.safetensors`));
      const hyper = JSON.parse(metadata.hyperParams);
      hyper.config.dataset = 'cifar10';
      writeSafetensors(join(out, `${name}-cifar.safetensors`), tensors, { ...metadata, hyperParams: JSON.stringify(hyper) });
    }
    expectOneLine(await cli('eval', '--model', join(out, 'best-cifar.safetensors')), 1, 'the data set "cifar10"', 'mnist, fashion-mnist, iris');
    expectOneLine(await cli('train', '--resume', join(out, 'last-cifar.safetensors'), '--epochs', '2'), 1, 'the data set "cifar10"');
  });
});

describe('eval on another data set than the model was trained on', () => {
  it('an MNIST model on Fashion-MNIST is refused without --force (same shapes, so it ran and printed accuracy 0.03), exit 2; with --force it runs and says so', async () => {
    const model = new Sequential([new Dense(784, 10, { rng: new Rng(1) })]);
    const path = join(dir, 'mnist-model.safetensors');
    save(path, { model, info: { hyperParams: { config: { dataset: 'mnist', seed: 1 } } } });
    expectOneLine(await cli('eval', '--model', path, '--dataset', 'fashion-mnist', '--test-size', '50'), 2, '--dataset fashion-mnist', `${path} was trained on mnist`, '--force');
    const forced = await cli('eval', '--model', path, '--dataset', 'fashion-mnist', '--test-size', '50', '--force');
    expect(forced.code, forced.err.join('\n')).toBe(0);
    expect(forced.err).toEqual([`note: ${path} was trained on mnist; evaluating it on fashion-mnist (--force)`]);
    expect(forced.out.some((l) => l.startsWith('test accuracy: '))).toBe(true);
    // Its own data set, named or not, needs no flag; --force is eval's alone.
    expect((await cli('eval', '--model', path, '--dataset', 'mnist', '--test-size', '50')).code).toBe(0);
    expect((await cli('eval', '--model', path, '--test-size', '50')).err).toEqual([]);
    expect((await cli('train', '--force')).code).toBe(2);
  });
});

describe('resume', () => {
  it('resuming a finished run says it is complete and how to extend it, exit 2, and claims no file', async () => {
    const out = join(dir, 'finished');
    expect((await cli('train', ...iris, '--epochs', '2', '--out', out)).code).toBe(0);
    const last = join(out, 'last.safetensors');
    const before = statSync(last).mtimeMs;
    const r = await cli('train', '--resume', last);
    expectOneLine(r, 2, 'the run is complete (2 epochs of 2)', `--resume ${last} --epochs 4`);
    expect(r.out).toEqual([]);
    expect(statSync(last).mtimeMs).toBe(before);
    expectOneLine(await cli('train', '--resume', last, '--epochs', '2'), 2, '--epochs 2', 'already trained 2 epochs', 'more than 2');
    expectOneLine(await cli('train', '--resume', join(out, 'best.safetensors')), 2, 'weights alone', 'last.safetensors');
  });

  it("extending a finished cosine run restarts the cycle over the added epochs, says so, and claims only what it wrote", async () => {
    const out = join(dir, 'extend');
    const first = await cli('train', ...iris, '--epochs', '3', '--out', out);
    expect(first.code).toBe(0);
    expect(first.out.some((l) => l.includes('3 epochs of 7 batches'))).toBe(true);
    const lr3 = column(join(out, 'metrics.csv'), 'learning_rate');
    expect(lr3[0]).toBe(0.05);

    const started = Date.now();
    const r = await cli('train', '--resume', join(out, 'last.safetensors'), '--epochs', '6');
    expect(r.code, r.err.join('\n')).toBe(0);
    const note = r.out.find((l) => l.startsWith('extending the run'));
    expect(note).toMatch(/its cosine schedule ended at epoch 3, so epochs 4-6 start a new cosine cycle from lr 0.05 \(a warm restart\), not what a 6-epoch run would have done/);
    expect(r.out.join('\n')).not.toMatch(/continues exactly|bit for bit/);
    const lr6 = column(join(out, 'metrics.csv'), 'learning_rate');
    // Epochs 1-3 as they were; 4-6 the same cycle again, not a 3-epoch cycle stretched to 6 (0.0125 → 0.025: the jump).
    expect(lr6.slice(0, 3)).toEqual(lr3);
    expect(lr6.slice(3)).toEqual(lr3);

    // Every file the run names it wrote just now.
    const saved = r.out.find((l) => l.startsWith('saved in '))!;
    const names = saved.replace(`saved in ${out}: `, '').split(', ').map((n) => n.replace(/ \(epoch \d+\)$/, ''));
    expect(names).toContain('last.safetensors');
    for (const n of names) expect(statSync(join(out, n)).mtimeMs, n).toBeGreaterThanOrEqual(started - 5);
    const bestNamed = /best\.safetensors \(epoch (\d+)\)/.exec(saved);
    if (bestNamed) expect(load(join(out, 'best.safetensors')).epoch).toBe(Number(bestNamed[1]));
    else expect(statSync(join(out, 'best.safetensors')).mtimeMs).toBeLessThan(started);

    // A second extension keeps both cycles and adds a third: 2 epochs from 0.05.
    const again = await cli('train', '--resume', join(out, 'last.safetensors'), '--epochs', '8');
    expect(again.code).toBe(0);
    const lr8 = column(join(out, 'metrics.csv'), 'learning_rate');
    expect(lr8.slice(0, 6)).toEqual(lr6);
    expect(lr8.slice(6)).toEqual([0.05, 0.025]);
  });

  it('extending a one-cycle run adds a cycle over the added epochs (per batch), the first one unchanged', async () => {
    const out = join(dir, 'extend-onecycle');
    expect((await cli('train', ...iris, '--schedule', 'onecycle', '--epochs', '2', '--out', out)).code).toBe(0);
    const before = column(join(out, 'metrics.csv'), 'learning_rate');
    const r = await cli('train', '--resume', join(out, 'last.safetensors'), '--epochs', '4');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out.some((l) => l.includes('its onecycle schedule ended at epoch 2, so epochs 3-4 start a new onecycle cycle'))).toBe(true);
    const after = column(join(out, 'metrics.csv'), 'learning_rate');
    expect(after.slice(0, 2)).toEqual(before);
    // Each epoch's first step: the new cycle starts where the first did (maxLr / 25).
    expect(after.slice(2)).toEqual(before);
    expect(after[0]).toBeCloseTo(0.05 / 25, 12);
  });

  it('extending a step-schedule run goes on with its formula, as a longer run would have', async () => {
    const flags = [...iris, '--schedule', 'step:drop=0.5,every=2'];
    const out = join(dir, 'extend-step');
    expect((await cli('train', ...flags, '--epochs', '2', '--out', out)).code).toBe(0);
    const r = await cli('train', '--resume', join(out, 'last.safetensors'), '--epochs', '5');
    expect(r.out).toContain('extending the run from 2 to 5 epochs with the step schedule going on as its formula says (the rates a 5-epoch run would have had)');
    expect(column(join(out, 'metrics.csv'), 'learning_rate')).toEqual([0.05, 0.05, 0.025, 0.025, 0.0125]);
  });

  it('a checkpoint of another backend continues with one note; of the same backend without one', async () => {
    const initial = getBackend();
    try {
      const out = join(dir, 'backend');
      expect((await cli('train', ...iris, '--epochs', '1', '--backend', 'js', '--out', out)).code).toBe(0);
      expect(load(join(out, 'last.safetensors')).backend).toBe('js');
      const same = await cli('train', '--resume', join(out, 'last.safetensors'), '--epochs', '2', '--backend', 'js');
      expect(same.code).toBe(0);
      expect(same.out.filter((l) => l.startsWith('note:'))).toEqual([]);
      await setBackend('wasm').catch(() => undefined);
      if (getBackend() === 'wasm') {
        const other = await cli('train', '--resume', join(out, 'last.safetensors'), '--epochs', '3', '--backend', 'wasm');
        expect(other.code).toBe(0);
        const notes = other.out.filter((l) => l.startsWith('note:'));
        expect(notes).toHaveLength(1);
        expect(notes[0]).toMatch(/was computed on the js backend and this run uses wasm .*FMA: it continues, but not bit for bit/);
      }
    } finally {
      await setBackend(initial);
    }
  });
});

describe('a run that diverges', () => {
  it('--lr 16 on Iris: one line naming the epoch, the batch, the loss and what to try, exit 1, no checkpoint', async () => {
    const out = join(dir, 'diverge');
    const r = await cli('train', '--dataset', 'iris', '--epochs', '2', '--lr', '16', '--out', out, '--quiet', '--json');
    // Before: exit 0 with "test loss: 8768288572164800512" and best.safetensors from the diverged epoch.
    expectOneLine(r, 1, 'training diverged', 'epoch 1', 'loss', 'try a lower --lr than 16', 'tapegrad lr-find');
    expect(existsSync(join(out, 'best.safetensors'))).toBe(false);
    expect(existsSync(join(out, 'last.safetensors'))).toBe(false);
    expect(r.out.some((l) => l.startsWith('test '))).toBe(false);
    const summary = JSON.parse(r.out[r.out.length - 1]);
    expect(summary).toMatchObject({ diverged: true, test_accuracy: null, tested: null });
  });
});

describe('the output says what it did', () => {
  it('"1 epoch", and the final line says which weights it tested', async () => {
    const out = join(dir, 'one');
    const r = await cli('train', ...iris, '--epochs', '1', '--out', out);
    expect(r.out.some((l) => /; 1 epoch of 7 batches, from scratch/.test(l))).toBe(true);
    expect(r.out[r.out.length - 1]).toMatch(/^test accuracy: \d\.\d{4} \(last weights, epoch 1\)$/);
    const e = await cli('eval', '--model', join(out, 'best.safetensors'));
    expect(e.out[0]).toMatch(/trained 1 epoch\)$/);
  });

  it('the help: each command its own --out default, the schedules\' parameters, the --threads range, best and last', async () => {
    const help = async (command: string) => (await cli(command, '--help')).out.join('\n').replace(/\s+/g, ' ');
    expect(await help('sweep')).toContain('(default: runs/sweep-<dataset>-<time>)');
    expect(await help('lr-find')).toContain('(default: runs/lr-find-<dataset>-<time>)');
    const train = await help('train');
    expect(train).toContain('(default: runs/<dataset>-<time>, or the folder of --resume)');
    for (const spec of ['cosine:tmax=EPOCHS,min=0', 'onecycle:max=LR', 'plateau:factor=0.1,patience=10,min=0', 'step:drop=0.5,every=10', 'exp:gamma=0.95']) expect(train).toContain(spec);
    expect(train).toMatch(/--threads <n> threads for the matrix products, 1 to \d+/);
    expect(train).toContain('--backend <name>');
    expect(train).toContain("The test accuracy printed at the end is that of the last epoch's weights");
    expect(train).toContain('best.safetensors (the weights of the epoch with the best val_loss, alone');
    expect(train).not.toMatch(/\b1 epochs\b/);
  });
});

describe('a sweep whose rate fails', () => {
  it('keeps what the finished rates produced, names the failure, exit 1', async () => {
    const out = join(dir, 'sweep-fail');
    mkdirSync(out, { recursive: true });
    // The second rate's folder is taken by a file: its run cannot start.
    writeFileSync(join(out, 'dropout-0.5'), 'in the way');
    const r = await cli('sweep', ...iris, '--dropout', '0,0.5,0.8', '--epochs', '2', '--out', out, '--json');
    expectOneLine(r, 1, 'dropout 0.5 failed', '--out', 'is a file', 'sweep.svg and sweep.jsonl', 'the 1 finished rate (0)');
    const jsonl = readFileSync(join(out, 'sweep.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(jsonl.map((s) => s.dropout)).toEqual([0]);
    expect(readFileSync(join(out, 'sweep.svg'), 'utf8')).toMatch(/^<svg/);
    expect(existsSync(join(out, 'dropout-0.8'))).toBe(false);
    expect(JSON.parse(r.out[r.out.length - 1]).runs).toHaveLength(1);
  });
});

describe('stale temporary files', () => {
  /**
   * Writes `path` atomically in a child process that SIGKILLs itself between the fsync and the rename,
   * as a `kill -9` during a checkpoint does: what it leaves is the temporary file a killed write leaves.
   */
  function killedWrite(path: string): string {
    const script = join(dir, `killed-write-${Date.now()}.mts`);
    writeFileSync(script, [
      `import { writeFileAtomic } from ${JSON.stringify(new URL('../../data/files.ts', import.meta.url).href)};`,
      "process.getBuiltinModule('node:fs').renameSync = () => process.kill(process.pid, 'SIGKILL');",
      `writeFileAtomic(${JSON.stringify(path)}, new Uint8Array(2_000_000));`,
    ].join('\n'));
    const tsx = new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [tsx, script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal === 'SIGKILL' || r.status === 137, r.stderr).toBe(true); // tsx passes its child's SIGKILL on as 137
    const left = readdirSync(dirname(path)).filter((f) => f.endsWith('.tmp'));
    expect(left, 'the killed write left its temporary file').toHaveLength(1);
    return left[0];
  }

  it('the next run of train, eval, lr-find or sweep removes a killed write\'s temporary file from the folder it writes to, and nothing else', async () => {
    const model = join(dir, 'stale-model');
    expect((await cli('train', ...iris, '--epochs', '1', '--out', model)).code).toBe(0);
    const runs: [string, string[]][] = [
      [join(dir, 'stale-train'), ['train', ...iris, '--epochs', '1']],
      [join(dir, 'stale-lr'), ['lr-find', '--dataset', 'iris', '--steps', '5']],
      [join(dir, 'stale-sweep'), ['sweep', ...iris, '--dropout', '0', '--epochs', '1']],
    ];
    // One real killed write; the other folders get a file of the same name (the same dead writer).
    const stale = killedWrite(join(model, 'last.safetensors'));
    for (const [out, argv] of [...runs, [model, []] as [string, string[]]]) {
      mkdirSync(out, { recursive: true });
      if (out !== model) writeFileSync(join(out, stale), Buffer.alloc(2_000_000));
      // Someone else's temporary file, and one of ours whose writer is still running: both stay.
      const live = stale.replace(/tapegrad-\d+-/, `tapegrad-${process.ppid}-`);
      for (const name of ['.notes.txt.12345.1700000000000.tmp', live]) writeFileSync(join(out, name), 'keep');
      const r = out === model ? await cli('eval', '--model', join(model, 'best.safetensors')) : await cli(...argv, '--out', out);
      expect(r.code, `${argv[0] ?? 'eval'}: ${r.err.join('\n')}`).toBe(0);
      expect(readdirSync(out).filter((f) => f.endsWith('.tmp')).sort(), argv[0] ?? 'eval').toEqual(['.notes.txt.12345.1700000000000.tmp', live].sort());
    }
  });
});
