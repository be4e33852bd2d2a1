/**
 * The WebAssembly kernels held to their naive twins. Each check returns the list of what
 * disagreed (empty when all is well), so the same checks run inside vitest (mul+add, the runtime
 * as it is) and in a child process started with --experimental-wasm-relaxed-simd (FMA), which
 * prints the lists as JSON (tests/engine/wasm-fma-child.ts).
 *
 * Tolerance for products. A kernel value is one float32 lane summing the K products in order;
 * the twin sums them in float64 and rounds once. Float32 summation of K products (each rounded, or
 * fused) errs by at most γ_K·Σ_k|a_ik·b_kj| with γ_K = K·u/(1 − K·u), u = 2⁻²⁴ (Higham, Accuracy and
 * Stability of Numerical Algorithms, §3.1); the twin's own error is its final rounding, at most
 * u·|c| ≤ u·Σ|a·b|, plus K·2⁻⁵³·Σ|a·b| in float64. For K ≥ 2 the sum of the three is below
 * 2K·u·Σ|a·b| = K·2⁻²³·Σ|a·b|, the bound used; for K = 1 both sides are the same correctly
 * rounded product. A wrong index or a missed term is off by about one whole product, far outside.
 * Where Σ|a·b| is not finite (an ∞ among the inputs) or the twin is NaN, the kernel must give the
 * very same value: NaN in the same places, ∞ of the same sign.
 *
 * Elementwise kernels and optimizer updates must equal their twins bit for bit (NaN for NaN).
 */
import { indexPanel as indexPanelJs } from '../../engine/kernels/gemmPacked.js';
import { biasBackward as biasBackwardJs, biasForward as biasForwardJs } from '../../engine/kernels/linear.js';
import { gemmNNNaive, gemmNTNaive, gemmTNNaive } from '../../engine/kernels/matmul.js';
import { Rng } from '../../engine/rng.js';
import {
  MR, NR, SPARSE_FRACTION, compileKernels, gemmScratchBytes, indexBytes, instantiateKernels, packedBytes, panelCount,
} from '../../engine/wasm/index.js';
import type { WasmKernels, WasmMemory } from '../../engine/wasm/index.js';
import { adamUpdate as adamUpdateJs, sgdUpdate as sgdUpdateJs } from '../../engine/kernels/updates.js';
import { sigmoidBackward as sigmoidBackwardJs, sigmoidForward as sigmoidForwardJs, tanhBackward as tanhBackwardJs, tanhForward as tanhForwardJs } from '../../engine/kernels/activation.js';
import { batchNormBackward as batchNormBackwardJs, batchNormForward as batchNormForwardJs } from '../../engine/kernels/batchNorm.js';
import { dropoutForward as dropoutForwardJs } from '../../engine/kernels/dropout.js';
import { layerNormBackward as layerNormBackwardJs, layerNormForward as layerNormForwardJs } from '../../engine/kernels/layerNorm.js';
import * as softmaxJs from '../../engine/kernels/softmax.js';

export interface Check {
  name: string;
  run: () => string[];
}

/**
 * A bump allocator over one WebAssembly.Memory. Address 0 is never handed out (0 means "absent"
 * to the kernels). Blocks are 16-byte aligned, plus `skew` floats when a test wants a pointer that
 * is only 4-byte aligned.
 */
export class TestArena {
  readonly memory: WasmMemory;
  private top = 64;

  constructor(pages: number, shared: boolean) {
    const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } }).WebAssembly;
    this.memory = new WA.Memory({ initial: pages, maximum: pages, shared });
  }

  private bytes(n: number, skew: number): number {
    const ptr = Math.ceil(this.top / 16) * 16 + 4 * skew;
    this.top = ptr + n;
    if (this.top > this.memory.buffer.byteLength) throw new RangeError(`TestArena: out of memory (${this.top} bytes)`);
    return ptr;
  }

  f32(n: number, skew = 0): { ptr: number; view: Float32Array } {
    const ptr = this.bytes(4 * n, skew);
    return { ptr, view: new Float32Array(this.memory.buffer, ptr, n) };
  }

  /** A copy of `values` in the memory. */
  copy(values: Float32Array, skew = 0): { ptr: number; view: Float32Array } {
    const a = this.f32(values.length, skew);
    a.view.set(values);
    return a;
  }

  i32(n: number): { ptr: number; view: Int32Array } {
    const ptr = this.bytes(4 * n, 0);
    return { ptr, view: new Int32Array(this.memory.buffer, ptr, n) };
  }

  /** Room for a product's packed operands: A's row panels and B's column panels, each with its index. */
  panels(M: number, K: number, N: number) {
    const Mp = panelCount(M, MR);
    const Np = panelCount(N, NR);
    return {
      Mp, Np,
      pa: this.f32(packedBytes(MR, Mp, K) / 4),
      pb: this.f32(packedBytes(NR, Np, K) / 4),
      aIdx: this.i32(indexBytes(Mp, K) / 4),
      bIdx: this.i32(indexBytes(Np, K) / 4),
    };
  }

  reset(): void {
    this.top = 64;
  }
}

export function setup(fma: boolean, shared = true): { kernels: WasmKernels; arena: TestArena } {
  const arena = new TestArena(512, shared); // 32 MiB
  const module = compileKernels({ fma, sharedMemory: shared, maxPages: 512 });
  return { kernels: instantiateKernels(module, arena.memory), arena };
}

type Naive = (C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number) => void;

interface Layout {
  name: 'NN' | 'NT' | 'TN';
  naive: Naive;
  /** Strides (ai, ak) of the logical A (M,K) and (bk, bj) of the logical B (K,N), as matmul.ts passes them. */
  strides: (M: number, K: number, N: number) => [number, number, number, number];
  /** Element (i,k) of A and (k,j) of B in storage. */
  a: (i: number, k: number, M: number, K: number) => number;
  b: (k: number, j: number, K: number, N: number) => number;
}

export const LAYOUTS: Layout[] = [
  { name: 'NN', naive: gemmNNNaive, strides: (M, K, N) => [K, 1, N, 1], a: (i, k, M, K) => i * K + k, b: (k, j, K, N) => k * N + j },
  { name: 'NT', naive: gemmNTNaive, strides: (M, K) => [K, 1, 1, K], a: (i, k, M, K) => i * K + k, b: (k, j, K) => j * K + k },
  { name: 'TN', naive: gemmTNNaive, strides: (M, K, N) => [1, M, N, 1], a: (i, k, M) => k * M + i, b: (k, j, K, N) => k * N + j },
];

function random(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniformIn(-1, 1);
  return a;
}

/**
 * Operands of a product in `layout`'s storage. With `zeros`, like MNIST: that fraction of entries
 * is 0 and whole k-steps are blank (every third k of A, every second j of B), so panels have
 * short k-lists and the zero-skipping paths run.
 */
function operands(layout: Layout, M: number, K: number, N: number, rng: Rng, zeros: number): [Float32Array, Float32Array] {
  const A = random(M * K, rng);
  const B = random(K * N, rng);
  if (zeros > 0) {
    for (const X of [A, B]) for (let i = 0; i < X.length; i++) if (rng.uniform() < zeros) X[i] = 0;
    for (let k = 0; k < K; k += 3) for (let i = 0; i < M; i++) A[layout.a(i, k, M, K)] = 0;
    for (let j = 0; j < N; j += 2) for (let k = 0; k < K; k++) B[layout.b(k, j, K, N)] = 0;
  }
  return [A, B];
}

/** Σ_k |a_ik·b_kj| for every (i,j), in float64 (the scale of the tolerance). */
function absProducts(layout: Layout, A: Float32Array, B: Float32Array, M: number, K: number, N: number): Float64Array {
  const s = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += Math.abs(A[layout.a(i, k, M, K)] * B[layout.b(k, j, K, N)]);
      s[i * N + j] = acc;
    }
  }
  return s;
}

