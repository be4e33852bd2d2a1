import type { Tensor } from '../engine/index.js';
import type { Optimizer, OptimizerStateDict } from './optimizer.js';

/** What the sweep restores afterwards: the parameters, and any other tensors of `stateDict()` (batch-norm statistics). */
export interface FinderModel {
  /** The tensors the sweep trains and puts back. */
  parameters(): Tensor[];
  /** Any other state tensors to put back (optional). */
  stateDict?(): Map<string, Tensor> | Record<string, Tensor>;
}

/** Options of `findLearningRate`. */
export interface FindLearningRateOptions {
  /** The model `step` trains: its weights (and state tensors) are put back after the sweep. */
  model: FinderModel;
  /** The optimizer `step` uses: the sweep sets its `lr` before every batch and restores its state afterwards. */
  optimizer: Optimizer<any>;
  /** The first rate (default 1e-7). */
  start?: number;
  /** The last rate, reached at batch `steps - 1` if the run gets that far (default 10). */
  end?: number;
  /** Batches in the sweep (default 100); `batches` is cycled if it is shorter. */
  steps?: number;
  /** Smoothing of the loss by an exponential moving average (default 0.98; 0 = raw losses). */
  beta?: number;
  /** Stop once the smoothed loss exceeds stopFactor x its minimum (default 4). */
  stopFactor?: number;
}

/** Three readings of the loss-versus-rate curve (see `findLearningRate`). */
export interface LrSuggestions {
  /** The rate where the (centered-average) loss falls fastest against log(rate), before its minimum. */
  steepest: number;
  /** One tenth of the rate at the loss's minimum (fastai's "lr_min"). */
  minOver10: number;
  /** Half the rate where the loss turns up, i.e. at its minimum (reference article 002). */
  halfTurn: number;
}

/** What a range test found: the curve, the suggestions and why it stopped. */
export interface LrFinderResult {
  /** The rate used for each batch. */
  rates: number[];
  /** Each batch's loss, before that batch's step. */
  losses: number[];
  /** The debiased moving average of `losses` (what the stop rule watches). */
  smoothed: number[];
  /** The centered average of `losses` that the suggestions are read from (what to plot with them). */
  centered: number[];
  /** The three readings of the curve. */
  suggestions: LrSuggestions;
  /** The one to use: `halfTurn`, the rule of reference article 002. */
  suggested: number;
  /** Why the sweep ended: the smoothed loss blew past stopFactor x its minimum, a non-finite loss, or all steps done. */
  stopReason: 'diverged' | 'non-finite' | 'completed';
}

