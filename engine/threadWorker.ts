/**
 * A matmul worker (see engine/threads.ts for the protocol). It never returns to its event loop:
 * it sleeps in Atomics.wait until the job number changes, computes its fixed block of C tiles
 * from the packed operands in the shared arena into the staging area, counts itself done and
 * sleeps again. A new arena arrives as a message, read synchronously with receiveMessageOnPort.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { MR, NR, gemmTiles, panels } from './kernels/gemmPacked.js';
import { CTRL } from './threads.js';

const ctrl: Int32Array = workerData.ctrl;
const port: MessagePort = workerData.port;
const index: number = workerData.index;
const spin: number = workerData.spin;
let arena = new Float32Array(workerData.arena as SharedArrayBuffer);
let gen = 0;

function loop(): void {
  let seq = Atomics.load(ctrl, CTRL.SEQ);
  Atomics.add(ctrl, CTRL.READY, 1);
  for (;;) {
    // Spin briefly (the next product of a training step usually follows within microseconds), then sleep.
    let spins = 0;
    while (Atomics.load(ctrl, CTRL.SEQ) === seq) {
      if (++spins >= spin) {
        Atomics.wait(ctrl, CTRL.SEQ, seq);
        spins = 0;
      }
    }
    seq = Atomics.load(ctrl, CTRL.SEQ);
    try {
      run();
    } catch (err) {
      Atomics.store(ctrl, CTRL.FAILED, 1);
      console.error(`tapegrad matmul worker ${index}:`, err);
    }
    Atomics.add(ctrl, CTRL.DONE, 1);
    Atomics.notify(ctrl, CTRL.DONE);
  }
}

function run(): void {
  const want = Atomics.load(ctrl, CTRL.GEN);
  while (gen !== want) {
    const msg = receiveMessageOnPort(port);
    if (msg === undefined) throw new Error(`arena generation ${want} announced but not received`);
    gen = msg.message.gen;
    arena = new Float32Array(msg.message.arena as SharedArrayBuffer);
  }
  const M = ctrl[CTRL.M];
  const K = ctrl[CTRL.K];
  const N = ctrl[CTRL.N];
  const p0 = ctrl[CTRL.RANGES + 2 * index];
  const p1 = ctrl[CTRL.RANGES + 2 * index + 1];
  if (p0 >= p1) return;
  const paOff = ctrl[CTRL.PA];
  const pbOff = ctrl[CTRL.PB];
  const csOff = ctrl[CTRL.CS];
  if (ctrl[CTRL.AXIS] === 0) gemmTiles(arena, csOff, N, arena, paOff, arena, pbOff + p0 * NR * K, M, N, K, 0, panels(M), p0, p1);
  else gemmTiles(arena, csOff, N, arena, paOff + p0 * MR * K, arena, pbOff, M, N, K, p0, p1, 0, panels(N));
}

loop();
