/**
 * BatchNorm's and LayerNorm's kernels in WebAssembly SIMD, the twins of engine/kernels/batchNorm.ts and
 * layerNorm.ts.
 *
 * BatchNorm: x, out, xhat,
 * dout, dinp are (B,F) with rows `ld` floats apart (ld = F for a whole tensor; a thread's piece of the
 * features keeps the tensor's ld), gamma, beta, dgamma, dbeta (F) float32, mean, variance, invstd (F)
 * float64. Byte pointers, as every kernel here.
 *
 * They compute in float64 lanes, two features at a time (an odd last feature alone), and for each
 * feature run over b in order 0..B−1 with the twins' operations in the twins' order — so they give
 * the twins' bits. Walking down two columns at a time touches a cache line per row, but the next
 * seven pairs of features use the same lines while they are still in L1.
 */
import type { Expr, FunctionBuilder, ModuleBuilder } from './encoder.js';
import { F64Lanes } from './optim.js';
import { along2, inOrder, rowLocals, rowValue, setRowValue } from './rows.js';

export const NORM_EXPORTS = ['batchNormStats', 'batchNormApply', 'batchNormBackward', 'layerNormForward', 'layerNormBackward', 'affineBackward'] as const;

/** float64 values at addr (f64 arrays): two lanes, or one. */
const loadF64 = (L: F64Lanes, f: FunctionBuilder, addr: Expr): Expr => (L.vector ? f.v128Load(addr) : f.f64Load(addr));
const storeF64 = (L: F64Lanes, f: FunctionBuilder, addr: Expr, v: Expr): void => (L.vector ? f.v128Store(addr, v) : f.f64Store(addr, v));

/**
 * `for f in [0, F)` two features at a time, then the odd one: `body(L, col, col8)` with L the lane
 * width, col(p) the feature's byte address in a (F) float32 array p, col8(p) in a float64 one, and
 * rows(body) running `for b in [0, B)` with at(p) the element (b, f) of a (B,ld) array p.
 */
function features(
  f: FunctionBuilder, label: string,
  body: (L: F64Lanes, col: (p: string) => Expr, col8: (p: string) => Expr, rows: (inner: (at: (p: string) => Expr) => void) => void) => void,
): void {
  const g = (l: string) => f.get(l);
  const col = (p: string) => f.i32Add(g(p), g('o4'));
  const col8 = (p: string) => f.i32Add(g(p), f.i32Shl(g('o4'), f.i32(1)));
  const rows = (inner: (at: (p: string) => Expr) => void) => {
    f.set('r', g('o4'));
    f.set('rEnd', f.i32Add(g('o4'), f.i32Mul(g('B'), g('ld4'))));
    f.while(`${label}Rows`, () => f.i32LtU(g('r'), g('rEnd')), () => {
      inner((p) => f.i32Add(g(p), g('r')));
      f.set('r', f.i32Add(g('r'), g('ld4')));
    });
  };
  const vec = new F64Lanes(f, true);
  const one = new F64Lanes(f, false);
  f.set('ld4', f.i32Shl(g('ld'), f.i32(2)));
  f.set('o4', f.i32(0));
  f.set('oVec', f.i32Shl(f.i32And(g('F'), f.i32(~1)), f.i32(2)));
  f.set('oEnd', f.i32Shl(g('F'), f.i32(2)));
  f.while(`${label}Pairs`, () => f.i32LtU(g('o4'), g('oVec')), () => {
    body(vec, col, col8, rows);
    f.set('o4', f.i32Add(g('o4'), f.i32(8)));
  });
  f.if(f.i32LtU(g('o4'), g('oEnd')), () => body(one, col, col8, rows));
}

/** The loop's locals, and temporaries at both widths (`name2` v128, `name1` f64). */
function locals(f: FunctionBuilder, temps: string[]): void {
  for (const l of ['o4', 'oVec', 'oEnd', 'r', 'rEnd', 'ld4']) f.local(l, 'i32');
  for (const t of temps) {
    f.local(`${t}2`, 'v128');
    f.local(`${t}1`, 'f64');
  }
}

