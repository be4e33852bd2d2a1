/**
 * Looking inside a training step, for the page's step mode and its per-layer charts. The step is
 * train/'s `trainStep`, unchanged: it is handed a model, an optimizer and a loss that watch it work.
 * - The model runs the layers one at a time (Sequential fuses Dense + ReLU into one op, which gives the
 *   same values) and copies each layer's output as it is made; it asks the tape to keep the gradient of
 *   each output it watches (`retainGrad`).
 * - The loss draws the step's tape with `toDot` once it is computed, before `backward` walks it.
 * - The optimizer copies the gradients when `trainStep` calls its `step()`, after backward and before
 *   the update: what it copies is what the update uses.
 * So the loss the page shows is `trainStep`'s return value for that batch, and the pictures are of
 * that same forward and backward pass. Copies are taken inside the step, because its tensors go back
 * to the engine's memory when it returns (engine/memory.ts).
 */
import { Tensor, toDot } from '../engine/index.js';
import type { Batch } from '../data/index.js';
import { Dense, type Layer, type Sequential } from '../layers/index.js';
import { trainStep, type Loss, type Model, type OptimizerLike, type StepResult, type StepSetup } from '../train/index.js';
import { isActivation } from './config.js';

/** One layer's output for the first `rows` samples of the batch, and the loss's gradient with respect to it. */
export interface LayerPicture {
  /** The layer's place in the model, from 0. */
  index: number;
  /** `Dense(784 → 300)`, `ReLU`, ...: the layer's own description. */
  name: string;
  /** Values per sample (the layer's output width). */
  units: number;
  /** rows × units, sample after sample. */
  values: Float32Array;
  /** d(loss)/d(output), rows × units; null where no gradient reaches the output. */
  grad: Float32Array | null;
}

/** d(loss)/d(weight) of one Dense layer, [out, in] as the weight. */
export interface WeightGradient {
  index: number;
  name: string;
  rows: number;
  cols: number;
  data: Float32Array;
}

/** What one watched step showed. */
export interface StepPictures {
  /** trainStep's result: the loss shown is `result.loss`. */
  result: StepResult;
  /** The shown samples: their inputs as the model saw them (noise included), labels and the model's guesses. */
  rows: number;
  images: Float32Array;
  labels: Int32Array;
  guesses: Int32Array;
  /** Every layer's output and its gradient, in model order. */
  layers: LayerPicture[];
  /** Each Dense layer's weight gradient. */
  weightGradients: WeightGradient[];
  /** The step's tape as Graphviz DOT (engine's toDot), drawn before backward walked it. */
  dot: string;
}

/**
 * `trainStep(setup, batch)` on a model that shows its insides: the outputs and output gradients of
 * every layer for the first `rows` samples, every Dense weight's gradient, and the tape. The step
 * itself is the same: same loss, same update.
 */
export function pictureStep(setup: StepSetup & { model: Sequential }, batch: Batch, rows: number): StepPictures {
  const model = setup.model;
  const shown = Math.min(rows, batch.size);
  const outputs: Tensor[] = [];
  const layers: LayerPicture[] = [];
  const weightGradients: WeightGradient[] = [];
  let dot = '';
  const images = batch.x.data.slice(0, shown * batch.x.shape[1]);

  const watched = watchModel(model, (index, layer, out) => {
    if (out.requiresGrad) out.retainGrad();
    outputs[index] = out;
    const units = out.shape[1];
    layers.push({ index, name: layer.describe(), units, values: out.data.slice(0, shown * units), grad: null });
  });
  const loss: Loss = {
    ...setup.loss,
    compute: (pred, b) => {
      const value = setup.loss.compute(pred, b);
      dot = toDot(value, { names: tapeNames(model, batch, outputs, value), maxValues: 4, rankdir: 'TB' });
      return value;
    },
  };
  const optimizer = watchOptimizer(setup.optimizer, () => {
    for (const picture of layers) {
      const g = outputs[picture.index].grad;
      picture.grad = g === null ? null : g.data.slice(0, shown * picture.units);
    }
    model.layers.forEach((layer, index) => {
      if (!(layer instanceof Dense) || layer.weight.grad === null) return;
      weightGradients.push({ index, name: layer.describe(), rows: layer.outFeatures, cols: layer.inFeatures, data: layer.weight.grad.data.slice() });
    });
  });

  const result = trainStep({ ...setup, model: watched, optimizer, loss }, batch);
  const logits = layers[layers.length - 1];
  return {
    result,
    rows: shown,
    images,
    labels: batch.y.slice(0, shown),
    guesses: argmaxRows(logits.values, shown, logits.units),
    layers,
    weightGradients,
    dot,
  };
}

