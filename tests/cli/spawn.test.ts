/**
 * The real process: exit codes, one-line errors without a stack trace, and Ctrl-C. Spawning costs about
 * a second per run (tsx compiles on start), so most flag checks live in options.test.ts, in-process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
        // Signalled when the first epoch's line arrives: a fast machine cannot finish the other four first.
        if (!sent && text.includes('epoch 1/5')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    );
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`resume with: npx tapegrad train --resume ${join(out, 'last.safetensors')}`);
    const ck = load(join(out, 'last.safetensors'));
    expect(ck.model).not.toBeNull();
    expect(ck.progress!.epoch).toBeGreaterThanOrEqual(1);
    expect(ck.progress!.epoch).toBeLessThan(5);
    expect(existsSync(join(out, 'best.safetensors'))).toBe(true);
  });

  it('SIGTERM does what Ctrl-C does: finishes the batch, writes last.safetensors, prints the resume command, exits 143; the resume finishes the run', async () => {
    const out = join(dir, 'sigterm');
    let sent = false;
    const args = ['train', '--dataset', 'mnist', '--train-size', '3000', '--test-size', '100', '--batch-size', '16', '--epochs', '4', '--out', out];
    const r = await tapegrad(args, (text, child) => {
      if (!sent && text.includes('epoch 1/4')) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    expect(sent).toBe(true);
    expect(r.signal, r.stderr).toBeNull(); // it exited by itself, not killed by the signal
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain('terminated (SIGTERM): finishing the current batch and saving last.safetensors');
    const last = join(out, 'last.safetensors');
    expect(r.stderr).toContain(`resume with: npx tapegrad train --resume ${last}`);
    const stopped = load(last).progress!;
    expect(stopped.epoch).toBeGreaterThanOrEqual(1);
    expect(stopped.epoch).toBeLessThan(4);

    const resumed = await tapegrad(['train', '--resume', last, '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/test accuracy: \d\.\d{4} \(last weights, epoch 4\)/);
    expect(load(last).progress!.epoch).toBe(4);
  });
});

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/    at /);
  return lines[0];
}

describe('tapegrad (spawned): failures', () => {
  it('a run that diverges exits 1 with one line and no stack trace', async () => {
    const out = join(dir, 'diverge');
    const r = await tapegrad(['train', '--dataset', 'iris', '--epochs', '2', '--lr', '16', '--out', out]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^tapegrad train: training diverged: .*epoch 1.*; try a lower --lr than 16 \(npx tapegrad lr-find suggests one\)$/);
    expect(r.stdout).not.toContain('test accuracy');
  });
});

/**
 * Ctrl-C in a real terminal: tmux runs the command in a pseudo-terminal (so the live progress bar is
 * drawn), `send-keys C-c` is the keystroke, `capture-pane` the screen as a person sees it. Before, the
 * bar's redraw landed on the notice and the resume command ("…/last.safetensorsles/s | ETA 6s").
 */
const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasTmux)(`Ctrl-C in a terminal (${hasTmux ? 'tmux' : 'no tmux: skipped'})`, () => {
  it('the bar is gone before the notice, and the notice and the resume command are whole lines', async () => {
    const socket = `tapegrad-test-${process.pid}`;
    const out = join(dir, 'tty');
    const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    const command = `TAPEGRAD_THREADS=1 ${process.execPath} ${bin} train --train-size 20000 --test-size 100 --batch-size 16 --epochs 5 --out ${out}; echo EXIT=$?; sleep 60`;
    const screen = () => tmux('capture-pane', '-p', '-J', '-t', 'run').stdout ?? '';
    const waitFor = async (test: (s: string) => boolean, ms: number) => {
      for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if (test(screen())) return true;
      return false;
    };
    try {
      expect(tmux('new-session', '-d', '-s', 'run', '-x', '220', '-y', '50', '-c', root, command).status).toBe(0);
      // The live bar is up: training is in an epoch.
      expect(await waitFor((s) => /epoch \d\/5 \[.*ETA/.test(s), 60_000), screen()).toBe(true);
      tmux('send-keys', '-t', 'run', 'C-c');
      expect(await waitFor((s) => s.includes('EXIT='), 60_000), screen()).toBe(true);
      const lines = screen().split('\n').map((l) => l.trimEnd());
      expect(lines).toContain('interrupt: finishing the current batch and saving last.safetensors (press Ctrl-C again to quit at once)');
      expect(lines).toContain(`resume with: npx tapegrad train --resume ${join(out, 'last.safetensors')}`);
      expect(lines).toContain('EXIT=130');
      expect(lines.some((l) => /^interrupted at epoch \d, batch \d+\/1125; saved /.test(l))).toBe(true);
      // No trace of the bar is left on the screen.
      expect(lines.filter((l) => l.includes('ETA'))).toEqual([]);
      expect(load(join(out, 'last.safetensors')).progress!.batch).toBeGreaterThan(0);
    } finally {
      tmux('kill-server');
    }
  });
});

/**
 * A full disk and a read-only folder, for real: small tmpfs mounts (root only; skipped elsewhere, and
 * where the sandbox forbids mounting).
 */
const mountRoot = mkdtempSync(join(tmpdir(), 'tapegrad-mounts-'));
const mounted: string[] = [];
function mountTmpfs(name: string, options: string): string | null {
  const path = join(mountRoot, name);
  mkdirSync(path, { recursive: true });
  if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', path], { stdio: 'ignore' }).status !== 0) return null;
  mounted.push(path);
  return path;
}
const canMount = (() => {
  const probe = mountTmpfs('probe', 'size=64k');
  return probe !== null;
})();
afterAll(() => {
  for (const path of mounted) spawnSync('umount', ['-l', path], { stdio: 'ignore' });
});

describe.skipIf(!canMount)(`full and read-only file systems (${canMount ? 'tmpfs mounts' : 'cannot mount here: skipped'})`, () => {
  it('a full disk during a write: one line naming the file, exit 1, and the previous checkpoint survives', async () => {
    // Room for epoch 1's best (128 kB) and last (256 kB, weights and momentum), not for epoch 2's last.
    const disk = mountTmpfs('full', 'size=576k')!;
    const out = join(disk, 'run');
    const r = await tapegrad(['train', '--dataset', 'iris', '--epochs', '3', '--out', out]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe(`tapegrad train: cannot write ${join(out, 'last.safetensors')}: no space left on device (ENOSPC)`);
    const ck = load(join(out, 'last.safetensors'));
    expect(ck.progress!.epoch).toBe(1);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a read-only --out: one line naming --out before any work (lr-find too), exit 2', async () => {
    const ro = mountTmpfs('ro', 'ro,size=64k')!;
    for (const args of [
      ['train', '--dataset', 'iris', '--out', join(ro, 'run')],
      ['train', '--dataset', 'iris', '--out', ro],
      ['lr-find', '--dataset', 'iris', '--out', join(ro, 'lr')],
    ]) {
      const r = await tapegrad(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(oneLine(r.stderr)).toMatch(new RegExp(`^tapegrad (train|lr-find): --out ${args[args.length - 1]}: .*read-only file system \\(EROFS\\)$`));
      expect(r.stdout).toBe('');
    }
  });
});
