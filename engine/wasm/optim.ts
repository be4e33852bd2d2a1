/**
 * The SGD and Adam updates in WebAssembly SIMD, mirroring engine/kernels/updates.ts `sgdUpdate` and
 * `adamUpdate` (AdamW is adamUpdate with decoupled decay; the formulas' sources are in optim/sgd.ts
 * and optim/adam.ts), in place, byte pointers, 0 for an absent velocity (no momentum) or vmax (no
 * AMSGrad). The float64-lane helpers here (F64Lanes, pairs) also serve activation.ts and norm.ts.
 * Below them, on the same terms: the zoo's updates (Adamax, RAdam, AdaBound, Lion, Muon, Lookahead)
 * and those of RMSprop, Nadam, Adagrad and Adadelta.
 *
 * They compute in float64, two lanes at a time (f64x2): each float32 is widened exactly
 * (f64x2.promote_low_f32x4), the same float64 operations as the JavaScript loop run in the same
 * order (IEEE add, mul, div, sqrt are correctly rounded in both, and neither fuses), and the
 * results are narrowed once (f32x4.demote_f64x2_zero, round to nearest even, as a Float32Array
 * store rounds). So the results are the JavaScript kernels' bits, and training with either backend
 * takes the same optimizer steps from the same gradients. The updates stream three to five arrays
 * through memory once; the float64 arithmetic is not what they wait for (benchmarks/wasm.ts).
 *
 * Two floats a step (v128.load64_zero, v128.store64_lane), then one (scalar f64) when N is odd;
 * pointers need 4-byte alignment only.
 */
import type { Expr, FunctionBuilder, ModuleBuilder } from './encoder.js';

export const OPTIM_EXPORTS = ['sgdUpdate', 'adamUpdate'] as const;

/**
 * The loop body's arithmetic in one place for both widths: `vector` works on two float64 lanes
 * (v128 locals suffixed 2), the scalar tail on one (f64 locals suffixed 1). Hyper-parameters are
 * f64 parameters of the function, splatted once into `<name>2` locals for the vector loop.
 */
export class F64Lanes {
  constructor(private readonly f: FunctionBuilder, readonly vector: boolean) {}

  get bytes(): number {
    return this.vector ? 8 : 4;
  }

  /** The local for temporary `name` at this width. */
  t(name: string): string {
    return `${name}${this.vector ? 2 : 1}`;
  }

  /** float32 values at addr, widened (exactly) to float64. */
  load(addr: Expr): Expr {
    const f = this.f;
    return this.vector ? f.f64x2PromoteLowF32x4(f.v128Load64Zero(addr)) : f.f64PromoteF32(f.f32Load(addr));
  }

  /** float64 values narrowed to float32 (round to nearest even), stored at addr. */
  store(addr: Expr, x: Expr): void {
    const f = this.f;
    if (this.vector) f.v128Store64Lane(addr, f.f32x4DemoteF64x2Zero(x), 0);
    else f.f32Store(addr, f.f32DemoteF64(x));
  }

  narrow(x: Expr): Expr {
    return this.vector ? this.f.f32x4DemoteF64x2Zero(x) : this.f.f32DemoteF64(x);
  }

  widen(v: Expr): Expr {
    return this.vector ? this.f.f64x2PromoteLowF32x4(v) : this.f.f64PromoteF32(v);
  }

  loadF32(addr: Expr): Expr {
    return this.vector ? this.f.v128Load64Zero(addr) : this.f.f32Load(addr);
  }

  storeF32(addr: Expr, v: Expr): void {
    if (this.vector) this.f.v128Store64Lane(addr, v, 0);
    else this.f.f32Store(addr, v);
  }

  /** `a > b ? a : b` on float32 values: b when either is NaN (AMSGrad's `if (v > vmax) vmax = v`). */
  keepGreater(a: () => Expr, b: () => Expr): Expr {
    const f = this.f;
    return this.vector ? f.v128Bitselect(a(), b(), f.f32x4Gt(a(), b())) : f.select(a(), b(), f.f32Gt(a(), b()));
  }

  /** max(a, b) and min(a, b) as Math.max and Math.min: NaN if either is NaN, max(−0, +0) = +0. */
  max(a: Expr, b: Expr): Expr { return this.vector ? this.f.f64x2Max(a, b) : this.f.f64Max(a, b); }
  min(a: Expr, b: Expr): Expr { return this.vector ? this.f.f64x2Min(a, b) : this.f.f64Min(a, b); }
  abs(a: Expr): Expr { return this.vector ? this.f.f64x2Abs(a) : this.f.f64Abs(a); }

