/**
 * `tapegrad bench [--quick]`: the benchmark module (benchmarks/index.ts, `runBenchmark`): the kernel
 * table and the MNIST training throughput against the peers. It writes its own results files
 * (benchmarks/results/); this command streams its progress and reports where they went.
 * The Node binaries the Node rows run on come from TAPEGRAD_BENCH_NODES (paths separated by ':'; the
 * first is the headline), else this Node (benchmarks/machine.ts).
 * The module is loaded when the command runs, not at start-up: the other commands never pay for it.
 */
import type { Io } from './io.js';
import { BENCH_FLAGS, RUN_FLAGS, UsageError, parseFlags, type RawOptions } from './options.js';

interface BenchModule {
  runBenchmark(options: { quick?: boolean; log?: (line: string) => void; backend?: 'wasm' | 'js' }): Promise<{
    training: Array<{ row: string; trainSamplesPerSec: number | null; inferSamplesPerSec: number | null; unavailable?: string }>;
    ratios: Array<{ name: string; value: number | null; min?: number }>;
    files: { json: string; markdown: string };
  }>;
}

/**
 * `--backend` here picks the tapegrad rows of the training table (each runs in a process of its own, on
 * the backend its row names), not this process's kernels: the peers and the kernel table run as usual.
 */
export async function benchCommand(raw: RawOptions, io: Io): Promise<Record<string, unknown>> {
  const { quick } = parseFlags(BENCH_FLAGS, raw);
  const { backend } = parseFlags(RUN_FLAGS, raw);
  const modulePath = '../benchmarks/index.js';
  let mod: Partial<BenchModule>;
  try {
    mod = (await import(modulePath)) as Partial<BenchModule>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    mod = {};
  }
  if (typeof mod.runBenchmark !== 'function') {
    // An installed package: the benchmarks and their peers (TF.js, jax-js, PyTorch) stay in the repository.
    throw new UsageError(
      'the benchmarks are not part of the npm package (they run TensorFlow.js, jax-js and PyTorch beside tapegrad): run `npm ci && npm run bench` in a clone of the repository',
    );
  }
  const result = await mod.runBenchmark({ quick, log: (line) => io.out(line), ...(backend !== null ? { backend } : {}) });
  io.out('training throughput (samples/s):');
  for (const t of result.training) {
    if (t.unavailable !== undefined || t.trainSamplesPerSec === null || t.inferSamplesPerSec === null) {
      io.out(`  ${t.row.padEnd(36)} ${t.unavailable ?? 'did not run'}`);
      continue;
    }
    io.out(`  ${t.row.padEnd(36)} train ${Math.round(t.trainSamplesPerSec).toString().padStart(7)}   inference ${Math.round(t.inferSamplesPerSec).toString().padStart(8)}`);
  }
  io.out(`results: ${result.files.markdown} and ${result.files.json}`);
  return { command: 'bench', quick, backend, training: result.training, ratios: result.ratios, files: result.files };
}
