import { FormatError, type Tensor } from '../engine/index.js';
import { AdamW } from './adamw.js';
import { Muon, type MuonHyper } from './muon.js';
import { Optimizer, SharedGroups, invalid } from './optimizer.js';
import type { OptimizerMeta, OptimizerStateDict } from './optimizer.js';

/** What `Combined.stateDict()` keeps besides the parts' own state dictionaries. */
export interface CombinedMeta extends OptimizerMeta {
  /** Each part's JSON state, in order; its buffers are under `part<k>.`. */
  parts: OptimizerMeta[];
  /** Part k's rate is `lr × lrRatios[k]` (lrRatios[0] is 1). */
  lrRatios: number[];
}

/**
 * Several optimizers over disjoint parameters, stepped as one: what `muonWithAdamW` returns (Muon for
 * the weight matrices, AdamW for the rest). It is an optimizer everywhere one is accepted: its
 * `paramGroups` are its parts' groups (the same objects, so a schedule that cycles momentum reaches
 * every part), `step()` steps every part, and the state dictionary holds every part's.
 *
 * Rates keep their ratios: `lr` is the first part's rate, and setting it (what a schedule does) sets
 * part k's to lr × (its rate / the first's, when combined). Muon's 0.02 and AdamW's 0.002 halve
 * together.
 *
 * @example
 * ```ts
 * import { Tensor, SGD, Adam, Combined } from 'tapegrad';
 *
 * const w = Tensor.zeros([2, 2], { requiresGrad: true });
 * const b = Tensor.zeros([2], { requiresGrad: true });
 * const optimizer = new Combined([new SGD([w], { lr: 0.1 }), new Adam([b], { lr: 0.01 })]);
 * console.log(optimizer.type); // => 'SGD+Adam'
 * optimizer.lr = 0.05; // a schedule halves the rate: both parts halve
 * console.log(optimizer.parts.map((p) => p.lr)); // => [0.05, 0.005]
 * ```
 */
export class Combined extends Optimizer<any> {
  /** The parts' types joined by '+' ('Muon+AdamW'), checked when a state is loaded. */
  readonly type: string;
  /** The optimizers, each over its own parameters. */
  readonly parts: Optimizer<any>[];
  /** Part k's rate is lr × lrRatios[k]. */
  private lrRatios: number[];

  constructor(parts: Optimizer<any>[]) {
    if (!Array.isArray(parts) || parts.length === 0 || !parts.every((p) => p instanceof Optimizer)) {
      throw new TypeError('Combined: expected a non-empty list of optimizers, e.g. new Combined([new Muon(matrices), new AdamW(others)])');
    }
    super(new SharedGroups(parts.flatMap((p) => p.paramGroups)), { lr: parts[0].lr }, 'Combined');
    const seen = new Set<Tensor>();
    for (const p of this.params()) {
      if (seen.has(p)) throw new RangeError('Combined: a parameter is in two of the optimizers; each must have its own');
      seen.add(p);
    }
    if (!(parts[0].lr > 0)) throw invalid('Combined', 'lr', parts[0].lr, "a first part's rate > 0 (the others' rates are kept as ratios to it)");
    this.parts = [...parts];
    this.type = parts.map((p) => p.type).join('+');
    this.lrRatios = parts.map((p) => p.lr / parts[0].lr);
  }

  protected validate(): void {
    // Each part validated its own groups.
  }

  protected update(): void {
    throw new Error('Combined.update: step() steps each part');
  }

  override get lr(): number {
    return this.parts[0].lr;
  }

  /** Sets every part's rate, keeping their ratios (what schedules do). */
  override set lr(value: number) {
    this.parts.forEach((p, k) => (p.lr = value * this.lrRatios[k]));
  }

  override get currentLr(): number {
    return this.parts[0].currentLr;
  }

  override step(): void {
    for (const p of this.parts) p.step();
    this.iterations++;
  }

  override stateDict(): OptimizerStateDict {
    const buffers: Record<string, Float32Array> = {};
    const parts = this.parts.map((p, k) => {
      const d = p.stateDict();
      for (const [name, buf] of Object.entries(d.buffers)) buffers[`part${k}.${name}`] = buf;
      return d.meta;
    });
    const meta: CombinedMeta = { type: this.type, iterations: this.iterations, groups: [], state: [], parts, lrRatios: [...this.lrRatios] };
    return { meta, buffers };
  }