  /** The constant x at this width. */
  constant(x: number): Expr {
    return this.vector ? this.f.f64x2Splat(this.f.f64(x)) : this.f.f64(x);
  }

  /** `x > 0 ? 1 : x < 0 ? −1 : x` for temporary `name` (±0 and NaN stay as they are, as Math.sign). */
  sign(name: string): Expr {
    const f = this.f;
    const x = () => this.get(name);
    if (this.vector) {
      return f.v128Bitselect(
        this.constant(1),
        f.v128Bitselect(this.constant(-1), x(), f.f64x2Lt(x(), this.constant(0))),
        f.f64x2Gt(x(), this.constant(0)),
      );
    }
    return f.select(f.f64(1), f.select(f.f64(-1), x(), f.f64Lt(x(), f.f64(0))), f.f64Gt(x(), f.f64(0)));
  }

  /** max(a, b) of float32 values as stored (Math.max's rule: NaN wins; AMSBound's vmax). */
  maxF32(a: Expr, b: Expr): Expr {
    return this.vector ? this.f.f32x4Max(a, b) : this.f.f32Max(a, b);
  }

  add(a: Expr, b: Expr): Expr { return this.vector ? this.f.f64x2Add(a, b) : this.f.f64Add(a, b); }
  sub(a: Expr, b: Expr): Expr { return this.vector ? this.f.f64x2Sub(a, b) : this.f.f64Sub(a, b); }
  mul(a: Expr, b: Expr): Expr { return this.vector ? this.f.f64x2Mul(a, b) : this.f.f64Mul(a, b); }
  div(a: Expr, b: Expr): Expr { return this.vector ? this.f.f64x2Div(a, b) : this.f.f64Div(a, b); }
  sqrt(a: Expr): Expr { return this.vector ? this.f.f64x2Sqrt(a) : this.f.f64Sqrt(a); }

  /** Hyper-parameter `name` at this width. */
  param(name: string): Expr {
    return this.f.get(this.vector ? `${name}2` : name);
  }

  get(name: string): Expr {
    return this.f.get(this.t(name));
  }

  set(name: string, x: Expr): void {
    this.f.set(this.t(name), x);
  }
}

/** Runs `body` over [0, N) with byte offset `o`: two floats a step, then the odd one. */
export function pairs(f: FunctionBuilder, label: string, body: (L: F64Lanes, at: (p: string) => Expr) => void): void {
  const at = (p: string) => f.i32Add(f.get(p), f.get('o'));
  const vec = new F64Lanes(f, true);
  const one = new F64Lanes(f, false);
  f.set('o', f.i32(0));
  f.set('oVec', f.i32Shl(f.i32And(f.get('N'), f.i32(~1)), f.i32(2)));
  f.set('oEnd', f.i32Shl(f.get('N'), f.i32(2)));
  f.while(`${label}Vec`, () => f.i32LtU(f.get('o'), f.get('oVec')), () => {
    body(vec, at);
    f.set('o', f.i32Add(f.get('o'), f.i32(vec.bytes)));
  });
  f.if(f.i32LtU(f.get('o'), f.get('oEnd')), () => body(one, at));
}

/**
 * wi = w[i] and gi = g[i] + weightDecay·wi (coupled, L2 decay): how every update below that decays
 * its weights begins.
 */
function weightAndGradient(L: F64Lanes, at: (p: string) => Expr): void {
  L.set('wi', L.load(at('w')));
  L.set('gi', L.add(L.load(at('g')), L.mul(L.param('weightDecay'), L.get('wi'))));
}

/** Declares the loop's locals, the temporaries at both widths, and splats the hyper-parameters. */
export function declare(f: FunctionBuilder, hypers: string[], temps: string[]): void {
  for (const l of ['o', 'oVec', 'oEnd']) f.local(l, 'i32');
  for (const h of hypers) {
    f.local(`${h}2`, 'v128');
    f.set(`${h}2`, f.f64x2Splat(f.get(h)));
  }
  for (const t of temps) {
    f.local(`${t}2`, 'v128');
    f.local(`${t}1`, 'f64');
  }
}

export function emitOptim(mod: ModuleBuilder): void {
  emitSgd(mod);
  emitAdam(mod);
}

