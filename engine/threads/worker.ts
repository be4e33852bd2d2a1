/**
 * A worker of the pool (see pool.ts and protocol.ts). It never returns to its event loop: it polls
 * the task number while hot (SPIN_MS after its last task), parks in Atomics.wait when a pause is
 * longer, runs the chunk routine every thread runs (protocol.ts `runChunks`, taking chunks from the
 * back of the task) on each new task, and
 * goes back to polling. It holds the shared memory the tensors live in, and, for the WebAssembly
 * backend, the same compiled module the main thread uses, instantiated here over that memory.
 */
import { workerData } from 'node:worker_threads';
import { jsGemmKit } from '../kernels/gemmPacked.js';
import { instantiateKernels, type WasmKernels, type WasmMemory, type WasmModule } from '../wasm/index.js';
import { CALLS, CTRL, KIND_WASM, SPIN_MS, TASK_CALL, callRunner, gemmRunner, readJob, runChunks, type GemmKit, type TaskRunner } from './protocol.js';
import { wasmGemmKit } from './wasmKit.js';

const ctrl: Int32Array = workerData.ctrl;
const args: Float64Array = workerData.args;
const memory: WasmMemory = workerData.memory;
const module: WasmModule | null = workerData.module;
const worker: number = workerData.worker;

let view = new Float32Array(memory.buffer);
const jsKit = jsGemmKit();
let kernels: WasmKernels | null = null;
let wasmKit: GemmKit | null = null;

/** The whole memory as floats; a longer view once the main thread has grown it. */
function memoryView(): Float32Array {
  if (view.byteLength !== memory.buffer.byteLength) view = new Float32Array(memory.buffer);
  return view;
}

function wasmKernels(): WasmKernels {
  if (module === null) throw new Error('a WebAssembly task reached a worker started without the module');
  kernels ??= instantiateKernels(module, memory);
  return kernels;
}

function runnerOf(): TaskRunner {
  if (ctrl[CTRL.TASK] === TASK_CALL) return callRunner(ctrl, args, wasmKernels().raw(CALLS[ctrl[CTRL.FN]]));
  let kit = jsKit;
  if (ctrl[CTRL.KIND] === KIND_WASM) kit = wasmKit ??= wasmGemmKit(wasmKernels(), () => ctrl[CTRL.SCRATCH + worker]);
  return gemmRunner(ctrl, kit, readJob(ctrl, memoryView()));
}

/**
 * Waits until the task number moves past `seq`: polling for SPIN_MS, then parked. (While other work
 * holds the cores the main thread posts no tasks — contention.ts — so the worker parks and stays parked.)
 */
function nextTask(seq: number): number {
  let spins = 0;
  let since = 0;
  for (;;) {
    const now = Atomics.load(ctrl, CTRL.SEQ);
    if (now !== seq) return now;
    if ((++spins & 1023) !== 0) continue;
    const t = performance.now();
    if (since === 0) since = t;
    else if (t - since > SPIN_MS) break;
  }
  Atomics.add(ctrl, CTRL.PARKED, 1);
  while (Atomics.load(ctrl, CTRL.SEQ) === seq) Atomics.wait(ctrl, CTRL.SEQ, seq);
  Atomics.sub(ctrl, CTRL.PARKED, 1);
  return Atomics.load(ctrl, CTRL.SEQ);
}

function loop(): void {
  let seq = Atomics.load(ctrl, CTRL.SEQ);
  Atomics.add(ctrl, CTRL.READY, 1);
  for (;;) {
    seq = nextTask(seq);
    try {
      runChunks(ctrl, seq, runnerOf, true);
    } catch (err) {
      Atomics.store(ctrl, CTRL.FAILED, 1);
      Atomics.notify(ctrl, CTRL.FINISHED);
      console.error(`tapegrad worker ${worker}:`, err);
    }
  }
}

loop();
