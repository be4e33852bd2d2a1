/**
 * The `tapegrad` command line (commander): train, eval, lr-find, sweep, bench. Options are declared
 * without defaults or parsers, so commander only splits the command line; options.ts checks the values
 * and applies the defaults. `runCli` returns the exit code instead of exiting, so tests can run it
 * in-process:
 *
 *   0    success            2    a bad flag or value (one line on stderr naming it)
 *   1    a failure at run time (an unreadable file, a diverged run)      130  interrupted (Ctrl-C)
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { benchCommand } from './bench.js';
import { evalCommand } from './eval.js';
import { processIo, type Io } from './io.js';
import { lrFindCommand } from './lrfind.js';
import { MissingPackageError } from '../data/index.js';
import { UsageError, type RawOptions } from './options.js';
import { sweepCommand } from './sweep.js';
import { trainCommand, trainSummary } from './train.js';

function packageVersion(): string {
  // By the package's own name (its exports map lists package.json): the same from cli/ and dist/cli/.
  return (createRequire(import.meta.url)('tapegrad/package.json') as { version: string }).version;
}

/** The options `train`, `sweep` and `lr-find` share: what to train and how. */
function addModelOptions(cmd: Command, { dropout = true } = {}): Command {
  cmd
    .option('--dataset <name>', 'mnist | fashion-mnist | iris (default: mnist)')
    .option('--layers <widths>', 'hidden layer widths, comma-separated, or none (default: 300,100)');
  if (dropout) cmd.option('--dropout <rate>', 'dropout after each hidden layer, in [0, 1) (default: 0)');
  return cmd
    .option('--input-dropout <rate>', 'dropout on the inputs, in [0, 1) (default: 0)')
    .option('--batch-norm', 'BatchNorm after each hidden Dense layer')
    .option('--optimizer <name>', 'sgd | adam | adamw | rmsprop | adagrad | adadelta | nadam (default: sgd)')
    .option('--lr <rate>', 'learning rate (default: 0.05 for sgd, the usual default for the others)')
    .option('--momentum <m>', 'momentum for sgd (default 0.9) or rmsprop (default 0), in [0, 1)')
    .option('--nesterov', "Nesterov momentum (sgd)")
    .option('--decay <d>', "Keras's time-based decay per step, lr / (1 + decay * step) (sgd; default: 0)")
    .option('--weight-decay <wd>', 'weight decay (coupled L2; decoupled for adamw) (default: 0)')
    .option('--l2 <lambda>', 'L2 penalty lambda * sum(w^2) on Dense kernels, Keras-style (default: 0)')
    .option('--max-norm <c>', 'max-norm constraint on hidden Dense kernels, 0 = off (default: 0)')
    .option('--schedule <spec>', 'none | step:drop=0.5,every=10 | exp:gamma=0.95 | cosine | onecycle | plateau (default: cosine, annealing to 0 over --epochs)')
    .option('--batch-size <n>', 'samples per batch (default: 64)')
    .option('--val-split <fraction>', 'share of the training set held out for validation, in [0, 1) (default: 0.1)')
    .option('--seed <n>', 'seed of every random choice: weights, dropout, split, shuffle (default: 1)')
    .option('--augment', 'random shifts of up to 2 pixels (images only)')
    .option('--train-size <n>', 'use only the first n training samples (quick runs)')
    .option('--test-size <n>', 'use only the first n test samples')
    .option('--threads <n>', 'threads for the matrix products (default: all cores)');
}

function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--epochs <n>', 'epochs to train (default: 10)')
    .option('--early-stopping <patience>', 'stop after this many epochs without a better validation loss')
    .option('--out <dir>', 'run folder for checkpoints, logs and plots (default: runs/<dataset>-<time>)')
    .option('--quiet', 'no progress output')
    .option('--json', 'print one JSON line with the final metrics last');
}

const TRAIN_EXAMPLES = `
Examples:
  $ tapegrad train                                    # MNIST, 784-300-100-10, SGD momentum 0.9: >= 98% test accuracy
  $ tapegrad train --dataset fashion-mnist --dropout 0.2 --optimizer adam --epochs 20
  $ tapegrad train --dataset iris --layers 4,6 --input-dropout 0.2 --lr 0.1 --epochs 100 --batch-size 8
  $ tapegrad train --schedule step:drop=0.5,every=5 --early-stopping 3 --out runs/mnist-step
  $ tapegrad train --resume runs/mnist-step/last.safetensors --epochs 20   # continue exactly
Writes best.safetensors, last.safetensors, metrics.csv, metrics.jsonl and curves.svg to --out.
Ctrl-C stops after the current batch, saves last.safetensors and prints the command that resumes.`;

