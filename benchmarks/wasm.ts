/**
 * The WebAssembly kernels against the JavaScript ones, one thread, in one process:
 *
 *   - GFLOP/s of the six products of the 784→300 layer (NT forward, NN input gradient, TN weight
 *     gradient, batch 64 and 128; packing included): the JavaScript blocked kernel
 *     (engine/kernels/matmul.ts), the wasm kernel with mul+add, and the same two again beside the FMA
 *     build, so every ratio comes from one run: in this process on Node ≥ 22 (relaxed SIMD is on by
 *     default there, and --experimental-wasm-relaxed-simd is rejected), in a child process started with
 *     that flag on Node 20.
 *   - microseconds of the elementwise kernels against their JavaScript versions: the SGD update
 *     (momentum) on 235,500 floats (the 784-300-100-10 MLP's parameters), Adam on the same, and
 *     bias+ReLU forward and backward on 64×300; and of the row-wise ones: cross-entropy forward and
 *     backward on the 10 classes at batch 64, softmax forward and backward and LayerNorm forward and
 *     backward on 128×784.
 *
 * Every kernel is compared with its naive twin first (products: within K·2⁻²³·Σ|a·b| per element,
 * the float32 bound tests/engine/wasm-checks.ts justifies; elementwise, updates, LayerNorm and the
 * backwards of softmax and cross-entropy: the same bits; softmax's and cross-entropy's probabilities:
 * within engine/backends/kernels.ts's 4 ulps); one that disagrees is reported as refused and never timed. The six products run on dense operands
 * (uniform in [−1, 1]; the index is built, as in training, and skips nothing), then the two that
 * MNIST images enter run on 64 real images, where zero skipping pays; the "no zero skipping"
 * column is the same wasm kernel without the index.
 *
 *   npx tsx benchmarks/wasm.ts [--quick] [--json]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { biasReluForward as biasReluForwardJs, biasReluBackward as biasReluBackwardJs } from '../engine/kernels/linear.js';
import { layerNormBackward as layerNormBackwardJs, layerNormForward as layerNormForwardJs } from '../engine/kernels/layerNorm.js';
import * as softmaxJs from '../engine/kernels/softmax.js';
import { Rng } from '../engine/rng.js';
import { compileKernels, gemmScratchBytes, instantiateKernels, wasmSupport } from '../engine/wasm/index.js';
import type { WasmKernels, WasmMemory } from '../engine/wasm/index.js';
import { adamUpdate as adamUpdateJs, sgdUpdate as sgdUpdateJs } from '../engine/kernels/updates.js';
import { PRODUCTS } from './kernels.js';
import { PIXELS, fillBatch, loadMnist } from './mnist.js';

export interface WasmGemmRow {
  product: string;
  layout: 'NN' | 'NT' | 'TN';
  batch: number;
  M: number;
  K: number;
  N: number;
  /** GFLOP/s (2·M·K·N per product), median of the timed repetitions; null when refused or not run. */
  js: number | null;
  wasm: number | null;
  /** wasm mul+add with zero skipping off (no index built): what the index costs, or what skipping gains. */
  wasmNoSkip: number | null;
  fma: number | null;
  refused: string[];
}

export interface ElementwiseRow {
  kernel: string;
  size: string;
  /** Microseconds per call, medians; null when refused. */
  js: number | null;
  wasm: number | null;
  refused: string[];
}

export interface WasmBenchResult {
  support: { simd: boolean; relaxedSimd: boolean };
  /** The products in this process (no flag): js and wasm (mul+add). */
  gemm: WasmGemmRow[];
  /** The products with FMA (js, wasm and fma): in this process on Node ≥ 22, in a child with --experimental-wasm-relaxed-simd on Node 20; null if that failed. */
  gemmFma: WasmGemmRow[] | null;
  elementwise: ElementwiseRow[];
}

/** A bump allocator over one memory; address 0 is never handed out (0 is "absent" to the kernels). */
class Arena {
  readonly memory: WasmMemory;
  private top = 64;

