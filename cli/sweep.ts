/**
 * `tapegrad sweep --dropout 0,0.1,...,0.9`: reference article 001's dropout study. One training run per
 * rate, same seed and settings otherwise, each in its own folder under the sweep's; then sweep.svg (train
 * and validation accuracy per epoch, one line per rate) and a table of the final numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSvg, requirePlotPackages, sweepSpec, type SweepRun } from '../train/index.js';
import { defaultRunDir, type Io } from './io.js';
import { SWEEP_FLAGS, parseFlags, parseTrainConfig, UsageError, type RawOptions } from './options.js';
import { trainCommand } from './train.js';

export interface SweepOutcome {
  exitCode: number;
  out: string;
  runs: Array<{ dropout: number; accuracy: number | null; val_accuracy: number | null; test_accuracy: number | null; out: string }>;
}

export async function sweepCommand(raw: RawOptions, io: Io): Promise<SweepOutcome> {
  if (typeof raw.dropout !== 'string') throw new UsageError('--dropout is required: the rates to compare, e.g. --dropout 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9');
  if (raw.resume !== undefined) throw new UsageError('--resume cannot be used with sweep: resume one of its runs with train --resume');
  const rates = parseFlags(SWEEP_FLAGS, raw).dropout!;
  // Check every other flag once, before the first run starts.
  const config = parseTrainConfig({ ...raw, dropout: undefined });
  requirePlotPackages(); // sweep.svg is what a sweep is for: say it cannot be drawn before the runs, not after
  const out = typeof raw.out === 'string' ? raw.out : defaultRunDir(`sweep-${config.dataset}`);
  mkdirSync(out, { recursive: true });

  const runs: SweepRun[] = [];
  const summary: SweepOutcome['runs'] = [];
  for (const rate of rates) {
    const runOut = join(out, `dropout-${rate}`);
    io.out(`--- dropout ${rate} -> ${runOut}`);
    const outcome = await trainCommand({ ...raw, dropout: String(rate), out: runOut, json: false }, io, { linePrefix: `[dropout ${rate}] ` });
    if (outcome.exitCode !== 0) return { exitCode: outcome.exitCode, out, runs: summary };
    runs.push({ rate, history: outcome.history });
    const last = outcome.history.last();
    summary.push({
      dropout: rate,
      accuracy: last?.accuracy ?? null,
      val_accuracy: last?.val_accuracy ?? null,
      test_accuracy: outcome.test?.accuracy ?? null,
      out: runOut,
    });
  }

  writeFileSync(join(out, 'sweep.svg'), await renderSvg(sweepSpec(runs)));
  writeFileSync(join(out, 'sweep.jsonl'), `${summary.map((s) => JSON.stringify(s)).join('\n')}\n`);
  io.out('dropout  train acc  val acc  test acc');
  const f = (v: number | null) => (v === null ? '     -  ' : v.toFixed(4).padStart(8));
  for (const s of summary) io.out(`${s.dropout.toFixed(2).padStart(7)}  ${f(s.accuracy)}  ${f(s.val_accuracy)}  ${f(s.test_accuracy)}`);
  io.out(`saved ${join(out, 'sweep.svg')} and sweep.jsonl`);
  return { exitCode: 0, out, runs: summary };
}
