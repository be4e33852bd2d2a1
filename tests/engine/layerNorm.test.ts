/**
 * The layerNorm op under the kernel contract: each backend against a float64 reference on odd shapes,
 * the two backends bit for bit (each row's sums run in float64 in the same order in both, so nothing
 * may differ, NaN and ±∞ rows included), and the gradients against central differences on both.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, Tensor, getBackend, gradcheck, layerNorm, setBackend, type BackendName } from '../../engine/index.js';

const EPS = 1e-5;
const initial = getBackend();
afterAll(async () => {
  await setBackend(initial);
});

/** out, xhat and the input gradient dx in float64, from the definition (rows of F). */
function reference(x: Float32Array, gamma: Float32Array, beta: Float32Array, dout: Float32Array, R: number, F: number) {
  const out = new Float64Array(R * F);
  const xhats = new Float64Array(R * F);
  const invstds = new Float64Array(R);
  const dx = new Float64Array(R * F);
  const dgamma = new Float64Array(F);
  const dbeta = new Float64Array(F);
  for (let r = 0; r < R; r++) {
    const row = Array.from(x.subarray(r * F, (r + 1) * F));
    const mean = row.reduce((s, v) => s + v, 0) / F;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / F;
    const invstd = 1 / Math.sqrt(variance + EPS);
    const xhat = row.map((v) => (v - mean) * invstd);
    invstds[r] = invstd;
    xhats.set(xhat, r * F);
    const dxhat = xhat.map((_, f) => dout[r * F + f] * gamma[f]);
    const sum = dxhat.reduce((s, v) => s + v, 0);
    const dot = dxhat.reduce((s, v, f) => s + v * xhat[f], 0);
    for (let f = 0; f < F; f++) {
      out[r * F + f] = gamma[f] * xhat[f] + beta[f];
      // d/dx of (x − mean)/σ: the chain rule through the row's mean and variance.
      dx[r * F + f] = (invstd / F) * (F * dxhat[f] - sum - xhat[f] * dot);
      dgamma[f] += dout[r * F + f] * xhat[f];
      dbeta[f] += dout[r * F + f];
    }
  }
  return { out, xhat: xhats, invstd: invstds, dx, dgamma, dbeta };
}

function normals(n: number, rng: Rng, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, () => offset + scale * rng.normal());
}

function run(x: Float32Array, gamma: Float32Array, beta: Float32Array, dout: Float32Array, shape: number[]) {
  const xt = Tensor.from(x, { shape, requiresGrad: true });
  const g = Tensor.from(gamma, { requiresGrad: true });
  const b = Tensor.from(beta, { requiresGrad: true });
  const y = layerNorm(xt, g, b, EPS);
  y.backward(Tensor.from(dout, { shape }));
  return [y.data.slice(), xt.grad!.data.slice(), g.grad!.data.slice(), b.grad!.data.slice()];
}

/** Every element within tol·scale(i) of the reference. */
function expectNear(got: Float32Array, want: Float64Array, scale: (i: number) => number, tol: number, what: string): void {
  let bad = '';
  for (let i = 0; i < want.length && bad === ''; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * scale(i))) bad = `${what}: [${i}] = ${got[i]}, float64 ${want[i]}, bound ${tol * scale(i)}`;
  }
  expect(bad).toBe('');
}

const SHAPES: [number, number][] = [[1, 1], [3, 17], [17, 127], [64, 784], [2, 2]];