  constructor(pages: number) {
    const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } }).WebAssembly;
    this.memory = new WA.Memory({ initial: pages, maximum: pages, shared: true });
  }

  f32(n: number): { ptr: number; view: Float32Array } {
    const ptr = Math.ceil(this.top / 16) * 16;
    this.top = ptr + 4 * n;
    if (this.top > this.memory.buffer.byteLength) throw new RangeError(`benchmarks/wasm: arena full at ${this.top} bytes`);
    return { ptr, view: new Float32Array(this.memory.buffer, ptr, n) };
  }

  copy(values: Float32Array): { ptr: number; view: Float32Array } {
    const a = this.f32(values.length);
    a.view.set(values);
    return a;
  }
}

function random(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniformIn(-1, 1);
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds per call of each candidate, interleaved so that a burst of load on the shared machine hits all alike. */
function timeInterleaved(calls: (() => void)[], reps: number, minMs: number): number[] {
  for (const f of calls) for (let i = 0; i < 3; i++) f(); // warm up (V8 tiers wasm up to TurboFan)
  const inner = calls.map((f) => {
    const t0 = performance.now();
    f();
    return Math.max(1, Math.ceil(minMs / Math.max(performance.now() - t0, 0.005)));
  });
  const samples: number[][] = calls.map(() => []);
  for (let r = 0; r < reps; r++) {
    calls.forEach((f, c) => {
      const t0 = performance.now();
      for (let i = 0; i < inner[c]; i++) f();
      samples[c].push((performance.now() - t0) / inner[c]);
    });
  }
  return samples.map(median);
}

/** The first element outside the float32 accumulation bound K·2⁻²³·Σ|a·b|, or null. */
function outsideBound(got: Float32Array, want: Float32Array, scale: Float64Array, K: number): string | null {
  for (let i = 0; i < want.length; i++) {
    const bound = K * 2 ** -23 * scale[i];
    if (!(Math.abs(got[i] - want[i]) <= bound)) return `[${i}] = ${got[i]}, twin ${want[i]}, bound ${bound.toExponential(2)}`;
  }
  return null;
}

interface ProductCase {
  product: string;
  layout: 'NN' | 'NT' | 'TN';
  batch: number;
  M: number;
  K: number;
  N: number;
  A: Float32Array;
  B: Float32Array;
  naive: (C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number) => void;
  blocked: (C: Float32Array, A: Float32Array, B: Float32Array, M: number, K: number, N: number) => void;
}

/**
 * The six products on dense operands, then the two the MNIST images enter at batch 64: the
 * forward X·Wᵀ (A = 64 images) and the weight gradient dYᵀ·X (B = the images), where zero skipping
 * runs over the k-steps whose pixels are not blank.
 */
function productCases(): ProductCase[] {
  const rng = new Rng(42);
  const cases: ProductCase[] = [];
  for (const batch of [64, 128]) {
    for (const p of PRODUCTS) {
      const [M, K, N] = p.shape(batch);
      cases.push({ ...p, batch, M, K, N, A: random(M * K, rng), B: random(K * N, rng) });
    }
  }
  const x = new Float32Array(64 * PIXELS);
  fillBatch(x, new Int32Array(64), loadMnist('train'), 0, 64);
  const [forward, , weightGrad] = PRODUCTS;
  cases.push({ ...forward, product: `${forward.product}, MNIST X`, batch: 64, M: 64, K: PIXELS, N: 300, A: x, B: random(300 * PIXELS, rng) });
  cases.push({ ...weightGrad, product: `${weightGrad.product}, MNIST X`, batch: 64, M: 300, K: 64, N: PIXELS, A: random(64 * 300, rng), B: x });
  return cases;
}

function gemmTable(kernelsByName: Map<string, WasmKernels>, arena: Arena, quick: boolean): WasmGemmRow[] {
  const rows: WasmGemmRow[] = [];
  for (const p of productCases()) {
    const { M, K, N, A, B } = p;
    const want = new Float32Array(M * N);
    p.naive(want, A, B, M, K, N);
    // Σ_k |a·b| per element: the naive twin on |A|, |B| (its float32 rounding covered by 2⁻²⁰).
    const scale32 = new Float32Array(M * N);
    p.naive(scale32, A.map(Math.abs), B.map(Math.abs), M, K, N);
    const scale = Float64Array.from(scale32, (v) => v * (1 + 2 ** -20));
    // The logical strides, as engine/kernels/matmul.ts passes them.
    const [ai, ak, bk, bj] = p.layout === 'NN' ? [K, 1, N, 1] : p.layout === 'NT' ? [K, 1, 1, K] : [1, M, N, 1];
    const a = arena.copy(A);
    const b = arena.copy(B);
    const c = arena.f32(M * N);
    const scratch = arena.f32(gemmScratchBytes(M, K, N) / 4);
    const Cjs = new Float32Array(M * N);
    const candidates = new Map<string, () => void>([['js', () => p.blocked(Cjs, A, B, M, K, N)]]);
    for (const [name, k] of kernelsByName) {
      candidates.set(name, () => k.gemm(c.ptr, a.ptr, ai, ak, b.ptr, bk, bj, M, K, N, scratch.ptr, true));
      if (name === 'wasm') candidates.set('wasmNoSkip', () => k.gemm(c.ptr, a.ptr, ai, ak, b.ptr, bk, bj, M, K, N, scratch.ptr, false));
    }
    const refused: string[] = [];
    const ok: string[] = [];
    for (const [name, run] of candidates) {
      c.view.fill(NaN);
      Cjs.fill(NaN);
      run();
      const bad = outsideBound(name === 'js' ? Cjs : c.view, want, scale, K);
      if (bad === null) ok.push(name);
      else refused.push(`${name}: ${bad}`);
    }
    const ms = timeInterleaved(ok.map((n) => candidates.get(n) as () => void), quick ? 5 : 15, quick ? 20 : 50);
    const gflops = new Map(ok.map((n, i) => [n, (2 * M * K * N) / (ms[i] * 1e6)]));
    rows.push({
      product: p.product, layout: p.layout, batch: p.batch, M, K, N, refused,
      js: gflops.get('js') ?? null, wasm: gflops.get('wasm') ?? null, wasmNoSkip: gflops.get('wasmNoSkip') ?? null,
      fma: gflops.get('fma') ?? null,
    });
  }
  return rows;
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Within 4 float32 ulps of the twin (an absolute 4·2⁻¹²⁶ below the normal range): kernels.ts's bound for probabilities. */
function within4Ulps(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) {
    const w = Math.abs(a[i]);
    const ulp = w < 2 ** -126 ? 2 ** -126 : 2 ** (Math.floor(Math.log2(w)) - 23);
    if (!(Math.abs(a[i] - b[i]) <= 4 * ulp)) return false;
  }
  return true;
}

/**
 * One elementwise comparison: `setup` resets the inputs (both sides alike), `js` and `wasm` run
 * one call, `outputs` gives the arrays that must agree afterwards (js's, wasm's): the same bits, or
 * as `agree` says for a kernel whose bound is not bit equality.
 */
function elementwiseRow(
  kernel: string, size: string, quick: boolean,
  setup: () => void, js: () => void, wasm: () => void, outputs: () => [ArrayLike<number>, ArrayLike<number>][],
  agree: (js: ArrayLike<number>, wasm: ArrayLike<number>) => boolean = sameBits,
): ElementwiseRow {
  setup();
  js();
  wasm();
  const refused = outputs().some(([x, y]) => !agree(x, y)) ? [agree === sameBits ? 'wasm: not the twin\'s bits' : 'wasm: outside the twin\'s bound'] : [];
  const calls = refused.length === 0 ? [js, wasm] : [js];
  const ms = timeInterleaved(calls, quick ? 5 : 15, quick ? 10 : 30);
  return { kernel, size, js: ms[0] * 1000, wasm: refused.length === 0 ? ms[1] * 1000 : null, refused };
}

function elementwiseTable(k: WasmKernels, arena: Arena, quick: boolean): ElementwiseRow[] {
  const rng = new Rng(7);
  const rows: ElementwiseRow[] = [];
  // The 784-300-100-10 MLP's parameters: 784·300 + 300 + 300·100 + 100 + 100·10 + 10.
  const P = 235_500;
  const w0 = random(P, rng);
  const g0 = random(P, rng).map((x) => x * 1e-2);
  const wJs = new Float32Array(P);
  const vJs = new Float32Array(P);
  const mJs = new Float32Array(P);
  const w = arena.f32(P);
  const v = arena.f32(P);
  const m = arena.f32(P);
  const g = arena.copy(g0);
  const reset = () => {
    wJs.set(w0);
    vJs.fill(0);
    mJs.fill(0);
    w.view.set(w0);
    v.view.fill(0);
    m.view.fill(0);
  };
  const sgd = { lrT: 0.1, momentum: 0.9, nesterov: false, weightDecay: 0 };
  rows.push(elementwiseRow('SGD update (momentum)', `${P}`, quick, reset,
    () => sgdUpdateJs(wJs, vJs, g0, sgd, P),
    () => k.sgdUpdate(w.ptr, v.ptr, g.ptr, sgd, P),
    () => [[wJs, w.view], [vJs, v.view]]));
  const adam = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, coupledDecay: 0, decoupledDecay: 1e-2, t: 1 };
  rows.push(elementwiseRow('AdamW update', `${P}`, quick, reset,
    () => adamUpdateJs(wJs, mJs, vJs, null, g0, adam, P),
    () => k.adamUpdate(w.ptr, m.ptr, v.ptr, 0, g.ptr, adam, P),
    () => [[wJs, w.view], [mJs, m.view], [vJs, v.view]]));

  const [B, OUT] = [64, 300];
  const pre = random(B * OUT, rng);
  const bias0 = random(OUT, rng);
  const dout0 = random(B * OUT, rng);
  const outJs = new Float32Array(B * OUT);
  const out = arena.f32(B * OUT);
  const bias = arena.copy(bias0);
  rows.push(elementwiseRow('bias+ReLU forward', `${B}×${OUT}`, quick,
    () => {
      outJs.set(pre);
      out.view.set(pre);
    },
    () => biasReluForwardJs(outJs, bias0, B, OUT),
    () => k.biasReluForward(out.ptr, bias.ptr, B, OUT),
    () => [[outJs, out.view]]));
  // The backward on the forward's (positive part of the) output; the forward above left it in place.
  const fwd = pre.map((x, i) => Math.max(x + bias0[i % OUT], 0));
  const outB = arena.copy(fwd);
  const dout = arena.copy(dout0);
  const dpre = arena.f32(B * OUT);
  const dbias = arena.f32(OUT);
  const dpreJs = new Float32Array(B * OUT);
  const dbiasJs = new Float32Array(OUT);
  rows.push(elementwiseRow('bias+ReLU backward', `${B}×${OUT}`, quick, () => {},
    () => biasReluBackwardJs(dpreJs, dbiasJs, dout0, fwd, B, OUT),
    () => k.biasReluBackward(dpre.ptr, dbias.ptr, dout.ptr, outB.ptr, B, OUT),
    () => [[dpreJs, dpre.view], [dbiasJs, dbias.view]]));
  rows.push(...rowwiseRows(k, arena, quick, rng));
  return rows;
}

