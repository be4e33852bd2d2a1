import { fmtShape } from './errors.js';
import { Tensor } from './tensor.js';

/** Options of `toDot`. */
export interface ToDotOptions {
  /**
   * Names to print on tensors, as micrograd's `label`: either an object `{ a, b, c }` (the key is the
   * name) or a Map from tensor to name. Unnamed tensors show their shape and values only.
   */
  names?: Readonly<Record<string, Tensor>> | ReadonlyMap<Tensor, string>;
  /** Tensors with at most this many values print them, and their gradient if they have one (default 8; 0 = never). */
  maxValues?: number;
  /** Significant digits of the printed values (default 4). */
  digits?: number;
  /** Graphviz's `rankdir`: 'LR' (default, as micrograd: inputs on the left) or 'TB' (inputs on top). */
  rankdir?: 'LR' | 'TB';
}

/**
 * How each kind of node looks. The kinds are also written as the node's `class`, which Graphviz copies
 * into the SVG (`<g class="node parameter">`), so a picture can be styled or searched by kind.
 *   leaf:         data that no op made and that needs no gradient (inputs, targets, constants): dashed grey
 *   parameter:    a leaf with requiresGrad, what an optimizer updates: bold blue
 *   intermediate: a tensor an op made: rounded white
 *   op:           the operation between its inputs and its output: a grey ellipse
 * The root (the tensor passed to toDot) keeps its kind's look and gets a double border.
 */
const STYLE = {
  leaf: 'shape=box, style="filled,dashed", fillcolor="#f2f2f2", color="#777777"',
  parameter: 'shape=box, style="filled,bold", fillcolor="#cfe2ff", color="#1f5fbf"',
  intermediate: 'shape=box, style="filled,rounded", fillcolor="#ffffff", color="#333333"',
  op: 'shape=ellipse, style=filled, fillcolor="#e6e6e6", color="#e6e6e6", fontname="Helvetica-Bold"',
} as const;

/**
 * The graph behind `root` as Graphviz DOT text (render it with Graphviz, e.g. `@viz-js/viz`, see
 * examples/draw-graph.ts): micrograd's `draw_dot` for tensors. One node per tensor, showing its name
 * (see `names`), its shape, and for small tensors its values and, where it has one, its gradient; one
 * node per op; edges from each input to the op and from the op to its output. An input used twice by
 * one op (`a.mul(a)`) has two edges into it, as it gets two gradient contributions. Leaves, parameters
 * and intermediate tensors are drawn differently (see STYLE above) and the root has a double border.
 *
 * What is drawn is what the tape holds: each tensor's `node.op` and `node.parents`, nothing else.
 * Gradients: leaves keep theirs after `backward()`, intermediate tensors only with `retainGrad()`.
 * micrograd's idiom works: `loss.backward(); toDot(loss)` draws the whole expression with its values
 * and the leaves' gradients, because a backward keeps each node's op and parents (engine/tape.ts). Values
 * stay until the tensors are recycled (engine/memory.ts: outside a scope, at the second backward after
 * theirs); a recycled tensor is drawn as `data (recycled)`.
 *
 * Node ids follow a fixed order (inputs before the tensors made from them, an op's inputs in argument
 * order), so the same computation always gives the same text. The walk uses an explicit stack: a long
 * chain of ops would overflow the call stack if it recursed.
 *
 * @example
 * ```ts
 * import { Tensor, toDot } from 'tapegrad';
 *
 * const a = Tensor.from([1, 2], { requiresGrad: true });
 * const b = Tensor.from([3, 4]);
 * const y = a.mul(b).sum();
 * const dot = toDot(y, { names: { a, b, y } }); // feed it to Graphviz: dot -Tsvg
 * console.log(dot.split('\n')[0]); // => 'digraph tape {'
 * console.log([...dot.matchAll(/label="(\w+)", shape=ellipse/g)].map((m) => m[1])); // => ['mul', 'sum']
 * console.log(dot.includes('label="y\\nscalar\\ndata 11"')); // => true
 * ```
 */
