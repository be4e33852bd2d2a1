/**
 * Contestant: tapegrad itself, through its public API (Sequential, Dense, ReLU, SGD, crossEntropy):
 * the same MLP and optimizer as the peers. `--backend js|wasm` picks the engine's kernels
 * (setBackend; without the flag, the engine's default), `--threads N` sets the matmul pool,
 * `--zero-skip 0` turns the kernel's zero skipping off (dense arithmetic, like the peers').
 * Each step runs in a `scoped` call, as the engine asks of a hand-written loop that wants flat memory
 * (engine/memory.ts), and the batch buffer is the engine's own memory, so the pool reads it in place.
 * With `--epochs E` it also trains E full passes over the 60,000 training images and records, after
 * each, the heap (after a full GC when run with --expose-gc) and the size of the tensor arena, to show
 * that steady state allocates nothing that survives a step. Prints one JSON line (PeerResult).
 */
import type { BackendName } from '../../engine/index.js';
import { Tensor, allocPersistent, getBackend, memoryStats, noGrad, scoped, setBackend, setThreads, threadsReady } from '../../engine/index.js';
import { setZeroSkipping } from '../../engine/kernels/gemmPacked.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { CLASSES, PIXELS, fillBatch, loadMnist, parsePeerArgs, printResult, timeInference, timeTraining } from '../mnist.js';

const args = parsePeerArgs(process.argv.slice(2));
if (args.backend !== '') await setBackend(args.backend as BackendName);
setThreads(args.threads);
setZeroSkipping(args.zeroSkip !== 0);
await threadsReady();

const B = args.batch;
const train = loadMnist('train');
const test = loadMnist('test');

// Dense defaults: Glorot-uniform kernel, zero bias (Keras's defaults, DESIGN.md).
const model = new Sequential([new Dense(PIXELS, 300), new ReLU(), new Dense(300, 100), new ReLU(), new Dense(100, CLASSES)]);
const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const x = allocPersistent(B * PIXELS);
const y = new Int32Array(B);

function step(b: number): number {
  fillBatch(x, y, train, b, B);
  return scoped(() => {
    const loss = Tensor.crossEntropy(model.forward(Tensor.from(x, { shape: [B, PIXELS] })), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss.item();
  });
}

const training = await timeTraining(step, args.warmup, args.steps, B);

model.eval();
const inferSamplesPerSec = await timeInference(test, args.inferBatch, args.inferBatches, (x) => {
  scoped(() => noGrad(() => model.forward(Tensor.from(x, { shape: [args.inferBatch, PIXELS] }))));
});
model.train();

let heapMiB: number[] | undefined;
let arenaMiB: number[] | undefined;
if (args.epochs > 0) {
  const gc = (globalThis as { gc?: () => void }).gc;
  heapMiB = [];
  arenaMiB = [];
  const perEpoch = Math.floor(train.count / B);
  for (let e = 0; e < args.epochs; e++) {
    for (let b = 0; b < perEpoch; b++) step(e * perEpoch + b);
    gc?.();
    heapMiB.push(process.memoryUsage().heapUsed / 2 ** 20);
    arenaMiB.push(memoryStats().arenaBytes / 2 ** 20);
  }
}

printResult(`tapegrad-${getBackend() === 'wasm' ? 'wasm-' : ''}${args.threads}t${args.zeroSkip === 0 ? '-dense' : ''}`, args, training, inferSamplesPerSec, {
  threads: args.threads,
  backend: getBackend(),
  ...(heapMiB ? { heapMiB } : {}),
  ...(arenaMiB ? { arenaMiB } : {}),
});
