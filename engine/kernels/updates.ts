/**
 * The optimizers' update loops, in place over a parameter's storage (optim/ calls them through the
 * kernel contract, engine/backends/, which runs the WebAssembly twin under the 'wasm' backend). Each parameter is a
 * flat array of N floats; w is the weight, g its gradient, the others the optimizer's buffers.
 * The formulas, and where they come from, are in optim/, one file per optimizer (sgd.ts, adam.ts, ...).
 */

/** SGD's hyper-parameters for one step (optim/sgd.ts; lrT = lr / (1 + decay·iterations), computed by the caller). */
export interface SgdStep {
  /** The rate this step applies: lr / (1 + decay·iterations), Keras's time-based decay folded in. */
  lrT: number;
  /** The velocity's decay, in [0, 1); 0 keeps no velocity. */
  momentum: number;
  /** Nesterov's look-ahead form of the update. */
  nesterov: boolean;
  /** Coupled L2: added to the gradient as weightDecay·w. */
  weightDecay: number;
}

/**
 * Adam's hyper-parameters for step t (from 1). Adam and AdamW differ only in which decay is set:
 * `coupledDecay` is Adam's weight decay (added to the gradient), `decoupledDecay` AdamW's
 * (w *= 1 − lr·decay before the Adam step).
 */
export interface AdamStep {
  /** The learning rate. */
  lr: number;
  /** Decay of the first moment's average. */
  beta1: number;
  /** Decay of the second moment's average. */
  beta2: number;
  /** Added to the denominator after its bias correction (PyTorch's placement). */
  eps: number;
  /** Adam's weight decay: coupledDecay·w added to the gradient. */
  coupledDecay: number;
  /** AdamW's weight decay: w *= 1 − lr·decoupledDecay before the step. */
  decoupledDecay: number;
  /** The parameter's step count, from 1 (the bias corrections' exponent). */
  t: number;
}

/**
 * The Keras SGD update, in place. w, v, g are (N); v is null when momentum is 0 (no velocity kept).
 *
 *     g' = g + weightDecay·w
 *     v  = momentum·v − lrT·g'
 *     w += v                       (Nesterov: w += momentum·v − lrT·g')
 *
 * Three loops rather than one with a branch per element: the choice is the same for every element.
 */
export function sgdUpdate(w: Float32Array, v: Float32Array | null, g: Float32Array, step: SgdStep, N: number): void {
  const { lrT, momentum, nesterov, weightDecay } = step;
  if (v === null) {
    for (let i = 0; i < N; i++) w[i] -= lrT * (g[i] + weightDecay * w[i]);
  } else if (!nesterov) {
    for (let i = 0; i < N; i++) {
      const vi = momentum * v[i] - lrT * (g[i] + weightDecay * w[i]);
      v[i] = vi;
      w[i] += vi;
    }
  } else {
    for (let i = 0; i < N; i++) {
      const gi = g[i] + weightDecay * w[i];
      const vi = momentum * v[i] - lrT * gi;
      v[i] = vi;
      w[i] += momentum * vi - lrT * gi;
    }
  }
}

/**
 * Adam's per-step factors: the bias-corrected step size lr/(1 − beta1^t), √(1 − beta2^t), and AdamW's
 * shrink 1 − lr·decoupledDecay. One function, so both backends' loops see the same numbers.
 */
export function adamStepFactors(s: AdamStep): { stepSize: number; bc2Sqrt: number; shrink: number } {
  return {
    stepSize: s.lr / (1 - Math.pow(s.beta1, s.t)),
    bc2Sqrt: Math.sqrt(1 - Math.pow(s.beta2, s.t)),
    shrink: 1 - s.lr * s.decoupledDecay,
  };
}

/** The Adam/AdamW update, in place. w, m, v, vmax, g are (N); vmax is null without AMSGrad. */
export function adamUpdate(
  w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array, step: AdamStep, N: number,
): void {
  const { beta1, beta2, eps, coupledDecay } = step;
  const { stepSize, bc2Sqrt, shrink } = adamStepFactors(step);
  for (let i = 0; i < N; i++) {
    const wi = w[i] * shrink;
    const gi = g[i] + coupledDecay * w[i];
    const mi = beta1 * m[i] + (1 - beta1) * gi;
    const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let second = vi;
    if (vmax !== null) {
      // Compare in float32, as stored, so vmax never drops below the stored v.
      if (v[i] > vmax[i]) vmax[i] = v[i];
      second = vmax[i];
    }
    w[i] = wi - stepSize * mi / (Math.sqrt(second) / bc2Sqrt + eps);
  }
}

