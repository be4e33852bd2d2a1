/**
 * The real process: exit codes, one-line errors without a stack trace, and Ctrl-C. Spawning costs about
 * a second per run (tsx compiles on start), so most flag checks live in options.test.ts, in-process.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from '../../train/index.js';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/tapegrad.js');
const dir = mkdtempSync(join(tmpdir(), 'tapegrad-spawn-'));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns `tapegrad args`; `onStdout` may act on the output as it arrives (send a signal, say). */
function tapegrad(args: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, TAPEGRAD_THREADS: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

describe('tapegrad (spawned)', () => {
  it('a bad flag is one line on stderr, exit 2, no stack trace', async () => {
    const r = await tapegrad(['train', '--lr', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['tapegrad train: --lr "abc": expected a number > 0']);
    expect(r.stdout).toBe('');
  });

  it('Ctrl-C finishes the batch, writes a loadable last.safetensors, prints the resume command, exits 130', async () => {
    const out = join(dir, 'sigint');
    let sent = false;
    const r = await tapegrad(
      ['train', '--dataset', 'mnist', '--train-size', '6000', '--test-size', '100', '--batch-size', '16', '--epochs', '5', '--out', out],
      (text, child) => {
        // The second line announces the run: training starts right after it.
        if (!sent && text.includes(`-> ${out}`)) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 300);
        }
      },
    );
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`resume with: npx tapegrad train --resume ${join(out, 'last.safetensors')}`);
    const ck = load(join(out, 'last.safetensors'));
    expect(ck.model).not.toBeNull();
    expect(ck.progress!.epoch > 0 || ck.progress!.batch > 0).toBe(true);
    expect(ck.progress!.epoch).toBeLessThan(5);
    expect(existsSync(join(out, 'best.safetensors')) || ck.progress!.epoch === 0).toBe(true);
  });
});
