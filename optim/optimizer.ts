import { FormatError, ShapeError, allocPersistent, fmtShape } from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

/**
 * The optimizer base, in the shape of PyTorch's `torch.optim.Optimizer`. State has three owners:
 *
 * - `paramGroups`: the parameters and their hyper-parameters (`lr`, `momentum`, `betas`...). Schedules
 *   write `lr` here (through the `lr` setter) and nothing else, so a schedule never patches an optimizer.
 * - per-parameter `state`: the buffers an update needs (momentum, moving averages), created lazily on the
 *   first step that sees a gradient for that parameter, plus the parameter's own step count.
 * - `iterations`: how many times `step()` ran (Keras's `optimizer.iterations`; SGD's `decay` reads it).
 *
 * `step()` is thin: for each parameter with a gradient it fetches the state and calls the subclass's
 * update, which is a plain loop over Float32Arrays (`param.data`, `param.grad.data`, the buffers).
 * Parameters whose `grad` is null (unused in this forward pass, or frozen) are skipped, as in PyTorch.
 */

/** Hyper-parameters every optimizer has. Subclasses add their own (numbers, booleans, number pairs). */
export interface BaseHyper {
  /** The learning rate. */
  lr: number;
}

/** A group of parameters with its hyper-parameters (PyTorch's `param_groups` entry), defaults filled in. */
export type ParamGroup<H extends BaseHyper> = H & {
  /** The group's parameters, updated in place by `step()` (a copy of the list the caller passed). */
  params: Tensor[];
};

/** What a caller passes for a group: its parameters and any hyper-parameters that differ from the defaults. */
export type ParamGroupInput<H extends BaseHyper> = Partial<H> & {
  /** The tensors these hyper-parameters apply to (PyTorch's `params` key); a tensor may be in one group only. */
  params: Tensor[];
};

/** A parameter's optimizer state: named buffers the size of the parameter, scalars, and its step count. */
export interface ParamState {
  /** Steps taken for this parameter (1 during its first update): Adam's bias corrections use it. */
  step: number;
  /** Arrays the size of the parameter, by name (`momentum`, `exp_avg`, ...). */
  buffers: Record<string, Float32Array>;
  /** Per-parameter running numbers that are not arrays (Nadam's product of momentum coefficients). */
  scalars: Record<string, number>;
}

/** JSON-able part of an optimizer's state dictionary. */
export interface OptimizerMeta {
  /** The optimizer's class name, checked on load. */
  type: string;
  /** Steps taken (SGD's `decay` counts them). */
  iterations: number;
  /** One entry per group: its hyper-parameters and how many parameters it holds (in order). */
  groups: Array<Record<string, unknown> & {
    /** How many parameters the group holds; `loadStateDict` refuses a state whose counts differ. */
    paramCount: number;
  }>;
  /** One entry per parameter that has state, by its index in the flattened group order. */
  state: Array<{
    /** The parameter's position counted across all groups in order: the `<paramIndex>` of its buffers' names. */
    index: number;
    /** Its step count (`ParamState.step`). */
    step: number;
    /** Its non-array state (`ParamState.scalars`), copied. */
    scalars: Record<string, number>;
    /** The names of its buffers; the arrays are in `OptimizerStateDict.buffers` as `state.<index>.<name>`. */
    buffers: string[];
  }>;
}

/**
 * An optimizer's whole state, split so a checkpoint can store it: `meta` is plain JSON (it goes into the
 * safetensors `__metadata__`), `buffers` are float32 arrays named `state.<paramIndex>.<buffer>` (they go in
 * as tensors under an `optimizer.` prefix). `paramIndex` counts parameters across groups in order.
 */
export interface OptimizerStateDict {
  /** The JSON part. */
  meta: OptimizerMeta;
  /** The arrays, named `state.<paramIndex>.<buffer>`. */
  buffers: Record<string, Float32Array>;
}

/** `RangeError` for a hyper-parameter, echoing the value: "SGD: invalid momentum -1, expected 0 <= momentum < 1". */
export function invalid(op: string, name: string, value: unknown, expected: string): RangeError {
  const shown = Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
  return new RangeError(`${op}: invalid ${name} ${shown}, expected ${expected}`);
}

/** A finite number >= 0 (learning rates, weight decay, SGD's decay). */
export function checkNonNegative(op: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(op, name, value, `a finite ${name} >= 0`);
}

/** A number in [0, 1): momentum, betas, rho, alpha. */
export function checkUnitInterval(op: string, name: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw invalid(op, name, value, `0 <= ${name} < 1`);
}

/** A finite number > 0: epsilons. */
export function checkPositive(op: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid(op, name, value, `a finite ${name} > 0`);
}