/** Cross-entropy on the 10 classes at batch 64; softmax and LayerNorm on 128×784 (one thread). */
function rowwiseRows(k: WasmKernels, arena: Arena, quick: boolean, rng: Rng): ElementwiseRow[] {
  const rows: ElementwiseRow[] = [];
  const call = (name: Parameters<WasmKernels['raw']>[0]) => k.raw(name);
  const [B, C] = [64, 10];
  const logits0 = random(B * C, rng).map((x) => x * 4);
  const labels0 = Int32Array.from({ length: B }, (_, b) => (b * 7) % C);
  const logits = arena.copy(logits0);
  const labels = arena.f32(B);
  new Int32Array(arena.memory.buffer, labels.ptr, B).set(labels0);
  const probs = arena.f32(B * C);
  const rowLoss = arena.f32(2 * B);
  const dlogits = arena.f32(B * C);
  const probsJs = new Float32Array(B * C);
  const dlogitsJs = new Float32Array(B * C);
  rows.push(elementwiseRow('cross-entropy forward', `${B}×${C}`, quick, () => {},
    () => softmaxJs.crossEntropyForward(probsJs, logits0, labels0, B, C),
    () => call('crossEntropyForward')(probs.ptr, rowLoss.ptr, logits.ptr, labels.ptr, B, C),
    () => [[probsJs, probs.view]], within4Ulps));
  const probsIn = arena.copy(probsJs);
  rows.push(elementwiseRow('cross-entropy backward', `${B}×${C}`, quick, () => {},
    () => softmaxJs.crossEntropyBackward(dlogitsJs, probsJs, labels0, B, C, 1 / B),
    () => call('crossEntropyBackward')(dlogits.ptr, probsIn.ptr, labels.ptr, B, C, 1 / B),
    () => [[dlogitsJs, dlogits.view]]));

  const [R, F] = [128, 784];
  const x0 = random(R * F, rng).map((v) => v * 3);
  const dout0 = random(R * F, rng);
  const gamma0 = random(F, rng);
  const x = arena.copy(x0);
  const dout = arena.copy(dout0);
  const gamma = arena.copy(gamma0);
  const y = arena.f32(R * F);
  const dx = arena.f32(R * F);
  const yJs = new Float32Array(R * F);
  const dxJs = new Float32Array(R * F);
  rows.push(elementwiseRow('softmax forward', `${R}×${F}`, quick, () => {},
    () => softmaxJs.softmaxForward(yJs, x0, R, F, 1),
    () => call('softmaxForward')(y.ptr, x.ptr, R, F, 1),
    () => [[yJs, y.view]], within4Ulps));
  const yIn = arena.copy(yJs);
  rows.push(elementwiseRow('softmax backward', `${R}×${F}`, quick, () => {},
    () => softmaxJs.softmaxBackward(dxJs, dout0, yJs, R, F, 1),
    () => call('softmaxBackward')(dx.ptr, dout.ptr, yIn.ptr, R, F, 1),
    () => [[dxJs, dx.view]]));

  const xhat = arena.f32(R * F);
  const invstd = arena.f32(2 * R);
  const dgamma = arena.f32(F);
  const dbeta = arena.f32(F);
  const xhatJs = new Float32Array(R * F);
  const invstdJs = new Float64Array(R);
  const dgammaJs = new Float32Array(F);
  const dbetaJs = new Float32Array(F);
  rows.push(elementwiseRow('LayerNorm forward', `${R}×${F}`, quick, () => {},
    () => layerNormForwardJs(yJs, xhatJs, invstdJs, x0, gamma0, gamma0, 1e-5, R, F),
    () => call('layerNormForward')(y.ptr, xhat.ptr, invstd.ptr, x.ptr, gamma.ptr, gamma.ptr, 1e-5, R, F),
    () => [[yJs, y.view], [xhatJs, xhat.view], [invstdJs, new Float64Array(arena.memory.buffer, invstd.ptr, R)]]));
  rows.push(elementwiseRow('LayerNorm backward', `${R}×${F}`, quick, () => {},
    () => layerNormBackwardJs(dxJs, dgammaJs, dbetaJs, dout0, xhatJs, gamma0, invstdJs, R, F),
    () => {
      call('affineBackward')(dgamma.ptr, dbeta.ptr, dout.ptr, xhat.ptr, R, F, F);
      call('layerNormBackward')(dx.ptr, dout.ptr, xhat.ptr, gamma.ptr, invstd.ptr, R, F);
    },
    () => [[dxJs, dx.view], [dgammaJs, dgamma.view], [dbetaJs, dbeta.view]]));
  return rows;
}

