/**
 * Where tensors keep their numbers, and when those numbers are given back. Every tensor buffer is made
 * here, and this comment is the one place the rules are written; everything else links here.
 *
 * Where SharedArrayBuffer exists (Node; a cross-origin-isolated page), buffers are Float32Array views
 * into one shared, growable `WebAssembly.Memory`: the WebAssembly kernels read and write tensors where
 * they lie, and the thread pool's workers, which hold the same memory, do too. Elsewhere a buffer is a
 * plain Float32Array owned by the garbage collector, and nothing below is recycled early.
 *
 * ## Which tensors are recycled, and when
 *
 * 1. **In a scope.** `scoped(fn)` gives back, when `fn` returns or throws, every buffer made while it
 *    ran, except what its result reaches — tensors, Float32Arrays and the tape behind the tensors, in
 *    arrays, objects, Maps and Sets nested to any depth — which passes to the enclosing scope (or, at
 *    the outermost, to rule 2 or 4). `fit`, `evaluate` and `predict` run every batch in one.
 * 2. **A step later, outside any scope.** A tensor an op records on the tape (an op's result that
 *    needs a gradient: activations, the loss) joins the current *step*. `backward()` ends a step: when
 *    backward number j starts, the tape tensors made before backward j − 1 started are given back,
 *    unless the graph being walked uses them. So a loop of your own (`zeroGrad`, forward, loss,
 *    `backward`, `step`) runs in flat memory with no scope, and the logits and loss of a step stay
 *    readable until the next step's backward — after `step()`, for metrics. `detach()` takes a tensor
 *    out of its step: `losses.push(loss.detach())` keeps the numbers.
 * 3. **By their owner.** A DataLoader's batch is given back when the loader makes the next batch;
 *    `t.dispose()` gives one back at once.
 * 4. **Everything else outside a scope lives in ordinary JavaScript memory**, which the garbage
 *    collector frees like any array: tensors you make (`Tensor.from`, `zeros`, `randn`...), results of
 *    ops that are not on the tape (an op's result is made in the arena; if `record` does not put it on
 *    the tape, it moves out at once), detached tensors and clones. (A page without shared memory has
 *    no arena: everything is ordinary memory there.)
 *
 * Never recycled by 1–3: parameters (any tensor made with, or given, `requiresGrad = true` while it is
 * a leaf), layers' buffers (BatchNorm's running statistics), optimizer state, leaf gradients, clones,
 * and tensors passed to `keep(t)`. Those of them in the arena go back when the garbage collector
 * collects their arrays (a FinalizationRegistry).
 *
 * ## What happens when you read a recycled tensor
 *
 * Each allocation gets its own `Storage`, and a tensor holds the storage it was made with. Giving a
 * block back marks that storage dead, so every later read through the tensor — `data`, `item()`,
 * `toArray()`, any op, `backward()` — throws a `RecycledTensorError` that says which rule recycled it and
 * to `clone()` or `keep()` it, instead of reading whatever tensor got the block next. The check is one
 * property load per `data` access. What it cannot guard is a Float32Array you took out yourself
 * (`const d = t.data`) and read after the tensor was recycled: read through the tensor, or `clone()`.
 *
 * Why rules at all: arena blocks are views into one big buffer, so the garbage collector sees a few
 * small objects where there are megabytes, and the finalizers that would give blocks back never run
 * inside a synchronous loop (measured: a plain loop grew by about 108 MiB an epoch of MNIST when the
 * arena relied on them). Rules 1–3 know when a block is dead without asking the collector, and rule 4
 * keeps in the arena only what a rule will give back; ordinary memory is what the collector is good at.
 * Why an arena at all: the WebAssembly kernels and the worker threads read tensors where they lie only
 * in the shared memory; an operand in ordinary memory is copied in for each kernel call (correct, and
 * cheap next to a product, but not free), so the hot path — a scope, or the tape — stays in the arena.
 *
 * Blocks come in size classes (four per power of two, so at most 25% is wasted) with one free list
 * each; a steady training loop asks for the same sizes every step, so after the first steps every
 * request is served from a free list and the memory never grows again.
 */