// sgdUpdate(w, v, g, lrT, momentum, nesterov, weightDecay, N) — Keras SGD (DESIGN, optim/sgd.ts):
//   for i in [0, N):
//     gi = g[i] + weightDecay·w[i]
//     v == 0:    w[i] = w[i] − lrT·gi
//     otherwise: vi = momentum·v[i] − lrT·gi;  v[i] = vi
//                w[i] = w[i] + (nesterov ? momentum·vi − lrT·gi : vi)     (vi unrounded, as in JS)
// The three cases are three loops, chosen once outside them.
function emitSgd(mod: ModuleBuilder): void {
  const f = mod.func('sgdUpdate', {
    w: 'i32', v: 'i32', g: 'i32', lrT: 'f64', momentum: 'f64', nesterov: 'i32', weightDecay: 'f64', N: 'i32',
  });
  const hypers = ['lrT', 'momentum', 'weightDecay'];
  const temps = ['wi', 'gi', 'vi'];
  declare(f, hypers, temps);
  const gradient = (L: F64Lanes, at: (p: string) => Expr) => {
    weightAndGradient(L, at);
  };
  const velocity = (L: F64Lanes, at: (p: string) => Expr) => {
    L.set('vi', L.sub(L.mul(L.param('momentum'), L.load(at('v'))), L.mul(L.param('lrT'), L.get('gi'))));
    L.store(at('v'), L.get('vi'));
  };
  f.if(f.i32Eqz(f.get('v')), () => {
    pairs(f, 'plain', (L, at) => {
      gradient(L, at);
      L.store(at('w'), L.sub(L.get('wi'), L.mul(L.param('lrT'), L.get('gi'))));
    });
  }, () => {
    f.if(f.get('nesterov'), () => {
      pairs(f, 'nesterov', (L, at) => {
        gradient(L, at);
        velocity(L, at);
        L.store(at('w'), L.add(L.get('wi'), L.sub(L.mul(L.param('momentum'), L.get('vi')), L.mul(L.param('lrT'), L.get('gi')))));
      });
    }, () => {
      pairs(f, 'momentum', (L, at) => {
        gradient(L, at);
        velocity(L, at);
        L.store(at('w'), L.add(L.get('wi'), L.get('vi')));
      });
    });
  });
}

// adamUpdate(w, m, v, vmax, g, stepSize, bc2Sqrt, shrink, beta1, oneMinusBeta1, beta2,
//            oneMinusBeta2, eps, coupledDecay, N) — optim/adam.ts, the factors computed by the
// caller (engine/wasm/index.ts) exactly as adam.ts computes them:
//   stepSize = lr / (1 − beta1^t), bc2Sqrt = √(1 − beta2^t), shrink = 1 − lr·decoupledDecay
//   for i in [0, N):
//     wi = w[i]·shrink;  gi = g[i] + coupledDecay·w[i]
//     mi = beta1·m[i] + oneMinusBeta1·gi;  vi = beta2·v[i] + (oneMinusBeta2·gi)·gi
//     m[i] = mi;  v[i] = vi
//     second = vi, or with AMSGrad: vmax[i] = v[i] > vmax[i] ? v[i] : vmax[i] (in float32, as
//              stored); second = vmax[i]
//     w[i] = wi − (stepSize·mi) / (√second / bc2Sqrt + eps)
function emitAdam(mod: ModuleBuilder): void {
  const f = mod.func('adamUpdate', {
    w: 'i32', m: 'i32', v: 'i32', vmax: 'i32', g: 'i32',
    stepSize: 'f64', bc2Sqrt: 'f64', shrink: 'f64', beta1: 'f64', oneMinusBeta1: 'f64', beta2: 'f64',
    oneMinusBeta2: 'f64', eps: 'f64', coupledDecay: 'f64', N: 'i32',
  });
  const hypers = ['stepSize', 'bc2Sqrt', 'shrink', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'eps', 'coupledDecay'];
  const temps = ['w0', 'wi', 'gi', 'mi', 'vi', 'second'];
  declare(f, hypers, temps);
  f.local('vf2', 'v128');
  f.local('vf1', 'f32');
  f.local('old2', 'v128');
  f.local('old1', 'f32');
  f.if(f.i32Eqz(f.get('vmax')), () => {
    pairs(f, 'adam', (L, at) => adamStep(L, at, false));
  }, () => {
    pairs(f, 'amsgrad', (L, at) => adamStep(L, at, true));
  });
}

