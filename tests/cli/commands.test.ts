/** sweep and lr-find end to end on Iris (fast), in-process: their files and their --json lines. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { getBackend, getThreads, setBackend, setThreads, usesFma } from '../../engine/index.js';
import { runCli } from '../../cli/program.js';

const dir = mkdtempSync(join(tmpdir(), 'tapegrad-cmd-'));
const iris = ['--dataset', 'iris', '--layers', '8', '--batch-size', '16'];

describe('train --resume', () => {
  it('continues a run exactly: 3 epochs, then --resume to 5, equals 5 epochs straight', async () => {
    const flags = [...iris, '--schedule', 'step:drop=0.5,every=2', '--dropout', '0.2', '--quiet'];
    const straight = join(dir, 'straight');
    const straightIo = memoryIo();
    expect(await runCli(['train', ...flags, '--epochs', '5', '--out', straight, '--json'], straightIo)).toBe(0);
    const straightSummary = JSON.parse(straightIo.lines[straightIo.lines.length - 1]);
    const first = join(dir, 'first');
    expect(await runCli(['train', ...flags, '--epochs', '3', '--out', first], memoryIo())).toBe(0);
    const io = memoryIo();
    expect(await runCli(['train', '--resume', join(first, 'last.safetensors'), '--epochs', '5', '--quiet', '--json'], io)).toBe(0);
    expect(io.lines.some((l) => l.includes('resuming at epoch 4, batch 0'))).toBe(true);
    const column = (path: string, name: string) => {
      const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
      const k = head.split(',').indexOf(name);
      return rows.map((r) => r.split(',')[k]);
    };
    for (const name of ['epoch', 'loss', 'val_loss', 'learning_rate']) {
      expect(column(join(first, 'metrics.csv'), name)).toEqual(column(join(straight, 'metrics.csv'), name));
    }
    expect(JSON.parse(io.lines[io.lines.length - 1]).test_accuracy).toBe(straightSummary.test_accuracy);
  });
});

describe('train says what it runs on', () => {
  it('names the backend, its kernels and the thread count after the model line', async () => {
    const before = { backend: getBackend(), threads: getThreads() };
    try {
      const js = memoryIo();
      expect(await runCli(['train', ...iris, '--epochs', '1', '--quiet', '--backend', 'js', '--threads', '1', '--out', join(dir, 'engine-js')], js)).toBe(0);
      expect(js.lines[js.lines.findIndex((l) => l.startsWith('model: ')) + 1]).toBe('engine: js (JavaScript kernels), 1 thread');
      const wasm = memoryIo();
      expect(await runCli(['train', ...iris, '--epochs', '1', '--quiet', '--backend', 'wasm', '--threads', '2', '--out', join(dir, 'engine-wasm')], wasm)).toBe(0);
      expect(wasm.lines).toContain(`engine: wasm (WebAssembly SIMD, ${usesFma() ? 'FMA' : 'mul+add'}), 2 threads`);
    } finally {
      await setBackend(before.backend);
      setThreads(before.threads);
    }
  });
});

describe('sweep and lr-find', () => {
  it('sweep trains once per dropout rate and draws both accuracy panels', async () => {
    const io = memoryIo();
    const out = join(dir, 'sweep');
    expect(await runCli(['sweep', ...iris, '--dropout', '0,0.5', '--epochs', '2', '--quiet', '--out', out, '--json'], io)).toBe(0);
    const summary = JSON.parse(io.lines[io.lines.length - 1]);
    expect(summary.runs.map((r: { dropout: number }) => r.dropout)).toEqual([0, 0.5]);
    const svg = readFileSync(join(out, 'sweep.svg'), 'utf8');
    expect(svg).toContain('train accuracy');
    expect(svg).toContain('validation accuracy');
    expect(existsSync(join(out, 'dropout-0.5', 'last.safetensors'))).toBe(true);
  });

  it('lr-find sweeps the rate, suggests one and plots it', async () => {
    const io = memoryIo();
    const out = join(dir, 'lrf');
    expect(await runCli(['lr-find', ...iris, '--steps', '40', '--start', '1e-4', '--end', '10', '--out', out, '--json'], io)).toBe(0);
    const summary = JSON.parse(io.lines[io.lines.length - 1]);
    expect(summary.suggested).toBeGreaterThan(1e-4);
    expect(summary.suggested).toBeLessThan(10);
    // The marker is labelled with the rate the text prints, and sits at the rate the summary holds.
    const printed = /^suggested learning rate: ([\d.e+-]+) /.exec(io.lines.find((l) => l.startsWith('suggested learning rate'))!)![1];
    expect(Math.abs(Number(printed) / summary.suggested - 1)).toBeLessThan(0.006);
    expect(readFileSync(join(out, 'lr-find.svg'), 'utf8')).toContain(`suggested ${printed}`);
  });

  it('lr-find checks its own flags', async () => {
    const io = memoryIo();
    expect(await runCli(['lr-find', '--start', '1', '--end', '0.1'], io)).toBe(2);
    expect(io.errors).toHaveLength(1);
    expect(io.errors[0]).toContain('--end');
  });
});
