/**
 * Peer: jax-js (@jax-js/jax 0.1.25), JAX in TypeScript: WebAssembly kernels it generates at run time
 * (relaxed-SIMD FMA where the runtime has it). In Node it runs its `wasm` device on one thread (its
 * thread pool needs a global `Worker`), started with `init('wasm')` (a bare `init()` fails on Node 20:
 * `navigator is not defined`).
 *
 * The main workload only (`--workload mlp`): 784-300-100-10, ReLU, Glorot-uniform kernels, zero
 * biases, softmax cross-entropy, SGD lr 0.1 momentum 0.9 written by hand (`@jax-js/optax` is not on the
 * registry): v = m·v + g, w −= lr·v, as tf.train.momentum and PyTorch's SGD. The whole step, the
 * loss's value and gradient (`valueAndGrad`) and the update, is one `jit` function, the fastest way
 * to run it (jit fuses the elementwise work around the products and records the kernels once). The
 * batches are float32 before timing (benchmarks/mnist.ts); each step hands its slice to np.array.
 *
 * jax-js counts references: every function takes ownership of the arrays passed to it, `.ref` keeps
 * one for later (its README, "Reference counting"). Prints one JSON line (PeerResult).
 */
import { defaultDevice, init, jit, nn, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import { Rng } from '../../engine/rng.js';
import {
  CLASSES, PIXELS, POOL_IMAGES, TEST_POOL_IMAGES, floatPool, glorotLimit, loadMnist, parsePeerArgs, poolBatch, printResult, timeInference, timeTraining,
} from '../mnist.js';

const args = parsePeerArgs(process.argv.slice(2));
if (args.workload !== 'mlp') throw new Error(`jax-js peer: only --workload mlp, got ${args.workload}`);
const devices = await init('wasm');
if (!devices.includes('wasm')) throw new Error(`jax-js peer: the wasm device did not start (got ${devices.join(', ') || 'none'})`);
defaultDevice('wasm');

const B = args.batch;
const train = floatPool(loadMnist('train'), POOL_IMAGES);
const test = floatPool(loadMnist('test'), TEST_POOL_IMAGES);

type Params = { w: np.Array[]; b: np.Array[] };
const SIZES = [PIXELS, 300, 100, CLASSES];
const LR = 0.1;
const MOMENTUM = 0.9;

/** Glorot-uniform kernels stored (in, out), so a layer is x·W + b; zero biases. */
function initParams(rng: Rng): Params {
  const p: Params = { w: [], b: [] };
  for (let l = 0; l + 1 < SIZES.length; l++) {
    const [fanIn, fanOut] = [SIZES[l], SIZES[l + 1]];
    const limit = glorotLimit(fanIn, fanOut);
    const w = new Float32Array(fanIn * fanOut);
    for (let i = 0; i < w.length; i++) w[i] = rng.uniformIn(-limit, limit);
    p.w.push(np.array(w).reshape([fanIn, fanOut]));
    p.b.push(np.zeros([fanOut]));
  }
  return p;
}

function zerosLike(p: Params): Params {
  return { w: p.w.map((w) => np.zeros(w.shape)), b: p.b.map((b) => np.zeros(b.shape)) };
}

/** The logits (B, CLASSES). Takes ownership of `p` and `x`. */
function forward(p: Params, x: np.Array): np.Array {
  let h = x;
  const last = p.w.length - 1;
  for (let l = 0; l <= last; l++) {
    h = np.matmul(h, p.w[l]).add(p.b[l]);
    if (l < last) h = nn.relu(h);
  }
  return h;
}

/** Mean softmax cross-entropy; y holds the class indices (int32). */
function loss(p: Params, x: np.Array, y: np.Array): np.Array {
  const logp = nn.logSoftmax(forward(p, x));
  return logp.mul(nn.oneHot(y, CLASSES)).sum().mul(-1 / y.shape[0]);
}

/** One SGD-momentum step: (params, velocity, x, y) → [params', velocity', loss]. */
const trainStep = jit((p: Params, v: Params, x: np.Array, y: np.Array) => {
  const [value, g] = valueAndGrad(loss)(tree.ref(p), x, y);
  const v2 = tree.map((vi: np.Array, gi: np.Array) => vi.mul(MOMENTUM).add(gi), v, g) as Params;
  const p2 = tree.map((pi: np.Array, vi: np.Array) => pi.sub(vi.mul(LR)), p, tree.ref(v2)) as Params;
  return [p2, v2, value];
});

const predict = jit((p: Params, x: np.Array) => forward(p, x));

let params = initParams(new Rng(1));
let velocity = zerosLike(params);

const training = await timeTraining((b) => {
  const batch = poolBatch(train, b, B);
  const x = np.array(batch.x).reshape([B, PIXELS]);
  const y = np.array(batch.y, { dtype: np.int32 });
  const [p2, v2, value] = trainStep(params, velocity, x, y) as [Params, Params, np.Array];
  params = p2;
  velocity = v2;
  return value.js() as number; // read back synchronously, as every peer does (jsAsync was 10–15% slower here)
}, args.warmup, args.steps, B, args.warmupMs);

const inferSamplesPerSec = await timeInference(test, args.inferBatch, args.inferBatches, (x) => {
  predict(tree.ref(params), np.array(x).reshape([args.inferBatch, PIXELS])).dataSync();
});

printResult('jax-js', args, training, inferSamplesPerSec, { note: 'jax-js 0.1.25, wasm device, one thread; the step (valueAndGrad and a hand-written SGD-momentum update) in one jit' });
