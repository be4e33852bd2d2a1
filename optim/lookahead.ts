import { FormatError, ShapeError, fmtShape, lookaheadSync, type Tensor } from '../engine/index.js';
import { Optimizer, SharedGroups, invalid } from './optimizer.js';
import type { OptimizerMeta, OptimizerStateDict, ParamState } from './optimizer.js';

/** Options of `Lookahead` (the paper's names and defaults). */
export interface LookaheadOptions {
  /** Inner steps between synchronisations, an integer >= 1 (default 5). */
  k?: number;
  /** How far the slow weights move towards the fast ones at each synchronisation, in [0, 1] (default 0.5). */
  alpha?: number;
}

/** What `Lookahead.stateDict()` keeps besides the slow weights: k, alpha and the inner optimizer's state. */
export interface LookaheadMeta extends OptimizerMeta {
  /** Inner steps between synchronisations. */
  k: number;
  /** The slow weights' step towards the fast ones. */
  alpha: number;
  /** The inner optimizer's JSON state; its buffers are under `inner.`. */
  inner: OptimizerMeta;
}

/**
 * Lookahead (Zhang, Lucas, Hinton & Ba 2019, "Lookahead Optimizer: k steps forward, 1 step back",
 * Algorithm 1) around any optimizer. The inner optimizer updates the fast weights (the parameters) as
 * usual; Lookahead keeps a slow copy of each, made at the parameter's first step, and every k steps
 *
 *     slow = slow + alpha * (fast - slow);   fast = slow
 *
 * so the weights the model ends each cycle with are an interpolation between where the cycle started and
 * where the inner optimizer took them. The inner optimizer keeps its state (momentum, moments) across the
 * synchronisation, as the paper's default does. Defaults k = 5, alpha = 0.5 (the paper's).
 *
 * It is an optimizer everywhere one is accepted: its `paramGroups` are the inner optimizer's (the same
 * objects), so a schedule writes the inner rate (and OneCycle's momentum); `lr` reads and writes the
 * inner rate; its state dictionary holds the slow weights, the step count and the inner state, so a
 * checkpoint resumes it exactly.
 *
 * @example
 * ```ts
 * import { Tensor, SGD, Lookahead } from 'tapegrad';
 *
 * const w = Tensor.from([1], { requiresGrad: true });
 * const optimizer = new Lookahead(new SGD([w], { lr: 0.1 }), { k: 2, alpha: 0.5 });
 * for (let step = 0; step < 2; step++) {
 *   w.grad = Tensor.from([1]); // a constant gradient: SGD moves w by −0.1 a step
 *   optimizer.step();
 * }
 * // Fast weights reached 0.8; the slow ones go half way from 1: both are now 0.9
 * console.log(w.toArray()); // => [0.9]
 * console.log(optimizer.lr); // => 0.1
 * ```
 */
export class Lookahead extends Optimizer<any> {
  readonly type = 'Lookahead';
  /** The optimizer that takes the fast steps. */
  readonly inner: Optimizer<any>;
  /** Inner steps between synchronisations. */
  k: number;
  /** The slow weights' step towards the fast ones. */
  alpha: number;

  constructor(inner: Optimizer<any>, options: LookaheadOptions = {}) {
    if (!(inner instanceof Optimizer)) {
      throw new TypeError('Lookahead: the first argument is the optimizer to wrap, e.g. new Lookahead(new SGD(model.parameters(), { lr: 0.1 }), { k: 5 })');
    }
    super(new SharedGroups(inner.paramGroups), { lr: inner.lr }, 'Lookahead');
    const k = options.k ?? 5;
    const alpha = options.alpha ?? 0.5;
    checkK(k);
    checkAlpha(alpha);
    this.inner = inner;
    this.k = k;
    this.alpha = alpha;
  }

  protected validate(): void {
    // The inner optimizer validated its groups.
  }

  protected update(): void {
    throw new Error('Lookahead.update: step() runs the inner optimizer');
  }

  override get lr(): number {
    return this.inner.lr;
  }

