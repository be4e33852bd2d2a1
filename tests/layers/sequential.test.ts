import { describe, expect, it } from 'vitest';
import { FormatError, Rng, ShapeError, Tensor, linear } from '../../engine/index.js';
import {
  BatchNorm, Dense, Dropout, Flatten, LayerNorm, ReLU, Sequential, Sigmoid, Softmax, Tanh, l2, layerFromConfig, maxNorm,
} from '../../layers/index.js';
import { expectClose } from '../support/expectClose.js';

function mlp(seed: number): Sequential {
  const rng = new Rng(seed);
  return new Sequential([
    new Dense(6, 5, { rng }), new BatchNorm(5), new ReLU(), new Dropout(0.3, { rng }), new Dense(5, 3, { rng }),
  ]);
}

describe('Sequential', () => {
  it('chains the layers', () => {
    const rng = new Rng(1);
    const a = new Dense(4, 3, { rng });
    const b = new Dense(3, 2, { rng });
    const model = new Sequential([a, new Tanh(), b, new Sigmoid()]);
    const x = Tensor.randn([5, 4], { rng });
    expectClose(model.forward(x).data, b.forward(a.forward(x).tanh()).sigmoid().data, 1e-7);
  });

  it('lists parameters and state-dict entries with PyTorch names and layouts', () => {
    const model = mlp(1);
    const sd = model.stateDict();
    expect(Object.keys(sd)).toEqual([
      '0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '4.weight', '4.bias',
    ]);
    expect(sd['0.weight'].shape).toEqual([5, 6]);
    expect(sd['0.bias'].shape).toEqual([5]);
    expect(sd['4.weight'].shape).toEqual([3, 5]);
    const params = model.parameters();
    expect(params).toHaveLength(6);
    expect(params.every((p) => p.requiresGrad)).toBe(true);
    expect(model.parameters()[0]).toBe(params[0]); // stable identities for the optimizer
    expect(model.parameterCount()).toBe(5 * 6 + 5 + 5 + 5 + 3 * 5 + 3);
  });

  it('train() and eval() reach every layer, nested ones included', () => {
    const inner = new Sequential([new Dropout(0.5), new BatchNorm(4)]);
    const model = new Sequential([new Dense(4, 4), inner]);
    model.eval();
    expect([model, ...model.layers, ...inner.layers].every((l) => !l.training)).toBe(true);
    model.train();
    expect([model, ...model.layers, ...inner.layers].every((l) => l.training)).toBe(true);
    expect(Object.keys(model.stateDict())).toContain('1.1.running_mean');
    expect(() => model.forward(Tensor.zeros([2, 5]))).toThrow(/Dense \(layer 0\)/);
  });

  it('round-trips the state dict into a fresh model of the same config', () => {
    const a = mlp(1);
    a.forward(Tensor.randn([8, 6], { rng: new Rng(2) })); // moves BatchNorm's running statistics
    const b = Sequential.fromConfig(JSON.parse(JSON.stringify(a.config())));
    const x = Tensor.randn([3, 6], { rng: new Rng(3) });
    a.eval();
    b.eval();
    expect(Array.from(b.forward(x).data)).not.toEqual(Array.from(a.forward(x).data));
    const before = b.parameters();
    const sd = Object.fromEntries(Object.entries(a.stateDict()).map(([k, t]) => [k, t.clone()]));
    const result = b.loadStateDict(sd);
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.parameters()[0]).toBe(before[0]); // copied in place
    expect(Array.from(b.forward(x).data)).toEqual(Array.from(a.forward(x).data));
    for (const [k, t] of Object.entries(b.stateDict())) expect(Array.from(t.data), k).toEqual(Array.from(a.stateDict()[k].data));
    // A Map (as a safetensors reader returns) works too.
    expect(() => b.loadStateDict(new Map(Object.entries(sd)))).not.toThrow();
  });

  it('refuses a missing key, an extra key or a wrong shape, naming the key and shapes, and copies nothing', () => {
    const model = mlp(1);
    const sd = model.stateDict();
    const original = Array.from(model.stateDict()['0.weight'].data);

    const missing: Record<string, Tensor> = { ...sd };
    delete missing['4.bias'];
    missing['0.weight'] = Tensor.zeros([5, 6]);
    expect(() => model.loadStateDict(missing)).toThrow(FormatError);
    expect(() => model.loadStateDict(missing)).toThrow(/missing key\(s\): '4\.bias' \[3\]/);

    expect(() => model.loadStateDict({ ...sd, '9.weight': Tensor.zeros([2, 2]) })).toThrow(/unexpected key\(s\): '9\.weight' \[2,2\]/);

    const wrong = { ...sd, '0.weight': Tensor.zeros([6, 5]) };
    expect(() => model.loadStateDict(wrong)).toThrow(ShapeError);
    expect(() => model.loadStateDict(wrong)).toThrow(/'0\.weight': the state dict has shape \[6,5\] \(30 values\), the model expects \[5,6\]/);

    expect(Array.from(model.stateDict()['0.weight'].data)).toEqual(original);

    // strict: false skips missing and unexpected keys (PyTorch's strict=False) and reports them.
    const partial = model.loadStateDict({ '0.bias': Tensor.ones([5]), 'optimizer.x': Tensor.zeros([1]) }, { strict: false });
    expect(partial.unexpectedKeys).toEqual(['optimizer.x']);
    expect(partial.missingKeys).toContain('0.weight');
    expect(Array.from(model.stateDict()['0.bias'].data)).toEqual([1, 1, 1, 1, 1]);
  });

  it('rebuilds every layer type from its JSON config', () => {
    const model = new Sequential([
      new Flatten(), new Dropout(0.2), new Dense(12, 8, { init: 'heNormal', kernelRegularizer: l2(0.001), kernelConstraint: maxNorm(3) }),
      new BatchNorm(8, { momentum: 0.2, eps: 1e-3 }), new ReLU(), new LayerNorm(8), new Tanh(), new Sigmoid(),
      new Dense(8, 3, { useBias: false, activation: 'softmax' }), new Softmax(),
    ]);
    const cfg = JSON.parse(JSON.stringify(model.config()));
    const rebuilt = Sequential.fromConfig(cfg);
    expect(rebuilt.config()).toEqual(model.config());
    expect(Sequential.fromConfig(cfg.layers).config()).toEqual(model.config());
    expect(layerFromConfig(cfg)).toBeInstanceOf(Sequential);
    expect(() => layerFromConfig({ type: 'Conv2d' })).toThrow(/unknown layer type "Conv2d"/);
    expect(() => layerFromConfig({ type: 'Dropout', rate: 2 })).toThrow(FormatError);
    expect(() => Sequential.fromConfig({ type: 'Sequential' })).toThrow(FormatError);
  });

  it('gives the logits before a final softmax or sigmoid: Softmax, Sigmoid, Dense activations, nested', () => {
    const rng = new Rng(4);
    const x = Tensor.randn([2, 4], { rng });
    const dense = new Dense(4, 3, { rng });
    const model = new Sequential([dense, new Softmax()]);
    expect(Array.from(model.forwardLogits(x).data)).toEqual(Array.from(dense.forward(x).data));
    const probs = model.forward(x).data;
    expectClose(probs[0] + probs[1] + probs[2], 1, 1e-6);

    const keras = new Sequential([new Dense(4, 3, { rng, activation: 'softmax' })]);
    const last = keras.layers[0] as Dense;
    expect(Array.from(keras.forwardLogits(x).data)).toEqual(Array.from(last.forwardLinear(x).data));
    const binary = new Dense(4, 1, { rng, activation: 'sigmoid' });
    expect(Array.from(binary.forwardLogits(x).data)).toEqual(Array.from(binary.forwardLinear(x).data));
    const sigmoidLayer = new Sequential([new Dense(4, 1, { rng: new Rng(9) }), new Sigmoid()]);
    expect(Array.from(sigmoidLayer.forwardLogits(x).data)).toEqual(Array.from(new Dense(4, 1, { rng: new Rng(9) }).forward(x).data));
    // A model that ends in logits gives its output; a nested Sequential is asked in turn.
    const plain = new Sequential([new Dense(4, 3, { rng: new Rng(5) })]);
    expect(Array.from(plain.forwardLogits(x).data)).toEqual(Array.from(plain.forward(x).data));
    const nested = new Sequential([new Dense(4, 4, { rng }), new ReLU(), new Sequential([new Dense(4, 3, { rng }), new Softmax()])]);
    const inner = nested.layers[2] as Sequential;
    const h = nested.layers[1].forward(nested.layers[0].forward(x));
    expect(Array.from(nested.forwardLogits(x).data)).toEqual(Array.from(inner.layers[0].forward(h).data));
    // A trailing Dense + ReLU pair is fused; its logits are its output.
    const relu = new Sequential([new Dense(4, 3, { rng }), new ReLU()]);
    expect(relu.forwardLogits(x).node!.op).toBe('linear+relu');
  });

  it('predicts in eval mode without a tape, batch by batch, and puts the mode back', () => {
    const model = mlp(3);
    const x = Tensor.randn([70, 6], { rng: new Rng(8) });
    const wholeBatch = (() => {
      model.eval();
      const y = model.forward(x);
      model.train();
      return y;
    })();
    const running = Array.from(model.namedBuffers()[0][1].data);
    const y = model.predict(x, { batchSize: 32 });
    expect(y.shape).toEqual([70, 3]);
    expect(y.node).toBeNull();
    expect(y.requiresGrad).toBe(false);
    expectClose(y.data, wholeBatch.data, 1e-6);
    expect(model.training).toBe(true);
    // No batch statistics were updated, no dropout mask drawn.
    expect(Array.from(model.namedBuffers()[0][1].data)).toEqual(running);
    expect(Array.from(model.predict(x.toArray() as number[][]).data)).toEqual(Array.from(y.data));
    expect(() => model.predict(x, { batchSize: 0 })).toThrow(/predict: batchSize must be a positive integer, got 0/);
  });

  it('checks shapes at build time and prints a summary', () => {
    expect(() => new Sequential([new Dense(784, 300), new ReLU(), new Dense(200, 10)])).toThrow(/Dense \(layer 2\): expected input \[B,200\], got \[B,300\]/);
    const model = new Sequential([new Flatten(), new Dense(12, 8), new ReLU(), new Dense(8, 3)]);
    const s = model.summary([-1, 3, 4]);
    expect(s).toContain('Dense(12 → 8)');
    expect(s).toMatch(/1\s+Dense\(12 → 8\)\s+\[B,8\]\s+104/);
    expect(s).toContain('total parameters: 131');
    expect(() => model.summary([-1, 3, 5])).toThrow(ShapeError);
  });

  it('saves and restores the dropout generators by layer path', () => {
    const model = mlp(7);
    const x = Tensor.randn([4, 6], { rng: new Rng(1) });
    const state = JSON.parse(JSON.stringify(model.rngState()));
    expect(Object.keys(state)).toEqual(['3']);
    const first = Array.from(model.forward(x).data);
    model.loadRngState(state);
    // BatchNorm sees the same batch, so only the dropout mask could differ: it must not.
    expect(Array.from(model.forward(x).data)).toEqual(first);
  });
});

describe('Sequential runs Dense + ReLU as one fused op', () => {
  it('gives the same outputs and gradients, bit for bit, as linear then relu', () => {
    const rng = new Rng(21);
    const model = new Sequential([new Dense(17, 5, { rng }), new ReLU(), new Dense(5, 3, { rng })]);
    const x = Tensor.randn([7, 17], { rng });
    const labels = Int32Array.from([0, 1, 2, 0, 1, 2, 0]);
    const [w0, b0, w1, b1] = model.parameters();
    Tensor.crossEntropy(model.forward(x), labels).backward();
    expect(model.forward(x).node!.parents[0].node!.op).toBe('linear+relu');
    const fused = [w0, b0, w1, b1].map((p) => p.grad!.data.slice());

    const copies = [w0, b0, w1, b1].map((p) => Tensor.from(p.data.slice(), { shape: p.shape, requiresGrad: true }));
    const h = linear(x, copies[0], copies[1]).relu();
    Tensor.crossEntropy(linear(h, copies[2], copies[3]), labels).backward();
    copies.forEach((c, i) => expect(c.grad!.data).toEqual(fused[i]));
    expect(model.forward(x).data).toEqual(linear(h, copies[2], copies[3]).data);
  });
});
