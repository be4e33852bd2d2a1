import { ShapeError, allocPersistent, fmtShape, gemmNN, gemmNT, muonApply, muonMomentum, type Tensor } from '../engine/index.js';
import { Optimizer, checkNonNegative, checkPositive, checkUnitInterval, invalid } from './optimizer.js';
import type { BaseHyper, ParamGroupInput, ParamState } from './optimizer.js';

/** How Muon scales its rate with the matrix's shape (torch.optim.Muon's `adjust_lr_fn`). */
export type MuonLrAdjustment = 'original' | 'match_rms_adamw';

export interface MuonHyper extends BaseHyper {
  /** The momentum of the update's buffer, in [0, 1) (default 0.95). */
  momentum: number;
  /** Orthogonalize the Nesterov look-ahead of the buffer rather than the buffer (default true). */
  nesterov: boolean;
  /** Decoupled weight decay: w shrinks by lr × weightDecay each step (default 0.1). */
  weightDecay: number;
  /** The quintic's coefficients (a, b, c) of each Newton–Schulz step (default [3.4445, -4.775, 2.0315]). */
  nsCoefficients: [number, number, number];
  /** Newton–Schulz steps, from 1 to 99 (default 5). */
  nsSteps: number;
  /** The norm the update is divided by before the iteration is at least this (default 1e-7). */
  eps: number;
  /**
   * 'original' (default): the rate times √max(1, rows/cols), Keller Jordan's; 'match_rms_adamw': times
   * 0.2·√max(rows, cols) (Liu et al. 2025), so AdamW's rates and weight decay carry over.
   */
  adjustLrFn: MuonLrAdjustment;
}

/**
 * Muon, "MomentUm Orthogonalized by Newton–Schulz" (Keller Jordan 2024), for 2-D weight matrices, as
 * torch.optim.Muon computes it (PyTorch 2.9). Defaults: lr 1e-3, momentum 0.95, nesterov true,
 * weightDecay 0.1, nsCoefficients [3.4445, -4.775, 2.0315], nsSteps 5, eps 1e-7, adjustLrFn
 * 'original'. For a weight W of shape (A, B) with gradient G:
 *
 *     M  = momentum * M + (1 - momentum) * G            the buffer, a lerp towards G (from 0)
 *     U  = nesterov ? momentum * M + (1 - momentum) * G : M
 *     O  = NewtonSchulz(U)                              ≈ the orthogonal factor U V^T of U's SVD
 *     W  = W * (1 - lr * weightDecay) - lr * √max(1, A/B) * O
 *
 * The buffer line is what torch.optim.Muon's code computes (`buf.lerp_(grad, 1 - momentum)`, and
 * `grad.lerp(buf, momentum)` for Nesterov); the formula in its docstring, M = momentum * M + G, differs
 * from its code, and we follow the code. Newton–Schulz, on X = U (transposed first when A > B, so the
 * products are of the smaller side):
 *
 *     X = X / max(‖X‖_F, eps)                          every singular value <= 1
 *     nsSteps times:  S = X Xᵀ;  X = a X + (b S + c S S) X
 *
 * The quintic pushes every singular value of X towards 1 (not exactly: to a band around it, which is
 * what Muon wants fast), so the step moves every direction of the update by about the same amount. The
 * products run on the engine's own matrix products (the ops' kernels, backend and threads), in float32:
 * PyTorch's code rounds X to bfloat16 first, a speed choice for GPUs that these products do not need.
 *
 * Muon is for the hidden layers' weight matrices only: a bias, a norm's scale or any parameter that is
 * not 2-D is a ShapeError naming it. `muonWithAdamW(model)` (combined.ts) gives those to AdamW, Keras's
 * rule, and is what `fit`'s callers and the command line use.
 *
 * @example
 * ```ts
 * import { Tensor, Muon } from 'tapegrad';
 *
 * const w = Tensor.zeros([2, 2], { requiresGrad: true });
 * const optimizer = new Muon([w], { lr: 0.1, weightDecay: 0, nesterov: false });
 * w.grad = Tensor.from([[3, 0], [0, 0.3]]); // one direction ten times the other
 * optimizer.step();
 * // Orthogonalized, both move by the same amount (0.7·lr here: five steps bring singular values near 1, not to it)
 * console.log(Array.from(w.data, (v) => Math.round(v * 100) / 100)); // => [-0.07, 0, 0, -0.07]
 * ```
 */
export class Muon extends Optimizer<MuonHyper> {
  readonly type = 'Muon';
  /** Work arrays of the iteration, in the engine's memory (so the products read them in place), reused across steps. */
  private readonly work = new Map<string, Float32Array>();

