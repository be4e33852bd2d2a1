/**
 * Where tensors keep their numbers. Every tensor buffer is made here.
 *
 * Where SharedArrayBuffer exists (Node; a cross-origin-isolated page), buffers are Float32Array views
 * into one shared, growable `WebAssembly.Memory`: the WebAssembly kernels read and write tensors where
 * they lie (no operand is copied in or out), and the thread pool's workers, which hold the same
 * memory, read operands and write results there too. Elsewhere (a page without cross-origin
 * isolation) a buffer is a plain Float32Array owned by the garbage collector, and the engine runs
 * its JavaScript kernels on one thread (engine/backend.ts says so).
 *
 * What a user must know about arena storage:
 *
 * - A tensor's storage is reused once nothing refers to it any more: when the garbage collector has
 *   collected its Float32Array (a FinalizationRegistry returns the block), or when the scope it was
 *   made in ends (`scoped` below; `fit`, `evaluate` and `predict` run each batch in one). A view you
 *   made yourself (`t.data.subarray(..)`, `new Float32Array(t.data.buffer, ..)`) does not keep the
 *   block alive: keep the tensor, or take `t.clone()`, a private copy that no scope recycles.
 * - Leaf gradients live in persistent buffers that `backward()` refills each step (engine/tape.ts):
 *   `p.grad` after the next backward holds the new gradient; clone it to keep an old one.
 *
 * Why scopes as well as the garbage collector: a training step makes a few hundred kilobytes of
 * activations and gradients but only a few kilobytes of JavaScript objects, so V8 sees no reason to
 * collect (measured: no collection at all in 3,000 simulated steps), and blocks only the collector
 * could free would pile up by the gigabyte. A scope knows that a step's intermediate tensors are dead
 * when the step returns, so the same few blocks serve every step and the arena stays flat.
 *
 * Blocks come in size classes (four per power of two, so at most 25% is wasted) with one free list
 * each; a steady training loop asks for the same sizes every step, so after the first steps every
 * request is served from a free list and the memory never grows again.
 */

import { webAssembly, type WasmMemory } from './wasm/runtime.js';

/** Bytes per WebAssembly page. */
const PAGE = 65536;
/** Every block starts on a 64-byte boundary (a cache line; v128 loads want 16). */
const ALIGN = 64;
/** The first block starts here, so that pointer 0 can mean "none" to the kernels. */
const FIRST = ALIGN;

/** What `memoryStats()` reports about the engine's memory. */
export interface MemoryStats {
  /** Bytes the WebAssembly memory holds (it only grows). 0 without an arena. */
  arenaBytes: number;
  /** Bytes in blocks handed out and not yet returned. */
  inUseBytes: number;
  /** Bytes in free lists, ready for reuse. */
  freeBytes: number;
  /** Blocks handed out and not yet returned. */
  liveBlocks: number;
}

interface Block {
  bytes: number; // the size class
  token: object; // the FinalizationRegistry's unregister token
  serial: number; // which allocation this is: a scope releases a block only if it is still the one it made
}

class Arena {
  readonly memory: WasmMemory;
  private buffer: ArrayBufferLike;
  /** Every SharedArrayBuffer object this memory has had: each growth gives a new, longer one. */
  private readonly buffers = new Set<ArrayBufferLike>();
  private top = FIRST;
  private readonly free = new Map<number, number[]>();
  private readonly live = new Map<number, Block>();
  private inUse = 0;
  private freeTotal = 0;
  private readonly registry = new FinalizationRegistry<number>((offset) => this.releaseOffset(offset));
  /**
   * What each open scope allocated, innermost last, as pairs (offset, serial): a block released early
   * (by the tape) and handed out again belongs to its new owner, whose serial differs.
   */
  readonly scopes: number[][] = [];
  private serial = 0;
  /** Tests set it: released blocks are filled with NaN and rest a while before reuse, so a use after release shows. */
  poison = false;
  private readonly quarantine: number[] = [];
  private quarantineBytes = 0;

  constructor(memory: WasmMemory) {
    this.memory = memory;
    this.buffer = memory.buffer;
    this.buffers.add(this.buffer);
  }

  owns(arr: ArrayBufferView): boolean {
    return this.buffers.has(arr.buffer);
  }