// ---------------------------------------------------------------------------------------------------
// The updates of Adamax, RAdam, AdaBound, Lion, Muon and Lookahead (optim/adamax.ts ... lookahead.ts
// give each formula and its source). Each takes a record of named hyper-parameters for the step, not
// a positional list: `xFactors(step)` turns the record into the per-step numbers (bias corrections,
// bounds), one function that both backends call, so the JavaScript loop and the WebAssembly loop
// (engine/wasm/optim.ts) see the same numbers. Every loop computes in float64 and rounds once per
// store, as the SGD and Adam loops above; the WebAssembly twins run the same operations in the same
// order, so they agree bit for bit. Each keeps a naive twin (`xUpdateNaive`): the formula written out
// per element, with the step's numbers recomputed inside the loop, the reference the tests hold the
// fast loops to on odd sizes and NaN/±Infinity.
// ---------------------------------------------------------------------------------------------------

/** Adamax's hyper-parameters for step t (from 1). */
export interface AdamaxStep {
  /** The learning rate. */
  lr: number;
  /** The first moment's decay. */
  beta1: number;
  /** The second moment's (or infinity norm's) decay. */
  beta2: number;
  /** Added to the denominator, for stability. */
  eps: number;
  /** The weight decay (coupled L2, or decoupled: see the update). */
  weightDecay: number;
  /** The parameter's step count, from 1. */
  t: number;
}

/** Adamax's per-step numbers: the rate over the first moment's bias correction, clr = lr / (1 − beta1^t). */
export function adamaxFactors(s: AdamaxStep): { clr: number; beta1: number; oneMinusBeta1: number; beta2: number; eps: number; weightDecay: number } {
  return { clr: s.lr / (1 - Math.pow(s.beta1, s.t)), beta1: s.beta1, oneMinusBeta1: 1 - s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay };
}

/**
 * The Adamax update, in place. w, m, u, g are (N); u is the exponentially weighted infinity norm.
 *
 *     g' = g + weightDecay·w;  m = beta1·m + (1 − beta1)·g';  u = max(beta2·u, |g'| + eps)
 *     w -= clr · (m / u)
 */
export function adamaxUpdate(w: Float32Array, m: Float32Array, u: Float32Array, g: Float32Array, s: AdamaxStep, N: number): void {
  const { clr, beta1, oneMinusBeta1, beta2, eps, weightDecay } = adamaxFactors(s);
  for (let i = 0; i < N; i++) {
    const wi = w[i];
    const gi = g[i] + weightDecay * wi;
    const mi = beta1 * m[i] + oneMinusBeta1 * gi;
    const ui = Math.max(beta2 * u[i], Math.abs(gi) + eps);
    m[i] = mi;
    u[i] = ui;
    w[i] = wi - clr * (mi / ui);
  }
}

/** The naive twin of `adamaxUpdate`. */
export function adamaxUpdateNaive(w: Float32Array, m: Float32Array, u: Float32Array, g: Float32Array, s: AdamaxStep, N: number): void {
  for (let i = 0; i < N; i++) {
    const grad = g[i] + s.weightDecay * w[i];
    const mNew = s.beta1 * m[i] + (1 - s.beta1) * grad;
    const uNew = Math.max(s.beta2 * u[i], Math.abs(grad) + s.eps);
    const clr = s.lr / (1 - s.beta1 ** s.t);
    m[i] = mNew;
    u[i] = uNew;
    w[i] = w[i] - clr * (mNew / uNew);
  }
}

/** RAdam's hyper-parameters for step t (from 1). */
export interface RAdamStep {
  /** The learning rate. */
  lr: number;
  /** The first moment's decay. */
  beta1: number;
  /** The second moment's (or infinity norm's) decay. */
  beta2: number;
  /** Added to the denominator, for stability. */
  eps: number;
  /** The weight decay (coupled L2, or decoupled: see the update). */
  weightDecay: number;
  /** The parameter's step count, from 1. */
  t: number;
}

/**
 * RAdam's per-step numbers (Liu et al. 2020, as torch.optim.RAdam): the bias corrections, the length
 * of the approximated simple moving average ρ_t = ρ∞ − 2t·beta2^t / (1 − beta2^t) with
 * ρ∞ = 2/(1 − beta2) − 1, and, once ρ_t > 5, the variance rectification
 * r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)). While ρ_t ≤ 5 the variance of the adaptive
 * rate is not defined and the step is plain momentum (`rectified` false, `rect` 0).
 */
