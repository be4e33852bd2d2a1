/**
 * Two threads against one in one process, in alternating blocks of steps, so that what the rest of a
 * shared machine does in the meantime falls on both alike (separate processes minutes apart see
 * different machines). "One thread" is the same process with the cut-overs at Infinity: every task
 * stays on the calling thread and the worker sleeps, as with `--threads 1`.
 *
 *   npx tsx benchmarks/interleave.ts [--workload mlp] [--batch 64] [--blocks 16] [--block-samples 16384]
 *
 * Prints one JSON line: the median samples/s of each side, the median and quartiles of the per-pair
 * ratio (two threads over one), and the products the pool ran per step in each two-thread block (fewer
 * than the step has above the cut-over when the busy check, engine/threads/contention.ts, kept tasks on
 * the calling thread). With TAPEGRAD_BUSY_CHECK=0 the pool takes every task whatever the machine does.
 */
import { Rng, allocPersistent, setThreads, threadsReady } from '../engine/index.js';
import { PARALLEL_MIN_MACS, PARALLEL_MIN_WORK, parallelProductCount, setParallelMinMacs } from '../engine/threads/index.js';
import { POOL_IMAGES, WORKLOADS, floatPool, loadMnist, poolBatch, type Workload } from './mnist.js';
import { buildWorkload, stepOf } from './workloads.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const workload = option('workload', 'mlp') as Workload;
if (!WORKLOADS.includes(workload)) throw new Error(`interleave: --workload must be one of ${WORKLOADS.join(', ')}`);
const B = Number(option('batch', '64'));
const blocks = Number(option('blocks', '16'));
const steps = Math.max(1, Math.round(Number(option('block-samples', '16384')) / B));

setThreads(2);
await threadsReady();
const train = floatPool(loadMnist('train'), POOL_IMAGES, allocPersistent);
const { model, opt } = buildWorkload(workload, new Rng(1));
const step = stepOf(model, opt, B);
let b = 0;

function block(pool: boolean): { samplesPerSec: number; pooledPerStep: number } {
  if (pool) setParallelMinMacs(PARALLEL_MIN_MACS, PARALLEL_MIN_WORK);
  else setParallelMinMacs(Infinity, Infinity);
  const pooled = parallelProductCount();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const batch = poolBatch(train, b++, B);
    step(batch.x, batch.y);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { samplesPerSec: (steps * B) / seconds, pooledPerStep: (parallelProductCount() - pooled) / steps };
}

block(false);
block(true); // warm-up: the JIT, the first allocations, the workers' first products
const one: number[] = [];
const two: number[] = [];
const ratios: number[] = [];
const pooled: number[] = [];
for (let k = 0; k < blocks; k++) {
  // Alternate which side goes first, so neither always follows the other.
  const [a, c] = k % 2 === 0 ? [block(false), block(true)] : (([x, y]) => [y, x])([block(true), block(false)]);
  one.push(a.samplesPerSec);
  two.push(c.samplesPerSec);
  ratios.push(c.samplesPerSec / a.samplesPerSec);
  pooled.push(c.pooledPerStep);
}
setParallelMinMacs(PARALLEL_MIN_MACS, PARALLEL_MIN_WORK);

const quantile = (xs: number[], q: number): number => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const round = (x: number, digits: number): number => Number(x.toFixed(digits));
console.log(JSON.stringify({
  workload, batch: B, blocks, stepsPerBlock: steps, runtime: `node ${process.version}`,
  oneThread: Math.round(quantile(one, 0.5)), twoThreads: Math.round(quantile(two, 0.5)),
  ratio: round(quantile(ratios, 0.5), 3), ratioQuartiles: [round(quantile(ratios, 0.25), 3), round(quantile(ratios, 0.75), 3)],
  pooledPerStep: pooled.map((x) => round(x, 2)),
}));