/** Adam-style `betas = [beta1, beta2]`, each in [0, 1). */
export function checkBetas(op: string, betas: readonly number[]): void {
  if (!Array.isArray(betas) || betas.length !== 2) throw invalid(op, 'betas', betas, 'a pair [beta1, beta2]');
  if (!(betas[0] >= 0 && betas[0] < 1)) throw invalid(op, 'beta1', betas[0], '0 <= beta1 < 1');
  if (!(betas[1] >= 0 && betas[1] < 1)) throw invalid(op, 'beta2', betas[1], '0 <= beta2 < 1');
}

/**
 * Parameter groups that belong to other optimizers, shared rather than copied: what an optimizer made
 * of others (`Lookahead`, `Combined`) hands to the base constructor, so that a schedule writing
 * `paramGroups[i].lr` or `.momentum` writes the groups the inner optimizers read.
 */
export class SharedGroups {
  constructor(
    /** The inner optimizers' groups, in order (the same objects). */
    readonly groups: ParamGroup<any>[],
  ) {}
}

export abstract class Optimizer<H extends BaseHyper = BaseHyper> {
  /** The groups of parameters with their hyper-parameters (PyTorch's `param_groups`); schedules write `lr` here. */
  readonly paramGroups: ParamGroup<H>[];
  /** Per-parameter state (moment buffers, step counts), created at a parameter's first step. */
  readonly state = new Map<Tensor, ParamState>();
  /** Number of `step()` calls so far (Keras's `iterations`). */
  iterations = 0;
  /** The class's name as stored in state dictionaries ("SGD", "Adam", ...). */
  abstract readonly type: string;

  /**
   * `params` is a list of tensors (one group) or a list of groups, each with its own hyper-parameters
   * overriding `defaults`. The subclass validates each group with `validate`.
   */
  protected constructor(params: Tensor[] | ParamGroupInput<H>[] | SharedGroups, defaults: H, name: string) {
    if (params instanceof SharedGroups) {
      // An optimizer made of others: their groups, validated by them, are this one's.
      this.paramGroups = params.groups as ParamGroup<H>[];
      return;
    }
    if (!Array.isArray(params)) {
      // Keras's habit, `new SGD({ lr: 0.1 })`: say where the options go instead of "no params array".
      const got = params === null || typeof params !== 'object' ? String(params) : `{ ${Object.keys(params).join(', ')} }`;
      throw new TypeError(
        `${name}: the first argument is the parameters to optimize (model.parameters(), or a list of parameter groups), got ${got}; ` +
          `the options come second: new ${name}(model.parameters(), { lr: 0.01 })`,
      );
    }
    const inputs: ParamGroupInput<H>[] = isGroupList(params) ? params : [{ params } as ParamGroupInput<H>];
    if (inputs.length === 0) throw new RangeError(`${name}: got an empty list of parameters`);
    const seen = new Set<Tensor>();
    this.paramGroups = inputs.map((input, g) => {
      if (!Array.isArray(input.params)) throw new TypeError(`${name}: group ${g} has no params array`);
      for (const p of input.params) {
        if (seen.has(p)) throw new RangeError(`${name}: a parameter of shape ${fmtShape(p.shape)} appears more than once (group ${g})`);
        seen.add(p);
      }
      const group = { ...defaults, ...input, params: [...input.params] } as ParamGroup<H>;
      // Copy array hyper-parameters (betas) so groups never share, and never alias the caller's array.
      const fields = group as unknown as Record<string, unknown>;
      for (const key of Object.keys(fields)) {
        const v = fields[key];
        if (key !== 'params' && Array.isArray(v)) fields[key] = [...v];
      }
      this.validate(group);
      return group;
    });
  }

  /** Throws a `RangeError` echoing any hyper-parameter out of range. */
  protected abstract validate(group: H): void;

  /**
   * Updates one parameter in place from its gradient. `state.step` has already been advanced, so it
   * is 1 on the first update. `param` is the tensor itself, for an update that needs its shape (Muon).
   */
  protected abstract update(w: Float32Array, g: Float32Array, state: ParamState, group: H, param: Tensor): void;

  /**
   * A named state buffer of `size` floats, allocated (filled with `fill`) the first time it is asked
   * for: PyTorch's lazy state. An update asks for what it needs, so SGD gets a velocity only once its
   * momentum is non-zero (OneCycle may raise it mid-run).
   */
  protected buffer(state: ParamState, name: string, size: number, fill = 0): Float32Array {
    let buf = state.buffers[name];
    if (buf === undefined) {
      // In the engine's memory, beside the weights, so the WebAssembly update reads it in place.
      buf = allocPersistent(size);
      if (fill !== 0) buf.fill(fill);
      state.buffers[name] = buf;
    }
    return buf;
  }

  /** The rate the next step uses (group 0's; schedules read and write it). Setting it writes every group. */
  get lr(): number {
    return this.paramGroups[0].lr;
  }

  /** Sets the rate of every group (what schedules do); a negative or non-finite rate is a RangeError. */
  set lr(value: number) {
    checkNonNegative(this.type, 'lr', value);
    for (const group of this.paramGroups) group.lr = value;
  }

