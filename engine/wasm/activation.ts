/**
 * tanh, sigmoid and dropout in WebAssembly SIMD, the twins of engine/kernels/activation.ts and
 * dropout.ts (outputs first, then inputs, then sizes; byte pointers; n counts floats).
 *
 * WebAssembly has no exp, so the forward passes evaluate it here (expVector below): Cody–Waite range
 * reduction x = n·ln2 + r, |r| ≤ ln2/2, then Cephes' degree-6 polynomial for e^r, and 2ⁿ built in the
 * exponent bits in two halves, so that results between 2⁻¹⁵⁰ and 2⁻¹²⁶ come out as subnormals and
 * x ≥ 88.8 as +∞. Its error is about 1 ulp of float32; tanh and sigmoid built on it are within a few
 * ulps of the float64 Math.tanh/Math.exp of the JavaScript twins, rounded (tests/engine/wasm-checks.ts
 * holds them to 4 ulps). NaN stays NaN, ±∞ give the limits (tanh ±1, sigmoid 1 and 0).
 *
 * Every element takes the same vector code, the main loop four at a time and the tail one at a time
 * through the same function (v128.load32_zero, v128.store32_lane), so a value never depends on where
 * a thread's piece of the array begins.
 *
 * The backward passes compute in float64 lanes exactly as the JavaScript twins do (optim.ts's
 * F64Lanes), so they give the twins' bits; dropout's mask and scale give the twin's bits too.
 */
import type { Expr, FunctionBuilder, ModuleBuilder } from './encoder.js';
import { F64Lanes, declare, pairs } from './optim.js';

export const ACTIVATION_EXPORTS = ['tanhForward', 'tanhBackward', 'sigmoidForward', 'sigmoidBackward', 'dropoutForward', 'dropoutPieces', 'dropoutBackward'] as const;

const LOG2E = Math.LOG2E;
const LN2_HI = 0.693359375; // ln 2 split so that n·LN2_HI is exact for |n| ≤ 2⁹
const LN2_LO = -2.12194440e-4;
/** Cephes expf: e^r ≈ 1 + r + r²·P(r) on |r| ≤ ln2/2. */
const EXP_P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
/** Cephes tanhf: tanh x ≈ x + x·z·Q(z), z = x², on |x| < 0.625. */
const TANH_Q = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];

/**
 * e^x in four f32 lanes, into local `dst` (uses v128 locals ex, en, er, ep, ei). With `lo`, the
 * argument is x + lo, lo a correction below half an ulp of x (softmax.ts passes x − max as a rounded
 * difference and its exact error); lo must be 0 where x is clamped or not finite.
 *
 *   x = min(max(x, −104), 89)                 (NaN stays NaN: min and max propagate it)
 *   n = nearest(x·log2 e);  r = (x − n·LN2_HI) − n·LN2_LO  [+ lo]
 *   p = ((((((P0·r + P1)·r + P2)·r + P3)·r + P4)·r + P5)·r²) + r + 1
 *   i = trunc(n);  h = i >> 1                 (n ∈ [−150, 128]: each half within the exponent's range)
 *   e^x = p · 2^h · 2^(i − h)                  2^k is the float with exponent bits (k + 127) << 23
 */
