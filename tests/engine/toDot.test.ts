/**
 * toDot: the DOT text is read back by Graphviz itself (`@viz-js/viz`, its JSON output), so the tests
 * check what Graphviz understood — nodes, edges, attributes and the text lines it lays out — rather than
 * comparing against a frozen string.
 */
import { instance, type Viz } from '@viz-js/viz';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor, toDot, type TapeNode } from '../../engine/index.js';

interface GvNode {
  name: string;
  /** The lines of text Graphviz draws in the node (its label after unescaping). */
  text: string[];
  attrs: Record<string, string>;
}

interface GvGraph {
  nodes: GvNode[];
  /** [tail, head] pairs of node names, one per edge (an edge given twice appears twice). */
  edges: [string, string][];
}

let viz: Viz;
beforeAll(async () => {
  viz = await instance();
});

/** Graphviz's reading of a DOT text. */
function parse(dot: string): GvGraph {
  const json = viz.renderJSON(dot) as {
    objects?: ({ _gvid: number; name: string; _ldraw_?: { op: string; text?: string }[] } & Record<string, unknown>)[];
    edges?: { tail: number; head: number }[];
  };
  const objects = json.objects ?? [];
  const nodes = objects.map((o) => {
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(o)) if (typeof v === 'string') attrs[k] = v;
    return { name: o.name, text: (o._ldraw_ ?? []).filter((d) => d.op === 'T').map((d) => d.text!), attrs };
  });
  const byId = new Map(objects.map((o) => [o._gvid, o.name]));
  const edges = (json.edges ?? []).map((e) => [byId.get(e.tail)!, byId.get(e.head)!] as [string, string]);
  return { nodes, edges };
}

/**
 * The lines of text of an SVG rendering, XML entities decoded: what a reader sees. (Graphviz's JSON
 * output doubles backslashes in its text, so labels with backslashes are checked here.)
 */
function svgTexts(dot: string): string[] {
  const svg = viz.renderString(dot, { format: 'svg' });
  const decode = (s: string) =>
    s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => decode(m[1]));
}

/** The node whose first text line is `first` (a tensor's name, or an op's label). */
function node(g: GvGraph, first: string): GvNode {
  const found = g.nodes.filter((n) => n.text[0] === first);
  expect(found, `nodes whose first line is ${JSON.stringify(first)} among ${JSON.stringify(g.nodes.map((n) => n.text))}`).toHaveLength(1);
  return found[0];
}

/** Edges as "from -> to" by first text line, sorted: a multiset that does not depend on ids. */
function edgeList(g: GvGraph): string[] {
  const first = new Map(g.nodes.map((n) => [n.name, n.text[0]]));
  return g.edges.map(([t, h]) => `${first.get(t)} -> ${first.get(h)}`).sort();
}

function scalarExpression() {
  const a = Tensor.from(2, { requiresGrad: true });
  const b = Tensor.from(-3, { requiresGrad: true });
  const ab = a.mul(b).retainGrad();
  const c = ab.add(b).retainGrad();
  return { a, b, ab, c };
}