/** The first few elements outside the float32 bound (or not the same non-finite value). */
export function compareProduct(got: Float32Array, want: Float32Array, scale: Float64Array, K: number, what: string): string[] {
  const bad: string[] = [];
  for (let i = 0; i < want.length && bad.length < 3; i++) {
    const g = got[i];
    const w = want[i];
    if (!Number.isFinite(scale[i]) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) bad.push(`${what}: [${i}] = ${g}, twin ${w} (non-finite must match)`);
      continue;
    }
    const bound = K * 2 ** -23 * scale[i];
    if (!(Math.abs(g - w) <= bound)) bad.push(`${what}: [${i}] = ${g}, twin ${w}, |diff| ${Math.abs(g - w)} > bound ${bound}`);
  }
  return bad;
}

/** Index of the first element whose bits differ (NaN matches any NaN), or −1. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return a.length === b.length ? -1 : a.length;
}

function same(got: ArrayLike<number>, want: ArrayLike<number>, what: string): string[] {
  const at = firstDifference(got, want);
  return at < 0 ? [] : [`${what}: [${at}] = ${got[at]}, twin ${want[at]}`];
}

/** Runs the wasm gemm on copies of A and B in the memory; C starts as NaN (every value must be written). */
function wasmGemm(
  kernels: WasmKernels, arena: TestArena, layout: Layout, A: Float32Array, B: Float32Array,
  M: number, K: number, N: number, zeroSkipping: boolean, skew = 0,
): Float32Array {
  arena.reset();
  const a = arena.copy(A, skew);
  const b = arena.copy(B, skew);
  const c = arena.f32(M * N + GUARD, skew);
  c.view.fill(NaN);
  c.view.fill(SENTINEL, M * N);
  const scratchFloats = gemmScratchBytes(M, K, N) / 4;
  const scratch = arena.f32(scratchFloats + GUARD);
  scratch.view.fill(SENTINEL, scratchFloats);
  const [ai, ak, bk, bj] = layout.strides(M, K, N);
  kernels.gemm(c.ptr, a.ptr, ai, ak, b.ptr, bk, bj, M, K, N, scratch.ptr, zeroSkipping);
  if (c.view.subarray(M * N).some((v) => v !== SENTINEL)) throw new Error(`gemm ${M}x${K}x${N} wrote past the end of C`);
  if (scratch.view.subarray(scratchFloats).some((v) => v !== SENTINEL)) {
    throw new Error(`gemm ${M}x${K}x${N} wrote past gemmScratchBytes(${M}, ${K}, ${N})`);
  }
  return c.view.slice(0, M * N);
}

/** Floats after C that no kernel may touch, and their value. */
const GUARD = 64;
const SENTINEL = 12345.5;

/**
 * tiles into a C wider than N (ldc = N + 3, as into a slice of a bigger matrix): the values must be
 * gemm's, and the 3 padding columns of every row and the floats after the last row untouched.
 */
function strideCheck(kernels: WasmKernels, arena: TestArena, layout: Layout, M: number, K: number, N: number, seed: number): string[] {
  const rng = new Rng(seed);
  const [A, B] = operands(layout, M, K, N, rng, 0.8);
  const whole = wasmGemm(kernels, arena, layout, A, B, M, K, N, true);
  arena.reset();
  const ldc = N + 3;
  const a = arena.copy(A);
  const b = arena.copy(B);
  const c = arena.f32(M * ldc + GUARD);
  c.view.fill(SENTINEL);
  const { Mp, Np, pa, pb, aIdx, bIdx } = arena.panels(M, K, N);
  const [ai, ak, bk, bj] = layout.strides(M, K, N);
  kernels.packA(pa.ptr, a.ptr, ai, ak, M, K, 0, Mp, aIdx.ptr);
  kernels.packB(pb.ptr, b.ptr, bk, bj, K, N, 0, Np, bIdx.ptr);
  kernels.tiles(c.ptr, ldc, pa.ptr, pb.ptr, M, K, N, 0, Mp, 0, Np, aIdx.ptr, bIdx.ptr);
  const inside = new Float32Array(M * N);
  for (let i = 0; i < M; i++) inside.set(c.view.subarray(i * ldc, i * ldc + N), i * N);
  const bad = same(inside, whole, `${layout.name} ${M}x${K}x${N} tiles with ldc ${ldc}`);
  for (let i = 0; i < M * ldc + GUARD; i++) {
    const row = Math.floor(i / ldc);
    if ((row >= M || i % ldc >= N) && c.view[i] !== SENTINEL) {
      bad.push(`${layout.name} ${M}x${K}x${N} tiles wrote outside M×N at row ${row}, column ${i % ldc}`);
      break;
    }
  }
  return bad;
}

function productCheck(
  kernels: WasmKernels, arena: TestArena, layout: Layout, M: number, K: number, N: number,
  seed: number, zeros: number, skew = 0,
): string[] {
  const rng = new Rng(seed);
  const [A, B] = operands(layout, M, K, N, rng, zeros);
  return productAgainstTwin(kernels, arena, layout, A, B, M, K, N, skew);
}

function productAgainstTwin(
  kernels: WasmKernels, arena: TestArena, layout: Layout, A: Float32Array, B: Float32Array,
  M: number, K: number, N: number, skew = 0,
): string[] {
  const what = `${layout.name} ${M}x${K}x${N}`;
  const want = new Float32Array(M * N);
  layout.naive(want, A, B, M, K, N);
  const scale = absProducts(layout, A, B, M, K, N);
  const dense = wasmGemm(kernels, arena, layout, A, B, M, K, N, false, skew);
  const skipping = wasmGemm(kernels, arena, layout, A, B, M, K, N, true, skew);
  return [
    ...compareProduct(dense, want, scale, K, `${what} dense`),
    // Skipped terms are exact zeros: the same bits either way.
    ...same(skipping, dense, `${what} zero skipping vs dense`),
  ];
}

// The odd sizes of the issue: edge tiles of every width (1, 3, 17 = 2·8+1, 127, 301).
const ODD = [1, 3, 17];
const BIG: [number, number, number][] = [
  [127, 17, 301], [301, 3, 127], [1, 301, 127], [17, 127, 1], [127, 301, 17], [3, 1, 301], [301, 127, 3], [301, 301, 301],
];

function naivePacking(
  X: Float32Array, rs: number, ks: number, rows: number, K: number, p0: number, p1: number, W: number,
): Float32Array {
  const out = new Float32Array((p1 - p0) * W * K);
  for (let p = p0; p < p1; p++) {
    for (let k = 0; k < K; k++) {
      for (let r = 0; r < W; r++) {
        const row = p * W + r;
        out[(p - p0) * W * K + k * W + r] = row < rows ? X[row * rs + k * ks] : 0;
      }
    }
  }
  return out;
}

/** The zero-skipping index of W-wide panels, by definition (count, then the k-steps; −1 if non-finite). */
function naiveIndex(packed: Float32Array, panels: number, W: number, K: number): Int32Array {
  const idx = new Int32Array(panels * (K + 1));
  for (let p = 0; p < panels; p++) {
    let n = 0;
    let finite = true;
    for (let k = 0; k < K; k++) {
      let nonZero = false;
      for (let r = 0; r < W; r++) {
        const v = packed[p * W * K + k * W + r];
        if (v !== 0) nonZero = true;
        if (!Number.isFinite(v)) finite = false;
      }
      if (nonZero) idx[p * (K + 1) + 1 + n++] = k;
    }
    idx[p * (K + 1)] = finite ? n : -1;
  }
  return idx;
}

/** Only the meaningful part of an index: per panel the count and its listed k's. */
function indexEntries(idx: Int32Array, panels: number, K: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < panels; p++) {
    const n = idx[p * (K + 1)];
    out.push(n);
    for (let t = 0; t < Math.max(n, 0); t++) out.push(idx[p * (K + 1) + 1 + t]);
  }
  return out;
}