function adamStep(L: F64Lanes, at: (p: string) => Expr, amsgrad: boolean): void {
  L.set('w0', L.load(at('w')));
  L.set('wi', L.mul(L.get('w0'), L.param('shrink')));
  L.set('gi', L.add(L.load(at('g')), L.mul(L.param('coupledDecay'), L.get('w0'))));
  L.set('mi', L.add(L.mul(L.param('beta1'), L.load(at('m'))), L.mul(L.param('oneMinusBeta1'), L.get('gi'))));
  L.set('vi', L.add(L.mul(L.param('beta2'), L.load(at('v'))), L.mul(L.mul(L.param('oneMinusBeta2'), L.get('gi')), L.get('gi'))));
  L.store(at('m'), L.get('mi'));
  if (amsgrad) {
    // Compare in float32, as stored, so vmax never drops below the stored v.
    L.set('vf', L.narrow(L.get('vi')));
    L.storeF32(at('v'), L.get('vf'));
    L.set('old', L.loadF32(at('vmax')));
    L.set('old', L.keepGreater(() => L.get('vf'), () => L.get('old')));
    L.storeF32(at('vmax'), L.get('old'));
    L.set('second', L.widen(L.get('old')));
  } else {
    L.store(at('v'), L.get('vi'));
    L.set('second', L.get('vi'));
  }
  L.store(at('w'), L.sub(L.get('wi'),
    L.div(L.mul(L.param('stepSize'), L.get('mi')), L.add(L.div(L.sqrt(L.get('second')), L.param('bc2Sqrt')), L.param('eps')))));
}

// ---------------------------------------------------------------------------------------------------
// The updates of Adamax, RAdam, AdaBound, Lion, Muon (its momentum and its step) and Lookahead's
// synchronisation: the WebAssembly twins of engine/kernels/updates.ts's loops, in float64 pairs as the
// two above, the same operations in the same order, so the results are the JavaScript loops' bits.
// Each function's parameters are the per-step numbers that updates.ts's `xFactors(step)` computes
// once for both backends (engine/wasm/index.ts's `xArgs` put them in each export's order); a boolean
// chooses between two loops, outside them.
// ---------------------------------------------------------------------------------------------------

export const OPTIM_ZOO_EXPORTS = ['adamaxUpdate', 'radamUpdate', 'adaboundUpdate', 'lionUpdate', 'muonMomentum', 'muonApply', 'lookaheadSync'] as const;

export function emitOptimZoo(mod: ModuleBuilder): void {
  emitAdamax(mod);
  emitRadam(mod);
  emitAdabound(mod);
  emitLion(mod);
  emitMuonMomentum(mod);
  emitMuonApply(mod);
  emitLookaheadSync(mod);
}

// adamaxUpdate(w, m, u, g, clr, beta1, oneMinusBeta1, beta2, eps, weightDecay, N):
//   for i in [0, N):
//     wi = w[i];  gi = g[i] + weightDecay·wi
//     mi = beta1·m[i] + oneMinusBeta1·gi;  ui = max(beta2·u[i], |gi| + eps)
//     m[i] = mi;  u[i] = ui;  w[i] = wi − clr·(mi / ui)
function emitAdamax(mod: ModuleBuilder): void {
  const f = mod.func('adamaxUpdate', {
    w: 'i32', m: 'i32', u: 'i32', g: 'i32', clr: 'f64', beta1: 'f64', oneMinusBeta1: 'f64', beta2: 'f64', eps: 'f64', weightDecay: 'f64', N: 'i32',
  });
  declare(f, ['clr', 'beta1', 'oneMinusBeta1', 'beta2', 'eps', 'weightDecay'], ['wi', 'gi', 'mi', 'ui']);
  pairs(f, 'adamax', (L, at) => {
    weightAndGradient(L, at);
    L.set('mi', L.add(L.mul(L.param('beta1'), L.load(at('m'))), L.mul(L.param('oneMinusBeta1'), L.get('gi'))));
    L.set('ui', L.max(L.mul(L.param('beta2'), L.load(at('u'))), L.add(L.abs(L.get('gi')), L.param('eps'))));
    L.store(at('m'), L.get('mi'));
    L.store(at('u'), L.get('ui'));
    L.store(at('w'), L.sub(L.get('wi'), L.mul(L.param('clr'), L.div(L.get('mi'), L.get('ui')))));
  });
}

