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
