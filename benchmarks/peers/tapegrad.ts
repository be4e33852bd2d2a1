/**
 * Contestant: tapegrad itself, through its public API, on the workloads of benchmarks/mnist.ts
 * (`--workload mlp|a001|d2l`, the models of benchmarks/workloads.ts).
 * `--backend js|wasm` picks the engine's kernels (setBackend; without the flag, the engine's default),
 * `--threads N` sets the matmul pool, `--zero-skip 0` turns the kernel's zero skipping off (dense
 * arithmetic, like the peers').
 * Each step runs in a `scoped` call, as the engine asks of a hand-written loop that wants flat memory
 * (engine/memory.ts). The pool of converted batches is the engine's own memory (allocPersistent), so the
 * kernels read a batch in place, as they would a DataLoader's.
 * With `--epochs E` it runs the memory check instead of the timed steps: E full passes over the 60,000
 * training images (each batch converted as it goes, and no pools, so peak RSS is the engine's), recording
 * after each the heap (after a full GC when run with --expose-gc) and the size of the tensor arena, to show
 * that steady state allocates nothing that survives a step. Prints one JSON line (PeerResult).
 */
import type { BackendName } from '../../engine/index.js';
import { Rng, Tensor, allocPersistent, getBackend, memoryStats, noGrad, parallelProductCount, scoped, setBackend, setThreads, threadsReady, usesFma } from '../../engine/index.js';
import { setZeroSkipping } from '../../engine/kernels/gemmPacked.js';
import {
  PIXELS, POOL_IMAGES, TEST_POOL_IMAGES, fillBatch, floatPool, loadMnist, parsePeerArgs, poolBatch, printResult, timeInference, timeTraining,
} from '../mnist.js';
import { buildWorkload, stepOf } from '../workloads.js';

const args = parsePeerArgs(process.argv.slice(2));
if (args.backend !== '') await setBackend(args.backend as BackendName);
setThreads(args.threads);
setZeroSkipping(args.zeroSkip !== 0);
await threadsReady();

const B = args.batch;
const trainBytes = loadMnist('train');
const { model, opt } = buildWorkload(args.workload, new Rng(1));

const trainOn = stepOf(model, opt, B);

let training: Awaited<ReturnType<typeof timeTraining>>;
let inferSamplesPerSec = 0;
let heapMiB: number[] | undefined;
let arenaMiB: number[] | undefined;
let pooledPerStep: number | undefined;
if (args.epochs === 0) {
  const train = floatPool(trainBytes, POOL_IMAGES, allocPersistent);
  const test = floatPool(loadMnist('test'), TEST_POOL_IMAGES, allocPersistent);
  const pooledBefore = parallelProductCount();
  training = await timeTraining((b) => {
    const batch = poolBatch(train, b, B);
    return trainOn(batch.x, batch.y);
  }, args.warmup, args.steps, B, args.warmupMs);
  pooledPerStep = (parallelProductCount() - pooledBefore) / (training.warmupSteps + args.steps);
  model.eval();
  inferSamplesPerSec = await timeInference(test, args.inferBatch, args.inferBatches, (x) => {
    scoped(() => noGrad(() => model.forward(Tensor.from(x, { shape: [args.inferBatch, PIXELS] }))));
  });
  model.train();
} else {
  // The memory run: full epochs, each batch converted as it goes into one buffer (no pools, so peak RSS
  // is the engine's); its samples/s includes that conversion and is not a benchmark row.
  const gc = (globalThis as { gc?: () => void }).gc;
  heapMiB = [];
  arenaMiB = [];
  const x = allocPersistent(B * PIXELS);
  const y = new Int32Array(B);
  const perEpoch = Math.floor(trainBytes.count / B);
  let b = 0;
  training = await timeTraining(() => {
    fillBatch(x, y, trainBytes, b, B);
    const loss = trainOn(x, y);
    if (++b % perEpoch === 0) {
      gc?.();
      heapMiB!.push(process.memoryUsage().heapUsed / 2 ** 20);
      arenaMiB!.push(memoryStats().arenaBytes / 2 ** 20);
    }
    return loss;
  }, 0, args.epochs * perEpoch, B);
  args.steps = args.epochs * perEpoch; // the result line's step count
}

printResult(`tapegrad-${getBackend()}-${args.threads}t${args.zeroSkip === 0 ? '-dense' : ''}`, args, training, inferSamplesPerSec, {
  threads: args.threads,
  ...(args.threads > 1 && pooledPerStep !== undefined ? { pooledPerStep } : {}),
  backend: getBackend(),
  fma: usesFma(),
  ...(heapMiB ? { heapMiB } : {}),
  ...(arenaMiB ? { arenaMiB } : {}),
});
