/**
 * Where two threads start to pay: times gemmNN on one thread against gemmNN forced onto the pool
 * (2 threads, the same warm workers throughout), on each backend, on products of growing size
 * (batch 64, the Dense shapes of small layers up to the 784→300 one) and prints the ratio.
 * engine/threads/index.ts's PARALLEL_MIN_MACS is set from this (products below it stay on the
 * calling thread). `npx tsx benchmarks/cutover.ts [js|wasm]` (both without an argument)
 */
import { allocPersistent } from '../engine/memory.js';
import { gemmNN } from '../engine/backends/index.js';
import { setBackend, type BackendName } from '../engine/backends/index.js';
import { Rng } from '../engine/rng.js';
import { PARALLEL_MIN_MACS, setParallelMinMacs, setThreads, threadsReady } from '../engine/threads/index.js';

const shapes: [number, number, number][] = [
  [64, 10, 100], [64, 30, 100], [64, 50, 100], [64, 100, 100], [64, 100, 300], [64, 300, 300], [64, 300, 784],
];

function random(n: number, rng: Rng): Float32Array {
  const a = allocPersistent(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniformIn(-1, 1);
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

console.log(`current cut-over: ${PARALLEL_MIN_MACS.toLocaleString('en-US')} multiply-adds (products below it are forced onto one thread; here the threshold is lifted)`);
setThreads(2);
const backends: BackendName[] = process.argv[2] === undefined ? ['js', 'wasm'] : [process.argv[2] as BackendName];
for (const backend of backends) {
  await setBackend(backend);
  await threadsReady();
  console.log(`\n${backend}\nM×K×N          MACs        1 thread µs   2 threads µs   speed-up`);
  const rng = new Rng(1);
  for (const [M, K, N] of shapes) {
    const A = random(M * K, rng);
    const B = random(K * N, rng);
    const C = allocPersistent(M * N);
    const reps = Math.max(5, Math.round((backend === 'wasm' ? 1e9 : 2e8) / (M * K * N)));
    const samples: [number[], number[]] = [[], []];
    for (let r = 0; r < 9; r++) {
      for (const t of [1, 2]) {
        setParallelMinMacs(t === 1 ? Infinity : 0);
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) gemmNN(C, A, B, M, K, N);
        samples[t - 1].push(((performance.now() - t0) / reps) * 1000);
      }
    }
    const one = median(samples[0]);
    const two = median(samples[1]);
    const macs = M * K * N;
    console.log(`${`${M}×${K}×${N}`.padEnd(14)} ${macs.toLocaleString('en-US').padStart(10)}  ${one.toFixed(1).padStart(12)}  ${two.toFixed(1).padStart(13)}   ${(one / two).toFixed(2)}×${macs < PARALLEL_MIN_MACS ? '  (below the cut-over)' : ''}`);
  }
}
setParallelMinMacs(PARALLEL_MIN_MACS);
process.exit(0);