  /** Restores every part (all or none: a part that refuses its state puts the others back). */
  override loadStateDict(dict: OptimizerStateDict): void {
    const where = `${this.type}.loadStateDict`;
    const meta = dict?.meta as CombinedMeta | undefined;
    if (meta === undefined || dict.buffers === undefined) throw new FormatError(`${where}: expected { meta, buffers }`);
    if (meta.type !== this.type) throw new FormatError(`${where}: the state is for ${meta.type}, not ${this.type}`);
    if (!Array.isArray(meta.parts) || meta.parts.length !== this.parts.length || !Array.isArray(meta.lrRatios)) {
      throw new FormatError(`${where}: expected the state of ${this.parts.length} parts`);
    }
    const split: Record<string, Float32Array>[] = this.parts.map(() => ({}));
    for (const [name, buf] of Object.entries(dict.buffers)) {
      const match = /^part(\d+)\.(.+)$/.exec(name);
      const k = match === null ? -1 : Number(match[1]);
      if (split[k] === undefined) throw new FormatError(`${where}: unexpected buffer '${name}'`);
      split[k][match![2]] = buf;
    }
    const before = this.parts.map((p) => p.stateDict());
    try {
      this.parts.forEach((p, k) => p.loadStateDict({ meta: meta.parts[k], buffers: split[k] }));
    } catch (e) {
      this.parts.forEach((p, k) => p.loadStateDict(before[k]));
      throw e;
    }
    this.lrRatios = [...meta.lrRatios];
    this.iterations = meta.iterations;
  }
}

/** Options of `muonWithAdamW`: Muon's (MuonHyper) and how AdamW treats the rest. */
export interface MuonWithAdamWOptions extends Partial<MuonHyper> {
  /** AdamW's rate as a fraction of Muon's (default 0.1, Keras's `adam_lr_ratio`); schedules move both. */
  adamwLrRatio?: number;
  /** AdamW's betas (default [0.9, 0.999]). */
  adamwBetas?: [number, number];
  /** AdamW's eps (default 1e-8). */
  adamwEps?: number;
  /** AdamW's decoupled decay (default: Muon's weightDecay, as Keras uses one weight_decay for both). */
  adamwWeightDecay?: number;
}

/**
 * Muon for a model's 2-D weight matrices and AdamW for everything else (biases, BatchNorm's and
 * LayerNorm's scales and shifts): Keras's rule (keras.optimizers.Muon sends every variable that is not
 * 2-D to its AdamW; PyTorch's Muon documentation asks for the same pairing). Returns one optimizer
 * (`Combined`, type 'Muon+AdamW') for `fit`, schedules, `Lookahead` and checkpoints. AdamW's rate is
 * `adamwLrRatio` (0.1) of Muon's, and a schedule keeps it so.
 *
 * @example
 * ```ts
 * import { Sequential, Dense, ReLU, muonWithAdamW } from 'tapegrad';
 *
 * const model = new Sequential([new Dense(4, 8), new ReLU(), new Dense(8, 3)]);
 * const optimizer = muonWithAdamW(model, { lr: 0.02 });
 * console.log(optimizer.type); // => 'Muon+AdamW'
 * console.log(optimizer.parts.map((p) => p.params().length)); // => [2, 2]
 * console.log(optimizer.parts.map((p) => p.lr)); // => [0.02, 0.002]
 * ```
 */
export function muonWithAdamW(model: { parameters(): Tensor[] } | Tensor[], options: MuonWithAdamWOptions = {}): Combined {
  const params = Array.isArray(model) ? model : model.parameters();
  const { adamwLrRatio = 0.1, adamwBetas = [0.9, 0.999], adamwEps = 1e-8, adamwWeightDecay, ...muonOptions } = options;
  if (typeof adamwLrRatio !== 'number' || !(adamwLrRatio > 0 && Number.isFinite(adamwLrRatio))) {
    throw invalid('muonWithAdamW', 'adamwLrRatio', adamwLrRatio, 'a finite ratio > 0');
  }
  const matrices = params.filter((p) => p.shape.length === 2);
  const rest = params.filter((p) => p.shape.length !== 2);
  if (matrices.length === 0) throw new RangeError('muonWithAdamW: the model has no 2-D weight matrix for Muon; use AdamW alone');
  const muon = new Muon(matrices, muonOptions);
  if (rest.length === 0) return new Combined([muon]);
  const group = muon.paramGroups[0];
  const adamw = new AdamW(rest, {
    lr: group.lr * adamwLrRatio,
    betas: adamwBetas,
    eps: adamwEps,
    weightDecay: adamwWeightDecay ?? group.weightDecay,
  });
  return new Combined([muon, adamw]);
}
