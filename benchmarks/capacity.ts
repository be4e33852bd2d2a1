/**
 * How many cores the machine gives us right now: runs the blocked 64×784×300 product for about a
 * second and prints its rate (GFLOP/s, JSON). benchmarks/index.ts runs it once alone and then twice
 * at the same time; the sum of the two concurrent rates over the solo rate is the parallel capacity
 * (2.0 on two free cores, 1.0 or less when other work holds one). The two-thread figures of a run
 * cannot beat it, so the results record it.
 */
import { gemmNTBlocked } from '../engine/kernels/matmul.js';
import { Rng } from '../engine/rng.js';

const M = 64, K = 784, N = 300;
const rng = new Rng(1);
const A = Float32Array.from({ length: M * K }, () => rng.uniformIn(-1, 1));
const B = Float32Array.from({ length: N * K }, () => rng.uniformIn(-1, 1));
const C = new Float32Array(M * N);
for (let i = 0; i < 20; i++) gemmNTBlocked(C, A, B, M, K, N);
let calls = 0;
const t0 = performance.now();
while (performance.now() - t0 < 1000) {
  gemmNTBlocked(C, A, B, M, K, N);
  calls++;
}
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ gflops: (2 * M * K * N * calls) / seconds / 1e9 }));
