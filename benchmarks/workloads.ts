/**
 * The workloads of benchmarks/mnist.ts as tapegrad models, through the public API: what the tapegrad
 * peer (peers/tapegrad.ts) times and what the profiler (profile.ts) profiles. Dense's defaults are
 * Keras's: Glorot-uniform kernel, zero bias; the loss is crossEntropy over the logits.
 */
import { Tensor, scoped, type Rng } from '../engine/index.js';
import { BatchNorm, Dense, Dropout, ReLU, Sequential } from '../layers/index.js';
import { Adam, SGD, type Optimizer } from '../optim/index.js';
import { CLASSES, PIXELS, type Workload } from './mnist.js';

/** The workload's model and optimizer. */
export function buildWorkload(workload: Workload, rng: Rng): { model: Sequential; opt: Optimizer } {
  switch (workload) {
    case 'mlp': {
      const model = new Sequential([new Dense(PIXELS, 300, { rng }), new ReLU(), new Dense(300, 100, { rng }), new ReLU(), new Dense(100, CLASSES, { rng })]);
      return { model, opt: new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) };
    }
    case 'a001': {
      // The article feeds raw 0..255 pixels to its BatchNorm; every contestant here gets pixels / 255,
      // which BatchNorm's normalization makes the same model.
      const model = new Sequential([
        new BatchNorm(PIXELS), new Dropout(0.3, { rng }), new Dense(PIXELS, 100, { rng, activation: 'tanh' }), new Dense(100, CLASSES, { rng }),
      ]);
      return { model, opt: new Adam(model.parameters(), { lr: 1e-3 }) };
    }
    case 'd2l': {
      const model = new Sequential([
        new Dense(PIXELS, 256, { rng }), new ReLU(), new Dropout(0.2, { rng }),
        new Dense(256, 256, { rng }), new ReLU(), new Dropout(0.5, { rng }),
        new Dense(256, CLASSES, { rng }),
      ]);
      return { model, opt: new SGD(model.parameters(), { lr: 0.5 }) };
    }
  }
}

/**
 * One training step on a batch of `batch` images (x: batch × PIXELS floats, y: labels), in a scope, as
 * the tapegrad peer times it; returns the loss.
 */
export function stepOf(model: Sequential, opt: Optimizer, batch: number): (x: Float32Array, y: Int32Array) => number {
  return (x, y) =>
    scoped(() => {
      const loss = Tensor.crossEntropy(model.forward(Tensor.from(x, { shape: [batch, PIXELS] })), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.item();
    });
}
