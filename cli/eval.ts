/**
 * `tapegrad eval --model runs/NAME/best.safetensors`: rebuilds the model from the checkpoint's
 * architecture (no flags needed) and reports its test loss and accuracy. The data set defaults to the one
 * the model was trained on; another one is refused without --force.
 */
import { dirname } from 'node:path';
import { DATASET_NAMES, loadDataset, removeStaleTemporaries } from '../data/index.js';
import { evaluate } from '../train/index.js';
import type { Sequential } from '../layers/index.js';
import { applyBackend, applyThreads, loadCheckpointFlag, type Io } from './io.js';
import { plural } from './train.js';
import { EVAL_FLAGS, parseFlags, parseRunOptions, UsageError, type RawOptions } from './options.js';

export interface EvalOutcome {
  model: string;
  dataset: string;
  count: number;
  loss: number;
  accuracy: number;
}

export async function evalCommand(raw: RawOptions, io: Io): Promise<EvalOutcome> {
  const run = parseRunOptions(raw);
  const { model: path, dataset: datasetFlag, testSize, batchSize, force } = parseFlags(EVAL_FLAGS, raw);
  await applyBackend(run.backend);
  applyThreads(run.threads);

  // eval writes nothing, but the run it reads may have been killed writing: clean its folder as a run there would.
  removeStaleTemporaries(dirname(path));
  const checkpoint = loadCheckpointFlag('--model', path);
  if (!checkpoint.model) throw new UsageError(`--model ${path}: the checkpoint has no architecture in its metadata, so the model cannot be rebuilt`);
  const saved = (checkpoint.hyperParams.config as { dataset?: string; seed?: number } | undefined) ?? {};
  const dataset = datasetFlag ?? saved.dataset ?? 'mnist';
  if (!(DATASET_NAMES as readonly string[]).includes(dataset)) {
    throw new UsageError(`--model ${path}: the checkpoint names the data set ${JSON.stringify(dataset)}, which is not one of ${DATASET_NAMES.join(', ')}; give --dataset`, 1);
  }
  // Refused rather than warned about: MNIST and Fashion-MNIST have the same 784 inputs and 10 classes, so
  // nothing else stops it, and the accuracy it prints (0.03 for an MNIST model on Fashion-MNIST) reads as
  // a result, in a --json line too, where a warning on stderr is easily lost. A deliberate cross-evaluation
  // costs one flag.
  if (saved.dataset !== undefined && dataset !== saved.dataset) {
    if (!force) {
      throw new UsageError(`--dataset ${dataset}: the model in ${path} was trained on ${saved.dataset}, whose classes mean other things; give --force to evaluate it on ${dataset} anyway`);
    }
    io.err(`note: ${path} was trained on ${saved.dataset}; evaluating it on ${dataset} (--force)`);
  }
  // Iris's train/test split is seeded; use the run's seed so "test" means the same 30 flowers.
  const { test } = loadDataset(dataset, { testSize: testSize ?? undefined, seed: dataset === 'iris' ? saved.seed : undefined });
  const model = checkpoint.model as unknown as Sequential;
  const inputs = model.inputShape()?.[1];
  if (inputs !== undefined && inputs !== test.features) {
    throw new UsageError(`--dataset ${dataset}: the model in ${path} takes ${inputs} inputs, ${dataset} has ${test.features} features`);
  }
  const result = evaluate(model, test, { batchSize });
  io.out(`model: ${path} (${model.parameterCount()} parameters, trained ${checkpoint.epoch === null ? '? epochs' : plural(checkpoint.epoch, 'epoch')})`);
  io.out(`test loss: ${result.loss.toFixed(4)}`);
  io.out(`test accuracy: ${result.accuracy.toFixed(4)}`);
  return { model: path, dataset, count: test.count, loss: result.loss, accuracy: result.accuracy };
}
