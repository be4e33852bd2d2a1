/**
 * A matmul worker (see engine/threads.ts for the protocol). It never returns to its event loop:
 * it sleeps in Atomics.wait until the job number changes, then claims chunks of the product one
 * at a time, computes each from the packed operands in the shared arena into the staging area
 * (once the main thread has packed it), and sleeps again when no chunk is left. A new arena
 * arrives as a message, read synchronously with receiveMessageOnPort.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { MR, NR, gemmTiles, indexSize, panels } from './kernels/gemmPacked.js';
import { CTRL, claimChunk } from './threads.js';

const ctrl: Int32Array = workerData.ctrl;
const port: MessagePort = workerData.port;
const worker: number = workerData.worker;
let arena = new Float32Array(workerData.arena as SharedArrayBuffer);
let index = new Int32Array(workerData.index as SharedArrayBuffer);
let gen = 0;

function loop(): void {
  let seq = Atomics.load(ctrl, CTRL.SEQ);
  Atomics.add(ctrl, CTRL.READY, 1);
  for (;;) {
    // Sleep until the next product (no polling: see engine/threads.ts).
    while (Atomics.load(ctrl, CTRL.SEQ) === seq) Atomics.wait(ctrl, CTRL.SEQ, seq);
    seq = Atomics.load(ctrl, CTRL.SEQ);
    try {
      run(seq);
    } catch (err) {
      Atomics.store(ctrl, CTRL.FAILED, 1);
      Atomics.notify(ctrl, CTRL.FINISHED);
      console.error(`tapegrad matmul worker ${worker}:`, err);
    }
  }
}

function updateArena(): void {
  const want = Atomics.load(ctrl, CTRL.GEN);
  while (gen !== want) {
    const msg = receiveMessageOnPort(port);
    if (msg === undefined) throw new Error(`arena generation ${want} announced but not received`);
    gen = msg.message.gen;
    arena = new Float32Array(msg.message.arena as SharedArrayBuffer);
    index = new Int32Array(msg.message.index as SharedArrayBuffer);
  }
}

function run(seq: number): void {
  updateArena();
  // These reads are of job `seq` unless it has already finished without us, in which case every
  // claim below fails: a job cannot finish while one of its chunks is claimed and not done.
  const M = ctrl[CTRL.M];
  const K = ctrl[CTRL.K];
  const N = ctrl[CTRL.N];
  const axis = ctrl[CTRL.AXIS];
  const paOff = ctrl[CTRL.PA];
  const pbOff = ctrl[CTRL.PB];
  const csOff = ctrl[CTRL.CS];
  const chunks = ctrl[CTRL.CHUNKS];
  const perChunk = ctrl[CTRL.PANELS_PER_CHUNK];
  const idx = ctrl[CTRL.ZERO_SKIP] === 1 ? index : null;
  const Mp = panels(M);
  const Np = panels(N);
  const P = axis === 0 ? Np : Mp;
  // Index layout as in Pool.gemm: A's panels first, then B's.
  const stride = indexSize(K);
  const aIdxOff = 0;
  const bIdxOff = Mp * stride;
  for (let c = claimChunk(ctrl, seq, chunks); c >= 0; c = claimChunk(ctrl, seq, chunks)) {
    // The main thread is still packing this chunk: sleep until it says so (no busy loop, which would
    // slow the packing thread down if the two threads share a physical core).
    for (let packed = Atomics.load(ctrl, CTRL.PACKED); packed <= c; packed = Atomics.load(ctrl, CTRL.PACKED)) {
      Atomics.wait(ctrl, CTRL.PACKED, packed);
    }
    const p0 = c * perChunk;
    const p1 = Math.min(P, p0 + perChunk);
    if (axis === 0) {
      gemmTiles(arena, csOff, N, arena, paOff, arena, pbOff + p0 * NR * K, M, N, K, 0, Mp, p0, p1, idx, aIdxOff, idx, bIdxOff + p0 * stride);
    } else {
      gemmTiles(arena, csOff, N, arena, paOff + p0 * MR * K, arena, pbOff, M, N, K, p0, p1, 0, Np, idx, aIdxOff + p0 * stride, idx, bIdxOff);
    }
    ctrl[CTRL.OWNER + c] = worker + 1;
    Atomics.add(ctrl, CTRL.FINISHED, 1);
    Atomics.notify(ctrl, CTRL.FINISHED);
  }
}

loop();
