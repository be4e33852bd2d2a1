/**
 * train: `fit`/`evaluate` (Keras's contract for any model, loss and data), the one training step and
 * evaluation step, losses and metrics, callbacks, checkpoints (safetensors, `save`/`load`), the plots,
 * and the recipe (recipe.ts): a run's model, optimizer and schedule from plain data, which the command
 * line and a page both build from.
 * Imports engine, layers, optim and data.
 *
 * In a page too: this entry imports nothing of Node. `fit`, `evaluate`, `rangeTest`, the recipe, the steps, losses,
 * metrics, History, EarlyStopping, LearningRateScheduler, TerminateOnNaN, the encoders
 * (`encodeCheckpoint`/`decodeCheckpoint`, `encodeSafetensors`/`decodeSafetensors`, `exportOnnx`: bytes in, bytes out)
 * and the plot specs all run there. What writes or reads files, or the terminal, is Node only and asks
 * for Node when it runs (node.ts): `save`, `load`, `readSafetensors`, `writeSafetensors`,
 * `ModelCheckpoint`, `CsvLogger`, `JsonlLogger`,
 * `ProgressBar` (unless given `{ tty: false, write }`), `renderSvg`, `requirePlotPackages` and
 * `terminalChart`; in a page each throws a `NodeOnlyError` naming itself and what to use instead.
 */
export { fit } from './fit.js';
export type { FitOptions, RunShape } from './fit.js';
export { evaluate } from './evaluate.js';
export type { EvaluateOptions } from './evaluate.js';
export { trainStep, evalStep, predictionOf } from './step.js';
export type { StepSetup, StepResult } from './step.js';
export { resolveLoss, binaryCrossEntropyWithLogits, LOSS_NAMES } from './losses.js';
export type { Loss, LossName, LossFunction } from './losses.js';
export { resolveMetrics, METRIC_NAMES } from './metrics.js';
export type { Metric, MetricName } from './metrics.js';
export { arraysToDataset } from './data.js';
export type { ArrayData, Features, Targets } from './data.js';
export { History } from './history.js';
export type { Logs, HistoryJson } from './history.js';
export {
  EarlyStopping,
  ModelCheckpoint,
  CsvLogger,
  JsonlLogger,
  ProgressBar,
  LearningRateScheduler,
  TerminateOnNaN,
  epochLine,
  metricsCsv,
  cloneWeights,
  weightsAreFinite,
} from './callbacks.js';
export type { EarlyStoppingOptions, ModelCheckpointOptions, ProgressBarOptions, TerminateOnNaNOptions } from './callbacks.js';
export { save, load, encodeCheckpoint, decodeCheckpoint, architectureOf, CHECKPOINT_FORMAT } from './save.js';
export type { Checkpoint, CheckpointInfo, PartialEpoch, Progress, SaveOptions } from './save.js';
export { readSafetensors, writeSafetensors, encodeSafetensors, decodeSafetensors, SafetensorsContents, SAFETENSORS_DTYPES } from './safetensors.js';
export type { StoredTensor } from './safetensors.js';
export { exportOnnx, ONNX_OPSET } from './onnx.js';
export type { OnnxOptions } from './onnx.js';
export { curvesSpec, lrFindSpec, sweepSpec, epochAxis, renderSvg, requirePlotPackages, terminalChart, VALUE_FORMAT, SWEEP_SCHEME } from './plots.js';
export type { VegaLiteSpec, SweepRun, LrFindPlot } from './plots.js';
export type { Callback, TrainContext, Model, OptimizerLike, ScheduleLike } from './types.js';
export { rangeTest } from './rangeTest.js';
export {
  OPTIMIZER_NAMES, DEFAULT_LR, MOMENTUM_DEFAULT, SCHEDULE_NAMES, SCHEDULE_PARAMS, SCHEDULE_DEFAULTS, SCHEDULE_NOTES, SCHEDULE_HELP, HIDDEN_ACTIVATIONS,
  RECIPE_DEFAULTS, RecipeError, Restarted, seeds, parseScheduleSpec, formatScheduleSpec, formatScheduleParam, parseDecimal, checkRecipe, checkBatches, buildModel, buildOptimizer, describeOptimizer, buildSchedule, spansRun, cyclesOf,
} from './recipe.js';
export type { Recipe, HiddenActivation, OptimizerName, ScheduleName, ScheduleSpec, ScheduleParam, ScheduleParamKind, RunSchedule } from './recipe.js';
export type { RangeTestOptions } from './rangeTest.js';
