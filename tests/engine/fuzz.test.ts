/**
 * The op fuzzer (issue 18): every op's values and gradients against the float64 references of
 * fuzz-reference.ts (which says how the tolerances follow from float32 rounding, and where NaN and ±∞
 * semantics are PyTorch's), on random shapes (broadcasting, size-1 and size-0 axes, odd sizes) and
 * random values (−0, subnormals, ±1e38, ±FLT_MAX, NaN, ±∞ among ordinary numbers), on both backends,
 * with every product once on the calling thread and once on the thread pool, bit for bit the same
 * (and, at the end, the products again under setThreads(1) and setThreads(2)).
 *
 * What it found (each fixed, with a test of its own): division was a·(1/b) (engine/ops/div.ts);
 * logSoftmax and crossEntropy lost log Σ behind a large max (engine/kernels/softmax.ts); an empty
 * product on the thread pool waited 10 s and broke the pool, and so, once in about 10⁵ small products,
 * did a worker woken late (engine/threads/); poison mode's quarantine held the main thread for minutes
 * after a few hundred thousand small tensors (engine/memory.ts).
 *
 * Each op runs RUNS cases (200; TAPEGRAD_FUZZ_RUNS=5000 for a long run, TAPEGRAD_FUZZ_SEED to change
 * the seed, which is fixed so the suite is repeatable). A failure prints the smallest case fast-check
 * shrinks it to, with the configuration and the element that is out of bounds.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, ShapeError, Tensor, dropout, linear, setBackend, threadsReady, type BackendName } from '../../engine/index.js';
import {
  PARALLEL_MIN_MACS, getThreads, parallelProductCount, setBusyCheck, setParallelMinMacs, setThreads,
} from '../../engine/threads/index.js';
import * as R from './fuzz-reference.js';

const RUNS = Number(process.env.TAPEGRAD_FUZZ_RUNS ?? 200);
const SEED = Number(process.env.TAPEGRAD_FUZZ_SEED ?? 18);
const f32 = Math.fround;

// ---- values ----

const SPECIAL = [
  0, -0, NaN, Infinity, -Infinity, 1, -1, 1e38, -1e38, R.FLT_MAX, -R.FLT_MAX, 1e30, -1e30, 1e16, -1e16,
  1e-30, 1.1754943508222875e-38 /* smallest normal */, 1e-39, -1e-39, 1.401298464324817e-45 /* smallest subnormal */, -1.401298464324817e-45,
].map(f32);

const ordinary = fc.float({ min: -8, max: 8, noNaN: true });
const anyValue = fc.oneof(
  { arbitrary: ordinary, weight: 6 },
  { arbitrary: fc.constantFrom(...SPECIAL), weight: 3 },
  { arbitrary: fc.float(), weight: 1 }, // anything float32 holds, NaN and ±∞ included
);

function values(n: number, dirty: boolean): fc.Arbitrary<Float32Array> {
  return fc.array(dirty ? anyValue : ordinary, { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));
}

/** The gradient handed to backward: ordinary numbers, or (dirty) with the special values among them. */
function upstream(n: number, seed: number, dirty: boolean): Float32Array {
  const rng = new Rng(seed);
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) g[i] = dirty && rng.uniform() < 0.15 ? SPECIAL[Math.floor(rng.uniform() * SPECIAL.length)] : f32(rng.uniformIn(-2, 2));
  return g;
}

// ---- shapes ----

const dim = fc.oneof({ arbitrary: fc.constantFrom(1, 2, 3), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 3 }, { arbitrary: fc.constantFrom(0, 17), weight: 1 });
const shapeOf = (minRank: number, maxRank: number, maxSize = 300) =>
  fc.array(dim, { minLength: minRank, maxLength: maxRank }).filter((s) => R.sizeOf(s) <= maxSize);

/** Two shapes that broadcast (one with axes set to 1 and leading axes dropped), or rarely two at random. */
const broadcastPair: fc.Arbitrary<[number[], number[]]> = fc.oneof(
  {
    weight: 19,
    arbitrary: shapeOf(0, 4).chain((s) =>
      fc.tuple(fc.constant(s), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.integer({ min: 0, max: s.length }), fc.boolean()).map(([shape, ones, drop, swap]) => {
        const b = shape.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
        return (swap ? [b, shape] : [shape, b]) as [number[], number[]];
      }),
    ),
  },
  { weight: 1, arbitrary: fc.tuple(shapeOf(0, 3), shapeOf(0, 3)) },
);

