/**
 * `npm run playground`: builds the page and serves it on 127.0.0.1 (default port 8080), printing the URL.
 *
 *   npm run playground                      # cross-origin isolated (COOP/COEP): SharedArrayBuffer available
 *   npm run playground -- --port 9000
 *   npm run playground -- --no-isolation    # no COOP/COEP: the page's one-thread path without SharedArrayBuffer
 *
 * A bad flag is one line on stderr and exit code 2, as in the tapegrad command line.
 */
import { Command } from 'commander';
import { buildPlayground } from './build.js';
import { DEFAULT_PORT, parseOrExit, parsePort, servePlayground } from './server.js';

const program = new Command('playground')
  .description('build the tapegrad playground page and serve it on 127.0.0.1')
  .option('--port <n>', `port to listen on (0: any free port)`, parsePort, DEFAULT_PORT)
  .option('--no-isolation', 'serve without the COOP/COEP headers (no SharedArrayBuffer in the page)')
  .exitOverride()
  .configureOutput({ outputError: () => {} });

parseOrExit(program, 'playground');
const opts = program.opts<{ port: number; isolation: boolean }>();

const built = await buildPlayground();
const sizes = built.files.map((f) => `${f.file} ${(f.bytes / 1024).toFixed(0)} kB`).join(', ');
console.log(`built ${sizes} in ${(built.ms / 1000).toFixed(1)} s`);
try {
  const running = await servePlayground({ port: opts.port, isolate: opts.isolation });
  console.log(`tapegrad playground (${opts.isolation ? 'cross-origin isolated' : 'not isolated: no SharedArrayBuffer'}): ${running.url}`);
  console.log('Ctrl-C to stop');
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'EADDRINUSE' ? `port ${opts.port} is in use; pick another with --port` : err.message;
  process.stderr.write(`playground: ${why}\n`);
  process.exit(err.code === 'EADDRINUSE' ? 2 : 1);
}