/** A float64 constant (or parameter) at the lanes' width. */
function splat(L: F64Lanes, f: FunctionBuilder, v: () => Expr): Expr {
  return L.vector ? f.f64x2Splat(v()) : v();
}

export function emitNorm(mod: ModuleBuilder): void {
  emitStats(mod);
  emitApply(mod);
  emitBackward(mod);
  emitLayerNormForward(mod);
  emitLayerNormBackward(mod);
  emitAffineBackward(mod);
}

// batchNormStats(mean, variance, invstd, x, eps, B, F, ld):
//   for f: s = 0; for b: s += x[b,f];  mean[f] = s / B
//          s = 0; for b: d = x[b,f] − mean[f]; s += d·d;  variance[f] = s / B
//          invstd[f] = 1 / √(variance[f] + eps)
function emitStats(mod: ModuleBuilder): void {
  const f = mod.func('batchNormStats', { mean: 'i32', variance: 'i32', invstd: 'i32', x: 'i32', eps: 'f64', B: 'i32', F: 'i32', ld: 'i32' });
  locals(f, ['s', 'm', 'd', 'n']);
  features(f, 'stats', (L, col, col8, rows) => {
    L.set('n', splat(L, f, () => f.f64ConvertI32U(f.get('B'))));
    L.set('s', splat(L, f, () => f.f64(0)));
    rows((at) => L.set('s', L.add(L.get('s'), L.load(at('x')))));
    L.set('m', L.div(L.get('s'), L.get('n')));
    storeF64(L, f, col8('mean'), L.get('m'));
    L.set('s', splat(L, f, () => f.f64(0)));
    rows((at) => {
      L.set('d', L.sub(L.load(at('x')), L.get('m')));
      L.set('s', L.add(L.get('s'), L.mul(L.get('d'), L.get('d'))));
    });
    L.set('s', L.div(L.get('s'), L.get('n')));
    storeF64(L, f, col8('variance'), L.get('s'));
    storeF64(L, f, col8('invstd'), L.div(splat(L, f, () => f.f64(1)), L.sqrt(L.add(L.get('s'), splat(L, f, () => f.get('eps'))))));
    void col;
  });
}

// batchNormApply(out, xhat, x, mean, invstd, gamma, beta, B, F, ld):
//   for f, b: h = (x[b,f] − mean[f])·invstd[f];  xhat[b,f] = h;  out[b,f] = gamma[f]·h + beta[f]
function emitApply(mod: ModuleBuilder): void {
  const f = mod.func('batchNormApply', {
    out: 'i32', xhat: 'i32', x: 'i32', mean: 'i32', invstd: 'i32', gamma: 'i32', beta: 'i32', B: 'i32', F: 'i32', ld: 'i32',
  });
  locals(f, ['m', 'is', 'ga', 'be', 'h']);
  features(f, 'apply', (L, col, col8, rows) => {
    L.set('m', loadF64(L, f, col8('mean')));
    L.set('is', loadF64(L, f, col8('invstd')));
    L.set('ga', L.load(col('gamma')));
    L.set('be', L.load(col('beta')));
    rows((at) => {
      L.set('h', L.mul(L.sub(L.load(at('x')), L.get('m')), L.get('is')));
      L.store(at('xhat'), L.get('h'));
      L.store(at('out'), L.add(L.mul(L.get('ga'), L.get('h')), L.get('be')));
    });
  });
}

