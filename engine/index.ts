/**
 * The engine: tensors, the tape, the differentiable ops, gradient checking and the seeded generator.
 */
export { Tensor, noGrad, isGradEnabled, record, sizeOf, normalizeAxis } from './tensor.js';
export type { TapeNode, FromOptions, RandomOptions } from './tensor.js';
export { gradcheck } from './gradcheck.js';
export type { GradcheckOptions } from './gradcheck.js';
export { toDot, type ToDotOptions } from './toDot.js';
export { Rng } from './rng.js';
export { ShapeError, GradError, FormatError, fmtShape } from './errors.js';
export { alloc } from './memory.js';
export { broadcastShapes } from './broadcast.js';
export { linear } from './ops/linear.js';
export type { LinearOptions } from './ops/linear.js';
export { dropout } from './ops/dropout.js';
export { add } from './ops/add.js';
export { mul } from './ops/mul.js';
export { matmul } from './ops/matmul.js';
export { crossEntropy } from './ops/crossEntropy.js';
export { softmax } from './ops/softmax.js';
export { logSoftmax } from './ops/logSoftmax.js';
export { relu } from './ops/relu.js';
export { setThreads, getThreads, threadsReady, closeThreads } from './threads.js';