export function expVector(f: FunctionBuilder, dst: string, x: () => Expr, lo?: () => Expr): void {
  const g = (l: string) => f.get(l);
  const k = (v: number) => f.f32x4Splat(f.f32(v));
  const pow2 = (i: () => Expr) => f.i32x4Shl(f.i32x4Add(i(), f.i32x4Splat(f.i32(127))), f.i32(23));
  f.set('ex', f.f32x4Min(f.f32x4Max(x(), k(-104)), k(89)));
  f.set('en', f.f32x4Nearest(f.f32x4Mul(g('ex'), k(LOG2E))));
  f.set('er', f.f32x4Sub(f.f32x4Sub(g('ex'), f.f32x4Mul(g('en'), k(LN2_HI))), f.f32x4Mul(g('en'), k(LN2_LO))));
  if (lo !== undefined) f.set('er', f.f32x4Add(g('er'), lo()));
  f.set('ep', k(EXP_P[0]));
  for (const c of EXP_P.slice(1)) f.set('ep', f.f32x4Add(f.f32x4Mul(g('ep'), g('er')), k(c)));
  f.set('ep', f.f32x4Add(f.f32x4Add(f.f32x4Mul(g('ep'), f.f32x4Mul(g('er'), g('er'))), g('er')), k(1)));
  f.set('ei', f.i32x4TruncSatF32x4S(g('en')));
  f.set('en', f.i32x4ShrS(g('ei'), f.i32(1))); // h, reusing en
  f.set(dst, f.f32x4Mul(f.f32x4Mul(g('ep'), pow2(() => g('en'))), pow2(() => f.i32x4Sub(g('ei'), g('en')))));
}

export function expLocals(f: FunctionBuilder): void {
  for (const l of ['ex', 'en', 'er', 'ep', 'ei']) f.local(l, 'v128');
}

/**
 * `for o in [0, n)` (byte offsets in local o): `body(load, store)` computes four elements at a time
 * while four remain, then the same body one element at a time (loads zero the other lanes, stores
 * write lane 0 only).
 */
function sameCodeLanes(f: FunctionBuilder, n: string, body: (load: (p: string) => Expr, store: (p: string, v: () => Expr) => void) => void): void {
  const at = (p: string) => f.i32Add(f.get(p), f.get('o'));
  f.set('o', f.i32(0));
  f.set('oVec', f.i32Shl(f.i32And(f.get(n), f.i32(~3)), f.i32(2)));
  f.set('oEnd', f.i32Shl(f.get(n), f.i32(2)));
  f.while('vec', () => f.i32LtU(f.get('o'), f.get('oVec')), () => {
    body((p) => f.v128Load(at(p)), (p, v) => f.v128Store(at(p), v()));
    f.set('o', f.i32Add(f.get('o'), f.i32(16)));
  });
  f.while('tail', () => f.i32LtU(f.get('o'), f.get('oEnd')), () => {
    body((p) => f.v128Load32Zero(at(p)), (p, v) => f.v128Store32Lane(at(p), v(), 0));
    f.set('o', f.i32Add(f.get('o'), f.i32(4)));
  });
}

export function emitActivation(mod: ModuleBuilder): void {
  emitTanhForward(mod);
  emitSigmoidForward(mod);
  emitBackward(mod, 'tanhBackward', (L, at) => L.mul(L.load(at('dout')), L.sub(L.param('one'), L.mul(L.get('y'), L.get('y')))));
  emitBackward(mod, 'sigmoidBackward', (L, at) => L.mul(L.mul(L.load(at('dout')), L.get('y')), L.sub(L.param('one'), L.get('y'))));
  emitDropoutPieces(mod, emitDropoutForward(mod));
  emitDropoutBackward(mod);
}