export function radamFactors(s: RAdamStep): {
  lr: number; beta1: number; oneMinusBeta1: number; beta2: number; oneMinusBeta2: number; eps: number; weightDecay: number;
  bc1: number; sqrtBc2: number; rectified: boolean; rect: number;
} {
  const bc1 = 1 - Math.pow(s.beta1, s.t);
  const bc2 = 1 - Math.pow(s.beta2, s.t);
  const rhoInf = 2 / (1 - s.beta2) - 1;
  const rhoT = rhoInf - (2 * s.t * Math.pow(s.beta2, s.t)) / bc2;
  const rectified = rhoT > 5;
  const rect = rectified ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 0;
  return {
    lr: s.lr, beta1: s.beta1, oneMinusBeta1: 1 - s.beta1, beta2: s.beta2, oneMinusBeta2: 1 - s.beta2, eps: s.eps, weightDecay: s.weightDecay,
    bc1, sqrtBc2: Math.sqrt(bc2), rectified, rect,
  };
}

/**
 * The RAdam update, in place. w, m, v, g are (N).
 *
 *     g' = g + weightDecay·w;  m = beta1·m + (1 − beta1)·g';  v = beta2·v + (1 − beta2)·g'²
 *     rectified:  w -= (m / bc1)·lr·(√bc2 / (√v + eps))·r_t
 *     otherwise:  w -= (m / bc1)·lr
 */
export function radamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, s: RAdamStep, N: number): void {
  const { lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, bc1, sqrtBc2, rectified, rect } = radamFactors(s);
  if (rectified) {
    for (let i = 0; i < N; i++) {
      const wi = w[i];
      const gi = g[i] + weightDecay * wi;
      const mi = beta1 * m[i] + oneMinusBeta1 * gi;
      const vi = beta2 * v[i] + oneMinusBeta2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = wi - (mi / bc1) * lr * (sqrtBc2 / (Math.sqrt(vi) + eps)) * rect;
    }
  } else {
    for (let i = 0; i < N; i++) {
      const wi = w[i];
      const gi = g[i] + weightDecay * wi;
      const mi = beta1 * m[i] + oneMinusBeta1 * gi;
      const vi = beta2 * v[i] + oneMinusBeta2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = wi - (mi / bc1) * lr;
    }
  }
}

/** The naive twin of `radamUpdate`: ρ_t and the rectification recomputed for every element. */
export function radamUpdateNaive(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, s: RAdamStep, N: number): void {
  for (let i = 0; i < N; i++) {
    const grad = g[i] + s.weightDecay * w[i];
    const mNew = s.beta1 * m[i] + (1 - s.beta1) * grad;
    const vNew = s.beta2 * v[i] + (1 - s.beta2) * grad * grad;
    m[i] = mNew;
    v[i] = vNew;
    const bc1 = 1 - s.beta1 ** s.t;
    const bc2 = 1 - s.beta2 ** s.t;
    const rhoInf = 2 / (1 - s.beta2) - 1;
    const rhoT = rhoInf - (2 * s.t * s.beta2 ** s.t) / bc2;
    if (rhoT > 5) {
      const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
      w[i] = w[i] - (mNew / bc1) * s.lr * (Math.sqrt(bc2) / (Math.sqrt(vNew) + s.eps)) * rect;
    } else {
      w[i] = w[i] - (mNew / bc1) * s.lr;
    }
  }
}

/** AdaBound's hyper-parameters for step t (from 1); `baseLr` is the rate `finalLr` is relative to. */
export interface AdaBoundStep {
  /** The learning rate. */
  lr: number;
  /** The rate finalLr is relative to. */
  baseLr: number;
  /** The SGD rate the bounds close in on (times lr / baseLr). */
  finalLr: number;
  /** How fast the bounds close in. */
  gamma: number;
  /** The first moment's decay. */
  beta1: number;
  /** The second moment's (or infinity norm's) decay. */
  beta2: number;
  /** Added to the denominator, for stability. */
  eps: number;
  /** The weight decay (coupled L2, or decoupled: see the update). */
  weightDecay: number;
  /** The parameter's step count, from 1. */
  t: number;
}

/**
 * AdaBound's per-step numbers (Luo et al. 2019, the authors' code): Adam's step size
 * lr·√(1 − beta2^t)/(1 − beta1^t), and the bounds the per-element rate is clipped to,
 * final·(1 − 1/(gamma·t + 1)) and final·(1 + 1/(gamma·t)), with final = finalLr·lr/baseLr, so a
 * schedule that lowers lr lowers the bounds with it.
 */
export function adaboundFactors(s: AdaBoundStep): {
  beta1: number; oneMinusBeta1: number; beta2: number; oneMinusBeta2: number; eps: number; weightDecay: number;
  stepSize: number; lower: number; upper: number;
} {
  const bc1 = 1 - Math.pow(s.beta1, s.t);
  const bc2 = 1 - Math.pow(s.beta2, s.t);
  const finalLr = (s.finalLr * s.lr) / s.baseLr;
  return {
    beta1: s.beta1, oneMinusBeta1: 1 - s.beta1, beta2: s.beta2, oneMinusBeta2: 1 - s.beta2, eps: s.eps, weightDecay: s.weightDecay,
    stepSize: (s.lr * Math.sqrt(bc2)) / bc1,
    lower: finalLr * (1 - 1 / (s.gamma * s.t + 1)),
    upper: finalLr * (1 + 1 / (s.gamma * s.t)),
  };
}

