/**
 * What augmentation costs an MNIST epoch: the 784-300-100-10 net of `tapegrad train` (SGD lr 0.05,
 * momentum 0.9, batch 64) trained through `fit` with no augmentation and with each one, interleaved
 * round by round (the machine is shared: medians of the rounds), on the first --samples training
 * images; the second epoch of each run is timed (the first also finds each image's non-zero box, once
 * per run). And each augmentation's own cost per 28×28 image (best of 7). The issue's budget: no
 * augmentation may slow an epoch by more than 20%.
 *
 *   npx tsx benchmarks/augment.ts [--samples 12800] [--rounds 3] [--threads N]
 */
import { loadMnist, resolveAugment, Augmenter, type AugmentOptions } from '../data/index.js';
import { Rng, setThreads, threadsReady } from '../engine/index.js';
import { Dense, ReLU, Sequential } from '../layers/index.js';
import { SGD } from '../optim/index.js';
import { fit, type Callback } from '../train/index.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(args[at + 1]);
};
const samples = flag('samples', 12_800);
const rounds = flag('rounds', 3);
const threads = flag('threads', 0);
if (threads > 0) setThreads(threads);
await threadsReady();

const MODES: Array<[string, AugmentOptions | false]> = [
  ['none', false],
  ['shift', { shift: true }],
  ['affine', { affine: true }],
  ['elastic', { elastic: true }],
  ['elastic, fresh fields (bank 0)', { elastic: { bank: 0 } }],
  ['affine + elastic', { affine: true, elastic: true }],
];

const { train } = loadMnist({ trainSize: samples, testSize: 1 });

// Each augmentation alone, per image: the time the loader adds to every sample of every epoch.
console.log(`per 28×28 image (best of 7, batches of 64), Node ${process.version}`);
const x = new Float32Array(64 * 784);
for (let i = 0; i < x.length; i++) x[i] = train.x[i] / 255;
const indices = Int32Array.from({ length: 64 }, (_, i) => i);
for (const [name, spec] of [...MODES.slice(2), ['flip (mirrorable data)', { flip: true }] as [string, AugmentOptions]]) {
  if (spec === false) continue;
  const aug = new Augmenter(resolveAugment(spec, 'bench'), train);
  aug.apply(x, indices, 64, 1, 0);
  const reps = name.includes('bank 0') ? 4 : 40;
  let best = Infinity;
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) aug.apply(x, indices, 64, 1, r);
    best = Math.min(best, ((performance.now() - t0) / (reps * 64)) * 1000);
  }
  console.log(`  ${name.padEnd(32)} ${best.toFixed(2).padStart(8)} µs`);
}

// One epoch of training per mode per round.
const seconds = new Map<string, number[]>(MODES.map(([name]) => [name, []]));
// CPU time too: on a shared machine the wall clock counts other people's work, the CPU time far less.
const cpuSeconds = new Map<string, number[]>(MODES.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, augment] of MODES) {
    const rng = new Rng(1);
    const model = new Sequential([new Dense(784, 300, { rng }), new ReLU(), new Dense(300, 100, { rng }), new ReLU(), new Dense(100, 10, { rng })]);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    // Two epochs, the second timed: the first also finds each image's non-zero box (kept for the run)
    // and warms the JIT, which a real run pays once.
    let t0 = 0;
    let c0 = process.cpuUsage();
    const clock: Callback = {
      onEpochBegin(epoch) {
        if (epoch !== 1) return;
        t0 = performance.now();
        c0 = process.cpuUsage();
      },
      onEpochEnd(epoch) {
        if (epoch !== 1) return;
        const cpu = process.cpuUsage(c0);
        seconds.get(name)!.push((performance.now() - t0) / 1000);
        cpuSeconds.get(name)!.push((cpu.user + cpu.system) / 1e6);
      },
    };
    await fit(model, { train, epochs: 2, batchSize: 64, optimizer, augment: augment === false ? undefined : augment, seed: round, callbacks: [clock] });
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = median(seconds.get('none')!);
const cpuBase = median(cpuSeconds.get('none')!);
console.log(`\nthe second epoch of ${samples} images, median of ${rounds} interleaved rounds${threads > 0 ? `, ${threads} thread(s)` : ''}: wall clock, CPU time (all threads)`);
for (const [name] of MODES) {
  const s = median(seconds.get(name)!);
  const c = median(cpuSeconds.get(name)!);
  const more = (x: number, b: number) => (name === 'none' ? '' : `+${(((x - b) / b) * 100).toFixed(0)}%`);
  console.log(`  ${name.padEnd(32)} ${s.toFixed(2).padStart(7)} s ${more(s, base).padStart(6)}   ${c.toFixed(2).padStart(7)} s cpu ${more(c, cpuBase).padStart(6)}`);
}
process.exit(0);
