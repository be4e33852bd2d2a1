/**
 * Pictures of the tape, as micrograd's `draw_dot`: `toDot` (engine/toDot.ts) writes the graph behind a
 * tensor as Graphviz DOT, and `@viz-js/viz` (Graphviz compiled to WebAssembly and shipped inside the npm
 * package: no system Graphviz, nothing downloaded) lays it out as SVG. Two pictures:
 *
 * 1. graph-scalar.svg: a = 2, b = -3, c = a·b + b, after `c.backward()`, with values and gradients.
 *    By the chain rule dc/da = b = -3 and dc/db = a + 1 = 3: b feeds two ops, so it gets the sum of
 *    the gradients through both.
 * 2. graph-mlp.svg: one training step of the MNIST net (784-300-100-10, Sequential, a batch of 64 real
 *    images) through crossEntropy: too big for values, so shapes only, with the parameters named by their
 *    state-dict keys. Sequential runs each Dense + ReLU as one fused op, `linear+relu`.
 *
 * `@viz-js/viz` is a devDependency: this is a repository script, so a library user of tapegrad does not
 * install Graphviz; `toDot` itself needs nothing. The pictures are drawn after backward, while the tape
 * still holds the graph (see toDot's doc comment).
 *
 *   npx tsx examples/draw-graph.ts [--quick] [--figures DIR]
 */
import { instance } from '@viz-js/viz';
import { Rng, Tensor, toDot } from '../engine/index.js';
import { DataLoader, loadMnist } from '../data/index.js';
import { Dense, ReLU, Sequential } from '../layers/index.js';
import { parseArgs, runIfMain, writeText, type Log } from './common.js';

/** a, b, c = a·b + b with one value each, after backward; the product keeps its gradient to show it. */
export function scalarGraph(): { dot: string; a: Tensor; b: Tensor; c: Tensor } {
  const a = Tensor.from(2, { requiresGrad: true });
  const b = Tensor.from(-3, { requiresGrad: true });
  const ab = a.mul(b).retainGrad();
  const c = ab.add(b).retainGrad();
  c.backward(); // the tape keeps what toDot draws (engine/tape.ts)
  return { dot: toDot(c, { names: { a, b, 'a·b': ab, c } }), a, b, c };
}

/** One batch of MNIST through 784-300-100-10 and crossEntropy, after backward. */
export function mlpGraph(seed: number, batchSize: number): { dot: string; loss: Tensor } {
  const { train } = loadMnist({ trainSize: batchSize, testSize: 0 });
  const { x, y } = new DataLoader(train, { batchSize, seed }).epochBatches(0).next().value!;
  const rng = new Rng(seed);
  const model = new Sequential([
    new Dense(784, 300, { rng }), new ReLU(),
    new Dense(300, 100, { rng }), new ReLU(),
    new Dense(100, 10, { rng }),
  ]);
  const logits = model.forward(x);
  const loss = Tensor.crossEntropy(logits, y);
  loss.backward();
  const names = new Map<Tensor, string>(model.namedParameters().map(([key, t]) => [t, key]));
  names.set(x, `x: ${batchSize} images`).set(logits, 'logits').set(loss, 'loss');
  return { dot: toDot(loss, { names, rankdir: 'TB' }), loss };
}

export async function main(args: string[], log: Log = console.log) {
  const { quick, seed, figures } = parseArgs(args);
  const viz = await instance();
  const pictures = [
    { name: 'graph-scalar.svg', dot: scalarGraph().dot },
    { name: 'graph-mlp.svg', dot: mlpGraph(seed, quick ? 8 : 64).dot },
  ];
  const svgs: Record<string, string> = {};
  for (const { name, dot } of pictures) {
    const svg = viz.renderString(dot, { format: 'svg' });
    svgs[name] = svg;
    const nodes = dot.match(/^ {2}(t|op)\d+ \[/gm)?.length ?? 0;
    const edges = dot.match(/ -> /g)?.length ?? 0;
    log(`${name}: ${nodes} nodes, ${edges} edges, ${svg.length} bytes of SVG`);
    writeText(figures, name, svg, log);
  }
  return svgs;
}

runIfMain(import.meta.url, main);