/**
 * The AdaBound (AMSBound) update, in place. w, m, v, vmax, g are (N); vmax is null for AdaBound.
 *
 *     g' = g + weightDecay·w;  m = beta1·m + (1 − beta1)·g';  v = beta2·v + (1 − beta2)·g'²
 *     AMSBound: vmax = max(vmax, v) as stored (NaN wins, as torch.max), used in place of v
 *     w -= clamp(stepSize / (√v + eps), lower, upper) · m
 * The clamp is min(max(x, lower), upper): NaN stays NaN, as torch's clamp.
 */
export function adaboundUpdate(
  w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array, s: AdaBoundStep, N: number,
): void {
  const { beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, lower, upper } = adaboundFactors(s);
  for (let i = 0; i < N; i++) {
    const wi = w[i];
    const gi = g[i] + weightDecay * wi;
    const mi = beta1 * m[i] + oneMinusBeta1 * gi;
    const vi = beta2 * v[i] + oneMinusBeta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let second = vi;
    if (vmax !== null) {
      // The maximum of the stored (float32) values, so vmax never drops below the stored v.
      vmax[i] = Math.max(vmax[i], v[i]);
      second = vmax[i];
    }
    const rate = Math.min(Math.max(stepSize / (Math.sqrt(second) + eps), lower), upper);
    w[i] = wi - rate * mi;
  }
}

/** The naive twin of `adaboundUpdate`: the step size and bounds recomputed for every element. */
export function adaboundUpdateNaive(
  w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array, s: AdaBoundStep, N: number,
): void {
  for (let i = 0; i < N; i++) {
    const grad = g[i] + s.weightDecay * w[i];
    const mNew = s.beta1 * m[i] + (1 - s.beta1) * grad;
    const vNew = s.beta2 * v[i] + (1 - s.beta2) * grad * grad;
    m[i] = mNew;
    v[i] = vNew;
    let second = vNew;
    if (vmax !== null) {
      vmax[i] = Math.max(vmax[i], v[i]);
      second = vmax[i];
    }
    const stepSize = (s.lr * Math.sqrt(1 - s.beta2 ** s.t)) / (1 - s.beta1 ** s.t);
    const finalLr = (s.finalLr * s.lr) / s.baseLr;
    const lower = finalLr * (1 - 1 / (s.gamma * s.t + 1));
    const upper = finalLr * (1 + 1 / (s.gamma * s.t));
    const rate = Math.min(Math.max(stepSize / (Math.sqrt(second) + s.eps), lower), upper);
    w[i] = w[i] - rate * mNew;
  }
}

/** Lion's hyper-parameters (no step count: Lion has no bias correction). */
export interface LionStep {
  /** The learning rate. */
  lr: number;
  /** The first moment's decay. */
  beta1: number;
  /** The second moment's (or infinity norm's) decay. */
  beta2: number;
  /** The weight decay (coupled L2, or decoupled: see the update). */
  weightDecay: number;
}

/** Lion's per-step numbers: the decoupled decay's factor shrink = 1 − lr·weightDecay. */
export function lionFactors(s: LionStep): { lr: number; beta1: number; oneMinusBeta1: number; beta2: number; oneMinusBeta2: number; shrink: number } {
  return { lr: s.lr, beta1: s.beta1, oneMinusBeta1: 1 - s.beta1, beta2: s.beta2, oneMinusBeta2: 1 - s.beta2, shrink: 1 - s.lr * s.weightDecay };
}

/**
 * sign(x): 1 above 0, −1 below, and x itself for ±0 and NaN (Math.sign's rule, spelled with the two
 * comparisons the WebAssembly twin uses).
 */
export function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x;
}

/**
 * The Lion update, in place (Chen et al. 2023, Algorithm 2). w, m, g are (N).
 *
 *     c = beta1·m + (1 − beta1)·g;  w = w·shrink − lr·sign(c);  m = beta2·m + (1 − beta2)·g
 */
export function lionUpdate(w: Float32Array, m: Float32Array, g: Float32Array, s: LionStep, N: number): void {
  const { lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, shrink } = lionFactors(s);
  for (let i = 0; i < N; i++) {
    const gi = g[i];
    const mi = m[i];
    const c = beta1 * mi + oneMinusBeta1 * gi;
    w[i] = w[i] * shrink - lr * (c > 0 ? 1 : c < 0 ? -1 : c);
    m[i] = beta2 * mi + oneMinusBeta2 * gi;
  }
}