// tanhForward(out, inp, n): for i: out[i] = tanh(inp[i])
//   a = |x|
//   small (a < 0.625):  x + x·z·Q(z), z = x²                 (Cephes tanhf: no cancellation near 0)
//   else:               sign(x)·(1 − 2/(e^(2·min(a, 9)) + 1))  (tanh 9 rounds to 1 in float32)
function emitTanhForward(mod: ModuleBuilder): void {
  const f = mod.func('tanhForward', { out: 'i32', inp: 'i32', n: 'i32' });
  for (const l of ['o', 'oVec', 'oEnd']) f.local(l, 'i32');
  for (const l of ['x', 'a', 'z', 'q', 'e', 'big']) f.local(l, 'v128');
  expLocals(f);
  const g = (l: string) => f.get(l);
  const k = (v: number) => f.f32x4Splat(f.f32(v));
  sameCodeLanes(f, 'n', (load, store) => {
    f.set('x', load('inp'));
    f.set('a', f.f32x4Abs(g('x')));
    f.set('z', f.f32x4Mul(g('x'), g('x')));
    f.set('q', k(TANH_Q[0]));
    for (const c of TANH_Q.slice(1)) f.set('q', f.f32x4Add(f.f32x4Mul(g('q'), g('z')), k(c)));
    f.set('q', f.f32x4Add(f.f32x4Mul(f.f32x4Mul(g('q'), g('z')), g('x')), g('x')));
    expVector(f, 'e', () => f.f32x4Mul(f.f32x4Min(g('a'), k(9)), k(2)));
    f.set('big', f.f32x4Sub(k(1), f.f32x4Div(k(2), f.f32x4Add(g('e'), k(1)))));
    // sign(x)·big: big's magnitude bits, x's sign bit.
    f.set('big', f.v128Bitselect(g('x'), g('big'), k(-0)));
    store('out', () => f.v128Bitselect(g('q'), g('big'), f.f32x4Lt(g('a'), k(0.625))));
  });
}

// sigmoidForward(out, inp, n): for i: out[i] = σ(inp[i])
//   e = e^(−|x|);  r = 1/(1 + e);  out = x < 0 ? e·r : r     (the twin's two forms: e^(−|x|) ≤ 1 never overflows)
function emitSigmoidForward(mod: ModuleBuilder): void {
  const f = mod.func('sigmoidForward', { out: 'i32', inp: 'i32', n: 'i32' });
  for (const l of ['o', 'oVec', 'oEnd']) f.local(l, 'i32');
  for (const l of ['x', 'e', 'r']) f.local(l, 'v128');
  expLocals(f);
  const g = (l: string) => f.get(l);
  const k = (v: number) => f.f32x4Splat(f.f32(v));
  sameCodeLanes(f, 'n', (load, store) => {
    f.set('x', load('inp'));
    expVector(f, 'e', () => f.f32x4Neg(f.f32x4Abs(g('x'))));
    f.set('r', f.f32x4Div(k(1), f.f32x4Add(k(1), g('e'))));
    store('out', () => f.v128Bitselect(f.f32x4Mul(g('e'), g('r')), g('r'), f.f32x4Lt(g('x'), k(0))));
  });
}

// tanhBackward(dinp, dout, out, N): dinp[i] = dout[i]·(1 − out[i]²)
// sigmoidBackward(dinp, dout, out, N): dinp[i] = dout[i]·out[i]·(1 − out[i])
//   in float64 lanes, the twins' operations in the twins' order: their bits.
function emitBackward(mod: ModuleBuilder, name: string, value: (L: F64Lanes, at: (p: string) => Expr) => Expr): void {
  const f = mod.func(name, { dinp: 'i32', dout: 'i32', out: 'i32', N: 'i32' });
  f.local('one', 'f64');
  f.set('one', f.f64(1));
  declare(f, ['one'], ['y']);
  pairs(f, name, (L, at) => {
    L.set('y', L.load(at('out')));
    L.store(at('dinp'), value(L, at));
  });
}

