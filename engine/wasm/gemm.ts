/**
 * The WebAssembly SIMD matrix product: C (M,N) = A (M,K) · B (K,N), the three layouts of a Dense
 * layer through strides, exactly as engine/kernels/gemmPacked.ts does it (A's element (i,k) at
 * A[i·ai + k·ak], B's element (k,j) at B[k·bk + j·bj]). Two steps, as BLIS does it:
 *
 *   1. pack: A into row panels of MR=4, B into column panels of NR=8, each panel k-major (the
 *      values one k-step needs side by side), rows past the edge as zeros; optionally index each
 *      panel for zero skipping (the k-steps whose packed values are not all zero; −1 when the panel
 *      holds a NaN or ±∞, so it never skips: 0·NaN is NaN).
 *   2. tiles: each 4×8 block of C lives in eight f32x4 accumulators while k runs; per k-step two
 *      v128.loads of B's 8 values and four load32_splats of A's 4 values feed 8 multiply-adds.
 *
 * Every C value is one lane's sum over k = 0..K−1 in order, in float32 (f32x4 lanes), so a value
 * does not depend on the tiling, on the panel ranges a thread pool hands out, or on zero skipping
 * (a skipped term is an exact ±0, and an accumulator that starts at +0 never becomes −0). It differs
 * from the float64 naive twins by float32 rounding: |c − c_ref| ≤ γ_K·Σ_k |a_ik·b_kj| (tests/engine).
 *
 * Byte pointers into the module's memory throughout; strides and sizes count float32 elements.
 * A pointer of 0 means "absent" (no index). No pointer needs more than 4-byte alignment; packed
 * panels are read with v128.load, fastest when the scratch area is 16-byte aligned.
 *
 * Measured here (2-core AMD EPYC, AVX2+FMA, Node 20.20 / V8 11.3, one thread, a machine shared with
 * other jobs: compare the columns of one run, not runs). GFLOP/s on the 784→300 layer's products,
 * NT 64×784×300 | NN 64×300×784 | TN 300×64×784 | the same at batch 128:
 *
 *   tile shape (tiles only, panels packed beforehand; mul+add, then FMA):
 *     4×8   44.2 43.0 28.5 40.6 26.8 24.4 | 49.9 32.8 30.6 50.8 46.5 51.3   ← kept
 *     2×16  43.2 34.9 28.3 36.7 25.6 24.1 | 50.0 31.4 29.0 51.8 47.8 51.3
 *     3×12  20.7 19.8 19.5 20.4 18.6 18.0 | 49.6 34.0 34.6 52.2 45.9 51.3
 *     4×4   32.6 31.8 23.7 22.4 22.0 19.9 | 27.5 23.7 22.1 28.4 27.2 29.7   (loads dominate)
 *     4×12  26.2 25.0 22.6 26.0 21.1 18.9 | 24.3 24.6 23.2 26.5 25.4 25.8   (12 acc + 3 b + a: spills)
 *     6×8   25.0 24.5 22.1 20.8 19.2 18.1 | 23.4 23.6 23.1 25.0 24.1 25.1
 *     8×8   23.8 24.2 19.0 23.6 17.6 15.7 | 24.7 21.3 19.9 28.1 25.0 26.5   (16 accumulators: spills)
 *     4×8, k unrolled ×2  27.5 27.3 20.9 21.0 20.0 18.5 | 26.2 23.8 22.3 26.4 25.6 26.8
 *     4×8, k unrolled ×4  24.3 26.1 18.0 17.7 16.8 15.5 | 27.1 20.4 19.0 29.5 27.3 28.7
 *   So the facts hold: 4×8 best (2×16 and, with FMA, 3×12 as good), 8×8 spills, and
 *   unrolling k makes V8 schedule the loads first and spill (1.5–2× slower).
 *
 *   transposing packer (NT packs both operands through it, NN packs A): 4×4 SIMD transposes
 *   (four v128 loads, eight i8x16.shuffles) against the scalar element loop: packA 3–4× faster
 *   (NT 64: 18 vs 61 µs), whole NT product 12–35% faster (33.6 vs 27.7 GFLOP/s at batch 64,
 *   37.0 vs 33.1 at 128; FMA 34.1 vs 25.4), NN 1–3%. Kept.
 *
 *   zero-skipping index: as a second pass over each packed panel it cost 8–9% of the dense NT and
 *   NN products (3% of TN); built while packing, from the registers, 2–4% (1–2% TN). On 64 real
 *   MNIST images it pays: forward 43.2 against 24.0 GFLOP/s without it, weight gradient 53.0
 *   against 26.3 (FMA 33.2/27.4 against 14.0/10.6 in a loaded run).
 *
 *   whole products, packing included (benchmarks/wasm.ts, quietest run): mul+add 24–41 GFLOP/s,
 *   FMA 38–48 (its child process), the JavaScript blocked kernel 2.6–4.1 in the same runs; under a
 *   load average of 5.7 on the 2 cores: JS 2.8–3.3, mul+add 28–31, FMA 22–33 against mul+add
 *   16–22 in one process. FMA is a real fused multiply-add here (a·b + c rounded once).
 */
