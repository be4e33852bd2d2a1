/**
 * Walking one distribution of a row-wise kernel (softmax.ts, norm.ts's LayerNorm): N float32 values
 * `st` bytes apart from byte offset `b` of each array (st = 4 for a row of a (R,F) tensor; INNER·4 for
 * softmax along an axis that is not the last). Three walks over k in [0, N):
 *
 *   along4  four f32 lanes at a time while four remain and the values are adjacent, then one at a time
 *           through the same vector code (v128.load32_zero in, lane 0 out), so a value never depends on
 *           the layout or on where the row begins;
 *   along2  two float64 lanes (optim.ts's F64Lanes) while two remain and adjacent, then one scalar;
 *   inOrder one value at a time, k in order: the sums whose order the JavaScript twins fix.
 *
 * The caller declares the locals (`rowLocals`) and sets `b` (the distribution's byte offset), `st` and
 * `kEnd` (= N·st, the distribution's extent in bytes); `at(p)` is the address of element k of array p.
 * A row's own float64 numbers (its mean, its sum) are `rowValue`s: an f64 local and its f64x2 splat.
 */
import type { Expr, FunctionBuilder } from './encoder.js';
import { F64Lanes } from './optim.js';

export function rowLocals(f: FunctionBuilder): void {
  for (const l of ['b', 'st', 'k', 'kVec', 'kEnd']) f.local(l, 'i32');
}

/** Declares a per-row float64 value: local `name` (f64) and its splat `name2` (v128), what F64Lanes.param reads. */
export function rowValue(f: FunctionBuilder, name: string): void {
  f.local(name, 'f64');
  f.local(`${name}2`, 'v128');
}

/** Sets a per-row value and its splat together. */
export function setRowValue(f: FunctionBuilder, name: string, v: Expr): void {
  f.set(name, v);
  f.set(`${name}2`, f.f64x2Splat(f.get(name)));
}

/** The byte address of element k (byte offset `k` in the distribution) of array `p`. */
export function at(f: FunctionBuilder, p: string): Expr {
  return f.i32Add(f.i32Add(f.get(p), f.get('b')), f.get('k'));
}

export interface Lanes4 {
  /** 4 when the body runs on four adjacent values, 1 when on one (lane 0; the other lanes are junk). */
  readonly lanes: 4 | 1;
  load(p: string): Expr;
  /** Stores v (emitted after the address, so a thunk). */
  store(p: string, v: () => Expr): void;
}

/** `for k: body` four values at a time (adjacent only), then one at a time through the same code. */
export function along4(f: FunctionBuilder, label: string, body: (v: Lanes4) => void): void {
  const four: Lanes4 = { lanes: 4, load: (p) => f.v128Load(at(f, p)), store: (p, v) => f.v128Store(at(f, p), v()) };
  const one: Lanes4 = { lanes: 1, load: (p) => f.v128Load32Zero(at(f, p)), store: (p, v) => f.v128Store32Lane(at(f, p), v(), 0) };
  walk(f, label, 16, () => body(four), () => body(one));
}

/** `for k: body` in float64 lanes: two adjacent values at a time, then one. */
export function along2(f: FunctionBuilder, label: string, body: (L: F64Lanes, at: (p: string) => Expr) => void): void {
  const vec = new F64Lanes(f, true);
  const one = new F64Lanes(f, false);
  walk(f, label, 8, () => body(vec, (p) => at(f, p)), () => body(one, (p) => at(f, p)));
}

/** `for k in order: body` one value at a time. */
export function inOrder(f: FunctionBuilder, label: string, body: (at: (p: string) => Expr) => void): void {
  f.set('k', f.i32(0));
  f.while(`${label}Seq`, () => f.i32LtU(f.get('k'), f.get('kEnd')), () => {
    body((p) => at(f, p));
    f.set('k', f.i32Add(f.get('k'), f.get('st')));
  });
}

/**
 * k from 0: `wide` (`bytes` at a time) while that many adjacent bytes remain, only when st = 4; then
 * `narrow` one value at a time (st bytes apart).
 */
function walk(f: FunctionBuilder, label: string, bytes: number, wide: () => void, narrow: () => void): void {
  const g = (l: string) => f.get(l);
  f.set('k', f.i32(0));
  f.if(f.i32Eq(g('st'), f.i32(4)), () => {
    f.set('kVec', f.i32And(g('kEnd'), f.i32(-bytes)));
    f.while(`${label}Wide`, () => f.i32LtU(g('k'), g('kVec')), () => {
      wide();
      f.set('k', f.i32Add(g('k'), f.i32(bytes)));
    });
  });
  f.while(`${label}One`, () => f.i32LtU(g('k'), g('kEnd')), () => {
    narrow();
    f.set('k', f.i32Add(g('k'), g('st')));
  });
}
