/**
 * The bias and ReLU kernels of a Dense layer in WebAssembly SIMD: the same signatures and meaning
 * as engine/kernels/linear.ts and activation.ts (outputs first, then inputs, then sizes; out is
 * (B,OUT), bias (OUT)), with byte pointers, 0 for an absent bias or dbias.
 *
 * NaN follows PyTorch (issue 12): relu(NaN) = NaN, because f32x4.max (and f32.max) return NaN when
 * either operand is NaN — f32x4.pmax would not; and the backward is PyTorch's threshold_backward,
 * `out <= 0 ? 0 : dout`, so a NaN output passes its gradient through. max(−0, +0) is +0, as
 * `v > 0 ? v : 0` gives.
 *
 * Every result is exact: a float32 sum or a selection, the same bits the float64 JavaScript loops
 * store (a sum of two float32 values rounded once to float32 is the same in either precision, and
 * rounding commutes with max(·, 0)). dbias sums over b in order 0..B−1, as the twin does.
 *
 * Each loop runs over f32x4 vectors and ends in a scalar tail for n % 4; pointers need 4-byte
 * alignment only.
 */
import type { Expr, FunctionBuilder, ModuleBuilder } from './encoder.js';

export const ELEMENTWISE_EXPORTS = [
  'reluForward', 'reluBackward', 'biasForward', 'biasBackward', 'biasReluForward', 'biasReluBackward',
] as const;

/**
 * `for o in [0, n)` as byte offsets `o` (local), four floats at a time while four remain, then one
 * at a time: `vec()` handles [o, o+16), `scalar()` handles [o, o+4). Needs i32 locals o, oVec, oEnd.
 */
function lanes(f: FunctionBuilder, label: string, n: () => Expr, vec: () => void, scalar: () => void): void {
  f.set('o', f.i32(0));
  f.set('oVec', f.i32Shl(f.i32And(n(), f.i32(~3)), f.i32(2)));
  f.set('oEnd', f.i32Shl(n(), f.i32(2)));
  f.while(`${label}Vec`, () => f.i32LtU(f.get('o'), f.get('oVec')), () => {
    vec();
    f.set('o', f.i32Add(f.get('o'), f.i32(16)));
  });
  f.while(`${label}Tail`, () => f.i32LtU(f.get('o'), f.get('oEnd')), () => {
    scalar();
    f.set('o', f.i32Add(f.get('o'), f.i32(4)));
  });
}

/**
 * `for b in [0, B)` with `row` (local) = b·stride·4, the byte offset of row b; the stride is the
 * local `stride` names (OUT, or a separate row length where the kernel covers a band of columns).
 * Needs i32 locals b, row.
 */
function rows(f: FunctionBuilder, body: () => void, stride = 'OUT'): void {
  f.set('b', f.i32(0));
  f.set('row', f.i32(0));
  f.while('b', () => f.i32LtS(f.get('b'), f.get('B')), () => {
    body();
    f.set('row', f.i32Add(f.get('row'), f.i32Shl(f.get(stride), f.i32(2))));
    f.set('b', f.i32Add(f.get('b'), f.i32(1)));
  });
}

function locals(f: FunctionBuilder, i32s: string[], v128s: string[] = []): void {
  for (const l of i32s) f.local(l, 'i32');
  for (const l of v128s) f.local(l, 'v128');
}

export function emitElementwise(mod: ModuleBuilder): void {
  const reluForward = emitReluForward(mod);
  const reluBackward = emitReluBackward(mod);
  emitBiasForward(mod);
  emitBiasBackward(mod);
  emitBiasReluForward(mod, reluForward);
  emitBiasReluBackward(mod, reluBackward);
}

