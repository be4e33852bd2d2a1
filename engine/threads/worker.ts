/**
 * A matmul worker (see pool.ts and protocol.ts). It never returns to its event loop: it sleeps in
 * Atomics.wait until the job number changes, runs the chunk routine every thread runs
 * (protocol.ts `runChunks`) with its own kits, and sleeps again. It holds the shared memory the
 * tensors live in, and, for the WebAssembly backend, the same compiled module the main thread
 * uses, instantiated here over that memory.
 */
import { workerData } from 'node:worker_threads';
import type { WasmMemory, WasmModule } from '../wasm/index.js';
import { jsGemmKit } from '../kernels/gemmPacked.js';
import { CTRL, KIND_WASM, readJob, runChunks, type GemmKit } from './protocol.js';
import { wasmKitForWorker } from './wasmKit.js';

const ctrl: Int32Array = workerData.ctrl;
const memory: WasmMemory = workerData.memory;
const module: WasmModule | null = workerData.module;
const worker: number = workerData.worker;

let view = new Float32Array(memory.buffer);
const jsKit = jsGemmKit();
let wasmKit: GemmKit | null = null;

/** The whole memory as floats; a longer view once the main thread has grown it. */
function memoryView(): Float32Array {
  if (view.byteLength !== memory.buffer.byteLength) view = new Float32Array(memory.buffer);
  return view;
}

function kitFor(kind: number): GemmKit {
  if (kind !== KIND_WASM) return jsKit;
  if (module === null) throw new Error('a WebAssembly job reached a worker started without the module');
  wasmKit ??= wasmKitForWorker(module, memory, () => ctrl[CTRL.SCRATCH + worker]);
  return wasmKit;
}

function loop(): void {
  let seq = Atomics.load(ctrl, CTRL.SEQ);
  Atomics.add(ctrl, CTRL.READY, 1);
  for (;;) {
    // Sleep until the next product (no polling: see pool.ts).
    while (Atomics.load(ctrl, CTRL.SEQ) === seq) Atomics.wait(ctrl, CTRL.SEQ, seq);
    seq = Atomics.load(ctrl, CTRL.SEQ);
    try {
      runChunks(ctrl, seq, kitFor, () => readJob(ctrl, memoryView()));
    } catch (err) {
      Atomics.store(ctrl, CTRL.FAILED, 1);
      Atomics.notify(ctrl, CTRL.FINISHED);
      console.error(`tapegrad matmul worker ${worker}:`, err);
    }
  }
}

loop();
