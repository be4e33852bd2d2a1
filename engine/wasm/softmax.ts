/**
 * Softmax, log-softmax and softmax + cross-entropy in WebAssembly SIMD, the twins of
 * engine/kernels/softmax.ts: a tensor seen as (OUTER, N, INNER), the N values INNER apart one
 * distribution (rows.ts walks them: four lanes where they are adjacent, one lane through the same code
 * where they are not); cross-entropy over rows of logits (B,C). Byte pointers, as every kernel here.
 *
 * What is the twins' and what is not:
 *
 * - the maximum is exact (f32x4.max, NaN propagating, as Math.max);
 * - e^(x − max) is expVector's polynomial (activation.ts), not Math.exp. The difference x − max is
 *   rounded to float32 but its rounding error is kept (TwoSum: hi + lo = x − max exactly) and added to
 *   the reduced argument, so e^(x − max) is as accurate as e^x of an exact argument: about 1 float32
 *   ulp. Below −104 the result is 0 (the twin's is below 2⁻¹⁴⁹ there and rounds to 0 too).
 * - everything else runs in float64 exactly as the twins: the sum Σ e in k order, 1/Σ, the
 *   probabilities f32(e·(1/Σ)), (x − max) − log Σ, the loss (max − z_label) + log Σ, and the backwards
 *   of softmax and cross-entropy, whose results are the twins' bits. log Σ is logF64 below (within a
 *   few float64 ulps of Math.log, so far below float32's ulp that it never shows), taken once per row.
 *
 * So softmax probabilities lie within a few float32 ulps of the twin's, and log-softmax, the loss and
 * the log-softmax backward within the same relative error of their terms; engine/backends/kernels.ts
 * states the bounds and tests/engine/wasm-checks.ts holds the kernels to them.
 *
 * NaN and ±∞ follow the twins and PyTorch: a row holding NaN or +∞ is NaN throughout (∞ − ∞), a row
 * of −∞ is NaN, a −∞ among finite values has probability 0 and log-probability −∞.
 */
import type { Expr, FunctionBuilder, ModuleBuilder } from './encoder.js';
import { expLocals, expVector } from './activation.js';
import { along2, along4, at, inOrder, rowLocals, rowValue, setRowValue, type Lanes4 } from './rows.js';

export const SOFTMAX_EXPORTS = [
  'softmaxForward', 'softmaxBackward', 'logSoftmaxForward', 'logSoftmaxBackward', 'crossEntropyForward', 'crossEntropyBackward', 'logF64',
] as const;

export function emitSoftmax(mod: ModuleBuilder): void {
  const log = emitLog(mod);
  emitForward(mod, 'softmaxForward', log);
  emitForward(mod, 'logSoftmaxForward', log);
  emitCrossEntropyForward(mod, log);
  emitSoftmaxBackward(mod);
  emitLogSoftmaxBackward(mod);
  emitCrossEntropyBackward(mod);
}

/** 1/(2j + 1), j = 0..10: the series of atanh. */
const ATANH = Array.from({ length: 11 }, (_, j) => 1 / (2 * j + 1));

// logF64(x) → log x in float64, for x in [2⁻¹²⁶, 2¹²⁷) (NaN gives NaN):
//   k = the exponent of f32(x);  f = x·2^−k                 (exact; f in [1 − 2⁻²⁵, 2))
//   f > √2: f = f/2, k = k + 1                               (now f in [√½, √2])
//   s = (f − 1)/(f + 1);  log f = 2·atanh s = 2s·(1 + s²/3 + s⁴/5 + … + s²⁰/21)
//   log x = k·ln 2 + log f
// |s| ≤ 3 − 2√2 < 0.1716, so the first term left out, s²²/23, is below 2⁻⁵⁹ of the sum: the error is a
// few float64 roundings. The log-sum-exps need it once per row.
function emitLog(mod: ModuleBuilder): FunctionBuilder {
  const f = mod.func('logF64', { x: 'f64' }, ['f64']);
  f.local('k', 'i32');
  for (const l of ['fr', 's', 'z', 'p']) f.local(l, 'f64');
  const g = (l: string) => f.get(l);
  f.set('k', f.i32Sub(f.i32ShrU(f.i32ReinterpretF32(f.f32DemoteF64(g('x'))), f.i32(23)), f.i32(127)));
  f.set('fr', f.f64Mul(g('x'), f.f64PromoteF32(f.f32ReinterpretI32(f.i32Shl(f.i32Sub(f.i32(127), g('k')), f.i32(23))))));
  f.if(f.f64Gt(g('fr'), f.f64(Math.SQRT2)), () => {
    f.set('fr', f.f64Mul(g('fr'), f.f64(0.5)));
    f.set('k', f.i32Add(g('k'), f.i32(1)));
  });
  f.set('s', f.f64Div(f.f64Sub(g('fr'), f.f64(1)), f.f64Add(g('fr'), f.f64(1))));
  f.set('z', f.f64Mul(g('s'), g('s')));
  f.set('p', f.f64(ATANH[ATANH.length - 1]));
  for (let j = ATANH.length - 2; j >= 0; j--) f.set('p', f.f64Add(f.f64Mul(g('p'), g('z')), f.f64(ATANH[j])));
  f.f64Add(f.f64Mul(f.f64ConvertI32S(g('k')), f.f64(Math.LN2)), f.f64Mul(f.f64Mul(g('s'), f.f64(2)), g('p')));
  return f;
}

