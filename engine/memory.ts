/**
 * Every tensor buffer is made here, so there is one place that decides where float memory lives
 * (plain or shared with the worker threads) and whether a buffer can be recycled.
 */
export function alloc(size: number): Float32Array {
  return new Float32Array(size);
}