// radamUpdate(w, m, v, g, lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, bc1,
//             sqrtBc2, rectified, rect, N):
//   for i in [0, N):
//     wi = w[i];  gi = g[i] + weightDecay·wi
//     mi = beta1·m[i] + oneMinusBeta1·gi;  vi = beta2·v[i] + (oneMinusBeta2·gi)·gi;  m[i] = mi;  v[i] = vi
//     rectified: w[i] = wi − (((mi / bc1)·lr)·(sqrtBc2 / (√vi + eps)))·rect
//     otherwise: w[i] = wi − (mi / bc1)·lr
function emitRadam(mod: ModuleBuilder): void {
  const f = mod.func('radamUpdate', {
    w: 'i32', m: 'i32', v: 'i32', g: 'i32', lr: 'f64', beta1: 'f64', oneMinusBeta1: 'f64', beta2: 'f64', oneMinusBeta2: 'f64',
    eps: 'f64', weightDecay: 'f64', bc1: 'f64', sqrtBc2: 'f64', rectified: 'i32', rect: 'f64', N: 'i32',
  });
  declare(f, ['lr', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'eps', 'weightDecay', 'bc1', 'sqrtBc2', 'rect'], ['wi', 'gi', 'mi', 'vi', 'avg']);
  const moments = (L: F64Lanes, at: (p: string) => Expr) => {
    weightAndGradient(L, at);
    L.set('mi', L.add(L.mul(L.param('beta1'), L.load(at('m'))), L.mul(L.param('oneMinusBeta1'), L.get('gi'))));
    L.set('vi', L.add(L.mul(L.param('beta2'), L.load(at('v'))), L.mul(L.mul(L.param('oneMinusBeta2'), L.get('gi')), L.get('gi'))));
    L.store(at('m'), L.get('mi'));
    L.store(at('v'), L.get('vi'));
    L.set('avg', L.mul(L.div(L.get('mi'), L.param('bc1')), L.param('lr')));
  };
  f.if(f.get('rectified'), () => {
    pairs(f, 'rectified', (L, at) => {
      moments(L, at);
      // Operands are emitted inline, first to last: the adaptive factor inside the product it joins.
      L.store(at('w'), L.sub(L.get('wi'),
        L.mul(L.mul(L.get('avg'), L.div(L.param('sqrtBc2'), L.add(L.sqrt(L.get('vi')), L.param('eps')))), L.param('rect'))));
    });
  }, () => {
    pairs(f, 'momentum', (L, at) => {
      moments(L, at);
      L.store(at('w'), L.sub(L.get('wi'), L.get('avg')));
    });
  });
}

// adaboundUpdate(w, m, v, vmax, g, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay,
//                stepSize, lower, upper, N):
//   for i in [0, N):
//     wi = w[i];  gi = g[i] + weightDecay·wi
//     mi = beta1·m[i] + oneMinusBeta1·gi;  vi = beta2·v[i] + (oneMinusBeta2·gi)·gi;  m[i] = mi;  v[i] = vi
//     second = vi, or with AMSBound: vmax[i] = max(vmax[i], v[i]) in float32 as stored; second = vmax[i]
//     w[i] = wi − min(max(stepSize / (√second + eps), lower), upper)·mi
function emitAdabound(mod: ModuleBuilder): void {
  const f = mod.func('adaboundUpdate', {
    w: 'i32', m: 'i32', v: 'i32', vmax: 'i32', g: 'i32', beta1: 'f64', oneMinusBeta1: 'f64', beta2: 'f64', oneMinusBeta2: 'f64',
    eps: 'f64', weightDecay: 'f64', stepSize: 'f64', lower: 'f64', upper: 'f64', N: 'i32',
  });
  declare(f, ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'eps', 'weightDecay', 'stepSize', 'lower', 'upper'], ['wi', 'gi', 'mi', 'vi', 'second']);
  f.local('vf2', 'v128');
  f.local('vf1', 'f32');
  const step = (L: F64Lanes, at: (p: string) => Expr, amsbound: boolean) => {
    weightAndGradient(L, at);
    L.set('mi', L.add(L.mul(L.param('beta1'), L.load(at('m'))), L.mul(L.param('oneMinusBeta1'), L.get('gi'))));
    L.set('vi', L.add(L.mul(L.param('beta2'), L.load(at('v'))), L.mul(L.mul(L.param('oneMinusBeta2'), L.get('gi')), L.get('gi'))));
    L.store(at('m'), L.get('mi'));
    if (amsbound) {
      L.set('vf', L.narrow(L.get('vi')));
      L.storeF32(at('v'), L.get('vf'));
      L.set('vf', L.maxF32(L.loadF32(at('vmax')), L.get('vf')));
      L.storeF32(at('vmax'), L.get('vf'));
      L.set('second', L.widen(L.get('vf')));
    } else {
      L.store(at('v'), L.get('vi'));
      L.set('second', L.get('vi'));
    }
    L.store(at('w'), L.sub(L.get('wi'),
      L.mul(L.min(L.max(L.div(L.param('stepSize'), L.add(L.sqrt(L.get('second')), L.param('eps'))), L.param('lower')), L.param('upper')), L.get('mi'))));
  };
  f.if(f.i32Eqz(f.get('vmax')), () => {
    pairs(f, 'adabound', (L, at) => step(L, at, false));
  }, () => {
    pairs(f, 'amsbound', (L, at) => step(L, at, true));
  });
}

