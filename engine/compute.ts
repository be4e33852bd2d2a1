/**
 * Transitional: the ops' old entry points, now engine/backends/ (the kernel contract in kernels.ts,
 * the choice in index.ts). Removed once every op calls `kernels()` directly.
 */
import { kernels } from './backends/index.js';

export { gemmNN, gemmNT, gemmTN } from './backends/index.js';

export const biasForward = (out: Float32Array, bias: Float32Array, B: number, OUT: number): void => kernels().biasForward(out, bias, B, OUT);
export const biasBackward = (dbias: Float32Array, dout: Float32Array, B: number, OUT: number): void => kernels().biasBackward(dbias, dout, B, OUT);
export const biasReluForward = (out: Float32Array, bias: Float32Array | null, B: number, OUT: number): void =>
  kernels().biasReluForward(out, bias, B, OUT);
export const biasReluBackward = (dpre: Float32Array, dbias: Float32Array | null, dout: Float32Array, out: Float32Array, B: number, OUT: number): void =>
  kernels().biasReluBackward(dpre, dbias, dout, out, B, OUT);
export const reluForward = (out: Float32Array, inp: Float32Array, n: number): void => kernels().reluForward(out, inp, n);
export const reluBackward = (dinp: Float32Array, dout: Float32Array, out: Float32Array, n: number): void => kernels().reluBackward(dinp, dout, out, n);

/** The Keras SGD update in place, positional (optim/sgd.ts until it passes an SgdStep). */
export function sgdUpdate(
  w: Float32Array, v: Float32Array | null, g: Float32Array, lrT: number, momentum: number, nesterov: boolean, weightDecay: number, N: number,
): void {
  kernels().sgdUpdate(w, v, g, { lrT, momentum, nesterov, weightDecay }, N);
}

/** The Adam/AdamW update in place, positional (optim/adam.ts until it passes an AdamStep). */
export function adamUpdate(
  w: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, g: Float32Array,
  lr: number, beta1: number, beta2: number, eps: number, coupledDecay: number, decoupledDecay: number, t: number, N: number,
): void {
  kernels().adamUpdate(w, m, v, vmax, g, { lr, beta1, beta2, eps, coupledDecay, decoupledDecay, t }, N);
}
