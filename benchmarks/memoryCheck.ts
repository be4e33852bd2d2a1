/**
 * One question: what does the memory rule "a recycled tensor throws instead of reading another tensor's
 * numbers" (engine/memory.ts) cost a training step? The check sits in `Tensor.data`'s getter (one load
 * and one branch per read of a tensor, none per element), so its cost is the number of `data` reads a
 * step makes times what one checked read costs more than an unchecked one. Both are measured here, on
 * the MLP of the benchmark (784-300-100-10, SGD momentum, batch 64, each step in a scope):
 *
 *  1. the reads per step: the getter is wrapped with a counter for a few steps (then put back);
 *  2. ns per read, checked (`t.data`) and unchecked (the storage's view, what the getter returns),
 *     over the tensors a step really reads, in interleaved rounds;
 *  3. the step's own time, so the cost is printed as a share of it.
 *
 * A share is robust to the machine's load (both sides slow down together); the absolute numbers are not.
 *
 *   npx tsx benchmarks/memoryCheck.ts [--rounds 5]
 */
import { Rng, Tensor, allocPersistent, setThreads, threadsReady } from '../engine/index.js';
import { POOL_IMAGES, floatPool, loadMnist, poolBatch } from './mnist.js';
import { buildWorkload, stepOf } from './workloads.js';

const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt < 0 ? 5 : Number(process.argv[roundsAt + 1]);
setThreads(1);
await threadsReady();

const B = 64;
const train = floatPool(loadMnist('train'), POOL_IMAGES, allocPersistent);
const { model, opt } = buildWorkload('mlp', new Rng(1));
const trainOn = stepOf(model, opt, B);
const step = (b: number): number => {
  const { x, y } = poolBatch(train, b, B);
  return trainOn(x, y);
};
for (let b = 0; b < 300; b++) step(b);

// 1. Reads of `data` per step, with the getter wrapped for 100 steps.
const descriptor = Object.getOwnPropertyDescriptor(Tensor.prototype, 'data')!;
let reads = 0;
Object.defineProperty(Tensor.prototype, 'data', {
  ...descriptor,
  get(this: Tensor) {
    reads++;
    return descriptor.get!.call(this);
  },
});
for (let b = 300; b < 400; b++) step(b);
Object.defineProperty(Tensor.prototype, 'data', descriptor);
const readsPerStep = reads / 100;

// 2. One checked read against one unchecked read, over many live tensors (as a step's are).
const tensors = model.parameters().concat(Array.from({ length: 60 }, () => Tensor.zeros([4, 4])));
const views = tensors.map((t) => (t as unknown as { storage: { view: Float32Array } }).storage.view);
const READS = 20_000_000;
function checked(): number {
  let sum = 0;
  for (let i = 0; i < READS; i++) sum += tensors[i % tensors.length].data.length;
  return sum;
}
function unchecked(): number {
  let sum = 0;
  for (let i = 0; i < READS; i++) sum += views[i % views.length].length;
  return sum;
}

// 3. The step itself.
const STEPS = 500;
function steps(first: number): number {
  let last = 0;
  for (let b = first; b < first + STEPS; b++) last = step(b);
  return last;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = (fn: () => unknown): number => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
const extra: number[] = [];
const stepMs: number[] = [];
for (let r = 0; r < rounds; r++) {
  const c = timed(checked);
  const u = timed(unchecked);
  extra.push(((c - u) * 1e6) / READS); // ns a checked read costs more
  stepMs.push(timed(() => steps(400 + r * STEPS)) / STEPS);
}
const ns = median(extra);
const ms = median(stepMs);
const share = (readsPerStep * ns) / (ms * 1e6);
console.log(
  `Tensor.data reads per training step (MLP, batch 64): ${readsPerStep.toFixed(0)}\n` +
    `a checked read costs ${ns.toFixed(2)} ns more than an unchecked one (median of ${rounds} rounds; ${extra.map((x) => x.toFixed(2)).join(', ')})\n` +
    `a step takes ${ms.toFixed(3)} ms: the check costs ${(readsPerStep * ns / 1000).toFixed(2)} µs a step, ${(share * 100).toFixed(3)}% of it`,
);
process.exit(0);
