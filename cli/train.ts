/**
 * `tapegrad train`: load the data, build the model, optimizer and schedule from the flags (or from a
 * checkpoint with --resume), run `fit` with the standard callbacks, evaluate on the test set, and leave
 * best.safetensors (the best epoch's weights alone), last.safetensors (the latest state, for --resume),
 * metrics.csv, metrics.jsonl and curves.svg in the run folder. Everything about the flags, the files
 * and the data is checked before the first step.
 *
 * How a run ends:
 *   0    trained every epoch (or stopped early), tested: `test accuracy: 0.9812 (last weights, epoch 10)`
 *   1    diverged (train/callbacks.ts TerminateOnNaN's rule): one line naming the epoch, the batch and
 *        the loss, and what to try; no checkpoint of the diverged state is written
 *   2    a bad flag, or --resume of a run that is complete (and how to extend it)
 *   130  Ctrl-C: stops after the current batch, writes last.safetensors and prints the command that
 *        resumes (the shell's code for SIGINT); a second Ctrl-C exits at once
 *   143  SIGTERM (`kill`, a job scheduler, `docker stop`): the same as Ctrl-C, with the shell's code
 *        for SIGTERM, so that a stopped run can be resumed rather than losing up to an epoch
 *
 * --resume continues an interrupted run bit for bit (same backend and FMA setting; on another it
 * continues, with a note). `--resume --epochs N` extends a run; what that means for the schedule is
 * `resolveTrain`'s to say.
 */
import { basename, dirname, join } from 'node:path';
import {
  CsvLogger,
  EarlyStopping,
  JsonlLogger,
  ModelCheckpoint,
  ProgressBar,
  curvesSpec,
  describeOptimizer,
  evaluate,
  fit,
  renderSvg,
  terminalChart,
  type Callback,
  type Checkpoint,
  type History,
} from '../train/index.js';
import { DATASET_NAMES, MissingPackageError, writeFileAtomic } from '../data/index.js';
import type { Sequential } from '../layers/index.js';
import { buildModel, buildOptimizer, buildRunSchedule, cyclesOf, loadRunData, seeds, spansRun } from './build.js';
import { applyBackend, applyThreads, backendNote, checkOutDir, defaultRunDir, engineLine, loadCheckpointFlag, type Io, type StopSignal } from './io.js';
import { RESUME_FLAGS, checkSavedConfig, flagName, parseRunOptions, parseTrainConfig, UsageError, type RawOptions, type RunOptions, type TrainConfig } from './options.js';

/** The shell's exit code for a run a signal stopped: 128 + the signal's number. */
const EXIT_CODE: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

export interface TrainOutcome {
  exitCode: number;
  config: TrainConfig;
  out: string;
  history: History;
  test?: { loss: number; accuracy: number };
  /** The files this run wrote (a file it did not write is never claimed). */
  written: string[];
  /** Why the run did not finish (diverged, interrupted), in the words printed. */
  failure?: string;
}

export interface TrainHooks {
  /** Extra callbacks (the sweep's per-run labelling, tests). */
  callbacks?: Callback[];
  /** Print per-epoch lines even when quiet (the sweep prints its own). */
  linePrefix?: string;
  /** The caller prints the failure of a diverged run itself (the sweep, in its own line). */
  reportsFailure?: boolean;
}

/** `sgd lr 0.05`, `muon lr 0.02 (Muon for the matrices, AdamW for the rest) in Lookahead k 5 alpha 0.5; augment affine,elastic`. */
export function optimizerText(config: TrainConfig): string {
  const augment = config.augment.length > 0 ? `; augment ${config.augment.join(',')}` : '';
  return `${describeOptimizer(config)}${augment}`;
}

/** `1 epoch`, `10 epochs`; `1 batch`, `2 batches`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export interface ResolvedTrain {
  config: TrainConfig;
  run: RunOptions;
  checkpoint: Checkpoint | null;
  /** What a resume changes about the run, said before it starts (an extension, a schedule restart). */
  notes: string[];
}