  /** Sets the inner optimizer's rate (what schedules do). */
  override set lr(value: number) {
    this.inner.lr = value;
  }

  override get currentLr(): number {
    return this.inner.currentLr;
  }

  /** One inner step; every k-th step also moves the slow weights and resets the fast ones to them. */
  override step(): void {
    for (const p of this.params()) {
      if (p.grad === null || this.state.has(p)) continue;
      // Lazy, as any optimizer's state: the slow copy starts at the parameter before its first update.
      const s: ParamState = { step: 0, buffers: {}, scalars: {} };
      this.buffer(s, 'slow', p.data.length).set(p.data);
      this.state.set(p, s);
    }
    this.inner.step();
    this.iterations++;
    for (const s of this.state.values()) s.step = this.iterations;
    if (this.iterations % this.k !== 0) return;
    for (const [p, s] of this.state) lookaheadSync(p.data, s.buffers.slow, { alpha: this.alpha }, p.data.length);
  }

  override stateDict(): OptimizerStateDict {
    const buffers: Record<string, Float32Array> = {};
    const state: OptimizerMeta['state'] = [];
    this.params().forEach((p, index) => {
      const s = this.state.get(p);
      if (s === undefined) return;
      state.push({ index, step: s.step, scalars: {}, buffers: ['slow'] });
      buffers[`state.${index}.slow`] = s.buffers.slow.slice();
    });
    const inner = this.inner.stateDict();
    for (const [name, buf] of Object.entries(inner.buffers)) buffers[`inner.${name}`] = buf;
    const meta: LookaheadMeta = { type: this.type, iterations: this.iterations, groups: [], state, k: this.k, alpha: this.alpha, inner: inner.meta };
    return { meta, buffers };
  }

  /** Restores the slow weights, k, alpha, the step count and the inner state; checks everything first. */
  override loadStateDict(dict: OptimizerStateDict): void {
    const where = 'Lookahead.loadStateDict';
    const meta = dict?.meta as LookaheadMeta | undefined;
    if (meta === undefined || dict.buffers === undefined) throw new FormatError(`${where}: expected { meta, buffers }`);
    if (meta.type !== this.type) throw new FormatError(`${where}: the state is for ${meta.type}, not Lookahead (around ${this.inner.type})`);
    checkK(meta.k);
    checkAlpha(meta.alpha);
    const params = this.params();
    const slow = new Map<number, Float32Array>();
    const innerBuffers: Record<string, Float32Array> = {};
    for (const [name, buf] of Object.entries(dict.buffers)) {
      if (name.startsWith('inner.')) {
        innerBuffers[name.slice('inner.'.length)] = buf;
        continue;
      }
      const match = /^state\.(\d+)\.slow$/.exec(name);
      const p = match === null ? undefined : params[Number(match[1])];
      if (p === undefined) throw new FormatError(`${where}: unexpected buffer '${name}'`);
      if (buf.length !== p.data.length) {
        throw new ShapeError(`${where}: buffer '${name}' has ${buf.length} values, parameter ${match![1]} has shape ${fmtShape(p.shape)}`);
      }
      slow.set(Number(match![1]), buf);
    }
    for (const entry of meta.state) {
      if (!slow.has(entry.index)) throw new FormatError(`${where}: missing buffer 'state.${entry.index}.slow'`);
    }
    this.inner.loadStateDict({ meta: meta.inner, buffers: innerBuffers });
    this.state.clear();
    for (const entry of meta.state) {
      const s: ParamState = { step: entry.step, buffers: {}, scalars: {} };
      this.buffer(s, 'slow', params[entry.index].data.length).set(slow.get(entry.index)!);
      this.state.set(params[entry.index], s);
    }
    this.k = meta.k;
    this.alpha = meta.alpha;
    this.iterations = meta.iterations;
  }
}

function checkK(k: unknown): void {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw invalid('Lookahead', 'k', k, 'an integer k >= 1');
}

function checkAlpha(alpha: unknown): void {
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw invalid('Lookahead', 'alpha', alpha, '0 <= alpha <= 1');
}
