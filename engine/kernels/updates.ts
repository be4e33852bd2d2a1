/**
 * The optimizers' update loops, in place over a parameter's storage (optim/ calls them through the
 * kernel contract, engine/backends/, which runs the WebAssembly twin under the 'wasm' backend). Each parameter is a
 * flat array of N floats; w is the weight, g its gradient, the others the optimizer's buffers.
 * The formulas, and where they come from, are in optim/sgd.ts and optim/adam.ts.
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
