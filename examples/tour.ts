/**
 * The live companion of docs/TOUR.md: one MNIST mini-batch of 64 through 784-300-100-10, the loss,
 * backward and one SGD step, printing the shapes and a few numbers at each stop (numbered as in the tour).
 *
 *   npx tsx examples/tour.ts
 */
import { Rng, Tensor, dropout, gradcheck, linear, noGrad } from '../engine/index.js';
import { DataLoader, loadMnist } from '../data/index.js';
import { Dense, ReLU, Sequential } from '../layers/index.js';
import { SGD } from '../optim/index.js';
import { fmt, parseArgs, runIfMain, type Log } from './common.js';

const shape = (t: Tensor): string => `[${t.shape.join(', ')}]`;
const first = (a: ArrayLike<number>, n = 4): string => Array.from(a).slice(0, n).map((v) => v.toFixed(4)).join(', ');

export async function main(args: string[], log: Log = console.log): Promise<void> {
  const { seed } = parseArgs(args);
  const B = 64;

  log('1. the batch');
  const { train } = loadMnist({ trainSize: 1000, testSize: 0 });
  const loader = new DataLoader(train, { batchSize: B, seed });
  const { x, y } = loader.epochBatches(0).next().value!;
  log(`   x: Tensor ${shape(x)}, storage Float32Array(${x.data.length}); y: Int32Array(${y.length}) = ${Array.from(y.slice(0, 10)).join(' ')} ...`);
  log(`   sample 0, pixels 350-353 (row 12): x.data[0*784 + 350..] = ${first(x.data.subarray(350))}`);

  const rng = new Rng(seed);
  const model = new Sequential([
    new Dense(784, 300, { rng }), new ReLU(),
    new Dense(300, 100, { rng }), new ReLU(),
    new Dense(100, 10, { rng }),
  ]);
  const [dense1, relu1, dense2, relu2, dense3] = model.layers as [Dense, ReLU, Dense, ReLU, Dense];

  log('2. Dense(784, 300): x·Wᵀ + b');
  const z1 = dense1.forward(x);
  log(`   weight ${shape(dense1.weight)} (Glorot-uniform), bias ${shape(dense1.bias!)} (zeros) -> z1 ${shape(z1)}`);
  log(`   z1[0, 0..3] = ${first(z1.data)}`);

  log('3. what the tape recorded');
  log(`   z1.node.op = '${z1.node!.op}', parents: ${z1.node!.parents.map(shape).join(', ')} (x needs no gradient: ${!x.requiresGrad})`);

  log('4. ReLU, then the same again, down to the logits');
  z1.retainGrad();
  const a1 = relu1.forward(z1);
  let zeros = 0;
  for (const v of a1.data) if (v === 0) zeros++;
  log(`   a1 ${shape(a1)}: ${fmt((100 * zeros) / a1.size, 1)}% of the units are 0`);
  const z2 = dense2.forward(a1);
  const a2 = relu2.forward(z2);
  const logits = dense3.forward(a2).retainGrad();
  log(`   z2 ${shape(z2)} -> a2 ${shape(a2)} -> logits ${shape(logits)}`);

  log('5. softmax + cross-entropy, fused');
  const loss = Tensor.crossEntropy(logits, y);
  const probs = noGrad(() => logits.softmax(-1));
  log(`   loss = ${fmt(loss.item())} (an untrained net guesses about 1/10: -ln(0.1) = ${fmt(Math.log(10))})`);
  log(`   softmax of row 0: ${first(probs.data, 10)}`);

  log('6. backward: the tape in reverse');
  const order: string[] = [];
  for (let t: Tensor | undefined = loss; t?.node; t = t.node.parents[0]) order.push(t.node.op);
  log(`   ${order.join(' -> ')} (then the leaves: 6 parameters)`);
  model.parameters().forEach((p) => (p.grad = null));
  loss.backward();

  log('7. each op backward');
  // Softmax-CE: dlogits = (p - onehot) / B.
  let worst = 0;
  let rowSum = 0;
  for (let c = 0; c < 10; c++) {
    const expected = (probs.data[c] - (c === y[0] ? 1 : 0)) / B;
    worst = Math.max(worst, Math.abs(logits.grad!.data[c] - expected));
    rowSum += logits.grad!.data[c];
  }
  log(`   dlogits row 0 = (p - onehot)/64: max difference ${worst.toExponential(1)}, row sum ${rowSum.toExponential(1)}`);
  // ReLU: no gradient flows where the unit was off.
  let leaked = 0;
  for (let i = 0; i < z1.size; i++) if (z1.data[i] <= 0 && z1.grad!.data[i] !== 0) leaked++;
  log(`   ReLU: units with z1 <= 0 that received a gradient: ${leaked}`);
  for (const [name, p] of model.namedParameters()) log(`   ${name.padEnd(9)} ${shape(p).padEnd(11)} grad ${shape(p.grad!)}`);
  // The same step through model.forward, which fuses each Dense + ReLU pair into one op.
  const layerGrads = model.parameters().map((p) => p.grad!.data.slice());
  model.parameters().forEach((p) => (p.grad = null));
  const fusedLoss = Tensor.crossEntropy(model.forward(x), y);
  const fusedOrder: string[] = [];
  for (let t: Tensor | undefined = fusedLoss; t?.node; t = t.node.parents[0]) fusedOrder.push(t.node.op);
  fusedLoss.backward();
  let gradDiff = 0;
  model.parameters().forEach((p, i) => {
    for (let k = 0; k < p.size; k++) gradDiff = Math.max(gradDiff, Math.abs(p.grad!.data[k] - layerGrads[i][k]));
  });
  log(`   through model.forward: ${fusedOrder.join(' -> ')}; largest gradient difference ${gradDiff}`);
  const ones = Tensor.ones([10000]);
  const dropped = dropout(ones, 0.5, new Rng(seed));
  const kept = dropped.data.filter((v) => v !== 0);
  log(`   dropout(0.5) of 10000 ones: ${kept.length} survive, each = ${kept[0]}, mean = ${fmt(dropped.mean().item(), 3)}`);

  log('8. gradcheck');
  const r = new Rng(seed + 1);
  const xs = Tensor.randn([4, 5], { rng: r });
  const w = Tensor.randn([3, 5], { rng: r });
  const b = Tensor.randn([3], { rng: r });
  const labels = Int32Array.from([0, 2, 1, 2]);
  const err = gradcheck((xi, wi, bi) => Tensor.crossEntropy(linear(xi, wi, bi).relu(), labels), [xs, w, b]);
  log(`   linear + relu + cross-entropy: max relative error ${err.toExponential(2)}`);

  log('9. SGD: lr 0.1, momentum 0.9, decay 1e-3');
  const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, decay: 1e-3 });
  const w0 = dense3.weight.data[0];
  const g0 = dense3.weight.grad!.data[0];
  opt.step();
  log(`   4.weight[0,0]: ${w0.toFixed(6)} - 0.1 * ${g0.toFixed(6)} = ${dense3.weight.data[0].toFixed(6)} (first step: v = -lr*g)`);
  log(`   the next step's rate: 0.1 / (1 + 1e-3 * ${opt.iterations}) = ${opt.currentLr.toFixed(6)}`);
  const after = noGrad(() => Tensor.crossEntropy(model.forward(x), y).item());
  log(`   loss on the same batch after the step: ${fmt(loss.item())} -> ${fmt(after)}`);
}

runIfMain(import.meta.url, main);
