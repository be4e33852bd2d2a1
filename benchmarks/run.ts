/**
 * `npx tsx benchmarks/run.ts [--quick] [--node <path>]...`: the benchmark, standalone (benchmarks/index.ts).
 * Each `--node` adds a Node binary the Node rows run on, the first being the headline; without one,
 * $TAPEGRAD_BENCH_NODES or this Node (benchmarks/machine.ts).
 */
import { runBenchmark } from './index.js';
import { nodePaths } from './machine.js';

const argv = process.argv.slice(2);
await runBenchmark({ quick: argv.includes('--quick'), nodes: nodePaths(argv) });
