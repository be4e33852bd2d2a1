/**
 * Interop with `ndarray`, the strided-view type of the scijs world (the package's `tapegrad/ndarray`
 * entry). It lives outside the engine's index on purpose: ndarray and ndarray-ops generate their
 * code with `new Function`, which a page with a content-security policy refuses, so the core entry
 * never loads them and only code that asks for the interop pays for it.
 *
 * @module tapegrad/ndarray
 */
import ndarray, { type NdArray } from 'ndarray';
import ops from 'ndarray-ops';
import { alloc } from './memory.js';
import { Tensor, sizeOf } from './tensor.js';

/** Copies any `ndarray` view (strided, transposed, sliced) into a new row-major tensor. */
export function fromNdarray(array: NdArray, options: { requiresGrad?: boolean } = {}): Tensor {
  const shape = array.shape.slice();
  const data = alloc(sizeOf(shape));
  ops.assign(ndarray(data, shape), array);
  return new Tensor(data, shape, options.requiresGrad ?? false);
}

/** A row-major `ndarray` view over the tensor's storage (no copy: writes through it change the tensor). */
export function toNdarray(tensor: Tensor): NdArray<Float32Array> {
  return ndarray(tensor.data, tensor.shape.slice());
}
