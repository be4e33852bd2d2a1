/**
 * A function that reads or writes files (or the terminal) was called where there is no Node: a page, a
 * Web Worker. The one error type for it: data/ throws it for the loaders that read files, train/ for
 * checkpoints to a path, the file logs, the progress bar and the plots. The message names what was
 * called and what to do in a page instead.
 */
export class NodeOnlyError extends Error {
  /** The error class, as `err.name` shows it. */
  override name = 'NodeOnlyError';

  constructor(
    /** What was called: 'loadMnist', 'readIdx', 'save', 'ModelCheckpoint', ... */
    readonly op: string,
    /** The built-in module it needed: 'node:fs', ... */
    readonly module: string,
    /** What does the job in a page, as the end of the message: 'in a page, fetch the bytes and ...'. */
    instead: string,
  ) {
    super(`${op} needs Node (${module}), which this runtime does not have; ${instead}`);
  }
}
