/** `npx tsx benchmarks/run.ts [--quick]`: the benchmark, standalone (benchmarks/index.ts). */
import { runBenchmark } from './index.js';

await runBenchmark({ quick: process.argv.includes('--quick') });
