/**
 * `tapegrad lr-find`: the learning-rate range test (Smith 2015) from optim's `findLearningRate`, on a
 * fresh model built from the same flags as `train`. The rate grows geometrically from --start to --end
 * over --steps batches; the sweep stops once the smoothed loss passes 4× its minimum, and the weights are
 * restored afterwards. Writes lr-find.svg (each batch's loss and the centered average the suggestion is
 * read from, against the rate on a log axis, with where it turns up and the suggestion marked) and
 * prints the suggestions. lr-find sets the rate itself: it refuses --lr and --schedule (options.ts).
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../data/index.js';
import { lrFindSpec, rangeTest, renderSvg, requirePlotPackages } from '../train/index.js';
import { buildModel, buildOptimizer, loadRunData, seeds } from './build.js';
import { applyBackend, applyThreads, checkOutDir, defaultRunDir, type Io } from './io.js';
import { plural } from './train.js';
import { LRFIND_FLAGS, parseFlags, parseRunOptions, parseTrainConfig, UsageError, type RawOptions } from './options.js';

export interface LrFindOutcome {
  exitCode: number;
  out: string;
  suggested: number;
  steepest: number;
  minOver10: number;
  stopReason: string;
  points: number;
}

export async function lrFindCommand(raw: RawOptions, io: Io): Promise<LrFindOutcome> {
  const config = parseTrainConfig(raw);
  const run = parseRunOptions(raw);
  const { start, end, steps } = parseFlags(LRFIND_FLAGS, raw);
  if (!(end > start)) throw new UsageError(`--end ${end}: must be larger than --start ${start}`);
  requirePlotPackages(); // lr-find.svg is the command's output: check before the sweep of rates
  // And where it goes: an unwritable --out is found before the sweep, not after it.
  const out = run.out ?? defaultRunDir(`lr-find-${config.dataset}`);
  checkOutDir('--out', out);
  await applyBackend(run.backend);
  applyThreads(run.threads);

  const data = loadRunData(config);
  const model = buildModel(config, data.train.features, data.train.classes);
  const optimizer = buildOptimizer(config, model);
  const rate = (r: number) => (r >= 1e5 || r < 1e-4 ? r.toExponential() : String(r));
  io.out(`lr-find: ${config.optimizer} on ${config.dataset}, rates ${rate(start)} to ${rate(end)} over up to ${steps} batches of ${config.batchSize}`);
  const result = rangeTest(model, {
    data: data.train,
    batchSize: config.batchSize,
    seed: seeds.loader(config.seed),
    augment: config.augment,
    optimizer,
    start,
    end,
    steps,
  });
  const svgPath = join(out, 'lr-find.svg');
  writeFileAtomic(svgPath, await renderSvg(lrFindSpec(result)));
  const fmt = (r: number) => r.toExponential(2);
  const outcome = {
    exitCode: 0,
    out,
    suggested: result.suggested,
    steepest: result.suggestions.steepest,
    minOver10: result.suggestions.minOver10,
    stopReason: result.stopReason,
    points: result.rates.length,
  };
  io.out(`swept ${plural(result.rates.length, 'batch', 'batches')} (${result.stopReason})`);
  // The suggestion halves the rate where the centered loss is lowest. Lowest at the first rate means
  // the loss never went down: every rate of the sweep was too high, and half of the first is no answer.
  const lowest = result.centered.indexOf(Math.min(...result.centered));
  if (lowest === 0) {
    io.err(`tapegrad lr-find: the loss rose from the first rate on (${fmt(start)}, loss ${result.losses[0].toFixed(4)}): every rate of the sweep is too high to train; give a lower --start (the curve is in ${svgPath})`);
    return { ...outcome, exitCode: 1 };
  }
  io.out(`steepest descent: ${fmt(result.suggestions.steepest)}; minimum / 10: ${fmt(result.suggestions.minOver10)}`);
  io.out(`suggested learning rate: ${fmt(result.suggested)} (half the rate where the loss turns up)`);
  if (lowest === result.centered.length - 1 && result.stopReason === 'completed') {
    io.out(`note: the loss was still falling at --end ${fmt(end)}: a larger --end would show where it turns up`);
  }
  io.out(`saved ${svgPath}`);
  return outcome;
}
