/**
 * Typed errors. Every message names the op, what it got and what it expected, so the reader knows
 * what to fix without a debugger. `RangeError` (built in) is used for bad scalar values: a dropout
 * rate of 1.5, a negative learning rate, a label outside [0, classes).
 */

/** Shapes that do not fit together: `matmul: [2,3] x [4,5]: inner sizes 3 and 4 differ`. */
export class ShapeError extends Error {
  /** The error class, as `err.name` and stack traces show it. */
  override name = 'ShapeError';
}

/** Using the tape wrongly: backward on a non-scalar without a gradient, backward twice through freed graph... */
export class GradError extends Error {
  /** The error class, as `err.name` and stack traces show it. */
  override name = 'GradError';
}

/** A file that is not what it claims to be: wrong magic number, truncated data, a bad safetensors header. */
export class FormatError extends Error {
  /** The error class, as `err.name` and stack traces show it. */
  override name = 'FormatError';
}

/** `[2,3]` — how shapes appear in every message. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** A backend that does not exist or cannot run here: `setBackend: unknown backend 'gpu', expected 'wasm' or 'js'`. */
export class BackendError extends Error {
  /** The error class, as `err.name` and stack traces show it. */
  override name = 'BackendError';
}

/**
 * Reading a tensor whose storage went back to the arena (a scope ended, a later step, a loader's next
 * batch, `dispose()`): the message says which, and to `clone()` or `keep()` it. engine/memory.ts has the rules.
 */
export class RecycledTensorError extends Error {
  /** The error class, as `err.name` and stack traces show it. */
  override name = 'RecycledTensorError';
}

/** Misusing `scoped`: an async function, or one that returns a promise (engine/memory.ts). */
export class ScopeError extends Error {
  /** The error class, as `err.name` and stack traces show it. */
  override name = 'ScopeError';
}
