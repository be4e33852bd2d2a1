/**
 * Finding the Python that runs the PyTorch contestant (benchmarks/peers/pytorch.py).
 *
 * The order: the interpreter named by the environment variable TAPEGRAD_PYTHON, then
 * /usr/bin/python3 (Debian's, where `apt-get install python3-torch` puts torch; the `python3` first
 * on PATH may be another one without it). The first that can `import torch` under the environment
 * below is used. With none, the PyTorch rows say "not installed" and the ratios against them say n/a.
 *
 * The environment pins PyTorch to one core and to OpenBLAS: OPENBLAS_NUM_THREADS=1 and
 * OMP_NUM_THREADS=1 (the script also calls torch.set_num_threads), and Debian's pthread OpenBLAS
 * directory first on LD_LIBRARY_PATH, so torch's libblas.so.3 resolves to OpenBLAS and not to the
 * reference BLAS, whatever the system's alternatives say (the script reports which one it mapped).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON_ENV_VAR = 'TAPEGRAD_PYTHON';
export const DEFAULT_PYTHON = '/usr/bin/python3';
export const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
/** What an absent PyTorch row says. */
export const TORCH_MISSING = 'not installed: apt-get install python3-torch libopenblas0-pthread';

export type PythonFound =
  | { found: true; python: string; torch: string; env: NodeJS.ProcessEnv }
  | { found: false; reason: string; tried: string[] };

/** The environment every Python contestant runs in (one thread, OpenBLAS first). */
export function pythonEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
  if (existsSync(OPENBLAS_DIR)) env.LD_LIBRARY_PATH = [OPENBLAS_DIR, base.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

/** The interpreters to try, in order: $TAPEGRAD_PYTHON (when set), then /usr/bin/python3. */
export function pythonCandidates(base: NodeJS.ProcessEnv = process.env): string[] {
  const named = base[PYTHON_ENV_VAR]?.trim();
  return named ? [named, DEFAULT_PYTHON] : [DEFAULT_PYTHON];
}

/**
 * The first candidate that imports torch, with torch's version; or why none did (`tried` holds one
 * line per candidate: "<path>: <what went wrong>").
 */
export function findPython(candidates: string[] = pythonCandidates(), env: NodeJS.ProcessEnv = pythonEnv()): PythonFound {
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { env, encoding: 'utf8', timeout: 120_000 });
    if (r.error) {
      tried.push(`${python}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message}`);
      continue;
    }
    if (r.status !== 0) {
      const lines = r.stderr.trim().split('\n');
      tried.push(`${python}: ${lines[lines.length - 1] || `exit code ${r.status}`}`);
      continue;
    }
    return { found: true, python, torch: r.stdout.trim(), env };
  }
  return { found: false, reason: TORCH_MISSING, tried };
}