// lionUpdate(w, m, g, lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, shrink, N):
//   for i in [0, N):
//     gi = g[i];  mi = m[i];  c = beta1·mi + oneMinusBeta1·gi
//     w[i] = w[i]·shrink − lr·sign(c);  m[i] = beta2·mi + oneMinusBeta2·gi
function emitLion(mod: ModuleBuilder): void {
  const f = mod.func('lionUpdate', {
    w: 'i32', m: 'i32', g: 'i32', lr: 'f64', beta1: 'f64', oneMinusBeta1: 'f64', beta2: 'f64', oneMinusBeta2: 'f64', shrink: 'f64', N: 'i32',
  });
  declare(f, ['lr', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'shrink'], ['gi', 'mi', 'c']);
  pairs(f, 'lion', (L, at) => {
    L.set('gi', L.load(at('g')));
    L.set('mi', L.load(at('m')));
    L.set('c', L.add(L.mul(L.param('beta1'), L.get('mi')), L.mul(L.param('oneMinusBeta1'), L.get('gi'))));
    L.store(at('w'), L.sub(L.mul(L.load(at('w')), L.param('shrink')), L.mul(L.param('lr'), L.sign('c'))));
    L.store(at('m'), L.add(L.mul(L.param('beta2'), L.get('mi')), L.mul(L.param('oneMinusBeta2'), L.get('gi'))));
  });
}

// muonMomentum(u, b, g, momentum, oneMinusMomentum, nesterov, N):
//   for i in [0, N):
//     bi = momentum·b[i] + oneMinusMomentum·g[i];  b[i] = bi
//     u[i] = nesterov ? momentum·bi + oneMinusMomentum·g[i] : bi
function emitMuonMomentum(mod: ModuleBuilder): void {
  const f = mod.func('muonMomentum', { u: 'i32', b: 'i32', g: 'i32', momentum: 'f64', oneMinusMomentum: 'f64', nesterov: 'i32', N: 'i32' });
  declare(f, ['momentum', 'oneMinusMomentum'], ['gi', 'bi']);
  const buffer = (L: F64Lanes, at: (p: string) => Expr) => {
    L.set('gi', L.load(at('g')));
    L.set('bi', L.add(L.mul(L.param('momentum'), L.load(at('b'))), L.mul(L.param('oneMinusMomentum'), L.get('gi'))));
    L.store(at('b'), L.get('bi'));
  };
  f.if(f.get('nesterov'), () => {
    pairs(f, 'nesterov', (L, at) => {
      buffer(L, at);
      L.store(at('u'), L.add(L.mul(L.param('momentum'), L.get('bi')), L.mul(L.param('oneMinusMomentum'), L.get('gi'))));
    });
  }, () => {
    pairs(f, 'plain', (L, at) => {
      buffer(L, at);
      L.store(at('u'), L.get('bi'));
    });
  });
}

// muonApply(w, orth, shrink, rate, N):  for i in [0, N):  w[i] = w[i]·shrink − rate·orth[i]
// (orth: the orthogonalized update; `o` is the loop's byte offset)
function emitMuonApply(mod: ModuleBuilder): void {
  const f = mod.func('muonApply', { w: 'i32', orth: 'i32', shrink: 'f64', rate: 'f64', N: 'i32' });
  declare(f, ['shrink', 'rate'], []);
  pairs(f, 'apply', (L, at) => {
    L.store(at('w'), L.sub(L.mul(L.load(at('w')), L.param('shrink')), L.mul(L.param('rate'), L.load(at('orth')))));
  });
}

// lookaheadSync(w, slow, alpha, N):
//   for i in [0, N):  si = slow[i];  slow[i] = si + alpha·(w[i] − si);  w[i] = slow[i]  (the same float32)
function emitLookaheadSync(mod: ModuleBuilder): void {
  const f = mod.func('lookaheadSync', { w: 'i32', slow: 'i32', alpha: 'f64', N: 'i32' });
  declare(f, ['alpha'], ['si']);
  f.local('sf2', 'v128');
  f.local('sf1', 'f32');
  pairs(f, 'sync', (L, at) => {
    L.set('si', L.load(at('slow')));
    L.set('sf', L.narrow(L.add(L.get('si'), L.mul(L.param('alpha'), L.sub(L.load(at('w')), L.get('si'))))));
    L.storeF32(at('slow'), L.get('sf'));
    L.storeF32(at('w'), L.get('sf'));
  });
}

