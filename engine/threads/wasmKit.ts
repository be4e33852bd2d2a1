/**
 * The WebAssembly product kernels (engine/wasm/gemm.ts: 4×8 tiles of f32x4 accumulators) packaged
 * as a GemmKit for the chunk routine: one per thread, each over its own scratch in the shared memory.
 *
 * Scratch layout, from the scratch pointer, each part 16-byte aligned:
 *   whole     the operand the job does not split, packed (MR-row panels of A, or NR-column panels of B)
 *   wholeIdx  its zero-skipping index (per panel a count and up to K k-steps, i32)
 *   panel     one panel of the split operand, packed just before its tiles are computed
 *   panelIdx  that panel's index
 */
import type { GemmJob, GemmKit } from '../kernels/gemmPacked.js';
import { MR, NR, indexBytes, packedBytes, panelCount, type WasmKernels } from '../wasm/index.js';

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

interface Layout {
  whole: number;
  wholeIdx: number;
  panel: number;
  panelIdx: number;
  bytes: number;
}

function layout(job: Pick<GemmJob, 'axis' | 'M' | 'K' | 'N'>): Layout {
  const { M, K, N } = job;
  const [wholeWidth, wholeCount, panelWidth] = job.axis === 0 ? [MR, panelCount(M, MR), NR] : [NR, panelCount(N, NR), MR];
  const whole = 0;
  const wholeIdx = whole + align16(packedBytes(wholeWidth, wholeCount, K));
  const panel = wholeIdx + align16(indexBytes(wholeCount, K));
  const panelIdx = panel + align16(packedBytes(panelWidth, 1, K));
  return { whole, wholeIdx, panel, panelIdx, bytes: panelIdx + align16(indexBytes(1, K)) };
}

/** Scratch bytes a thread needs for `job`. */
export function wasmScratchBytes(job: Pick<GemmJob, 'axis' | 'M' | 'K' | 'N'>): number {
  return layout(job).bytes;
}

/** Byte address of element `offset` of a view into the memory. */
const address = (a: Float32Array, offset: number): number => a.byteOffset + 4 * offset;

/**
 * A kit over `kernels`; `scratch()` gives this thread's scratch address for the current job (at least
 * wasmScratchBytes(job) bytes, 16-byte aligned), asked once per job in packWhole.
 */
export function wasmGemmKit(kernels: WasmKernels, scratch: (job: GemmJob) => number): GemmKit {
  let at = 0;
  let l: Layout = layout({ axis: 0, M: 0, K: 0, N: 0 });
  return {
    mr: MR,
    nr: NR,
    packWhole(job: GemmJob): void {
      const { M, K, N } = job;
      at = scratch(job);
      l = layout(job);
      const idx = job.zeroSkip ? at + l.wholeIdx : 0;
      if (job.axis === 0) kernels.packA(at + l.whole, address(job.A, job.a0), job.ai, job.ak, M, K, 0, panelCount(M, MR), idx);
      else kernels.packB(at + l.whole, address(job.B, job.b0), job.bk, job.bj, K, N, 0, panelCount(N, NR), idx);
    },
    chunk(job: GemmJob, p0: number, p1: number): void {
      const { M, K, N } = job;
      const C = address(job.C, job.c0);
      const whole = at + l.whole;
      const panel = at + l.panel;
      const wIdx = job.zeroSkip ? at + l.wholeIdx : 0;
      const pIdx = job.zeroSkip ? at + l.panelIdx : 0;
      for (let p = p0; p < p1; p++) {
        if (job.axis === 0) {
          kernels.packB(panel, address(job.B, job.b0), job.bk, job.bj, K, N, p, p + 1, pIdx);
          kernels.tiles(C, N, whole, panel, M, K, N, 0, panelCount(M, MR), p, p + 1, wIdx, pIdx);
        } else {
          kernels.packA(panel, address(job.A, job.a0), job.ai, job.ak, M, K, p, p + 1, pIdx);
          kernels.tiles(C, N, panel, whole, M, K, N, p, p + 1, 0, panelCount(N, NR), pIdx, wIdx);
        }
      }
    },
  };
}
