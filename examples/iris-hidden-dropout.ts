/**
 * Reference article 000, section 2.2: dropout after each *hidden* layer, with max-norm(3) constraints on
 * the hidden kernels (Srivastava et al. 2014 pair the two: the constraint keeps weights from growing to
 * compensate for the dropped units). Otherwise as iris-input-dropout.ts.
 *
 *   npx tsx examples/iris-hidden-dropout.ts [--quick] [--seed 1]
 */
import { Dense, Dropout, ReLU, Sequential, Softmax, maxNorm } from '../layers/index.js';
import { parseArgs, runIfMain, type Log } from './common.js';
import { crossValidate } from './irisCv.js';

export async function main(args: string[], log: Log = console.log) {
  const { quick, seed } = parseArgs(args);
  log(`iris, hidden dropout 0.2 + maxNorm(3), 4-4-6-3, SGD lr 0.01 momentum 0.8, ${quick ? '3 folds × 20 epochs (--quick)' : '10 folds × 200 epochs'}`);
  return crossValidate(
    (rng) =>
      new Sequential([
        new Dense(4, 4, { rng, kernelConstraint: maxNorm(3) }), new ReLU(), new Dropout(0.2, { rng }),
        new Dense(4, 6, { rng, kernelConstraint: maxNorm(3) }), new ReLU(), new Dropout(0.2, { rng }),
        new Dense(6, 3, { rng }), new Softmax(),
      ]),
    { folds: quick ? 3 : 10, epochs: quick ? 20 : 200, batchSize: 5, lr: 0.01, momentum: 0.8, seed, log },
  );
}

runIfMain(import.meta.url, main);