/**
 * `for o in [0, OUTER), i in [0, INNER)`: body() for the distribution at byte offset b = (o·N·INNER + i)·4,
 * its values st = INNER·4 bytes apart, kEnd = N·st.
 */
function distributions(f: FunctionBuilder, body: () => void): void {
  const g = (l: string) => f.get(l);
  for (const l of ['ob', 'obEnd', 'bEnd']) f.local(l, 'i32');
  f.set('st', f.i32Shl(g('INNER'), f.i32(2)));
  f.set('kEnd', f.i32Mul(g('N'), g('st')));
  f.set('ob', f.i32(0));
  f.set('obEnd', f.i32Mul(g('OUTER'), g('kEnd')));
  f.while('outer', () => f.i32LtU(g('ob'), g('obEnd')), () => {
    f.set('b', g('ob'));
    f.set('bEnd', f.i32Add(g('ob'), g('st')));
    f.while('inner', () => f.i32LtU(g('b'), g('bEnd')), () => {
      body();
      f.set('b', f.i32Add(g('b'), f.i32(4)));
    });
    f.set('ob', f.i32Add(g('ob'), g('kEnd')));
  });
}

/** `for r in [0, B)`: body() for row r at byte offset b = r·C·4 (st = 4), with `r4` = r·4. */
function logitRows(f: FunctionBuilder, body: () => void): void {
  const g = (l: string) => f.get(l);
  for (const l of ['r4', 'r4End']) f.local(l, 'i32');
  f.set('st', f.i32(4));
  f.set('kEnd', f.i32Shl(g('C'), f.i32(2)));
  f.set('b', f.i32(0));
  f.set('r4', f.i32(0));
  f.set('r4End', f.i32Shl(g('B'), f.i32(2)));
  f.while('rows', () => f.i32LtU(g('r4'), g('r4End')), () => {
    body();
    f.set('b', f.i32Add(g('b'), g('kEnd')));
    f.set('r4', f.i32Add(g('r4'), f.i32(4)));
  });
}

/** The locals of the forward walks. */
function forwardLocals(f: FunctionBuilder): void {
  rowLocals(f);
  expLocals(f);
  for (const l of ['mv', 'ms', 'x', 'hi', 'bv', 'lo', 'e']) f.local(l, 'v128');
  f.local('m', 'f32');
  rowValue(f, 'total');
  rowValue(f, 'inv');
}

// m = max_k inp[k]: four lanes of maxima (one value splatted into all four), then across the lanes.
function rowMax(f: FunctionBuilder, inp: string): void {
  const g = (l: string) => f.get(l);
  f.set('mv', f.f32x4Splat(f.f32(-Infinity)));
  along4(f, `${inp}Max`, (v) => f.set('mv', f.f32x4Max(g('mv'), v.lanes === 4 ? v.load(inp) : f.v128Load32Splat(at(f, inp)))));
  const lane = (i: number) => f.f32x4ExtractLane(g('mv'), i);
  f.set('m', f.f32Max(f.f32Max(lane(0), lane(1)), f.f32Max(lane(2), lane(3))));
}