  /**
   * The rate the next step actually applies, with any built-in per-step decay folded in (SGD's Keras
   * `decay`, Adagrad's `lrDecay`); equal to `lr` for every other optimizer. For logging.
   */
  get currentLr(): number {
    return this.lr;
  }

  /** Every parameter, flattened in group order: the index a state dictionary uses. */
  params(): Tensor[] {
    const out: Tensor[] = [];
    for (const group of this.paramGroups) out.push(...group.params);
    return out;
  }

  /** Forgets every gradient (`grad = null`), so the next `backward()` starts from zero. */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        if (p.grad.data.length !== p.data.length) {
          throw new ShapeError(`${this.type}.step: gradient ${fmtShape(p.grad.shape)} does not match parameter ${fmtShape(p.shape)}`);
        }
        let s = this.state.get(p);
        if (s === undefined) {
          s = { step: 0, buffers: {}, scalars: {} };
          this.state.set(p, s);
        }
        s.step++;
        this.update(p.data, p.grad.data, s, group, p);
      }
    }
    this.iterations++;
  }

  /** A copy of everything needed to resume: hyper-parameters, `iterations` and every buffer. */
  stateDict(): OptimizerStateDict {
    const buffers: Record<string, Float32Array> = {};
    const state: OptimizerMeta['state'] = [];
    this.params().forEach((p, index) => {
      const s = this.state.get(p);
      if (s === undefined) return;
      state.push({ index, step: s.step, scalars: { ...s.scalars }, buffers: Object.keys(s.buffers) });
      for (const [name, buf] of Object.entries(s.buffers)) buffers[`state.${index}.${name}`] = buf.slice();
    });
    const groups = this.paramGroups.map((group) => {
      const { params, ...hyper } = group;
      return { ...JSON.parse(JSON.stringify(hyper)), paramCount: params.length };
    });
    return { meta: { type: this.type, iterations: this.iterations, groups, state }, buffers };
  }

  /**
   * Restores a state dictionary made by `stateDict()` of the same optimizer over parameters of the same
   * shapes. Checks everything before changing anything: the type, the group sizes, every buffer's size.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const where = `${this.type}.loadStateDict`;
    const { meta, buffers } = dict;
    if (meta === undefined || buffers === undefined) throw new FormatError(`${where}: expected { meta, buffers }`);
    if (meta.type !== this.type) throw new FormatError(`${where}: the state is for ${meta.type}, not ${this.type}`);
    if (meta.groups.length !== this.paramGroups.length) {
      throw new FormatError(`${where}: the state has ${meta.groups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    }
    meta.groups.forEach((g, i) => {
      const have = this.paramGroups[i].params.length;
      if (g.paramCount !== have) throw new FormatError(`${where}: group ${i} has ${g.paramCount} parameters in the state, ${have} here`);
    });
    const params = this.params();
    const restored = new Map<number, ParamState>();
    for (const entry of meta.state) {
      if (params[entry.index] === undefined) throw new FormatError(`${where}: state for parameter ${entry.index}, but there are ${params.length}`);
      restored.set(entry.index, { step: entry.step, buffers: {}, scalars: { ...entry.scalars } });
    }
    for (const [key, buf] of Object.entries(buffers)) {
      const match = /^state\.(\d+)\.(\w+)$/.exec(key);
      const s = match === null ? undefined : restored.get(Number(match[1]));
      if (match === null || s === undefined) throw new FormatError(`${where}: unexpected buffer '${key}' (no state entry for it)`);
      const p = params[Number(match[1])];
      if (buf.length !== p.data.length) {
        throw new ShapeError(`${where}: buffer '${key}' has ${buf.length} values, parameter ${match[1]} has shape ${fmtShape(p.shape)} (${p.data.length} values)`);
      }
      const copy = allocPersistent(buf.length);
      copy.set(buf);
      s.buffers[match[2]] = copy;
    }
    for (const entry of meta.state) {
      for (const name of entry.buffers ?? []) {
        if (restored.get(entry.index)?.buffers[name] === undefined) throw new FormatError(`${where}: missing buffer 'state.${entry.index}.${name}'`);
      }
    }
    const hypers = meta.groups.map((g) => {
      const { paramCount: _count, ...hyper } = g;
      return hyper as Partial<H>;
    });
    hypers.forEach((hyper, i) => this.validate({ ...this.paramGroups[i], ...hyper }));

    hypers.forEach((hyper, i) => Object.assign(this.paramGroups[i], hyper));
    this.state.clear();
    for (const [index, s] of restored) this.state.set(params[index], s);
    this.iterations = meta.iterations;
  }
}

function isGroupList<H extends BaseHyper>(params: Tensor[] | ParamGroupInput<H>[]): params is ParamGroupInput<H>[] {
  return params.length > 0 && (params[0] as { params?: unknown }).params !== undefined && !('data' in params[0]);
}
