/**
 * Peer: TensorFlow.js 4.22 in Node, `--backend cpu` (the pure-JavaScript backend of the union package
 * @tensorflow/tfjs) or `--backend wasm` (@tensorflow/tfjs-backend-wasm, XNNPACK; single-threaded under
 * Node). The main workload only (`--workload mlp`): 784-300-100-10, ReLU, Glorot-uniform kernels,
 * zero biases, softmax cross-entropy, SGD lr 0.1 momentum 0.9 (tf.train.momentum: v = m·v + g,
 * w −= lr·v, which equals Keras's and PyTorch's SGD at a constant rate). A hand-written step with
 * optimizer.minimize, which is leaner than model.fit (no callbacks, no history). The batches are
 * float32 before timing (benchmarks/mnist.ts); each step hands its slice to tf.tensor2d.
 * Prints one JSON line (PeerResult).
 */
import * as tf from '@tensorflow/tfjs';
import { CLASSES, PIXELS, POOL_IMAGES, TEST_POOL_IMAGES, floatPool, loadMnist, parsePeerArgs, poolBatch, printResult, timeInference, timeTraining } from '../mnist.js';

const args = parsePeerArgs(process.argv.slice(2));
if (args.workload !== 'mlp') throw new Error(`tfjs peer: only --workload mlp, got ${args.workload}`);
if (args.backend === '') args.backend = 'cpu';
if (args.backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
await tf.setBackend(args.backend);
await tf.ready();

const B = args.batch;
const train = floatPool(loadMnist('train'), POOL_IMAGES);
const test = floatPool(loadMnist('test'), TEST_POOL_IMAGES);

const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [PIXELS], units: 300, activation: 'relu', kernelInitializer: 'glorotUniform' }),
    tf.layers.dense({ units: 100, activation: 'relu', kernelInitializer: 'glorotUniform' }),
    tf.layers.dense({ units: CLASSES, kernelInitializer: 'glorotUniform' }),
  ],
});
const optimizer = tf.train.momentum(0.1, 0.9);

const training = await timeTraining((b) => {
  const { x, y } = poolBatch(train, b, B);
  const loss = tf.tidy(() => {
    const xs = tf.tensor2d(x, [B, PIXELS]);
    const ys = tf.oneHot(tf.tensor1d(y, 'int32'), CLASSES);
    return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs) as tf.Tensor) as tf.Scalar, true) as tf.Scalar;
  });
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}, args.warmup, args.steps, B, args.warmupMs);

const inferSamplesPerSec = await timeInference(test, args.inferBatch, args.inferBatches, (x) => {
  tf.tidy(() => {
    (model.predict(tf.tensor2d(x, [args.inferBatch, PIXELS])) as tf.Tensor).dataSync();
  });
});

printResult(`tfjs-${args.backend}`, args, training, inferSamplesPerSec);
