/**
 * The live companion of docs/TOUR.md: it prints what each stop of the tour shows, numbered as the tour's
 * sections. First one number (a = 2, b = −3, c = a·b + b: the tape, backward by hand and by the engine),
 * then small matrices; then one MNIST mini-batch of 64 through 784-300-100-10, the loss, backward, one
 * SGD step and one epoch of `fit`; last, the WebAssembly SIMD kernel under the matrix products: the
 * bytes its generator emits for one k-step, printed as WebAssembly text and found in the engine's module.
 *
 *   npx tsx examples/tour.ts
 *
 * (`--quick` is accepted, as by every example, and changes nothing: the tour takes about two seconds.)
 */
import { Rng, Tensor, dropout, getBackend, gradcheck, linear, noGrad, toDot, usesFma } from '../engine/index.js';
import { gemmNTNaive } from '../engine/kernels/matmul.js';
import { topologicalOrder } from '../engine/tape.js';
import { packA } from '../engine/kernels/gemmPacked.js';
import { ModuleBuilder, type FunctionBuilder } from '../engine/wasm/encoder.js';
import { MR, kernelModuleBytes } from '../engine/wasm/index.js';
import { DataLoader, loadMnist } from '../data/index.js';
import { Dense, ReLU, Sequential } from '../layers/index.js';
import { SGD } from '../optim/index.js';
import { fit } from '../train/index.js';
import { fmt, parseArgs, runIfMain, type Log } from './common.js';

const shape = (t: Tensor): string => `[${t.shape.join(', ')}]`;
const first = (a: ArrayLike<number>, n = 4): string => Array.from(a).slice(0, n).map((v) => v.toFixed(4)).join(', ');

export async function main(args: string[], log: Log = console.log): Promise<void> {
  const { seed } = parseArgs(args);
  oneNumber(log);
  matrices(log);
  await mnistStep(seed, log);
  simdKernel(log);
}

/** Stops 1-3: c = a·b + b on tensors of one value. */
function oneNumber(log: Log): void {
  log('1. one number: a = 2, b = -3, c = a·b + b');
  const a = Tensor.from(2, { requiresGrad: true });
  const b = Tensor.from(-3, { requiresGrad: true });
  const c = a.mul(b).add(b);
  c.backward();
  log(`   c = ${c.item()}`);
  log(`   a.grad = ${a.grad!.item()}   (dc/da = b)`);
  log(`   b.grad = ${b.grad!.item()}    (dc/db = a + 1)`);
  // micrograd's draw_dot: the picture below, drawn after backward (the tape keeps what toDot needs).
  const dot = toDot(c, { names: { a, b, c } }).split('\n');
  log(`   toDot(c): ${dot.filter((l) => l.includes('class="op"')).length} ops and ${dot.filter((l) => l.includes(' -> ')).length} edges; c's box reads '${dot.find((l) => l.includes('label="c'))!.split('"')[1].replaceAll('\\n', ' | ')}'`);

  log('2. what the tape recorded');
  const a2 = Tensor.from(2, { requiresGrad: true });
  const b2 = Tensor.from(-3, { requiresGrad: true });
  const ab = a2.mul(b2);
  const c2 = ab.add(b2);
  const names = new Map<Tensor, string>([[a2, 'a'], [b2, 'b'], [ab, 'a·b'], [c2, 'c']]);
  for (const t of [c2, ab, a2]) {
    const made = t.node === null ? 'no node: a leaf' : `op ${t.node.op}, parents ${t.node.parents.map((p) => names.get(p)).join(', ')}`;
    log(`   ${names.get(t)!.padEnd(3)}: ${made}`);
  }

  log('3. backward: each op turns dout into its inputs\' gradients');
  const seed = Tensor.from(1);
  const [dab, db1] = c2.node!.backward(seed);
  log(`   add's backward(1) -> a·b: ${dab!.item()}, b: ${db1!.item()}`);
  const [da, db2] = ab.node!.backward(dab!);
  log(`   mul's backward(1) -> a: ${da!.item()}, b: ${db2!.item()}   (dout·b, dout·a)`);
  log(`   b is reached twice: ${db1!.item()} + ${db2!.item()} = ${db1!.item() + db2!.item()}`);
  log(`   topologicalOrder(c) = ${topologicalOrder(c2).map((t) => names.get(t)).join(', ')} (backward walks it from the end)`);
  c2.backward();
  log(`   c.backward() gives the same: a.grad = ${a2.grad!.item()}, b.grad = ${b2.grad!.item()}`);
}