/** The naive twin of `lionUpdate`. */
export function lionUpdateNaive(w: Float32Array, m: Float32Array, g: Float32Array, s: LionStep, N: number): void {
  for (let i = 0; i < N; i++) {
    const update = sign(s.beta1 * m[i] + (1 - s.beta1) * g[i]);
    w[i] = w[i] * (1 - s.lr * s.weightDecay) - s.lr * update;
    m[i] = s.beta2 * m[i] + (1 - s.beta2) * g[i];
  }
}

/** Muon's momentum hyper-parameters. */
export interface MuonMomentumStep {
  /** The buffer's momentum. */
  momentum: number;
  /** Orthogonalize the Nesterov look-ahead rather than the buffer. */
  nesterov: boolean;
}

/**
 * Muon's momentum, as torch.optim.Muon's code computes it (PyTorch 2.9): the buffer is a lerp towards
 * the gradient, not the heavy-ball sum of its docstring. u, b, g are (N); u receives the matrix that
 * Newton–Schulz orthogonalizes.
 *
 *     b = momentum·b + (1 − momentum)·g                       (buf.lerp_(grad, 1 − momentum))
 *     u = nesterov ? momentum·b + (1 − momentum)·g : b         (grad.lerp(buf, momentum))
 */
export function muonMomentum(u: Float32Array, b: Float32Array, g: Float32Array, s: MuonMomentumStep, N: number): void {
  const mu = s.momentum;
  const oneMinusMu = 1 - mu;
  if (s.nesterov) {
    for (let i = 0; i < N; i++) {
      const gi = g[i];
      const bi = mu * b[i] + oneMinusMu * gi;
      b[i] = bi;
      u[i] = mu * bi + oneMinusMu * gi;
    }
  } else {
    for (let i = 0; i < N; i++) {
      const bi = mu * b[i] + oneMinusMu * g[i];
      b[i] = bi;
      u[i] = bi;
    }
  }
}

/** The naive twin of `muonMomentum`. */
export function muonMomentumNaive(u: Float32Array, b: Float32Array, g: Float32Array, s: MuonMomentumStep, N: number): void {
  for (let i = 0; i < N; i++) {
    const bNew = s.momentum * b[i] + (1 - s.momentum) * g[i];
    b[i] = bNew;
    u[i] = s.nesterov ? s.momentum * bNew + (1 - s.momentum) * g[i] : bNew;
  }
}

/** Muon's step once the update is orthogonalized: `lr` decays the weights, `adjustedLr` scales the step. */
export interface MuonApplyStep {
  /** The learning rate. */
  lr: number;
  /** The step's rate, scaled for the matrix's shape. */
  adjustedLr: number;
  /** The weight decay (coupled L2, or decoupled: see the update). */
  weightDecay: number;
}

/**
 * Muon's weight update, in place. w, o are (N); o is the orthogonalized update.
 *
 *     w = w·(1 − lr·weightDecay) − adjustedLr·o
 */
export function muonApply(w: Float32Array, o: Float32Array, s: MuonApplyStep, N: number): void {
  const shrink = 1 - s.lr * s.weightDecay;
  const rate = s.adjustedLr;
  for (let i = 0; i < N; i++) w[i] = w[i] * shrink - rate * o[i];
}

/** The naive twin of `muonApply`. */
export function muonApplyNaive(w: Float32Array, o: Float32Array, s: MuonApplyStep, N: number): void {
  for (let i = 0; i < N; i++) w[i] = w[i] * (1 - s.lr * s.weightDecay) - s.adjustedLr * o[i];
}

/** Lookahead's synchronisation: how far the slow weights move towards the fast ones. */
export interface LookaheadStep {
  /** How far the slow weights move towards the fast ones. */
  alpha: number;
}

/**
 * Lookahead's synchronisation, in place (Zhang et al. 2019, Algorithm 1). w (the fast weights) and
 * slow are (N); both end holding the same float32 value.
 *
 *     slow = slow + alpha·(w − slow);  w = slow
 */
export function lookaheadSync(w: Float32Array, slow: Float32Array, s: LookaheadStep, N: number): void {
  const alpha = s.alpha;
  for (let i = 0; i < N; i++) {
    const si = slow[i];
    slow[i] = si + alpha * (w[i] - si);
    w[i] = slow[i];
  }
}

/** The naive twin of `lookaheadSync`. */
export function lookaheadSyncNaive(w: Float32Array, slow: Float32Array, s: LookaheadStep, N: number): void {
  for (let i = 0; i < N; i++) {
    slow[i] = slow[i] + s.alpha * (w[i] - slow[i]);
    w[i] = slow[i];
  }
}