const tensorArb = (shape: number[], dirty: boolean) => values(R.sizeOf(shape), dirty);

// ---- the ops ----

interface Input {
  shape: number[];
  data: Float32Array;
  grad: boolean;
}

interface Case {
  inputs: Input[];
  /** Anything else the op takes (an axis, an exponent, labels...). */
  extra: Record<string, unknown>;
  gSeed: number;
  gDirty: boolean;
}

interface Spec {
  name: string;
  cases: fc.Arbitrary<Case>;
  run(inputs: Tensor[], extra: Record<string, unknown>): Tensor;
  ref(c: Case): R.RefResult;
}

/** A case: inputs from `shapes`, the same dirty flag for all, grad flags, extras, the upstream seed. */
function caseOf(shapes: fc.Arbitrary<number[][]>, extra: (shapes: number[][]) => fc.Arbitrary<Record<string, unknown>> = () => fc.constant({}), gradFlags = true): fc.Arbitrary<Case> {
  return fc.tuple(shapes, fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 2 ** 31 - 1 })).chain(([ss, dirty, gDirty, gSeed]) =>
    fc.record({
      data: fc.tuple(...ss.map((s) => tensorArb(s, dirty))),
      grads: gradFlags ? fc.array(fc.boolean(), { minLength: ss.length, maxLength: ss.length }).map((g) => (g.some(Boolean) ? g : g.map(() => true))) : fc.constant(ss.map(() => true)),
      extra: extra(ss),
    }).map(({ data, grads, extra }) => ({
      inputs: ss.map((shape, i) => ({ shape, data: data[i], grad: grads[i] })),
      extra,
      gSeed,
      gDirty,
    })),
  );
}

const one = (s: fc.Arbitrary<number[]>) => s.map((x) => [x]);

const binary = (name: 'add' | 'sub' | 'mul' | 'div'): Spec => ({
  name,
  // { scalar: true }: b is a JavaScript number (Tensor.add(3)), lifted to a shape-[] constant.
  cases: caseOf(broadcastPair.map(([a, b]) => [a, b]), () => fc.record({ scalar: fc.boolean() })).map((c) => {
    if (!c.extra.scalar) return c;
    const b = c.inputs[1];
    return { ...c, inputs: [{ ...c.inputs[0], grad: true }, { shape: [], data: b.data.length > 0 ? b.data.subarray(0, 1) : Float32Array.of(2), grad: false }] };
  }),
  run: ([a, b], { scalar }) => {
    const other = scalar ? b.data[0] : b;
    return name === 'add' ? a.add(other) : name === 'sub' ? a.sub(other) : name === 'mul' ? a.mul(other) : a.div(other);
  },
  ref: ({ inputs: [a, b] }) => R.binaryRef(name, a.data, a.shape, b.data, b.shape),
});

const unary = (name: R.Unary): Spec => ({
  name,
  cases: caseOf(one(shapeOf(0, 4))),
  run: ([x]) => (x[name] as () => Tensor).call(x),
  ref: ({ inputs: [x] }) => R.unaryRef(name, x.data, x.shape),
});

const EXPONENTS = [0, 1, 2, 3, -1, -2, 0.5, -0.5, 1.5, 2.5];

const axisOf = (shape: number[]) => (shape.length === 0 ? fc.constant(undefined) : fc.option(fc.integer({ min: -shape.length, max: shape.length - 1 }), { nil: undefined }));

const reduction = (name: 'sum' | 'mean' | 'max'): Spec => ({
  name,
  cases: caseOf(one(shapeOf(0, 4)), ([s]) => fc.record({ axis: axisOf(s), keepDims: fc.boolean() })),
  run: ([x], { axis, keepDims }) => x[name](axis as number | undefined, keepDims as boolean),
  ref: ({ inputs: [x], extra: { axis, keepDims } }) =>
    name === 'max' ? R.maxRef(x.data, x.shape, axis as number | undefined, keepDims as boolean) : R.sumRef(x.data, x.shape, axis as number | undefined, keepDims as boolean, name === 'mean'),
});

const productDim = fc.oneof({ arbitrary: fc.constantFrom(1, 2, 3, 4, 5), weight: 4 }, { arbitrary: fc.constantFrom(0, 7, 8, 9, 17, 31), weight: 2 });