  /** The memory's current buffer (after growth, a longer one; the old ones stay valid). */
  currentBuffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (b !== this.buffer) {
      this.buffer = b;
      this.buffers.add(b);
    }
    return b;
  }

  alloc(size: number, scoped: boolean, zero = true): Float32Array {
    const bytes = sizeClass(size * 4);
    let offset = this.free.get(bytes)?.pop();
    let reused = true;
    if (offset === undefined) {
      offset = this.top;
      this.grow(offset + bytes);
      this.top = offset + bytes;
      reused = false; // memory never handed out before is zero
    } else {
      this.freeTotal -= bytes;
    }
    const view = new Float32Array(this.currentBuffer(), offset, size);
    if (reused && zero) view.fill(0);
    const token = {};
    const serial = ++this.serial;
    this.live.set(offset, { bytes, token, serial });
    this.registry.register(view, offset, token);
    this.inUse += bytes;
    if (scoped && this.scopes.length > 0) this.scopes[this.scopes.length - 1].push(offset, serial);
    return view;
  }

  /** Returns a block now; a no-op for an array that is not exactly a live block of this arena. */
  release(arr: Float32Array): void {
    if (!this.owns(arr)) return;
    const block = this.live.get(arr.byteOffset);
    if (block === undefined || arr.byteLength > block.bytes) return;
    this.registry.unregister(block.token);
    this.releaseOffset(arr.byteOffset);
  }

  releaseOffset(offset: number): void {
    const block = this.live.get(offset);
    if (block === undefined) return;
    this.live.delete(offset);
    this.inUse -= block.bytes;
    if (this.poison) {
      new Float32Array(this.currentBuffer(), offset, block.bytes / 4).fill(NaN);
      this.quarantine.push(offset, block.bytes);
      this.quarantineBytes += block.bytes;
      while (this.quarantineBytes > QUARANTINE_BYTES) {
        const o = this.quarantine.shift()!;
        const b = this.quarantine.shift()!;
        this.quarantineBytes -= b;
        this.toFreeList(o, b);
      }
      return;
    }
    this.toFreeList(offset, block.bytes);
  }

  private toFreeList(offset: number, bytes: number): void {
    let list = this.free.get(bytes);
    if (list === undefined) this.free.set(bytes, (list = []));
    list.push(offset);
    this.freeTotal += bytes;
  }

  /** Ends the innermost scope: its blocks go back, except those of `keep` (they move to the enclosing scope). */
  closeScope(keep: Set<number>): void {
    const made = this.scopes.pop()!;
    const outer = this.scopes.length > 0 ? this.scopes[this.scopes.length - 1] : null;
    for (let i = 0; i < made.length; i += 2) {
      const offset = made[i];
      const block = this.live.get(offset);
      if (block === undefined || block.serial !== made[i + 1]) continue; // released already (and maybe reused)
      if (keep.has(offset)) {
        outer?.push(offset, block.serial);
        continue;
      }
      this.registry.unregister(block.token);
      this.releaseOffset(offset);
    }
  }

  private grow(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // Grow by at least a quarter of what is there, so that a growing run grows a few times, not per block.
    const pages = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 4));
    try {
      this.memory.grow(pages);
    } catch {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        throw new RangeError(
          `tapegrad: the tensor memory is full (${(have / 2 ** 20).toFixed(0)} MiB in use, ${((end - have) / 2 ** 20).toFixed(1)} MiB more asked for); ` +
            'free tensors you no longer need, or use smaller batches',
        );
      }
    }
    this.currentBuffer();
  }

  stats(): MemoryStats {
    return {
      arenaBytes: this.memory.buffer.byteLength,
      inUseBytes: this.inUse,
      freeBytes: this.freeTotal + this.quarantineBytes,
      liveBlocks: this.live.size,
    };
  }
}

/** Bytes released blocks rest in quarantine (poison mode) before they can be handed out again. */
const QUARANTINE_BYTES = 32 * 2 ** 20;

/** Rounds a request up to its size class: multiples of 64 bytes up to 1 KiB, then four classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 1024) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

/** Most pages the memory may grow to (4 GiB, the most a 32-bit WebAssembly memory addresses). */
const MAX_PAGES = [65536, 32768, 16384];
const INITIAL_PAGES = 256; // 16 MiB