import { RecycledTensorError, ScopeError } from './errors.js';
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
  /** Tape tensors waiting in steps (rule 2 in engine/memory.ts), in bytes. */
  stepBytes: number;
}

/**
 * Who decides when a storage is given back (the rules in the header):
 * - `fresh`: made outside any scope, not (yet) on the tape: the garbage collector (rule 4).
 * - `scope`: made inside a scope that is still open (rule 1).
 * - `step`: a tape tensor outside any scope (rule 2).
 * - `owned`: its owner gives it back explicitly (rule 3: a loader's batch, a kernel's temporary).
 * - `kept`: never recycled early: parameters, buffers, optimizer state, gradients, clones, `keep(t)`.
 * - `external`: not a block of the arena (an array of the caller's, or a page without shared memory).
 */
export type Lifetime = 'fresh' | 'scope' | 'step' | 'owned' | 'kept' | 'external';

/**
 * One allocation: the Float32Array a tensor reads, whether it is still that tensor's, and who gives it
 * back. Tensors made over the same array (reshape, detach) share one storage.
 */
export class Storage {
  /** The numbers. Read through `Tensor.data`, which checks `live` first. (Moved once, by `toPlain`.) */
  view: Float32Array;
  /** False once the block went back (or was disposed): every read through a tensor then throws. */
  live = true;
  /** Who gives it back (see `Lifetime`). */
  lifetime: Lifetime;
  /** Set by `record`: the output or a saved buffer of a tape node (so a scope's survivors join a step). */
  tape = false;
  /** The step (count of backward calls started) it joined; −1 outside rule 2. */
  step = -1;
  /** Why it went back, for the error message. */
  recycledBy = '';
  /** The arena's allocation number (0 for an external storage). */
  readonly serial: number;

  constructor(view: Float32Array, lifetime: Lifetime, serial = 0) {
    this.view = view;
    this.lifetime = lifetime;
    this.serial = serial;
  }
}

/** The storage of each array the arena handed out (by the exact view object), and of arrays seen since. */
const storages = new WeakMap<Float32Array, Storage>();

/**
 * The storage behind `view`: the arena's own for a block it handed out; for any other array (the
 * caller's, a subarray, a page without shared memory) a new external storage, which nothing recycles.
 */
export function storageOf(view: Float32Array): Storage {
  let s = storages.get(view);
  if (s === undefined) {
    s = new Storage(view, 'external');
    storages.set(view, s);
  }
  return s;
}

interface Block {
  bytes: number; // the size class
  token: object; // the FinalizationRegistry's unregister token
  serial: number; // which allocation this is: the same as its storage's while that storage is live
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
  // Holds the offset only: a storage here would keep its view, the registry's target, alive for ever.
  private readonly registry = new FinalizationRegistry<number>((offset) => this.toFree(offset));
  private serial = 0;
  /** What each open scope allocated (or adopted), innermost last. */
  readonly scopes: Storage[][] = [];
  /** Rule 2's tape tensors outside any scope, oldest first. */
  steps: Storage[] = [];
  stepBytes = 0;
  /** backward() calls started so far: the step counter of rule 2. */
  backwards = 0;
  /** Tests set it: released blocks are filled with NaN and rest a while before reuse, so a use after release shows. */
  poison = false;
  /** Pairs (offset, bytes), oldest first from `quarantineHead` (shift() copies an array this long: 0.6 ms a call at 10⁶). */
  private quarantine: number[] = [];
  private quarantineHead = 0;
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

  alloc(size: number, lifetime: Lifetime, zero: boolean): Float32Array {
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
    // Made inside a scope: the scope's (an owned block too: its owner may give it back first, else the scope does).
    const inScope = (lifetime === 'fresh' || lifetime === 'owned') && this.scopes.length > 0;
    const serial = ++this.serial;
    const storage = new Storage(view, inScope && lifetime === 'fresh' ? 'scope' : lifetime, serial);
    storages.set(view, storage);
    const token = {};
    this.live.set(offset, { bytes, token, serial });
    this.registry.register(view, offset, token);
    this.inUse += bytes;
    if (inScope) this.scopes[this.scopes.length - 1].push(storage);
    return view;
  }