function packingCheck(kernels: WasmKernels, arena: TestArena, layout: Layout, M: number, K: number, N: number, seed: number): string[] {
  const rng = new Rng(seed);
  const [A, B] = operands(layout, M, K, N, rng, 0.8);
  if (M * K > 0) A[rng.int(M * K)] = NaN; // one panel of A is marked −1
  const [ai, ak, bk, bj] = layout.strides(M, K, N);
  const bad: string[] = [];
  const what = `${layout.name} ${M}x${K}x${N}`;
  for (const [name, W, X, rs, ks, rows] of [['A', MR, A, ai, ak, M], ['B', NR, B, bj, bk, N]] as const) {
    arena.reset();
    const panels = panelCount(rows, W);
    // Pack panels [1, panels) (or [0, panels) when there is one): the range start must be honoured.
    const p0 = panels > 1 ? 1 : 0;
    const x = arena.copy(X, 1);
    const packed = arena.f32(packedBytes(W, panels - p0, K) / 4);
    packed.view.fill(NaN);
    const idx = arena.i32(indexBytes(panels - p0, K) / 4);
    if (name === 'A') kernels.packA(packed.ptr, x.ptr, rs, ks, rows, K, p0, panels, idx.ptr);
    else kernels.packB(packed.ptr, x.ptr, ks, rs, K, rows, p0, panels, idx.ptr);
    const want = naivePacking(X, rs, ks, rows, K, p0, panels, W);
    bad.push(...same(packed.view, want, `${what} pack${name}`));
    const wantIdx = naiveIndex(want, panels - p0, W, K);
    bad.push(...same(indexEntries(idx.view, panels - p0, K), indexEntries(wantIdx, panels - p0, K), `${what} index${name}`));
    if (W === MR) {
      // Against engine/kernels/gemmPacked.ts's indexPanel too, panel by panel.
      const js = new Int32Array(K + 1);
      for (let p = 0; p < panels - p0; p++) {
        indexPanelJs(js, 0, want, p * MR * K, K);
        bad.push(...same(indexEntries(idx.view.subarray(p * (K + 1)), 1, K), indexEntries(js, 1, K), `${what} indexA vs gemmPacked`));
      }
    }
  }
  return bad;
}

/**
 * Packs A and B whole, then computes C as a thread pool would: output tiles split into four
 * quarters of panel ranges, each call given pointers to its first panels. Must equal gemm's bits.
 */
function splitCheck(kernels: WasmKernels, arena: TestArena, layout: Layout, M: number, K: number, N: number, seed: number): string[] {
  const rng = new Rng(seed);
  const [A, B] = operands(layout, M, K, N, rng, 0.8);
  const bad: string[] = [];
  for (const skipping of [false, true]) {
    const whole = wasmGemm(kernels, arena, layout, A, B, M, K, N, skipping);
    arena.reset();
    const a = arena.copy(A);
    const b = arena.copy(B);
    const c = arena.f32(M * N);
    c.view.fill(NaN);
    const { Mp, Np, pa, pb, aIdx, bIdx } = arena.panels(M, K, N);
    const [ai, ak, bk, bj] = layout.strides(M, K, N);
    // Packing split in two as well, as each thread would pack its share.
    const mMid = Mp >> 1;
    const nMid = Np >> 1;
    kernels.packA(pa.ptr, a.ptr, ai, ak, M, K, 0, mMid, skipping ? aIdx.ptr : 0);
    kernels.packA(pa.ptr + packedBytes(MR, mMid, K), a.ptr, ai, ak, M, K, mMid, Mp, skipping ? aIdx.ptr + indexBytes(mMid, K) : 0);
    kernels.packB(pb.ptr, b.ptr, bk, bj, K, N, 0, nMid, skipping ? bIdx.ptr : 0);
    kernels.packB(pb.ptr + packedBytes(NR, nMid, K), b.ptr, bk, bj, K, N, nMid, Np, skipping ? bIdx.ptr + indexBytes(nMid, K) : 0);
    for (const [ip0, ip1] of [[0, mMid], [mMid, Mp]]) {
      for (const [jp0, jp1] of [[0, nMid], [nMid, Np]]) {
        kernels.tiles(
          c.ptr, N, pa.ptr + packedBytes(MR, ip0, K), pb.ptr + packedBytes(NR, jp0, K), M, K, N, ip0, ip1, jp0, jp1,
          skipping ? aIdx.ptr + indexBytes(ip0, K) : 0, skipping ? bIdx.ptr + indexBytes(jp0, K) : 0,
        );
      }
    }
    bad.push(...same(c.view, whole, `${layout.name} ${M}x${K}x${N} split tiles (skipping ${skipping}) vs gemm`));
  }
  return bad;
}

/** NaN, +∞ and −∞ at random places in A and B (and a whole row of A non-finite). */
function nonFiniteCheck(kernels: WasmKernels, arena: TestArena, layout: Layout, M: number, K: number, N: number, seed: number): string[] {
  const rng = new Rng(seed);
  const [A, B] = operands(layout, M, K, N, rng, 0.8);
  for (let t = 0; t < 3; t++) {
    A[rng.int(A.length)] = [NaN, Infinity, -Infinity][t];
    B[rng.int(B.length)] = [Infinity, NaN, -Infinity][t];
  }
  return productAgainstTwin(kernels, arena, layout, A, B, M, K, N);
}

/** Does zero skipping really run on the MNIST-like operands? (Else the skipping checks check nothing.) */
function skippingRuns(kernels: WasmKernels, arena: TestArena): string[] {
  const layout = LAYOUTS[1];
  const [M, K, N] = [64, 301, 17];
  const [A] = operands(layout, M, K, N, new Rng(5), 0.8);
  arena.reset();
  const a = arena.copy(A);
  const Mp = panelCount(M, MR);
  const pa = arena.f32(packedBytes(MR, Mp, K) / 4);
  const idx = arena.i32(indexBytes(Mp, K) / 4);
  kernels.packA(pa.ptr, a.ptr, K, 1, M, K, 0, Mp, idx.ptr);
  let short = 0;
  for (let p = 0; p < Mp; p++) {
    const n = idx.view[p * (K + 1)];
    if (n >= 0 && n < SPARSE_FRACTION * K) short++;
  }
  return short === Mp ? [] : [`only ${short} of ${Mp} A panels have a short k-list`];
}

export function gemmChecks(kernels: WasmKernels, arena: TestArena): Check[] {
  const checks: Check[] = [];
  for (const layout of LAYOUTS) {
    checks.push({
      name: `${layout.name}: odd shapes (1, 3, 17 in every combination), dense and MNIST-like zeros`,
      run: () => {
        const bad: string[] = [];
        let seed = 1;
        for (const M of ODD) for (const K of ODD) for (const N of ODD) {
          bad.push(...productCheck(kernels, arena, layout, M, K, N, seed++, 0));
          bad.push(...productCheck(kernels, arena, layout, M, K, N, seed++, 0.8));
        }
        return bad;
      },
    });
    checks.push({
      name: `${layout.name}: 127, 301 and mixed shapes, dense and MNIST-like zeros`,
      run: () => BIG.flatMap(([M, K, N], i) => [
        ...productCheck(kernels, arena, layout, M, K, N, 100 + i, 0),
        ...productCheck(kernels, arena, layout, M, K, N, 200 + i, 0.8),
      ]),
    });
    checks.push({
      name: `${layout.name}: the 784→300 layer's shape at batch 64, MNIST-like zeros, 4-byte-aligned pointers`,
      run: () => {
        const shape: [number, number, number] = layout.name === 'NT' ? [64, 784, 300] : layout.name === 'NN' ? [64, 300, 784] : [300, 64, 784];
        return productCheck(kernels, arena, layout, ...shape, 7, 0.8, 1);
      },
    });
    checks.push({
      name: `${layout.name}: packing (every path: edge, adjacent, transposing, k % 4 tails) and the index`,
      run: () => [
        ...packingCheck(kernels, arena, layout, 17, 127, 301, 11),
        ...packingCheck(kernels, arena, layout, 3, 5, 9, 12),
        ...packingCheck(kernels, arena, layout, 64, 301, 24, 13),
        ...packingCheck(kernels, arena, layout, 1, 1, 1, 14),
      ],
    });
    checks.push({
      name: `${layout.name}: NaN and ±∞ give the twin's NaN and ∞ in the same places`,
      run: () => [
        ...nonFiniteCheck(kernels, arena, layout, 17, 127, 301, 21),
        ...nonFiniteCheck(kernels, arena, layout, 64, 300, 33, 22),
        ...nonFiniteCheck(kernels, arena, layout, 3, 17, 1, 23),
      ],
    });
    checks.push({
      name: `${layout.name}: edge tiles write only inside M×N (a wider C, ldc = N + 3, and guard floats after C)`,
      run: () => [
        ...strideCheck(kernels, arena, layout, 17, 33, 13, 41),
        ...strideCheck(kernels, arena, layout, 6, 5, 3, 42),
        ...strideCheck(kernels, arena, layout, 1, 1, 1, 43),
      ],
    });
    checks.push({
      name: `${layout.name}: output split by panel ranges (as two threads would) gives gemm's bits`,
      run: () => [
        ...splitCheck(kernels, arena, layout, 127, 301, 17, 31),
        ...splitCheck(kernels, arena, layout, 64, 784, 300, 32),
      ],
    });
  }
  checks.push({ name: 'MNIST-like operands do take the zero-skipping path', run: () => skippingRuns(kernels, arena) });
  checks.push({
    name: 'K = 0 gives zeros, M = 0 or N = 0 writes nothing',
    run: () => {
      const bad: string[] = [];
      for (const layout of LAYOUTS) {
        bad.push(...same(wasmGemm(kernels, arena, layout, new Float32Array(0), new Float32Array(0), 3, 0, 5, true), new Float32Array(15), `${layout.name} K=0`));
        bad.push(...same(wasmGemm(kernels, arena, layout, new Float32Array(0), new Float32Array(15), 0, 3, 5, true), new Float32Array(0), `${layout.name} M=0`));
      }
      return bad;
    },
  });
  return checks;
}

