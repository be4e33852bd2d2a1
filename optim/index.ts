/**
 * optim: the optimizers (PyTorch's shape: parameter groups, lazy per-parameter state, a thin `step`),
 * the learning-rate schedules and the learning-rate range test. Imports only the engine.
 */
export { Optimizer, SharedGroups } from './optimizer.js';
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
export { Adamax } from './adamax.js';
export type { AdamaxHyper } from './adamax.js';
export { RAdam } from './radam.js';
export type { RAdamHyper } from './radam.js';
export { AdaBound } from './adabound.js';
export type { AdaBoundHyper } from './adabound.js';
export { Lion } from './lion.js';
export type { LionHyper } from './lion.js';
export { Muon, lrScale } from './muon.js';
export type { MuonHyper, MuonLrAdjustment } from './muon.js';
export { Combined, muonWithAdamW } from './combined.js';
export type { CombinedMeta, MuonWithAdamWOptions } from './combined.js';
export { Lookahead } from './lookahead.js';
export type { LookaheadOptions, LookaheadMeta } from './lookahead.js';
export {
  Schedule, TimeBasedDecay, StepDecay, ExponentialDecay, LinearDecay, CosineAnnealing, OneCycle, ReduceOnPlateau,
  LambdaSchedule, Warmup, Cyclic, CosineWarmRestarts, MultiStepDecay, PolynomialDecay,
} from './schedules/index.js';
export type {
  ScheduleState, ScheduleUnit, OneCycleOptions, ReduceOnPlateauOptions, ReduceOnPlateauState, CyclicOptions, CyclicMode, CosineWarmRestartsOptions,
} from './schedules/index.js';
export { findLearningRate, suggest, centeredAverage } from './lrFinder.js';
export type { FinderModel, FindLearningRateOptions, LrFinderResult, LrSuggestions } from './lrFinder.js';
