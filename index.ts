/**
 * tapegrad, the package's root entry (`import { Tensor, Sequential, fit } from 'tapegrad'`): every
 * folder's public face in one place. Each folder is also its own entry (`tapegrad/engine`,
 * `tapegrad/layers`, `tapegrad/optim`, `tapegrad/data`, `tapegrad/train`), and the ndarray interop is
 * `tapegrad/ndarray` alone, because ndarray generates code with `new Function` (engine/ndarray.ts).
 *
 * It loads in a page too (a bundler needs no stubs): nothing here imports Node at module load. What
 * reads or writes files, or the terminal (the MNIST and Fashion-MNIST loaders, `save`, `load`,
 * `ModelCheckpoint`, the CSV and JSONL logs, the progress bar, the SVG plots), asks for Node when it
 * runs and in a page throws a `NodeOnlyError` naming itself and what a page uses instead.
 *
 * @module tapegrad
 */
export * from './engine/index.js';
export * from './layers/index.js';
export * from './optim/index.js';
export * from './data/index.js';
export * from './train/index.js';
