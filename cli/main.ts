/**
 * The entry point of `tapegrad` (bin/tapegrad.js) and of `npm run train` (`tsx cli/main.ts train`).
 * All the work is in program.ts; this file only runs it on the process's arguments and exits.
 */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
// Exit explicitly: the engine's worker threads or a pending timer must not keep a finished run alive.
// Flush stdout first (a pipe may still hold the --json line).
process.stdout.write('', () => process.exit(code));
