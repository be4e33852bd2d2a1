/**
 * The one door from train/ to Node, as data/node.ts is data's. `fit`, `evaluate`, the steps, losses,
 * metrics, History, the callbacks that touch no file (EarlyStopping, LearningRateScheduler,
 * TerminateOnNaN), the safetensors and checkpoint encoders (bytes in, bytes out) and the plot specs run
 * in a page. What writes or reads files, or the terminal, asks for the Node module here when it runs
 * (through engine/node.ts's `process.getBuiltinModule`): nothing Node-only is imported at module load,
 * so a bundler has nothing to stub, and in a page the call is a `NodeOnlyError` naming what was called,
 * the module it needed and what a page does instead.
 */
import { nodeModule as dataNodeModule, type Builtins } from '../data/node.js';

/** What a page does instead, by what needed Node: the end of each NodeOnlyError's message. */
const IN_A_PAGE = {
  files:
    'in a page, encodeCheckpoint and decodeCheckpoint turn a checkpoint into bytes and back ' +
    '(encodeSafetensors and decodeSafetensors any tensors); keep the bytes where a page can (IndexedDB, a download, a POST)',
  logs: "in a page, a callback's onEpochEnd receives each epoch's logs, and the History fit returns holds them all (metricsCsv(history) is the CSV)",
  terminal: 'in a page, give it { tty: false, write } (one line an epoch), or write a callback of your own',
  plots: 'in a page, draw the spec (curvesSpec, lrFindSpec, sweepSpec) with vega-embed',
  chart: 'in a page, draw curvesSpec(history) with vega-embed (this chart is for a terminal)',
} as const;

/** Why `op` needed Node: which of the page's alternatives its message names. */
export type NodeUse = keyof typeof IN_A_PAGE;

/** The Node built-in module `id`, for `op`; a `NodeOnlyError` where there is none. */
export function nodeModule<K extends keyof Builtins>(id: K, op: string, use: NodeUse): Builtins[K] {
  return dataNodeModule(id, op, IN_A_PAGE[use]);
}

/** What a page does instead of train's file functions (the end of their NodeOnlyError). */
export const FILES_IN_A_PAGE = IN_A_PAGE.files;

/**
 * A CommonJS package, loaded when it is first needed (not at module load, so a page's bundle never
 * holds it): cli-progress for the bar, asciichart for the terminal chart.
 */
export function requirePackage<T>(name: string, op: string, use: NodeUse): T {
  const { createRequire } = nodeModule('node:module', op, use);
  const { join } = nodeModule('node:path', op, use);
  // import.meta.dirname, not import.meta.url: a bundler writes the builder's absolute path in place of the URL.
  return createRequire(join(import.meta.dirname, 'node.js'))(name) as T;
}
