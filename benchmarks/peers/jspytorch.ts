/**
 * Peer: js-pytorch 0.7 (tensors are nested JavaScript arrays). The same MLP: Linear layers with
 * Glorot-uniform weights (its Linear stores W as (in, out)) and zero biases, its CrossEntropyLoss.
 * Two differences the library imposes, noted in the results: it ships Adam only, so SGD with
 * momentum is written here by hand (v = m·v − lr·g, w += v); and its ReLU is leaky (slope 1e-3 below
 * zero). Prints one JSON line (PeerResult).
 */
import { torch } from 'js-pytorch';
import { CLASSES, PIXELS, fillBatch, glorotLimit, loadMnist, parsePeerArgs, printResult, timeInference, timeTraining } from '../mnist.js';

type Nested = number[] | Nested[];
// The parts of js-pytorch's Tensor this script touches (its published types are loose).
interface JTensor {
  _data: Nested;
  data: Nested;
  grad: Nested;
  shape: number[];
  backward(): void;
  zero_grad(): void;
}

const args = parsePeerArgs(process.argv.slice(2));
const B = args.batch;
const train = loadMnist('train');
const test = loadMnist('test');

function glorot(fanIn: number, fanOut: number): number[][] {
  const limit = glorotLimit(fanIn, fanOut);
  return Array.from({ length: fanIn }, () => Array.from({ length: fanOut }, () => (Math.random() * 2 - 1) * limit));
}

class Mlp extends torch.nn.Module {
  l1 = new torch.nn.Linear(PIXELS, 300);
  r1 = new torch.nn.ReLU();
  l2 = new torch.nn.Linear(300, 100);
  r2 = new torch.nn.ReLU();
  l3 = new torch.nn.Linear(100, CLASSES);
  constructor() {
    super();
    for (const [l, i, o] of [[this.l1, PIXELS, 300], [this.l2, 300, 100], [this.l3, 100, CLASSES]] as const) {
      (l.W as unknown as JTensor)._data = glorot(i, o);
    }
  }
  forward(x: unknown): unknown {
    return this.l3.forward(this.r2.forward(this.l2.forward(this.r1.forward(this.l1.forward(x as never)))));
  }
}

/** SGD with momentum, Keras form, over nested arrays. */
class SgdMomentum {
  private readonly velocity: Nested[];
  constructor(private readonly params: JTensor[], private readonly lr: number, private readonly momentum: number) {
    this.velocity = params.map((p) => zerosLike(p._data));
  }
  step(): void {
    this.params.forEach((p, i) => update(p._data, this.velocity[i], p.grad, this.lr, this.momentum));
  }
  zeroGrad(): void {
    for (const p of this.params) p.zero_grad();
  }
}

function zerosLike(a: Nested): Nested {
  return typeof a[0] === 'number' ? new Array(a.length).fill(0) : (a as Nested[]).map(zerosLike);
}

function update(w: Nested, v: Nested, g: Nested, lr: number, m: number): void {
  if (typeof w[0] === 'number') {
    const wn = w as number[], vn = v as number[], gn = g as number[];
    for (let k = 0; k < wn.length; k++) {
      vn[k] = m * vn[k] - lr * gn[k];
      wn[k] += vn[k];
    }
  } else {
    for (let k = 0; k < w.length; k++) update(w[k] as Nested, v[k] as Nested, g[k] as Nested, lr, m);
  }
}

function rows(x: Float32Array, n: number): number[][] {
  return Array.from({ length: n }, (_, r) => Array.from(x.subarray(r * PIXELS, (r + 1) * PIXELS)));
}

const model = new Mlp();
const lossFn = new torch.nn.CrossEntropyLoss();
const opt = new SgdMomentum(model.parameters() as unknown as JTensor[], 0.1, 0.9);
const x = new Float32Array(B * PIXELS);
const y = new Int32Array(B);

const training = await timeTraining((b) => {
  fillBatch(x, y, train, b, B);
  const logits = model.forward(torch.tensor(rows(x, B)));
  const loss = lossFn.forward(logits as never, torch.tensor(Array.from(y)) as never) as unknown as JTensor;
  loss.backward();
  opt.step();
  opt.zeroGrad();
  return (loss.data as number[])[0];
}, args.warmup, args.steps, B);

const inferSamplesPerSec = await timeInference(test, args.inferBatch, args.inferBatches, (x) => {
  model.forward(torch.tensor(rows(x, args.inferBatch)));
});

printResult('js-pytorch', args, training, inferSamplesPerSec, {
  note: 'SGD+momentum written by hand (the library ships Adam only); its ReLU is leaky (slope 1e-3)',
});
