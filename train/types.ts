/**
 * The shapes `train` needs from the other folders, written structurally so that `fit` works with any
 * model that has `forward` and `parameters` (a `Sequential`, or a hand-written module), and with any
 * optimizer and schedule that follow optim's contract.
 */
import type { Tensor } from '../engine/index.js';
import type { EpochLogs, History } from './history.js';

/** A state dictionary: PyTorch-style names (`0.weight`) to tensors. */
export type StateDict = Map<string, Tensor> | Record<string, Tensor>;

export interface Model {
  forward(x: Tensor): Tensor;
  parameters(): Tensor[];
  train(): unknown;
  eval(): unknown;
  stateDict(): StateDict;
  loadStateDict(state: StateDict): unknown;
  /** A Sequential's layers; `fit` looks at the last one (a trailing Softmax is skipped for the loss). */
  readonly layers?: readonly unknown[];
}

/** An optimizer as optim defines it; `stateDict` may hold tensors, typed arrays and plain JSON. */
export interface OptimizerLike {
  lr: number;
  zeroGrad(): void;
  step(): void;
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

/** A learning-rate schedule: closed-form in the epoch (or the batch, for per-batch schedules). */
export interface ScheduleLike {
  step(t?: number, metric?: number): unknown;
  lrAt?(t: number): number;
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

/** What a batch reports to `onBatchEnd`. */
export interface BatchLogs {
  batch: number;
  size: number;
  loss: number;
  /** Running means over the epoch so far (what the progress bar shows). */
  epochLoss: number;
  epochAccuracy: number;
  samplesPerSec: number;
}

/** Shared by `fit` and its callbacks: callbacks read it and may ask training to stop. */
export interface TrainContext {
  model: Model;
  optimizer: OptimizerLike;
  schedule?: ScheduleLike;
  /** The epoch count `fit` was asked to reach (epochs are counted from 0 internally). */
  epochs: number;
  /** The epoch running now, from 0. */
  epoch: number;
  stepsPerEpoch: number;
  history: History;
  stopTraining: boolean;
  /** Why training stopped early, in words ("early stopping at epoch 7", "loss is NaN at ..."). */
  stopReason?: string;
  /** Set when training was interrupted (SIGINT) in the middle of an epoch. */
  interrupted: boolean;
  /** Writes a checkpoint that `--resume` continues from exactly (see save.ts). */
  saveCheckpoint(path: string): void;
}

/**
 * Hooks, all optional, called in list order. A callback with a `name` and `getState`/`setState` has its
 * state saved in checkpoints, so early stopping's patience counter survives a resume.
 */
export interface Callback {
  readonly name?: string;
  onTrainBegin?(ctx: TrainContext): void;
  onEpochBegin?(epoch: number, ctx: TrainContext): void;
  /** Before each batch's forward pass (`batch` counts from 0 within the epoch). */
  onBatchBegin?(epoch: number, batch: number, ctx: TrainContext): void;
  /** Called with each batch's loss before the backward pass; a non-finite loss can stop training here. */
  onLoss?(epoch: number, batch: number, loss: number, ctx: TrainContext): void;
  onBatchEnd?(logs: BatchLogs, ctx: TrainContext): void;
  onEpochEnd?(logs: EpochLogs, ctx: TrainContext): void | Promise<void>;
  onTrainEnd?(ctx: TrainContext): void | Promise<void>;
  getState?(): unknown;
  setState?(state: unknown): void;
}