export function gemmMarkdown(rows: WasmGemmRow[], withFma: boolean): string {
  const f = (v: number | null): string => (v === null ? 'refused' : v.toFixed(1));
  const lines = [
    `| product | layout | batch | M×K×N | JS blocked | wasm mul+add | wasm, no zero skipping${withFma ? ' | wasm FMA' : ''} |`,
    `| --- | --- | ---: | --- | ---: | ---: | ---:${withFma ? ' | ---:' : ''} |`,
  ];
  for (const r of rows) {
    lines.push(`| ${r.product} | ${r.layout} | ${r.batch} | ${r.M}×${r.K}×${r.N} | ${f(r.js)} | ${f(r.wasm)} | ${f(r.wasmNoSkip)}${withFma ? ` | ${f(r.fma)}` : ''} |`);
    for (const why of r.refused) lines.push(`|  | refused: ${why} | | | | | |`);
  }
  return lines.join('\n');
}

export function elementwiseMarkdown(rows: ElementwiseRow[]): string {
  const f = (v: number | null): string => (v === null ? 'refused' : v.toFixed(1));
  const lines = ['| kernel | size | JS µs | wasm µs | speed-up |', '| --- | --- | ---: | ---: | ---: |'];
  for (const r of rows) {
    const ratio = r.js !== null && r.wasm !== null ? `${(r.js / r.wasm).toFixed(1)}×` : '';
    lines.push(`| ${r.kernel} | ${r.size} | ${f(r.js)} | ${f(r.wasm)} | ${ratio} |`);
  }
  return lines.join('\n');
}