const softmaxLike = (name: 'softmax' | 'logSoftmax'): Spec => ({
  name,
  cases: caseOf(one(shapeOf(1, 3)), ([s]) => fc.record({ axis: fc.integer({ min: -s.length, max: s.length - 1 }) })),
  run: ([x], { axis }) => x[name](axis as number),
  ref: ({ inputs: [x], extra: { axis } }) => (name === 'softmax' ? R.softmaxRef : R.logSoftmaxRef)(x.data, x.shape, axis as number),
});

const SPECS: Spec[] = [
  binary('add'),
  binary('sub'),
  binary('mul'),
  binary('div'),
  unary('neg'),
  {
    name: 'pow',
    cases: caseOf(one(shapeOf(0, 4)), () => fc.record({ p: fc.constantFrom(...EXPONENTS) })),
    run: ([x], { p }) => x.pow(p as number),
    ref: ({ inputs: [x], extra: { p } }) => R.powRef(x.data, x.shape, p as number),
  },
  unary('exp'),
  unary('log'),
  unary('sqrt'),
  {
    name: 'matmul',
    cases: caseOf(
      fc.oneof(
        { weight: 19, arbitrary: fc.tuple(productDim, productDim, productDim).map(([M, K, N]) => [[M, K], [K, N]]) },
        { weight: 1, arbitrary: fc.tuple(shapeOf(1, 3, 40), shapeOf(1, 3, 40)) },
      ),
    ),
    run: ([a, b]) => a.matmul(b),
    ref: ({ inputs: [a, b] }) => R.matmulRef(a.data, a.shape, b.data, b.shape),
  },
  {
    name: 'transpose',
    cases: caseOf(one(shapeOf(0, 4)), ([s]) =>
      fc.oneof(
        { weight: 1, arbitrary: fc.constant({ axes: undefined }) },
        { weight: 3, arbitrary: fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length }).chain((p) => fc.constantFrom(p, p.map((a) => a - s.length))).map((axes) => ({ axes })) },
        { weight: 1, arbitrary: fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 4 }).map((axes) => ({ axes })) },
      ),
    ),
    run: ([x], { axes }) => x.transpose(axes as number[] | undefined),
    ref: ({ inputs: [x], extra: { axes } }) => R.transposeRef(x.data, x.shape, axes as number[] | undefined),
  },
  {
    name: 'reshape',
    cases: caseOf(one(shapeOf(0, 4)), ([s]) =>
      fc.oneof(
        // The same size split differently: the dims shuffled, one of them maybe −1.
        { weight: 4, arbitrary: fc.tuple(fc.shuffledSubarray(s, { minLength: s.length, maxLength: s.length }), fc.integer({ min: -1, max: 3 })).map(([t, k]) => ({ target: k >= 0 && k < t.length && R.sizeOf(s) > 0 ? t.map((d, i) => (i === k ? -1 : d)) : t })) },
        { weight: 1, arbitrary: fc.constant({ target: [R.sizeOf(s)] }) },
        { weight: 1, arbitrary: fc.array(fc.integer({ min: -2, max: 6 }), { maxLength: 3 }).map((target) => ({ target })) },
      ),
    ),
    run: ([x], { target }) => x.reshape(target as number[]),
    ref: ({ inputs: [x], extra: { target } }) => R.reshapeRef(x.data, x.shape, target as number[]),
  },
  reduction('sum'),
  reduction('mean'),
  reduction('max'),
  unary('relu'),
  unary('sigmoid'),
  unary('tanh'),
  softmaxLike('softmax'),
  softmaxLike('logSoftmax'),
  {
    name: 'crossEntropy',
    cases: caseOf(
      fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 17 })).map(([B, C]) => [[B, C]]),
      ([[B, C]]) => fc.record({ labels: fc.array(fc.integer({ min: 0, max: C - 1 }), { minLength: B, maxLength: B }).map((l) => Int32Array.from(l)) }),
    ),
    run: ([z], { labels }) => Tensor.crossEntropy(z, labels as Int32Array),
    ref: ({ inputs: [z], extra: { labels } }) => R.crossEntropyRef(z.data, z.shape, labels as Int32Array),
  },
  {
    name: 'mse',
    cases: caseOf(shapeOf(0, 3).map((s) => [s, s])),
    run: ([p, t]) => Tensor.mse(p, t),
    ref: ({ inputs: [p, t] }) => R.mseRef(p.data, t.data, p.shape),
  },
  ...[false, true].map(
    (relu): Spec => ({
      name: relu ? 'linear+relu' : 'linear',
      cases: caseOf(
        fc.tuple(productDim, productDim, productDim, fc.boolean()).map(([B, IN, OUT, bias]) => (bias ? [[B, IN], [OUT, IN], [OUT]] : [[B, IN], [OUT, IN]])),
      ),
      run: ([x, w, b]) => linear(x, w, b ?? null, { relu }),
      ref: ({ inputs: [x, w, b] }) => R.linearRef(x.data, x.shape, w.data, w.shape, b?.data ?? null, relu),
    }),
  ),
  {
    name: 'dropout',
    cases: caseOf(one(shapeOf(0, 3)), () => fc.record({ rate: fc.constantFrom(0, 0.1, 0.5, 0.9, 0.999), seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }) })),
    run: ([x], { rate, seed }) => dropout(x, rate as number, new Rng(seed as number)),
    ref: ({ inputs: [x], extra: { rate, seed } }) => {
      // The mask's uniforms, drawn as engine/kernels/dropout.ts's naive twin draws them.
      const rng = new Rng(seed as number);
      const uniforms = Float64Array.from({ length: x.data.length }, () => rng.uniform());
      return R.dropoutRef(x.data, x.shape, rate as number, uniforms);
    },
  },
];