// ---------------------------------------------------------------------------------------------------
// The updates of RMSprop, Nadam, Adagrad and Adadelta (optim/rmsprop.ts ... adadelta.ts give each
// formula and its source), on the same terms as the zoo's above: a record of named hyper-parameters,
// a factor function both backends call, a loop in float64 that rounds once per store (the WebAssembly
// twins in engine/wasm/optim.ts run the same operations in the same order), and a naive twin. The
// naive twins are the loops these optimizers ran in optim/ before they moved here, so the tests that
// hold the kernels to them bit for bit also say that no optimizer's numbers changed.
// ---------------------------------------------------------------------------------------------------

/**
 * RMSprop's hyper-parameters (optim/rmsprop.ts). `momentum` and `centered` say which buffers the
 * update uses: the momentum buffer only when momentum > 0, the gradient average only when centered
 * (engine/backends/index.ts's `rmspropUpdate` checks that the buffers given match).
 */
export interface RMSpropStep {
  /** The learning rate. */
  lr: number;
  /** Decay of the squared-gradient average (Keras's rho). */
  alpha: number;
  /** Added to the denominator after the square root. */
  eps: number;
  /** Coupled L2: weightDecay·w added to the gradient. */
  weightDecay: number;
  /** Heavy-ball momentum on the scaled step; 0 keeps no buffer. */
  momentum: number;
  /** Divide by the estimated variance E[g²] − E[g]² instead of E[g²]. */
  centered: boolean;
}

/** RMSprop's per-step numbers: the hyper-parameters, and 1 − alpha computed once for both backends. */
export function rmspropFactors(s: RMSpropStep): { lr: number; alpha: number; oneMinusAlpha: number; eps: number; weightDecay: number; momentum: number } {
  return { lr: s.lr, alpha: s.alpha, oneMinusAlpha: 1 - s.alpha, eps: s.eps, weightDecay: s.weightDecay, momentum: s.momentum };
}

/**
 * The RMSprop update, in place. w, sq, avg, buf, g are (N): sq the squared-gradient average, avg the
 * gradient average (null unless centered), buf the momentum buffer (null without momentum).
 *
 *     g' = g + weightDecay·w;  sq = alpha·sq + (1 − alpha)·g'²
 *     centered: avg = alpha·avg + (1 − alpha)·g';  d = √(sq − avg²) + eps,   else d = √sq + eps
 *     momentum: buf = momentum·buf + g'/d;  w -= lr·buf,                     else w -= lr·g'/d
 * The variance and d use sq and avg before they are rounded to float32, as the update always did.
 */
export function rmspropUpdate(
  w: Float32Array, sq: Float32Array, avg: Float32Array | null, buf: Float32Array | null, g: Float32Array, s: RMSpropStep, N: number,
): void {
  const { lr, alpha, oneMinusAlpha, eps, weightDecay, momentum } = rmspropFactors(s);
  for (let i = 0; i < N; i++) {
    const wi = w[i];
    const gi = g[i] + weightDecay * wi;
    const si = alpha * sq[i] + oneMinusAlpha * gi * gi;
    sq[i] = si;
    let variance = si;
    if (avg !== null) {
      const ai = alpha * avg[i] + oneMinusAlpha * gi;
      avg[i] = ai;
      variance = si - ai * ai;
    }
    const d = Math.sqrt(variance) + eps;
    if (buf !== null) {
      const bi = momentum * buf[i] + gi / d;
      buf[i] = bi;
      w[i] = wi - lr * bi;
    } else {
      w[i] = wi - (lr * gi) / d;
    }
  }
}

/** The naive twin of `rmspropUpdate` (optim/rmsprop.ts's loop before the port). */
export function rmspropUpdateNaive(
  w: Float32Array, sq: Float32Array, avg: Float32Array | null, buf: Float32Array | null, g: Float32Array, s: RMSpropStep, N: number,
): void {
  for (let i = 0; i < N; i++) {
    const grad = g[i] + s.weightDecay * w[i];
    const sqNew = s.alpha * sq[i] + (1 - s.alpha) * grad * grad;
    sq[i] = sqNew;
    let variance = sqNew;
    if (avg !== null) {
      const avgNew = s.alpha * avg[i] + (1 - s.alpha) * grad;
      avg[i] = avgNew;
      variance = sqNew - avgNew * avgNew;
    }
    const d = Math.sqrt(variance) + s.eps;
    if (buf !== null) {
      const bufNew = s.momentum * buf[i] + grad / d;
      buf[i] = bufNew;
      w[i] -= s.lr * bufNew;
    } else {
      w[i] -= (s.lr * grad) / d;
    }
  }
}