// ---- elementwise: naive twins with PyTorch's NaN semantics (issue 12) ----

/** relu(x) = max(x, 0), NaN propagating: Math.max is exactly that (and max(−0, 0) = +0). */
function reluForwardTwin(out: Float32Array, inp: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = Math.max(inp[i], 0);
}

/** PyTorch's threshold_backward: out <= 0 ? 0 : dout (a NaN output passes dout). */
function reluBackwardTwin(dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dinp[i] = out[i] <= 0 ? 0 : dout[i];
}

function biasReluForwardTwin(out: Float32Array, bias: Float32Array | null, B: number, OUT: number): void {
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < OUT; o++) out[b * OUT + o] = Math.max(bias === null ? out[b * OUT + o] : out[b * OUT + o] + bias[o], 0);
  }
}

function biasReluBackwardTwin(dpre: Float32Array, dbias: Float32Array | null, dout: Float32Array, out: Float32Array, B: number, OUT: number): void {
  if (dbias !== null) dbias.fill(0);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < OUT; o++) {
      const g = out[b * OUT + o] <= 0 ? 0 : dout[b * OUT + o];
      dpre[b * OUT + o] = g;
      if (dbias !== null) dbias[o] += g;
    }
  }
}

/** Values with every case ReLU must handle: ± numbers, ±0, NaN, ±∞, tiny and huge. */
function awkward(n: number, rng: Rng): Float32Array {
  const specials = [0, -0, NaN, Infinity, -Infinity, 1e-40, -1e-40, 3e38, -3e38];
  const a = random(n, rng);
  for (let i = 0; i < n; i++) if (rng.uniform() < 0.2) a[i] = specials[rng.int(specials.length)];
  return a;
}

const ELEMENTWISE_SHAPES: [number, number][] = [[1, 1], [1, 3], [3, 17], [64, 300], [17, 127], [5, 301], [2, 10]];

export function elementwiseChecks(kernels: WasmKernels, arena: TestArena): Check[] {
  const checks: Check[] = [];
  checks.push({
    name: 'reluForward and reluBackward equal their PyTorch-semantics twins bit for bit (NaN, ±0, ±∞)',
    run: () => {
      const bad: string[] = [];
      for (const [B, OUT] of ELEMENTWISE_SHAPES) {
        for (const skew of [0, 1]) {
          const n = B * OUT;
          const rng = new Rng(n + skew);
          const inp = awkward(n, rng);
          const dout = awkward(n, rng);
          arena.reset();
          const x = arena.copy(inp, skew);
          const y = arena.f32(n, skew);
          kernels.reluForward(y.ptr, x.ptr, n);
          const want = new Float32Array(n);
          reluForwardTwin(want, inp, n);
          bad.push(...same(y.view, want, `reluForward n=${n}`));
          const d = arena.copy(dout, skew);
          const dx = arena.f32(n, skew);
          kernels.reluBackward(dx.ptr, d.ptr, x.ptr, n); // out = the input itself: out <= 0 exactly where the input is
          const wantD = new Float32Array(n);
          reluBackwardTwin(wantD, dout, inp, n);
          bad.push(...same(dx.view, wantD, `reluBackward n=${n}`));
        }
      }
      return bad;
    },
  });
  checks.push({
    name: 'biasForward and biasBackward equal engine/kernels/linear.ts bit for bit',
    run: () => {
      const bad: string[] = [];
      for (const [B, OUT] of ELEMENTWISE_SHAPES) {
        const rng = new Rng(B * 1000 + OUT);
        const outV = awkward(B * OUT, rng);
        const biasV = awkward(OUT, rng);
        arena.reset();
        const out = arena.copy(outV, 1);
        const bias = arena.copy(biasV);
        kernels.biasForward(out.ptr, bias.ptr, B, OUT);
        const want = outV.slice();
        biasForwardJs(want, biasV, B, OUT);
        bad.push(...same(out.view, want, `biasForward ${B}x${OUT}`));
        const dbias = arena.f32(OUT, 1);
        dbias.view.fill(NaN); // must be overwritten, not accumulated into
        kernels.biasBackward(dbias.ptr, out.ptr, B, OUT);
        const wantDb = new Float32Array(OUT);
        biasBackwardJs(wantDb, want, B, OUT);
        bad.push(...same(dbias.view, wantDb, `biasBackward ${B}x${OUT}`));
      }
      return bad;
    },
  });
  checks.push({
    name: 'biasReluForward and biasReluBackward (with and without bias) equal their twins bit for bit',
    run: () => {
      const bad: string[] = [];
      for (const [B, OUT] of ELEMENTWISE_SHAPES) {
        for (const withBias of [true, false]) {
          const rng = new Rng(B * 7 + OUT);
          const preV = awkward(B * OUT, rng);
          const biasV = awkward(OUT, rng);
          const doutV = awkward(B * OUT, rng);
          arena.reset();
          const out = arena.copy(preV, 1);
          const bias = arena.copy(biasV);
          kernels.biasReluForward(out.ptr, withBias ? bias.ptr : 0, B, OUT);
          const want = preV.slice();
          biasReluForwardTwin(want, withBias ? biasV : null, B, OUT);
          bad.push(...same(out.view, want, `biasReluForward ${B}x${OUT} bias ${withBias}`));
          const dout = arena.copy(doutV);
          const dpre = arena.f32(B * OUT, 1);
          const dbias = arena.f32(OUT);
          dbias.view.fill(NaN);
          kernels.biasReluBackward(dpre.ptr, withBias ? dbias.ptr : 0, dout.ptr, out.ptr, B, OUT);
          const wantDpre = new Float32Array(B * OUT);
          const wantDb = new Float32Array(OUT);
          biasReluBackwardTwin(wantDpre, withBias ? wantDb : null, doutV, want, B, OUT);
          bad.push(...same(dpre.view, wantDpre, `biasReluBackward dpre ${B}x${OUT} bias ${withBias}`));
          if (withBias) bad.push(...same(dbias.view, wantDb, `biasReluBackward dbias ${B}x${OUT}`));
          else bad.push(...(dbias.view.every(Number.isNaN) ? [] : ['biasReluBackward without dbias wrote dbias']));
          if (withBias && OUT >= 3) {
            // A band of columns [c0, c1) of rows OUT apart (what a thread of the pool takes): the band's
            // values are the whole call's bits, and nothing outside the band is written.
            for (const [c0, c1] of [[1, OUT - 1], [0, OUT >> 1], [OUT >> 1, OUT]]) {
              const band = arena.f32(B * OUT, 1);
              band.view.fill(NaN);
              const bandDb = arena.f32(OUT);
              bandDb.view.fill(NaN);
              kernels.biasReluBackward(band.ptr + 4 * c0, bandDb.ptr + 4 * c0, dout.ptr + 4 * c0, out.ptr + 4 * c0, B, c1 - c0, OUT);
              const inBand = (i: number): boolean => i % OUT >= c0 && i % OUT < c1;
              const wantBand = wantDpre.map((v, i) => (inBand(i) ? v : NaN));
              const wantBandDb = wantDb.map((v, o) => (o >= c0 && o < c1 ? v : NaN));
              bad.push(...same(band.view, wantBand, `biasReluBackward columns [${c0}, ${c1}) of ${B}x${OUT} dpre`));
              bad.push(...same(bandDb.view, wantBandDb, `biasReluBackward columns [${c0}, ${c1}) of ${B}x${OUT} dbias`));
            }
          }
        }
      }
      return bad;
    },
  });
  return checks;
}