/** Stop 4: the same code on arrays, and a first matrix product's gradient. */
function matrices(log: Log): void {
  log('4. from one number to matrices');
  const x = Tensor.from([[1, 2, 3], [4, 5, 6]]);
  const w = Tensor.from([[1, 0], [0, 1], [1, 1]], { requiresGrad: true });
  const y = x.matmul(w).sum();
  y.backward();
  log(`   x: shape ${shape(x)}, data ${Array.from(x.data).join(' ')}; x[1, 2] is x.data[1*3 + 2] = ${x.data[1 * 3 + 2]}`);
  log(`   y = sum(x·w) = ${y.item()}`);
  log(`   w.grad = ${JSON.stringify(w.grad!.toArray())}   (row k: the sum of x's column k)`);
}

/** Stops 5-13: one MNIST mini-batch through 784-300-100-10, backward, one SGD step, one epoch of fit. */
async function mnistStep(seed: number, log: Log): Promise<void> {
  const B = 64;

  log('5. the batch');
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

  log('6. Dense(784, 300): x·Wᵀ + b');
  const z1 = dense1.forward(x);
  log(`   weight ${shape(dense1.weight)} (Glorot-uniform), bias ${shape(dense1.bias!)} (zeros) -> z1 ${shape(z1)}`);
  log(`   z1[0, 0..3] = ${first(z1.data)}`);
  log(`   z1.node.op = '${z1.node!.op}', parents: ${z1.node!.parents.map(shape).join(', ')} (x needs no gradient: ${!x.requiresGrad})`);
  const naive = new Float32Array(B * 300);
  gemmNTNaive(naive, x.data, dense1.weight.data, B, 784, 300);
  let twin = 0;
  for (let i = 0; i < naive.length; i++) twin = Math.max(twin, Math.abs(naive[i] - z1.data[i]));
  log(`   the ${getBackend()} backend against the naive twin (three loops, float64 sums): largest difference ${twin.toExponential(1)}`);

  log('7. ReLU, then the same again, down to the logits');
  z1.retainGrad();
  const a1 = relu1.forward(z1);
  let zeros = 0;
  for (const v of a1.data) if (v === 0) zeros++;
  log(`   a1 ${shape(a1)}: ${fmt((100 * zeros) / a1.size, 1)}% of the units are 0`);
  const z2 = dense2.forward(a1);
  const a2 = relu2.forward(z2);
  const logits = dense3.forward(a2).retainGrad();
  log(`   z2 ${shape(z2)} -> a2 ${shape(a2)} -> logits ${shape(logits)}`);

  log('8. softmax + cross-entropy, fused');
  const loss = Tensor.crossEntropy(logits, y);
  const probs = noGrad(() => logits.softmax(-1));
  const lossBefore = loss.item(); // read now: outside a scope the tape's tensors go back a step later (engine/memory.ts)
  log(`   loss = ${fmt(lossBefore)} (an untrained net guesses about 1/10: -ln(0.1) = ${fmt(Math.log(10))})`);
  log(`   softmax of row 0: ${first(probs.data, 10)}`);

  log('9. backward through the net');
  const order: string[] = [];
  for (let t: Tensor | undefined = loss; t?.node; t = t.node.parents[0]) order.push(t.node.op);
  log(`   ${order.join(' -> ')} (then the leaves: 6 parameters)`);
  model.parameters().forEach((p) => (p.grad = null));
  loss.backward();

  log('10. each op backward');
  // Softmax-CE: dlogits = (p - onehot) / B.
  let worst = 0;
  let rowSum = 0;
  for (let c = 0; c < 10; c++) {
    const expected = (probs.data[c] - (c === y[0] ? 1 : 0)) / B;
    worst = Math.max(worst, Math.abs(logits.grad!.data[c] - expected));
    rowSum += logits.grad!.data[c];
  }
  log(`   dlogits row 0 = (p - onehot)/64: max difference ${worst.toExponential(1)}, row sum ${rowSum.toExponential(1)}`);
  // Dense: one element of dW = doutᵀ·x, summed by hand over the batch (the last layer: x is a2, dout is dlogits).
  const [o, i] = [3, 7];
  let byHand = 0;
  for (let s = 0; s < B; s++) byHand += logits.grad!.data[s * 10 + o] * a2.data[s * 100 + i];
  const tape = dense3.weight.grad!.data[o * 100 + i];
  log(`   4.weight: dW[${o}, ${i}] = sum over b of dlogits[b, ${o}]·a2[b, ${i}] = ${byHand.toExponential(5)}; the tape: ${tape.toExponential(5)}`);
  // ReLU: no gradient flows where the unit was off.
  let leaked = 0;
  for (let k = 0; k < z1.size; k++) if (z1.data[k] <= 0 && z1.grad!.data[k] !== 0) leaked++;
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
  model.parameters().forEach((p, k) => {
    for (let j = 0; j < p.size; j++) gradDiff = Math.max(gradDiff, Math.abs(p.grad!.data[j] - layerGrads[k][j]));
  });
  log(`   through model.forward: ${fusedOrder.join(' -> ')}; largest gradient difference ${gradDiff}`);
  const ones = Tensor.ones([10000]);
  const dropped = dropout(ones, 0.5, new Rng(seed));
  const kept = dropped.data.filter((v) => v !== 0);
  log(`   dropout(0.5) of 10000 ones: ${kept.length} survive, each = ${kept[0]}, mean = ${fmt(dropped.mean().item(), 3)}`);

  log('11. gradcheck');
  const r = new Rng(seed + 1);
  const xs = Tensor.randn([4, 5], { rng: r });
  const w = Tensor.randn([3, 5], { rng: r });
  const b = Tensor.randn([3], { rng: r });
  const labels = Int32Array.from([0, 2, 1, 2]);
  const err = gradcheck((xi, wi, bi) => Tensor.crossEntropy(linear(xi, wi, bi).relu(), labels), [xs, w, b]);
  log(`   linear + relu + cross-entropy: max relative error ${err.toExponential(2)}`);

  log('12. SGD: lr 0.1, momentum 0.9, decay 1e-3');
  const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, decay: 1e-3 });
  const w0 = dense3.weight.data[0];
  const g0 = dense3.weight.grad!.data[0];
  opt.step();
  log(`   4.weight[0,0]: ${w0.toFixed(6)} - 0.1 * ${g0.toFixed(6)} = ${dense3.weight.data[0].toFixed(6)} (first step: v = -lr*g)`);
  log(`   the next step's rate: 0.1 / (1 + 1e-3 * ${opt.iterations}) = ${opt.currentLr.toFixed(6)}`);
  const after = noGrad(() => Tensor.crossEntropy(model.forward(x), y).item());
  log(`   loss on the same batch after the step: ${fmt(lossBefore)} -> ${fmt(after)}`);

  log('13. the training loop: fit, one trainStep per batch');
  const net = new Sequential([new Dense(784, 300, { rng }), new ReLU(), new Dense(300, 100, { rng }), new ReLU(), new Dense(100, 10, { rng })]);
  const history = await fit(net, {
    train,
    epochs: 2,
    batchSize: 64,
    optimizer: new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 }),
    seed,
  });
  const { loss: losses, accuracy } = history.history;
  log(`   ${train.count} images, ${loader.batchesPerEpoch} batches an epoch; history.history has ${Object.keys(history.history).join(', ')}`);
  log(`   epoch 0: loss ${fmt(losses[0])}, accuracy ${fmt(accuracy[0])}; epoch 1: loss ${fmt(losses[1])}, accuracy ${fmt(accuracy[1])}`);
}