/**
 * Resolves the flags (and the checkpoint, with --resume) into a configuration and run options, with
 * every check that needs no data: a resumed run may change only the RESUME_FLAGS; a run that is
 * complete (all its epochs trained, or stopped early) is a UsageError saying how to extend it.
 *
 * Extending a run, `--resume last.safetensors --epochs N` with N above the saved --epochs:
 *   - step, exp, plateau, none and cosine with an explicit tmax are formulas of the epoch: they go on
 *     as they would have in a run started with --epochs N;
 *   - cosine (without tmax) and onecycle span the run: the saved cycle is kept as it was, and the
 *     added epochs get a new cycle of their own (a warm restart: the rate goes back up to --lr and
 *     anneals again by epoch N; cli/build.ts `Restarted`). Stretching the old cycle over N epochs
 *     instead would make the rate jump (20× at the boundary of a 10-epoch cosine run doubled).
 * Either way it is said before training starts, and never called an exact continuation.
 */
export function resolveTrain(raw: RawOptions): ResolvedTrain {
  const run = parseRunOptions(raw);
  if (run.resume === null) return { config: parseTrainConfig(raw), run, checkpoint: null, notes: [] };
  const extra = Object.keys(raw).filter((k) => raw[k] !== undefined && !RESUME_FLAGS.has(k));
  if (extra.length > 0) {
    const allowed = [...RESUME_FLAGS].filter((k) => k !== 'resume').map(flagName).join(', ');
    throw new UsageError(`${flagName(extra[0])} cannot be combined with --resume: a resumed run keeps its saved settings (only ${allowed} may change)`);
  }
  const path = run.resume;
  const checkpoint = loadCheckpointFlag('--resume', path);
  const savedJson = checkpoint.hyperParams.config;
  if (checkpoint.model && !checkpoint.progress) {
    throw new UsageError(`--resume ${path}: holds a model's weights alone (as best.safetensors does); resume from the last.safetensors beside it`);
  }
  if (!savedJson || !checkpoint.model || !checkpoint.progress || !checkpoint.optimizerState) {
    throw new UsageError(`--resume ${path}: the checkpoint has no training state to resume (was it written by tapegrad train?)`);
  }
  if (typeof savedJson !== 'object' || Array.isArray(savedJson)) {
    throw new UsageError(`--resume ${path}: __metadata__.hyperParams.config is ${JSON.stringify(savedJson)}; expected the run's settings, an object`, 1);
  }
  const dataset = (savedJson as { dataset?: unknown }).dataset;
  if (!(DATASET_NAMES as readonly unknown[]).includes(dataset)) {
    throw new UsageError(`--resume ${path}: the checkpoint names the data set ${JSON.stringify(dataset)}, which is not one of ${DATASET_NAMES.join(', ')}`, 1);
  }
  const saved = checkSavedConfig(savedJson as Record<string, unknown>, `--resume ${path}`);
  const config = parseTrainConfig(raw, saved);
  const progress = checkpoint.progress;
  const done = progress.epoch;
  if (config.epochs <= done) {
    if (raw.epochs === undefined) {
      throw new UsageError(
        `--resume ${path}: the run is complete (${plural(done, 'epoch')} of ${saved.epochs}); to train it further, give the total to reach: --resume ${path} --epochs ${done + saved.epochs}`,
      );
    }
    throw new UsageError(`--epochs ${config.epochs}: the run in ${path} has already trained ${plural(done, 'epoch')}; to extend it, give more than ${done}`);
  }
  const stopped = progress.callbacks.earlyStopping as { wait?: number } | undefined;
  if (config.earlyStopping !== null && stopped?.wait !== undefined && stopped.wait > config.earlyStopping && progress.batch === 0) {
    throw new UsageError(
      `--resume ${path}: the run stopped early after epoch ${done} (val_loss had not improved for ${plural(stopped.wait, 'epoch')}); to go on, give --early-stopping ${stopped.wait} or more`,
    );
  }

  const notes: string[] = [];
  const name = config.schedule.name;
  if (spansRun(config)) {
    const cycles = cyclesOf(saved);
    const end = cycles[cycles.length - 1];
    if (config.epochs > end) {
      notes.push(
        `extending the run to ${plural(config.epochs, 'epoch')}: its ${name} schedule ended at epoch ${end}, so epochs ${end + 1}-${config.epochs} start a new ${name} cycle from lr ${config.lr} (a warm restart), not what a ${config.epochs}-epoch run would have done`,
      );
      config.schedule = { ...config.schedule, cycles: [...cycles, config.epochs] };
    } else {
      if (config.epochs < end) notes.push(`stopping at epoch ${config.epochs}: the ${name} schedule spans ${end} epochs and is left part-way`);
      config.schedule = { ...config.schedule, cycles };
    }
  } else if (config.epochs > saved.epochs) {
    const how = name === 'none' ? `at lr ${config.lr}` : `with the ${name} schedule going on as its formula says (the rates a ${config.epochs}-epoch run would have had)`;
    notes.push(`extending the run from ${saved.epochs} to ${plural(config.epochs, 'epoch')} ${how}`);
  }
  return { config, run, checkpoint, notes };
}