// reluForward(out, inp, n): for i in [0, n): out[i] = max(inp[i], 0)     (NaN stays NaN)
function emitReluForward(mod: ModuleBuilder): FunctionBuilder {
  const f = mod.func('reluForward', { out: 'i32', inp: 'i32', n: 'i32' });
  locals(f, ['o', 'oVec', 'oEnd'], ['zero']);
  const g = (l: string) => f.get(l);
  f.set('zero', f.f32x4Const(0, 0, 0, 0));
  lanes(f, 'i', () => g('n'),
    () => f.v128Store(f.i32Add(g('out'), g('o')), f.f32x4Max(f.v128Load(f.i32Add(g('inp'), g('o'))), g('zero'))),
    () => f.f32Store(f.i32Add(g('out'), g('o')), f.f32Max(f.f32Load(f.i32Add(g('inp'), g('o'))), f.f32(0))));
  return f;
}

// reluBackward(dinp, dout, out, n): for i in [0, n): dinp[i] = out[i] <= 0 ? 0 : dout[i]
//   vector: dinp = andnot(dout, out <= 0)  (the mask is all ones where out <= 0; NaN <= 0 is false)
function emitReluBackward(mod: ModuleBuilder): FunctionBuilder {
  const f = mod.func('reluBackward', { dinp: 'i32', dout: 'i32', out: 'i32', n: 'i32' });
  locals(f, ['o', 'oVec', 'oEnd'], ['zero']);
  const g = (l: string) => f.get(l);
  const at = (p: string) => f.i32Add(g(p), g('o'));
  f.set('zero', f.f32x4Const(0, 0, 0, 0));
  lanes(f, 'i', () => g('n'),
    () => f.v128Store(at('dinp'), f.v128Andnot(f.v128Load(at('dout')), f.f32x4Le(f.v128Load(at('out')), g('zero')))),
    () => f.f32Store(at('dinp'), f.select(f.f32(0), f.f32Load(at('dout')), f.f32Le(f.f32Load(at('out')), f.f32(0)))));
  return f;
}

// biasForward(out, bias, B, OUT): for b, o: out[b, o] += bias[o]
function emitBiasForward(mod: ModuleBuilder): void {
  const f = mod.func('biasForward', { out: 'i32', bias: 'i32', B: 'i32', OUT: 'i32' });
  locals(f, ['b', 'row', 'o', 'oVec', 'oEnd', 'x']);
  const g = (l: string) => f.get(l);
  rows(f, () => {
    f.set('x', f.i32Add(g('out'), g('row')));
    const x = () => f.i32Add(g('x'), g('o'));
    const bias = () => f.i32Add(g('bias'), g('o'));
    lanes(f, 'o', () => g('OUT'),
      () => f.v128Store(x(), f.f32x4Add(f.v128Load(x()), f.v128Load(bias()))),
      () => f.f32Store(x(), f.f32Add(f.f32Load(x()), f.f32Load(bias()))));
  });
}

// biasBackward(dbias, dout, B, OUT): dbias[o] = 0; for b in [0, B), o: dbias[o] += dout[b, o]
//   (every row used the same bias, so the gradients add up; in b order, as the twin sums)
function emitBiasBackward(mod: ModuleBuilder): void {
  const f = mod.func('biasBackward', { dbias: 'i32', dout: 'i32', B: 'i32', OUT: 'i32' });
  locals(f, ['b', 'row', 'o', 'oVec', 'oEnd', 'x'], ['zero']);
  const g = (l: string) => f.get(l);
  const db = () => f.i32Add(g('dbias'), g('o'));
  f.set('zero', f.f32x4Const(0, 0, 0, 0));
  lanes(f, 'z', () => g('OUT'), () => f.v128Store(db(), g('zero')), () => f.f32Store(db(), f.f32(0)));
  rows(f, () => {
    f.set('x', f.i32Add(g('dout'), g('row')));
    const x = () => f.i32Add(g('x'), g('o'));
    lanes(f, 'o', () => g('OUT'),
      () => f.v128Store(db(), f.f32x4Add(f.v128Load(db()), f.v128Load(x()))),
      () => f.f32Store(db(), f.f32Add(f.f32Load(db()), f.f32Load(x()))));
  });
}