// The tile loop's parameters and locals, declared in the order gemm.ts's emitTiles declares them, so
// that the local indexes in the bytes below are the engine's own (the search at the end checks it).
const TILE_PARAMS = ['C', 'ldc', 'pa', 'pb', 'M', 'N', 'K', 'ip0', 'ip1', 'jp0', 'jp1', 'aIdx', 'bIdx'];
const TILE_I32_LOCALS = ['jp', 'ip', 'bBase', 'aBase', 'bAt', 'aAt', 'nb', 'na', 'list', 'n', 'p', 'q', 'qEnd', 't', 'tEnd',
  'i0', 'j0', 'cRow', 'ldc4', 'rows', 'cols', 'fourK'];
const ACC = [['c00', 'c01'], ['c10', 'c11'], ['c20', 'c21'], ['c30', 'c31']];
const TILE_V128_LOCALS = ['b0', 'b1', 'a', 'zero'];
const TILE_LOCALS = [...TILE_PARAMS, ...TILE_I32_LOCALS, ...ACC.flat(), ...TILE_V128_LOCALS];

/** A function with the tile loop's locals, holding one k-step emitted through the encoder as gemm.ts's kStep does. */
function emitKStep(fma: boolean): Uint8Array {
  const mod = new ModuleBuilder();
  const f: FunctionBuilder = mod.func('kStep', Object.fromEntries(TILE_PARAMS.map((p) => [p, 'i32' as const])));
  for (const l of TILE_I32_LOCALS) f.local(l, 'i32');
  for (const l of [...ACC.flat(), ...TILE_V128_LOCALS]) f.local(l, 'v128');
  const g = (l: string) => f.get(l);
  f.set('b0', f.v128Load(g('p')));
  f.set('b1', f.v128Load(g('p'), 16));
  for (let r = 0; r < MR; r++) {
    f.set('a', f.v128Load32Splat(g('q'), 4 * r));
    for (let h = 0; h < 2; h++) {
      const name = ACC[r][h];
      if (fma) f.set(name, f.f32x4RelaxedMadd(g('a'), g(`b${h}`), g(name)));
      else f.set(name, f.f32x4Add(g(name), f.f32x4Mul(g('a'), g(`b${h}`))));
    }
  }
  return codeOf(f.encodeBody());
}