describe('layerNorm on each backend against float64', () => {
  for (const backend of ['js', 'wasm'] as const) {
    it(`${backend}: out, dx, dgamma and dbeta on odd shapes (R×F), rows with large means`, async () => {
      await setBackend(backend);
      expect(getBackend()).toBe(backend);
      const rng = new Rng(4);
      for (const [R, F] of SHAPES) {
        const x = normals(R * F, rng, 2, 100); // the mean 50× the spread: a one-pass variance would cancel
        const gamma = normals(F, rng);
        const beta = normals(F, rng);
        const dout = normals(R * F, rng);
        const want = reference(x, gamma, beta, dout, R, F);
        const [out, dx, dgamma, dbeta] = run(x, gamma, beta, dout, [R, F]);
        const what = `${backend} ${R}x${F}`;
        // The inputs are the same float32 numbers on both sides and the statistics are float64, so what is
        // left is float32 rounding: xhat is stored rounded (2⁻²⁴ of it), and each result is rounded once.
        const xh = (i: number) => Math.abs(want.xhat[i]);
        expectNear(out, want.out, (i) => Math.abs(gamma[i % F]) * xh(i) + Math.abs(beta[i % F]), 2 ** -22, `out ${what}`);
        const dxScale = (i: number) => {
          const r = Math.floor(i / F);
          let s = 0, sx = 0;
          for (let f = 0; f < F; f++) {
            s += Math.abs(dout[r * F + f] * gamma[f]);
            sx += Math.abs(dout[r * F + f] * gamma[f] * want.xhat[r * F + f]);
          }
          return want.invstd[r] * (Math.abs(dout[i] * gamma[i % F]) + s / F + (xh(i) * sx) / F);
        };
        expectNear(dx, want.dx, dxScale, 2 ** -21, `dx ${what}`);
        const down = (f: number, term: (r: number) => number) => { let s = 0; for (let r = 0; r < R; r++) s += Math.abs(term(r)); return s; };
        expectNear(dgamma, want.dgamma, (f) => down(f, (r) => dout[r * F + f] * want.xhat[r * F + f]), 2 ** -22, `dgamma ${what}`);
        expectNear(dbeta, want.dbeta, (f) => down(f, (r) => dout[r * F + f]), 2 ** -23, `dbeta ${what}`);
      }
    });

    it(`${backend}: gradients against central differences (x, gamma, beta; 2-D and 3-D)`, async () => {
      await setBackend(backend);
      const rng = new Rng(9);
      for (const shape of [[1, 1], [3, 5], [2, 3, 4]]) {
        const F = shape[shape.length - 1];
        const x = Tensor.from(normals(shape.reduce((a, b) => a * b, 1), rng, 1.5, 0.5), { shape });
        const gamma = Tensor.from(normals(F, rng, 0.5, 1));
        const beta = Tensor.from(normals(F, rng));
        // tanh after it, so that the sum of the outputs is not constant in x (it is, for the plain layerNorm).
        expect(gradcheck((xx, g, b) => layerNorm(xx, g, b, EPS).tanh(), [x, gamma, beta]), `${backend} [${shape}]`).toBeLessThan(2e-2);
      }
    });
  }

  it('the two backends give the same bits, values and every gradient, NaN/±∞/subnormal rows included', async () => {
    const rng = new Rng(12);
    const cases: { R: number; F: number; special: boolean }[] = [
      { R: 1, F: 1, special: false }, { R: 3, F: 17, special: true }, { R: 17, F: 127, special: true }, { R: 64, F: 784, special: false },
    ];
    for (const { R, F, special } of cases) {
      const x = normals(R * F, rng, 3, 7);
      if (special) {
        x[2] = NaN; // row 0
        x[F + 1] = Infinity; // row 1
        for (let f = 0; f < F; f++) x[2 * F + f] = f % 2 === 0 ? 1e-40 : -1e-40; // row 2: subnormals
      }
      const gamma = normals(F, rng);
      const beta = normals(F, rng);
      const dout = normals(R * F, rng);
      const outs: Record<BackendName, Float32Array[]> = { js: [], wasm: [] };
      for (const backend of ['js', 'wasm'] as const) {
        await setBackend(backend);
        outs[backend] = run(x, gamma, beta, dout, [R, F]);
      }
      outs.js.forEach((a, k) => {
        const b = outs.wasm[k];
        const at = a.findIndex((v, i) => !Object.is(v, b[i]) && !(Number.isNaN(v) && Number.isNaN(b[i])));
        expect(at, `${R}x${F} output ${k}: js ${a[at]}, wasm ${b[at]} at ${at}`).toBe(-1);
      });
      if (special) expect(outs.js[0].subarray(0, 2 * F).every(Number.isNaN)).toBe(true); // a NaN or a +∞ makes its row NaN
    }
  });
});
