/**
 * `tapegrad train`: load the data, build the model, optimizer and schedule from the flags (or from a
 * checkpoint with --resume), run `fit` with the standard callbacks, evaluate on the test set, and leave
 * best.safetensors, last.safetensors, metrics.csv, metrics.jsonl and curves.svg in the run folder.
 *
 * Ctrl-C stops after the current batch, writes last.safetensors and prints the command that resumes
 * (exit 130, the shell's code for SIGINT). A second Ctrl-C exits at once.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  CsvLogger,
  EarlyStopping,
  JsonlLogger,
  ModelCheckpoint,
  ProgressBar,
  curvesSpec,
  evaluate,
  fit,
  renderSvg,
  terminalChart,
  type Callback,
  type Checkpoint,
  type FitResult,
  type History,
} from '../train/index.js';
import { MissingPackageError } from '../data/index.js';
import type { Sequential } from '../layers/index.js';
import { buildModel, buildOptimizer, buildSchedule, loadRunData, seeds } from './build.js';
import { applyThreads, defaultRunDir, loadCheckpointFlag, type Io } from './io.js';
import { parseRunOptions, parseTrainConfig, UsageError, type RawOptions, type RunOptions, type TrainConfig } from './options.js';

/** Flags that may accompany --resume: the rest are the saved run's and cannot change mid-run. */
const RESUME_FLAGS = new Set(['resume', 'epochs', 'earlyStopping', 'out', 'quiet', 'json', 'threads']);

export interface TrainOutcome {
  exitCode: number;
  config: TrainConfig;
  out: string;
  history: History;
  fit: FitResult;
  test?: { loss: number; accuracy: number };
}

export interface TrainHooks {
  /** Extra callbacks (the sweep's per-run labelling, tests). */
  callbacks?: Callback[];
  /** Print per-epoch lines even when quiet (the sweep prints its own). */
  linePrefix?: string;
}

