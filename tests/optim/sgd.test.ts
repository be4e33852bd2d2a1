import { describe, expect, it } from 'vitest';
import { FormatError, ShapeError, Tensor } from '../../engine/index.js';
import { SGD } from '../../optim/index.js';
import { expectClose } from './close.js';

/** A parameter with a chosen gradient, as backward() would leave it. */
function param(values: number[]): Tensor {
  return Tensor.from(values, { requiresGrad: true });
}
function setGrad(p: Tensor, g: number[]): void {
  p.grad = Tensor.from(g);
}

const W0 = [1, -2, 0.5];
const GRADS = [[0.5, 1, -1], [0.25, -0.5, 2], [-1, 0.75, 0.5], [2, 0.1, -0.3], [0.3, -0.2, 1.5]];

/** Keras's SGD in float64: v = m v - lr g; w += v (Nesterov: w += m v - lr g). */
function kerasSgd(lrs: number[], m: number, nesterov: boolean): number[] {
  const w = [...W0];
  const v = [0, 0, 0];
  lrs.forEach((lr, t) => {
    for (let i = 0; i < 3; i++) {
      const g = GRADS[t][i];
      v[i] = m * v[i] - lr * g;
      w[i] += nesterov ? m * v[i] - lr * g : v[i];
    }
  });
  return w;
}

/** PyTorch's SGD in float64: buf = m buf + g; w -= lr buf (Nesterov: w -= lr (g + m buf)). */
function torchSgd(lrs: number[], m: number, nesterov: boolean): number[] {
  const w = [...W0];
  const buf = [0, 0, 0];
  lrs.forEach((lr, t) => {
    for (let i = 0; i < 3; i++) {
      const g = GRADS[t][i];
      buf[i] = t === 0 ? g : m * buf[i] + g;
      w[i] -= lr * (nesterov ? g + m * buf[i] : buf[i]);
    }
  });
  return w;
}

function runSgd(lrs: number[], options: ConstructorParameters<typeof SGD>[1]): Float32Array {
  const p = param(W0);
  const opt = new SGD([p], { ...options, lr: lrs[0] });
  lrs.forEach((lr, t) => {
    opt.lr = lr;
    setGrad(p, GRADS[t]);
    opt.step();
  });
  return p.data;
}

describe('SGD (Keras form)', () => {
  it('plain gradient descent: w -= lr * g', () => {
    const p = param([1, 2]);
    const opt = new SGD([p], { lr: 0.1 });
    setGrad(p, [0.5, -1]);
    opt.step();
    expectClose(p.data, [0.95, 2.1]);
    expect(opt.iterations).toBe(1);
  });

  for (const nesterov of [false, true]) {
    it(`with a constant rate equals PyTorch's form (nesterov ${nesterov})`, () => {
      const lrs = [0.1, 0.1, 0.1, 0.1, 0.1];
      const ours = runSgd(lrs, { momentum: 0.9, nesterov });
      expectClose(ours, kerasSgd(lrs, 0.9, nesterov));
      expectClose(ours, torchSgd(lrs, 0.9, nesterov));
    });
  }

  it('differs from PyTorch when the rate changes mid-run, by momentum * (old - new) * buffer', () => {
    // Two steps at 0.1, then the rate drops to 0.01 (a step schedule).
    const lrs = [0.1, 0.1, 0.01];
    const ours = runSgd(lrs, { momentum: 0.9 });
    const keras = kerasSgd(lrs, 0.9, false);
    const torch = torchSgd(lrs, 0.9, false);
    expectClose(ours, keras);
    // Keras's velocity still carries the old rate; PyTorch rescales its whole buffer by the new rate.
    // After two equal-rate steps v = -0.1 * buf, so the third steps differ by 0.9 * (0.1 - 0.01) * buf.
    const buf2 = [0, 1, 2].map((i) => 0.9 * GRADS[0][i] + GRADS[1][i]);
    for (let i = 0; i < 3; i++) {
      expect(keras[i] - torch[i]).toBeCloseTo(-0.9 * (0.1 - 0.01) * buf2[i], 12);
      expect(Math.abs(ours[i] - torch[i])).toBeGreaterThan(1e-3);
    }
  });

  it("applies Keras's time-based decay per step: lr / (1 + decay * iterations)", () => {
    const p = param([1]);
    const opt = new SGD([p], { lr: 0.5, decay: 0.1 });
    let w = 1;
    for (let t = 0; t < 3; t++) {
      expect(opt.currentLr).toBeCloseTo(0.5 / (1 + 0.1 * t), 12);
      setGrad(p, [w]); // the gradient of w²/2
      opt.step();
      w -= (0.5 / (1 + 0.1 * t)) * w;
    }
    expectClose(p.data, [w]);
    expect(opt.lr).toBe(0.5);
  });

  it('weight decay adds weightDecay * w to the gradient', () => {
    const p = param([2, -1]);
    const opt = new SGD([p], { lr: 0.1, weightDecay: 0.01 });
    setGrad(p, [1, 1]);
    opt.step();
    expectClose(p.data, [2 - 0.1 * (1 + 0.02), -1 - 0.1 * (1 - 0.01)]);
  });

  it('skips parameters without a gradient and creates state lazily', () => {
    const a = param([1]);
    const b = param([1]);
    const opt = new SGD([a, b], { lr: 0.1, momentum: 0.5 });
    setGrad(a, [1]);
    opt.step();
    expect(b.data[0]).toBe(1);
    expect(opt.state.has(b)).toBe(false);
    expect(opt.state.get(a)?.buffers.velocity).toBeInstanceOf(Float32Array);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it('supports parameter groups with their own hyper-parameters; lr writes every group', () => {
    const a = param([1]);
    const b = param([1]);
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    setGrad(a, [1]);
    setGrad(b, [1]);
    opt.step();
    expectClose(a.data, [0.9]);
    expectClose(b.data, [0.5]);
    opt.lr = 0.2;
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.2, 0.2]);
  });

  it('rejects bad hyper-parameters with a RangeError echoing the value', () => {
    const p = [param([1])];
    expect(() => new SGD(p, { momentum: -1 })).toThrow('SGD: invalid momentum -1, expected 0 <= momentum < 1');
    expect(() => new SGD(p, { momentum: 1 })).toThrow(RangeError);
    expect(() => new SGD(p, { lr: -0.1 })).toThrow('SGD: invalid lr -0.1');
    expect(() => new SGD(p, { lr: Number.NaN })).toThrow('invalid lr NaN');
    expect(() => new SGD(p, { nesterov: true })).toThrow(/nesterov true.*momentum > 0/);
    expect(() => new SGD(p, { decay: -1 })).toThrow('invalid decay -1');
    expect(() => new SGD(p, { weightDecay: -1 })).toThrow('invalid weightDecay -1');
    expect(() => new SGD([p[0], p[0]])).toThrow(/more than once/);
    // Keras's order, options first: the message says where they go.
    // @ts-expect-error -- the wrong call on purpose
    expect(() => new SGD({ lr: 0.1, momentum: 0.9 })).toThrow(
      'SGD: the first argument is the parameters to optimize (model.parameters(), or a list of parameter groups), got { lr, momentum }; the options come second: new SGD(model.parameters(), { lr: 0.01 })',
    );
    // @ts-expect-error -- no parameters at all
    expect(() => new SGD(undefined)).toThrow(/SGD: the first argument is the parameters to optimize .*got undefined/);
    const opt = new SGD(p);
    expect(() => {
      opt.lr = -1;
    }).toThrow('SGD: invalid lr -1');
  });
});

