/**
 * The register-blocked matrix product behind gemmNN/gemmNT/gemmTN (engine/kernels/matmul.ts), in
 * two steps, as BLIS and GotoBLAS do it:
 *
 *   1. pack: copy A into panels of MR=4 rows and B into panels of NR=4 columns, each panel laid out
 *      k-major (the 4 values a k-step needs sit next to each other). Packing is also where the three
 *      layouts meet: it reads A and B through strides, so a transposed operand is read in place and
 *      the tile loop below never knows which layout it came from. Rows or columns past the edge are
 *      packed as zeros, so odd shapes (1, 3, 17, 301) take the same tile loop.
 *   2. tiles: each 4×4 block of C is held in 16 local variables while k runs over the whole inner
 *      dimension: per k-step 8 loads feed 16 multiply-adds, where the plain i-k-j loop does a load
 *      and a store per multiply-add.
 *
 * Why 4×4 (measured on this 2-core AMD EPYC, Node 20, 128×784·784×300 and the backward shapes; see
 * benchmarks/kernels.ts): packed 4×4 ran 4.9–5.1 GFLOP/s; 4×8 4.6–4.9, 8×4 4.5–4.7, 6×8 4.4–4.9,
 * 3×4/4×3/2×5 within noise of 4×4 (5.0–5.4), 2×4 4.2. V8 keeps JavaScript numbers in 16 scalar
 * XMM registers, so tiles past 16 accumulators spill to the stack and gain nothing; below that the
 * loads dominate. Packing into a Float64Array (saving the float→double conversions) changed nothing
 * measurable, and unrolling k by two was slower. 4×4 is the smallest tile at the top, and the simplest.
 *
 * Zero skipping. While packing, each panel is indexed (packPanels, indexPanel): the k-steps whose
 * four values are not all zero. A tile whose A or B panel has few of them (below SPARSE_FRACTION·K) runs over
 * that list only. MNIST pixels are about 80% zeros, so the first Dense layer's forward product
 * (X·Wᵀ, X panels of 4 images) and its weight gradient (dYᵀ·X, X panels of 4 pixels over the batch,
 * many of them blank on every image) skip most of their work; dense panels take the plain loop.
 * Skipped terms are exact zeros, so sums are unchanged — except that 0·∞ and 0·NaN are NaN: a
 * panel holding a NaN or an infinity is marked and its tiles never skip, which keeps the results
 * equal to the naive twins bit for bit, NaN for NaN.
 *
 * Accumulators are JavaScript numbers (float64) and k runs in order 0..K−1, the same sums in the
 * same order as the naive twins: the product of two float32 values is exact in float64, so the
 * blocked result equals the naive one bit for bit, whatever the tiling or the thread split. (The
 * accumulators start at +0 and a sum of non-zero terms that cancels is +0, so leaving out a ±0
 * term never changes a bit.)
 */

/** Rows of A per panel (rows of a C tile). */
export const MR = 4;
/** Columns of B per panel (columns of a C tile). */
export const NR = 4;

let zeroSkipping = true;

/**
 * Turns zero skipping off (or on again): the packing builds no index and every tile runs the dense
 * loop. Results are the same bits either way; the benchmark uses it to show what skipping gains.
 */
export function setZeroSkipping(on: boolean): void {
  zeroSkipping = on;
}

export function zeroSkippingEnabled(): boolean {
  return zeroSkipping;
}

/** A tile runs over its sparser panel's k-list when that list is shorter than this fraction of K. */
export const SPARSE_FRACTION = 0.8;

/** Ints one panel's index takes: a count and up to K k-steps. */
export function indexSize(K: number): number {
  return K + 1;
}

/**
 * Indexes one packed panel (4 values per k-step at p[pOff + 4k ..]): idx[idxOff] receives the number
 * of k-steps whose four values are not all zero, or −1 when the panel holds a NaN or an infinity
 * (its tiles must not skip: 0·NaN is NaN); idx[idxOff + 1 ..] receives those k, ascending.
 */
export function indexPanel(idx: Int32Array, idxOff: number, p: Float32Array, pOff: number, K: number): void {
  let n = 0;
  let finite = 0; // stays 0 unless some v − v is NaN, which happens exactly for ±∞ and NaN
  for (let k = 0, q = pOff; k < K; k++, q += 4) {
    const v0 = p[q], v1 = p[q + 1], v2 = p[q + 2], v3 = p[q + 3];
    finite += (v0 - v0) + (v1 - v1) + (v2 - v2) + (v3 - v3);
    if (v0 !== 0 || v1 !== 0 || v2 !== 0 || v3 !== 0) idx[idxOff + 1 + n++] = k;
  }
  idx[idxOff] = finite === 0 ? n : -1;
}

