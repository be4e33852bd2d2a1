/**
 * logSoftmax and crossEntropy are accurate for every finite input (issue 18): equal logits of 1e16 or
 * more gave 0 instead of −log 2, because the shift by the maximum was added back before subtracting.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, Tensor, getBackend, gradcheck, setBackend, type BackendName } from '../../engine/index.js';

const f32 = Math.fround;
const LOG2 = Math.log(2);

/** log softmax of one row in float64, the shift kept apart from the log. */
function logSoftmax64(row: number[]): number[] {
  const m = Math.max(...row);
  const logTotal = Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - m - logTotal);
}

describe('logSoftmax and crossEntropy with huge logits', () => {
  for (const big of [1e16, 1e20, 1e30, 1e38, 3.4028234663852886e38]) {
    it(`equal logits of ${big}: log-probabilities −log 2, loss log 2, gradient (½ − onehot)/B`, () => {
      const logits = Tensor.from([[big, big], [-big, -big]], { requiresGrad: true });
      expect(Array.from(logits.logSoftmax().data)).toEqual(new Array(4).fill(f32(-LOG2)));
      expect(Array.from(logits.softmax().data)).toEqual([0.5, 0.5, 0.5, 0.5]);
      const loss = Tensor.crossEntropy(logits, Int32Array.from([0, 1]));
      expect(loss.item()).toBe(f32(LOG2));
      loss.backward();
      expect(Array.from(logits.grad!.data)).toEqual([-0.25, 0.25, 0.25, -0.25]);
    });
  }

  it('three equal huge logits and one far below: −log 3 each, and −∞ where the gap passes float32', () => {
    const x = Tensor.from([[1e38, 1e38, 1e38, -3e38]]);
    // The last: −4e38 − log 3 in float64, −∞ in float32, as PyTorch gives.
    expect(Array.from(x.logSoftmax().data)).toEqual([f32(-Math.log(3)), f32(-Math.log(3)), f32(-Math.log(3)), -Infinity]);
    expect(Tensor.crossEntropy(x, Int32Array.from([3])).item()).toBe(Infinity);
    expect(Tensor.crossEntropy(x, Int32Array.from([1])).item()).toBe(f32(Math.log(3)));
  });

  it('agrees with float64 for logits at every scale up to float32\'s largest', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 0, max: 38 }),
        (unit, exponent) => {
          const row = unit.map((v) => f32(v * 10 ** exponent));
          const want = logSoftmax64(row);
          const got = Tensor.from([row]).logSoftmax().data;
          // |x − m| rounds once, log Σ once, the result once: relative to the terms, a few float32 ulps.
          want.forEach((w, k) => {
            const scale = Math.abs(row[k] - Math.max(...row)) + Math.log(row.length) + 1;
            expect(Math.abs(got[k] - w), `${row} at ${k}`).toBeLessThanOrEqual(scale * 2 ** -22 || 0);
          });
          const label = row.length - 1;
          const loss = Tensor.crossEntropy(Tensor.from([row]), Int32Array.from([label])).item();
          expect(Math.abs(loss + want[label])).toBeLessThanOrEqual((Math.abs(want[label]) + Math.log(row.length) + 1) * 2 ** -22);
        },
      ),
      { numRuns: 300, seed: 18 },
    );
  });
});

// ---- the softmax family under the kernel contract: each backend against float64 ----

/** x as (OUTER, N, INNER) around `axis`. */
function axisView(shape: number[], axis: number): [number, number, number] {
  const a = axis < 0 ? shape.length + axis : axis;
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  return [size(shape.slice(0, a)), shape[a], size(shape.slice(a + 1))];
}

/** Softmax and log-softmax along the axis in float64 (max, then the shift kept apart from the log). */
function reference(x: Float32Array, [OUTER, N, INNER]: [number, number, number]): { p: Float64Array; logp: Float64Array } {
  const p = new Float64Array(x.length);
  const logp = new Float64Array(x.length);
  for (let o = 0; o < OUTER; o++) {
    for (let i = 0; i < INNER; i++) {
      const idx = (k: number) => (o * N + k) * INNER + i;
      let m = -Infinity;
      for (let k = 0; k < N; k++) m = Math.max(m, x[idx(k)]);
      let total = 0;
      for (let k = 0; k < N; k++) total += Math.exp(x[idx(k)] - m);
      for (let k = 0; k < N; k++) {
        p[idx(k)] = Math.exp(x[idx(k)] - m) / total;
        logp[idx(k)] = x[idx(k)] - m - Math.log(total);
      }
    }
  }
  return { p, logp };
}

