import { kernels } from '../backends/index.js';
import { ShapeError, fmtShape } from '../errors.js';
import { alloc } from '../memory.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/**
 * Cross-entropy of logits (B,C) against integer labels (B), averaged over the batch:
 * mean_b(logsumexp(z_b) − z_b[y_b]). Softmax and the log are fused, so logits of ±1000 stay finite,
 * and the gradient is (softmax − onehot)/B (kernels/softmax.ts). Models end in logits, as in PyTorch.
 */
export function crossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  if (logits.ndim !== 2) throw new ShapeError(`crossEntropy: logits must be 2-D (batch, classes), got ${fmtShape(logits.shape)}`);
  const [B, C] = logits.shape;
  if (!(labels instanceof Int32Array)) throw new TypeError(`crossEntropy: labels must be an Int32Array, got ${Object.prototype.toString.call(labels)}`);
  if (labels.length !== B) {
    throw new ShapeError(`crossEntropy: ${labels.length} labels for a batch of ${B} logits ${fmtShape(logits.shape)}`);
  }
  for (let b = 0; b < B; b++) {
    if (labels[b] < 0 || labels[b] >= C) {
      throw new RangeError(`crossEntropy: label ${labels[b]} at index ${b} is outside [0, ${C}) for logits ${fmtShape(logits.shape)}`);
    }
  }
  const probs = alloc(B * C);
  const total = kernels().crossEntropyForward(probs, logits.data, labels, B, C);
  const out = alloc(1);
  out[0] = B > 0 ? total / B : 0;
  return record(new Tensor(out, []), 'crossEntropy', [logits], ({ data: dout }) => {
    const dlogits = alloc(B * C);
    kernels().crossEntropyBackward(dlogits, probs, labels, B, C, dout[0] / B);
    return [new Tensor(dlogits, logits.shape)];
  }, [probs]);
}