// total = Σ_k e^(inp[k] − m), k in order, in float64; with `out`, out[k] = e^(inp[k] − m) as well:
//   hi = x − m;  lo = (x − (hi − (hi − x))) − (m + (hi − x))      (TwoSum: hi + lo = x − m exactly)
//   lo = hi ≥ −104 ? lo : 0                                       (where exp clamps, or hi is −∞ or NaN)
//   e = expVector(hi, lo);  total += f64(e lane 0) [+ lane 1 + lane 2 + lane 3]
function expSum(f: FunctionBuilder, inp: string, out: string | null): void {
  const g = (l: string) => f.get(l);
  const k = (v: number) => f.f32x4Splat(f.f32(v));
  f.set('ms', f.f32x4Splat(g('m')));
  setRowValue(f, 'total', f.f64(0));
  along4(f, `${inp}Exp`, (v: Lanes4) => {
    f.set('x', v.load(inp));
    f.set('hi', f.f32x4Sub(g('x'), g('ms')));
    f.set('bv', f.f32x4Sub(g('hi'), g('x')));
    f.set('lo', f.f32x4Sub(f.f32x4Sub(g('x'), f.f32x4Sub(g('hi'), g('bv'))), f.f32x4Add(g('ms'), g('bv'))));
    f.set('lo', f.v128And(g('lo'), f.f32x4Ge(g('hi'), k(-104))));
    expVector(f, 'e', () => g('hi'), () => g('lo'));
    if (out !== null) v.store(out, () => g('e'));
    for (let lane = 0; lane < v.lanes; lane++) f.set('total', f.f64Add(g('total'), f.f64PromoteF32(f.f32x4ExtractLane(g('e'), lane))));
  });
}

// softmaxForward(out, inp, OUTER, N, INNER), per distribution:
//   m = max inp;  out[k] = e^(inp[k] − m), total = Σ out[k] (float64, k in order)
//   out[k] = f32(out[k]·(1/total))
// logSoftmaxForward(out, inp, OUTER, N, INNER), per distribution:
//   m = max inp;  total = Σ e^(inp[k] − m);  logT = log total
//   out[k] = f32((inp[k] − m) − logT)          (float64: the shift apart from the log, as the twin)
function emitForward(mod: ModuleBuilder, name: 'softmaxForward' | 'logSoftmaxForward', log: FunctionBuilder): void {
  const f = mod.func(name, { out: 'i32', inp: 'i32', OUTER: 'i32', N: 'i32', INNER: 'i32' });
  forwardLocals(f);
  rowValue(f, 'mD');
  rowValue(f, 'logT');
  distributions(f, () => {
    rowMax(f, 'inp');
    if (name === 'softmaxForward') {
      expSum(f, 'inp', 'out');
      scale(f, 'out');
    } else {
      expSum(f, 'inp', null);
      setRowValue(f, 'mD', f.f64PromoteF32(f.get('m')));
      setRowValue(f, 'logT', f.call(log, f.get('total')));
      along2(f, 'log', (L, p) => L.store(p('out'), L.sub(L.sub(L.load(p('inp')), L.param('mD')), L.param('logT'))));
    }
  });
}

/** out[k] = f32(out[k]·(1/total)): the twin's probabilities from the twin's sum. */
function scale(f: FunctionBuilder, out: string): void {
  setRowValue(f, 'inv', f.f64Div(f.f64(1), f.get('total')));
  along2(f, `${out}Scale`, (L, p) => L.store(p(out), L.mul(L.load(p(out)), L.param('inv'))));
}

// crossEntropyForward(probs, loss, logits, labels, B, C), per row r (labels validated by the op):
//   probs = softmax(logits row), as softmaxForward
//   loss[r] = (m − logits[r, labels[r]]) + log total              (float64; the caller sums the rows in order)
function emitCrossEntropyForward(mod: ModuleBuilder, log: FunctionBuilder): void {
  const f = mod.func('crossEntropyForward', { probs: 'i32', loss: 'i32', logits: 'i32', labels: 'i32', B: 'i32', C: 'i32' });
  forwardLocals(f);
  const g = (l: string) => f.get(l);
  logitRows(f, () => {
    rowMax(f, 'logits');
    expSum(f, 'logits', 'probs');
    scale(f, 'probs');
    const z = () => f.f32Load(f.i32Add(f.i32Add(g('logits'), g('b')), f.i32Shl(f.i32Load(f.i32Add(g('labels'), g('r4'))), f.i32(2))));
    f.f64Store(f.i32Add(g('loss'), f.i32Shl(g('r4'), f.i32(1))),
      f.f64Add(f.f64Sub(f.f64PromoteF32(g('m')), f.f64PromoteF32(z())), f.call(log, g('total'))));
  });
}

