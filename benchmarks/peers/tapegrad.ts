/**
 * Contestant: tapegrad itself, through its public API (Sequential, Dense, ReLU, SGD, crossEntropy):
 * the same MLP and optimizer as the peers. `--threads N` sets the matmul pool; `--zero-skip 0` turns
 * the kernel's zero skipping off (dense arithmetic, like the peers').
 * With `--epochs E` it also trains E full passes over the 60,000 training images and records the heap
 * after each (after a full GC when run with --expose-gc), to show that steady state allocates nothing
 * that survives a step. Prints one JSON line (PeerResult).
 */
import { Tensor, noGrad, setThreads, threadsReady } from '../../engine/index.js';
import { setZeroSkipping } from '../../engine/kernels/gemmPacked.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { CLASSES, PIXELS, fillBatch, loadMnist, parsePeerArgs, printResult, timeInference, timeTraining } from '../mnist.js';

const args = parsePeerArgs(process.argv.slice(2));
setThreads(args.threads);
setZeroSkipping(args.zeroSkip !== 0);
await threadsReady();

const B = args.batch;
const train = loadMnist('train');
const test = loadMnist('test');

// Dense defaults: Glorot-uniform kernel, zero bias (Keras's defaults, DESIGN.md).
const model = new Sequential([new Dense(PIXELS, 300), new ReLU(), new Dense(300, 100), new ReLU(), new Dense(100, CLASSES)]);
const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const x = new Float32Array(B * PIXELS);
const y = new Int32Array(B);

function step(b: number): number {
  fillBatch(x, y, train, b, B);
  const loss = Tensor.crossEntropy(model.forward(Tensor.from(x, { shape: [B, PIXELS] })), y);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  return loss.item();
}

const training = await timeTraining(step, args.warmup, args.steps, B);

model.eval();
const inferSamplesPerSec = await timeInference(test, args.inferBatch, args.inferBatches, (x) => {
  noGrad(() => model.forward(Tensor.from(x, { shape: [args.inferBatch, PIXELS] })));
});
model.train();

let heapMiB: number[] | undefined;
if (args.epochs > 0) {
  const gc = (globalThis as { gc?: () => void }).gc;
  heapMiB = [];
  const perEpoch = Math.floor(train.count / B);
  for (let e = 0; e < args.epochs; e++) {
    for (let b = 0; b < perEpoch; b++) step(e * perEpoch + b);
    gc?.();
    heapMiB.push(process.memoryUsage().heapUsed / 2 ** 20);
  }
}

printResult(`tapegrad-${args.threads}t${args.zeroSkip === 0 ? '-dense' : ''}`, args, training, inferSamplesPerSec, {
  threads: args.threads,
  ...(heapMiB ? { heapMiB } : {}),
});