// ---- optimizer updates: equal to optim/sgd.ts and optim/adam.ts bit for bit ----

const OPTIM_SIZES = [1, 2, 3, 17, 301, 2049];

export function optimChecks(kernels: WasmKernels, arena: TestArena): Check[] {
  const checks: Check[] = [];
  const sgdCases = [
    { lrT: 0.1, momentum: 0, nesterov: false, weightDecay: 0, velocity: false },
    { lrT: 0.1, momentum: 0, nesterov: false, weightDecay: 5e-4, velocity: false },
    { lrT: 0.05, momentum: 0.9, nesterov: false, weightDecay: 0, velocity: true },
    { lrT: 0.0333, momentum: 0.9, nesterov: true, weightDecay: 1e-3, velocity: true },
  ];
  checks.push({
    name: 'sgdUpdate (plain, weight decay, momentum, Nesterov) equals optim/sgd.ts bit for bit over 3 steps',
    run: () => {
      const bad: string[] = [];
      for (const c of sgdCases) {
        for (const N of OPTIM_SIZES) {
          const rng = new Rng(N);
          const wJs = random(N, rng);
          const vJs = new Float32Array(N);
          arena.reset();
          const w = arena.copy(wJs, 1);
          const v = arena.copy(vJs);
          const g = arena.f32(N, 1);
          for (let step = 0; step < 3; step++) {
            const gV = random(N, rng);
            if (N > 2) gV[1] = NaN;
            g.view.set(gV);
            sgdUpdateJs(wJs, c.velocity ? vJs : null, gV, c, N);
            kernels.sgdUpdate(w.ptr, c.velocity ? v.ptr : 0, g.ptr, c, N);
          }
          bad.push(...same(w.view, wJs, `sgd w N=${N} ${JSON.stringify(c)}`));
          bad.push(...same(v.view, vJs, `sgd v N=${N} ${JSON.stringify(c)}`));
        }
      }
      return bad;
    },
  });
  const adamCases = [
    { name: 'Adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, coupledDecay: 0, decoupledDecay: 0, amsgrad: false },
    { name: 'Adam + L2', beta1: 0.9, beta2: 0.999, eps: 1e-8, coupledDecay: 1e-2, decoupledDecay: 0, amsgrad: false },
    { name: 'AdamW', beta1: 0.9, beta2: 0.999, eps: 1e-8, coupledDecay: 0, decoupledDecay: 1e-2, amsgrad: false },
    { name: 'AMSGrad', beta1: 0.8, beta2: 0.99, eps: 1e-6, coupledDecay: 0, decoupledDecay: 1e-2, amsgrad: true },
  ];
  checks.push({
    name: 'adamUpdate (Adam, coupled decay, AdamW, AMSGrad) equals optim/adam.ts bit for bit over 4 steps',
    run: () => {
      const bad: string[] = [];
      for (const c of adamCases) {
        for (const N of OPTIM_SIZES) {
          const rng = new Rng(N + 1);
          const wJs = random(N, rng);
          const mJs = new Float32Array(N);
          const vJs = new Float32Array(N);
          const vmaxJs = new Float32Array(N);
          arena.reset();
          const w = arena.copy(wJs, 1);
          const m = arena.copy(mJs);
          const v = arena.copy(vJs, 1);
          const vmax = arena.copy(vmaxJs);
          const g = arena.f32(N);
          const lr = 1e-3;
          for (let t = 1; t <= 4; t++) {
            const gV = random(N, rng);
            if (N > 2) gV[2] = t === 2 ? NaN : gV[2];
            g.view.set(gV);
            adamUpdateJs(wJs, mJs, vJs, c.amsgrad ? vmaxJs : null, gV, { ...c, lr, t }, N);
            kernels.adamUpdate(w.ptr, m.ptr, v.ptr, c.amsgrad ? vmax.ptr : 0, g.ptr, { ...c, lr, t }, N);
          }
          bad.push(...same(w.view, wJs, `${c.name} w N=${N}`));
          bad.push(...same(m.view, mJs, `${c.name} m N=${N}`));
          bad.push(...same(v.view, vJs, `${c.name} v N=${N}`));
          bad.push(...same(vmax.view, vmaxJs, `${c.name} vmax N=${N}`));
        }
      }
      return bad;
    },
  });
  return checks;
}

// ---- the seeds' layers: tanh, sigmoid, dropout, BatchNorm ----

/**
 * The first element further than `ulps` float32 ulps of the twin's value (NaN must meet NaN, ∞ the same
 * ∞). Below the smallest normal float an absolute 2⁻¹²⁶·ulps: the polynomial exp builds subnormal
 * results from 2ⁿ in two halves, a twin rounds e^x once.
 */
function withinUlps(got: Float32Array, want: Float32Array, ulps: number, what: string): string[] {
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) return [`${what}: [${i}] = ${g}, twin ${w}`];
      continue;
    }
    const ulp = Math.abs(w) < 2 ** -126 ? 2 ** -126 : 2 ** (Math.floor(Math.log2(Math.abs(w))) - 23);
    if (!(Math.abs(g - w) <= ulps * ulp)) return [`${what}: [${i}] = ${g}, twin ${w} (${Math.abs(g - w) / ulp} ulps)`];
  }
  return [];
}

/** Inputs that sweep tanh's and sigmoid's ranges: both polynomial regions, the clamps, the specials. */
function activationInputs(n: number, rng: Rng): Float32Array {
  const a = awkward(n, rng);
  const spans = [0.01, 0.6, 0.7, 3, 9.5, 20, 90, 110];
  for (let i = 0; i < n; i++) if (i % 3 === 0) a[i] = rng.uniformIn(-1, 1) * spans[i % spans.length];
  return a;
}

const LAYER_SIZES = [1, 3, 17, 127, 301, 4099];

