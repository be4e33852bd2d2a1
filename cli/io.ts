/**
 * Where the commands write, so tests can run them in-process and read what they printed. The real
 * one writes to the process's streams; `isTTY` decides between a live progress bar and plain lines.
 */
import { readFileSync } from 'node:fs';
import * as engine from '../engine/index.js';
import { FormatError } from '../engine/index.js';
import { load, type Checkpoint } from '../train/index.js';
import { UsageError } from './options.js';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  isTTY: boolean;
  /** Ctrl-C: the train command aborts this to stop after the current batch. */
  onInterrupt?(handler: () => void): () => void;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTTY: Boolean(process.stdout.isTTY),
  onInterrupt(handler) {
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
};

/** Collects output in arrays (tests). */
export function memoryIo(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), isTTY: false };
}

/**
 * Loads a checkpoint named by a flag. A file that is missing or not a valid checkpoint is a usage error
 * (exit 2) naming the flag and the path; one that exists but cannot be read (permissions, a folder) is
 * exit 1.
 */
export function loadCheckpointFlag(flag: string, path: string): Checkpoint {
  try {
    return load(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new UsageError(`${flag} ${path}: no such file`);
    if (e instanceof FormatError) throw new UsageError(`${flag} ${path}: not a valid tapegrad checkpoint: ${e.message.replace(`${path}: `, '')}`);
    if (err.code) {
      // Distinguish unreadable from missing: try the plain read for the system's own reason.
      try {
        readFileSync(path);
      } catch (inner) {
        throw new UsageError(`${flag} ${path}: cannot read the file (${(inner as NodeJS.ErrnoException).code ?? 'error'})`, 1);
      }
    }
    throw new UsageError(`${flag} ${path}: cannot read the checkpoint (${err.message})`, 1);
  }
}

/** `--threads N`: the engine's worker pool size (results do not depend on it, only speed). */
export function applyThreads(threads: number | null): void {
  if (threads === null) return;
  const setThreads = (engine as Record<string, unknown>).setThreads;
  if (typeof setThreads !== 'function') return;
  try {
    (setThreads as (n: number) => void)(threads);
  } catch (e) {
    throw new UsageError(`--threads ${threads}: ${(e as Error).message}`);
  }
}

/** `runs/mnist-20261123-201500`: a fresh folder per run, so runs never overwrite each other. */
export function defaultRunDir(name: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `runs/${name}-${stamp}`;
}