/** Runs the command line `argv` (without `node` and the script) and returns the exit code. */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number> {
  let summary: Record<string, unknown> | null = null;
  let exitCode = 0;
  let json = false;
  let commandName = '';

  const program = new Command('tapegrad')
    .description('A from-scratch autograd engine in TypeScript: train and evaluate MLPs on MNIST, Fashion-MNIST and Iris.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
      // Errors are printed once, as one line, by the catch below.
      outputError: () => {},
    });

  const start = (name: string, opts: RawOptions) => {
    commandName = name;
    json = opts.json === true;
  };

  const train = program.command('train').description('train a model (the defaults train MNIST to >= 98% test accuracy)');
  addModelOptions(train);
  addRunOptions(train).option('--resume <checkpoint>', 'continue a run exactly from its last.safetensors');
  train.addHelpText('after', TRAIN_EXAMPLES).action(async (opts: RawOptions) => {
    start('train', opts);
    const outcome = await trainCommand(opts, io);
    exitCode = outcome.exitCode;
    summary = trainSummary(outcome);
  });

  program
    .command('eval')
    .description('evaluate a saved model on a test set (the architecture comes from the checkpoint)')
    .requiredOption('--model <checkpoint>', 'a .safetensors checkpoint written by train')
    .option('--dataset <name>', 'mnist | fashion-mnist | iris (default: the one it was trained on)')
    .option('--test-size <n>', 'use only the first n test samples')
    .option('--batch-size <n>', 'samples per forward pass (default: 1000)')
    .option('--threads <n>', 'threads for the matrix products')
    .option('--json', 'print one JSON line with the metrics last')
    .addHelpText('after', '\nExamples:\n  $ tapegrad eval --model runs/mnist-20260101-120000/best.safetensors\n  $ tapegrad eval --model best.safetensors --dataset mnist --json')
    .action(async (opts: RawOptions) => {
      start('eval', opts);
      summary = { command: 'eval', ...(await evalCommand(opts, io)) };
    });

  const lrFind = program.command('lr-find').description("learning-rate range test (Smith 2015): loss against a geometric sweep of rates");
  addModelOptions(lrFind)
    .option('--start <lr>', 'first rate (default: 1e-5)')
    .option('--end <lr>', 'last rate (default: 10)')
    .option('--steps <n>', 'batches in the sweep (default: 100)')
    .option('--out <dir>', 'folder for lr-find.svg (default: runs/lr-find-<dataset>-<time>)')
    .option('--json', 'print one JSON line with the suggestion last')
    .addHelpText('after', '\nExamples:\n  $ tapegrad lr-find\n  $ tapegrad lr-find --optimizer adam --start 1e-6 --end 1 --out runs/lr-adam')
    .action(async (opts: RawOptions) => {
      start('lr-find', opts);
      summary = { command: 'lr-find', ...(await lrFindCommand(opts, io)) };
    });

  const sweep = program.command('sweep').description("reference article 001's dropout study: one run per dropout rate, plotted together");
  addModelOptions(sweep, { dropout: false });
  addRunOptions(sweep)
    .addOption(new Option('--dropout <rates>', 'comma-separated dropout rates, e.g. 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9'))
    .addHelpText(
      'after',
      '\nExamples:\n  $ tapegrad sweep --dropout 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9 --epochs 20\n  $ tapegrad sweep --dropout 0,0.5 --train-size 5000 --epochs 3 --out runs/sweep-small\nWrites sweep.svg (train and validation accuracy per epoch, a line per rate) and one run folder per rate.',
    )
    .action(async (opts: RawOptions) => {
      start('sweep', opts);
      const outcome = await sweepCommand(opts, io);
      exitCode = outcome.exitCode;
      summary = { command: 'sweep', out: outcome.out, runs: outcome.runs };
    });

  program
    .command('bench')
    .description('kernel and training speed')
    .option('--quick', 'a short run')
    .option('--json', 'print one JSON line with the results last')
    .addHelpText('after', '\nExamples:\n  $ tapegrad bench --quick')
    .action(async (opts: RawOptions) => {
      start('bench', opts);
      summary = await benchCommand(opts, io);
    });

  program.addHelpText('after', '\nRun `tapegrad <command> --help` for its options and examples.\nExample: npx tapegrad train');

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; real parse errors are usage errors.
      if (e.exitCode === 0) return 0;
      // `tapegrad` with no command: commander has printed the help to stderr; that is a usage error.
      if (e.code === 'commander.help') return 2;
      const name = commandName || (program.commands.some((c) => c.name() === argv[0]) ? argv[0] : '');
      io.err(`tapegrad${name ? ` ${name}` : ''}: ${e.message.replace(/^error: /, '')}`);
      return 2;
    }
    if (e instanceof UsageError) {
      io.err(`tapegrad ${commandName}: ${e.message}`);
      return e.exitCode;
    }
    // An optional package the command needs is not installed: as a bad argument, one line and exit 2.
    if (e instanceof MissingPackageError) {
      io.err(`tapegrad ${commandName}: ${e.message}`);
      return 2;
    }
    // Anything else is not a user mistake: still one line, unless TAPEGRAD_DEBUG asks for the stack.
    const err = e as Error;
    io.err(`tapegrad ${commandName}: ${err.name ?? 'Error'}: ${err.message}`);
    if (process.env.TAPEGRAD_DEBUG) io.err(String(err.stack));
    return 1;
  }
  if (json && summary) io.out(JSON.stringify(summary));
  return exitCode;
}
