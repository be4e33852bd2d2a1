/**
 * The tape: how reverse-mode differentiation works, in three parts.
 *
 *  1. `record` — every op ends by calling it. If an input needs a gradient, the output remembers the
 *     op's name, its inputs (`parents`) and a `backward` function: given d(loss)/d(output), it returns
 *     d(loss)/d(input) for each input. That is the whole forward half of autograd.
 *  2. `topologicalOrder` — the tensors reachable from the loss, each input before what was made from it.
 *  3. `backward` — seed d(loss)/d(loss) = 1, walk that order backwards, and at each tensor hand its
 *     gradient to its op's `backward`, routing the results to the parents; a parent reached twice (a
 *     tensor used twice) receives the sum, which is the multivariate chain rule. Leaves (tensors no op
 *     made: weights, inputs) keep what arrives in `.grad`.
 *
 * Memory (engine/memory.ts has the rules). A walked graph is released: each op's node drops its
 * closure and the buffers it saved for backward, so a second backward through the same graph is an
 * error (as in PyTorch) unless the first was told `{ retainGraph: true }`; the node keeps its op's name
 * and its parents, so `toDot(loss)` after `loss.backward()` still draws the whole expression (micrograd's
 * habit), with the values that are still there. The tensors themselves go back to the arena a step
 * later (rule 2: `backward` starts by ending the step before the last). The gradients handed between
 * ops are the tape's own temporaries and return to the arena as soon as they are used. A leaf's
 * gradient lives in one persistent buffer per leaf, which every backward refills after `zeroGrad()`:
 * `p.grad` is the newest gradient, and an old `p.grad` object you kept shows the new numbers (clone it
 * to keep it).
 */
import { GradError, ShapeError, fmtShape } from './errors.js';
import { allocPersistent, offTape, onTape, recycleStorage, release, startBackward, storageOf, type Storage } from './memory.js';
import { Tensor } from './tensor.js';

/**
 * What the tape remembers about a tensor that an op produced: the op's name, its inputs, and a
 * function that turns the gradient of the output (`dout`, a tensor of the output's shape) into the
 * gradients of the inputs, in the inputs' order (null where an input needs none), each of its input's
 * shape. A backward returns fresh storage (from `alloc`) or `dout` itself when the gradient passes
 * through unchanged — never a view into another buffer, and never storage it keeps — because the tape
 * recycles every gradient once it has been used.
 */
export interface TapeNode {
  /** The op's name, as `toDot` and error messages show it: 'matmul', 'add', ... */
  op: string;
  /** The op's inputs, in argument order. Kept after a backward, so `toDot` can still draw the graph. */
  parents: Tensor[];
  /** `dout` (the output's gradient) to the inputs' gradients, in `parents` order (null: none needed). */
  backward: (dout: Tensor) => (Tensor | null)[];
  /**
   * The buffers the op saved for its backward alone (a dropout mask, softmax probabilities): they go with the closure.
   * @internal
   */
  saved: Storage[];
  /** True once a backward walked this node and dropped its closure and saved buffers. */
  released?: boolean;
}

/** Options of `Tensor.backward`. */
export interface BackwardOptions {
  /** Keep the graph after this backward, to walk it again or draw it (`toDot`). Default false. */
  retainGraph?: boolean;
}

let gradEnabled = true;

/** Runs `fn` without recording anything on the tape (inference, optimizer updates, metrics). */
export function noGrad<T>(fn: () => T): T {
  const before = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = before;
  }
}

/** False inside `noGrad`, where ops record nothing. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Records `out` on the tape if any input needs a gradient (and recording is on). Every op ends with
 * this call; it is the whole of the forward half of autograd. `saved` lists the buffers the op made for
 * its backward alone (not `out`): on the tape they live until the backward has used them; off it,
 * nothing will, so they go back at once.
 */
export function record(out: Tensor, op: string, parents: Tensor[], backward: TapeNode['backward'], saved: Float32Array[] = []): Tensor {
  if (gradEnabled && parents.some((p) => p.requiresGrad)) {
    const node: TapeNode = { op, parents, backward, saved: saved.map(storageOf) };
    out.node = node; // before requiresGrad, so the setter sees a non-leaf
    out.requiresGrad = true;
    onTape(out.storage);
    for (const s of node.saved) onTape(s);
  } else {
    for (const a of saved) release(a, 'its op');
    offTape(out.storage);
  }
  return out;
}

