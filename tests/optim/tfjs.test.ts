import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { Tensor } from '../../engine/index.js';
import { Adadelta, Adagrad, Adam, RMSprop, SGD } from '../../optim/index.js';
import type { Optimizer } from '../../optim/index.js';
import { expectClose } from './close.js';

// An independent implementation as a second reference: TensorFlow.js's optimizers (TF's definitions).
// Where TF's formula differs from ours only in where a tiny eps sits, the tolerance covers it.

const W0 = [1, -2, 0.5, 3];
const GRADS = [[0.5, 1, -1, 0.1], [0.25, -0.5, 2, 0.1], [-1, 0.75, 0.5, -0.2], [2, 0.1, -0.3, 0.3], [0.3, -0.2, 1.5, 1]];

function ours(make: (p: Tensor[]) => Optimizer<any>): Float32Array {
  const p = Tensor.from(W0, { requiresGrad: true });
  const opt = make([p]);
  for (const g of GRADS) {
    p.grad = Tensor.from(g);
    opt.step();
  }
  return p.data;
}

function theirs(opt: tf.Optimizer): Float32Array {
  const w = tf.variable(tf.tensor1d(W0));
  for (const g of GRADS) opt.applyGradients({ [w.name]: tf.tensor1d(g) });
  const out = w.dataSync() as Float32Array;
  w.dispose();
  return out;
}

function theirsStep(opt: tf.Optimizer, w: tf.Variable, g: number[]): void {
  opt.applyGradients({ [w.name]: tf.tensor1d(g) });
}

describe('agreement with TensorFlow.js optimizers', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it("SGD with momentum (Keras form) equals TF's momentum optimizer (PyTorch form) at a constant rate", () => {
    expectClose(ours((p) => new SGD(p, { lr: 0.1, momentum: 0.9 })), theirs(tf.train.momentum(0.1, 0.9)), 1e-5);
  });

  it('Nesterov momentum', () => {
    expectClose(ours((p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true })), theirs(tf.train.momentum(0.1, 0.9, true)), 1e-5);
  });

  it('Adam', () => {
    expectClose(ours((p) => new Adam(p, { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8 })), theirs(tf.train.adam(0.1, 0.9, 0.999, 1e-8)), 1e-5);
  });

  // Adadelta is not compared: tfjs 4.22's divides by the squared-gradient average from before this step's
  // update (accumulatedGrad, not newAccumulatedGrad), unlike TF's kernel, Keras and PyTorch, so its first
  // step is the raw gradient. adaptive.test.ts checks ours against Zeiler's formula instead.
  it("tfjs's Adadelta differs from the published formula (why it is not a reference here)", () => {
    const p = Tensor.from([1], { requiresGrad: true });
    const opt = new Adadelta([p], { lr: 1, rho: 0.95, eps: 1e-6 });
    p.grad = Tensor.from([0.5]);
    opt.step();
    const w = tf.variable(tf.tensor1d([1]));
    theirsStep(tf.train.adadelta(1, 0.95, 1e-6), w, [0.5]);
    // Ours: sqrt(0 + eps) / sqrt(0.05 * 0.25 + eps) * 0.5; tfjs: sqrt(eps) / sqrt(0 + eps) * 0.5 = 0.5.
    expectClose(p.data, [1 - (Math.sqrt(1e-6) / Math.sqrt(0.05 * 0.25 + 1e-6)) * 0.5], 1e-6);
    expectClose(w.dataSync(), [0.5], 1e-6);
    w.dispose();
  });

  it("Adagrad (TF's initial accumulator 0.1)", () => {
    expectClose(ours((p) => new Adagrad(p, { lr: 0.5, initialAccumulatorValue: 0.1 })), theirs(tf.train.adagrad(0.5, 0.1)), 1e-5);
  });

  it('RMSprop, centered with momentum', () => {
    expectClose(
      ours((p) => new RMSprop(p, { lr: 0.01, alpha: 0.9, momentum: 0.5, centered: true, eps: 1e-8 })),
      theirs(tf.train.rmsprop(0.01, 0.9, 0.5, 1e-8, true)),
      1e-4,
    );
  });
});
