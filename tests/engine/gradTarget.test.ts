import { describe, expect, it } from 'vitest';
import { Rng, Tensor, linear } from '../../engine/index.js';

// A Dense layer's weight and bias gradients are written straight into their `.grad` buffers
// (engine/tape.ts gradTarget) instead of into a temporary the tape then copies. The values must be
// what the tape would have summed, however many times the leaf is used and whatever came first.

function rand(shape: number[], seed: number, requiresGrad = false): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from(Float32Array.from({ length: n }, () => rng.uniformIn(-1, 1)), { shape, requiresGrad });
}

/** The same computation through matmul/add/transpose (ops that never write into `.grad`), as the reference. */
function composed(x: Tensor, w: Tensor, b: Tensor): Tensor {
  return x.matmul(w.transpose()).add(b);
}

function close(a: Tensor | null, b: Tensor | null): void {
  expect(a).not.toBeNull();
  const x = Array.from(a!.data);
  const y = Array.from(b!.data);
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(y[i]))));
}

describe('weight gradients written into .grad', () => {
  const x = rand([7, 5], 1);
  const x2 = rand([7, 5], 2);

  it('one use: the gradient the composed ops give, in the persistent buffer that the next step refills', () => {
    const w = rand([3, 5], 3, true), b = rand([3], 4, true);
    const w2 = rand([3, 5], 3, true), b2 = rand([3], 4, true);
    linear(x, w, b).square().sum().backward();
    composed(x, w2, b2).square().sum().backward();
    close(w.grad, w2.grad);
    close(b.grad, b2.grad);
    const buffer = w.grad!;
    w.grad = null;
    b.grad = null;
    linear(x2, w, b).sum().backward();
    expect(w.grad).toBe(buffer); // the same persistent buffer, refilled
    w2.grad = null;
    b2.grad = null;
    composed(x2, w2, b2).sum().backward();
    close(w.grad, w2.grad);
    close(b.grad, b2.grad);
  });

  it('a weight used by two layers and by another op: every contribution summed', () => {
    const w = rand([3, 5], 5, true), b = rand([3], 6, true);
    const w2 = rand([3, 5], 5, true), b2 = rand([3], 6, true);
    linear(x, w, b).add(linear(x2, w, b).mul(rand([7, 3], 7))).sum().add(w.square().sum()).backward();
    composed(x, w2, b2).add(composed(x2, w2, b2).mul(rand([7, 3], 7))).sum().add(w2.square().sum()).backward();
    close(w.grad, w2.grad);
    close(b.grad, b2.grad);
    // The other order: the square's gradient reaches the weight before the layers' do.
    for (const t of [w, b, w2, b2]) t.grad = null;
    w.square().sum().add(linear(x, w, b).sum()).backward();
    w2.square().sum().add(composed(x, w2, b2).sum()).backward();
    close(w.grad, w2.grad);
    close(b.grad, b2.grad);
    const kept = w.grad!.data.slice();
    rand([64, 64], 13).add(rand([64, 64], 14)); // fresh arena blocks: a gradient buffer handed back would be reused here
    expect(Array.from(w.grad!.data)).toEqual(Array.from(kept));
  });

  it('two backwards without zeroing add up (the second cannot write into .grad)', () => {
    const w = rand([3, 5], 8, true), b = rand([3], 9, true);
    const w2 = rand([3, 5], 8, true), b2 = rand([3], 9, true);
    for (let i = 0; i < 2; i++) {
      linear(i === 0 ? x : x2, w, b).square().sum().backward();
      composed(i === 0 ? x : x2, w2, b2).square().sum().backward();
    }
    close(w.grad, w2.grad);
    close(b.grad, b2.grad);
  });

  it('fused with ReLU, and with the input needing a gradient too', () => {
    const xi = rand([7, 5], 10, true), xi2 = rand([7, 5], 10, true);
    const w = rand([3, 5], 11, true), b = rand([3], 12, true);
    const w2 = rand([3, 5], 11, true), b2 = rand([3], 12, true);
    linear(xi, w, b, { relu: true }).square().sum().backward();
    composed(xi2, w2, b2).relu().square().sum().backward();
    close(w.grad, w2.grad);
    close(b.grad, b2.grad);
    close(xi.grad, xi2.grad);
  });
});