/**
 * Nadam's hyper-parameters for step t (from 1). `muProduct` is P_t = mu_1···mu_t, this step's mu_t
 * included: the optimizer keeps it between steps (PyTorch's state['mu_product']) and `nadamMu` gives
 * each factor.
 */
export interface NadamStep {
  /** The learning rate. */
  lr: number;
  /** The first moment's decay (the momentum schedule's ceiling). */
  beta1: number;
  /** The second moment's decay. */
  beta2: number;
  /** Added to the denominator after its bias correction. */
  eps: number;
  /** Coupled L2: weightDecay·w added to the gradient. */
  weightDecay: number;
  /** psi in the momentum schedule mu_t = beta1·(1 − 0.5·0.96^(t·psi)). */
  momentumDecay: number;
  /** The parameter's step count, from 1. */
  t: number;
  /** mu_1···mu_t, this step's factor included. */
  muProduct: number;
}

/** Dozat's momentum schedule: mu_t = beta1·(1 − 0.5·0.96^(t·momentumDecay)). */
export function nadamMu(beta1: number, momentumDecay: number, t: number): number {
  return beta1 * (1 - 0.5 * Math.pow(0.96, t * momentumDecay));
}

/**
 * Nadam's per-step numbers (torch.optim.NAdam): the gradient's coefficient lr·(1 − mu_t)/(1 − P_t),
 * the first moment's lr·mu_{t+1}/(1 − P_t·mu_{t+1}), and the second moment's bias correction
 * bc2 = 1 − beta2^t.
 */
export function nadamFactors(s: NadamStep): {
  gradCoef: number; avgCoef: number; beta1: number; oneMinusBeta1: number; beta2: number; oneMinusBeta2: number; eps: number; weightDecay: number; bc2: number;
} {
  const mu = nadamMu(s.beta1, s.momentumDecay, s.t);
  const muNext = nadamMu(s.beta1, s.momentumDecay, s.t + 1);
  return {
    gradCoef: (s.lr * (1 - mu)) / (1 - s.muProduct),
    avgCoef: (s.lr * muNext) / (1 - s.muProduct * muNext),
    beta1: s.beta1, oneMinusBeta1: 1 - s.beta1, beta2: s.beta2, oneMinusBeta2: 1 - s.beta2, eps: s.eps, weightDecay: s.weightDecay,
    bc2: 1 - Math.pow(s.beta2, s.t),
  };
}

/**
 * The Nadam update, in place. w, m, v, g are (N).
 *
 *     g' = g + weightDecay·w;  m = beta1·m + (1 − beta1)·g';  v = beta2·v + (1 − beta2)·g'²
 *     w -= (gradCoef·g' + avgCoef·m) / (√(v / bc2) + eps)
 */
export function nadamUpdate(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, s: NadamStep, N: number): void {
  const { gradCoef, avgCoef, beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, bc2 } = nadamFactors(s);
  for (let i = 0; i < N; i++) {
    const wi = w[i];
    const gi = g[i] + weightDecay * wi;
    const mi = beta1 * m[i] + oneMinusBeta1 * gi;
    const vi = beta2 * v[i] + oneMinusBeta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - (gradCoef * gi + avgCoef * mi) / (Math.sqrt(vi / bc2) + eps);
  }
}

/** The naive twin of `nadamUpdate`: the momentum schedule and the coefficients recomputed for every element. */
export function nadamUpdateNaive(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, s: NadamStep, N: number): void {
  for (let i = 0; i < N; i++) {
    const mu = s.beta1 * (1 - 0.5 * Math.pow(0.96, s.t * s.momentumDecay));
    const muNext = s.beta1 * (1 - 0.5 * Math.pow(0.96, (s.t + 1) * s.momentumDecay));
    const gradCoef = (s.lr * (1 - mu)) / (1 - s.muProduct);
    const avgCoef = (s.lr * muNext) / (1 - s.muProduct * muNext);
    const bc2 = 1 - Math.pow(s.beta2, s.t);
    const grad = g[i] + s.weightDecay * w[i];
    const mNew = s.beta1 * m[i] + (1 - s.beta1) * grad;
    const vNew = s.beta2 * v[i] + (1 - s.beta2) * grad * grad;
    m[i] = mNew;
    v[i] = vNew;
    const denom = Math.sqrt(vNew / bc2) + s.eps;
    w[i] -= (gradCoef * grad + avgCoef * mNew) / denom;
  }
}

