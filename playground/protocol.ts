/**
 * The messages between the page (main.ts) and the training worker (worker.ts). The worker owns the data
 * and the model; the page only draws what it is sent, so it stays responsive while the worker trains.
 */
import type { TrainConfig } from './config.js';
import type { LayerPicture, LayerStats, WeightGradient } from './inspect.js';

export type ToWorker =
  /** Fetch all of MNIST (once; a run's `train` takes the first N). Answered by 'loaded'. */
  | { type: 'load' }
  /** Build a fresh model from `config` and train it. */
  | { type: 'start'; config: TrainConfig }
  | { type: 'pause' }
  | { type: 'resume' }
  /**
   * One batch, watched ('stepped' answers), then paused again. With no run, a paused run of `config`
   * starts first, so the first step is the new model's first batch.
   */
  | { type: 'step'; config: TrainConfig }
  /** Stop training and forget the model; answered by 'reset'. */
  | { type: 'reset' }
  /** Classify a preprocessed 28×28 digit with the current model; answered by 'guess'. */
  | { type: 'classify'; pixels: Float32Array }
  /** Run the learning-rate range test on a fresh model of `config`; answered by 'lr-found'. */
  | { type: 'lr-find'; config: TrainConfig };

export interface BatchPoint {
  /** Epochs done, fractional: epoch + (batch + 1) / batchesPerEpoch. */
  x: number;
  loss: number;
  accuracy: number;
  /** Debiased exponential moving averages of the two (the raw per-batch values are noisy). */
  lossAvg: number;
  accuracyAvg: number;
  lr: number;
}

export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** Training time of the epoch (not the test pass, not pauses), and the speed over it. */
  trainSeconds: number;
  samplesPerSecond: number;
}

/** One measurement of the hidden layers (inspect.ts measuredStep), at `x` epochs. */
export interface LayerPoint {
  x: number;
  layers: LayerStats[];
}

/** One watched step (inspect.ts pictureStep), as the page draws it. */
export interface Stepped {
  type: 'stepped';
  /** The step's number in the run, from 1, and where it was. */
  step: number;
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  /** trainStep's loss for the batch, its accuracy, and the rate the update used. */
  loss: number;
  accuracy: number;
  lr: number;
  /** False when the loss was not finite and no update was made. */
  applied: boolean;
  rows: number;
  images: Float32Array;
  labels: Int32Array;
  guesses: Int32Array;
  layers: LayerPicture[];
  weightGradients: WeightGradient[];
  /** Per Dense layer, ‖ΔW‖ / ‖W‖ of this update (how far the step moved the weights, relatively). */
  updateRatios: number[];
  /** The step's tape, Graphviz DOT. */
  dot: string;
}

export type FromWorker =
  /**
   * What runs the engine here: the backend, whether the page is isolated, how many threads products
   * use, and why the WebAssembly backend was refused (null when it runs).
   */
  | { type: 'backend'; backend: string; isolated: boolean; threads: number; reason: string | null }
  | { type: 'status'; text: string }
  | {
      type: 'loaded';
      trainCount: number;
      testCount: number;
      bytes: number;
      /** Fetching and parsing all four files, in milliseconds. */
      ms: number;
      /** The test digits the page shows in its grid (GRID_SIZE × 784 bytes) and their labels. */
      gridPixels: Uint8Array;
      gridLabels: Int32Array;
    }
  | {
      type: 'batches';
      points: BatchPoint[];
      /** The hidden layers measured since the last message. */
      layerPoints: LayerPoint[];
      /** Training speed since the last message; null when that was too short a time to say. */
      samplesPerSecond: number | null;
      lr: number;
      epoch: number;
      batch: number;
      batchesPerEpoch: number;
    }
  /** The first Dense layer's weights for the first `units` units, `units × 784`, unit after unit. */
  | { type: 'weights'; units: number; data: Float32Array }
  /** The model's guesses for the grid's digits. */
  | { type: 'grid'; predictions: Int32Array }
  | ({ type: 'epoch' } & EpochPoint)
  | { type: 'done'; testAccuracy: number }
  /** Training ended early (a diverged loss); `reason` says why and what to change. */
  | { type: 'stopped'; reason: string }
  | { type: 'paused' }
  | { type: 'resumed' }
  | Stepped
  | { type: 'reset' }
  | { type: 'guess'; digit: number; probabilities: number[] }
  | {
      type: 'lr-found';
      rates: number[];
      losses: number[];
      /** The centered average of the losses, which the suggestion is read from. */
      centered: number[];
      suggested: number;
      stopReason: string;
      optimizer: string;
    }
  | { type: 'error'; message: string };

/** Test digits in the page's grid: the first GRID_SIZE of MNIST's test set. */
export const GRID_SIZE = 40;
/** First-layer units drawn as 28×28 images. */
export const WEIGHT_UNITS = 36;
/** Samples of a stepped batch the page shows (images and heat strips). */
export const STEP_ROWS = 16;
