/** A function that reads or writes files was called where there is no Node (a page, a Web Worker). */
export class NodeOnlyError extends Error {
  /** The error class, as `err.name` shows it. */
  override name = 'NodeOnlyError';

  constructor(
    /** What was called: 'loadMnist', 'readIdx', ... */
    readonly op: string,
    /** The built-in module it needed: 'node:fs', ... */
    readonly module: string,
  ) {
    super(
      `${op} needs Node (${module}), which this runtime does not have; in a page, fetch the bytes ` +
        `and use parseIdx (or your own parser) with createDataset`,
    );
  }
}