/** Reads an unsigned LEB128 at `at`: [value, the index after it]. */
function leb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
    shift += 7;
  }
}

/** A function body without its size, its local declarations and its final `end`: the instructions alone. */
function codeOf(body: Uint8Array): Uint8Array {
  let [, at] = leb(body, 0); // the body's size
  let runs: number;
  [runs, at] = leb(body, at);
  for (let i = 0; i < runs; i++) at = leb(body, at)[1] + 1; // (count, type) pairs
  return body.slice(at, body.length - 1);
}

/** The few opcodes a k-step uses, in WebAssembly's text names (core opcodes, then the 0xFD SIMD ones). */
const CORE: Record<number, string> = { 0x20: 'local.get', 0x21: 'local.set' };
const SIMD: Record<number, string> = { 0x00: 'v128.load', 0x09: 'v128.load32_splat', 0xe4: 'f32x4.add', 0xe6: 'f32x4.mul', 0x105: 'f32x4.relaxed_madd' };
const WITH_MEMARG = new Set([0x00, 0x09]);

/** Each instruction of `code` as its bytes in hex and its text form, e.g. `fd 00 02 10  v128.load offset=16 align=4`. */
function disassemble(code: Uint8Array): { hex: string; text: string }[] {
  const out: { hex: string; text: string }[] = [];
  let at = 0;
  while (at < code.length) {
    const start = at;
    const op = code[at++];
    let text: string;
    if (op in CORE) {
      let local: number;
      [local, at] = leb(code, at);
      text = `${CORE[op]} $${TILE_LOCALS[local]}`;
    } else if (op === 0xfd) {
      let simd: number;
      [simd, at] = leb(code, at);
      if (!(simd in SIMD)) throw new Error(`tour: SIMD opcode 0x${simd.toString(16)} is not in the tour's table`);
      text = SIMD[simd];
      if (WITH_MEMARG.has(simd)) {
        let align: number;
        let offset: number;
        [align, at] = leb(code, at);
        [offset, at] = leb(code, at);
        text += `${offset === 0 ? '' : ` offset=${offset}`} align=${2 ** align}`;
      }
    } else {
      throw new Error(`tour: opcode 0x${op.toString(16)} is not in the tour's table`);
    }
    const hex = Array.from(code.subarray(start, at), (v) => v.toString(16).padStart(2, '0')).join(' ');
    out.push({ hex, text });
  }
  return out;
}

/** How many times `needle` occurs in `haystack`. */
function occurrences(haystack: Uint8Array, needle: Uint8Array): number {
  let count = 0;
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    let j = 0;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) count++;
  }
  return count;
}

/** Stop 14: packing, and one k-step of the 4×8 tile loop as bytes. */
function simdKernel(log: Log): void {
  log('14. the WebAssembly SIMD kernel');
  log(`   backend: ${getBackend()}${getBackend() === 'wasm' ? `, ${usesFma() ? 'FMA (f32x4.relaxed_madd)' : 'mul+add (FMA needs relaxed SIMD)'}` : ''}`);
  // Packing: a panel of 4 rows of A, k-major: the 4 values one k-step needs side by side.
  const A = Float32Array.from([0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]); // 4 rows, K = 3, row-major
  const panel = new Float32Array(4 * 3);
  packA(panel, 0, A, 0, 3, 1, 4, 3, 0, 1);
  log(`   A (4×3, row-major):     ${Array.from(A).join(' ')}`);
  log(`   packed (k-major panel): ${Array.from(panel).join(' ')}`);
  const plain = emitKStep(false);
  const lines = disassemble(plain);
  log(`   one k-step of the 4×8 tile (mul+add): ${lines.length} instructions, ${plain.length} bytes; the first ${6 + 15}:`);
  for (const { hex, text } of lines.slice(0, 6 + 15)) log(`     ${hex.padEnd(12)} ${text}`);
  const fused = disassemble(emitKStep(true));
  log(`   the FMA build, row 0's first multiply-add:`);
  for (const { hex, text } of fused.slice(6 + 3, 6 + 3 + 5)) log(`     ${hex.padEnd(12)} ${text}`);
  const inPlain = occurrences(kernelModuleBytes({ fma: false, sharedMemory: false }), plain);
  const inFma = occurrences(kernelModuleBytes({ fma: true, sharedMemory: false }), emitKStep(true));
  log(`   these bytes occur in the engine's kernel module: mul+add build ${inPlain}×, FMA build ${inFma}× (the dense k loop and the zero-skipping one)`);
}

runIfMain(import.meta.url, main);