/**
 * The learning-rate range test (Smith 2015, "Cyclical Learning Rates", section 3.3; the form popularised
 * by fastai and used by reference article 002). Trains for up to `steps` batches while the rate grows
 * geometrically, batch i using
 *
 *     rate_i = start * (end / start)^(i / (steps - 1))
 *
 * The training itself is not done here: `step(batch)` is one training step at the optimizer's current
 * rate (forward, loss, backward, `optimizer.step()`) returning the batch's loss before the update, so the
 * loss is computed in one place, by whoever trains (train/'s `trainStep`, for `fit` and the command line).
 * This function owns the sweep: the rate before each step, the smoothing, the stop rule, the restore and
 * the suggestions. The loss is smoothed with a debiased exponential moving average (the Adam-style bias
 * correction, so early values are not pulled toward 0):
 *
 *     avg_i = beta * avg_(i-1) + (1 - beta) * loss_i          smoothed_i = avg_i / (1 - beta^(i+1))
 *
 * and the sweep stops once smoothed_i > stopFactor * min(smoothed_0..i) (or on a NaN/infinite loss,
 * which is not recorded; `step` should not apply it, and trainStep does not). Afterwards every parameter
 * (and every tensor of `model.stateDict()`, such as batch-norm statistics) gets its values back and the
 * optimizer its state, so the model is untouched (random generators, such as dropout's, are not rewound).
 *
 * The suggestions are not read from that moving average: it lags. Its minimum sits some batches after
 * the raw loss's, and on the default grid (100 batches over 8 decades, x1.2 a batch) a few batches are a
 * large factor in rate: on a noise-free quadratic, whose loss falls by orders of magnitude before it
 * turns, the smoothed minimum lands at 3x the rate where gradient descent diverges. They are read from a
 * centered average c_i (the mean of the raw losses i-h..i+h, h = 3% of the points, at least 2), which
 * does not lag. With m the index of its minimum:
 *   - steepest:  rate_i minimising (c_(i+k) - c_i) / (ln rate_(i+k) - ln rate_i), i + k <= m,
 *                k = 1% of the points (at least 1), skipping the first 10 (mostly noise) when m > 20;
 *   - minOver10: rate_m / 10 (fastai's rule);
 *   - halfTurn:  rate_m / 2: article 002's "the best rate is about half the rate where the loss turns
 *                up". On a/2 w² (divergence at 2/a, best rate 1/a) it comes out at about 1.2/a.
 *
 * @example
 * ```ts
 * import { Tensor, SGD, findLearningRate } from 'tapegrad';
 *
 * // w² (a = 2): gradient descent diverges above a rate of 1 and converges fastest at 0.5.
 * const w = Tensor.from([3], { requiresGrad: true });
 * const optimizer = new SGD([w], { lr: 0.01 });
 * const step = (): number => {
 *   optimizer.zeroGrad();
 *   const loss = w.square().sum();
 *   loss.backward();
 *   optimizer.step();
 *   return loss.item();
 * };
 * const result = findLearningRate(step, [null], { model: { parameters: () => [w] }, optimizer, start: 1e-3, end: 10 });
 * console.log(result.stopReason); // => 'diverged'
 * console.log(result.suggested > 0.25 && result.suggested < 1); // => true
 * console.log([w.item(), optimizer.lr]); // => [3, 0.01]
 * ```
 */
export function findLearningRate<B>(step: (batch: B) => number, batches: Iterable<B>, options: FindLearningRateOptions): LrFinderResult {
  const op = 'findLearningRate';
  const { model, optimizer } = options;
  const start = options.start ?? 1e-7;
  const end = options.end ?? 10;
  const steps = options.steps ?? 100;
  const beta = options.beta ?? 0.98;
  const stopFactor = options.stopFactor ?? 4;
  if (typeof step !== 'function') throw new TypeError(`${op}: step must be a function (batch) => loss`);
  if (!model || typeof model.parameters !== 'function') throw new TypeError(`${op}: options.model must have parameters() (the weights to restore)`);
  if (!optimizer || typeof optimizer.stateDict !== 'function') throw new TypeError(`${op}: options.optimizer must be the optimizer that step uses`);
  if (!(start > 0 && Number.isFinite(start))) throw new RangeError(`${op}: invalid start ${start}, expected a finite rate > 0`);
  if (!(end > start && Number.isFinite(end))) throw new RangeError(`${op}: invalid end ${end}, expected a finite rate > start (${start})`);
  if (!Number.isInteger(steps) || steps < 2) throw new RangeError(`${op}: invalid steps ${steps}, expected an integer >= 2`);
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`${op}: invalid beta ${beta}, expected 0 <= beta < 1`);
  if (!(stopFactor > 1)) throw new RangeError(`${op}: invalid stopFactor ${stopFactor}, expected stopFactor > 1`);

  const savedTensors = snapshot(model);
  const savedOptimizer: OptimizerStateDict = optimizer.stateDict();
  const nextBatch = cycle(batches, op);

  const rates: number[] = [];
  const losses: number[] = [];
  const smoothed: number[] = [];
  let stopReason: LrFinderResult['stopReason'] = 'completed';
  try {
    let avg = 0;
    let best = Infinity;
    for (let i = 0; i < steps; i++) {
      const rate = start * Math.pow(end / start, i / (steps - 1));
      optimizer.lr = rate;
      const value = step(nextBatch());
      if (!Number.isFinite(value)) {
        stopReason = 'non-finite';
        break;
      }
      avg = beta * avg + (1 - beta) * value;
      const smooth = avg / (1 - Math.pow(beta, i + 1));
      rates.push(rate);
      losses.push(value);
      smoothed.push(smooth);
      if (smooth < best) best = smooth;
      if (smooth > stopFactor * best) {
        stopReason = 'diverged';
        break;
      }
    }
  } finally {
    for (const [t, values] of savedTensors) t.data.set(values);
    optimizer.loadStateDict(savedOptimizer);
    optimizer.zeroGrad();
  }
  if (rates.length === 0) throw new RangeError(`${op}: the loss was not finite at the first batch (rate ${start}); nothing to suggest`);

  const centered = centeredAverage(losses, Math.max(2, Math.round(losses.length * 0.03)));
  const suggestions = suggest(rates, centered);
  return { rates, losses, smoothed, centered, suggestions, suggested: suggestions.halfTurn, stopReason };
}