// batchNormBackward(dinp, dgamma, dbeta, dout, xhat, gamma, invstd, B, F, ld):
//   for f: sb = Σ_b dout[b,f];  sg = Σ_b dout[b,f]·xhat[b,f]       (in b order)
//          dbeta[f] = sb;  dgamma[f] = sg                          (stored as float32, read back so)
//          k = gamma[f]·invstd[f] / B
//          for b: dinp[b,f] = k·(B·dout[b,f] − dbeta[f] − xhat[b,f]·dgamma[f])
function emitBackward(mod: ModuleBuilder): void {
  const f = mod.func('batchNormBackward', {
    dinp: 'i32', dgamma: 'i32', dbeta: 'i32', dout: 'i32', xhat: 'i32', gamma: 'i32', invstd: 'i32', B: 'i32', F: 'i32', ld: 'i32',
  });
  locals(f, ['sb', 'sg', 'd', 'k', 'n']);
  features(f, 'backward', (L, col, col8, rows) => {
    L.set('n', splat(L, f, () => f.f64ConvertI32U(f.get('B'))));
    affineSums(L, f, col, rows);
    L.set('sb', L.load(col('dbeta')));
    L.set('sg', L.load(col('dgamma')));
    L.set('k', L.div(L.mul(L.load(col('gamma')), loadF64(L, f, col8('invstd'))), L.get('n')));
    rows((at) => {
      L.store(at('dinp'), L.mul(L.get('k'),
        L.sub(L.sub(L.mul(L.get('n'), L.load(at('dout'))), L.get('sb')), L.mul(L.load(at('xhat')), L.get('sg')))));
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// LayerNorm: x, out, xhat, dout, dinp are (R,F), gamma, beta, dgamma, dbeta (F) float32, invstd (R)
// float64. Each row's statistics and its two backward sums run over f in order, one value at a time in
// float64 (rows.ts `inOrder`): the twins' sums, so their bits; the elementwise parts in f64x2 pairs with
// the twins' operations in the twins' order. Rows are independent (a thread takes whole rows), except
// for dgamma and dbeta, sums down the columns: affineBackward, split by features as BatchNorm's are.
// ---------------------------------------------------------------------------------------------------

/** `for r in [0, R)`: body() for row r at byte offset b = r·F·4 (st = 4, kEnd = F·4), with `r8` = r·8. */
function normRows(f: FunctionBuilder, body: () => void): void {
  const g = (l: string) => f.get(l);
  for (const l of ['r8', 'r8End']) f.local(l, 'i32');
  f.set('st', f.i32(4));
  f.set('kEnd', f.i32Shl(g('F'), f.i32(2)));
  f.set('b', f.i32(0));
  f.set('r8', f.i32(0));
  f.set('r8End', f.i32Shl(g('R'), f.i32(3)));
  f.while('rows', () => f.i32LtU(g('r8'), g('r8End')), () => {
    body();
    f.set('b', f.i32Add(g('b'), g('kEnd')));
    f.set('r8', f.i32Add(g('r8'), f.i32(8)));
  });
}

// layerNormForward(out, xhat, invstd, x, gamma, beta, eps, R, F), per row:
//   s = Σ_f x[f] (in order);  mean = s / F
//   s = Σ_f (x[f] − mean)² (in order);  is = 1 / √(s/F + eps);  invstd[r] = is
//   for f: h = (x[f] − mean)·is;  xhat[f] = h;  out[f] = gamma[f]·h + beta[f]
function emitLayerNormForward(mod: ModuleBuilder): void {
  const f = mod.func('layerNormForward', {
    out: 'i32', xhat: 'i32', invstd: 'i32', x: 'i32', gamma: 'i32', beta: 'i32', eps: 'f64', R: 'i32', F: 'i32',
  });
  rowLocals(f);
  for (const l of ['s', 'd', 'n']) f.local(l, 'f64');
  for (const v of ['mean', 'is']) rowValue(f, v);
  f.local('h2', 'v128');
  f.local('h1', 'f64');
  const g = (l: string) => f.get(l);
  const col = (p: string) => f.i32Add(g(p), g('k'));
  f.set('n', f.f64ConvertI32U(g('F')));
  normRows(f, () => {
    f.set('s', f.f64(0));
    inOrder(f, 'sum', (at) => f.set('s', f.f64Add(g('s'), f.f64PromoteF32(f.f32Load(at('x'))))));
    setRowValue(f, 'mean', f.f64Div(g('s'), g('n')));
    f.set('s', f.f64(0));
    inOrder(f, 'squares', (at) => {
      f.set('d', f.f64Sub(f.f64PromoteF32(f.f32Load(at('x'))), g('mean')));
      f.set('s', f.f64Add(g('s'), f.f64Mul(g('d'), g('d'))));
    });
    setRowValue(f, 'is', f.f64Div(f.f64(1), f.f64Sqrt(f.f64Add(f.f64Div(g('s'), g('n')), g('eps')))));
    f.f64Store(f.i32Add(g('invstd'), g('r8')), g('is'));
    along2(f, 'apply', (L, at) => {
      L.set('h', L.mul(L.sub(L.load(at('x')), L.param('mean')), L.param('is')));
      L.store(at('xhat'), L.get('h'));
      L.store(at('out'), L.add(L.mul(L.load(col('gamma')), L.get('h')), L.load(col('beta'))));
    });
  });
}

// layerNormBackward(dinp, dout, xhat, gamma, invstd, R, F), per row (dgamma, dbeta: affineBackward):
//   sd = Σ_f dout[f]·gamma[f];  sdx = Σ_f (dout[f]·gamma[f])·xhat[f]      (in order)
//   c = invstd[r] / F
//   for f: dinp[f] = c·(((F·dout[f])·gamma[f] − sd) − xhat[f]·sdx)
function emitLayerNormBackward(mod: ModuleBuilder): void {
  const f = mod.func('layerNormBackward', { dinp: 'i32', dout: 'i32', xhat: 'i32', gamma: 'i32', invstd: 'i32', R: 'i32', F: 'i32' });
  rowLocals(f);
  f.local('dh', 'f64');
  for (const v of ['sd', 'sdx', 'c', 'n']) rowValue(f, v);
  const g = (l: string) => f.get(l);
  const col = (p: string) => f.i32Add(g(p), g('k'));
  setRowValue(f, 'n', f.f64ConvertI32U(g('F')));
  normRows(f, () => {
    f.set('sd', f.f64(0));
    f.set('sdx', f.f64(0));
    inOrder(f, 'sums', (at) => {
      f.set('dh', f.f64Mul(f.f64PromoteF32(f.f32Load(at('dout'))), f.f64PromoteF32(f.f32Load(col('gamma')))));
      f.set('sd', f.f64Add(g('sd'), g('dh')));
      f.set('sdx', f.f64Add(g('sdx'), f.f64Mul(g('dh'), f.f64PromoteF32(f.f32Load(at('xhat'))))));
    });
    setRowValue(f, 'sd', g('sd'));
    setRowValue(f, 'sdx', g('sdx'));
    setRowValue(f, 'c', f.f64Div(f.f64Load(f.i32Add(g('invstd'), g('r8'))), g('n')));
    along2(f, 'dinp', (L, at) => {
      L.store(at('dinp'), L.mul(L.param('c'), L.sub(
        L.sub(L.mul(L.mul(L.param('n'), L.load(at('dout'))), L.load(col('gamma'))), L.param('sd')),
        L.mul(L.load(at('xhat')), L.param('sdx')))));
    });
  });
}

// affineBackward(dgamma, dbeta, dout, xhat, B, F, ld) — kernels/batchNorm.ts `affineBackward`, B rows:
//   for f: dbeta[f] = Σ_b dout[b,f];  dgamma[f] = Σ_b dout[b,f]·xhat[b,f]        (float64, b in order)
function emitAffineBackward(mod: ModuleBuilder): void {
  const f = mod.func('affineBackward', { dgamma: 'i32', dbeta: 'i32', dout: 'i32', xhat: 'i32', B: 'i32', F: 'i32', ld: 'i32' });
  locals(f, ['sb', 'sg', 'd']);
  features(f, 'affine', (L, col, _col8, rows) => affineSums(L, f, col, rows));
}

/**
 * The affine gradients of a feature (or a pair): dbeta = Σ_b dout, dgamma = Σ_b dout·xhat, in b
 * order, stored as float32; BatchNorm's backward and affineBackward both begin so. Uses temps sb, sg, d.
 */
function affineSums(
  L: F64Lanes, f: FunctionBuilder, col: (p: string) => Expr, rows: (inner: (at: (p: string) => Expr) => void) => void,
): void {
  L.set('sb', splat(L, f, () => f.f64(0)));
  L.set('sg', splat(L, f, () => f.f64(0)));
  rows((at) => {
    L.set('d', L.load(at('dout')));
    L.set('sb', L.add(L.get('sb'), L.get('d')));
    L.set('sg', L.add(L.get('sg'), L.mul(L.get('d'), L.load(at('xhat')))));
  });
  L.store(col('dbeta'), L.get('sb'));
  L.store(col('dgamma'), L.get('sg'));
}
