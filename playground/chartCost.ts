/**
 * What the live charts cost the training: samples/s over an epoch with the charts on and off, in
 * headless Chromium, interleaved (on, off, off, on, ...) so that the machine's load falls on both alike.
 *
 *   npx tsx playground/chartCost.ts                 # 3 rounds of one epoch of 60,000 images each way
 *   npx tsx playground/chartCost.ts --rounds 5 --train 20000 --no-isolation
 *
 * Training runs in the page's worker; the charts redraw on the page's thread (charts.ts LiveChart: at
 * most every 250 ms, on an animation frame), so what they take from training is a share of the cores.
 * Prints each run, then the medians and their ratio, and how many redraws the page made and their time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPlayground } from './build.js';
import { launchChromium } from './chromium.js';
import { servePlayground } from './server.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    train: { type: 'string', default: '60000' },
    'no-isolation': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const train = Number(values.train);

// The page's globals the callbacks below read (this file is type-checked without the DOM library).
declare const document: { getElementById(id: string): { textContent: string | null; dataset: Record<string, string | undefined> } | null };

const outDir = mkdtempSync(join(tmpdir(), 'tapegrad-chart-cost-'));
await buildPlayground(outDir);
const server = await servePlayground({ port: 0, bundleDir: outDir, isolate: !values['no-isolation'] });
const chromium = await launchChromium();
const runs: { charts: boolean; samplesPerSecond: number; draws: number; drawMs: number }[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    for (const charts of r % 2 === 0 ? [true, false] : [false, true]) {
      const page = await chromium.browser.newPage();
      await page.setViewport({ width: 1280, height: 1000 });
      await page.goto(`${server.url}?autostart=1&epochs=1&train=${train}&charts=${charts ? 1 : 0}`);
      await page.waitForFunction(() => /^(done|error)/.test(document.getElementById('status')!.textContent ?? ''), { timeout: 900_000, polling: 500 });
      const cell = await page.$eval('#epochs tbody tr td:last-child', (e) => e.textContent ?? '');
      const { draws, drawMs } = await page.evaluate(() => {
        const d = document.getElementById('chart')!.dataset;
        return { draws: Number(d.draws ?? 0), drawMs: Number(d.drawMs ?? 0) };
      });
      const backend = await page.$eval('#backend', (e) => e.textContent);
      const run = { charts, samplesPerSecond: Number(cell.replace(/,/g, '')), draws, drawMs };
      runs.push(run);
      console.log(`round ${r + 1}, charts ${charts ? 'on ' : 'off'}: ${run.samplesPerSecond.toLocaleString('en')} samples/s (${backend}), ${draws} redraws taking ${drawMs} ms on the page's thread`);
      await page.close();
    }
  }
} finally {
  await chromium.close();
  await server.close();
  rmSync(outDir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const on = median(runs.filter((r) => r.charts).map((r) => r.samplesPerSecond));
const off = median(runs.filter((r) => !r.charts).map((r) => r.samplesPerSecond));
console.log(`median samples/s: charts on ${on.toLocaleString('en')}, off ${off.toLocaleString('en')}; on/off ${(on / off).toFixed(3)} (${train.toLocaleString('en')} images an epoch, ${rounds} rounds)`);
