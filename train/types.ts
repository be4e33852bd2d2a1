/**
 * The shapes `train` needs from the other folders, written structurally so that `fit` works with any
 * model that has `forward` and `parameters` (a `Sequential`, or a hand-written module), and with any
 * optimizer and schedule that follow optim's contract.
 */
import type { Tensor } from '../engine/index.js';
import type { History, Logs } from './history.js';

/** A state dictionary: PyTorch-style names (`0.weight`) to tensors. */
export type StateDict = Map<string, Tensor> | Record<string, Tensor>;

/**
 * A model. The optional methods are what layers/'s `Layer` adds; a hand-written model may leave them out,
 * and then it ends in logits (PyTorch's habit), has no penalties, constraints or generators to save.
 */
export interface Model {
  /** The outputs for a batch `x`, recorded on the tape. */
  forward(x: Tensor): Tensor;
  /** The tensors the optimizer updates. */
  parameters(): Tensor[];
  /** Training mode: dropout drops, batch norm uses batch statistics. */
  train(): unknown;
  /** Evaluation mode. */
  eval(): unknown;
  /** The weights (and buffers) by name, for checkpoints. */
  stateDict(): StateDict;
  /** Copies weights in, as `stateDict()` gave them. */
  loadStateDict(state: StateDict): unknown;
  /** True in training mode; `evaluate` puts it back after running in eval mode. */
  readonly training?: boolean;
  /** The output before a final softmax or sigmoid (see layers/layer.ts); the losses that take logits use it. */
  forwardLogits?(x: Tensor): Tensor;
  /** Regularization penalties (Keras's kernel_regularizer), a scalar on the tape, added to the training loss. */
  regularizationLoss?(): Tensor | null;
  /** Weight constraints (max-norm), projections applied after each optimizer step, as in Keras. */
  applyConstraints?(): void;
  /** The model's generators (Dropout masks), saved in checkpoints for an exact resume. */
  rngState?(): Record<string, number[]>;
  /** Restores what `rngState()` gave. */
  loadRngState?(state: Record<string, number[]>): void;
}

/** An optimizer as optim defines it; `stateDict` may hold tensors, typed arrays and plain JSON. */
export interface OptimizerLike {
  /** The rate of the next step; schedules write it. */
  lr: number;
  /** Forgets the parameters' gradients (they accumulate). */
  zeroGrad(): void;
  /** One update from the gradients. */
  step(): void;
  /** Its state (moment buffers, step counts) for a checkpoint. */
  stateDict?(): unknown;
  /** Restores what `stateDict()` gave. */
  loadStateDict?(state: never): void;
}

/**
 * A learning-rate schedule as optim defines it: closed-form in the epoch (or the batch, for per-batch
 * schedules), or fed a metric. `stepsOn` says which (absent: 'epoch').
 */
export interface ScheduleLike {
  /** Sets the optimizer's rate for index `t` (an epoch or a batch), or from `metric` (ReduceOnPlateau). */
  step(t?: number, metric?: number): unknown;
  /** What `fit` steps it on (absent: 'epoch'). */
  readonly stepsOn?: 'epoch' | 'batch' | 'metric';
  /** Its position, for a checkpoint. */
  stateDict?(): unknown;
  /** Restores what `stateDict()` gave. */
  loadStateDict?(state: never): void;
}

/**
 * The third argument of every callback hook: the run, and the switches a callback may flip. Keras
 * reaches these through `self.model` and `self.params`; here they come as an argument, so a callback
 * can be a plain object literal with no `this`.
 */
export interface TrainContext {
  /** The model being trained (the one passed to `fit`). */
  readonly model: Model;
  /** The optimizer `fit` steps after each batch (`FitOptions.optimizer`); its `lr` is the current rate. */
  readonly optimizer: OptimizerLike;
  /** The learning-rate schedule `fit` steps (given, or made by the `schedule` factory); undefined without one. */
  readonly schedule?: ScheduleLike;
  /** The epoch count `fit` was asked to reach (Keras's `params.epochs`). */
  readonly epochs: number;
  /** Batches per epoch (Keras's `params.steps`). */
  readonly stepsPerEpoch: number;
  /** Samples per batch (`FitOptions.batchSize`, default 32); an epoch's last batch may hold fewer. */
  readonly batchSize: number;
  /** Training samples (after a validation split). */
  readonly samples: number;
  /** The epoch running now, from 0. */
  epoch: number;
  /** Every finished epoch so far (a resumed run's include the epochs before the checkpoint). */
  readonly history: History;
  /** Set it to stop training: at once, after the current batch (Keras's `model.stop_training`). */
  stopTraining: boolean;
  /** Why training stopped early, in words ("early stopping at epoch 7", "loss is NaN at ..."). */
  stopReason?: string;
  /** Set when training was interrupted (`signal` aborted) in the middle of an epoch. */
  interrupted: boolean;
  /** Set when the run diverged (TerminateOnNaN's rule): nothing is checkpointed after it. */
  diverged: boolean;
  /** Writes a checkpoint that `fit({ resume: load(path) })` continues from exactly (see save.ts). */
  saveCheckpoint(path: string): void;
  /** Writes the model's weights alone, with its architecture (PyTorch loads it strictly; `load` rebuilds it). */
  saveWeights(path: string): void;
}

/**
 * Hooks, all optional, called in list order, with Keras's and TF.js's names and arguments: epochs and
 * batches count from 0 (batches within each epoch), logs use Keras 3's names (`loss`, `accuracy`,
 * `val_loss`, `val_accuracy`, `learning_rate`, plus `seconds` and `samples_per_sec`). What they get:
 *
 *   onTrainBegin(logs)           {}
 *   onEpochBegin(epoch, logs)    {}  (the schedule has already set this epoch's rate: ctx.optimizer.lr)
 *   onBatchBegin(batch, logs)    { batch, size }
 *   onBatchEnd(batch, logs)      { batch, size, loss, <metrics> } of this batch alone (as TF.js)
 *   onEpochEnd(epoch, logs)      the epoch's means, validation's `val_` ones, `learning_rate` (its first step's)
 *   onTrainEnd(logs)             the last epoch's logs
 *
 * and the run as a third argument (TrainContext). A callback with a `name` and `getState`/`setState` has
 * its state saved in checkpoints, so early stopping's patience counter survives a resume.
 */
export interface Callback {
  /** The key its state is saved under in checkpoints (with `getState`/`setState`). */
  readonly name?: string;
  /** Before the first epoch. */
  onTrainBegin?(logs: Logs, ctx: TrainContext): void;
  /** At the start of each epoch, after the schedule set its rate. */
  onEpochBegin?(epoch: number, logs: Logs, ctx: TrainContext): void;
  /** Before each batch's step. */
  onBatchBegin?(batch: number, logs: Logs, ctx: TrainContext): void;
  /** After each batch's step, with that batch's loss and metrics. */
  onBatchEnd?(batch: number, logs: Logs, ctx: TrainContext): void;
  /** After each epoch and its validation, with the epoch's logs. */
  onEpochEnd?(epoch: number, logs: Logs, ctx: TrainContext): void | Promise<void>;
  /** After the last epoch (or an early stop), with its logs. */
  onTrainEnd?(logs: Logs, ctx: TrainContext): void | Promise<void>;
  /** The state a checkpoint keeps (a patience counter, a best value). */
  getState?(): unknown;
  /** Restores what `getState()` gave, on resume. */
  setState?(state: unknown): void;
}
