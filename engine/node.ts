/**
 * The engine loads in a browser, so nothing here imports a Node built-in at module load. Where the
 * engine can use Node (the thread pool's worker_threads, the core count), it asks for the module
 * when it needs it through `process.getBuiltinModule` (Node ≥ 20.16): a plain function call, which
 * bundlers leave alone and which is simply absent in a page.
 */
type Builtins = {
  'node:fs': typeof import('node:fs');
  'node:os': typeof import('node:os');
  'node:worker_threads': typeof import('node:worker_threads');
};

interface NodeProcess {
  env: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
  emitWarning?: (message: string) => void;
}

/** Node's `process`, or null in a browser (or any runtime without one). */
export function nodeProcess(): NodeProcess | null {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p !== undefined && typeof p.getBuiltinModule === 'function' ? p : null;
}

/** A Node built-in module, or null where there is none (a browser, a Web Worker). */
export function nodeBuiltin<K extends keyof Builtins>(id: K): Builtins[K] | null {
  const p = nodeProcess();
  return p === null ? null : ((p.getBuiltinModule!(id) as Builtins[K] | undefined) ?? null);
}

/** An environment variable, or undefined (always, in a browser). */
export function envVar(name: string): string | undefined {
  return nodeProcess()?.env[name];
}