// biasReluForward(out, bias, B, OUT), in place:
//   bias == 0: reluForward(out, out, B·OUT)
//   else: for b, o: out[b, o] = max(out[b, o] + bias[o], 0)
function emitBiasReluForward(mod: ModuleBuilder, reluForward: FunctionBuilder): void {
  const f = mod.func('biasReluForward', { out: 'i32', bias: 'i32', B: 'i32', OUT: 'i32' });
  locals(f, ['b', 'row', 'o', 'oVec', 'oEnd', 'x'], ['zero']);
  const g = (l: string) => f.get(l);
  f.if(f.i32Eqz(g('bias')), () => {
    f.call(reluForward, g('out'), g('out'), f.i32Mul(g('B'), g('OUT')));
  }, () => {
    f.set('zero', f.f32x4Const(0, 0, 0, 0));
    rows(f, () => {
      f.set('x', f.i32Add(g('out'), g('row')));
      const x = () => f.i32Add(g('x'), g('o'));
      const bias = () => f.i32Add(g('bias'), g('o'));
      lanes(f, 'o', () => g('OUT'),
        () => f.v128Store(x(), f.f32x4Max(f.f32x4Add(f.v128Load(x()), f.v128Load(bias())), g('zero'))),
        () => f.f32Store(x(), f.f32Max(f.f32Add(f.f32Load(x()), f.f32Load(bias())), f.f32(0))));
    });
  });
}

// biasReluBackward(dpre, dbias, dout, out, B, OUT, ld): the arrays' rows are ld floats apart, of which
// the kernel covers the first OUT (ld = OUT for whole rows; a thread of the pool takes a band of columns,
// since with dbias every row adds into the same bias gradient)
//   dbias == 0: reluBackward(dpre, dout, out, B·OUT)            (whole rows: ld = OUT)
//   else: dbias[o] = 0; for b, o: g = out[b, o] <= 0 ? 0 : dout[b, o]; dpre[b, o] = g; dbias[o] += g
//   (each dbias[o] sums its column in b order, whatever band it lies in: the same bits split or not)
function emitBiasReluBackward(mod: ModuleBuilder, reluBackward: FunctionBuilder): void {
  const f = mod.func('biasReluBackward', { dpre: 'i32', dbias: 'i32', dout: 'i32', out: 'i32', B: 'i32', OUT: 'i32', ld: 'i32' });
  locals(f, ['b', 'row', 'o', 'oVec', 'oEnd'], ['zero', 'gv']);
  f.local('gs', 'f32');
  const g = (l: string) => f.get(l);
  const at = (p: string) => f.i32Add(f.i32Add(g(p), g('row')), g('o'));
  const db = () => f.i32Add(g('dbias'), g('o'));
  f.if(f.i32Eqz(g('dbias')), () => {
    f.call(reluBackward, g('dpre'), g('dout'), g('out'), f.i32Mul(g('B'), g('OUT')));
  }, () => {
    f.set('zero', f.f32x4Const(0, 0, 0, 0));
    lanes(f, 'z', () => g('OUT'), () => f.v128Store(db(), g('zero')), () => f.f32Store(db(), f.f32(0)));
    rows(f, () => {
      lanes(f, 'o', () => g('OUT'), () => {
        f.set('gv', f.v128Andnot(f.v128Load(at('dout')), f.f32x4Le(f.v128Load(at('out')), g('zero'))));
        f.v128Store(at('dpre'), g('gv'));
        f.v128Store(db(), f.f32x4Add(f.v128Load(db()), g('gv')));
      }, () => {
        f.set('gs', f.select(f.f32(0), f.f32Load(at('dout')), f.f32Le(f.f32Load(at('out')), f.f32(0))));
        f.f32Store(at('dpre'), g('gs'));
        f.f32Store(db(), f.f32Add(f.f32Load(db()), g('gs')));
      });
    }, 'ld');
  });
}
