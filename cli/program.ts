/**
 * The `tapegrad` command line (commander): train, eval, lr-find, sweep, export, bench. Each command's options
 * come from the flag tables of options.ts (one declaration per flag), given to commander without
 * defaults or parsers, so commander only splits the command line; options.ts checks the values and
 * applies the defaults. `runCli` returns the exit code instead of exiting, so tests can run it
 * in-process:
 *
 *   0    success            2    a bad flag or value (one line on stderr naming it)
 *   1    a failure at run time (an unreadable file, a diverged run)      130  interrupted (Ctrl-C)
 *                                                                      143  stopped by SIGTERM
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { benchCommand } from './bench.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { processIo, type Io } from './io.js';
import { lrFindCommand } from './lrfind.js';
import { MissingPackageError } from '../data/index.js';
import { WriteError } from '../data/index.js';
import { FLAG_TABLES, UsageError, checkRefused, flagHelp, flagName, unknownFlagMessages, type CommandName, type RawOptions } from './options.js';
import { sweepCommand } from './sweep.js';
import { trainCommand, trainSummary } from './train.js';

function packageVersion(): string {
  // By the package's own name (its exports map lists package.json): the same from cli/ and dist/cli/.
  return (createRequire(import.meta.url)('tapegrad/package.json') as { version: string }).version;
}

/**
 * A command's options, from the flag tables (options.ts): every flag that lists this command, and,
 * hidden from the help, those it refuses (`refusedBy`), so that they get their reason rather than
 * commander's "unknown option".
 */
function addFlags(cmd: Command, command: CommandName): Command {
  for (const table of FLAG_TABLES) {
    for (const [key, f] of Object.entries(table)) {
      const spelling = `${flagName(key)}${f.arg ? ` ${f.arg}` : ''}`;
      if (f.refusedBy?.[command] !== undefined) cmd.addOption(new Option(spelling).hideHelp());
      if (!f.commands.includes(command)) continue;
      if (f.required) cmd.requiredOption(spelling, flagHelp(f, command));
      else cmd.option(spelling, flagHelp(f, command));
    }
  }
  return cmd;
}