/** Number of MR-row panels (or NR-column panels) covering `n` rows (columns). */
export function panels(n: number): number {
  return Math.ceil(n / 4);
}

/**
 * Packs panels [p0, p1) of 4 "rows" of a strided operand: row r's element k is X[x0 + r*rs + k*ks], rows
 * past `rows` are zeros. Panel p is written at dst[dstOff + (p − p0)*4*K ...], element (r,k) at
 * + 4k + (r − 4p): the four values of a k-step side by side. Writing k-step by k-step keeps the
 * stores sequential whatever the layout (four read streams for rows stored along k, one
 * contiguous run for rows stored across). When `idx` is given, each panel is indexed on the way
 * (as indexPanel does: idx[idxOff + (p − p0)*(K+1)] is the count, then the k-steps).
 */
export function packPanels(
  dst: Float32Array, dstOff: number,
  X: Float32Array, x0: number, rs: number, ks: number,
  rows: number, K: number, p0: number, p1: number,
  idx: Int32Array | null, idxOff: number,
): void {
  for (let p = p0; p < p1; p++) {
    const d0 = dstOff + (p - p0) * 4 * K;
    const r0 = p * 4;
    const at = idxOff + (p - p0) * (K + 1);
    if (r0 + 4 > rows) {
      // Edge panel: copy the rows that exist, zeros for the rest, then index it on its own.
      for (let k = 0, d = d0; k < K; k++, d += 4) {
        for (let r = 0; r < 4; r++) dst[d + r] = r0 + r < rows ? X[x0 + (r0 + r) * rs + k * ks] : 0;
      }
      if (idx !== null) indexPanel(idx, at, dst, d0, K);
      continue;
    }
    const s1 = rs, s2 = 2 * rs, s3 = 3 * rs;
    let n = 0;
    let finite = 0; // stays 0 unless some v − v is NaN: exactly for ±∞ and NaN
    for (let k = 0, d = d0, s = x0 + r0 * rs; k < K; k++, d += 4, s += ks) {
      const v0 = X[s], v1 = X[s + s1], v2 = X[s + s2], v3 = X[s + s3];
      dst[d] = v0;
      dst[d + 1] = v1;
      dst[d + 2] = v2;
      dst[d + 3] = v3;
      if (idx !== null) {
        finite += (v0 - v0) + (v1 - v1) + (v2 - v2) + (v3 - v3);
        if (v0 !== 0 || v1 !== 0 || v2 !== 0 || v3 !== 0) idx[at + 1 + n++] = k;
      }
    }
    if (idx !== null) idx[at] = finite === 0 ? n : -1;
  }
}

/**
 * Packs row panels [ip0, ip1) of the logical A (M,K), whose element (i,k) is A[a0 + i*ai + k*ak].
 * Panel ip is written at pa[paOff + (ip − ip0)*MR*K ...], element (i,k) at + k*MR + (i − ip*MR).
 * NN and NT pass (ai, ak) = (K, 1); TN, where A is stored (K,M), passes (1, M).
 */
export function packA(
  pa: Float32Array, paOff: number,
  A: Float32Array, a0: number, ai: number, ak: number,
  M: number, K: number, ip0: number, ip1: number,
  idx: Int32Array | null = null, idxOff = 0,
): void {
  packPanels(pa, paOff, A, a0, ai, ak, M, K, ip0, ip1, idx, idxOff);
}

/**
 * Packs column panels [jp0, jp1) of the logical B (K,N), whose element (k,j) is B[b0 + k*bk + j*bj].
 * Panel jp is written at pb[pbOff + (jp − jp0)*NR*K ...], element (k,j) at + k*NR + (j − jp*NR).
 * NN and TN pass (bk, bj) = (N, 1); NT, where B is stored (N,K), passes (1, K).
 */
export function packB(
  pb: Float32Array, pbOff: number,
  B: Float32Array, b0: number, bk: number, bj: number,
  K: number, N: number, jp0: number, jp1: number,
  idx: Int32Array | null = null, idxOff = 0,
): void {
  packPanels(pb, pbOff, B, b0, bj, bk, N, K, jp0, jp1, idx, idxOff);
}

