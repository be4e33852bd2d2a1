/**
 * The part of the `WebAssembly` JavaScript API the engine uses, typed here because the project's
 * `lib` (ES2022, no DOM) declares none of it. Reached through `globalThis`, so a runtime without
 * WebAssembly loads this file and gets `null` from `webAssembly()` instead of a ReferenceError.
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmMemoryDescriptor {
  initial: number;
  maximum?: number;
  shared?: boolean;
}

export interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  Memory: new (descriptor: WasmMemoryDescriptor) => WasmMemory;
  compile(bytes: Uint8Array): Promise<WasmModule>;
}

/** The runtime's WebAssembly object, or null where there is none. */
export function webAssembly(): WebAssemblyApi | null {
  const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  return api === undefined ? null : api;
}

/** The runtime's WebAssembly object; a clear error where there is none. */
export function requireWebAssembly(op: string): WebAssemblyApi {
  const api = webAssembly();
  if (api === null) throw new Error(`${op}: this JavaScript runtime has no WebAssembly; use setBackend('js')`);
  return api;
}