import type { Expr, FunctionBuilder, ModuleBuilder } from './encoder.js';

/** Rows of A per panel (rows of a C tile). */
export const MR = 4;
/** Columns of B per panel (columns of a C tile): two f32x4 vectors. */
export const NR = 8;

/**
 * A tile runs over its sparser panel's k-list when that list is shorter than this fraction of K
 * (the same rule as gemmPacked.ts's SPARSE_FRACTION). Emitted as 5·n < 4·K, exact in integers.
 */
export const SPARSE_FRACTION = 0.8;

/** Panels of `width` rows (MR) or columns (NR) covering n. */
export function panelCount(n: number, width: number): number {
  return Math.ceil(n / width);
}

/** Bytes of `panels` packed panels of `width` over K k-steps. */
export function packedBytes(width: number, panels: number, K: number): number {
  return panels * width * K * 4;
}

/** Bytes of the zero-skipping index of `panels` panels: per panel a count and up to K k-steps (i32). */
export function indexBytes(panels: number, K: number): number {
  return panels * (K + 1) * 4;
}

/**
 * Scratch bytes the single-thread `gemm` needs for (M,K,N): A packed whole and its index, one B
 * panel and its index. Give it a 16-byte-aligned area (correct anyway, faster aligned).
 */
export function gemmScratchBytes(M: number, K: number, N: number): number {
  void N; // B is packed one panel at a time, whatever N is
  const Mp = panelCount(M, MR);
  return packedBytes(MR, Mp, K) + roundUp16(indexBytes(Mp, K)) + packedBytes(NR, 1, K) + indexBytes(1, K);
}

/** A's index is padded to 16 bytes so that B's panel after it is as aligned as the scratch area. */
function roundUp16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

export interface GemmOptions {
  /** f32x4.relaxed_madd (relaxed SIMD) in the tile loop; plain f32x4.mul + f32x4.add otherwise. */
  fma: boolean;
}

/** The exported functions emitGemm adds to a module (their wasm names). */
export const GEMM_EXPORTS = ['packA', 'packB', 'tiles', 'gemm'] as const;

/** Adds packA, packB, tiles and gemm (and their internal helpers) to the module. */
export function emitGemm(mod: ModuleBuilder, opts: GemmOptions): void {
  // packA(pa, A, ai, ak, M, K, ip0, ip1, aIdx): A's rows are the panels' rows.
  const packA = emitPackPanels(mod, 'packA', MR, ['dst', 'X', 'rs', 'ks', 'rows', 'K', 'p0', 'p1', 'idx']);
  // packB(pb, B, bk, bj, K, N, jp0, jp1, bIdx): B's columns are the panels' rows (rs = bj, ks = bk, rows = N).
  const packB = emitPackPanels(mod, 'packB', NR, ['dst', 'X', 'ks', 'rs', 'K', 'rows', 'p0', 'p1', 'idx']);
  const tiles = emitTiles(mod, opts);
  emitGemmEntry(mod, packA, packB, tiles);
}

