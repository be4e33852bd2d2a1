/**
 * `tapegrad bench [--quick]`: runs the benchmark module (benchmarks/index.ts, the performance work's
 * `runBenchmark`). It is loaded by a computed path so that the command line still works, and says so,
 * while that module has not landed.
 */
import type { Io } from './io.js';

export async function benchCommand(raw: { quick?: boolean }, io: Io): Promise<Record<string, unknown>> {
  const modulePath = '../benchmarks/index.js';
  let mod: { runBenchmark?: (opts: { quick: boolean }) => unknown };
  try {
    mod = (await import(modulePath)) as typeof mod;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw e;
    io.out('bench: the benchmarks have not landed yet; see the performance issue');
    return { command: 'bench', available: false };
  }
  if (typeof mod.runBenchmark !== 'function') {
    io.out('bench: benchmarks/index.ts has no runBenchmark yet; see the performance issue');
    return { command: 'bench', available: false };
  }
  const result = await mod.runBenchmark({ quick: raw.quick === true });
  return { command: 'bench', available: true, result: result ?? null };
}