/** Adagrad's hyper-parameters for step t (from 1); the accumulator's starting value is the buffer's fill. */
export interface AdagradStep {
  /** The learning rate. */
  lr: number;
  /** Time-based decay of the rate per step: lr / (1 + (t − 1)·lrDecay). */
  lrDecay: number;
  /** Added to the denominator after the square root. */
  eps: number;
  /** Coupled L2: weightDecay·w added to the gradient. */
  weightDecay: number;
  /** The parameter's step count, from 1. */
  t: number;
}

/** Adagrad's per-step numbers: the decayed rate lrT = lr / (1 + (t − 1)·lrDecay) (torch.optim.Adagrad's clr). */
export function adagradFactors(s: AdagradStep): { lrT: number; eps: number; weightDecay: number } {
  return { lrT: s.lr / (1 + (s.t - 1) * s.lrDecay), eps: s.eps, weightDecay: s.weightDecay };
}

/**
 * The Adagrad update, in place. w, sum, g are (N); sum is the squared gradients' running sum.
 *
 *     g' = g + weightDecay·w;  sum = sum + g'²;  w -= lrT·g' / (√sum + eps)
 */
export function adagradUpdate(w: Float32Array, sum: Float32Array, g: Float32Array, s: AdagradStep, N: number): void {
  const { lrT, eps, weightDecay } = adagradFactors(s);
  for (let i = 0; i < N; i++) {
    const wi = w[i];
    const gi = g[i] + weightDecay * wi;
    const si = sum[i] + gi * gi;
    sum[i] = si;
    w[i] = wi - (lrT * gi) / (Math.sqrt(si) + eps);
  }
}

/** The naive twin of `adagradUpdate`: the decayed rate recomputed for every element. */
export function adagradUpdateNaive(w: Float32Array, sum: Float32Array, g: Float32Array, s: AdagradStep, N: number): void {
  for (let i = 0; i < N; i++) {
    const lrT = s.lr / (1 + (s.t - 1) * s.lrDecay);
    const grad = g[i] + s.weightDecay * w[i];
    const sumNew = sum[i] + grad * grad;
    sum[i] = sumNew;
    w[i] -= (lrT * grad) / (Math.sqrt(sumNew) + s.eps);
  }
}

/** Adadelta's hyper-parameters (no step count: neither average is bias-corrected). */
export interface AdadeltaStep {
  /** The learning rate (1 in Zeiler's paper and PyTorch's default). */
  lr: number;
  /** Decay of both running averages. */
  rho: number;
  /** Added inside both square roots. */
  eps: number;
  /** Coupled L2: weightDecay·w added to the gradient. */
  weightDecay: number;
}

/** Adadelta's per-step numbers: the hyper-parameters, and 1 − rho computed once for both backends. */
export function adadeltaFactors(s: AdadeltaStep): { lr: number; rho: number; oneMinusRho: number; eps: number; weightDecay: number } {
  return { lr: s.lr, rho: s.rho, oneMinusRho: 1 - s.rho, eps: s.eps, weightDecay: s.weightDecay };
}

/**
 * The Adadelta update, in place. w, sq, acc, g are (N): sq the squared gradients' average, acc the
 * squared steps' average.
 *
 *     g' = g + weightDecay·w;  sq = rho·sq + (1 − rho)·g'²
 *     d = √(acc + eps) / √(sq + eps) · g';  acc = rho·acc + (1 − rho)·d²;  w -= lr·d
 */
export function adadeltaUpdate(w: Float32Array, sq: Float32Array, acc: Float32Array, g: Float32Array, s: AdadeltaStep, N: number): void {
  const { lr, rho, oneMinusRho, eps, weightDecay } = adadeltaFactors(s);
  for (let i = 0; i < N; i++) {
    const wi = w[i];
    const gi = g[i] + weightDecay * wi;
    const si = rho * sq[i] + oneMinusRho * gi * gi;
    sq[i] = si;
    const ai = acc[i];
    const d = (Math.sqrt(ai + eps) / Math.sqrt(si + eps)) * gi;
    acc[i] = rho * ai + oneMinusRho * d * d;
    w[i] = wi - lr * d;
  }
}

/** The naive twin of `adadeltaUpdate` (optim/adadelta.ts's loop before the port). */
export function adadeltaUpdateNaive(w: Float32Array, sq: Float32Array, acc: Float32Array, g: Float32Array, s: AdadeltaStep, N: number): void {
  for (let i = 0; i < N; i++) {
    const grad = g[i] + s.weightDecay * w[i];
    const sqNew = s.rho * sq[i] + (1 - s.rho) * grad * grad;
    sq[i] = sqNew;
    const d = (Math.sqrt(acc[i] + s.eps) / Math.sqrt(sqNew + s.eps)) * grad;
    acc[i] = s.rho * acc[i] + (1 - s.rho) * d * d;
    w[i] -= s.lr * d;
  }
}