export function layerChecks(kernels: WasmKernels, arena: TestArena): Check[] {
  const checks: Check[] = [];
  const raw = (name: 'tanhForward' | 'tanhBackward' | 'sigmoidForward' | 'sigmoidBackward') => kernels.raw(name);
  for (const [fn, fwd, fwdJs, bwd, bwdJs] of [
    ['tanh', raw('tanhForward'), tanhForwardJs, raw('tanhBackward'), tanhBackwardJs],
    ['sigmoid', raw('sigmoidForward'), sigmoidForwardJs, raw('sigmoidBackward'), sigmoidBackwardJs],
  ] as const) {
    checks.push({
      name: `${fn}Forward within 4 float32 ulps of Math's, ${fn}Backward bit for bit (odd sizes, NaN, ±∞, both regions)`,
      run: () => {
        const bad: string[] = [];
        for (const n of LAYER_SIZES) {
          for (const skew of [0, 1]) {
            const rng = new Rng(n * 3 + skew);
            const inp = activationInputs(n, rng);
            arena.reset();
            const x = arena.copy(inp, skew);
            const y = arena.f32(n + GUARD, skew);
            y.view.fill(SENTINEL);
            fwd(y.ptr, x.ptr, n);
            const want = new Float32Array(n);
            fwdJs(want, inp, n);
            bad.push(...withinUlps(y.view.subarray(0, n), want, 4, `${fn}Forward n=${n}`));
            if (y.view.subarray(n).some((v) => v !== SENTINEL)) bad.push(`${fn}Forward n=${n} wrote past the end`);
            // Split in two at an odd place (as two threads would take it): the same bits.
            const split = arena.f32(n, skew);
            const h = Math.floor(n / 2) | 1;
            if (h < n) {
              fwd(split.ptr, x.ptr, h);
              fwd(split.ptr + 4 * h, x.ptr + 4 * h, n - h);
              bad.push(...same(split.view, y.view.subarray(0, n), `${fn}Forward n=${n} split at ${h}`));
            }
            const doutV = awkward(n, rng);
            const dout = arena.copy(doutV);
            const dx = arena.f32(n, skew);
            bwd(dx.ptr, dout.ptr, y.ptr, n);
            const wantD = new Float32Array(n);
            bwdJs(wantD, doutV, y.view.slice(0, n), n);
            bad.push(...same(dx.view, wantD, `${fn}Backward n=${n}`));
          }
        }
        return bad;
      },
    });
  }
  checks.push({
    name: 'dropoutForward gives the twin\'s masks, outputs and generator state bit for bit; dropoutBackward too',
    run: () => {
      const bad: string[] = [];
      for (const n of LAYER_SIZES) {
        for (const rate of [0.2, 0.5, 0.9]) {
          const rng = new Rng(n);
          const inp = awkward(n, rng);
          const twinRng = new Rng(77);
          const wasmRng = new Rng(77);
          const wantOut = new Float32Array(n);
          const wantMask = new Float32Array(n);
          dropoutForwardJs(wantOut, wantMask, inp, rate, twinRng, n);
          arena.reset();
          const x = arena.copy(inp, 1);
          const out = arena.f32(n);
          const mask = arena.f32(n, 1);
          const state = arena.i32(4);
          state.view.set(wasmRng.getState().slice(0, 4));
          kernels.raw('dropoutForward')(out.ptr, mask.ptr, x.ptr, state.ptr, rate * 4294967296, 1 / (1 - rate), n);
          bad.push(...same(out.view, wantOut, `dropout out n=${n} rate=${rate}`));
          bad.push(...same(mask.view, wantMask, `dropout mask n=${n} rate=${rate}`));
          const words = Array.from(state.view, (w) => w >>> 0);
          if (JSON.stringify(words) !== JSON.stringify(twinRng.getState().slice(0, 4))) bad.push(`dropout state n=${n}: ${words}`);
          const doutV = awkward(n, rng);
          const dout = arena.copy(doutV);
          const dx = arena.f32(n);
          kernels.raw('dropoutBackward')(dx.ptr, dout.ptr, mask.ptr, n);
          bad.push(...same(dx.view, doutV.map((d, i) => d * wantMask[i]), `dropoutBackward n=${n}`));
        }
      }
      return bad;
    },
  });
  checks.push({
    name: 'batchNormStats, batchNormApply and batchNormBackward equal engine/kernels/batchNorm.ts bit for bit, whole and split by features',
    run: () => {
      const bad: string[] = [];
      for (const [B, F] of [[2, 1], [3, 3], [17, 5], [64, 127], [5, 301], [128, 784]]) {
        const rng = new Rng(B * 1000 + F);
        const xV = random(B * F, rng).map((v, i) => v * 3 + (i % F)); // a mean that differs per feature
        if (B * F > 20) xV[7] = NaN;
        const gammaV = random(F, rng);
        const betaV = random(F, rng);
        const doutV = random(B * F, rng);
        const want = { out: new Float32Array(B * F), xhat: new Float32Array(B * F), mean: new Float64Array(F), variance: new Float64Array(F), invstd: new Float64Array(F) };
        batchNormForwardJs(want.out, want.xhat, want.mean, want.variance, want.invstd, xV, gammaV, betaV, 1e-5, B, F);
        const wantD = { dinp: new Float32Array(B * F), dgamma: new Float32Array(F), dbeta: new Float32Array(F) };
        batchNormBackwardJs(wantD.dinp, wantD.dgamma, wantD.dbeta, doutV, want.xhat, gammaV, want.invstd, B, F);
        for (const pieces of [[0, F], [0, Math.floor(F / 2) | 1, F]]) {
          arena.reset();
          const x = arena.copy(xV, 1);
          const gamma = arena.copy(gammaV);
          const beta = arena.copy(betaV, 1);
          const dout = arena.copy(doutV);
          const f64 = () => { const a = arena.f32(2 * F); return { ptr: a.ptr, view: new Float64Array(arena.memory.buffer, a.ptr, F) }; };
          const mean = f64(), variance = f64(), invstd = f64();
          const out = arena.f32(B * F), xhat = arena.f32(B * F, 1), dinp = arena.f32(B * F);
          const dgamma = arena.f32(F), dbeta = arena.f32(F, 1);
          for (let p = 0; p + 1 < pieces.length; p++) {
            const f0 = pieces[p];
            const n = pieces[p + 1] - f0;
            if (n <= 0) continue;
            const c4 = 4 * f0, c8 = 8 * f0;
            kernels.raw('batchNormStats')(mean.ptr + c8, variance.ptr + c8, invstd.ptr + c8, x.ptr + c4, 1e-5, B, n, F);
            kernels.raw('batchNormApply')(out.ptr + c4, xhat.ptr + c4, x.ptr + c4, mean.ptr + c8, invstd.ptr + c8, gamma.ptr + c4, beta.ptr + c4, B, n, F);
            kernels.raw('batchNormBackward')(dinp.ptr + c4, dgamma.ptr + c4, dbeta.ptr + c4, dout.ptr + c4, xhat.ptr + c4, gamma.ptr + c4, invstd.ptr + c8, B, n, F);
          }
          const what = `batchNorm ${B}x${F} in ${pieces.length - 1} piece(s)`;
          bad.push(...same(mean.view, want.mean, `${what} mean`), ...same(variance.view, want.variance, `${what} variance`));
          bad.push(...same(invstd.view, want.invstd, `${what} invstd`), ...same(out.view, want.out, `${what} out`), ...same(xhat.view, want.xhat, `${what} xhat`));
          bad.push(...same(dinp.view, wantD.dinp, `${what} dinp`), ...same(dgamma.view, wantD.dgamma, `${what} dgamma`), ...same(dbeta.view, wantD.dbeta, `${what} dbeta`));
        }
      }
      return bad;
    },
  });
  return checks;
}

// ---- LayerNorm and the softmax family (the bounds are engine/backends/kernels.ts's) ----

const ROW_SHAPES: [number, number][] = [[1, 1], [2, 3], [3, 17], [17, 127], [7, 301], [64, 784]];
/** (OUTER, N, INNER): rows (INNER 1), and distributions whose values are INNER apart. */
const AXIS_SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 17, 1], [17, 127, 1], [64, 784, 1], [2, 5, 3], [3, 17, 5], [1, 127, 4], [4, 1, 7], [5, 9, 2],
];

/**
 * R rows of F values at `scale`, each around its own offset; the first rows special when `special`:
 * a NaN, a +∞, all −∞, one −∞ among finite values, subnormals only, ±3e38, all equal. The rest normal.
 */
