/**
 * train: the training loop (`fit`, `evaluate`), its callbacks, checkpoints (safetensors, `save`/`load`)
 * and the plots. Imports engine, layers, optim and data.
 */
export { fit, evaluate, logitsOf, countCorrect } from './fit.js';
export type { FitOptions, FitResult, EvaluateResult } from './fit.js';
export {
  EarlyStopping,
  ModelCheckpoint,
  CsvLogger,
  JsonlLogger,
  ProgressBar,
  LearningRateScheduler,
  TerminateOnNaN,
  epochLine,
  cloneWeights,
  weightsAreFinite,
  isPerBatchSchedule,
} from './callbacks.js';
export type { EarlyStoppingOptions, ModelCheckpointOptions, ProgressBarOptions } from './callbacks.js';
export { save, load, architectureOf, CHECKPOINT_FORMAT } from './save.js';
export type { Checkpoint, CheckpointInfo, Progress, SaveOptions } from './save.js';
export { readSafetensors, writeSafetensors, encodeSafetensors, decodeSafetensors, writeFileAtomic } from './safetensors.js';
export type { StoredTensor, SafetensorsContents } from './safetensors.js';
export { curvesSpec, lrFindSpec, sweepSpec, renderSvg, requirePlotPackages, terminalChart } from './plots.js';
export type { VegaLiteSpec, SweepRun } from './plots.js';
export { METRIC_COLUMNS } from './history.js';
export type { EpochLogs, History } from './history.js';
export type { Callback, TrainContext, BatchLogs, Model, OptimizerLike, ScheduleLike } from './types.js';