export async function trainCommand(raw: RawOptions, io: Io, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const { config, run, checkpoint, notes } = resolveTrain(raw);
  await applyBackend(run.backend);
  applyThreads(run.threads);
  const out = run.out ?? (run.resume ? dirname(run.resume) : defaultRunDir(config.dataset));
  checkOutDir('--out', out);

  const data = loadRunData(config);
  const model = (checkpoint?.model as Sequential | undefined) ?? buildModel(config, data.train.features, data.train.classes);
  const inputs = model.inputShape()?.[1];
  if (inputs !== undefined && inputs !== data.train.features) {
    throw new UsageError(`--dataset ${config.dataset}: the model takes ${inputs} inputs, ${config.dataset} has ${data.train.features} features`);
  }
  const optimizer = buildOptimizer(config, model);
  if (checkpoint) {
    const note = backendNote(checkpoint);
    if (note !== null) notes.push(note);
  }

  const layers = model.layers.map((l) => l.describe()).join(' → ');
  const from = checkpoint ? `resuming at epoch ${checkpoint.progress!.epoch + 1}, batch ${checkpoint.progress!.batch}` : 'from scratch';
  const announce: Callback = {
    onTrainBegin(_logs, ctx) {
      io.out(`${config.dataset}: ${data.train.count} training, ${data.validation?.count ?? 0} validation, ${data.test.count} test samples`);
      io.out(
        `model: ${layers} (${model.parameterCount()} parameters); ${optimizerText(config)}; ${plural(config.epochs, 'epoch')} of ${plural(ctx.stepsPerEpoch, 'batch', 'batches')}, ${from} -> ${out}`,
      );
      io.out(engineLine());
      for (const note of notes) io.out(note);
    },
  };
  const bar = run.quiet ? null : new ProgressBar({ tty: io.isTTY, write: (l) => io.out(`${hooks.linePrefix ?? ''}${l}`) });
  const checkpoints = new ModelCheckpoint({ dir: out });
  const callbacks: Callback[] = [announce];
  if (bar) callbacks.push(bar);
  callbacks.push(checkpoints, new CsvLogger(join(out, 'metrics.csv')), new JsonlLogger(join(out, 'metrics.jsonl')));
  if (config.earlyStopping !== null) callbacks.push(new EarlyStopping({ patience: config.earlyStopping }));
  callbacks.push(...(hooks.callbacks ?? []));

  const controller = new AbortController();
  let stoppedBy: StopSignal | null = null;
  const detach = io.onInterrupt?.((signal) => {
    // A second signal of either kind: at once, with the shell's code for it.
    if (stoppedBy !== null) process.exit(EXIT_CODE[signal]);
    stoppedBy = signal;
    // The bar first: a live bar redraws its line on a timer, over whatever is printed after it.
    bar?.stop();
    const again = signal === 'SIGINT' ? 'press Ctrl-C again' : 'send it again';
    io.err(`${signal === 'SIGINT' ? 'interrupt' : 'terminated (SIGTERM)'}: finishing the current batch and saving last.safetensors (${again} to quit at once)`);
    controller.abort();
  });

  const epochsBefore = checkpoint?.progress?.history.epoch.length ?? 0;
  let history: History;
  try {
    history = await fit(model, {
      train: data.train,
      validationData: data.validation,
      epochs: config.epochs,
      batchSize: config.batchSize,
      optimizer,
      // Built once fit knows the batches per epoch (OneCycle spans the whole run).
      schedule: ({ stepsPerEpoch }) => buildRunSchedule(config, optimizer, stepsPerEpoch),
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

  const written = [...checkpoints.written];
  if (history.length > epochsBefore) written.push(join(out, 'metrics.csv'), join(out, 'metrics.jsonl'));
  const outcome: TrainOutcome = { exitCode: 0, config, out, history, written };
  try {
    if (history.length > 0) {
      writeFileAtomic(join(out, 'curves.svg'), await renderSvg(curvesSpec(history, `${config.dataset}: training curves`)));
      written.push(join(out, 'curves.svg'));
    }
  } catch (e) {
    // The plot is a by-product of training: without vega the run still succeeds, and says what to install.
    if (!(e instanceof MissingPackageError)) throw e;
    io.err(`curves.svg not drawn: ${e.message}`);
  }

  if (history.interrupted) {
    const lastPath = join(out, 'last.safetensors');
    const saved = written.includes(lastPath);
    outcome.failure = history.stopReason;
    io.err(`${history.stopReason}; ${saved ? `saved ${lastPath}` : 'nothing saved (the weights were not finite)'}`);
    if (saved) io.err(`resume with: npx tapegrad train --resume ${lastPath}`);
    outcome.exitCode = EXIT_CODE[stoppedBy ?? 'SIGINT'];
    return outcome;
  }
  if (history.diverged) {
    const lastPath = join(out, 'last.safetensors');
    const kept = written.includes(lastPath) ? `; nothing diverged was saved (last.safetensors holds epoch ${checkpoints.lastEpoch! + 1})` : '; no checkpoint was written';
    // What to try: a lower rate first; a penalty or decay given explicitly may be what blew up.
    const penalties = (['weightDecay', 'l2'] as const).filter((k) => config[k] > 0).map((k) => ` or a smaller ${flagName(k)} than ${config[k]}`).join('');
    outcome.failure = `${history.stopReason}${kept}; try a lower --lr than ${config.lr} (npx tapegrad lr-find suggests one)${penalties}`;
    if (!hooks.reportsFailure) io.err(`tapegrad train: ${outcome.failure}`);
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
  const names = written.map((p) => (p === checkpoints.bestPath && checkpoints.bestEpoch !== null ? `best.safetensors (epoch ${checkpoints.bestEpoch + 1})` : basename(p)));
  io.out(written.length > 0 ? `saved in ${out}: ${names.join(', ')}` : `nothing saved in ${out}`);
  const lastEpoch = history.length > 0 ? history.epoch[history.length - 1] + 1 : 0;
  io.out(`test loss: ${test.loss.toFixed(4)}`);
  io.out(`test accuracy: ${test.accuracy.toFixed(4)} (last weights, epoch ${lastEpoch})`);
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
    tested: o.test ? 'last' : null,
    written: o.written,
    seconds: (o.history.history.seconds ?? []).reduce((s, v) => s + v, 0),
  };
}
