/**
 * What benchmarks/profile.ts profiles: one workload's training steps through tapegrad's public API,
 * exactly as the tapegrad peer runs them (peers/tapegrad.ts: batches converted before, each step in a
 * scope), `--warmup` steps first, then `--steps` steps inside `profiledSteps`, the function whose
 * first and last samples mark the profile's window. Prints one JSON line: samples/s of the window, and
 * how many products a step sent to the thread pool (the engine decides per product; 0 on one thread).
 *
 *   node --cpu-prof --import tsx benchmarks/profileTarget.ts --workload mlp --batch 64 --threads 2 --steps 2000
 */
import type { BackendName } from '../engine/index.js';
import { Rng, allocPersistent, getBackend, parallelProductCount, setBackend, setThreads, threadsReady, usesFma } from '../engine/index.js';
import { POOL_IMAGES, floatPool, loadMnist, parsePeerArgs, poolBatch } from './mnist.js';
import { buildWorkload, stepOf } from './workloads.js';

const args = parsePeerArgs(process.argv.slice(2));
if (args.backend !== '') await setBackend(args.backend as BackendName);
setThreads(args.threads);
await threadsReady();

const B = args.batch;
const train = floatPool(loadMnist('train'), POOL_IMAGES, allocPersistent);
const { model, opt } = buildWorkload(args.workload, new Rng(1));

const trainOn = stepOf(model, opt, B);
const step = (b: number): number => {
  const { x, y } = poolBatch(train, b, B);
  return trainOn(x, y);
};

/** The profiled window: its name is what profile.ts looks for. */
function profiledSteps(first: number, steps: number): number {
  let last = 0;
  for (let b = first; b < first + steps; b++) last = step(b);
  return last;
}

for (let b = 0; b < args.warmup; b++) step(b);
const pooled = parallelProductCount();
const t0 = performance.now();
const loss = profiledSteps(args.warmup, args.steps);
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({
  workload: args.workload, batch: B, threads: args.threads, backend: getBackend(), fma: usesFma(), steps: args.steps,
  samplesPerSec: (args.steps * B) / seconds, poolProductsPerStep: (parallelProductCount() - pooled) / args.steps, loss, node: process.version,
}));
process.exit(0);
