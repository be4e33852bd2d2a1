/**
 * Reference article 000, section 2.1: dropout on the *input* (noise on the four measurements).
 * Iris, Dropout(0.2) → Dense(4, relu) → Dense(6, relu) → Dense(3, softmax), SGD lr 0.01 momentum 0.8,
 * 200 epochs of batches of 5, 10-fold cross-validation. Prints each fold and `accuracy: mean ± std`.
 *
 *   npx tsx examples/iris-input-dropout.ts [--quick] [--seed 1]
 */
import { Dense, Dropout, ReLU, Sequential, Softmax } from '../layers/index.js';
import { parseArgs, runIfMain, type Log } from './common.js';
import { crossValidate } from './irisCv.js';

export async function main(args: string[], log: Log = console.log) {
  const { quick, seed } = parseArgs(args);
  log(`iris, input dropout 0.2, 4-4-6-3, SGD lr 0.01 momentum 0.8, ${quick ? '3 folds × 20 epochs (--quick)' : '10 folds × 200 epochs'}`);
  return crossValidate(
    (rng) =>
      new Sequential([
        new Dropout(0.2, { rng }),
        new Dense(4, 4, { rng }), new ReLU(),
        new Dense(4, 6, { rng }), new ReLU(),
        new Dense(6, 3, { rng }), new Softmax(),
      ]),
    { folds: quick ? 3 : 10, epochs: quick ? 20 : 200, batchSize: 5, lr: 0.01, momentum: 0.8, seed, log },
  );
}

runIfMain(import.meta.url, main);
