/**
 * The static site (`npm run site`, playground/site.ts), built once into a temporary folder and served
 * by a plain static server that sends no isolation headers (serveFolder: what GitHub Pages does), then
 * opened in headless Chromium (Debian's, through puppeteer-core, as tests/playground does):
 *
 * - the folder: every page, the playground's service worker and MNIST's IDX files (not in a bundle);
 *   every link of every page resolves, fragments included; the source links point at the repository at
 *   the built commit, at lines that exist there;
 * - the playground: the service worker isolates the page, so it trains on the WebAssembly backend; an
 *   epoch of all 60,000 images reaches >= 0.90 test accuracy; the mode line says so;
 * - step mode: the loss shown for a stepped batch is train/'s trainStep's for that batch (replayed here
 *   in Node from the same seed and the recipe's builders, Lion in Lookahead under a per-batch rate too),
 *   and the step's pictures and tape are drawn;
 * - a shared link restores the configuration; every control has a label; the test digits and a file
 *   reach the model from the keyboard;
 * - every page (the API reference's included) loads without a console error, and every internal link
 *   resolves over HTTP.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, loadMnist, type Batch } from '../../data/index.js';
import { buildModel, buildOptimizer, buildSchedule, resolveLoss, resolveMetrics, seeds, trainStep } from '../../train/index.js';
import { CLASSES, INPUTS, parseConfig, type TrainConfig } from '../../playground/config.js';
import { chromiumPath, hasChromium, launchChromium, type Chromium } from '../../playground/chromium.js';
import { MNIST_FILES } from '../../playground/mnist.js';
import { mnistDataDir, serveFolder, type RunningPlayground } from '../../playground/server.js';
import { REPO_DIR, brokenLinks, buildSite, htmlFiles, repositoryUrl, type SiteResult } from '../../playground/site.js';

const EPOCH_TIMEOUT = 240_000;

// The callbacks given to page.evaluate/$eval run in the page; the root tsconfig has no DOM library.
declare const document: {
  getElementById(id: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  createElement(tag: 'canvas'): PageCanvas;
};
declare const crossOriginIsolated: boolean;
interface PageElement {
  tagName: string;
  type?: string;
  id: string;
  name?: string;
  textContent: string | null;
  labels?: ArrayLike<unknown> | null;
  getAttribute(name: string): string | null;
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    fillStyle: string;
    strokeStyle: string;
    lineWidth: number;
    fillRect(x: number, y: number, w: number, h: number): void;
    beginPath(): void;
    moveTo(x: number, y: number): void;
    lineTo(x: number, y: number): void;
    stroke(): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
  toDataURL(type: string): string;
}

if (!hasChromium()) {
  console.warn(`tests/site/site.test.ts: the browser checks are skipped, no Chromium at ${chromiumPath()} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

let outDir: string;
let site: SiteResult;
let server: RunningPlayground;

/** TAPEGRAD_SITE_DIR: check a site built already (e.g. the folder a deployment is about to publish) instead of building one. */
const given = process.env.TAPEGRAD_SITE_DIR;

beforeAll(async () => {
  if (given !== undefined) {
    outDir = given;
    const revision = /\/tree\/([0-9a-f]+|main)"/.exec(readFileSync(join(outDir, 'tour.html'), 'utf8'))![1];
    site = { outDir, pages: htmlFiles(outDir), revision, ms: 0 };
  } else {
    outDir = mkdtempSync(join(tmpdir(), 'tapegrad-site-'));
    site = await buildSite({ outDir });
  }
  server = await serveFolder(outDir, { port: 0 });
}, 400_000);

afterAll(async () => {
  await server?.close();
  if (outDir && given === undefined) rmSync(outDir, { recursive: true, force: true });
});