describe('Optimizer state dictionary', () => {
  it('resumes a run exactly: the same updates, bit for bit', () => {
    const run = (opt: SGD, p: Tensor, from: number, to: number) => {
      for (let t = from; t < to; t++) {
        setGrad(p, GRADS[t]);
        opt.step();
      }
    };
    const a = param(W0);
    const optA = new SGD([a], { lr: 0.1, momentum: 0.9, nesterov: true, decay: 0.01 });
    run(optA, a, 0, 3);
    const saved = optA.stateDict();
    const weights = a.data.slice();
    // The snapshot is JSON-able metadata plus float32 buffers keyed by parameter index.
    expect(Object.keys(saved.buffers)).toEqual(['state.0.velocity']);
    expect(JSON.parse(JSON.stringify(saved.meta))).toEqual(saved.meta);
    expect(saved.meta.iterations).toBe(3);
    run(optA, a, 3, 5);

    const b = Tensor.from(weights, { requiresGrad: true });
    const optB = new SGD([b], { lr: 0.5 });
    optB.loadStateDict(saved);
    expect(optB.lr).toBe(0.1);
    expect(optB.paramGroups[0].nesterov).toBe(true);
    expect(optB.iterations).toBe(3);
    run(optB, b, 3, 5);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('rejects a state of the wrong optimizer, parameter count or buffer size', () => {
    const p = param([1, 2, 3]);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    setGrad(p, [1, 1, 1]);
    opt.step();
    const saved = opt.stateDict();

    const small = new SGD([param([1, 2])], { momentum: 0.9 });
    expect(() => small.loadStateDict(saved)).toThrow(ShapeError);
    expect(() => small.loadStateDict(saved)).toThrow(/state\.0\.velocity' has 3 values, parameter 0 has shape \[2\]/);
    expect(() => new SGD([param([1]), param([2])]).loadStateDict(saved)).toThrow(/1 parameters in the state, 2 here/);
    const wrongType = { ...saved, meta: { ...saved.meta, type: 'Adam' } };
    expect(() => new SGD([param([1, 2, 3])]).loadStateDict(wrongType)).toThrow(FormatError);
    const extra = { ...saved, buffers: { ...saved.buffers, 'state.7.velocity': new Float32Array(3) } };
    expect(() => new SGD([param([1, 2, 3])]).loadStateDict(extra)).toThrow(/unexpected buffer 'state.7.velocity'/);
    const missing = { ...saved, buffers: {} };
    expect(() => new SGD([param([1, 2, 3])]).loadStateDict(missing)).toThrow(/missing buffer 'state.0.velocity'/);
  });
});