function build(fma: boolean, arena: Arena): WasmKernels {
  return instantiateKernels(compileKernels({ fma, sharedMemory: true, maxPages: 1024 }), arena.memory);
}

/** The products with FMA beside mul+add and JS: in this process where relaxed SIMD validates, else from a child started with the relaxed-SIMD flag. */
function fmaTable(quick: boolean): WasmGemmRow[] | null {
  if (wasmSupport().relaxedSimd) {
    const arena = new Arena(1024);
    return gemmTable(new Map([['wasm', build(false, arena)], ['fma', build(true, arena)]]), arena, quick);
  }
  const script = fileURLToPath(import.meta.url);
  try {
    const out = execFileSync(process.execPath, [
      '--experimental-wasm-relaxed-simd', '--import', 'tsx', script, '--fma-child', ...(quick ? ['--quick'] : []),
    ], { encoding: 'utf8', maxBuffer: 1 << 24 });
    return JSON.parse(out.trim().split('\n').at(-1) as string) as WasmGemmRow[];
  } catch {
    return null;
  }
}

export function runWasmBench(options: { quick?: boolean } = {}): WasmBenchResult {
  const quick = options.quick === true;
  const arena = new Arena(1024); // 64 MiB
  const wasm = build(false, arena);
  const gemm = gemmTable(new Map([['wasm', wasm]]), arena, quick);
  const elementwise = elementwiseTable(wasm, arena, quick);
  return { support: wasmSupport(), gemm, gemmFma: fmaTable(quick), elementwise };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--fma-child')) {
    const arena = new Arena(1024);
    const rows = gemmTable(new Map([['wasm', build(false, arena)], ['fma', build(true, arena)]]), arena, quick);
    console.log(JSON.stringify(rows));
    process.exit(0);
  }
  const r = runWasmBench({ quick });
  if (!process.argv.includes('--json')) {
    console.log(`GFLOP/s, one thread, medians of ${quick ? 5 : 15} interleaved runs (packing included)\n`);
    console.log(`${gemmMarkdown(r.gemm, false)}\n`);
    const where = r.support.relaxedSimd ? 'Relaxed SIMD is on in this runtime (Node ≥ 22): FMA beside mul+add, same process' : 'In a child with --experimental-wasm-relaxed-simd';
    console.log(r.gemmFma === null
      ? 'FMA: the child with --experimental-wasm-relaxed-simd failed\n'
      : `${where}:\n\n${gemmMarkdown(r.gemmFma, true)}\n`);
    console.log(`Elementwise, one thread, medians:\n\n${elementwiseMarkdown(r.elementwise)}\n`);
  }
  console.log(JSON.stringify(r));
  process.exit(0);
}
