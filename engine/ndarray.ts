/**
 * Interop with `ndarray`, the strided-view type of the scijs world (the package's `tapegrad/ndarray`
 * entry). It lives outside the engine's index on purpose: ndarray and ndarray-ops generate their
 * code with `new Function`, which a page with a content-security policy refuses, so the core entry
 * never loads them and only code that asks for the interop pays for it.
 *
 * `ndarray`, `ndarray-ops` and `@types/ndarray` are optional peer dependencies of the package (six
 * packages for two functions): `npm install ndarray ndarray-ops @types/ndarray` before importing this
 * entry. Without them the import fails with one message naming that command.
 *
 * @module tapegrad/ndarray
 */
import type { NdArray } from 'ndarray';
import { alloc } from './memory.js';
import { Tensor, sizeOf } from './tensor.js';

/** The optional packages, loaded once as this module loads (a missing one is named, with its install command). */
const [{ default: ndarray }, { default: ops }] = await Promise.all([import('ndarray'), import('ndarray-ops')]).catch((err: NodeJS.ErrnoException) => {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'MODULE_NOT_FOUND') throw err;
  throw new Error('tapegrad/ndarray needs the optional packages ndarray and ndarray-ops, which are not installed: npm install ndarray ndarray-ops @types/ndarray', { cause: err });
});

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