// ---------------------------------------------------------------------------------------------
// packPanels, as packA (W = MR = 4) and packB (W = NR = 8): panels [p0, p1) of W "rows" of a
// strided operand, row r's element k at X[r·rs + k·ks]; packB's rows are B's columns (rs = bj,
// ks = bk, rows = N). Panel p goes to d0 = dst + (p − p0)·W·K·4, element (r, k) at d0 + (k·W + r − p·W)·4,
// and, when idx ≠ 0, its zero-skipping index to at = idx + (p − p0)·(K+1)·4: the count of k-steps
// whose W values are not all zero, then those k ascending — or −1 when the panel holds a NaN or ±∞.
// The index is built while packing, from the values in registers:
//
//   for p in [p0, p1):
//     d0 = dst + (p − p0)·W·K·4;  r0 = p·W;  t = at + 4;  fin = 0 (v128 bits)
//     if r0 + W > rows or (rs ≠ 1 and ks ≠ 1):       edge panel or odd strides: one by one
//       for k in [0, K): for r in [0, W):
//         d0[k·W + r] = r0 + r < rows ? X[(r0 + r)·rs + k·ks] : 0
//       for k in [0, K): indexStep(k, d0[k·W ..])     from what was just written
//     else if rs == 1:                               a k-step's W values are adjacent in X
//       for k in [0, K): s = X + (r0 + k·ks)·4
//         v_h = v128.load(s + 16h), h < W/4;  d0[k·W + 4h ..] = v_h;  indexStep(k, v)
//     else (ks == 1):                                each row runs along k: transpose 4×4 blocks
//       for k in [0, K − K%4) step 4:                s = X + (r0·rs + k)·4, o_r = r·rs·4
//         m_q = 0, q < 4
//         for each group h of 4 rows (h < W/4):
//           x_r = v128.load(s + o_(4h+r)), r < 4     row 4h + r at k..k+3;  fin |= x_r − x_r
//           t0 = (x0₀ x1₀ x0₁ x1₁)  t1 = (x0₂ x1₂ x0₃ x1₃)  t2, t3 the same of x2, x3
//           c_q = (t0₀ t0₁ t2₀ t2₁) = (x0_q x1_q x2_q x3_q) ... (shuffles of t0..t3)
//           d0[(k + q)·W + 4h ..] = c_q;  m_q |= c_q ≠ 0
//         idx[t] = k + q;  t += any_true(m_q)·4, q < 4
//       for k in [K − K%4, K): d0[k·W + r] = X[(r0 + r)·rs + k], r < W;  indexStep(k, d0[k·W ..])
//     idx[at] = any bit of fin set ? −1 : (t − at − 4)/4
//
//   indexStep(k, v): fin |= v_h − v_h       v − v is +0 (no bit set) unless v is ±∞ or NaN (then NaN)
//                    idx[t] = k             written always, kept only when the step counts:
//                    t += any_true(v_0 ≠ 0 | v_1 ≠ 0)·4     (a NaN is ≠ 0: the panel is −1 anyway)
//
// Branch-free: MNIST's zero pattern is data, so a branch per k-step would mispredict. fin gathers
// bits with v128.or (1 cycle) rather than f32x4.add (3–4): it is a chain through every k-step. The NN and
// NT products pack A through the transpose (A stored (M,K), rows along k), and NT packs B (W stored
// (N,K)) the same way; TN's A and the B of NN and TN are the adjacent case. Without an index the
// same loops run with the index steps left out.
// ---------------------------------------------------------------------------------------------
/** packPanels' parameters, named as the pseudo-code names them (each export orders them its own way). */
type PackParam = 'dst' | 'X' | 'rs' | 'ks' | 'rows' | 'K' | 'p0' | 'p1' | 'idx';