// ---------------------------------------------------------------------------------------------------
// The updates of RMSprop, Nadam, Adagrad and Adadelta: the WebAssembly twins of engine/kernels/updates.ts's
// loops, as the zoo's above (float64 pairs, the same operations in the same order as the JavaScript
// loops, the step's numbers from updates.ts's `xFactors(step)` through engine/wasm/index.ts's `xArgs`).
// ---------------------------------------------------------------------------------------------------

export const OPTIM_ADAPTIVE_EXPORTS = ['rmspropUpdate', 'nadamUpdate', 'adagradUpdate', 'adadeltaUpdate'] as const;

export function emitOptimAdaptive(mod: ModuleBuilder): void {
  emitRmsprop(mod);
  emitNadam(mod);
  emitAdagrad(mod);
  emitAdadelta(mod);
}

// rmspropUpdate(w, sq, avg, buf, g, lr, alpha, oneMinusAlpha, eps, weightDecay, momentum, N):
//   for i in [0, N):
//     wi = w[i];  gi = g[i] + weightDecay·wi
//     si = alpha·sq[i] + (oneMinusAlpha·gi)·gi;  sq[i] = si
//     avg ≠ 0: ai = alpha·avg[i] + oneMinusAlpha·gi;  avg[i] = ai;  variance = si − ai·ai   (si, ai unrounded)
//     else:    variance = si
//     d = √variance + eps
//     buf ≠ 0: bi = momentum·buf[i] + gi / d;  buf[i] = bi;  w[i] = wi − lr·bi
//     else:    w[i] = wi − (lr·gi) / d
// The four cases (centered or not, momentum or not) are four loops, chosen once outside them.
function emitRmsprop(mod: ModuleBuilder): void {
  const f = mod.func('rmspropUpdate', {
    w: 'i32', sq: 'i32', avg: 'i32', buf: 'i32', g: 'i32', lr: 'f64', alpha: 'f64', oneMinusAlpha: 'f64', eps: 'f64', weightDecay: 'f64',
    momentum: 'f64', N: 'i32',
  });
  declare(f, ['lr', 'alpha', 'oneMinusAlpha', 'eps', 'weightDecay', 'momentum'], ['wi', 'gi', 'si', 'ai', 'variance', 'd', 'bi']);
  const step = (L: F64Lanes, at: (p: string) => Expr, centered: boolean, momentum: boolean) => {
    weightAndGradient(L, at);
    L.set('si', L.add(L.mul(L.param('alpha'), L.load(at('sq'))), L.mul(L.mul(L.param('oneMinusAlpha'), L.get('gi')), L.get('gi'))));
    L.store(at('sq'), L.get('si'));
    if (centered) {
      L.set('ai', L.add(L.mul(L.param('alpha'), L.load(at('avg'))), L.mul(L.param('oneMinusAlpha'), L.get('gi'))));
      L.store(at('avg'), L.get('ai'));
      L.set('variance', L.sub(L.get('si'), L.mul(L.get('ai'), L.get('ai'))));
    } else {
      L.set('variance', L.get('si'));
    }
    L.set('d', L.add(L.sqrt(L.get('variance')), L.param('eps')));
    if (momentum) {
      L.set('bi', L.add(L.mul(L.param('momentum'), L.load(at('buf'))), L.div(L.get('gi'), L.get('d'))));
      L.store(at('buf'), L.get('bi'));
      L.store(at('w'), L.sub(L.get('wi'), L.mul(L.param('lr'), L.get('bi'))));
    } else {
      L.store(at('w'), L.sub(L.get('wi'), L.div(L.mul(L.param('lr'), L.get('gi')), L.get('d'))));
    }
  };
  const byMomentum = (centered: boolean, name: string) => {
    f.if(f.i32Eqz(f.get('buf')), () => {
      pairs(f, name, (L, at) => step(L, at, centered, false));
    }, () => {
      pairs(f, `${name}Momentum`, (L, at) => step(L, at, centered, true));
    });
  };
  f.if(f.i32Eqz(f.get('avg')), () => byMomentum(false, 'plain'), () => byMomentum(true, 'centered'));
}