const TRAIN_EXAMPLES = `
Examples:
  $ tapegrad train                                    # MNIST, 784-300-100-10, SGD momentum 0.9: >= 98% test accuracy
  $ tapegrad train --dataset fashion-mnist --dropout 0.2 --optimizer adam --epochs 20
  $ tapegrad train --dataset iris --layers 4,6 --input-dropout 0.2 --lr 0.1 --epochs 100 --batch-size 8
  $ tapegrad train --schedule step:drop=0.5,every=5 --early-stopping 3 --out runs/mnist-step
  $ tapegrad train --resume runs/mnist-step/last.safetensors              # finish an interrupted run, bit for bit
  $ tapegrad train --resume runs/mnist-step/last.safetensors --epochs 20  # 10 more epochs (see below)
Writes to --out: best.safetensors (the weights of the epoch with the best val_loss, alone: PyTorch
loads it strictly), last.safetensors (the latest weights with everything --resume needs), metrics.csv,
metrics.jsonl and curves.svg. The test accuracy printed at the end is that of the last epoch's weights.
Ctrl-C stops after the current batch, saves last.safetensors and prints the command that resumes.
A run whose loss explodes (NaN, or 10x where it started) stops with exit 1 and checkpoints none of it.
--resume --epochs N extends a finished run: step, exp and plateau go on as their formulas say (as if
the run had been started with --epochs N); cosine and onecycle, which span the run, start a new cycle
over the added epochs (a warm restart), and say so.`;

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

  const start = (name: CommandName, opts: RawOptions) => {
    commandName = name;
    json = opts.json === true;
    checkRefused(name, opts);
  };

  addFlags(program.command('train').description('train a model (the defaults train MNIST to >= 98% test accuracy)'), 'train')
    .addHelpText('after', TRAIN_EXAMPLES)
    .action(async (opts: RawOptions) => {
      start('train', opts);
      const outcome = await trainCommand(opts, io);
      exitCode = outcome.exitCode;
      summary = trainSummary(outcome);
    });

  addFlags(program.command('eval').description('evaluate a saved model on a test set (the architecture comes from the checkpoint)'), 'eval')
    .addHelpText('after', '\nExamples:\n  $ tapegrad eval --model runs/mnist-20260101-120000/best.safetensors\n  $ tapegrad eval --model best.safetensors --dataset mnist --json')
    .action(async (opts: RawOptions) => {
      start('eval', opts);
      summary = { command: 'eval', ...(await evalCommand(opts, io)) };
    });

  addFlags(program.command('lr-find').description('learning-rate range test (Smith 2015): loss against a geometric sweep of rates'), 'lr-find')
    .addHelpText(
      'after',
      '\nExamples:\n  $ tapegrad lr-find\n  $ tapegrad lr-find --optimizer adam --start 1e-6 --end 1 --out runs/lr-adam\n' +
        'Writes lr-find.svg to --out: the loss of each batch against its rate, the centered average the suggestion\n' +
        'is read from, where that average turns up, and the suggestion (half that rate). The model is not kept.',
    )
    .action(async (opts: RawOptions) => {
      start('lr-find', opts);
      const { exitCode: code, ...outcome } = await lrFindCommand(opts, io);
      exitCode = code;
      summary = { command: 'lr-find', ...outcome };
    });

  addFlags(program.command('sweep').description("reference article 001's dropout study: one run per dropout rate, plotted together"), 'sweep')
    .addHelpText(
      'after',
      '\nExamples:\n  $ tapegrad sweep --dropout 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9 --epochs 20\n  $ tapegrad sweep --dropout 0,0.5 --train-size 5000 --epochs 3 --out runs/sweep-small\n' +
        'Writes sweep.svg (train and validation accuracy per epoch, a line per rate), sweep.jsonl (the final numbers)\n' +
        'and one run folder per rate (dropout-0.5/...). A rate that fails stops the sweep: what the finished rates\n' +
        'produced is kept and drawn, and the failure is named (exit 1).',
    )
    .action(async (opts: RawOptions) => {
      start('sweep', opts);
      const outcome = await sweepCommand(opts, io);
      exitCode = outcome.exitCode;
      summary = { command: 'sweep', out: outcome.out, runs: outcome.runs };
    });

  addFlags(program.command('export').description('write a saved model as an ONNX file (opset 17), for ONNX Runtime in a page, Node, Python or C++'), 'export')
    .addHelpText(
      'after',
      '\nExamples:\n  $ tapegrad export --model runs/mnist-20260101-120000/best.safetensors --format onnx --out model.onnx\n' +
        'The graph is the model in eval mode (Dropout is the identity, BatchNorm uses its running statistics), its first\n' +
        'dimension the symbolic batch; initializers keep the checkpoint\'s tensor names (0.weight, 1.running_mean, ...).',
    )
    .action(async (opts: RawOptions) => {
      start('export', opts);
      summary = { command: 'export', ...(await exportCommand(opts, io)) };
    });

  addFlags(program.command('bench').description('kernel and training speed'), 'bench')
    .addHelpText('after', '\nExamples:\n  $ tapegrad bench --quick\n  $ tapegrad bench --quick --backend js   # the training table\'s tapegrad rows on that backend only')
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
      // Every mistyped flag, one line each with its hint (options.ts); commander names the first only.
      const unknown = e.code === 'commander.unknownOption' && name ? unknownFlagMessages(name as CommandName, argv.slice(argv.indexOf(name) + 1)) : [];
      // Otherwise commander's message, its "(Did you mean …?)" on the same line (an unknown command has one).
      const lines = unknown.length > 0 ? unknown : [e.message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)$/, ' (did you mean $1?)')];
      for (const line of lines) io.err(`tapegrad${name ? ` ${name}` : ''}: ${line}`);
      return 2;
    }
    if (e instanceof UsageError) {
      io.err(`tapegrad ${commandName}: ${e.message}`);
      return e.exitCode;
    }
    // A full disk, a folder made read-only mid-run: the message names the file and the reason.
    if (e instanceof WriteError) {
      io.err(`tapegrad ${commandName}: ${e.message}`);
      return 1;
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
