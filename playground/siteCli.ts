/**
 * `npm run site`: builds the static site into site/ (playground/site.ts says what is in it).
 *
 *   npm run site                      # build site/
 *   npm run site -- --out /tmp/site   # somewhere else
 *   npm run site -- --serve           # build, then serve it as a static host would (no COOP/COEP), on 127.0.0.1:8080
 *
 * A bad flag is one line on stderr and exit code 2, as in the tapegrad command line.
 */
import { Command } from 'commander';
import { DEFAULT_PORT, parseOrExit, parsePort, serveFolder } from './server.js';
import { DEFAULT_SITE_DIR, buildSite } from './site.js';

const program = new Command('site')
  .description('build the static site (the playground, the tour, the experiments, the examples, the API reference)')
  .option('--out <dir>', 'where to build it', DEFAULT_SITE_DIR)
  .option('--revision <rev>', 'the commit, tag or branch source links point at (default: the commit checked out)')
  .option('--serve', 'serve the built site on 127.0.0.1 as a static host would: no COOP/COEP headers')
  .option('--port <n>', 'port for --serve (0: any free port)', parsePort, DEFAULT_PORT)
  .exitOverride()
  .configureOutput({ outputError: () => {} });

parseOrExit(program, 'site');
const opts = program.opts<{ out: string; revision?: string; serve?: boolean; port: number }>();

try {
  const built = await buildSite({ outDir: opts.out, revision: opts.revision, log: (line) => console.log(`building ${line}`) });
  console.log(`built ${built.outDir}: ${built.pages.length} pages, source links at ${built.revision}, in ${(built.ms / 1000).toFixed(1)} s`);
  if (opts.serve) {
    const running = await serveFolder(built.outDir, { port: opts.port });
    console.log(`tapegrad site (a plain static server, no COOP/COEP): ${running.url}`);
    console.log('Ctrl-C to stop');
  }
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'EADDRINUSE' ? `port ${opts.port} is in use; pick another with --port` : err.message;
  process.stderr.write(`site: ${why}\n`);
  process.exit(err.code === 'EADDRINUSE' ? 2 : 1);
}