/** Where a hidden layer's outputs and their gradients lie in one step, summarized. */
export interface LayerStats {
  /** The activation layer's place in the model. */
  index: number;
  /** Quantiles (QUANTILES) of all the batch's outputs of the layer. */
  values: number[];
  /** Quantiles of |d(loss)/d(output)| over the batch. */
  grads: number[];
  /** Outputs that are exactly 0 (ReLU: inactive), or within 0.01 of a bound of tanh or sigmoid (saturated). */
  stuck: number;
  /** Units stuck for every sample of the batch (a dead ReLU is one). */
  deadUnits: number;
}

/** The quantiles the per-layer charts draw: a 5–95% band, a 25–75% band and the median. */
export const QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95];

/**
 * `trainStep(setup, batch)` that also measures each hidden layer (the output of each activation layer):
 * where its values lie, and where the gradients flowing back into it lie. Dead ReLUs show as outputs
 * stuck at 0; vanishing gradients as gradient quantiles that shrink layer by layer towards the input.
 */
export function measuredStep(setup: StepSetup & { model: Sequential }, batch: Batch): { result: StepResult; layers: LayerStats[] } {
  const model = setup.model;
  const watchedOutputs: { index: number; layer: Layer; out: Tensor }[] = [];
  const stats: LayerStats[] = [];
  const watched = watchModel(model, (index, layer, out) => {
    if (!isActivation(layer)) return;
    if (out.requiresGrad) out.retainGrad();
    watchedOutputs.push({ index, layer, out });
  });
  const optimizer = watchOptimizer(setup.optimizer, () => {
    for (const { index, layer, out } of watchedOutputs) {
      const [rows, units] = out.shape;
      const values = out.data;
      const near = layer.type === 'ReLU' ? (v: number) => v === 0 : layer.type === 'Tanh' ? (v: number) => Math.abs(v) > 0.99 : (v: number) => v < 0.01 || v > 0.99;
      let stuck = 0;
      let deadUnits = 0;
      for (let u = 0; u < units; u++) {
        let stuckHere = 0;
        for (let r = 0; r < rows; r++) if (near(values[r * units + u])) stuckHere++;
        stuck += stuckHere;
        if (stuckHere === rows) deadUnits++;
      }
      const grad = out.grad === null ? new Float32Array(0) : out.grad.data.map(Math.abs);
      stats.push({ index, values: quantiles(values, QUANTILES), grads: quantiles(grad, QUANTILES), stuck: stuck / values.length, deadUnits: deadUnits / units });
    }
  });
  const result = trainStep({ ...setup, model: watched, optimizer }, batch);
  return { result, layers: stats };
}

/** The values at the given fractions of `values` sorted (nearest rank); NaN for none. */
export function quantiles(values: Float32Array, at: readonly number[]): number[] {
  if (values.length === 0) return at.map(() => NaN);
  const sorted = Float32Array.from(values).sort();
  return at.map((q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]);
}

/** Row-wise argmax of a rows × cols matrix. */
export function argmaxRows(values: Float32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let best = 0;
    for (let c = 1; c < cols; c++) if (values[o + c] > values[o + best]) best = c;
    out[r] = best;
  }
  return out;
}

/** The model as `trainStep` sees it, running its layers one at a time and showing each output to `see`. */
function watchModel(model: Sequential, see: (index: number, layer: Layer, out: Tensor) => void): Model {
  return {
    forward: (x: Tensor) => {
      let y = x;
      model.layers.forEach((layer, index) => {
        y = layer.forward(y);
        see(index, layer, y);
      });
      return y;
    },
    parameters: () => model.parameters(),
    train: () => model.train(),
    eval: () => model.eval(),
    get training() {
      return model.training;
    },
    stateDict: () => model.stateDict(),
    loadStateDict: (state) => model.loadStateDict(state),
    regularizationLoss: () => model.regularizationLoss(),
    applyConstraints: () => model.applyConstraints(),
  };
}

/** The optimizer as `trainStep` sees it: `before` runs after backward, just before the update. */
function watchOptimizer(optimizer: OptimizerLike, before: () => void): OptimizerLike {
  return {
    get lr() {
      return optimizer.lr;
    },
    set lr(value: number) {
      optimizer.lr = value;
    },
    zeroGrad: () => optimizer.zeroGrad(),
    step: () => {
      before();
      optimizer.step();
    },
  };
}

/** Names on the drawn tape: the batch, each layer's output, the parameters by their state-dict names, the loss. */
function tapeNames(model: Sequential, batch: Batch, outputs: Tensor[], loss: Tensor): Map<Tensor, string> {
  const names = new Map<Tensor, string>([[batch.x, 'x (the batch)']]);
  for (const [name, t] of model.namedParameters()) names.set(t, name);
  model.layers.forEach((layer, i) => outputs[i] !== undefined && names.set(outputs[i], `${i}: ${layer.type} out`));
  names.set(loss, 'loss');
  return names;
}
