/**
 * One training step and one evaluation step: the only places a loss is computed. `fit`, the command line
 * and the learning-rate range test (optim's `findLearningRate` takes `(batch) => trainStep(setup, batch).loss`)
 * all train through `trainStep`; `evaluate` and the validation pass go through `evalStep`.
 *
 * Both return plain numbers: no tensor made inside a step is kept after it returns (the batch's loss and
 * metric sums are read out as numbers, and callbacks get those), so each runs in an engine memory scope
 * (engine/memory.ts `scoped`): the step's activations and gradients go back to the arena when it ends,
 * and the next step reuses the same blocks, so training allocates nothing new after its first steps.
 * (A layer or loss that keeps a tensor across steps must `clone()` it.)
 */
import { ShapeError, Tensor, fmtShape, noGrad, scoped } from '../engine/index.js';
import type { Batch } from '../data/index.js';
import type { Loss } from './losses.js';
import type { Metric } from './metrics.js';
import type { Model, OptimizerLike } from './types.js';

/** What a step needs: decided once per run (fit resolves the loss and metrics before training starts). */
export interface StepSetup {
  /** The model: `forwardLogits` (for a loss on logits) or `forward` predicts; its penalties and constraints apply if it has them. */
  model: Model;
  /** Zeroes the gradients before the forward pass and applies them after the backward pass. */
  optimizer: OptimizerLike;
  /** The resolved loss (`resolveLoss`), which gives the batch's mean loss on the tape. */
  loss: Loss;
  /** What to measure on each batch besides the loss, in the order of `StepResult.metrics`. */
  metrics: readonly Metric[];
}

/** What one `trainStep` or `evalStep` measured on its batch. */
export interface StepResult {
  /** The batch's mean loss (in training, the model's regularization penalties included, as Keras reports it). */
  loss: number;
  /** Samples in the batch. */
  size: number;
  /** Per metric (in `setup.metrics` order), the sum of its per-sample values over the batch. */
  metrics: number[];
  /** False when the loss was not finite: then no gradient was applied, so the weights stay finite. */
  applied: boolean;
}

/** What the loss trains on: the logits for a loss that applies its own softmax or sigmoid, else the output. */
export function predictionOf(model: Model, loss: Loss, x: Tensor): Tensor {
  return loss.link !== null && typeof model.forwardLogits === 'function' ? model.forwardLogits(x) : model.forward(x);
}

/**
 * One optimizer step on `batch`: forward, loss (+ penalties), backward, `optimizer.step()`, then the
 * weight constraints (Keras applies them after each update). The model should be in training mode.
 */
export function trainStep(setup: StepSetup, batch: Batch): StepResult {
  return scoped(() => trainStepIn(setup, batch));
}

function trainStepIn(setup: StepSetup, batch: Batch): StepResult {
  const { model, optimizer, loss, metrics } = setup;
  optimizer.zeroGrad();
  const pred = predictionOf(model, loss, batch.x);
  let total = scalar(loss.compute(pred, batch), loss);
  const penalty = typeof model.regularizationLoss === 'function' ? model.regularizationLoss() : null;
  if (penalty !== null) total = total.add(penalty);
  const value = total.item();
  const sums = metrics.map((m) => m.sum(pred, batch));
  if (!Number.isFinite(value)) return { loss: value, size: batch.size, metrics: sums, applied: false };
  total.backward();
  optimizer.step();
  if (typeof model.applyConstraints === 'function') model.applyConstraints();
  return { loss: value, size: batch.size, metrics: sums, applied: true };
}

/** The loss (without penalties: the data's alone) and metric sums of `batch`, with no tape. The model should be in eval mode. */
export function evalStep(setup: Omit<StepSetup, 'optimizer'>, batch: Batch): StepResult {
  const { model, loss, metrics } = setup;
  return scoped(() => noGrad(() => {
    const pred = predictionOf(model, loss, batch.x);
    const value = scalar(loss.compute(pred, batch), loss).item();
    return { loss: value, size: batch.size, metrics: metrics.map((m) => m.sum(pred, batch)), applied: false };
  }));
}

function scalar(t: Tensor, loss: Loss): Tensor {
  if (t.size !== 1) throw new ShapeError(`${loss.name} returned shape ${fmtShape(t.shape)}; a loss must be a scalar`);
  return t;
}