  constructor(params: Tensor[] | ParamGroupInput<MuonHyper>[], options: Partial<MuonHyper> = {}) {
    super(
      params,
      {
        lr: 1e-3, momentum: 0.95, nesterov: true, weightDecay: 0.1, nsCoefficients: [3.4445, -4.775, 2.0315], nsSteps: 5, eps: 1e-7,
        adjustLrFn: 'original', ...options,
      },
      'Muon',
    );
    this.paramGroups.forEach((group, g) => {
      group.params.forEach((p, i) => {
        if (p.shape.length !== 2) {
          throw new ShapeError(
            `Muon: parameter ${i} of group ${g} has shape ${fmtShape(p.shape)}; Muon orthogonalizes 2-D weight matrices only: ` +
              'give biases and norm parameters to AdamW (muonWithAdamW(model) does)',
          );
        }
      });
    });
  }

  protected validate(h: MuonHyper): void {
    checkNonNegative('Muon', 'lr', h.lr);
    checkUnitInterval('Muon', 'momentum', h.momentum);
    if (typeof h.nesterov !== 'boolean') throw invalid('Muon', 'nesterov', h.nesterov, 'true or false');
    checkNonNegative('Muon', 'weightDecay', h.weightDecay);
    const c = h.nsCoefficients;
    if (!Array.isArray(c) || c.length !== 3 || !c.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw invalid('Muon', 'nsCoefficients', c, 'three finite numbers [a, b, c]');
    }
    if (!Number.isInteger(h.nsSteps) || h.nsSteps < 1 || h.nsSteps >= 100) throw invalid('Muon', 'nsSteps', h.nsSteps, 'an integer from 1 to 99');
    checkPositive('Muon', 'eps', h.eps);
    if (h.adjustLrFn !== 'original' && h.adjustLrFn !== 'match_rms_adamw') {
      throw invalid('Muon', 'adjustLrFn', h.adjustLrFn, "'original' or 'match_rms_adamw'");
    }
  }

  protected update(w: Float32Array, g: Float32Array, state: ParamState, h: MuonHyper, param: Tensor): void {
    const [A, B] = param.shape;
    const N = w.length;
    const buf = this.buffer(state, 'momentumBuffer', N);
    const u = this.scratch('update', N);
    muonMomentum(u, buf, g, { momentum: h.momentum, nesterov: h.nesterov }, N);
    const o = this.orthogonalize(u, A, B, h);
    muonApply(w, o, { lr: h.lr, adjustedLr: h.lr * lrScale(h.adjustLrFn, A, B), weightDecay: h.weightDecay }, N);
  }

  /** Newton–Schulz on U (A,B), as torch.optim.Muon's `_zeropower_via_newtonschulz`; returns O (A,B). */
  private orthogonalize(u: Float32Array, A: number, B: number, h: MuonHyper): Float32Array {
    const [a, b, c] = h.nsCoefficients;
    // X is (R,C) with R <= C: the Gram matrix S is then the smaller square, (R,R).
    const tall = A > B;
    const R = tall ? B : A;
    const C = tall ? A : B;
    let X = this.scratch('x', R * C);
    if (tall) transpose(X, u, A, B);
    else X.set(u);
    let norm = 0;
    for (let i = 0; i < R * C; i++) norm += X[i] * X[i];
    const scale = 1 / Math.max(Math.sqrt(norm), h.eps);
    for (let i = 0; i < R * C; i++) X[i] *= scale;

    const S = this.scratch('gram', R * R);
    const SS = this.scratch('gram2', R * R);
    let next = this.scratch('x2', R * C);
    for (let step = 0; step < h.nsSteps; step++) {
      gemmNT(S, X, X, R, C, R); // S = X Xᵀ
      gemmNN(SS, S, S, R, R, R); // SS = S S
      for (let i = 0; i < R * R; i++) S[i] = b * S[i] + c * SS[i]; // S = b S + c S S
      gemmNN(next, S, X, R, R, C); // next = (b S + c S S) X
      for (let i = 0; i < R * C; i++) next[i] = a * X[i] + next[i];
      [X, next] = [next, X];
    }
    if (!tall) return X;
    const o = this.scratch('orthogonal', A * B);
    transpose(o, X, R, C);
    return o;
  }

  /** A work array of at least `size` floats (a view of exactly `size`), kept for the next step. */
  private scratch(name: string, size: number): Float32Array {
    let block = this.work.get(name);
    if (block === undefined || block.length < size) {
      // The smaller block goes back to the arena when the garbage collector collects it (engine/memory.ts).
      block = allocPersistent(size);
      this.work.set(name, block);
    }
    return block.length === size ? block : block.subarray(0, size);
  }
}

/** out (C,R) = inp (R,C) transposed. */
function transpose(out: Float32Array, inp: Float32Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    const row = r * C;
    for (let c = 0; c < C; c++) out[c * R + r] = inp[row + c];
  }
}

/** The rate's factor for an (A,B) matrix: torch.optim.Muon's `_adjust_lr`. */
export function lrScale(fn: MuonLrAdjustment, A: number, B: number): number {
  return fn === 'match_rms_adamw' ? 0.2 * Math.sqrt(Math.max(A, B)) : Math.sqrt(Math.max(1, A / B));
}
