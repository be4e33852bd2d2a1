/**
 * Layers: the building blocks of a model, their initializers, regularizers and constraints.
 * Every layer extends `Layer` (forward, parameters, train/eval, stateDict, config); `Sequential`
 * chains them. Layouts and state-dict names follow PyTorch (Dense weight [out, in], `0.weight`).
 */
export { Layer, defaultRng, fmtShapeB } from './layer.js';
export type { LayerConfig, TensorLike, StateDictInput, LoadResult } from './layer.js';
export { Layer as Module } from './layer.js';
export { Dense } from './dense.js';
export type { DenseOptions, ActivationName } from './dense.js';
export { ReLU } from './relu.js';
export { Sigmoid } from './sigmoid.js';
export { Tanh } from './tanh.js';
export { Softmax } from './softmax.js';
export { Flatten } from './flatten.js';
export { Dropout } from './dropout.js';
export { BatchNorm, batchNormComposed } from './batchNorm.js';
export type { BatchNormOptions } from './batchNorm.js';
export { LayerNorm, layerNormComposed } from './layerNorm.js';
export { Sequential } from './sequential.js';
export { layerFromConfig, registerLayer, registeredLayerTypes, stateShapesOf } from './config.js';
export type { LayerFromConfig } from './config.js';
export { glorotUniform, heNormal, zeros, initializers, INIT_NAMES } from './init.js';
export type { InitName } from './init.js';
export { l1, l2, l1l2, regularizerFromConfig } from './regularizers.js';
export type { Regularizer, RegularizerConfig } from './regularizers.js';
export { maxNorm, constraintFromConfig } from './constraints.js';
export type { Constraint } from './constraints.js';