/**
 * C tiles for row panels [ip0, ip1) × column panels [jp0, jp1), from packed panels in the
 * packA/packB layout: panel ip at pa[paOff + (ip − ip0)*MR*K], panel jp at pb[pbOff + (jp − jp0)*NR*K].
 * C (M,N) element (i,j) is written at C[cOff + i*ldc + j]; edge tiles write only the part inside
 * M×N. Each C value is overwritten, not accumulated into. aIdx/bIdx are the panels' indexes
 * (indexPanel; panel ip's at aIdxOff + (ip − ip0)*(K+1)), or null to never skip.
 */
export function gemmTiles(
  C: Float32Array, cOff: number, ldc: number,
  pa: Float32Array, paOff: number, pb: Float32Array, pbOff: number,
  M: number, K: number, N: number,
  ip0: number, ip1: number, jp0: number, jp1: number,
  aIdx: Int32Array | null, aIdxOff: number, bIdx: Int32Array | null, bIdxOff: number,
): void {
  const sparseBelow = SPARSE_FRACTION * K;
  const stride = K + 1;
  for (let jp = jp0; jp < jp1; jp++) {
    // One B panel (K·NR floats, 12.5 KB at K=784) stays in L1 while every A panel streams past it.
    const bBase = pbOff + (jp - jp0) * NR * K;
    const j0 = jp * NR;
    const bAt = bIdxOff + (jp - jp0) * stride;
    const nb = bIdx === null ? -1 : bIdx[bAt];
    for (let ip = ip0; ip < ip1; ip++) {
      const aBase = paOff + (ip - ip0) * MR * K;
      const aAt = aIdxOff + (ip - ip0) * stride;
      const na = aIdx === null ? -1 : aIdx[aAt];
      // Which k-list to run over, if any: the shorter one, when both panels are finite and it is short.
      let list: Int32Array | null = null;
      let listAt = 0;
      let n = K;
      if (na >= 0 && nb >= 0) {
        if (na <= nb && na < sparseBelow) {
          list = aIdx;
          listAt = aAt + 1;
          n = na;
        } else if (nb < na && nb < sparseBelow) {
          list = bIdx;
          listAt = bAt + 1;
          n = nb;
        }
      }
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      if (list === null) {
        for (let k = 0, p = bBase, q = aBase; k < K; k++, p += 4, q += 4) {
          const b0 = pb[p], b1 = pb[p + 1], b2 = pb[p + 2], b3 = pb[p + 3];
          const a0 = pa[q];
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          const a1 = pa[q + 1];
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          const a2 = pa[q + 2];
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          const a3 = pa[q + 3];
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
      } else {
        // The same body over the listed k-steps only (ascending, so the sums keep their order).
        for (let t = 0; t < n; t++) {
          const k4 = list[listAt + t] * 4;
          const p = bBase + k4;
          const q = aBase + k4;
          const b0 = pb[p], b1 = pb[p + 1], b2 = pb[p + 2], b3 = pb[p + 3];
          const a0 = pa[q];
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          const a1 = pa[q + 1];
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          const a2 = pa[q + 2];
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          const a3 = pa[q + 3];
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
      }
      const i0 = ip * MR;
      const c0 = cOff + i0 * ldc + j0;
      if (i0 + MR <= M && j0 + NR <= N) {
        C[c0] = c00; C[c0 + 1] = c01; C[c0 + 2] = c02; C[c0 + 3] = c03;
        const c1 = c0 + ldc;
        C[c1] = c10; C[c1 + 1] = c11; C[c1 + 2] = c12; C[c1 + 3] = c13;
        const c2 = c1 + ldc;
        C[c2] = c20; C[c2 + 1] = c21; C[c2 + 2] = c22; C[c2 + 3] = c23;
        const c3 = c2 + ldc;
        C[c3] = c30; C[c3 + 1] = c31; C[c3 + 2] = c32; C[c3 + 3] = c33;
      } else {
        // Edge tile: the padded rows and columns were computed from zeros and are dropped here.
        const rows = Math.min(MR, M - i0);
        const cols = Math.min(NR, N - j0);
        storeEdgeRow(C, c0, cols, c00, c01, c02, c03);
        if (rows > 1) storeEdgeRow(C, c0 + ldc, cols, c10, c11, c12, c13);
        if (rows > 2) storeEdgeRow(C, c0 + 2 * ldc, cols, c20, c21, c22, c23);
        if (rows > 3) storeEdgeRow(C, c0 + 3 * ldc, cols, c30, c31, c32, c33);
      }
    }
  }
}

function storeEdgeRow(C: Float32Array, at: number, cols: number, v0: number, v1: number, v2: number, v3: number): void {
  C[at] = v0;
  if (cols > 1) C[at + 1] = v1;
  if (cols > 2) C[at + 2] = v2;
  if (cols > 3) C[at + 3] = v3;
}

/**
 * One product C (M,N) = A·B through strides, as every thread sees it (engine/threads/protocol.ts):
 * A's element (i,k) is A[a0 + i*ai + k*ak], B's (k,j) is B[b0 + k*bk + j*bj], C's (i,j) is
 * C[c0 + i*N + j]. `axis` says which side of C is cut into panels that are packed one at a time:
 * 0 splits N (A is packed whole), 1 splits M (B is packed whole).
 */
export interface GemmJob {
  A: Float32Array; a0: number; ai: number; ak: number;
  B: Float32Array; b0: number; bk: number; bj: number;
  C: Float32Array; c0: number;
  M: number; K: number; N: number;
  axis: 0 | 1;
  zeroSkip: boolean;
}

/**
 * A backend's product kernels, packaged for one thread: `packWhole` packs the operand the job does
 * not split into the kit's own scratch; `chunk` packs the split operand's panels [p0, p1), one at a
 * time, and computes their tiles of C. The whole product is `packWhole` then `chunk` over every
 * panel; the thread pool hands chunks to several kits instead.
 */
export interface GemmKit {
  /** Rows of A per panel and columns of B per panel (the register tile). */
  readonly mr: number;
  readonly nr: number;
  packWhole(job: GemmJob): void;
  chunk(job: GemmJob, p0: number, p1: number): void;
}

/** Split along N unless A is the larger operand: the smaller one is packed whole. */
export function chooseAxis(M: number, N: number): 0 | 1 {
  return M <= N ? 0 : 1;
}

/** Panels of the dimension a job splits. */
export function splitPanels(job: Pick<GemmJob, 'axis' | 'M' | 'N'>, kit: Pick<GemmKit, 'mr' | 'nr'>): number {
  return job.axis === 0 ? Math.ceil(job.N / kit.nr) : Math.ceil(job.M / kit.mr);
}

/** The whole product on the calling thread, through the same two calls the pool makes. */
export function runAlone(job: GemmJob, kit: GemmKit): void {
  kit.packWhole(job);
  kit.chunk(job, 0, splitPanels(job, kit));
}

/**
 * The JavaScript kit (4×4 tiles). The whole operand is packed once into `whole`; the split operand is
 * packed one panel at a time into `panel` and used at once, while it is still in L1 (12.5 KB at
 * K = 784). Scratch grows on demand and is reused: no allocation per product.
 */
export function jsGemmKit(): GemmKit {
  let whole = new Float32Array(0);
  let wholeIdx = new Int32Array(0);
  let panel = new Float32Array(0);
  let panelIdx = new Int32Array(0);
  return {
    mr: MR,
    nr: NR,
    packWhole(job: GemmJob): void {
      const { M, K, N } = job;
      const count = job.axis === 0 ? panels(M) : panels(N);
      if (whole.length < count * 4 * K) whole = new Float32Array(count * 4 * K);
      if (wholeIdx.length < count * indexSize(K)) wholeIdx = new Int32Array(count * indexSize(K));
      if (panel.length < 4 * K) panel = new Float32Array(4 * K);
      if (panelIdx.length < indexSize(K)) panelIdx = new Int32Array(indexSize(K));
      const idx = job.zeroSkip ? wholeIdx : null;
      if (job.axis === 0) packA(whole, 0, job.A, job.a0, job.ai, job.ak, M, K, 0, count, idx, 0);
      else packB(whole, 0, job.B, job.b0, job.bk, job.bj, K, N, 0, count, idx, 0);
    },
    chunk(job: GemmJob, p0: number, p1: number): void {
      const { M, K, N } = job;
      const wIdx = job.zeroSkip ? wholeIdx : null;
      const pIdx = job.zeroSkip ? panelIdx : null;
      for (let p = p0; p < p1; p++) {
        if (job.axis === 0) {
          packB(panel, 0, job.B, job.b0, job.bk, job.bj, K, N, p, p + 1, pIdx, 0);
          gemmTiles(job.C, job.c0, N, whole, 0, panel, 0, M, K, N, 0, panels(M), p, p + 1, wIdx, 0, pIdx, 0);
        } else {
          packA(panel, 0, job.A, job.a0, job.ai, job.ak, M, K, p, p + 1, pIdx, 0);
          gemmTiles(job.C, job.c0, N, panel, 0, whole, 0, M, K, N, p, p + 1, 0, panels(N), pIdx, 0, wIdx, 0);
        }
      }
    },
  };
}
