import { describe, expect, it } from 'vitest';
import { Rng, Tensor, gradcheck } from '../../engine/index.js';
import { History, binaryCrossEntropyWithLogits } from '../../train/index.js';
import { expectClose } from '../support/expectClose.js';

describe('binaryCrossEntropyWithLogits', () => {
  it('equals −[t log σ(z) + (1 − t) log(1 − σ(z))] and its gradient is (σ(z) − t)/N, at z = 0 too', () => {
    const z = Tensor.from([[-2, 0.5], [3, -0.1], [0, 1.5]], { requiresGrad: true });
    const t = Tensor.from([[0, 1], [1, 0], [0.3, 1]]);
    const loss = binaryCrossEntropyWithLogits(z, t);
    let naive = 0;
    const grad: number[] = [];
    for (let i = 0; i < 6; i++) {
      const s = 1 / (1 + Math.exp(-z.data[i]));
      naive -= t.data[i] * Math.log(s) + (1 - t.data[i]) * Math.log(1 - s);
      grad.push((s - t.data[i]) / 6);
    }
    expectClose(loss.item(), naive / 6, 1e-6);
    loss.backward();
    expectClose(z.grad!.data, grad, 1e-6);
    const rng = new Rng(3);
    const err = gradcheck((zi) => binaryCrossEntropyWithLogits(zi, Tensor.rand([4, 3], { rng: new Rng(9) })), [Tensor.randn([4, 3], { rng })]);
    expect(err).toBeLessThan(1e-2);
  });

  it('stays finite for logits of ±1000, where σ saturates to 0 or 1', () => {
    const z = Tensor.from([[1000], [-1000], [1000], [-1000]]);
    const t = Tensor.from([[1], [0], [0], [1]]);
    // The two right answers cost 0, the two wrong ones 1000 each.
    expectClose(binaryCrossEntropyWithLogits(z, t).item(), 500, 1e-6);
    expect(() => binaryCrossEntropyWithLogits(z, Tensor.from([1, 0, 0, 1]))).toThrow(/logits \[4,1\] and targets \[4\] must have the same shape/);
  });
});

describe('History', () => {
  it("is Keras's: epoch from 0, one array per log name; rows for the CSV; JSON both ways, format 1's rows too", () => {
    const h = new History();
    h.record(0, { loss: 1, accuracy: 0.5 });
    h.record(1, { loss: 0.5, accuracy: 0.7, val_loss: 0.6 });
    expect(h.epoch).toEqual([0, 1]);
    expect(h.history).toEqual({ loss: [1, 0.5], accuracy: [0.5, 0.7], val_loss: [NaN, 0.6] });
    expect(h.rows()[1]).toEqual({ epoch: 1, loss: 0.5, accuracy: 0.7, val_loss: 0.6 });
    expect(History.fromJSON(JSON.parse(JSON.stringify(h))).history.loss).toEqual([1, 0.5]);
    const old = History.fromJSON([{ epoch: 1, loss: 2, accuracy: 0.1, valLoss: 3, valAccuracy: 0.2, lr: 0.05, seconds: 1, samplesPerSec: 9 }]);
    expect(old.epoch).toEqual([0]);
    expect(old.logs(0)).toEqual({ loss: 2, accuracy: 0.1, val_loss: 3, val_accuracy: 0.2, learning_rate: 0.05, seconds: 1, samples_per_sec: 9 });
  });
});
