/**
 * Where the commands write, so tests can run them in-process and read what they printed. The real
 * one writes to the process's streams; `isTTY` decides between a live progress bar and plain lines.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ReadError, removeStaleTemporaries } from '../data/index.js';
import { FormatError, getBackend, getThreads, setBackend, setThreads, usesFma } from '../engine/index.js';
import { load, type Checkpoint } from '../train/index.js';
import { UsageError, type BackendFlag } from './options.js';

/** The signals that stop a training run after its current batch: Ctrl-C, and `kill`'s (a scheduler's, a container's stop). */
export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  isTTY: boolean;
  /** Ctrl-C or SIGTERM: the train command aborts this to stop after the current batch. */
  onInterrupt?(handler: (signal: StopSignal) => void): () => void;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTTY: Boolean(process.stdout.isTTY),
  onInterrupt(handler) {
    const on = (signal: NodeJS.Signals) => handler(signal as StopSignal);
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
    return () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    };
  },
};

/** Collects output in arrays (tests). */
export function memoryIo(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), isTTY: false };
}

/**
 * Loads a checkpoint named by a flag. A path that names no file is a usage error (exit 2) naming the
 * flag and the path; a file that is there but bad — not a checkpoint, truncated, damaged metadata,
 * weights that are NaN or infinite — or cannot be read (permissions, a folder) is exit 1, with one
 * line naming the flag, the path and what is wrong (the tensor, for non-finite weights).
 */
export function loadCheckpointFlag(flag: string, path: string): Checkpoint {
  try {
    return load(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new UsageError(`${flag} ${path}: no such file`);
    // A folder, no permission: ReadError's own words ("is a folder (EISDIR); expected a safetensors file ...").
    if (e instanceof ReadError && e.path === path) throw new UsageError(`${flag} ${path}:${e.message.slice(e.message.indexOf(path) + path.length)}`, 1);
    if (e instanceof FormatError) {
      const why = e.message.replace(`${path}: `, '');
      throw new UsageError(`${flag} ${path}: ${/^tensor '/.test(why) ? why : `not a valid tapegrad checkpoint: ${why}`}`, 1);
    }
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

/**
 * `--out DIR`, checked before any work: it must be a folder (or not exist yet) that this process can
 * create and write into. Made here, and probed with a small file, because access(W_OK) alone is not
 * the truth (a read-only mount, root's permissions), and mkdir on a read-only mount reports the
 * misleading ENOENT for a path whose parent is missing. Each failure is one UsageError naming --out.
 * Then the temporary files of writes killed there are removed (data/files.ts).
 */
export function checkOutDir(flag: string, dir: string): void {
  const fail = (why: string): never => {
    throw new UsageError(`${flag} ${dir}: ${why}`);
  };
  const reason = (e: unknown): string => {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EROFS' ? 'read-only file system (EROFS)' : code === 'EACCES' ? 'permission denied (EACCES)' : code === 'ENOSPC' ? 'no space left on device (ENOSPC)' : String(code ?? (e as Error).message);
  };
  let exists = true;
  try {
    if (!statSync(dir).isDirectory()) fail('is a file, not a folder');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') fail('a part of the path is a file, not a folder');
    if (code !== 'ENOENT') fail(`cannot be used: ${reason(e)}`);
    exists = false;
  }
  if (!exists) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EEXIST') fail('a part of the path is a file, not a folder');
      // mkdir -p on a read-only file system says ENOENT for the part it could not make: ask the
      // nearest folder that exists why it cannot be written.
      let parent = dirname(resolve(dir));
      while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
      try {
        accessSync(parent, constants.W_OK);
      } catch (inner) {
        fail(`cannot create the folder: ${parent} is not writable: ${reason(inner)}`);
      }
      fail(`cannot create the folder: ${reason(e)}`);
    }
  }
  // Named as writeFileAtomic names its temporaries: if this process is killed now, the next run removes it.
  const probe = join(dir, `.write-check.tapegrad-${process.pid}-${Date.now()}.tmp`);
  try {
    accessSync(dir, constants.W_OK);
    writeFileSync(probe, '');
  } catch (e) {
    fail(`cannot write into the folder: ${reason(e)}`);
  } finally {
    rmSync(probe, { force: true });
  }
  // What an earlier run killed mid-write left here goes now, whatever this command writes later.
  removeStaleTemporaries(dir);
}

/**
 * `--backend wasm|js`, applied before any work (compiling the WebAssembly kernels is asynchronous).
 * Not given: the engine's default. A backend this runtime cannot run is a UsageError naming the flag.
 */
export async function applyBackend(backend: BackendFlag | null): Promise<void> {
  if (backend === null) return;
  try {
    await setBackend(backend);
  } catch (e) {
    throw new UsageError(`--backend ${backend}: ${(e as Error).message}`);
  }
}

/**
 * The note `--resume` prints when the checkpoint was computed on another backend or FMA setting: the
 * run continues, but float32 rounding differs, so not bit for bit as it would have gone on. Null when
 * they match (or the file predates the record).
 */
export function backendNote(ck: Checkpoint): string | null {
  if (ck.backend === null) return null;
  const now = { backend: getBackend(), fma: usesFma() };
  if (ck.backend === now.backend && (ck.fma === null || ck.fma === now.fma)) return null;
  const desc = (b: string, fma: boolean | null) => `${b}${b === 'wasm' && fma !== null ? (fma ? ' with FMA' : ' without FMA') : ''}`;
  return `note: ${ck.path} was computed on the ${desc(ck.backend, ck.fma)} backend and this run uses ${desc(now.backend, now.fma)}: it continues, but not bit for bit as it would have there (float32 rounding differs)`;
}

/** `--threads N`: the engine's worker pool size (results do not depend on it, only speed). */
export function applyThreads(threads: number | null): void {
  if (threads === null) return;
  try {
    setThreads(threads);
  } catch (e) {
    throw new UsageError(`--threads ${threads}: ${(e as Error).message}`);
  }
}

/** What the products run on, for the start of a run: `engine: wasm (WebAssembly SIMD, mul+add), 2 threads`. */
export function engineLine(): string {
  const backend = getBackend();
  const kernels = backend === 'wasm' ? `WebAssembly SIMD, ${usesFma() ? 'FMA' : 'mul+add'}` : 'JavaScript kernels';
  const threads = getThreads();
  return `engine: ${backend} (${kernels}), ${threads} thread${threads === 1 ? '' : 's'}`;
}

/** `runs/mnist-20261123-201500`: a fresh folder per run, so runs never overwrite each other. */
export function defaultRunDir(name: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `runs/${name}-${stamp}`;
}