// softmaxBackward(dinp, dout, y, OUTER, N, INNER), per distribution — the twin's bits:
//   dot = Σ_k dout[k]·y[k]  (float64, k in order);  dinp[k] = f32(y[k]·(dout[k] − dot))
function emitSoftmaxBackward(mod: ModuleBuilder): void {
  const f = mod.func('softmaxBackward', { dinp: 'i32', dout: 'i32', y: 'i32', OUTER: 'i32', N: 'i32', INNER: 'i32' });
  rowLocals(f);
  rowValue(f, 'dot');
  const g = (l: string) => f.get(l);
  distributions(f, () => {
    f.set('dot', f.f64(0));
    inOrder(f, 'dot', (p) => f.set('dot', f.f64Add(g('dot'), f.f64Mul(f.f64PromoteF32(f.f32Load(p('dout'))), f.f64PromoteF32(f.f32Load(p('y')))))));
    setRowValue(f, 'dot', g('dot'));
    along2(f, 'dinp', (L, p) => L.store(p('dinp'), L.mul(L.load(p('y')), L.sub(L.load(p('dout')), L.param('dot')))));
  });
}

// logSoftmaxBackward(dinp, dout, out, OUTER, N, INNER), per distribution:
//   total = Σ_k dout[k]  (float64, k in order)
//   dinp[k] = f32(dout[k] − e^out[k]·total)      (e^out by expVector; the rest in float64 as the twin)
// Four values at a time: the exponentials in f32 lanes, the rest in two f64x2 halves.
function emitLogSoftmaxBackward(mod: ModuleBuilder): void {
  const f = mod.func('logSoftmaxBackward', { dinp: 'i32', dout: 'i32', out: 'i32', OUTER: 'i32', N: 'i32', INNER: 'i32' });
  rowLocals(f);
  expLocals(f);
  for (const l of ['e', 'd', 'lo', 'hi']) f.local(l, 'v128');
  rowValue(f, 'total');
  const g = (l: string) => f.get(l);
  const high = (v: string) => f.f64x2PromoteLowF32x4(f.f32x4Shuffle(g(v), g(v), [2, 3, 2, 3]));
  const half = (e: () => Expr, d: () => Expr) => f.f32x4DemoteF64x2Zero(f.f64x2Sub(d(), f.f64x2Mul(e(), g('total2'))));
  distributions(f, () => {
    f.set('total', f.f64(0));
    inOrder(f, 'total', (p) => f.set('total', f.f64Add(g('total'), f.f64PromoteF32(f.f32Load(p('dout'))))));
    setRowValue(f, 'total', g('total'));
    along4(f, 'dinp', (v) => {
      expVector(f, 'e', () => v.load('out'));
      f.set('d', v.load('dout'));
      f.set('lo', half(() => f.f64x2PromoteLowF32x4(g('e')), () => f.f64x2PromoteLowF32x4(g('d'))));
      f.set('hi', half(() => high('e'), () => high('d')));
      v.store('dinp', () => f.f32x4Shuffle(g('lo'), g('hi'), [0, 1, 4, 5]));
    });
  });
}

// crossEntropyBackward(dlogits, probs, labels, B, C, scale), per row r — the twin's bits:
//   dlogits[r, c] = f32(probs[r, c]·scale);  dlogits[r, labels[r]] = f32(dlogits[r, labels[r]] − scale)
function emitCrossEntropyBackward(mod: ModuleBuilder): void {
  const f = mod.func('crossEntropyBackward', { dlogits: 'i32', probs: 'i32', labels: 'i32', B: 'i32', C: 'i32', scale: 'f64' });
  rowLocals(f);
  f.local('scale2', 'v128');
  f.local('y', 'i32');
  const g = (l: string) => f.get(l);
  f.set('scale2', f.f64x2Splat(g('scale'))); // scale is a parameter: its splat alone
  logitRows(f, () => {
    along2(f, 'grad', (L, p) => L.store(p('dlogits'), L.mul(L.load(p('probs')), L.param('scale'))));
    f.set('y', f.i32Add(f.i32Add(g('dlogits'), g('b')), f.i32Shl(f.i32Load(f.i32Add(g('labels'), g('r4'))), f.i32(2))));
    f.f32Store(g('y'), f.f32DemoteF64(f.f64Sub(f.f64PromoteF32(f.f32Load(g('y'))), g('scale'))));
  });
}