// dropoutForward(out, mask, inp, state, threshold, scale, n) — kernels/dropout.ts, bit for bit:
//   s0..s3 = state[0..3]                          (xoshiro128**'s words, written back at the end)
//   for i in [0, n):
//     u = rotl(s1·5, 7)·9                        (the generator's next 32 bits)
//     t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11)
//     m = u < threshold ? 0 : scale               (u unsigned, threshold = rate·2³² in float64)
//     mask[i] = f32(m);  out[i] = f32(inp[i]·m)   (the product in float64, rounded once, as the twin)
// One unit after another: the stream is sequential, so this one runs on one thread.
function emitDropoutForward(mod: ModuleBuilder): FunctionBuilder {
  const f = mod.func('dropoutForward', {
    out: 'i32', mask: 'i32', inp: 'i32', state: 'i32', threshold: 'f64', scale: 'f64', n: 'i32',
  });
  for (const l of ['o', 'oEnd', 's0', 's1', 's2', 's3', 'u', 't']) f.local(l, 'i32');
  f.local('m', 'f64');
  const g = (l: string) => f.get(l);
  const c = (x: number) => f.i32(x);
  const at = (p: string) => f.i32Add(g(p), g('o'));
  for (let w = 0; w < 4; w++) f.set(`s${w}`, f.i32Load(g('state'), 4 * w));
  f.set('o', c(0));
  f.set('oEnd', f.i32Shl(g('n'), c(2)));
  f.while('unit', () => f.i32LtU(g('o'), g('oEnd')), () => {
    f.set('u', f.i32Mul(f.i32Rotl(f.i32Mul(g('s1'), c(5)), c(7)), c(9)));
    f.set('t', f.i32Shl(g('s1'), c(9)));
    f.set('s2', f.i32Xor(g('s2'), g('s0')));
    f.set('s3', f.i32Xor(g('s3'), g('s1')));
    f.set('s1', f.i32Xor(g('s1'), g('s2')));
    f.set('s0', f.i32Xor(g('s0'), g('s3')));
    f.set('s2', f.i32Xor(g('s2'), g('t')));
    f.set('s3', f.i32Rotl(g('s3'), c(11)));
    f.set('m', f.select(f.f64(0), g('scale'), f.f64Lt(f.f64ConvertI32U(g('u')), g('threshold'))));
    f.f32Store(at('mask'), f.f32DemoteF64(g('m')));
    f.f32Store(at('out'), f.f32DemoteF64(f.f64Mul(f.f64PromoteF32(f.f32Load(at('inp'))), g('m'))));
    f.set('o', f.i32Add(g('o'), c(4)));
  });
  for (let w = 0; w < 4; w++) f.i32Store(g('state'), g(`s${w}`), 4 * w);
  return f;
}

// dropoutPieces(out, mask, inp, states, threshold, scale, L, count): pieces p in [0, count) of L units,
// piece p from state words states[4p..4p+3] (engine/rngJump.ts jumps the stream to each piece's first
// draw): dropoutForward(out + p·L, mask + p·L, inp + p·L, states + 4p, threshold, scale, L). The pool
// hands each thread a run of pieces; the units get the bits one stream drawn in order gives them.
function emitDropoutPieces(mod: ModuleBuilder, dropoutForward: FunctionBuilder): void {
  const f = mod.func('dropoutPieces', {
    out: 'i32', mask: 'i32', inp: 'i32', states: 'i32', threshold: 'f64', scale: 'f64', L: 'i32', count: 'i32',
  });
  for (const l of ['p', 'offset']) f.local(l, 'i32');
  const g = (l: string) => f.get(l);
  f.set('p', f.i32(0));
  f.while('piece', () => f.i32LtU(g('p'), g('count')), () => {
    f.set('offset', f.i32Shl(f.i32Mul(g('p'), g('L')), f.i32(2)));
    f.call(dropoutForward, f.i32Add(g('out'), g('offset')), f.i32Add(g('mask'), g('offset')), f.i32Add(g('inp'), g('offset')),
      f.i32Add(g('states'), f.i32Shl(g('p'), f.i32(4))), g('threshold'), g('scale'), g('L'));
    f.set('p', f.i32Add(g('p'), f.i32(1)));
  });
}

// dropoutBackward(dinp, dout, mask, n): dinp[i] = dout[i]·mask[i]
//   (a float32 product rounded once is the twin's float64 product rounded: the same bits)
function emitDropoutBackward(mod: ModuleBuilder): void {
  const f = mod.func('dropoutBackward', { dinp: 'i32', dout: 'i32', mask: 'i32', n: 'i32' });
  for (const l of ['o', 'oVec', 'oEnd']) f.local(l, 'i32');
  sameCodeLanes(f, 'n', (load, store) => store('dinp', () => f.f32x4Mul(load('dout'), load('mask'))));
}