function rowValues(R: number, F: number, rng: Rng, scale: number, special: boolean): Float32Array {
  const x = new Float32Array(R * F);
  for (let r = 0; r < R; r++) {
    const offset = rng.uniformIn(-5, 5);
    for (let f = 0; f < F; f++) x[r * F + f] = offset + scale * rng.normal();
  }
  if (!special) return x;
  const rows: ((row: Float32Array) => void)[] = [
    (row) => { row[rng.int(F)] = NaN; },
    (row) => { row[rng.int(F)] = Infinity; },
    (row) => row.fill(-Infinity),
    (row) => { row[rng.int(F)] = -Infinity; },
    (row) => { for (let f = 0; f < F; f++) row[f] = rng.uniformIn(-1, 1) * 1e-39; },
    (row) => { for (let f = 0; f < F; f++) row[f] = rng.uniform() < 0.5 ? 3e38 : -3e38; },
    (row) => row.fill(2.5),
  ];
  for (let r = 0; r < Math.min(R, rows.length); r++) rows[r](x.subarray(r * F, (r + 1) * F));
  return x;
}

/** The first element outside `bound(i)` of the twin's value; non-finite twin values must be met exactly (NaN by NaN). */
function within(got: ArrayLike<number>, want: ArrayLike<number>, bound: (i: number) => number, what: string): string[] {
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (!Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) return [`${what}: [${i}] = ${g}, twin ${w}`];
      continue;
    }
    if (!(Math.abs(g - w) <= bound(i))) return [`${what}: [${i}] = ${g}, twin ${w}, |diff| ${Math.abs(g - w)} > bound ${bound(i)}`];
  }
  return [];
}

/** One float32 ulp at |w| (2⁻¹⁴⁹ below the normal range). */
function ulpOf(w: number): number {
  return Math.abs(w) < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(Math.abs(w))) - 23);
}

/** 4 float32 ulps of the twin's value, or an absolute 4·2⁻¹²⁶ below the normal range (as withinUlps). */
function fourUlps(w: number): number {
  return 4 * (Math.abs(w) < 2 ** -126 ? 2 ** -126 : ulpOf(w));
}

/** A float64 array in the arena (16-byte aligned). */
function f64In(arena: TestArena, n: number): { ptr: number; view: Float64Array } {
  const a = arena.f32(2 * n);
  return { ptr: a.ptr, view: new Float64Array(arena.memory.buffer, a.ptr, n) };
}