// nadamUpdate(w, m, v, g, gradCoef, avgCoef, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, bc2, N):
//   for i in [0, N):
//     wi = w[i];  gi = g[i] + weightDecay·wi
//     mi = beta1·m[i] + oneMinusBeta1·gi;  vi = beta2·v[i] + (oneMinusBeta2·gi)·gi;  m[i] = mi;  v[i] = vi
//     w[i] = wi − (gradCoef·gi + avgCoef·mi) / (√(vi / bc2) + eps)
function emitNadam(mod: ModuleBuilder): void {
  const f = mod.func('nadamUpdate', {
    w: 'i32', m: 'i32', v: 'i32', g: 'i32', gradCoef: 'f64', avgCoef: 'f64', beta1: 'f64', oneMinusBeta1: 'f64', beta2: 'f64',
    oneMinusBeta2: 'f64', eps: 'f64', weightDecay: 'f64', bc2: 'f64', N: 'i32',
  });
  declare(f, ['gradCoef', 'avgCoef', 'beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'eps', 'weightDecay', 'bc2'], ['wi', 'gi', 'mi', 'vi']);
  pairs(f, 'nadam', (L, at) => {
    weightAndGradient(L, at);
    L.set('mi', L.add(L.mul(L.param('beta1'), L.load(at('m'))), L.mul(L.param('oneMinusBeta1'), L.get('gi'))));
    L.set('vi', L.add(L.mul(L.param('beta2'), L.load(at('v'))), L.mul(L.mul(L.param('oneMinusBeta2'), L.get('gi')), L.get('gi'))));
    L.store(at('m'), L.get('mi'));
    L.store(at('v'), L.get('vi'));
    L.store(at('w'), L.sub(L.get('wi'), L.div(
      L.add(L.mul(L.param('gradCoef'), L.get('gi')), L.mul(L.param('avgCoef'), L.get('mi'))),
      L.add(L.sqrt(L.div(L.get('vi'), L.param('bc2'))), L.param('eps')))));
  });
}

// adagradUpdate(w, sum, g, lrT, eps, weightDecay, N):
//   for i in [0, N):
//     wi = w[i];  gi = g[i] + weightDecay·wi;  si = sum[i] + gi·gi;  sum[i] = si
//     w[i] = wi − (lrT·gi) / (√si + eps)
function emitAdagrad(mod: ModuleBuilder): void {
  const f = mod.func('adagradUpdate', { w: 'i32', sum: 'i32', g: 'i32', lrT: 'f64', eps: 'f64', weightDecay: 'f64', N: 'i32' });
  declare(f, ['lrT', 'eps', 'weightDecay'], ['wi', 'gi', 'si']);
  pairs(f, 'adagrad', (L, at) => {
    weightAndGradient(L, at);
    L.set('si', L.add(L.load(at('sum')), L.mul(L.get('gi'), L.get('gi'))));
    L.store(at('sum'), L.get('si'));
    L.store(at('w'), L.sub(L.get('wi'), L.div(L.mul(L.param('lrT'), L.get('gi')), L.add(L.sqrt(L.get('si')), L.param('eps')))));
  });
}

// adadeltaUpdate(w, sq, acc, g, lr, rho, oneMinusRho, eps, weightDecay, N):
//   for i in [0, N):
//     wi = w[i];  gi = g[i] + weightDecay·wi
//     si = rho·sq[i] + (oneMinusRho·gi)·gi;  sq[i] = si
//     ai = acc[i];  d = (√(ai + eps) / √(si + eps))·gi
//     acc[i] = rho·ai + (oneMinusRho·d)·d;  w[i] = wi − lr·d
function emitAdadelta(mod: ModuleBuilder): void {
  const f = mod.func('adadeltaUpdate', {
    w: 'i32', sq: 'i32', acc: 'i32', g: 'i32', lr: 'f64', rho: 'f64', oneMinusRho: 'f64', eps: 'f64', weightDecay: 'f64', N: 'i32',
  });
  declare(f, ['lr', 'rho', 'oneMinusRho', 'eps', 'weightDecay'], ['wi', 'gi', 'si', 'ai', 'd']);
  pairs(f, 'adadelta', (L, at) => {
    weightAndGradient(L, at);
    L.set('si', L.add(L.mul(L.param('rho'), L.load(at('sq'))), L.mul(L.mul(L.param('oneMinusRho'), L.get('gi')), L.get('gi'))));
    L.store(at('sq'), L.get('si'));
    L.set('ai', L.load(at('acc')));
    L.set('d', L.mul(L.div(L.sqrt(L.add(L.get('ai'), L.param('eps'))), L.sqrt(L.add(L.get('si'), L.param('eps')))), L.get('gi')));
    L.store(at('acc'), L.add(L.mul(L.param('rho'), L.get('ai')), L.mul(L.mul(L.param('oneMinusRho'), L.get('d')), L.get('d'))));
    L.store(at('w'), L.sub(L.get('wi'), L.mul(L.param('lr'), L.get('d'))));
  });
}
