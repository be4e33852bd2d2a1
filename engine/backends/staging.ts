/**
 * Where the WebAssembly kernels' operands lie, and the one staging helper for arrays that lie
 * elsewhere. The kernels address one memory by byte offsets, so every array a call passes must be in
 * it. Two cases:
 *
 * - shared (Node; a cross-origin-isolated page): tensors already live in the engine's shared
 *   `WebAssembly.Memory` (engine/memory.ts) and are passed as they lie; only an array of the caller's
 *   own (`Tensor.from(new Float32Array(..))`) is copied into a temporary arena block for the call.
 * - private (a page without cross-origin isolation, a worker without SharedArrayBuffer): tensors are
 *   plain Float32Arrays, and the backend owns a non-shared memory of its own. Every operand is copied
 *   into it for the call and every result copied back: a copy the size of the operands, against the
 *   O(M·K·N) of a product, and it is what lets SIMD run on one thread where shared memory is missing.
 *   Growing a non-shared memory detaches its old ArrayBuffer and every view into it, so the staging
 *   area holds byte addresses, never views, and views are made only after the last growth of a call.
 *
 * A call stages its arrays (`in`, `out`, `inout`, or `view` for a product's job), runs the kernel on
 * the addresses, and calls `done`, which copies the results back and hands the room back.
 */
import { alloc, allocPersistent, inSharedMemory, release, sharedMemory } from '../memory.js';
import { requireWebAssembly, type WasmMemory } from '../wasm/runtime.js';

/** The memory the kernels address, and how a call gets room in it. */
export interface KernelMemory {
  readonly memory: WasmMemory;
  /** True for the engine's shared memory (threads possible); false for a backend's private one. */
  readonly shared: boolean;
  /** True when `a` lies in the memory, so a kernel can take its byte offset as it is. */
  owns(a: ArrayBufferView): boolean;
  /** The main thread's packing scratch: `bytes` bytes at a 16-byte-aligned address, kept between calls. */
  scratch(bytes: number): number;
  /** Room for one call's copy of an operand: a 16-byte-aligned byte address. */
  take(bytes: number): number;
  /** Everything taken since the last call is free again. */
  giveBack(): void;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** The engine's shared memory: tensors lie in it; foreign arrays borrow arena blocks for a call. */
export class SharedKernelMemory implements KernelMemory {
  readonly shared = true;
  readonly memory: WasmMemory;
  private readonly temps: Float32Array[] = [];
  private block: Float32Array | null = null;

  constructor() {
    const memory = sharedMemory();
    if (memory === null) throw new Error('SharedKernelMemory: there is no shared memory here');
    this.memory = memory;
  }

  owns(a: ArrayBufferView): boolean {
    return inSharedMemory(a);
  }

  scratch(bytes: number): number {
    if (this.block === null || this.block.byteLength < bytes) {
      if (this.block !== null) release(this.block);
      this.block = allocPersistent(Math.ceil(bytes / 4));
    }
    return this.block.byteOffset;
  }

  take(bytes: number): number {
    const t = alloc(Math.ceil(bytes / 4));
    this.temps.push(t);
    return t.byteOffset;
  }

  giveBack(): void {
    for (const t of this.temps) release(t);
    this.temps.length = 0;
  }
}

/** Bytes per WebAssembly page. */
const PAGE = 65536;
/** Nothing lies below this address: 0 means "absent" to the kernels. */
const FIRST = 64;

/**
 * A non-shared memory of the backend's own: the packing scratch at [FIRST, scratchEnd), one call's
 * copies above it, bump-allocated and given back all at once.
 */
export class PrivateKernelMemory implements KernelMemory {
  readonly shared = false;
  readonly memory: WasmMemory;
  private scratchEnd = FIRST;
  private top = FIRST;

  constructor() {
    this.memory = new (requireWebAssembly('PrivateKernelMemory').Memory)({ initial: 16 });
  }

  owns(a: ArrayBufferView): boolean {
    return a.buffer === this.memory.buffer;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // At least a quarter more each time, so a run grows a few times, not per call.
    this.memory.grow(Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 4)));
  }

  scratch(bytes: number): number {
    if (this.scratchEnd - FIRST < bytes) {
      if (this.top !== this.scratchEnd) throw new Error('PrivateKernelMemory: the scratch grows only between calls');
      this.scratchEnd = FIRST + align16(bytes);
      this.top = this.scratchEnd;
      this.ensure(this.scratchEnd);
    }
    return FIRST;
  }

  take(bytes: number): number {
    const at = this.top;
    this.top = align16(at + bytes);
    this.ensure(this.top);
    return at;
  }

  giveBack(): void {
    this.top = this.scratchEnd;
  }
}

/**
 * Addresses for one kernel call. An array the memory owns is passed as it lies; any other is copied
 * in (`in`, `inout`) or given room (`out`) and copied back by `done` (`out`, `inout`), which also
 * gives the room back. Null (an absent operand) is address 0.
 */
export class Staging {
  private readonly writeBack: { a: ArrayBufferView; at: number }[] = [];
  /** Views of the whole memory, made again only when it has grown (copies allocate no view per operand). */
  private floats: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private bytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0);

  constructor(readonly km: KernelMemory) {}

  in(a: ArrayBufferView | null): number {
    return this.stage(a, true, false);
  }

  out(a: ArrayBufferView | null): number {
    return this.stage(a, false, true);
  }

  inout(a: ArrayBufferView | null): number {
    return this.stage(a, true, true);
  }

  /** A Float32Array over the memory at a staged address (make it after the call's last `in`/`out`). */
  view(at: number, length: number): Float32Array {
    return new Float32Array(this.km.memory.buffer, at, length);
  }

  private whole(): void {
    const buffer = this.km.memory.buffer;
    if (this.bytes.buffer !== buffer || this.bytes.byteLength !== buffer.byteLength) {
      this.bytes = new Uint8Array(buffer);
      this.floats = new Float32Array(buffer);
    }
  }

  private stage(a: ArrayBufferView | null, copyIn: boolean, copyOut: boolean): number {
    if (a === null) return 0;
    if (this.km.owns(a)) return a.byteOffset;
    const at = this.km.take(a.byteLength);
    if (copyIn) {
      this.whole();
      if (a instanceof Float32Array) this.floats.set(a, at >> 2);
      else this.bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    }
    if (copyOut) this.writeBack.push({ a, at });
    return at;
  }

  done(): void {
    if (this.writeBack.length > 0) {
      this.whole();
      for (const { a, at } of this.writeBack) {
        if (a instanceof Float32Array) a.set(this.floats.subarray(at >> 2, (at >> 2) + a.length));
        else new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(this.bytes.subarray(at, at + a.byteLength));
      }
      this.writeBack.length = 0;
    }
    this.km.giveBack();
  }
}
