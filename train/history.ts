/**
 * What `fit` records after each epoch. `epoch` counts from 1 (the number printed as "epoch 3/10");
 * schedules and `initialEpoch` count from 0, so epoch `e` of the history ran with `schedule.lrAt(e - 1)`.
 * Validation fields are absent when there is no validation set.
 */
export interface EpochLogs {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** The learning rate the epoch's first step used. */
  lr: number;
  seconds: number;
  samplesPerSec: number;
}

export type History = EpochLogs[];

/** The column order of metrics.csv and the key order of metrics.jsonl. */
export const METRIC_COLUMNS: ReadonlyArray<keyof EpochLogs> = [
  'epoch',
  'loss',
  'accuracy',
  'valLoss',
  'valAccuracy',
  'lr',
  'seconds',
  'samplesPerSec',
];
