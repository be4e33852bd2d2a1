/**
 * Learning-rate schedules. Closed-form ones extend `Schedule` (`lrAt(t)` pure, `step(t)` writes the
 * optimizer's rate); `ReduceOnPlateau` watches a metric instead.
 */
export { Schedule } from './schedule.js';
export type { ScheduleState, ScheduleUnit } from './schedule.js';
export { TimeBasedDecay } from './timeBasedDecay.js';
export { StepDecay } from './stepDecay.js';
export { ExponentialDecay } from './exponentialDecay.js';
export { LinearDecay } from './linearDecay.js';
export { CosineAnnealing } from './cosineAnnealing.js';
export { OneCycle } from './oneCycle.js';
export type { OneCycleOptions } from './oneCycle.js';
export { ReduceOnPlateau } from './reduceOnPlateau.js';
export type { ReduceOnPlateauOptions, ReduceOnPlateauState } from './reduceOnPlateau.js';
export { LambdaSchedule } from './lambdaSchedule.js';
export { Warmup } from './warmup.js';
export { Cyclic } from './cyclic.js';
export type { CyclicOptions, CyclicMode } from './cyclic.js';
export { CosineWarmRestarts } from './cosineWarmRestarts.js';
export type { CosineWarmRestartsOptions } from './cosineWarmRestarts.js';
export { MultiStepDecay } from './multiStepDecay.js';
export { PolynomialDecay } from './polynomialDecay.js';
