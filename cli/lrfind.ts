/**
 * `tapegrad lr-find`: the learning-rate range test (Smith 2015) from optim's `findLearningRate`, on a
 * fresh model built from the same flags as `train`; writes lr-find.svg (smoothed loss against the rate on
 * a log axis, the suggestion marked) and prints the suggested rate.
 */
import type { Io } from './io.js';
import { UsageError, type RawOptions } from './options.js';

export async function lrFindCommand(_raw: RawOptions, _io: Io): Promise<Record<string, unknown>> {
  throw new UsageError('lr-find: waiting for optim.findLearningRate');
}
