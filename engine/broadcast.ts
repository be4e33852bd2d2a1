import { ShapeError, fmtShape } from './errors.js';
import { alloc, release } from './memory.js';

/**
 * NumPy broadcasting. Shapes are aligned at their last axis; two sizes fit if they are equal or one
 * of them is 1 (a missing leading axis counts as 1). `[B, N] + [N]` adds a row to every row.
 */
export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast: axis ${i} has sizes ${da} and ${db}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * For each element of a tensor of `outShape` (row-major), the index of the element of the input of
 * `inShape` that broadcasting reads. Null when the shapes are equal (the identity). Broadcast axes
 * get stride 0, so walking the output reads the same input element again.
 */
export function indexMap(outShape: readonly number[], inShape: readonly number[]): Int32Array | null {
  if (sameShape(outShape, inShape)) return null;
  const n = outShape.length;
  const strides = new Array<number>(n).fill(0);
  let stride = 1;
  for (let i = inShape.length - 1; i >= 0; i--) {
    const outAxis = n - inShape.length + i;
    strides[outAxis] = inShape[i] === 1 ? 0 : stride;
    stride *= inShape[i];
  }
  let size = 1;
  for (const d of outShape) size *= d;
  const map = new Int32Array(size);
  const counter = new Array<number>(n).fill(0);
  let offset = 0;
  for (let i = 0; i < size; i++) {
    map[i] = offset;
    // Advance the odometer: bump the last axis, carry into earlier ones.
    for (let axis = n - 1; axis >= 0; axis--) {
      counter[axis]++;
      offset += strides[axis];
      if (counter[axis] < outShape[axis]) break;
      offset -= strides[axis] * counter[axis];
      counter[axis] = 0;
    }
  }
  return map;
}

/**
 * The gradient of a broadcast: every output element that read input element j sends its gradient
 * back to j, so the gradient is summed over the broadcast axes. Returns `g` itself for the identity.
 */
export function sumToInput(g: Float32Array, map: Int32Array | null, inSize: number): Float32Array {
  if (map === null) return g;
  const dinp = alloc(inSize);
  for (let i = 0; i < g.length; i++) dinp[map[i]] += g[i];
  return dinp;
}

/**
 * `sumToInput` for a buffer the op made itself (mul's and div's products with dout): when the sum goes
 * into a new buffer, `g` is handed back to the arena at once.
 */
export function sumToInputReleasing(g: Float32Array, map: Int32Array | null, inSize: number): Float32Array {
  const summed = sumToInput(g, map, inSize);
  if (summed !== g) release(g);
  return summed;
}