function emitPackPanels(mod: ModuleBuilder, name: string, W: number, order: PackParam[]): FunctionBuilder {
  const params: Record<string, 'i32'> = {};
  for (const p of order) params[p] = 'i32';
  const f = mod.func(name, params);
  const H = W / 4; // vectors per k-step
  for (const l of ['p', 'd0', 'r0', 'at', 't', 'k', 'r', 'd', 's', 'K4']) f.local(l, 'i32');
  for (let r = 1; r < W; r++) f.local(`o${r}`, 'i32');
  f.local('v', 'f32');
  for (const l of ['fin', 'zero', 'v0', 'v1', 'x0', 'x1', 'x2', 'x3', 't0', 't1', 't2', 't3', 'cq', 'm0', 'm1', 'm2', 'm3']) {
    f.local(l, 'v128');
  }
  const g = (l: string) => f.get(l);
  const add = (a: Expr, b: Expr) => f.i32Add(a, b);
  const mul = (a: Expr, b: Expr) => f.i32Mul(a, b);
  const c = (x: number) => f.i32(x);
  const rowOffset = (r: number) => (r === 0 ? c(0) : g(`o${r}`)); // o_r = r·rs·4

  /** indexStep(k, v): v_h already in locals v0 (, v1). */
  const indexStep = (k: () => Expr) => {
    for (let h = 0; h < H; h++) f.set('fin', f.v128Or(g('fin'), f.f32x4Sub(g(`v${h}`), g(`v${h}`))));
    f.i32Store(g('t'), k());
    const nonZero = (h: number) => f.f32x4Ne(g(`v${h}`), g('zero'));
    f.set('t', add(g('t'), f.i32Shl(f.v128AnyTrue(H === 1 ? nonZero(0) : f.v128Or(nonZero(0), nonZero(1))), c(2))));
  };
  /** indexStep for k in [k, K), reading back what was packed at d0. */
  const indexWritten = () => {
    f.while('indexK', () => f.i32LtS(g('k'), g('K')), () => {
      for (let h = 0; h < H; h++) f.set(`v${h}`, f.v128Load(add(g('d0'), mul(g('k'), c(W * 4))), 16 * h));
      indexStep(() => g('k'));
      f.set('k', add(g('k'), c(1)));
    });
  };

  /** The panel's packing loops, with the index steps or without. */
  const pack = (indexing: boolean) => {
    const edge = () => f.i32GtS(add(g('r0'), c(W)), g('rows'));
    const oddStrides = () => f.i32And(f.i32Ne(g('rs'), c(1)), f.i32Ne(g('ks'), c(1)));
    f.if(f.i32Or(edge(), oddStrides()), () => {
      // One by one, zeros for the rows past the edge.
      f.set('d', g('d0'));
      f.set('k', c(0));
      f.while('k', () => f.i32LtS(g('k'), g('K')), () => {
        f.set('r', c(0));
        f.loop('r', () => {
          f.set('v', f.f32(0));
          f.if(f.i32LtS(add(g('r0'), g('r')), g('rows')), () => {
            const at = () => add(mul(add(g('r0'), g('r')), g('rs')), mul(g('k'), g('ks')));
            f.set('v', f.f32Load(add(g('X'), f.i32Shl(at(), c(2)))));
          });
          f.f32Store(g('d'), g('v'));
          f.set('d', add(g('d'), c(4)));
          f.set('r', add(g('r'), c(1)));
          f.brIf('r', f.i32LtS(g('r'), c(W)));
        });
        f.set('k', add(g('k'), c(1)));
      });
      if (indexing) {
        f.set('k', c(0));
        indexWritten();
      }
    }, () => {
      f.if(f.i32Eq(g('rs'), c(1)), () => {
        // Adjacent: W/4 vector copies per k-step.
        f.set('s', add(g('X'), f.i32Shl(g('r0'), c(2))));
        f.set('d', g('d0'));
        f.set('k', c(0));
        f.while('k', () => f.i32LtS(g('k'), g('K')), () => {
          for (let h = 0; h < H; h++) {
            f.set(`v${h}`, f.v128Load(g('s'), 16 * h));
            f.v128Store(g('d'), g(`v${h}`), 16 * h);
          }
          if (indexing) indexStep(() => g('k'));
          f.set('s', add(g('s'), f.i32Shl(g('ks'), c(2))));
          f.set('d', add(g('d'), c(W * 4)));
          f.set('k', add(g('k'), c(1)));
        });
      }, () => {
        // Rows along k: 4×4 transposes of every group of 4 rows, then the k%4 tail one by one.
        f.set('s', add(g('X'), f.i32Shl(mul(g('r0'), g('rs')), c(2))));
        f.set('d', g('d0'));
        f.set('k', c(0));
        f.while('k4', () => f.i32LtS(g('k'), g('K4')), () => {
          if (indexing) for (let q = 0; q < 4; q++) f.set(`m${q}`, g('zero'));
          for (let h = 0; h < H; h++) {
            for (let r = 0; r < 4; r++) {
              f.set(`x${r}`, f.v128Load(add(g('s'), rowOffset(4 * h + r))));
              if (indexing) f.set('fin', f.v128Or(g('fin'), f.f32x4Sub(g(`x${r}`), g(`x${r}`))));
            }
            f.set('t0', f.f32x4Shuffle(g('x0'), g('x1'), [0, 4, 1, 5]));
            f.set('t1', f.f32x4Shuffle(g('x0'), g('x1'), [2, 6, 3, 7]));
            f.set('t2', f.f32x4Shuffle(g('x2'), g('x3'), [0, 4, 1, 5]));
            f.set('t3', f.f32x4Shuffle(g('x2'), g('x3'), [2, 6, 3, 7]));
            const columns: [string, string, [number, number, number, number]][] = [
              ['t0', 't2', [0, 1, 4, 5]], ['t0', 't2', [2, 3, 6, 7]], ['t1', 't3', [0, 1, 4, 5]], ['t1', 't3', [2, 3, 6, 7]],
            ];
            columns.forEach(([lo, hi, lanes], q) => {
              f.set('cq', f.f32x4Shuffle(g(lo), g(hi), lanes));
              f.v128Store(g('d'), g('cq'), q * W * 4 + 16 * h);
              if (indexing) f.set(`m${q}`, f.v128Or(g(`m${q}`), f.f32x4Ne(g('cq'), g('zero'))));
            });
          }
          if (indexing) {
            for (let q = 0; q < 4; q++) {
              f.i32Store(g('t'), add(g('k'), c(q)));
              f.set('t', add(g('t'), f.i32Shl(f.v128AnyTrue(g(`m${q}`)), c(2))));
            }
          }
          f.set('s', add(g('s'), c(16)));
          f.set('d', add(g('d'), c(4 * W * 4)));
          f.set('k', add(g('k'), c(4)));
        });
        f.while('kTail', () => f.i32LtS(g('k'), g('K')), () => {
          for (let r = 0; r < W; r++) f.f32Store(g('d'), f.f32Load(add(g('s'), rowOffset(r))), 4 * r);
          f.set('s', add(g('s'), c(4)));
          f.set('d', add(g('d'), c(W * 4)));
          f.set('k', add(g('k'), c(1)));
        });
        if (indexing) {
          f.set('k', g('K4'));
          indexWritten();
        }
      });
    });
  };

  f.set('zero', f.f32x4Const(0, 0, 0, 0));
  f.set('K4', f.i32And(g('K'), c(~3)));
  for (let r = 1; r < W; r++) f.set(`o${r}`, mul(g('rs'), c(4 * r)));
  f.set('p', g('p0'));
  f.while('panel', () => f.i32LtS(g('p'), g('p1')), () => {
    f.set('d0', add(g('dst'), mul(f.i32Sub(g('p'), g('p0')), mul(g('K'), c(W * 4)))));
    f.set('r0', mul(g('p'), c(W)));
    f.if(f.i32Eqz(g('idx')), () => pack(false), () => {
      f.set('at', add(g('idx'), mul(f.i32Sub(g('p'), g('p0')), mul(add(g('K'), c(1)), c(4)))));
      f.set('t', add(g('at'), c(4)));
      f.set('fin', g('zero'));
      pack(true);
      const count = () => f.i32ShrU(f.i32Sub(g('t'), add(g('at'), c(4))), c(2));
      f.i32Store(g('at'), f.select(c(-1), count(), f.v128AnyTrue(g('fin'))));
    });
    f.set('p', add(g('p'), c(1)));
  });
  return f;
}