describe('toDot', () => {
  it('c = a·b + b after a plain backward (micrograd\'s idiom): exactly the tensors, the ops and the edges, with values and gradients', () => {
    const { a, b, ab, c } = scalarExpression();
    c.backward();
    const g = parse(toDot(c, { names: { a, b, ab, c } }));
    expect(g.nodes.map((n) => n.text[0]).sort()).toEqual(['a', 'ab', 'add', 'b', 'c', 'mul']);
    expect(edgeList(g)).toEqual(['a -> mul', 'ab -> add', 'add -> c', 'b -> add', 'b -> mul', 'mul -> ab']);
    // dc/da = b, dc/db = a + 1 (b reaches c twice), dc/d(ab) = dc/dc = 1.
    expect(node(g, 'a').text).toEqual(['a', 'scalar', 'data 2', 'grad -3']);
    expect(node(g, 'b').text).toEqual(['b', 'scalar', 'data -3', 'grad 3']);
    expect(node(g, 'ab').text).toEqual(['ab', 'scalar', 'data -6', 'grad 1']);
    expect(node(g, 'c').text).toEqual(['c', 'scalar', 'data -9', 'grad 1']);
  });

  it('a step later the picture stays, and the recycled values say so', () => {
    const { a, b, ab, c } = scalarExpression();
    c.backward();
    a.mul(1).sum().backward();
    a.mul(1).sum().backward(); // two backwards later: c's step has gone back to the arena (engine/memory.ts)
    const g = parse(toDot(c, { names: { a, b, ab, c } }));
    expect(g.nodes.map((n) => n.text[0]).sort()).toEqual(['a', 'ab', 'add', 'b', 'c', 'mul']);
    expect(node(g, 'c').text).toEqual(['c', 'scalar', 'data (recycled)', 'grad 1']);
    expect(node(g, 'b').text).toEqual(['b', 'scalar', 'data -3', 'grad 3']);
  });

  it('before backward there are no gradients to show; a Map names tensors too', () => {
    const { a, b, c } = scalarExpression();
    const g = parse(toDot(c, { names: new Map([[a, 'a'], [b, 'b'], [c, 'c']]) }));
    expect(node(g, 'a').text).toEqual(['a', 'scalar', 'data 2']);
    expect(node(g, 'c').text).toEqual(['c', 'scalar', 'data -9']);
    // The unnamed product shows its shape first.
    expect(g.nodes.filter((n) => n.text[0] === 'scalar')).toHaveLength(1);
  });

  it('a tensor used twice by one op has two edges into it', () => {
    const a = Tensor.from([1, 2, 3], { requiresGrad: true });
    const g = parse(toDot(a.mul(a), { names: { a } }));
    expect(edgeList(g)).toEqual(['a -> mul', 'a -> mul', 'mul -> [3]']);
  });

  it('leaves, parameters and intermediate tensors look different, and the root is marked', () => {
    const x = Tensor.from([[1, 2], [3, 4]]);
    const w = Tensor.from([[0.5], [-1]], { requiresGrad: true });
    const h = x.matmul(w);
    const y = h.relu().sum();
    const g = parse(toDot(y, { names: { x, w, h, y } }));
    const [nx, nw, nh, ny] = ['x', 'w', 'h', 'y'].map((name) => node(g, name));
    expect(nx.attrs.class).toBe('leaf');
    expect(nw.attrs.class).toBe('parameter');
    expect(nh.attrs.class).toBe('intermediate');
    expect(ny.attrs.class).toBe('intermediate root');
    const look = (n: GvNode) => `${n.attrs.shape} ${n.attrs.style} ${n.attrs.fillcolor}`;
    expect(new Set([look(nx), look(nw), look(nh), look(node(g, 'matmul'))]).size).toBe(4);
    expect(ny.attrs.peripheries).toBe('2');
    for (const n of [nx, nw, nh]) expect(n.attrs.peripheries).toBeUndefined();
    expect(node(g, 'matmul').attrs.class).toBe('op');
  });

  it('a constant the op lifted from a number is a leaf of its own', () => {
    const w = Tensor.from([1, 2], { requiresGrad: true });
    const g = parse(toDot(w.mul(10), { names: { w } }));
    const constant = g.nodes.find((n) => n.attrs.class === 'leaf')!;
    expect(constant.text).toEqual(['scalar', 'data 10']);
    expect(edgeList(g)).toEqual(['mul -> [2]', 'scalar -> mul', 'w -> mul']);
  });

  it('names with quotes, backslashes and line breaks are escaped: Graphviz draws them as written', () => {
    const t = Tensor.from([1], { requiresGrad: true });
    const name = 'say "hi" \\N\nnext';
    const dot = toDot(t.relu(), { names: { [name]: t } });
    expect(parse(dot).nodes).toHaveLength(3);
    expect(svgTexts(dot).slice(0, 4)).toEqual(['say "hi" \\N', 'next', '[1]', 'data [1]']);
  });

  it('values only for small tensors (maxValues), nested by the shape, with the digits asked for', () => {
    const m = Tensor.from([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const s = m.mul(1 / 3).sum();
    s.backward({ retainGraph: true });
    const byDefault = parse(toDot(s, { names: { m, s } }));
    expect(node(byDefault, 'm').text).toEqual(['m', '[2,3]', 'data [[1, 2, 3], [4, 5, 6]]', 'grad [[0.3333, 0.3333, 0.3333], [0.3333, 0.3333, 0.3333]]']);
    expect(node(byDefault, 'scalar').text).toEqual(['scalar', 'data 0.3333']); // the lifted 1/3
    const small = parse(toDot(s, { names: { m, s }, maxValues: 5, digits: 2 }));
    expect(node(small, 'm').text).toEqual(['m', '[2,3]']);
    expect(node(small, 'scalar').text).toEqual(['scalar', 'data 0.33']);
    const none = parse(toDot(s, { names: { m }, maxValues: 0 }));
    expect(none.nodes.every((n) => n.text.every((line) => !line.startsWith('data')))).toBe(true);
    const nan = parse(toDot(Tensor.from([NaN, Infinity], { requiresGrad: true })));
    expect(nan.nodes[0].text).toEqual(['[2]', 'data [NaN, Infinity]']);
  });

  it('the same computation gives the same text, inputs numbered before the tensors made from them', () => {
    const build = () => {
      const { c } = scalarExpression();
      return toDot(c);
    };
    const dot = build();
    expect(build()).toBe(dot);
    const ids = [...dot.matchAll(/^ {2}t(\d+) \[/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual([0, 1, 2, 3]);
    // Every edge into an op comes from a tensor numbered below the op's output.
    for (const [, from, to] of dot.matchAll(/^ {2}t(\d+) -> op(\d+);$/gm)) expect(Number(from)).toBeLessThan(Number(to));
  });

  it('asks nothing of the tape but op and parents; a tensor with no node is drawn alone', () => {
    const a = Tensor.from([1], { requiresGrad: true });
    const made = new Tensor(new Float32Array([2]), [1], true);
    made.node = { op: 'custom', parents: [a, a] } as unknown as TapeNode;
    const g = parse(toDot(made, { names: { a, made } }));
    expect(edgeList(g)).toEqual(['a -> custom', 'a -> custom', 'custom -> made']);
    made.node = null;
    const released = parse(toDot(made, { names: { made } }));
    expect(released.nodes.map((n) => n.text[0])).toEqual(['made']);
  });

  it('a chain of 20,000 ops does not overflow the stack', () => {
    const x = Tensor.from([1], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 10_000; i++) y = y.add(1e-4).mul(1);
    const dot = toDot(y);
    // Tensors: x, 20,000 results and 20,000 lifted constants; each op has two inputs and one output.
    expect(dot.match(/^ {2}t\d+ \[/gm)).toHaveLength(40_001);
    expect(dot.match(/^ {2}op\d+ \[/gm)).toHaveLength(20_000);
    expect(dot.match(/ -> /g)).toHaveLength(60_000);
    expect(dot).toMatch(/^ {2}t0 \[label="\[1\]\\ndata \[1\]", [^\n]*class="parameter"\];$/m);
  });

  it('rejects what it cannot draw, naming it', () => {
    const t = Tensor.from([1], { requiresGrad: true });
    expect(() => toDot([1, 2] as unknown as Tensor)).toThrow(/toDot: expected a Tensor, got Array/);
    expect(() => toDot(t, { maxValues: -1 })).toThrow(/invalid maxValues -1/);
    expect(() => toDot(t, { digits: 0 })).toThrow(/invalid digits 0/);
    expect(() => toDot(t, { rankdir: 'RL' as 'LR' })).toThrow(/invalid rankdir "RL"/);
    expect(() => toDot(t, { names: { a: 3 as unknown as Tensor } })).toThrow(/names\.a is number 3, expected a Tensor/);
  });

  it('Graphviz renders it as SVG with every label in it', () => {
    const { a, b, c } = scalarExpression();
    c.backward({ retainGraph: true });
    const dot = toDot(c, { names: { a, b, c } });
    const svg = viz.renderString(dot, { format: 'svg' });
    expect(svg).toMatch(/<svg[\s>]/);
    const texts = svgTexts(dot);
    for (const label of ['a', 'b', 'c', 'mul', 'add', 'data 2', 'grad -3', 'data -3', 'grad 3', 'data -9']) expect(texts).toContain(label);
    expect(svg).toContain('class="node parameter"');
  });
});