// ---- running the engine ----

interface Config {
  backend: BackendName;
  /** Every product on the thread pool (2 threads), or every product on the calling thread. */
  pool: boolean;
}

const CONFIGS: Config[] = [
  { backend: 'js', pool: false },
  { backend: 'js', pool: true },
  { backend: 'wasm', pool: false },
  { backend: 'wasm', pool: true },
];

const describeConfig = (c: Config) => `${c.backend}, ${c.pool ? '2 threads' : '1 thread'}`;

async function configure(c: Config): Promise<void> {
  await setBackend(c.backend);
  // The cut-overs decide which products and passes go to the pool: 0 sends every one, ∞ none. One
  // thread is exactly what setThreads(1) runs (threads/index.ts).
  setParallelMinMacs(c.pool ? 0 : Infinity, c.pool ? 0 : Infinity);
}

type Outcome = { error: unknown } | { shape: readonly number[]; value: Float32Array; grads: (Float32Array | null)[] };

function runEngine(spec: Spec, c: Case, g: (n: number) => Float32Array): Outcome {
  let inputs: Tensor[];
  let out: Tensor;
  try {
    // In the engine's memory, as tensors are (Tensor.zeros allocates there), not the caller's arrays.
    inputs = c.inputs.map((i) => {
      const t = Tensor.zeros(i.shape, { requiresGrad: i.grad });
      t.data.set(i.data);
      return t;
    });
    out = spec.run(inputs, c.extra);
  } catch (error) {
    return { error };
  }
  const value = Float32Array.from(out.data);
  const grads: (Float32Array | null)[] = inputs.map(() => null);
  if (out.requiresGrad) {
    out.backward(g(out.size));
    inputs.forEach((t, i) => {
      if (c.inputs[i].grad) grads[i] = t.grad === null ? new Float32Array(t.size) : Float32Array.from(t.grad.data);
    });
  }
  return { shape: [...out.shape], value, grads };
}

/**
 * The same bits, except that any NaN equals any NaN: IEEE leaves a NaN result's sign and payload
 * open, and V8 gives different ones from the same code before and after optimizing it.
 */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])));
}

const TYPED = [ShapeError, RangeError, TypeError];

