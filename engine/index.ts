/**
 * The engine: tensors, the tape, the differentiable ops, gradient checking and the seeded generator.
 */
export { Tensor, keep, sizeOf, normalizeAxis } from './tensor.js';
export type { FromOptions, RandomOptions } from './tensor.js';
export { noGrad, isGradEnabled, record } from './tape.js';
export type { TapeNode, BackwardOptions } from './tape.js';
export { gradcheck } from './gradcheck.js';
export type { GradcheckOptions } from './gradcheck.js';
export { toDot, type ToDotOptions } from './toDot.js';
export { Rng } from './rng.js';
export { ShapeError, GradError, FormatError, BackendError, RecycledTensorError, ScopeError, fmtShape } from './errors.js';
export { alloc, allocPersistent, scoped, memoryStats, setPoisonOnRelease } from './memory.js';
export type { MemoryStats } from './memory.js';
export { broadcastShapes } from './broadcast.js';
export { linear } from './ops/linear.js';
export type { LinearOptions } from './ops/linear.js';
export { dropout } from './ops/dropout.js';
export { batchNorm, batchNormEval } from './ops/batchNorm.js';
export type { BatchStats } from './ops/batchNorm.js';
export { layerNorm } from './ops/layerNorm.js';
export { add } from './ops/add.js';
export { mul } from './ops/mul.js';
export { matmul } from './ops/matmul.js';
export { crossEntropy } from './ops/crossEntropy.js';
export { softmax } from './ops/softmax.js';
export { logSoftmax } from './ops/logSoftmax.js';
export { relu } from './ops/relu.js';
export { setThreads, getThreads, closeThreads, parallelProductCount, setBusyCheck } from './threads/index.js';
export { setBackend, getBackend, usesFma, threadsReady } from './backends/index.js';
export type { BackendName } from './backends/index.js';
// The optimizers' update loops, on the current backend (optim/ calls them; engine/kernels/updates.ts).
export { sgdUpdate, adamUpdate } from './backends/index.js';
export type { SgdStep, AdamStep } from './backends/index.js';
export { adamaxUpdate, radamUpdate, adaboundUpdate, lionUpdate, muonMomentum, muonApply, lookaheadSync } from './backends/index.js';
export type { AdamaxStep, RAdamStep, AdaBoundStep, LionStep, MuonMomentumStep, MuonApplyStep, LookaheadStep } from './backends/index.js';
export { rmspropUpdate, nadamUpdate, adagradUpdate, adadeltaUpdate } from './backends/index.js';
export type { RMSpropStep, NadamStep, AdagradStep, AdadeltaStep } from './backends/index.js';
export { nadamMu } from './kernels/updates.js';
// The matrix products Muon's Newton–Schulz iteration runs on (the ops' own, on the current backend and threads).
export { gemmNN, gemmNT } from './backends/index.js';
