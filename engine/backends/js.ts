/**
 * The `js` backend: the plain-TypeScript kernels of engine/kernels/, the readable path and the
 * fallback where WebAssembly SIMD is missing. Its products still use the thread pool where tensors
 * lie in shared memory (Node), through the JavaScript product kit.
 */
import { reluBackward, reluForward, sigmoidBackward, sigmoidForward, tanhBackward, tanhForward } from '../kernels/activation.js';
import { batchNormBackward, batchNormForward, normalizeAffine } from '../kernels/batchNorm.js';
import { dropoutBackward, dropoutForward } from '../kernels/dropout.js';
import { layerNormBackward, layerNormForward } from '../kernels/layerNorm.js';
import {
  crossEntropyBackward, crossEntropyForward, logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward,
} from '../kernels/softmax.js';
import { chooseAxis, jsGemmKit, zeroSkippingEnabled } from '../kernels/gemmPacked.js';
import { biasBackward, biasForward, biasReluBackward, biasReluForward } from '../kernels/linear.js';
import {
  adaboundUpdate, adadeltaUpdate, adagradUpdate, adamUpdate, adamaxUpdate, lionUpdate, lookaheadSync, muonApply, muonMomentum, nadamUpdate,
  radamUpdate, rmspropUpdate, sgdUpdate,
} from '../kernels/updates.js';
import { inSharedMemory, sharedMemory } from '../memory.js';
import { runGemm, type PoolKernels } from '../threads/index.js';
import { KIND_JS } from '../threads/protocol.js';
import type { Kernels } from './kernels.js';
import { SharedKernelMemory, Staging } from './staging.js';

const pool: PoolKernels = { kind: KIND_JS, kit: jsGemmKit() };
/** For a product whose operands the pool's workers cannot see (arrays of the caller's own). */
let staging: Staging | null = null;

export const jsKernels: Kernels = {
  name: 'js',
  fma: false,
  gemm(C, A, ai, ak, B, bk, bj, M, K, N) {
    const job = { A, a0: 0, ai, ak, B, b0: 0, bk, bj, C, c0: 0, M, K, N, axis: chooseAxis(M, N), zeroSkip: zeroSkippingEnabled() };
    if (sharedMemory() === null || (inSharedMemory(A) && inSharedMemory(B) && inSharedMemory(C))) {
      runGemm(job, pool);
      return;
    }
    const s = (staging ??= new Staging(new SharedKernelMemory()));
    const a = s.in(A);
    const b = s.in(B);
    const c = s.out(C);
    runGemm({ ...job, A: s.view(a, A.length), B: s.view(b, B.length), C: s.view(c, C.length) }, pool);
    s.done();
  },
  biasForward,
  biasBackward,
  biasReluForward,
  biasReluBackward,
  reluForward,
  reluBackward,
  tanhForward,
  tanhBackward,
  sigmoidForward,
  sigmoidBackward,
  dropoutForward,
  dropoutBackward,
  batchNormForward,
  normalizeAffine,
  batchNormBackward,
  layerNormForward,
  layerNormBackward,
  softmaxForward,
  softmaxBackward,
  logSoftmaxForward,
  logSoftmaxBackward,
  crossEntropyForward,
  crossEntropyBackward,
  sgdUpdate,
  adamUpdate,
  adamaxUpdate,
  radamUpdate,
  adaboundUpdate,
  lionUpdate,
  muonMomentum,
  muonApply,
  lookaheadSync,
  rmspropUpdate,
  nadamUpdate,
  adagradUpdate,
  adadeltaUpdate,
};