describe('npm run site: the folder', () => {
  it('holds the landing page, the playground, the tour, the experiments, the examples and the API reference', () => {
    for (const page of ['index.html', 'playground/index.html', 'tour.html', 'experiments.html', 'examples.html', 'api/index.html']) {
      expect(site.pages, page).toContain(page);
    }
    expect(site.pages.filter((p) => p.startsWith('api/')).length).toBeGreaterThan(100);
    const playground = readFileSync(join(outDir, 'playground/index.html'), 'utf8');
    expect(playground).toContain('<meta name="tapegrad:service-worker" content="coi-serviceworker.js">');
    expect(playground).toContain('class="site-nav"');
    expect(readFileSync(join(outDir, 'playground/coi-serviceworker.js'), 'utf8')).toContain('Cross-Origin-Embedder-Policy');
    // Markdown rendered, with GitHub's heading ids; the examples are the README's.
    expect(readFileSync(join(outDir, 'tour.html'), 'utf8')).toContain('<h2 id="1-one-number-a-b-c--ab--b">');
    const examples = readFileSync(join(outDir, 'examples.html'), 'utf8');
    expect(examples).toContain('<h2 id="use-it-as-a-library">');
    expect(examples).toContain('<h2 id="the-command-line">');
    expect(examples).toContain("loadDataset('iris')");
  });

  it("ships MNIST as the four IDX files, and no bundle carries data", () => {
    for (const name of Object.values(MNIST_FILES)) {
      expect(readFileSync(join(outDir, 'playground/data', name)).equals(readFileSync(join(mnistDataDir(), name))), name).toBe(true);
    }
    // The training images alone are 47 MB; the bundles are the engine, the page and vega.
    for (const bundle of ['main.js', 'worker.js']) expect(statSync(join(outDir, 'playground', bundle)).size).toBeLessThan(2_000_000);
  });

  it('every link of every page resolves, fragments included', () => {
    expect(brokenLinks(outDir)).toEqual([]);
  });

  it('source links point at the repository at the built commit, at lines that exist there', () => {
    const repo = repositoryUrl();
    expect(repo).toBe('https://github.com/tapegrad/tapegrad');
    const prefix = `${repo}/blob/${site.revision}/`;
    const tour = readFileSync(join(outDir, 'tour.html'), 'utf8');
    const links = [...tour.matchAll(/href="([^"]+)"/g)].map((m) => m[1]).filter((h) => h.startsWith(prefix));
    expect(links.length).toBeGreaterThanOrEqual(30);
    for (const link of links) {
      const m = /^(.*?)(?:#L(\d+)(?:-L(\d+))?)?$/.exec(link.slice(prefix.length))!;
      const lines = readFileSync(join(REPO_DIR, m[1]), 'utf8').split('\n').length;
      if (m[2] !== undefined) expect(Number(m[3] ?? m[2]), link).toBeLessThanOrEqual(lines);
    }
    const api = readFileSync(join(outDir, 'api/classes/tapegrad.Adam.html'), 'utf8');
    expect(api).toMatch(new RegExp(`href="${prefix.replace(/[.]/g, '\\.')}optim/adam\\.ts#L\\d+"`));
    // The API reference's toolbar leads back to the site.
    expect(api).toContain('<a href="../../playground/">Playground</a>');
  });
});

describe.skipIf(!hasChromium())('the site in headless Chromium, from a server that sends no COOP/COEP', () => {
  let chromium: Chromium;
  let trained: { page: Page; errors: string[] };

  beforeAll(async () => {
    chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
  });

  /** A page at `url` whose console errors (page, worker, uncaught, failed requests) are collected in `errors`. */
  async function open(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await chromium.browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${(e as Error).message}`));
    page.on('workercreated', (w) => w.on('console', (m) => m.type() === 'error' && errors.push(`worker: ${m.text()}`)));
    await page.goto(url);
    return { page, errors };
  }

  const textOf = (page: Page, id: string) => page.$eval(`#${id}`, (e) => e.textContent ?? '');
  /** After the service worker's one reload: the worker has said which backend runs. */
  const ready = (page: Page) => page.waitForFunction(() => document.getElementById('status')!.textContent === 'ready' || /^(done|training|epoch)/.test(document.getElementById('status')!.textContent ?? ''), { timeout: 120_000, polling: 200 });

  it('the host sends no isolation headers, the service worker isolates the page, and an epoch of 60,000 images on WebAssembly reaches >= 0.90', async () => {
    const res = await fetch(new URL('playground/', server.url));
    expect(res.headers.get('cross-origin-opener-policy')).toBeNull();
    expect(res.headers.get('cross-origin-embedder-policy')).toBeNull();

    const t0 = Date.now();
    trained = await open(`${server.url}playground/?autostart=1&epochs=1`);
    const { page, errors } = trained;
    await page.waitForFunction(() => /^(done|error|the loss)/.test(document.getElementById('status')!.textContent ?? ''), { timeout: EPOCH_TIMEOUT, polling: 250 });
    expect(await textOf(page, 'status')).toMatch(/^done: test accuracy/);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await textOf(page, 'backend')).toBe('wasm');
    expect(await textOf(page, 'mode')).toMatch(/^WebAssembly SIMD on \d threads?, cross-origin isolated \(COOP\/COEP added by this site's service worker\)\.$/);
    expect(await textOf(page, 'epoch')).toBe('1 / 1, batch 938 / 938');
    const accuracy = Number(await textOf(page, 'test-accuracy'));
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    expect(accuracy).toBeLessThanOrEqual(1);
    // The hidden layers were measured as it trained: the table has both layers.
    const layerRows = await page.$$eval('#layer-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
    expect(layerRows).toHaveLength(2);
    expect(layerRows[0]).toMatch(/^hidden 1: 300 relu/);
    expect(errors).toEqual([]);
    console.log(`site playground: ${await textOf(page, 'mode')} ${await textOf(page, 'status')}; ${await page.$eval('#epochs tbody tr td:last-child', (e) => e.textContent)} samples/s over the epoch; ${((Date.now() - t0) / 1000).toFixed(1)} s from opening`);
  }, EPOCH_TIMEOUT + 60_000);

  it('the test digits (Tab, Enter) and an image file reach the model from the keyboard', async () => {
    const { page, errors } = trained;
    const labels = await page.$$eval('.digit', (cells) => Array.from(cells, (c) => Number(c.getAttribute('aria-label')!.match(/a (\d):/)![1])));
    let right = 0;
    for (let i = 0; i < 5; i++) {
      await page.click('#clear');
      expect(await textOf(page, 'guess')).toBe('–');
      await page.focus(`.digit[data-index="${i}"]`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => /^\d$/.test(document.getElementById('guess')!.textContent ?? ''), { timeout: 10_000 });
      if (Number(await textOf(page, 'guess')) === labels[i]) right++;
    }
    expect(right).toBeGreaterThanOrEqual(4);

    // A photo-like picture: a dark "1" on light paper, as a PNG file.
    const png = await page.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 200;
      c.height = 260;
      const g = c.getContext('2d');
      g.fillStyle = '#f4f1ea';
      g.fillRect(0, 0, 200, 260);
      g.strokeStyle = '#222';
      g.lineWidth = 18;
      g.beginPath();
      g.moveTo(100, 30);
      g.lineTo(104, 230);
      g.stroke();
      return c.toDataURL('image/png');
    });
    const file = join(tmpdir(), `tapegrad-site-one-${process.pid}.png`);
    writeFileSync(file, Buffer.from(png.split(',')[1], 'base64'));
    await page.click('#clear');
    const input = (await page.$('#digit-file'))!;
    await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(file);
    await page.waitForFunction(() => /^\d$/.test(document.getElementById('guess')!.textContent ?? ''), { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    rmSync(file, { force: true });
    expect(await textOf(page, 'guess')).toBe('1');
    expect(errors).toEqual([]);
  }, 60_000);

  it('every control has a label, and every picture a text alternative', async () => {
    const { page } = trained;
    const unlabelled = await page.$$eval('input, select, button, textarea', (els) =>
      Array.from(els)
        .filter((e) => !((e.labels && e.labels.length > 0) || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && (e.textContent ?? '').trim() !== '')))
        .map((e) => `${e.tagName} #${e.id} ${e.name ?? ''}`),
    );
    expect(unlabelled).toEqual([]);
    const bare = await page.$$eval('canvas', (els) => Array.from(els).filter((e) => !e.getAttribute('aria-label') && !(e.getAttribute('role') === 'presentation')).map((e) => e.id || '(a canvas)'));
    // The grid's, the step view's and vega's canvases sit inside labelled buttons, figures and charts.
    const unlabelledIds = bare.filter((id) => id !== '(a canvas)');
    expect(unlabelledIds).toEqual([]);
    await trained.page.close();
  }, 30_000);

  /** What trainStep gives for the first `n` batches of a fresh run of `config`, in Node. */
  function replay(config: TrainConfig, n: number): number[] {
    const { train } = loadMnist({ trainSize: config.train });
    const model = buildModel(config, INPUTS, CLASSES);
    const optimizer = buildOptimizer(config, model);
    const loader = new DataLoader(train, { batchSize: config.batchSize, seed: seeds.loader(config.seed) });
    const schedule = buildSchedule(config, optimizer, loader.batchesPerEpoch);
    if (schedule?.stepsOn === 'epoch') schedule.step(0);
    const loss = resolveLoss('crossEntropy', 'test');
    const setup = { model, optimizer, loss, metrics: resolveMetrics(['accuracy'], loss, true, 'test') };
    const losses: number[] = [];
    model.train();
    for (const batch of loader.epochBatches(0) as Iterable<Batch>) {
      if (schedule?.stepsOn === 'batch') schedule.step(losses.length);
      losses.push(trainStep(setup, batch).loss);
      if (losses.length === n) break;
    }
    return losses;
  }

  /**
   * The playground at `query`, stepped `n` times with One batch: each step's loss as the page shows it
   * (#step-loss, its full value in data-value) checked against trainStep's for the same batch in Node.
   */
  async function stepAndCompare(query: string, n: number): Promise<{ page: Page; errors: string[]; expected: number[] }> {
    const config = parseConfig(Object.fromEntries(new URLSearchParams(query)));
    const expected = replay(config, n);
    const { page, errors } = await open(`${server.url}playground/?${query}`);
    await ready(page);
    const shown: number[] = [];
    for (let k = 1; k <= n; k++) {
      await page.click('#step');
      await page.waitForFunction((k) => new RegExp(`^Step ${k} `).test(document.getElementById('step-info')!.textContent ?? ''), { timeout: 60_000 }, k);
      shown.push(Number(await page.$eval('#step-loss', (e) => e.getAttribute('data-value'))));
      expect(Number(await textOf(page, 'step-loss'))).toBeCloseTo(shown[k - 1], 4);
    }
    // Another backend and runtime (Chromium's WebAssembly may fuse multiply-adds): equal to float32 rounding.
    shown.forEach((loss, k) => expect(Math.abs(loss - expected[k]), `step ${k + 1}: page ${loss}, trainStep ${expected[k]}`).toBeLessThan(1e-5 * expected[k]));
    return { page, errors, expected };
  }

  it("step mode: the loss shown for each stepped batch is trainStep's, and the step is drawn", async () => {
    const { page, errors } = await stepAndCompare('hidden=64,32&train=2000&batch=50&seed=3&optimizer=adam', 3);
    expect(await textOf(page, 'pause')).toBe('Resume');

    // The batch's 16 images, a heat strip per layer (5: Dense, ReLU, Dense, ReLU, Dense), both gradients.
    expect(await page.$$eval('#step-images canvas', (c) => c.length)).toBe(16);
    expect(await page.$$eval('#step-layers .strip', (rows) => rows.map((r) => r.textContent))).toEqual(['0: Dense(784 → 64)', '1: ReLU', '2: Dense(64 → 32)', '3: ReLU', '4: Dense(32 → 10)']);
    const inked = (selector: string) =>
      page.$eval(selector, (canvas) => {
        const c = canvas as unknown as PageCanvas;
        const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250)) n++;
        return n;
      });
    expect(await inked('#step-grad-out')).toBeGreaterThan(100);
    expect(await inked('#step-grad-weight')).toBeGreaterThan(1000);
    expect(await textOf(page, 'step-grad-caption')).toMatch(/first 24 units' as 28×28 images/);
    await page.select('#grad-layer', '2');
    expect(await textOf(page, 'step-grad-caption')).toBe('d loss / d weight, 32 units (rows) × 64 inputs (columns):');
    expect(await page.$eval('#step-grad-weight', (c) => [(c as unknown as PageCanvas).width, (c as unknown as PageCanvas).height])).toEqual([384, 192]);
    await page.select('#grad-layer', '1');
    expect(await textOf(page, 'step-grad-caption')).toBe('d loss / d weight: layer 1 has no weights.');

    // The tape, laid out by Graphviz in the page: the ops of the forward pass, the parameters, the loss.
    await page.click('#tape-details summary');
    await page.waitForSelector('#tape svg', { timeout: 60_000 });
    const labels = await page.$$eval('#tape svg text', (ts) => ts.map((t) => t.textContent));
    for (const label of ['linear', 'relu', 'crossEntropy', 'x (the batch)', '0.weight', '4.bias', 'loss']) expect(labels, label).toContain(label);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it("step mode with Lion in Lookahead under a per-batch cyclic rate: each stepped batch's loss is trainStep's", async () => {
    // Lookahead synchronises after step 2 and the rate moves every batch: step 3's loss shows both.
    const { page, errors, expected } = await stepAndCompare('hidden=32&train=1000&batch=100&seed=4&optimizer=lion&lr=0.003&lookahead=2&schedule=cyclic:step=0.2', 3);
    expect(new Set(expected).size).toBe(3);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('a shared link restores the configuration, a new optimizer and schedule with their parameters included', async () => {
    const { page, errors } = await open(`${server.url}playground/`);
    await ready(page);
    const set = (p: Page, selector: string, value: string) => p.$eval(selector, (e, v) => ((e as unknown as { value: string }).value = v), value);
    await set(page, 'input[name=hidden]', '128,64,32');
    await page.select('select[name=activation]', 'tanh');
    await page.click('input[name=batchnorm]');
    await set(page, 'input[name=noise]', '0.15');
    await page.select('select[name=optimizer]', 'adabound');
    await set(page, 'input[name=lookahead]', '6');
    await set(page, 'input[name=lookaheadalpha]', '0.8');
    await page.select('select[name=schedule]', 'multistep');
    await set(page, 'input[name=schedule-at]', '1+2');
    await set(page, 'input[name=epochs]', '3');
    await page.click('#share');
    const link = await page.$eval('#share-link', (e) => (e as unknown as { value: string }).value);
    expect(new URL(link).pathname).toBe('/playground/');
    expect(new URL(link).searchParams.get('schedule')).toBe('multistep:at=1+2');
    const expected = parseConfig({
      hidden: '128,64,32', activation: 'tanh', batchnorm: '1', noise: '0.15', optimizer: 'adabound', lookahead: '6', lookaheadalpha: '0.8', schedule: 'multistep:at=1+2', epochs: '3',
    });
    expect(parseConfig(Object.fromEntries(new URL(link).searchParams))).toEqual(expected);
    await page.close();

    const shared = await open(link);
    await ready(shared.page);
    const form = await shared.page.$$eval('#config input, #config select', (els) =>
      Object.fromEntries(Array.from(els, (e) => [e.getAttribute('name'), e.type === 'checkbox' ? String((e as unknown as { checked: boolean }).checked) : (e as unknown as { value: string }).value])),
    );
    expect(form).toEqual({
      hidden: '128,64,32', activation: 'tanh', batchnorm: 'true', dropout: '0', inputdropout: '0', noise: '0.15', l2: '0', maxnorm: '0',
      optimizer: 'adabound', lr: '0.001', momentum: '', nesterov: 'false', weightdecay: '0', lookahead: '6', lookaheadalpha: '0.8',
      schedule: 'multistep', 'schedule-at': '1+2', 'schedule-gamma': '', batch: '64', epochs: '3', train: '60000', seed: '1',
    });
    expect(errors).toEqual([]);
    expect(shared.errors).toEqual([]);
    await shared.page.close();
  }, 120_000);

  /**
   * Every page over HTTP, and every internal link on it; the pages in Chromium, with their console
   * watched. The API reference's 270-odd pages come from one TypeDoc template, and each takes a second or
   * more to open on this shared machine, so Chromium opens its index, its hierarchy, its module pages
   * and the first page of each kind (class, function, interface, type, variable); all of them with
   * TAPEGRAD_SITE_FULL=1. Every page is reached from the landing page by links.
   */
  it('every page loads without a console error, and every internal link resolves', async () => {
    const origin = new URL(server.url).origin;
    const failures: string[] = [];
    const pages = new Map<string, string>(); // url -> html
    const files = new Set<string>();
    const queue = [server.url];
    while (queue.length > 0) {
      const url = queue.shift()!;
      if (pages.has(url)) continue;
      const res = await fetch(url);
      const html = await res.text();
      pages.set(url, html);
      if (!res.ok) failures.push(`${url}: HTTP ${res.status}`);
      for (const m of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
        if (m[1] === '' || /^(data|mailto|javascript):/.test(m[1])) continue;
        const u = new URL(m[1].replace(/&amp;/g, '&'), url);
        if (u.origin !== origin) continue;
        u.hash = '';
        u.search = '';
        if (u.pathname.endsWith('/') || u.pathname.endsWith('.html')) queue.push(u.href);
        else files.add(u.href);
      }
    }
    for (const file of files) {
      const res = await fetch(file, { method: 'HEAD' });
      if (!res.ok) failures.push(`${file}: HTTP ${res.status}`);
    }
    const path = (u: string) => new URL(u).pathname.replace(/^\//, '').replace(/(^|\/)$/, '$1index.html');
    expect(htmlFiles(outDir).filter((p) => ![...pages.keys()].some((u) => path(u) === p))).toEqual([]);
    expect(failures).toEqual([]);

    const all = process.env.TAPEGRAD_SITE_FULL === '1';
    const firstOfKind = new Set<string>();
    const inBrowser = [...pages.keys()].filter((u) => {
      const p = path(u);
      if (all || !p.startsWith('api/') || /^api\/(index|hierarchy)\.html$/.test(p) || p.startsWith('api/modules/')) return true;
      const kind = p.split('/')[1];
      if (firstOfKind.has(kind)) return false;
      firstOfKind.add(kind);
      return true;
    });
    const { page, errors } = await open(server.url);
    for (const url of inBrowser) {
      const res = await page.goto(url, { waitUntil: 'load' });
      // 304: the browser's cache holds it (the server said it has not changed).
      if (res === null || !(res.ok() || res.status() === 304)) failures.push(`${url}: HTTP ${res?.status()} in Chromium`);
    }
    expect(failures).toEqual([]);
    expect(errors).toEqual([]);
    console.log(`site: ${pages.size} pages and ${files.size} other files over HTTP, ${inBrowser.length} pages in Chromium`);
    await page.close();
  }, 600_000);
});