export function normChecks(kernels: WasmKernels, arena: TestArena): Check[] {
  const checks: Check[] = [];
  const raw = (name: 'layerNormForward' | 'layerNormBackward' | 'affineBackward') => kernels.raw(name);
  checks.push({
    name: 'layerNormForward, layerNormBackward and affineBackward equal engine/kernels/layerNorm.ts bit for bit (odd shapes, NaN/±∞/subnormal rows), whole and split in two',
    run: () => {
      const bad: string[] = [];
      for (const [R, F] of ROW_SHAPES) {
        for (const special of [false, true]) {
          const rng = new Rng(R * 1000 + F + (special ? 1 : 0));
          const xV = rowValues(R, F, rng, 3, special);
          const gammaV = random(F, rng);
          const betaV = random(F, rng);
          const doutV = awkward(R * F, rng);
          const want = { out: new Float32Array(R * F), xhat: new Float32Array(R * F), invstd: new Float64Array(R) };
          layerNormForwardJs(want.out, want.xhat, want.invstd, xV, gammaV, betaV, 1e-5, R, F);
          const wantD = { dinp: new Float32Array(R * F), dgamma: new Float32Array(F), dbeta: new Float32Array(F) };
          layerNormBackwardJs(wantD.dinp, wantD.dgamma, wantD.dbeta, doutV, want.xhat, gammaV, want.invstd, R, F);
          // Whole; then the rows (forward, dinp) and the features (dgamma, dbeta) in two pieces, as two threads take them.
          for (const split of [false, true]) {
            arena.reset();
            const x = arena.copy(xV, 1);
            const gamma = arena.copy(gammaV);
            const beta = arena.copy(betaV, 1);
            const dout = arena.copy(doutV);
            const invstd = f64In(arena, R);
            const out = arena.f32(R * F + GUARD), xhat = arena.f32(R * F, 1), dinp = arena.f32(R * F + GUARD);
            const dgamma = arena.f32(F), dbeta = arena.f32(F, 1);
            out.view.fill(SENTINEL);
            dinp.view.fill(SENTINEL);
            const rowCuts = split ? [0, Math.floor(R / 2), R] : [0, R];
            const colCuts = split ? [0, Math.floor(F / 2) | 1, F] : [0, F];
            for (let p = 0; p + 1 < rowCuts.length; p++) {
              const r0 = rowCuts[p], n = rowCuts[p + 1] - r0, o4 = 4 * r0 * F;
              raw('layerNormForward')(out.ptr + o4, xhat.ptr + o4, invstd.ptr + 8 * r0, x.ptr + o4, gamma.ptr, beta.ptr, 1e-5, n, F);
            }
            for (let p = 0; p + 1 < rowCuts.length; p++) {
              const r0 = rowCuts[p], n = rowCuts[p + 1] - r0, o4 = 4 * r0 * F;
              raw('layerNormBackward')(dinp.ptr + o4, dout.ptr + o4, xhat.ptr + o4, gamma.ptr, invstd.ptr + 8 * r0, n, F);
            }
            for (let p = 0; p + 1 < colCuts.length; p++) {
              const f0 = colCuts[p], n = colCuts[p + 1] - f0;
              if (n > 0) raw('affineBackward')(dgamma.ptr + 4 * f0, dbeta.ptr + 4 * f0, dout.ptr + 4 * f0, xhat.ptr + 4 * f0, R, n, F);
            }
            const what = `layerNorm ${R}x${F}${special ? ' special rows' : ''}${split ? ' in two pieces' : ''}`;
            bad.push(...same(out.view.subarray(0, R * F), want.out, `${what} out`), ...same(xhat.view, want.xhat, `${what} xhat`));
            bad.push(...same(invstd.view, want.invstd, `${what} invstd`), ...same(dinp.view.subarray(0, R * F), wantD.dinp, `${what} dinp`));
            bad.push(...same(dgamma.view, wantD.dgamma, `${what} dgamma`), ...same(dbeta.view, wantD.dbeta, `${what} dbeta`));
            if (out.view.subarray(R * F).some((v) => v !== SENTINEL) || dinp.view.subarray(R * F).some((v) => v !== SENTINEL)) {
              bad.push(`${what} wrote past the end`);
            }
          }
        }
      }
      return bad;
    },
  });

  const call = (name: 'softmaxForward' | 'softmaxBackward' | 'logSoftmaxForward' | 'logSoftmaxBackward') => kernels.raw(name);
  checks.push({
    name: 'softmaxForward within 4 ulps of its twin, logSoftmaxForward within 2⁻²²·(1 + |y|), softmaxBackward bit for bit, logSoftmaxBackward within 2⁻²²·|e^out·Σdout| + 1 ulp (rows, strided axes, NaN/±∞/subnormal rows)',
    run: () => {
      const bad: string[] = [];
      for (const [OUTER, N, INNER] of AXIS_SHAPES) {
        for (const [scale, special] of [[1, false], [8, false], [40, true]] as const) {
          const n = OUTER * N * INNER;
          const rng = new Rng(n * 31 + scale);
          // Rows of the special values along the softmax axis: build (OUTER·INNER, N) rows, then lay them out.
          const rows = rowValues(OUTER * INNER, N, rng, scale, special);
          const xV = new Float32Array(n);
          for (let o = 0; o < OUTER; o++) for (let i = 0; i < INNER; i++) for (let k = 0; k < N; k++) xV[(o * N + k) * INNER + i] = rows[(o * INNER + i) * N + k];
          const doutV = random(n, rng);
          const what = `${OUTER}x${N}x${INNER} scale ${scale}${special ? ' special rows' : ''}`;
          arena.reset();
          const x = arena.copy(xV, 1);
          const dout = arena.copy(doutV);
          const y = arena.f32(n + GUARD);
          const logy = arena.f32(n + GUARD, 1);
          const dinp = arena.f32(n, 1);
          y.view.fill(SENTINEL);
          logy.view.fill(SENTINEL);
          call('softmaxForward')(y.ptr, x.ptr, OUTER, N, INNER);
          const wantY = new Float32Array(n);
          softmaxJs.softmaxForward(wantY, xV, OUTER, N, INNER);
          bad.push(...within(y.view, wantY, (i) => fourUlps(wantY[i]), `softmaxForward ${what}`));
          call('logSoftmaxForward')(logy.ptr, x.ptr, OUTER, N, INNER);
          const wantLog = new Float32Array(n);
          softmaxJs.logSoftmaxForward(wantLog, xV, OUTER, N, INNER);
          bad.push(...within(logy.view, wantLog, (i) => 2 ** -22 * (1 + Math.abs(wantLog[i])), `logSoftmaxForward ${what}`));
          if (y.view.subarray(n).some((v) => v !== SENTINEL) || logy.view.subarray(n).some((v) => v !== SENTINEL)) bad.push(`${what} wrote past the end`);
          // The backwards from the twin's own outputs, so that only the kernels differ.
          const yIn = arena.copy(wantY);
          const logIn = arena.copy(wantLog, 1);
          call('softmaxBackward')(dinp.ptr, dout.ptr, yIn.ptr, OUTER, N, INNER);
          const wantD = new Float32Array(n);
          softmaxJs.softmaxBackward(wantD, doutV, wantY, OUTER, N, INNER);
          bad.push(...same(dinp.view, wantD, `softmaxBackward ${what}`));
          call('logSoftmaxBackward')(dinp.ptr, dout.ptr, logIn.ptr, OUTER, N, INNER);
          softmaxJs.logSoftmaxBackward(wantD, doutV, wantLog, OUTER, N, INNER);
          const term = new Float64Array(n);
          for (let o = 0; o < OUTER; o++) {
            for (let i = 0; i < INNER; i++) {
              let total = 0;
              for (let k = 0; k < N; k++) total += doutV[(o * N + k) * INNER + i];
              for (let k = 0; k < N; k++) term[(o * N + k) * INNER + i] = Math.abs(Math.exp(wantLog[(o * N + k) * INNER + i]) * total);
            }
          }
          bad.push(...within(dinp.view, wantD, (i) => 2 ** -22 * term[i] + ulpOf(wantD[i]), `logSoftmaxBackward ${what}`));
        }
      }
      return bad;
    },
  });

  checks.push({
    name: "crossEntropyForward's probabilities within 4 ulps and each row's loss within 2⁻²² of the twin's, crossEntropyBackward bit for bit (odd shapes, NaN/±∞ rows, a scale of −0)",
    run: () => {
      const bad: string[] = [];
      for (const [B, C] of [...ROW_SHAPES, [64, 10] as [number, number]]) {
        for (const special of [false, true]) {
          const rng = new Rng(B * 100 + C + (special ? 7 : 0));
          const logitsV = rowValues(B, C, rng, 4, special);
          const labelsV = Int32Array.from({ length: B }, () => rng.int(C));
          const what = `crossEntropy ${B}x${C}${special ? ' special rows' : ''}`;
          arena.reset();
          const logits = arena.copy(logitsV);
          const labels = arena.i32(B);
          labels.view.set(labelsV);
          const probs = arena.f32(B * C, 1);
          const loss = f64In(arena, B);
          kernels.raw('crossEntropyForward')(probs.ptr, loss.ptr, logits.ptr, labels.ptr, B, C);
          const wantP = new Float32Array(B * C);
          const rowLoss = new Float64Array(B);
          let total = 0;
          for (let b = 0; b < B; b++) {
            rowLoss[b] = softmaxJs.crossEntropyForward(wantP.subarray(b * C), logitsV.subarray(b * C), labelsV.subarray(b, b + 1), 1, C);
            total += rowLoss[b];
          }
          const all = new Float32Array(B * C);
          if (!Object.is(softmaxJs.crossEntropyForward(all, logitsV, labelsV, B, C), total)) bad.push(`${what}: the twin's rows do not add up to its sum`);
          bad.push(...within(probs.view, wantP, (i) => fourUlps(wantP[i]), `${what} probs`));
          bad.push(...within(loss.view, rowLoss, () => 2 ** -22, `${what} row loss`));
          for (const scale of [1 / B, -0.37, -0]) {
            const dlogits = arena.f32(B * C);
            const twinProbs = arena.copy(wantP);
            kernels.raw('crossEntropyBackward')(dlogits.ptr, twinProbs.ptr, labels.ptr, B, C, scale);
            const wantD = new Float32Array(B * C);
            softmaxJs.crossEntropyBackward(wantD, wantP, labelsV, B, C, scale);
            bad.push(...same(dlogits.view, wantD, `${what} backward, scale ${Object.is(scale, -0) ? '-0' : scale}`));
          }
        }
      }
      return bad;
    },
  });

  checks.push({
    name: 'the softmax family split by rows (as two threads take them) gives the bits of one call',
    run: () => {
      const bad: string[] = [];
      for (const [OUTER, N, INNER] of [[17, 127, 1], [64, 784, 1], [5, 9, 3]] as const) {
        const n = OUTER * N * INNER;
        const rng = new Rng(n);
        const xV = rowValues(OUTER, N * INNER, rng, 6, true);
        const doutV = random(n, rng);
        const half = Math.floor(OUTER / 2) | 1;
        const plane = 4 * N * INNER;
        arena.reset();
        const x = arena.copy(xV);
        const dout = arena.copy(doutV, 1);
        for (const name of ['softmaxForward', 'logSoftmaxForward'] as const) {
          const whole = arena.f32(n);
          const pieces = arena.f32(n, 1);
          call(name)(whole.ptr, x.ptr, OUTER, N, INNER);
          call(name)(pieces.ptr, x.ptr, half, N, INNER);
          call(name)(pieces.ptr + half * plane, x.ptr + half * plane, OUTER - half, N, INNER);
          bad.push(...same(pieces.view, whole.view, `${name} ${OUTER}x${N}x${INNER} split at ${half}`));
          const backward = name === 'softmaxForward' ? 'softmaxBackward' : 'logSoftmaxBackward';
          const dWhole = arena.f32(n);
          const dPieces = arena.f32(n);
          call(backward)(dWhole.ptr, dout.ptr, whole.ptr, OUTER, N, INNER);
          call(backward)(dPieces.ptr, dout.ptr, whole.ptr, half, N, INNER);
          call(backward)(dPieces.ptr + half * plane, dout.ptr + half * plane, whole.ptr + half * plane, OUTER - half, N, INNER);
          bad.push(...same(dPieces.view, dWhole.view, `${backward} ${OUTER}x${N}x${INNER} split at ${half}`));
        }
      }
      return bad;
    },
  });

  checks.push({
    name: 'logF64 (log Σ of the softmax family) within 2 float64 ulps of Math.log on [1, 2³¹)',
    run: () => {
      const log = kernels.raw('logF64') as (x: number) => number;
      const rng = new Rng(3);
      const xs = [1, 1 + 2 ** -52, Math.SQRT2, Math.SQRT2 * (1 + 2 ** -52), 2, 3, 784, 2 ** 31 - 1];
      for (let e = 0; e < 31; e++) xs.push(2 ** e, 2 ** e * (1 - 2 ** -40), 2 ** e * 1.4142);
      for (let i = 0; i < 2000; i++) xs.push(1 + rng.uniform() * 2 ** rng.int(31));
      for (const x of xs) {
        const want = Math.log(x);
        const got = log(x);
        if (!(Math.abs(got - want) <= 2 * 2 ** -52 * Math.max(Math.abs(want), 2 ** -52))) return [`logF64(${x}) = ${got}, Math.log ${want}`];
      }
      return Number.isNaN(log(NaN)) ? [] : ['logF64(NaN) is not NaN'];
    },
  });
  return checks;
}

export function allChecks(kernels: WasmKernels, arena: TestArena): Check[] {
  return [
    ...gemmChecks(kernels, arena), ...elementwiseChecks(kernels, arena), ...optimChecks(kernels, arena), ...layerChecks(kernels, arena),
    ...normChecks(kernels, arena),
  ];
}