export function toDot(root: Tensor, options: ToDotOptions = {}): string {
  if (!(root instanceof Tensor)) throw new TypeError(`toDot: expected a Tensor, got ${describe(root)}`);
  const maxValues = options.maxValues ?? 8;
  const digits = options.digits ?? 4;
  const rankdir = options.rankdir ?? 'LR';
  if (!Number.isInteger(maxValues) || maxValues < 0) throw new RangeError(`toDot: invalid maxValues ${maxValues}, expected an integer >= 0`);
  if (!Number.isInteger(digits) || digits < 1 || digits > 21) throw new RangeError(`toDot: invalid digits ${digits}, expected an integer in [1, 21]`);
  if (rankdir !== 'LR' && rankdir !== 'TB') throw new RangeError(`toDot: invalid rankdir ${JSON.stringify(rankdir)}, expected 'LR' or 'TB'`);
  const names = nameMap(options.names);

  const order = graphOrder(root);
  const id = new Map<Tensor, number>();
  for (let i = 0; i < order.length; i++) id.set(order[i], i);

  const lines = [
    'digraph tape {',
    `  rankdir=${rankdir};`,
    '  node [fontname="Helvetica", fontsize=11, margin="0.12,0.05"];',
    '  edge [color="#555555", arrowsize=0.7];',
  ];
  for (let i = 0; i < order.length; i++) {
    const t = order[i];
    const kind = t.node !== null ? 'intermediate' : t.requiresGrad ? 'parameter' : 'leaf';
    const label = tensorLabel(t, names.get(t), maxValues, digits);
    const rootMark = t === root ? ', peripheries=2' : '';
    lines.push(`  t${i} [label="${escape(label)}", ${STYLE[kind]}, class="${kind}${t === root ? ' root' : ''}"${rootMark}];`);
    if (t.node === null) continue;
    lines.push(`  op${i} [label="${escape(t.node.op)}", ${STYLE.op}, class="op"];`);
    for (const p of t.node.parents) lines.push(`  t${id.get(p)} -> op${i};`);
    lines.push(`  op${i} -> t${i};`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/**
 * Every tensor reachable from `root` through `node.parents`, each after all of its inputs, the inputs
 * of one op in argument order. Unlike backward's walk this follows inputs that need no gradient too
 * (the data, constants): they belong in the picture. Depth-first with an explicit stack.
 */
function graphOrder(root: Tensor): Tensor[] {
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
    const parents = top.t.node?.parents ?? [];
    // Pushed last-first so that the first input is popped, and numbered, first.
    for (let i = parents.length - 1; i >= 0; i--) if (!visited.has(parents[i])) stack.push({ t: parents[i], expanded: false });
  }
  return order;
}

function nameMap(names: ToDotOptions['names']): ReadonlyMap<Tensor, string> {
  if (names === undefined) return new Map();
  if (names instanceof Map) {
    for (const [t, name] of names) {
      if (!(t instanceof Tensor)) throw new TypeError(`toDot: names: a key is ${describe(t)}, expected a Tensor`);
      if (typeof name !== 'string') throw new TypeError(`toDot: names: the name of a tensor is ${describe(name)}, expected a string`);
    }
    return names;
  }
  const map = new Map<Tensor, string>();
  for (const [name, t] of Object.entries(names)) {
    if (!(t instanceof Tensor)) throw new TypeError(`toDot: names.${name} is ${describe(t)}, expected a Tensor`);
    map.set(t, name);
  }
  return map;
}

/** The lines of a tensor's node: name, shape, then (small tensors only) data and grad. */
function tensorLabel(t: Tensor, name: string | undefined, maxValues: number, digits: number): string {
  const lines: string[] = [];
  if (name !== undefined) lines.push(name);
  lines.push(t.ndim === 0 ? 'scalar' : fmtShape(t.shape));
  if (t.size <= maxValues) {
    // A tensor recycled since (engine/memory.ts: a step after its backward) is drawn without its values.
    lines.push(t.recycled ? 'data (recycled)' : `data ${formatValues(t.data, t.shape, digits)}`);
    if (t.grad !== null && !t.grad.recycled) lines.push(`grad ${formatValues(t.grad.data, t.shape, digits)}`);
  }
  return lines.join('\n');
}

/** `-9` for a scalar, `[1, 2]` for a vector, `[[1, 2], [3, 4]]` for a matrix: nested by the shape. */
function formatValues(data: Float32Array, shape: readonly number[], digits: number): string {
  const num = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : String(v));
  if (shape.length === 0) return num(data[0]);
  // Each value is preceded by one '[' for every axis that starts at it and followed by one ']' for every
  // axis that ends at it: the nesting of toArray() without building the arrays.
  let out = '';
  for (let i = 0; i < data.length; i++) {
    let starts = 0;
    let ends = 0;
    let stride = 1;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      stride *= shape[axis];
      if (i % stride === 0) starts++;
      if ((i + 1) % stride === 0) ends++;
    }
    if (i > 0) out += ', ';
    out += '['.repeat(starts) + num(data[i]) + ']'.repeat(ends);
  }
  return data.length === 0 ? '[]' : out;
}

/**
 * A DOT double-quoted string's content: `"` and `\` are escaped (so a name cannot end the string or
 * start one of Graphviz's `\N`-style escapes), and a line break becomes `\n`, Graphviz's centred line.
 */
function escape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r\n|\r|\n/g, '\\n');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return `${typeof value} ${String(value)}`;
}