// ---------------------------------------------------------------------------------------------
// tiles: C tiles for row panels [ip0, ip1) × column panels [jp0, jp1), from packed panels: A's
// panel ip at pa + (ip − ip0)·MR·K·4, B's panel jp at pb + (jp − jp0)·NR·K·4, their indexes at
// aIdx + (ip − ip0)·(K+1)·4 and bIdx + (jp − jp0)·(K+1)·4 (or 0: never skip). C's element (i,j)
// is written (not accumulated) at C + (i·ldc + j)·4, and edge tiles write only inside M×N.
//
//   for jp in [jp0, jp1):                              B's panel stays in L1 while A's stream past
//     bBase = pb + (jp − jp0)·NR·K·4;  bAt = bIdx + (jp − jp0)·(K+1)·4;  nb = bIdx ? bAt[0] : −1
//     for ip in [ip0, ip1):
//       aBase = pa + (ip − ip0)·MR·K·4;  aAt = aIdx + (ip − ip0)·(K+1)·4;  na = aIdx ? aAt[0] : −1
//       list = 0                                       the k-list to run over, if any:
//       if na ≥ 0 and nb ≥ 0:                          both panels finite, and the shorter list short
//         if na ≤ nb and 5·na < 4·K: list = aAt + 4, n = na
//         elif nb < na and 5·nb < 4·K: list = bAt + 4, n = nb
//       c_r0 = c_r1 = 0 (f32x4), r < 4                 row r of the tile: columns j0..j0+3, j0+4..j0+7
//       for k in [0, K) or k in list[0..n):            p = bBase + k·32, q = aBase + k·16
//         b0 = v128.load(p); b1 = v128.load(p + 16)    B's 8 values at k
//         for r in [0, 4):
//           a = v128.load32_splat(q + 4r)              A's value (row r, k) in all four lanes
//           c_r0 += a·b0;  c_r1 += a·b1                (f32x4.relaxed_madd when fma)
//       C[(i0 + r)·ldc + j0 ..] = c_r0, c_r1 (edge tiles: lane by lane, inside M×N)
//
// k is not unrolled: unrolled, V8 schedules all the loads first and spills (issue 9, measured
// again here: see the top of this file). 8 accumulators + b0, b1, a = 11 of x64's 16 XMM registers.
// ---------------------------------------------------------------------------------------------
function emitTiles(mod: ModuleBuilder, opts: GemmOptions): FunctionBuilder {
  const f = mod.func('tiles', {
    C: 'i32', ldc: 'i32', pa: 'i32', pb: 'i32', M: 'i32', K: 'i32', N: 'i32',
    ip0: 'i32', ip1: 'i32', jp0: 'i32', jp1: 'i32', aIdx: 'i32', bIdx: 'i32',
  });
  for (const l of ['jp', 'ip', 'bBase', 'aBase', 'bAt', 'aAt', 'nb', 'na', 'list', 'n', 'p', 'q', 'qEnd', 't', 'tEnd',
    'i0', 'j0', 'cRow', 'ldc4', 'rows', 'cols', 'fourK']) f.local(l, 'i32');
  const acc: string[][] = [];
  for (let r = 0; r < MR; r++) {
    acc.push([]);
    for (let h = 0; h < NR / 4; h++) {
      f.local(`c${r}${h}`, 'v128');
      acc[r].push(`c${r}${h}`);
    }
  }
  for (const l of ['b0', 'b1', 'a', 'zero']) f.local(l, 'v128');
  const g = (l: string) => f.get(l);
  const add = (a: Expr, b: Expr) => f.i32Add(a, b);
  const sub = (a: Expr, b: Expr) => f.i32Sub(a, b);
  const mul = (a: Expr, b: Expr) => f.i32Mul(a, b);
  const c = (x: number) => f.i32(x);

  /** One k-step at p (B) and q (A). */
  const kStep = () => {
    f.set('b0', f.v128Load(g('p')));
    f.set('b1', f.v128Load(g('p'), 16));
    for (let r = 0; r < MR; r++) {
      f.set('a', f.v128Load32Splat(g('q'), 4 * r));
      for (let h = 0; h < 2; h++) {
        const name = acc[r][h];
        const b = `b${h}`;
        if (opts.fma) f.set(name, f.f32x4RelaxedMadd(g('a'), g(b), g(name)));
        else f.set(name, f.f32x4Add(g(name), f.f32x4Mul(g('a'), g(b))));
      }
    }
  };

  f.set('zero', f.f32x4Const(0, 0, 0, 0));
  f.set('ldc4', f.i32Shl(g('ldc'), c(2)));
  f.set('fourK', f.i32Shl(g('K'), c(2)));
  f.set('jp', g('jp0'));
  f.while('jp', () => f.i32LtS(g('jp'), g('jp1')), () => {
    f.set('bBase', add(g('pb'), mul(sub(g('jp'), g('jp0')), mul(g('K'), c(NR * 4)))));
    f.set('j0', mul(g('jp'), c(NR)));
    f.set('bAt', add(g('bIdx'), mul(sub(g('jp'), g('jp0')), mul(add(g('K'), c(1)), c(4)))));
    f.set('nb', c(-1));
    f.if(f.i32Ne(g('bIdx'), c(0)), () => f.set('nb', f.i32Load(g('bAt'))));
    f.set('ip', g('ip0'));
    f.while('ip', () => f.i32LtS(g('ip'), g('ip1')), () => {
      f.set('aBase', add(g('pa'), mul(sub(g('ip'), g('ip0')), mul(g('K'), c(MR * 4)))));
      f.set('aAt', add(g('aIdx'), mul(sub(g('ip'), g('ip0')), mul(add(g('K'), c(1)), c(4)))));
      f.set('na', c(-1));
      f.if(f.i32Ne(g('aIdx'), c(0)), () => f.set('na', f.i32Load(g('aAt'))));
      // Which k-list, if any (5·n < 4·K is n < SPARSE_FRACTION·K).
      f.set('list', c(0));
      f.if(f.i32And(f.i32GeS(g('na'), c(0)), f.i32GeS(g('nb'), c(0))), () => {
        f.if(f.i32And(f.i32LeS(g('na'), g('nb')), f.i32LtS(mul(g('na'), c(5)), g('fourK'))), () => {
          f.set('list', add(g('aAt'), c(4)));
          f.set('n', g('na'));
        }, () => {
          f.if(f.i32And(f.i32LtS(g('nb'), g('na')), f.i32LtS(mul(g('nb'), c(5)), g('fourK'))), () => {
            f.set('list', add(g('bAt'), c(4)));
            f.set('n', g('nb'));
          });
        });
      });
      for (const row of acc) for (const name of row) f.set(name, g('zero'));
      f.if(f.i32Eqz(g('list')), () => {
        // Every k-step.
        f.set('p', g('bBase'));
        f.set('q', g('aBase'));
        f.set('qEnd', add(g('aBase'), mul(g('K'), c(MR * 4))));
        f.while('k', () => f.i32LtU(g('q'), g('qEnd')), () => {
          kStep();
          f.set('p', add(g('p'), c(NR * 4)));
          f.set('q', add(g('q'), c(MR * 4)));
        });
      }, () => {
        // The listed k-steps only (ascending, so every sum keeps its order).
        f.set('t', g('list'));
        f.set('tEnd', add(g('list'), f.i32Shl(g('n'), c(2))));
        f.while('kList', () => f.i32LtU(g('t'), g('tEnd')), () => {
          const k = () => f.i32Load(g('t'));
          f.set('p', add(g('bBase'), mul(k(), c(NR * 4))));
          f.set('q', add(g('aBase'), mul(k(), c(MR * 4))));
          kStep();
          f.set('t', add(g('t'), c(4)));
        });
      });
      // Store the tile.
      f.set('i0', mul(g('ip'), c(MR)));
      f.set('cRow', add(g('C'), f.i32Shl(add(mul(g('i0'), g('ldc')), g('j0')), c(2))));
      f.if(f.i32And(f.i32LeS(add(g('i0'), c(MR)), g('M')), f.i32LeS(add(g('j0'), c(NR)), g('N'))), () => {
        for (let r = 0; r < MR; r++) {
          for (let h = 0; h < 2; h++) f.v128Store(g('cRow'), g(acc[r][h]), 16 * h);
          if (r < MR - 1) f.set('cRow', add(g('cRow'), g('ldc4')));
        }
      }, () => {
        // Edge tile: the padded rows and columns were computed from zeros and are dropped here.
        f.set('rows', sub(g('M'), g('i0')));
        f.set('cols', sub(g('N'), g('j0')));
        for (let r = 0; r < MR; r++) {
          const storeRow = () => {
            for (let j = 0; j < NR; j++) {
              const store = () => f.f32Store(g('cRow'), f.f32x4ExtractLane(g(acc[r][j >> 2]), j & 3), 4 * j);
              if (j === 0) store(); // cols ≥ 1: j0 < N
              else f.if(f.i32LtS(c(j), g('cols')), store);
            }
            if (r < MR - 1) f.set('cRow', add(g('cRow'), g('ldc4')));
          };
          if (r === 0) storeRow(); // rows ≥ 1: i0 < M
          else f.if(f.i32LtS(c(r), g('rows')), storeRow);
        }
      });
      f.set('ip', add(g('ip'), c(1)));
    });
    f.set('jp', add(g('jp'), c(1)));
  });
  return f;
}