/** One float32 ulp at |w| (2⁻¹²⁶ below the normal range: a subnormal result may lose its low bits). */
function ulp(w: number): number {
  return Math.abs(w) < 2 ** -126 ? 2 ** -126 : 2 ** (Math.floor(Math.log2(Math.abs(w))) - 23);
}

/** Every element within bound(i) of the reference; the reference's NaN and ±∞ met exactly. */
function expectWithin(got: Float32Array, want: ArrayLike<number>, bound: (i: number) => number, what: string): void {
  let bad = '';
  for (let i = 0; i < want.length && bad === ''; i++) {
    const [g, w] = [got[i], want[i]];
    const ok = Number.isFinite(w) ? Math.abs(g - w) <= bound(i) : Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w));
    if (!ok) bad = `${what}: [${i}] = ${g}, float64 ${w}, bound ${bound(i)}`;
  }
  expect(bad).toBe('');
}

function normals(n: number, rng: Rng, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

const ROWS: [number, number][] = [[1, 1], [3, 17], [17, 127], [64, 784]];
const initial = getBackend();

describe('softmax, logSoftmax and crossEntropy on each backend against float64 (the bounds of engine/backends/kernels.ts)', () => {
  afterAll(async () => {
    await setBackend(initial);
  });

  for (const backend of ['js', 'wasm'] as const) {
    it(`${backend}: softmax within 4 float32 ulps, logSoftmax within 2⁻²²·(1 + |y|), on odd shapes and every axis`, async () => {
      await setBackend(backend);
      expect(getBackend()).toBe(backend);
      const rng = new Rng(5);
      const cases: [number[], number][] = [...ROWS.map(([r, f]): [number[], number] => [[r, f], -1]), [[64, 784], 0], [[3, 5, 4], 1], [[3, 5, 4], 0], [[2, 7], 0]];
      for (const [shape, axis] of cases) {
        for (const scale of [1, 10, 60]) {
          const x = normals(shape.reduce((a, b) => a * b, 1), rng, scale);
          const { p, logp } = reference(x, axisView(shape, axis));
          const what = `${backend} [${shape}] axis ${axis} scale ${scale}`;
          expectWithin(Tensor.from(x, { shape }).softmax(axis).data, p, (i) => 4 * ulp(p[i]), `softmax ${what}`);
          expectWithin(Tensor.from(x, { shape }).logSoftmax(axis).data, logp, (i) => 2 ** -22 * (1 + Math.abs(logp[i])), `logSoftmax ${what}`);
        }
      }
    });

    it(`${backend}: crossEntropy's loss within 2⁻²²·(1 + loss) and its gradient (softmax − onehot)/B within float32 rounding`, async () => {
      await setBackend(backend);
      const rng = new Rng(6);
      for (const [B, C] of ROWS) {
        const x = normals(B * C, rng, 4);
        const labels = Int32Array.from({ length: B }, () => rng.int(C));
        const { p, logp } = reference(x, [B, C, 1]);
        let want = 0;
        for (let b = 0; b < B; b++) want -= logp[b * C + labels[b]];
        want /= B;
        const logits = Tensor.from(x, { shape: [B, C], requiresGrad: true });
        const loss = Tensor.crossEntropy(logits, labels);
        expect(Math.abs(loss.item() - want), `${backend} ${B}x${C} loss`).toBeLessThanOrEqual(2 ** -22 * (1 + want));
        loss.backward();
        const grad = p.map((v, i) => (v - (labels[Math.floor(i / C)] === i % C ? 1 : 0)) / B);
        // p within 4 ulps, then p·(1/B) and, at the label, − 1/B: each rounded once.
        expectWithin(logits.grad!.data, grad, (i) => (4 * ulp(p[i]) + ulp(grad[i] * B)) / B + ulp(grad[i]), `${backend} ${B}x${C} gradient`);
      }
    });

    it(`${backend}: NaN, ±∞ and subnormal rows give PyTorch's values`, async () => {
      await setBackend(backend);
      const L2 = Math.log(2);
      const rows = (v: number[][]) => Tensor.from(v);
      const values = (t: Tensor) => Array.from(t.data);
      // A NaN or a +∞ makes the whole row NaN (x − max is NaN or ∞ − ∞); so does a row of −∞ only.
      for (const row of [[NaN, 1, 2], [Infinity, 1, 2], [Infinity, Infinity, 0], [-Infinity, -Infinity, -Infinity]]) {
        expect(values(rows([row]).softmax()).every(Number.isNaN), `softmax [${row}]`).toBe(true);
        expect(values(rows([row]).logSoftmax()).every(Number.isNaN), `logSoftmax [${row}]`).toBe(true);
        expect(Tensor.crossEntropy(rows([row]), Int32Array.from([1])).item()).toBeNaN();
      }
      // A −∞ among finite values: probability 0, log-probability −∞, the others as if it were absent.
      expect(values(rows([[-Infinity, 0, 0]]).softmax())).toEqual([0, 0.5, 0.5]);
      expect(values(rows([[-Infinity, 0, 0]]).logSoftmax())).toEqual([-Infinity, f32(-L2), f32(-L2)]);
      expect(Tensor.crossEntropy(rows([[-Infinity, 0, 0]]), Int32Array.from([1])).item()).toBe(f32(L2));
      expect(Tensor.crossEntropy(rows([[-Infinity, 0, 0]]), Int32Array.from([0])).item()).toBe(Infinity);
      // Other rows are untouched by a bad one.
      expect(values(rows([[NaN, 0], [0, 0]]).softmax()).slice(2)).toEqual([0.5, 0.5]);
      // Subnormal inputs are ordinary numbers near 0; a gap of 100 gives a subnormal probability.
      expect(values(rows([[1e-40, -1e-40, 0]]).softmax())).toEqual([f32(1 / 3), f32(1 / 3), f32(1 / 3)]);
      const tiny = rows([[0, -100]]).softmax().data[1];
      expect(Math.abs(tiny - Math.exp(-100))).toBeLessThanOrEqual(4 * 2 ** -149);
      expect(tiny).toBeGreaterThan(0);
      expect(rows([[0, -100]]).logSoftmax().data[1]).toBe(f32(-100 - Math.log1p(Math.exp(-100))));
      // Past float32's exponent range the probability is 0 and the log-probability still finite.
      expect(values(rows([[0, -200]]).softmax())).toEqual([1, 0]);
      expect(rows([[0, -200]]).logSoftmax().data[1]).toBe(-200);
    });

    it(`${backend}: gradients of softmax (both axes), logSoftmax and crossEntropy match central differences`, async () => {
      await setBackend(backend);
      const rng = new Rng(8);
      for (const [B, C] of [[1, 1], [3, 17], [4, 5]]) {
        const x = Tensor.from(normals(B * C, rng, 2), { shape: [B, C] });
        const labels = Int32Array.from({ length: B }, () => rng.int(C));
        const what = `${backend} ${B}x${C}`;
        expect(gradcheck((t) => t.softmax(-1), [x]), `softmax ${what}`).toBeLessThan(2e-2);
        expect(gradcheck((t) => t.softmax(0), [x]), `softmax axis 0 ${what}`).toBeLessThan(2e-2);
        expect(gradcheck((t) => t.logSoftmax(-1), [x]), `logSoftmax ${what}`).toBeLessThan(2e-2);
        expect(gradcheck((t) => t.logSoftmax(0), [x]), `logSoftmax axis 0 ${what}`).toBeLessThan(2e-2);
        expect(gradcheck((t) => Tensor.crossEntropy(t, labels), [x]), `crossEntropy ${what}`).toBeLessThan(2e-2);
      }
    });
  }

  it('the two backends agree on every NaN and ±∞ of the special rows, values and gradients', async () => {
    const x = [[NaN, 1, 2], [Infinity, 1, 2], [-Infinity, -Infinity, -Infinity], [-Infinity, 0, 3], [1e-40, -1e-40, 0], [3e38, -3e38, 3e38]];
    const labels = Int32Array.from([0, 1, 2, 0, 1, 1]);
    const run = async (backend: BackendName) => {
      await setBackend(backend);
      const out: Float32Array[] = [];
      for (const op of ['softmax', 'logSoftmax', 'crossEntropy'] as const) {
        const t = Tensor.from(x, { requiresGrad: true });
        const y = op === 'crossEntropy' ? Tensor.crossEntropy(t, labels) : t[op]();
        y.backward(op === 'crossEntropy' ? undefined : Float32Array.from({ length: 18 }, (_, i) => (i % 5) - 2));
        out.push(y.data.slice(), t.grad!.data.slice());
      }
      return out;
    };
    const js = await run('js');
    const wasm = await run('wasm');
    js.forEach((a, k) => a.forEach((v, i) => {
      const w = wasm[k][i];
      if (!Number.isFinite(v) || !Number.isFinite(w)) expect(Object.is(v, w) || (Number.isNaN(v) && Number.isNaN(w)), `output ${k} [${i}]: js ${v}, wasm ${w}`).toBe(true);
    }));
  });
});
