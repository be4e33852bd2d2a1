/**
 * `tapegrad sweep --dropout 0,0.1,...,0.9`: reference article 001's dropout study. One training run per
 * rate, same seed and settings otherwise, each in its own folder under the sweep's; then sweep.svg (train
 * and validation accuracy per epoch, one line per rate), sweep.jsonl and a table of the final numbers.
 *
 * A rate whose run fails (it diverges, a file cannot be written) ends the sweep, but what the finished
 * rates produced is kept: sweep.jsonl and sweep.svg are written for them, the failure is named, exit 1.
 * Ctrl-C does the same with exit 130, SIGTERM with 143 (the interrupted rate's folder holds its last.safetensors).
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../data/index.js';
import { renderSvg, requirePlotPackages, sweepSpec, type SweepRun } from '../train/index.js';
import { applyBackend, checkOutDir, defaultRunDir, type Io } from './io.js';
import { SWEEP_FLAGS, parseFlags, parseRunOptions, parseTrainConfig, UsageError, type RawOptions } from './options.js';
import { trainCommand } from './train.js';

export interface SweepOutcome {
  exitCode: number;
  out: string;
  runs: Array<{ dropout: number; accuracy: number | null; val_accuracy: number | null; test_accuracy: number | null; out: string }>;
  /** The rate that failed and why, when one did. */
  failed?: { dropout: number; reason: string };
}

export async function sweepCommand(raw: RawOptions, io: Io): Promise<SweepOutcome> {
  if (typeof raw.dropout !== 'string') throw new UsageError('--dropout is required: the rates to compare, e.g. --dropout 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9');
  if (raw.resume !== undefined) throw new UsageError('--resume cannot be used with sweep: resume one of its runs with train --resume');
  const rates = parseFlags(SWEEP_FLAGS, raw).dropout!;
  // Check every other flag once, before the first run starts.
  const config = parseTrainConfig({ ...raw, dropout: undefined });
  const run = parseRunOptions(raw);
  requirePlotPackages(); // sweep.svg is what a sweep is for: say it cannot be drawn before the runs, not after
  const out = run.out ?? defaultRunDir(`sweep-${config.dataset}`);
  checkOutDir('--out', out);
  await applyBackend(run.backend);

  const runs: SweepRun[] = [];
  const summary: SweepOutcome['runs'] = [];
  let exitCode = 0;
  let failed: SweepOutcome['failed'];
  for (const rate of rates) {
    const runOut = join(out, `dropout-${rate}`);
    io.out(`--- dropout ${rate} -> ${runOut}`);
    let reason: string | undefined;
    try {
      const outcome = await trainCommand({ ...raw, dropout: String(rate), out: runOut, json: false }, io, { linePrefix: `[dropout ${rate}] `, reportsFailure: true });
      if (outcome.exitCode === 0) {
        runs.push({ rate, history: outcome.history });
        const last = outcome.history.last();
        summary.push({ dropout: rate, accuracy: last?.accuracy ?? null, val_accuracy: last?.val_accuracy ?? null, test_accuracy: outcome.test?.accuracy ?? null, out: runOut });
        continue;
      }
      exitCode = outcome.exitCode;
      reason = outcome.failure ?? `exit ${outcome.exitCode}`;
    } catch (e) {
      // A usage error of the whole sweep was caught above, before any run; what fails here fails at run time.
      exitCode = 1;
      reason = (e as Error).message;
    }
    failed = { dropout: rate, reason };
    break;
  }

  const saved: string[] = [];
  if (summary.length > 0) {
    writeFileAtomic(join(out, 'sweep.jsonl'), `${summary.map((s) => JSON.stringify(s)).join('\n')}\n`);
    writeFileAtomic(join(out, 'sweep.svg'), await renderSvg(sweepSpec(runs)));
    saved.push('sweep.svg', 'sweep.jsonl');
    io.out('dropout  train acc  val acc  test acc');
    const f = (v: number | null) => (v === null ? '     -  ' : v.toFixed(4).padStart(8));
    for (const s of summary) io.out(`${s.dropout.toFixed(2).padStart(7)}  ${f(s.accuracy)}  ${f(s.val_accuracy)}  ${f(s.test_accuracy)}`);
  }
  if (failed !== undefined) {
    const kept = summary.length > 0 ? `sweep.svg and sweep.jsonl in ${out} hold the ${summary.length} finished rate${summary.length === 1 ? '' : 's'} (${summary.map((s) => s.dropout).join(', ')})` : 'no rate finished, so nothing was drawn';
    io.err(`tapegrad sweep: dropout ${failed.dropout} failed: ${failed.reason.replace(/^tapegrad train: /, '')}; ${kept}`);
  } else {
    io.out(`saved ${join(out, 'sweep.svg')} and sweep.jsonl`);
  }
  return { exitCode, out, runs: summary, ...(failed ? { failed } : {}) };
}