  /** Gives a storage's block back now (a no-op if it went back already). */
  recycle(storage: Storage, by: string): void {
    if (!storage.live) return;
    const offset = storage.view.byteOffset;
    const block = this.live.get(offset);
    storage.live = false;
    storage.recycledBy = by;
    // A live storage's block is its own (the collector cannot have taken it: the storage holds the view).
    if (block === undefined || block.serial !== storage.serial) return;
    if (storage.lifetime === 'step') this.stepBytes -= block.bytes;
    this.registry.unregister(block.token);
    this.toFree(offset);
  }

  private toFree(offset: number): void {
    const block = this.live.get(offset);
    if (block === undefined) return;
    this.live.delete(offset);
    this.inUse -= block.bytes;
    if (this.poison) {
      new Float32Array(this.currentBuffer(), offset, block.bytes / 4).fill(NaN);
      this.quarantine.push(offset, block.bytes);
      this.quarantineBytes += block.bytes;
      while (this.quarantineBytes > QUARANTINE_BYTES) {
        const o = this.quarantine[this.quarantineHead++];
        const b = this.quarantine[this.quarantineHead++];
        this.quarantineBytes -= b;
        this.toFreeList(o, b);
      }
      if (this.quarantineHead > 4096 && this.quarantineHead * 2 > this.quarantine.length) {
        this.quarantine = this.quarantine.slice(this.quarantineHead);
        this.quarantineHead = 0;
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

  /**
   * Rule 4: moves a live storage out of the arena into ordinary memory (a copy), and gives its block
   * back. Tensors over it keep reading the same numbers, now from the copy.
   */
  toPlain(storage: Storage): void {
    const offset = storage.view.byteOffset;
    const block = this.live.get(offset);
    if (!storage.live || block === undefined || block.serial !== storage.serial) return;
    if (storage.lifetime === 'step') this.stepBytes -= block.bytes;
    const copy = storage.view.slice();
    storage.view = copy;
    storage.lifetime = 'external';
    storages.set(copy, storage);
    this.registry.unregister(block.token);
    this.toFree(offset);
  }

  blockBytes(storage: Storage): number {
    return this.live.get(storage.view.byteOffset)?.bytes ?? 0;
  }

  /** A storage joins the current step (rule 2). */
  toStep(storage: Storage): void {
    storage.lifetime = 'step';
    storage.step = this.backwards;
    this.steps.push(storage);
    this.stepBytes += this.blockBytes(storage);
  }

  /**
   * Rule 2, at the start of a backward: the graph about to be walked (`inGraph`) joins this step (or,
   * with `retainGraph`, leaves the step count until a backward without it walks it again); then the
   * tape tensors made before the previous backward started, and not walked since, go back.
   */
  endStep(inGraph: Set<Storage>, retain: boolean): void {
    this.backwards++;
    // As if made just before this backward (the usual case): they go back when the next backward starts.
    for (const s of inGraph) if (s.lifetime === 'step') s.step = retain ? RETAINED : this.backwards - 1;
    const cutoff = this.backwards - 2; // made while `backwards` was at most this: before backward j − 1 started
    const stay: Storage[] = [];
    for (const s of this.steps) {
      if (!s.live || s.lifetime !== 'step') continue; // recycled, or detached/kept since
      if (s.step > cutoff) stay.push(s);
      else this.recycle(s, 'step');
    }
    this.steps = stay;
  }

  /**
   * Ends the innermost scope: its blocks go back, except those in `keep`, which pass to the enclosing
   * scope, or, at the outermost, to a step (tape tensors) or to the garbage collector.
   */
  closeScope(keep: Set<Storage>): void {
    const made = this.scopes.pop()!;
    const outer = this.scopes.length > 0 ? this.scopes[this.scopes.length - 1] : null;
    for (const s of made) {
      if (!s.live || (s.lifetime !== 'scope' && s.lifetime !== 'owned')) continue; // given back early, or kept since
      if (!keep.has(s)) {
        this.recycle(s, 'scope');
      } else if (outer !== null) {
        outer.push(s);
      } else if (s.lifetime === 'owned') {
        // its owner gives it back
      } else if (s.tape) {
        this.toStep(s);
      } else {
        s.lifetime = 'fresh';
      }
    }
  }

  /** Moves every storage of the innermost scope to the enclosing level without giving anything back. */
  abandonScope(): void {
    const made = this.scopes.pop()!;
    const outer = this.scopes.length > 0 ? this.scopes[this.scopes.length - 1] : null;
    for (const s of made) {
      if (!s.live || (s.lifetime !== 'scope' && s.lifetime !== 'owned')) continue;
      if (outer !== null) outer.push(s);
      else if (s.lifetime === 'owned') continue;
      else if (s.tape) this.toStep(s);
      else s.lifetime = 'fresh';
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
            'a loop that makes tensors outside any scope and calls no backward() keeps them until the garbage collector runs, ' +
            'which it does not do inside a synchronous loop: run each batch in scoped(() => ...), or use predict()/evaluate()',
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
      stepBytes: this.stepBytes,
    };
  }
}

/** The step of a graph walked with `retainGraph`: no later step recycles it until it is walked without. */
const RETAINED = Number.MAX_SAFE_INTEGER;

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
 * Scopes and steps need no arena to keep their books (a page without shared memory recycles nothing
 * early, but `scoped` still refuses async functions and keeps its nesting).
 */
let plainScopeDepth = 0;

/**
 * A zeroed buffer of `size` floats for a tensor, recycled by the rules in this file's header: by the
 * enclosing scope, or, outside one, by a step if an op records it on the tape, else by the collector.
 */
export function alloc(size: number): Float32Array {
  const a = theArena();
  return a === null ? plain(size) : a.alloc(size, 'fresh', true);
}

/**
 * Like `alloc` for a buffer the caller overwrites whole before anything reads it (a kernel's output):
 * a reused block is not zeroed first, so it holds whatever it held (NaN, in the tests' poison mode —
 * which is how a kernel that leaves part of its output unwritten shows up).
 */
export function allocUninit(size: number): Float32Array {
  const a = theArena();
  return a === null ? plain(size) : a.alloc(size, 'fresh', false);
}

/**
 * Like `alloc`, but never recycled early: for storage that outlives a step (leaf gradients, optimizer
 * state, clones, layer buffers). It returns to the arena only when its view is garbage-collected.
 */
export function allocPersistent(size: number): Float32Array {
  const a = theArena();
  return a === null ? plain(size, 'kept') : a.alloc(size, 'kept', true);
}

/**
 * Like `alloc`, for a buffer whose owner gives it back with `release` (rule 3): no scope or step
 * recycles it. A kernel's temporary, a data loader's batch.
 */
export function allocOwned(size: number, zero = true): Float32Array {
  const a = theArena();
  return a === null ? plain(size, 'owned') : a.alloc(size, 'owned', zero);
}

function plain(size: number, lifetime: Lifetime = 'external'): Float32Array {
  const view = new Float32Array(size);
  if (lifetime !== 'external') storages.set(view, new Storage(view, lifetime));
  return view;
}

/**
 * Gives a buffer back now, for storage whose owner knows it is dead (the tape's gradient temporaries, a
 * kernel's staging copy, a loader's previous batch). Every tensor over it reads as recycled afterwards.
 * An array that is not an arena block (a page without shared memory) is only marked.
 */
export function release(arr: Float32Array, by = 'its owner'): void {
  const s = storages.get(arr);
  if (s === undefined) {
    if (theArena()?.owns(arr)) throw new Error(`release: this Float32Array (${arr.length} values at byte ${arr.byteOffset}) is not a block the arena handed out (a subarray?)`);
    return;
  }
  recycleStorage(s, by);
}

/**
 * What an owner does with a buffer it made with `allocOwned` (rule 3): gives it back, unless the user
 * `keep()`ed a tensor over it since (then the collector decides).
 */
export function releaseOwned(arr: Float32Array, by: string): void {
  const s = storages.get(arr);
  if (s !== undefined && s.lifetime === 'owned') recycleStorage(s, by);
}

/** Gives a storage back now (arena block) or marks it dead (anything else): what `dispose()` does. */
export function recycleStorage(s: Storage, by: string): void {
  if (!s.live) return;
  const a = theArena();
  if (a !== null && a.owns(s.view) && s.lifetime !== 'external') {
    a.recycle(s, by);
    return;
  }
  s.live = false;
  s.recycledBy = by;
}

/** Marks a storage never to be recycled early (keep, parameters): it leaves its scope or step. */
export function keepStorage(s: Storage): void {
  if (s.lifetime === 'external' || s.lifetime === 'kept') return;
  if (s.lifetime === 'step') {
    const a = theArena();
    if (a !== null) a.stepBytes -= a.blockBytes(s);
  }
  s.lifetime = 'kept';
}

/** Takes a storage out of its step (detach): it moves to ordinary memory (rule 4). Scopes still apply. */
export function unstep(s: Storage): void {
  if (s.lifetime === 'step') theArena()?.toPlain(s);
}

/**
 * Called by `record` for an op's output and saved buffers once it is on the tape: outside any scope
 * they join the current step (rule 2). Inside a scope they stay the scope's.
 */
export function onTape(s: Storage): void {
  s.tape = true;
  const a = theArena();
  if (a !== null && s.lifetime === 'fresh' && a.owns(s.view)) a.toStep(s);
}

/** Called by `record` for an op's output that is not on the tape: outside any scope it moves to ordinary memory (rule 4). */
export function offTape(s: Storage): void {
  if (s.lifetime === 'fresh') theArena()?.toPlain(s);
}

/**
 * Storage for a tensor made from scratch (`Tensor.from`, `zeros`, `randn`...): ordinary memory (rule 4),
 * except inside a scope (the scope's) or for a parameter (`kept`, in the arena, where kernels read it in place).
 */
export function allocTensor(size: number, requiresGrad: boolean): Float32Array {
  const a = theArena();
  if (a === null) return plain(size);
  if (requiresGrad) return a.alloc(size, 'kept', true);
  if (a.scopes.length > 0) return a.alloc(size, 'fresh', true);
  return plain(size);
}

/** Rule 2: the start of a backward. `inGraph` holds the storages of the graph it is about to walk. */
export function startBackward(inGraph: Set<Storage>, retainGraph: boolean): void {
  theArena()?.endStep(inGraph, retainGraph);
}

/** True inside `scoped`. */
export function inScope(): boolean {
  const a = theArena();
  return a === null ? plainScopeDepth > 0 : a.scopes.length > 0;
}

/**
 * Runs `fn` in a scope (rule 1 of this file's header), like TensorFlow.js's `tf.tidy`: every buffer
 * made while it runs goes back when it returns or throws, except what its result reaches — tensors (with
 * the tape behind them, so `scoped(() => loss(model, x)).backward()` works) and Float32Arrays, inside
 * arrays, objects, Maps and Sets to any depth — which passes to the enclosing scope. Parameters, layer
 * buffers, optimizer state, gradients, clones and `keep()`ed tensors are never recycled by it.
 *
 * `fn` must be synchronous: a scope ends when `fn` returns, which for an async function is its first
 * `await`, while it still uses its tensors. An async function, or one that returns a promise, is refused
 * with a `ScopeError` (and, for the latter, nothing it made is recycled). Scope each synchronous step
 * inside the async function instead.
 *
 * @example
 * ```ts
 * import { Tensor, scoped, keep } from 'tapegrad';
 *
 * let temp!: Tensor;
 * const { y } = scoped(() => {
 *   temp = Tensor.from([1, 2, 3]).mul(2); // recycled when the scope ends
 *   return { y: temp.sum() };              // kept: the result reaches it
 * });
 * console.log(y.item()); // => 12
 * try {
 *   temp.toArray();
 * } catch (err) {
 *   console.log((err as Error).name); // => 'RecycledTensorError'
 * }
 * const kept = scoped(() => keep(Tensor.ones([2]))); // keep() survives any scope
 * console.log(kept.toArray()); // => [1, 1]
 * ```
 */
export function scoped<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`scoped: expected a function, got ${typeof fn}`);
  if (isAsyncFunction(fn)) {
    throw new ScopeError(
      'scoped: got an async function; a scope ends when its function returns, which for an async function is its first await, ' +
        'while it still uses its tensors. Scope each synchronous step inside it instead: await ...; scoped(() => step())',
    );
  }
  const a = theArena();
  if (a === null) plainScopeDepth++;
  else a.scopes.push([]);
  let result: T | undefined;
  let closed = false;
  try {
    result = fn();
    if (isPromiseLike(result)) {
      closed = true;
      if (a === null) plainScopeDepth--;
      else a.abandonScope();
      throw new ScopeError(
        'scoped: the function returned a promise; nothing was recycled, because its tensors are still in use after the scope would end. ' +
          'Scope each synchronous step inside the async code instead',
      );
    }
    return result;
  } finally {
    if (!closed) {
      if (a === null) plainScopeDepth--;
      else a.closeScope(reachable(result));
    }
  }
}

function isAsyncFunction(fn: unknown): boolean {
  const name = (fn as { constructor?: { name?: string } }).constructor?.name;
  return name === 'AsyncFunction' || name === 'AsyncGeneratorFunction';
}

function isPromiseLike(v: unknown): boolean {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** What a tensor exposes to the reachability walk (tensor.ts's Tensor; no import, to avoid a cycle). */
interface TensorShape {
  storage: Storage;
  node: { parents: unknown[]; saved?: Storage[] } | null;
}

function isTensorShape(v: object): v is TensorShape {
  return (v as { storage?: unknown }).storage instanceof Storage;
}

/**
 * Every storage reachable from `root`: tensors (their storage, their gradient's, and the tape behind
 * them: parents and saved buffers), Float32Arrays the arena handed out, and anything inside arrays,
 * objects, Maps and Sets, to any depth. Iterative, and each object is visited once (cycles are fine).
 */
export function reachable(root: unknown): Set<Storage> {
  const found = new Set<Storage>();
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Float32Array) {
      const s = storages.get(v);
      if (s !== undefined) found.add(s);
      continue;
    }
    if (ArrayBuffer.isView(v)) continue;
    if (isTensorShape(v)) {
      found.add(v.storage);
      const grad = (v as { grad?: unknown }).grad;
      if (grad !== null && grad !== undefined) stack.push(grad);
      if (v.node !== null) {
        for (const s of v.node.saved ?? []) found.add(s);
        for (const p of v.node.parents) stack.push(p);
      }
      continue;
    }
    if (v instanceof Storage) {
      found.add(v);
      continue;
    }
    if (v instanceof Map) {
      for (const [k, x] of v) stack.push(k, x);
      continue;
    }
    if (v instanceof Set || Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    for (const x of Object.values(v)) stack.push(x);
  }
  return found;
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
  return theArena()?.stats() ?? { arenaBytes: 0, inUseBytes: 0, freeBytes: 0, liveBlocks: 0, stepBytes: 0 };
}

/**
 * With `true`, released blocks are filled with NaN and held back from reuse for a while, so that code
 * reading a raw Float32Array after its tensor was recycled sees NaN instead of another tensor's
 * numbers. The test suite turns it on; it costs a fill per release. (Reads through a tensor throw a
 * `RecycledTensorError` either way.)
 */
export function setPoisonOnRelease(on: boolean): void {
  const a = theArena();
  if (a !== null) a.poison = on;
}

/** The error a read through a recycled tensor throws (tensor.ts calls it; the message is written here, beside the rules). */
export function recycledError(what: string, s: Storage): RecycledTensorError {
  const how =
    s.recycledBy === 'scope'
      ? 'when the scoped() call that made it ended'
      : s.recycledBy === 'step'
        ? 'two backward() calls after the step that made it (a tape tensor outside any scope lives until the next step\'s backward)'
        : s.recycledBy === 'dispose'
          ? 'by dispose()'
          : s.recycledBy === 'loader'
            ? 'when the DataLoader made the next batch'
            : `by ${s.recycledBy}`;
  return new RecycledTensorError(
    `${what}: this tensor's storage went back to the arena ${how}, and another tensor may use it now; ` +
      'clone() it (a private copy) or keep() it (exempt from recycling) while it is alive, or read what you need (item(), toArray()) before then. ' +
      'See engine/memory.ts for which tensors are recycled when.',
  );
}