/**
 * The mean of each loss and its k neighbours on either side (fewer at the ends). Unlike the moving
 * average, it does not lag: a minimum stays where it is.
 */
export function centeredAverage(losses: readonly number[], k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < losses.length; i++) {
    const lo = Math.max(0, i - k);
    const hi = Math.min(losses.length - 1, i + k);
    let sum = 0;
    for (let j = lo; j <= hi; j++) sum += losses[j];
    out.push(sum / (hi - lo + 1));
  }
  return out;
}

/** The three suggestions from a loss curve that does not lag (see findLearningRate). */
export function suggest(rates: readonly number[], smoothed: readonly number[]): LrSuggestions {
  let m = 0;
  for (let i = 1; i < smoothed.length; i++) if (smoothed[i] < smoothed[m]) m = i;
  // The first points are mostly noise (nothing has been learned yet at those rates): skip them as
  // fastai does (its skip_start = 10), unless the minimum comes that early. On a fine grid
  // neighbouring points are too close for a slope to mean anything, so it spans 1% of the sweep.
  const span = Math.max(1, Math.round(smoothed.length / 100));
  const skip = m > 20 ? 10 : 0;
  let steep = skip;
  let steepestSlope = Infinity;
  for (let i = skip; i + span <= m; i++) {
    const slope = (smoothed[i + span] - smoothed[i]) / (Math.log(rates[i + span]) - Math.log(rates[i]));
    if (slope < steepestSlope) {
      steepestSlope = slope;
      steep = i;
    }
  }
  return { steepest: rates[steep], minOver10: rates[m] / 10, halfTurn: rates[m] / 2 };
}

/** Copies of every parameter's values and of the model's state tensors (batch-norm statistics...). */
function snapshot(model: FinderModel): Map<Tensor, Float32Array> {
  const saved = new Map<Tensor, Float32Array>();
  for (const p of model.parameters()) saved.set(p, p.data.slice());
  if (typeof model.stateDict === 'function') {
    const state = model.stateDict();
    const tensors = state instanceof Map ? [...state.values()] : Object.values(state);
    for (const t of tensors) if (!saved.has(t)) saved.set(t, t.data.slice());
  }
  return saved;
}

/** Returns the batches one at a time, starting over when they run out (one-shot iterators are cached). */
function cycle<B>(batches: Iterable<B>, op: string): () => B {
  let iterator = batches[Symbol.iterator]();
  // A generator is its own iterator and cannot be restarted: remember what it gave.
  const oneShot = (iterator as unknown) === batches;
  const seen: B[] = [];
  let replay = -1;
  return () => {
    if (replay >= 0) {
      const b = seen[replay];
      replay = (replay + 1) % seen.length;
      return b;
    }
    let r = iterator.next();
    if (r.done) {
      if (oneShot) {
        if (seen.length === 0) throw new RangeError(`${op}: no batches`);
        replay = 1 % seen.length;
        return seen[0];
      }
      iterator = batches[Symbol.iterator]();
      r = iterator.next();
      if (r.done) throw new RangeError(`${op}: no batches`);
    }
    if (oneShot) seen.push(r.value);
    return r.value;
  };
}
