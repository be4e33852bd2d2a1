/**
 * Writing files so that nothing is lost: the one `writeFileAtomic` of the library. data/ writes its
 * IDX files and the Fashion-MNIST cache with it, train/ its checkpoints and logs (train imports data,
 * not the other way round, so it lives here). Node only: in a page each function is a NodeOnlyError
 * naming the function that was called.
 */
import { nodeModule } from './node.js';

/** What a page does instead of writing a file: the end of the NodeOnlyError's message. */
const IN_A_PAGE = 'in a page, keep the bytes where a page can (IndexedDB, a download, a POST)';

/** A file could not be written (a full disk, a read-only folder): the message names the file and why. */
export class WriteError extends Error {
  /** The error class, as `err.name` and stack traces show it. */
  override name = 'WriteError';

  constructor(
    /** The file that could not be written: the target, not the temporary file beside it. */
    readonly path: string,
    /** Node's error code: 'ENOSPC', 'EROFS', 'EACCES'... */
    readonly code: string | undefined,
    reason: string,
  ) {
    super(`cannot write ${path}: ${reason}`);
  }
}

/**
 * A file could not be read: a folder where a file was expected, no permission. The message names the
 * function, the path, why and what was expected (Node's own EISDIR message names no path at all).
 */
export class ReadError extends Error {
  /** The error class, as `err.name` and stack traces show it. */
  override name = 'ReadError';

  constructor(
    /** The path that could not be read. */
    readonly path: string,
    /** Node's error code: 'EISDIR', 'EACCES'... */
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** `ENOSPC: no space left on device, write` → `no space left on device (ENOSPC)`. */
function systemReason(e: NodeJS.ErrnoException): string {
  if (!e.code) return e.message;
  return `${e.message.replace(`${e.code}: `, '').replace(/, \w+( '.*')?$/, '')} (${e.code})`;
}

/**
 * The temporary file of a write to `<name>`: `.<name>.tapegrad-<pid>-<time>.tmp`, hidden, beside its
 * target. The name says whose it is (tapegrad's, so a folder can be cleaned without touching anyone
 * else's files), which process wrote it (so a stale one can be told from a write in progress) and
 * what it was for.
 */
const TEMPORARY = /^\..+\.tapegrad-(\d+)-\d+\.tmp$/;

function temporaryName(name: string): string {
  return `.${name}.tapegrad-${process.pid}-${Date.now()}.tmp`;
}

/**
 * A temporary file left this long is stale even if a process with its writer's id is running: that is
 * another process that reused the id (a killed writer's id comes round again, soon in a container). A
 * write is synchronous and takes seconds; nothing writes one file for an hour.
 */
const STALE_AFTER_MS = 60 * 60 * 1000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that killed writes left in `dir` (a `kill -9` between open and rename
 * leaves one, as big as the file), and only those: files named as writeFileAtomic names them, whose
 * writer is gone, is this process (which writes synchronously, so none of its own writes is in flight),
 * or has not touched the file for an hour (the id was reused). A write by another running tapegrad
 * (two runs into one folder) is left alone. Every write cleans its folder first, and every command
 * cleans the folders it writes to when it starts (the command line's `--out` check, `eval`'s model
 * folder), so a killed run's temporary file goes with the next run of any command there. Node only.
 */
export function removeStaleTemporaries(dir: string): void {
  removeStale(dir, 'removeStaleTemporaries');
}

function removeStale(dir: string, op: string): void {
  const { readdirSync, rmSync, statSync } = nodeModule('node:fs', op, IN_A_PAGE);
  const { join } = nodeModule('node:path', op, IN_A_PAGE);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMPORARY.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    const path = join(dir, name);
    if (pid !== process.pid && processAlive(pid)) {
      let age = 0;
      try {
        age = Date.now() - statSync(path).mtimeMs;
      } catch {
        continue; // gone already: its writer renamed it
      }
      if (age < STALE_AFTER_MS) continue;
    }
    rmSync(path, { force: true });
  }
}

/**
 * Writes atomically: the bytes go to a temporary file beside the target, are flushed to disk, and the
 * temporary file is renamed over the target (rename is atomic within one file system), so a reader, or
 * a crash, never sees half a file. Stale temporaries of earlier, killed writes in the same folder are
 * removed first. A failure (ENOSPC, EROFS, EACCES) is a WriteError naming `path`; the temporary file is
 * removed and the target is untouched. Node only.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  writeFileAtomicFor(path, bytes, 'writeFileAtomic');
}

/**
 * writeFileAtomic for `op`, the public function that was called (`writeIdx`, `save`, `CsvLogger`...):
 * in a page the NodeOnlyError names it, and ends with `instead` when the caller knows better what a page
 * does instead.
 */
export function writeFileAtomicFor(path: string, bytes: Uint8Array | string, op: string, instead = IN_A_PAGE): void {
  const { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } = nodeModule('node:fs', op, instead);
  const { basename, dirname, join } = nodeModule('node:path', op, instead);
  const dir = dirname(path);
  removeStale(dir, op);
  const tmp = join(dir, temporaryName(basename(path)));
  try {
    const fd = openSync(tmp, 'w');
    try {
      const buf = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
      let written = 0;
      while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw new WriteError(path, err.code, systemReason(err));
  }
}

/**
 * A file's bytes, for `op`. A missing file is Node's ENOENT error (its message names the path, and
 * callers tell "missing" by its code); any other failure is a ReadError naming `op`, the path, why, and
 * `expected` ("a safetensors file"). Node only.
 */
export function readFileFor(path: string, op: string, instead = IN_A_PAGE, expected = 'a file'): Uint8Array {
  const { readFileSync } = nodeModule('node:fs', op, instead);
  try {
    return readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === undefined || err.code === 'ENOENT') throw e;
    const why = err.code === 'EISDIR' ? 'is a folder (EISDIR)' : `cannot be read: ${systemReason(err)}`;
    throw new ReadError(path, err.code, `${op}: ${path} ${why}; expected ${expected}`);
  }
}