// ---------------------------------------------------------------------------------------------
// gemm: the single-thread product, over a scratch area of gemmScratchBytes(M, K, N) bytes.
//
//   Mp = ⌈M/4⌉, Np = ⌈N/8⌉
//   pa = scratch; aIdx = pa + Mp·MR·K·4; pb = aIdx + ⌈Mp·(K+1)·4⌉₁₆; bIdx = pb + NR·K·4
//   (aIdx = bIdx = 0 without zero skipping)
//   packA(pa, A, ai, ak, M, K, 0, Mp, aIdx)            A whole (200 KB at 64×784: L2)
//   for jp in [0, Np):
//     packB(pb, B, bk, bj, K, N, jp, jp + 1, bIdx)     one B panel, used at once while in L1
//     tiles(C, N, pa, pb, M, K, N, 0, Mp, jp, jp + 1, aIdx, bIdx)
// ---------------------------------------------------------------------------------------------
function emitGemmEntry(mod: ModuleBuilder, packA: FunctionBuilder, packB: FunctionBuilder, tiles: FunctionBuilder): void {
  const f = mod.func('gemm', {
    C: 'i32', A: 'i32', ai: 'i32', ak: 'i32', B: 'i32', bk: 'i32', bj: 'i32',
    M: 'i32', K: 'i32', N: 'i32', scratch: 'i32', skip: 'i32',
  });
  for (const l of ['Mp', 'Np', 'pa', 'aIdx', 'pb', 'bIdx', 'jp']) f.local(l, 'i32');
  const g = (l: string) => f.get(l);
  const add = (a: Expr, b: Expr) => f.i32Add(a, b);
  const mul = (a: Expr, b: Expr) => f.i32Mul(a, b);
  const c = (x: number) => f.i32(x);

  f.set('Mp', f.i32ShrU(add(g('M'), c(MR - 1)), c(2)));
  f.set('Np', f.i32ShrU(add(g('N'), c(NR - 1)), c(3)));
  f.set('pa', g('scratch'));
  f.set('aIdx', add(g('pa'), mul(mul(g('Mp'), g('K')), c(MR * 4))));
  f.set('pb', f.i32And(add(add(g('aIdx'), mul(mul(g('Mp'), add(g('K'), c(1))), c(4))), c(15)), c(~15)));
  f.set('bIdx', add(g('pb'), mul(g('K'), c(NR * 4))));
  f.if(f.i32Eqz(g('skip')), () => {
    f.set('aIdx', c(0));
    f.set('bIdx', c(0));
  });
  f.call(packA, g('pa'), g('A'), g('ai'), g('ak'), g('M'), g('K'), c(0), g('Mp'), g('aIdx'));
  f.set('jp', c(0));
  f.while('jp', () => f.i32LtS(g('jp'), g('Np')), () => {
    f.call(packB, g('pb'), g('B'), g('bk'), g('bj'), g('K'), g('N'), g('jp'), add(g('jp'), c(1)), g('bIdx'));
    f.call(tiles, g('C'), g('N'), g('pa'), g('pb'), g('M'), g('K'), g('N'), c(0), g('Mp'), g('jp'), add(g('jp'), c(1)),
      g('aIdx'), g('bIdx'));
    f.set('jp', add(g('jp'), c(1)));
  });
}