/** The persistent gradient buffer of each leaf (see the header: refilled after every zeroGrad). */
const gradStore = new WeakMap<Tensor, Tensor>();

/** The leaf's persistent gradient buffer, made on first use. */
function storeOf(t: Tensor): Tensor {
  let store = gradStore.get(t);
  if (store === undefined || store.size !== t.size) {
    store = new Tensor(allocPersistent(t.size), t.shape);
    gradStore.set(t, store);
  }
  return store;
}

/** The backward in progress: the gradients waiting, and the leaves' buffers handed to ops to write into. */
let walk: { grads: Map<Tensor, Tensor>; claimed: Set<Float32Array> } | null = null;

/**
 * Where an op may write the gradient of its input `t` directly, saving the tape a copy: the leaf's
 * persistent gradient buffer (what `t.grad` will be), when t is a leaf that needs a gradient, its
 * gradient was zeroed (`t.grad` is null), and no other gradient for it is waiting in this backward;
 * otherwise null, and the op allocates as usual. The op must overwrite every value and return this
 * tensor as t's gradient. A later gradient for the same leaf is then summed into it in place, and
 * the leaf takes it as `.grad` as it is (the weight-gradient product of a Dense layer writes straight
 * into `weight.grad`).
 */
export function gradTarget(t: Tensor): Tensor | null {
  if (walk === null || t.node !== null || !t.requiresGrad || t.grad !== null || walk.grads.has(t)) return null;
  const store = storeOf(t);
  if (walk.claimed.has(store.data)) return null;
  walk.claimed.add(store.data);
  return store;
}

/**
 * Reverse-mode differentiation from `root`. A scalar seeds its own gradient with 1; any other tensor
 * needs `gradient`, d(loss)/d(root), of root's shape. Gradients of leaves accumulate into `.grad`.
 */
export function backward(root: Tensor, gradient: Tensor | Float32Array | undefined, options: BackwardOptions): void {
  if (!root.requiresGrad) {
    throw new GradError(`backward: this tensor ${fmtShape(root.shape)} does not require a gradient: no input of the computation had requiresGrad`);
  }
  const seed = seedOf(root, gradient);
  const order = topologicalOrder(root);
  startBackward(graphStorages(order), options.retainGraph ?? false);

  // The gradient waiting at each tensor, and how many of those waiting entries share each buffer (an op
  // that passes dout through, like add, hands one buffer to two parents): a buffer returns to the
  // arena when no entry refers to it any more. The seed is the caller's and is never recycled.
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  const refs = new Map<Float32Array, number>([[seed.data, 1]]);
  // Leaves' gradient buffers that ops wrote into (gradTarget): never handed back to the arena.
  const claimed = new Set<Float32Array>();
  const unref = (g: Tensor): void => {
    const n = refs.get(g.data)! - 1;
    if (n > 0) {
      refs.set(g.data, n);
      return;
    }
    refs.delete(g.data);
    if (g.data !== seed.data && !claimed.has(g.data)) release(g.data);
  };
  const outer = walk;
  walk = { grads, claimed };
  try {
    walkBack(order, grads, refs, seed, unref, options);
  } finally {
    walk = outer;
  }
}

