/**
 * optim: the optimizers (PyTorch's shape: parameter groups, lazy per-parameter state, a thin `step`),
 * the learning-rate schedules and the learning-rate range test. Imports only the engine.
 */
export { Optimizer } from './optimizer.js';
export type { BaseHyper, ParamGroup, ParamGroupInput, ParamState, OptimizerMeta, OptimizerStateDict } from './optimizer.js';
export { SGD, sgdUpdate } from './sgd.js';
export type { SGDHyper } from './sgd.js';
export { Adam, adamUpdate } from './adam.js';
export type { AdamHyper } from './adam.js';
export { AdamW } from './adamw.js';
export { Nadam, nadamUpdate } from './nadam.js';
export type { NadamHyper } from './nadam.js';
export { RMSprop, rmspropUpdate } from './rmsprop.js';
export type { RMSpropHyper } from './rmsprop.js';
export { Adagrad, adagradUpdate } from './adagrad.js';
export type { AdagradHyper } from './adagrad.js';
export { Adadelta, adadeltaUpdate } from './adadelta.js';
export type { AdadeltaHyper } from './adadelta.js';
export {
  Schedule, TimeBasedDecay, StepDecay, ExponentialDecay, LinearDecay, CosineAnnealing, OneCycle, ReduceOnPlateau,
  LambdaSchedule, Warmup,
} from './schedules/index.js';
export type { ScheduleState, ScheduleUnit, OneCycleOptions, ReduceOnPlateauOptions, ReduceOnPlateauState } from './schedules/index.js';
export { findLearningRate, suggest, centeredAverage } from './lrFinder.js';
export type { FinderModel, FindLearningRateOptions, LrFinderResult, LrSuggestions } from './lrFinder.js';