let arena: Arena | null | undefined;

function theArena(): Arena | null {
  if (arena !== undefined) return arena;
  arena = null;
  const wasm = webAssembly();
  if (typeof SharedArrayBuffer === 'undefined' || wasm === null) return arena;
  // The whole maximum is reserved as address space up front (a shared memory cannot move when it
  // grows); where that much is refused, try less.
  for (const maximum of MAX_PAGES) {
    try {
      arena = new Arena(new wasm.Memory({ initial: INITIAL_PAGES, maximum, shared: true }));
      break;
    } catch {
      // try the next maximum
    }
  }
  return arena;
}

/**
 * A zeroed buffer of `size` floats for a tensor. Inside a `scoped` call it returns to the arena when
 * the scope ends (unless the scope's result holds it); otherwise when its view is garbage-collected.
 */
export function alloc(size: number): Float32Array {
  const a = theArena();
  return a === null ? new Float32Array(size) : a.alloc(size, true);
}

/**
 * Like `alloc` for a buffer the caller overwrites whole before anything reads it (a kernel's output):
 * a reused block is not zeroed first, so it holds whatever it held (NaN, in the tests' poison mode —
 * which is how a kernel that leaves part of its output unwritten shows up).
 */
export function allocUninit(size: number): Float32Array {
  const a = theArena();
  return a === null ? new Float32Array(size) : a.alloc(size, true, false);
}

/**
 * Like `alloc`, but no scope ever recycles it: for storage that outlives a step (leaf gradients,
 * optimizer state, clones). It returns to the arena only when its view is garbage-collected.
 */
export function allocPersistent(size: number): Float32Array {
  const a = theArena();
  return a === null ? new Float32Array(size) : a.alloc(size, false);
}

/**
 * Hands a buffer back at once, for storage whose owner knows it is dead (the tape's gradient
 * temporaries). A no-op for a buffer that is not an arena block.
 */
export function release(arr: Float32Array): void {
  theArena()?.release(arr);
}

/**
 * Runs `fn` in a scope: every buffer allocated while it runs returns to the arena when it returns
 * (or throws), except the storage of the tensors in its result (a tensor, or an array or object of
 * them, one level deep), which passes to the enclosing scope. `fit`, `evaluate` and `predict` run
 * each batch this way, so training allocates nothing new after its first steps. In your own loop,
 * wrap each step the same way if you want flat memory; read what you need (`loss.item()`) inside.
 */
export function scoped<T>(fn: () => T): T {
  const a = theArena();
  if (a === null) return fn();
  a.scopes.push([]);
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    a.closeScope(keptOffsets(a, result));
  }
}

function keptOffsets(a: Arena, result: unknown): Set<number> {
  const keep = new Set<number>();
  const visit = (v: unknown): void => {
    const data = (v as { data?: unknown } | null)?.data;
    if (data instanceof Float32Array && a.owns(data)) keep.add(data.byteOffset);
  };
  if (result !== null && typeof result === 'object') {
    visit(result);
    for (const v of Array.isArray(result) ? result : Object.values(result)) visit(v);
  }
  return keep;
}

/** The shared memory tensors live in, or null where buffers are plain arrays. */
export function sharedMemory(): WasmMemory | null {
  return theArena()?.memory ?? null;
}

/** True when `arr` lies in the shared memory (so WebAssembly kernels and pool workers can reach it). */
export function inSharedMemory(arr: ArrayBufferView): boolean {
  return theArena()?.owns(arr) ?? false;
}

/** The arena's size and use (the benchmark reports them per epoch; zeros without an arena). */
export function memoryStats(): MemoryStats {
  return theArena()?.stats() ?? { arenaBytes: 0, inUseBytes: 0, freeBytes: 0, liveBlocks: 0 };
}

/**
 * With `true`, released blocks are filled with NaN and held back from reuse for a while, so that code
 * reading a tensor after its scope ended sees NaN instead of another tensor's numbers. The test suite
 * turns it on; it costs a fill per release.
 */
export function setPoisonOnRelease(on: boolean): void {
  const a = theArena();
  if (a !== null) a.poison = on;
}