/** Resolves the flags (and the checkpoint, with --resume) into a configuration and run options. */
export function resolveTrain(raw: RawOptions): { config: TrainConfig; run: RunOptions; checkpoint: Checkpoint | null } {
  const run = parseRunOptions(raw);
  if (run.resume === null) return { config: parseTrainConfig(raw), run, checkpoint: null };
  const extra = Object.keys(raw).filter((k) => raw[k] !== undefined && !RESUME_FLAGS.has(k));
  if (extra.length > 0) {
    const flag = `--${extra[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new UsageError(`${flag} cannot be combined with --resume: a resumed run keeps its saved settings (only --epochs, --early-stopping, --out, --quiet, --json, --threads may change)`);
  }
  const checkpoint = loadCheckpointFlag('--resume', run.resume);
  const saved = checkpoint.hyperParams.config as TrainConfig | undefined;
  if (!saved || !checkpoint.model || !checkpoint.progress || !checkpoint.optimizerState) {
    throw new UsageError(`--resume ${run.resume}: the checkpoint has no training state to resume (was it written by tapegrad train?)`);
  }
  return { config: parseTrainConfig(raw, saved), run, checkpoint };
}

export async function trainCommand(raw: RawOptions, io: Io, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const { config, run, checkpoint } = resolveTrain(raw);
  applyThreads(run.threads);
  const out = run.out ?? (run.resume ? dirname(run.resume) : defaultRunDir(config.dataset));
  mkdirSync(out, { recursive: true });

  const data = loadRunData(config);
  const model = (checkpoint?.model as Sequential | undefined) ?? buildModel(config, data.train.features, data.train.classes);
  const inputs = model.inputShape()?.[1];
  if (inputs !== undefined && inputs !== data.train.features) {
    throw new UsageError(`--dataset ${config.dataset}: the model takes ${inputs} inputs, ${config.dataset} has ${data.train.features} features`);
  }
  const optimizer = buildOptimizer(config, model.parameters());
  const stepsPerEpoch = Math.ceil(data.train.count / config.batchSize);
  const schedule = buildSchedule(config, optimizer, stepsPerEpoch);
  if (checkpoint) {
    optimizer.loadStateDict(checkpoint.optimizerState as never);
    if (schedule && checkpoint.scheduleState) schedule.loadStateDict(checkpoint.scheduleState as never);
  }

  const checkpointer = new ModelCheckpoint({ dir: out });
  const callbacks: Callback[] = [];
  if (!run.quiet) callbacks.push(new ProgressBar({ tty: io.isTTY, write: (l) => io.out(`${hooks.linePrefix ?? ''}${l}`) }));
  callbacks.push(checkpointer, new CsvLogger(join(out, 'metrics.csv')), new JsonlLogger(join(out, 'metrics.jsonl')));
  if (config.earlyStopping !== null) callbacks.push(new EarlyStopping({ patience: config.earlyStopping }));
  callbacks.push(...(hooks.callbacks ?? []));

  const controller = new AbortController();
  let interrupts = 0;
  const detach = io.onInterrupt?.(() => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    io.err('interrupt: finishing the current batch and saving last.safetensors (press Ctrl-C again to quit at once)');
    controller.abort();
  });

  const layers = (model.layers as Array<{ describe(): string }>).map((l) => l.describe()).join(' → ');
  const from = checkpoint ? `resuming at epoch ${checkpoint.progress!.epoch + 1}, batch ${checkpoint.progress!.batch}` : 'from scratch';
  io.out(`${config.dataset}: ${data.train.count} training, ${data.validation?.count ?? 0} validation, ${data.test.count} test samples`);
  io.out(`model: ${layers} (${model.parameterCount()} parameters); ${config.optimizer} lr ${config.lr}; ${config.epochs} epochs of ${stepsPerEpoch} batches, ${from} -> ${out}`);

  let result: FitResult;
  try {
    result = await fit(model, {
      train: data.train,
      validation: data.validation,
      epochs: config.epochs,
      batchSize: config.batchSize,
      optimizer,
      schedule,
      callbacks,
      seed: seeds.loader(config.seed),
      augment: config.augment,
      signal: controller.signal,
      resume: checkpoint?.progress ?? undefined,
      checkpointInfo: { hyperParams: { config } },
    });
  } finally {
    detach?.();
  }

  const outcome: TrainOutcome = { exitCode: 0, config, out, history: result.history, fit: result };
  let plotted = false;
  try {
    if (result.history.length > 0) {
      writeFileSync(join(out, 'curves.svg'), await renderSvg(curvesSpec(result.history, `${config.dataset}: training curves`)));
      plotted = true;
    }
  } catch (e) {
    // The plot is a by-product of training: without vega the run still succeeds, and says what to install.
    if (!(e instanceof MissingPackageError)) throw e;
    io.err(`curves.svg not drawn: ${e.message}`);
  }

  if (result.interrupted) {
    const lastPath = join(out, 'last.safetensors');
    io.err(`${result.stopReason}; saved ${lastPath}`);
    io.err(`resume with: npx tapegrad train --resume ${lastPath}`);
    outcome.exitCode = 130;
    return outcome;
  }
  if (result.diverged) {
    io.err(`${result.stopReason}`);
    outcome.exitCode = 1;
    return outcome;
  }
  if (result.stopReason) io.out(result.stopReason);

  const test = evaluate(model, data.test);
  outcome.test = { loss: test.loss, accuracy: test.accuracy };
  if (io.isTTY && !run.quiet) {
    const chart = terminalChart(result.history);
    if (chart) io.out(chart);
  }
  io.out(`saved ${join(out, 'best.safetensors')}, last.safetensors, metrics.csv, metrics.jsonl${plotted ? ', curves.svg' : ''}`);
  io.out(`test loss: ${test.loss.toFixed(4)}`);
  io.out(`test accuracy: ${test.accuracy.toFixed(4)}`);
  return outcome;
}

/** The --json line of `train`: every final metric. */
export function trainSummary(o: TrainOutcome): Record<string, unknown> {
  const last = o.history[o.history.length - 1];
  return {
    command: 'train',
    dataset: o.config.dataset,
    out: o.out,
    epochs: o.history.length,
    interrupted: o.fit.interrupted,
    diverged: o.fit.diverged,
    stopReason: o.fit.stopReason ?? null,
    loss: last?.loss ?? null,
    accuracy: last?.accuracy ?? null,
    valLoss: last?.valLoss ?? null,
    valAccuracy: last?.valAccuracy ?? null,
    testLoss: o.test?.loss ?? null,
    testAccuracy: o.test?.accuracy ?? null,
    seconds: o.history.reduce((s, h) => s + h.seconds, 0),
  };
}
