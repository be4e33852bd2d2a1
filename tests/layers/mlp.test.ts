import { describe, expect, it } from 'vitest';
import { Rng, Tensor, noGrad } from '../../engine/index.js';
import { BatchNorm, Dense, Dropout, LayerNorm, ReLU, Sequential, Softmax, l2, maxNorm } from '../../layers/index.js';

/** Three Gaussian blobs in 4-D, Iris-sized (150 samples). */
function blobs(rng: Rng): { x: Tensor; y: Int32Array } {
  const N = 150;
  const x = new Float32Array(N * 4);
  const y = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const c = i % 3;
    y[i] = c;
    for (let d = 0; d < 4; d++) x[i * 4 + d] = (d === c ? 2 : 0) + 0.7 * rng.normal();
  }
  return { x: Tensor.from(x, { shape: [N, 4] }), y };
}

describe('a small MLP built from every layer kind', () => {
  it('trains to a falling loss with plain SGD, an l2 penalty and a maxNorm constraint', () => {
    const rng = new Rng(10);
    const { x, y } = blobs(rng);
    const model = new Sequential([
      new Dropout(0.1, { rng }),
      new Dense(4, 16, { rng, init: 'heNormal', kernelRegularizer: l2(1e-4), kernelConstraint: maxNorm(3) }),
      new BatchNorm(16), new ReLU(), new Dropout(0.2, { rng }),
      new Dense(16, 8, { rng }), new LayerNorm(8), new ReLU(),
      new Dense(8, 3, { rng }), new Softmax(),
    ]);
    const params = model.parameters();
    const lossOf = (): Tensor => {
      const data = Tensor.crossEntropy(model.forwardLogits(x), y);
      return data.add(model.regularizationLoss()!);
    };
    const evalLoss = (): number => {
      model.eval();
      const l = noGrad(() => Tensor.crossEntropy(model.forwardLogits(x), y).item());
      model.train();
      return l;
    };
    const before = evalLoss();
    for (let step = 0; step < 60; step++) {
      for (const p of params) p.zeroGrad();
      lossOf().backward();
      noGrad(() => {
        for (const p of params) {
          const g = p.grad!.data;
          for (let i = 0; i < p.size; i++) p.data[i] -= 0.1 * g[i];
        }
      });
      model.applyConstraints();
    }
    const after = evalLoss();
    expect(after).toBeLessThan(0.5 * before);
    const probs = noGrad(() => model.eval().forward(x));
    let correct = 0;
    for (let i = 0; i < y.length; i++) {
      const row = probs.data.subarray(i * 3, i * 3 + 3);
      if (row.indexOf(Math.max(...row)) === y[i]) correct++;
    }
    expect(correct / y.length).toBeGreaterThan(0.85);
    const w = (model.layers[1] as Dense).weight.data;
    for (let o = 0; o < 16; o++) expect(Math.hypot(...w.subarray(o * 4, o * 4 + 4))).toBeLessThanOrEqual(3 + 1e-5);
  });
});