/** backward's walk over `order`, latest first (see the header). */
function walkBack(
  order: Tensor[], grads: Map<Tensor, Tensor>, refs: Map<Float32Array, number>, seed: Tensor, unref: (g: Tensor) => void,
  options: BackwardOptions,
): void {

  for (let n = order.length - 1; n >= 0; n--) {
    const t = order[n];
    const g = grads.get(t);
    if (g === undefined) continue;
    grads.delete(t);
    const node = t.node;
    if (node === null) {
      accumulateInto(t, g);
      unref(g);
      continue;
    }
    if (node.released) {
      throw new GradError(
        `backward: the graph through '${node.op}' ${fmtShape(t.shape)} was released by an earlier backward(); ` +
          'pass { retainGraph: true } to the first backward to walk a graph twice',
      );
    }
    if (t.retainsGrad) accumulateInto(t, g);

    const parentGrads = node.backward(g);
    const parents = node.parents;
    for (let i = 0; i < parents.length; i++) {
      const p = parents[i];
      const pg = parentGrads[i];
      if (!p.requiresGrad || pg === null || pg === undefined) continue;
      if (!sameShape(pg.shape, p.shape)) {
        throw new GradError(`backward: op '${node.op}' returned a gradient of shape ${fmtShape(pg.shape)} for input ${i} of shape ${fmtShape(p.shape)}`);
      }
      const existing = grads.get(p);
      if (existing === undefined) {
        grads.set(p, pg);
        refs.set(pg.data, (refs.get(pg.data) ?? 0) + 1);
        continue;
      }
      // A tensor used twice gets the sum of both gradients (the multivariate chain rule). Sum in place
      // when no other entry (and not the caller) shares the buffer; otherwise into a copy.
      let target = existing;
      if (refs.get(existing.data) !== 1 || existing.data === seed.data) {
        target = new Tensor(existing.data.slice(), existing.shape);
        unref(existing);
        refs.set(target.data, 1);
        grads.set(p, target);
      }
      const d = target.data;
      const s = pg.data;
      for (let k = 0; k < d.length; k++) d[k] += s[k];
      if (!refs.has(s)) release(s);
    }
    unref(g);
    if (!options.retainGraph) {
      node.released = true;
      node.backward = releasedBackward;
      for (const saved of node.saved) recycleStorage(saved, 'backward');
      node.saved = [];
    }
  }
}

/** Every storage the walk over `order` may read: each tensor's, its inputs' (needing a gradient or not) and the saved buffers. */
function graphStorages(order: Tensor[]): Set<Storage> {
  const inGraph = new Set<Storage>();
  for (const t of order) {
    inGraph.add(t.storage);
    const node = t.node;
    if (node === null) continue;
    for (const p of node.parents) inGraph.add(p.storage);
    for (const s of node.saved) inGraph.add(s);
  }
  return inGraph;
}

function releasedBackward(): never {
  throw new GradError('backward: this graph was released by an earlier backward()');
}

function seedOf(root: Tensor, gradient: Tensor | Float32Array | undefined): Tensor {
  if (gradient === undefined) {
    if (root.size !== 1) {
      throw new GradError(`backward: called on a non-scalar tensor of shape ${fmtShape(root.shape)} without a gradient; pass one of the same shape, or reduce to a scalar first (e.g. .sum())`);
    }
    return new Tensor(new Float32Array([1]), root.shape);
  }
  if (gradient instanceof Tensor) {
    if (!sameShape(gradient.shape, root.shape)) {
      throw new ShapeError(`backward: gradient of shape ${fmtShape(gradient.shape)} does not match the tensor's shape ${fmtShape(root.shape)}`);
    }
    return gradient;
  }
  if (gradient.length !== root.size) {
    throw new ShapeError(`backward: gradient of ${gradient.length} values does not match the tensor's shape ${fmtShape(root.shape)}`);
  }
  return new Tensor(gradient, root.shape);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Adds `g` into t.grad, starting from the leaf's persistent buffer when the gradient was zeroed (an op
 * that wrote into that buffer itself, gradTarget, leaves nothing to copy).
 */
function accumulateInto(t: Tensor, g: Tensor): void {
  if (t.grad === null) {
    const store = storeOf(t);
    if (g.data !== store.data) store.data.set(g.data);
    t.grad = store;
  } else {
    const d = t.grad.data;
    const s = g.data;
    for (let k = 0; k < d.length; k++) d[k] += s[k];
  }
}

/**
 * Tensors reachable from `root` through the tape, every input before the tensors made from it.
 * Iterative depth-first search with an explicit stack: a 10,000-op chain would overflow the call
 * stack if this recursed.
 */
export function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: { t: Tensor; expanded: boolean }[] = [{ t: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.t);
      continue;
    }
    if (visited.has(top.t)) continue;
    visited.add(top.t);
    stack.push({ t: top.t, expanded: true });
    for (const p of top.t.node?.parents ?? []) {
      if (p.requiresGrad && !visited.has(p)) stack.push({ t: p, expanded: false });
    }
  }
  return order;
}
