/**
 * A short real run through the command (in-process, to skip a process start): 5,000 MNIST images, one
 * epoch. Checks the accuracy is sensible, the run folder holds every promised file, the --json line
 * comes last, and `eval` on the saved model reproduces the test accuracy without any architecture flags.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/program.js';

const out = join(mkdtempSync(join(tmpdir(), 'tapegrad-mnist-')), 'run');

describe('tapegrad train on MNIST (short)', () => {
  it('reaches a sensible accuracy after one epoch on 5,000 images and writes the run folder', async () => {
    const io = memoryIo();
    const args = ['--train-size', '5000', '--test-size', '1000', '--epochs', '1', '--batch-size', '32', '--lr', '0.02', '--val-split', '0.1'];
    const code = await runCli(['train', ...args, '--out', out, '--json'], io);
    expect(io.errors).toEqual([]);
    expect(code).toBe(0);
    const summary = JSON.parse(io.lines[io.lines.length - 1]);
    expect(summary.test_accuracy).toBeGreaterThan(0.85);
    expect(io.lines).toContain(`test accuracy: ${summary.test_accuracy.toFixed(4)} (last weights, epoch 1)`);
    for (const f of ['best.safetensors', 'last.safetensors', 'metrics.csv', 'metrics.jsonl', 'curves.svg']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds,samples_per_sec');
    expect(csv).toHaveLength(2);
    expect(readFileSync(join(out, 'curves.svg'), 'utf8')).toMatch(/^<svg/);

    const evalIo = memoryIo();
    expect(await runCli(['eval', '--model', join(out, 'last.safetensors'), '--test-size', '1000', '--json'], evalIo)).toBe(0);
    const evaluated = JSON.parse(evalIo.lines[evalIo.lines.length - 1]);
    expect(evaluated.accuracy).toBe(summary.test_accuracy);
  });
});