/** Runs one case on every configuration and throws, describing it, at the first disagreement. */
async function check(spec: Spec, c: Case): Promise<void> {
  const want = spec.ref(c);
  const g = (n: number) => upstream(n, c.gSeed, c.gDirty);
  const results: Outcome[] = [];
  for (const config of CONFIGS) {
    await configure(config);
    results.push(runEngine(spec, c, g));
  }
  CONFIGS.forEach((config, k) => {
    const got = results[k];
    const where = `${spec.name} (${describeConfig(config)})`;
    if ('throws' in want) {
      if (!('error' in got)) throw new Error(`${where}: expected an error, got a result of shape [${got.shape}]`);
      if (!TYPED.some((T) => got.error instanceof T) || !(got.error instanceof want.throws)) throw new Error(`${where}: expected a typed error, got ${String(got.error)}`);
      return;
    }
    if ('error' in got) throw new Error(`${where}: threw ${(got.error as Error)?.stack ?? String(got.error)}`);
    if (got.shape.join() !== want.shape.join()) throw new Error(`${where}: shape [${got.shape}], expected [${want.shape}]`);
    const bad = R.outside(got.value, want.value);
    if (bad !== null) throw new Error(`${where}: value ${bad}`);
    if (c.inputs.some((i) => i.grad)) {
      const grads = want.vjp(Float64Array.from(g(R.sizeOf(want.shape))));
      c.inputs.forEach((input, i) => {
        const w = grads[i];
        if (!input.grad || w === null) return;
        const bad = R.outside(got.grads[i] ?? new Float32Array(0), w);
        if (bad !== null) throw new Error(`${where}: gradient of input ${i} ${bad}`);
      });
    }
  });
  // One thread and two: the same bits, values and gradients, on each backend.
  for (let k = 0; k < CONFIGS.length; k += 2) {
    const [alone, pooled] = [results[k], results[k + 1]];
    if ('error' in alone || 'error' in pooled) continue;
    const pairs: [Float32Array | null, Float32Array | null][] = [[alone.value, pooled.value], ...alone.grads.map((a, i): [Float32Array | null, Float32Array | null] => [a, pooled.grads[i]])];
    pairs.forEach(([a, b], i) => {
      if ((a === null) !== (b === null) || (a !== null && !sameBits(a, b!))) {
        throw new Error(`${spec.name} (${CONFIGS[k].backend}): ${i === 0 ? 'values' : `gradient of input ${i - 1}`} differ between 1 and 2 threads`);
      }
    });
  }
}

beforeAll(async () => {
  setBusyCheck(false); // the pool takes the products even while other test files hold the cores
  await setBackend('wasm'); // first, so that the workers start with the WebAssembly kernels
  setThreads(2);
  await threadsReady();
});

afterAll(() => {
  setParallelMinMacs(PARALLEL_MIN_MACS);
});

describe(`op fuzzer: ${RUNS} cases per op, js and wasm, 1 and 2 threads, against float64`, () => {
  for (const spec of SPECS) {
    it(spec.name, async () => {
      const pooled = parallelProductCount();
      await fc.assert(fc.asyncProperty(spec.cases, (c) => check(spec, c)), { numRuns: RUNS, seed: SEED + SPECS.indexOf(spec), endOnFailure: false });
      if (spec.name.startsWith('matmul') || spec.name.startsWith('linear')) {
        expect(getThreads()).toBe(2);
        expect(parallelProductCount(), 'the products did run on the pool').toBeGreaterThan(pooled);
      }
    });
  }
});

describe('setThreads(1) and setThreads(2): the same bits', () => {
  it('for the fuzzer\'s products (matmul, linear, linear+relu), values and gradients, on each backend', async () => {
    const specs = SPECS.filter((s) => s.name === 'matmul' || s.name.startsWith('linear'));
    const cases = specs.map((s) => fc.sample(s.cases, { seed: SEED, numRuns: Math.min(RUNS, 30) }));
    const runAll = () => specs.map((s, k) => cases[k].map((c) => runEngine(s, c, (n) => upstream(n, c.gSeed, c.gDirty))));
    try {
      for (const backend of ['js', 'wasm'] as const) {
        await setBackend(backend);
        setParallelMinMacs(0);
        setThreads(1);
        const before = parallelProductCount();
        const one = runAll();
        expect(parallelProductCount()).toBe(before); // no pool at all
        setThreads(2);
        await threadsReady();
        const two = runAll();
        expect(parallelProductCount()).toBeGreaterThan(before);
        one.forEach((outcomes, k) =>
          outcomes.forEach((a, i) => {
            const b = two[k][i];
            const what = `${specs[k].name} case ${i} (${backend})`;
            expect('error' in a, what).toBe('error' in b);
            if ('error' in a || 'error' in b) return;
            expect(sameBits(a.value, b.value), `${what}: values`).toBe(true);
            a.grads.forEach((ga, j) => expect(ga === null ? b.grads[j] === null : sameBits(ga, b.grads[j]!), `${what}: gradient ${j}`).toBe(true));
          }),
        );
      }
    } finally {
      setThreads(2);
      await threadsReady();
    }
  });
});
