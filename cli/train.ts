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
  type History,
} from '../train/index.js';
import { MissingPackageError } from '../data/index.js';
import type { Sequential } from '../layers/index.js';
import { buildModel, buildOptimizer, buildSchedule, loadRunData, seeds } from './build.js';
import { applyThreads, defaultRunDir, loadCheckpointFlag, type Io } from './io.js';
import { RESUME_FLAGS, flagName, parseRunOptions, parseTrainConfig, UsageError, type RawOptions, type RunOptions, type TrainConfig } from './options.js';

export interface TrainOutcome {
  exitCode: number;
  config: TrainConfig;
  out: string;
  history: History;
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
    const allowed = [...RESUME_FLAGS].filter((k) => k !== 'resume').map(flagName).join(', ');
    throw new UsageError(`${flagName(extra[0])} cannot be combined with --resume: a resumed run keeps its saved settings (only ${allowed} may change)`);
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

  const layers = model.layers.map((l) => l.describe()).join(' → ');
  const from = checkpoint ? `resuming at epoch ${checkpoint.progress!.epoch + 1}, batch ${checkpoint.progress!.batch}` : 'from scratch';
  const announce: Callback = {
    onTrainBegin(_logs, ctx) {
      io.out(`${config.dataset}: ${data.train.count} training, ${data.validation?.count ?? 0} validation, ${data.test.count} test samples`);
      io.out(`model: ${layers} (${model.parameterCount()} parameters); ${config.optimizer} lr ${config.lr}; ${config.epochs} epochs of ${ctx.stepsPerEpoch} batches, ${from} -> ${out}`);
    },
  };
  const callbacks: Callback[] = [announce];
  if (!run.quiet) callbacks.push(new ProgressBar({ tty: io.isTTY, write: (l) => io.out(`${hooks.linePrefix ?? ''}${l}`) }));
  callbacks.push(new ModelCheckpoint({ dir: out }), new CsvLogger(join(out, 'metrics.csv')), new JsonlLogger(join(out, 'metrics.jsonl')));
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

  let history: History;
  try {
    history = await fit(model, {
      train: data.train,
      validationData: data.validation,
      epochs: config.epochs,
      batchSize: config.batchSize,
      optimizer,
      // Built once fit knows the batches per epoch (OneCycle spans the whole run).
      schedule: ({ stepsPerEpoch }) => buildSchedule(config, optimizer, stepsPerEpoch),
      callbacks,
      seed: seeds.loader(config.seed),
      augment: config.augment,
      signal: controller.signal,
      resume: checkpoint ?? undefined,
      checkpointInfo: { hyperParams: { config } },
    });
  } finally {
    detach?.();
  }

  const outcome: TrainOutcome = { exitCode: 0, config, out, history };
  let plotted = false;
  try {
    if (history.length > 0) {
      writeFileSync(join(out, 'curves.svg'), await renderSvg(curvesSpec(history, `${config.dataset}: training curves`)));
      plotted = true;
    }
  } catch (e) {
    // The plot is a by-product of training: without vega the run still succeeds, and says what to install.
    if (!(e instanceof MissingPackageError)) throw e;
    io.err(`curves.svg not drawn: ${e.message}`);
  }

  if (history.interrupted) {
    const lastPath = join(out, 'last.safetensors');
    io.err(`${history.stopReason}; saved ${lastPath}`);
    io.err(`resume with: npx tapegrad train --resume ${lastPath}`);
    outcome.exitCode = 130;
    return outcome;
  }
  if (history.diverged) {
    io.err(`${history.stopReason}`);
    outcome.exitCode = 1;
    return outcome;
  }
  if (history.stopReason) io.out(history.stopReason);

  const test = evaluate(model, data.test);
  outcome.test = { loss: test.loss, accuracy: test.accuracy };
  if (io.isTTY && !run.quiet) {
    const chart = terminalChart(history);
    if (chart) io.out(chart);
  }
  io.out(`saved ${join(out, 'best.safetensors')}, last.safetensors, metrics.csv, metrics.jsonl${plotted ? ', curves.svg' : ''}`);
  io.out(`test loss: ${test.loss.toFixed(4)}`);
  io.out(`test accuracy: ${test.accuracy.toFixed(4)}`);
  return outcome;
}

/** The --json line of `train`: every final metric, under Keras's names (as in metrics.jsonl). */
export function trainSummary(o: TrainOutcome): Record<string, unknown> {
  const last = o.history.last();
  return {
    command: 'train',
    dataset: o.config.dataset,
    out: o.out,
    epochs: o.history.length,
    interrupted: o.history.interrupted,
    diverged: o.history.diverged,
    stopReason: o.history.stopReason ?? null,
    loss: last?.loss ?? null,
    accuracy: last?.accuracy ?? null,
    val_loss: last?.val_loss ?? null,
    val_accuracy: last?.val_accuracy ?? null,
    test_loss: o.test?.loss ?? null,
    test_accuracy: o.test?.accuracy ?? null,
    seconds: (o.history.history.seconds ?? []).reduce((s, v) => s + v, 0),
  };
}
