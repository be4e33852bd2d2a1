/**
 * The README's "The way out", run as written: its commands and its code, taken from README.md itself.
 *   1. `npx tapegrad train --out runs/mnist` (here with a few thousand images and one epoch, to be quick);
 *   2. the README's continue.py under `torchrun --standalone --nproc_per_node=2`: PyTorch loads
 *      best.safetensors strictly into the same nn.Sequential and trains it on two processes with
 *      DistributedDataParallel (gloo) on MNIST's own files;
 *   3. the README's `tapegrad export` command, and its ONNX Runtime code (onnxruntime-web, in Node), which
 *      prints the logits' shape.
 * Debian has no python3-safetensors, so `from safetensors.torch import load_file` finds a stand-in on
 * PYTHONPATH: the format read by hand (struct + json), as tests/train/pytorch.test.ts does.
 * Skipped, with the reason, where no Python with torch (and its torchrun) is found.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/program.js';
import { fencedBlocks } from '../package/markdown.js';
import { LOAD_FILE, TORCH_ENV, python } from './pytorch-support.js';

const root = resolve(import.meta.dirname, '../..');
const torchrun = ['/usr/bin/torchrun'].find((p) => python !== undefined && existsSync(p));

/** The README's section `title`, up to the next section. */
function section(readme: string, title: string): string {
  const start = readme.indexOf(`## ${title}`);
  expect(start, title).toBeGreaterThanOrEqual(0);
  return readme.slice(start, readme.indexOf('\n## ', start + 3));
}

/** `npx tapegrad <args>` in a shell block, as the argument list. */
function tapegradArgs(block: string, command: string): string[] {
  const line = block.split('\n').find((l) => l.startsWith(`npx tapegrad ${command}`));
  expect(line, `npx tapegrad ${command}`).toBeDefined();
  return line!.replace(/#.*$/, '').trim().split(/\s+/).slice(2);
}

describe.skipIf(torchrun === undefined)(`the README's way out (${torchrun ?? 'no torchrun with torch: skipped'})`, () => {
  it('tapegrad trains, PyTorch goes on with DistributedDataParallel on two processes from best.safetensors, ONNX Runtime serves the export', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const wayOut = fencedBlocks(section(readme, 'The way out'));
    const [train, continuePy, serve] = [wayOut.find((b) => b.lang === 'sh')!, wayOut.find((b) => b.lang === 'python')!, wayOut.find((b) => b.lang === 'js')!];
    const exportBlock = fencedBlocks(section(readme, 'Weights in and out')).find((b) => b.lang === 'sh' && b.code.includes('tapegrad export'))!;

    // A folder laid out as the README's reader's project: runs/, node_modules (MNIST's files, onnxruntime-web).
    const dir = mkdtempSync(join(tmpdir(), 'tapegrad-way-out-'));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const inDir = (args: string[]) => args.map((a) => (/^(runs\/|model\.onnx$)/.test(a) ? join(dir, a) : a));

    // 1. Train (a short run: the README's command with fewer images and one epoch).
    const trainArgs = inDir(tapegradArgs(train.code, 'train'));
    expect(trainArgs).toEqual(['train', '--out', join(dir, 'runs/mnist')]);
    const io = memoryIo();
    expect(await runCli([...trainArgs, '--train-size', '3000', '--test-size', '500', '--epochs', '1', '--quiet'], io), io.errors.join('\n')).toBe(0);
    expect(existsSync(join(dir, 'runs/mnist/best.safetensors'))).toBe(true);

    // 2. PyTorch, two processes.
    writeFileSync(join(dir, 'continue.py'), continuePy.code);
    mkdirSync(join(dir, 'shim', 'safetensors'), { recursive: true });
    writeFileSync(join(dir, 'shim', 'safetensors', '__init__.py'), '');
    writeFileSync(join(dir, 'shim', 'safetensors', 'torch.py'), LOAD_FILE);
    const command = /^# continue\.py: (torchrun [^(]*?)\s*(\(|$)/m.exec(continuePy.code)?.[1];
    expect(command).toBe('torchrun --standalone --nproc_per_node=2 continue.py');
    // Debian's torch 1.13 on Python 3.11 cannot parse torchrun's own defaults (`Std.from_str` misses the
    // IntFlag members that Python 3.11 no longer iterates; torch 2 fixed it): the per-rank form of the same
    // settings (each rank's stdout to the console) goes around it. Each line then starts with the rank's tag.
    const workaround = ['--redirects', '0:1,1:1', '--tee', '0:1,1:1'];
    const r = spawnSync(torchrun!, [...workaround, ...command!.split(/\s+/).slice(1)], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...TORCH_ENV, PYTHONPATH: join(dir, 'shim') },
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const losses = [...r.stdout.matchAll(/^(?:\[default\d\]:)?rank (\d): loss (\d+\.\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(losses.map(([rank]) => rank).sort()).toEqual([0, 1]);
    for (const [, loss] of losses) expect(loss).toBeLessThan(1); // it went on from trained weights (an untrained net: 2.3)
    expect(existsSync(join(dir, 'continued.pt'))).toBe(true);

    // 3. Export and serve.
    const exportArgs = inDir(tapegradArgs(exportBlock.code, 'export'));
    expect(exportArgs).toEqual(['export', '--model', join(dir, 'runs/mnist/best.safetensors'), '--format', 'onnx', '--out', join(dir, 'model.onnx')]);
    expect(await runCli(exportArgs, memoryIo())).toBe(0);
    writeFileSync(join(dir, 'serve.mjs'), serve.code.replace("'model.onnx'", JSON.stringify(join(dir, 'model.onnx'))));
    const served = spawnSync(process.execPath, ['serve.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(served.status, served.stderr).toBe(0);
    expect(served.stdout).toMatch(/^\[ 1, 10 \] Float32Array\(10\) \[/);
  }, 300_000);
});
