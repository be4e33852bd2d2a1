/**
 * Takes the README's screenshots of the playground (docs/figures/playground-*.png) in headless Chromium:
 *
 *   npx tsx playground/screenshots.ts
 *
 * It builds and serves the page (cross-origin isolated), starts the default run (784-300-100-10 on all
 * 60,000 images, 10 epochs), and while it trains:
 *   playground-training.png  during epoch 3: the settings, the live chart, the weights, the test digits;
 *   playground-layers.png    there too: each hidden layer's outputs and gradients over the run so far;
 *   playground-step.png      paused there, one batch stepped: its images, each layer's outputs and the
 *                            picked layer's gradients;
 *   playground-draw.png      a digit drawn in the box and read, and the range test's curve.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildPlayground } from './build.js';
import { launchChromium } from './chromium.js';
import { servePlayground } from './server.js';

const FIGURES = fileURLToPath(new URL('../docs/figures/', import.meta.url));
mkdirSync(FIGURES, { recursive: true });

await buildPlayground();
const server = await servePlayground({ port: 0 });
const chromium = await launchChromium();
try {
  const page = await chromium.browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  page.on('console', (m) => m.type() === 'error' && console.error(`page: ${m.text()}`));
  await page.goto(`${server.url}?autostart=1`);

  // Two epochs done and a third under way: the per-epoch points and the falling curves are visible.
  await page.waitForFunction(() => /^3 \/ 10, batch ([3-9]\d\d)/.test(document.getElementById('epoch')!.textContent ?? ''), { timeout: 600_000, polling: 500 });
  await page.screenshot({ path: `${FIGURES}playground-training.png`, fullPage: false, clip: await clipOf(page, 'header', '#digits-section') });
  console.log(`wrote ${FIGURES}playground-training.png (${await text(page, 'epoch')})`);

  // The live charts draw only while in view: bring the layer chart into view and give it a redraw.
  await page.$eval('#layers-section', (e) => e.scrollIntoView({ block: 'start' }));
  await page.waitForSelector('#layer-chart canvas', { timeout: 30_000 });
  await new Promise((r) => setTimeout(r, 1500));
  await page.screenshot({ path: `${FIGURES}playground-layers.png`, clip: await clipOf(page, '#layers-section', '#layers-section') });
  console.log(`wrote ${FIGURES}playground-layers.png`);

  await page.click('#pause');
  await page.waitForFunction(() => document.getElementById('pause')!.textContent === 'Resume');
  await page.click('#step');
  await page.waitForFunction(() => /^Step /.test(document.getElementById('step-info')!.textContent ?? ''), { timeout: 60_000 });
  await page.screenshot({ path: `${FIGURES}playground-step.png`, clip: await clipOf(page, '#step-section', '#step-section') });
  console.log(`wrote ${FIGURES}playground-step.png (${await text(page, 'step-loss')})`);

  await page.click('#lr-find');
  await page.waitForFunction(() => /suggested rate/.test(document.getElementById('lr-suggestion')!.textContent ?? ''), { timeout: 120_000 });
  await page.$eval('#draw', (e) => e.scrollIntoView({ block: 'start' }));
  const box = (await (await page.$('#draw'))!.boundingBox())!;
  // A "4" in three strokes, drawn a little off-centre (the preprocessing centres it).
  const strokes: [number, number][][] = [
    [[95, 45], [80, 160], [205, 160]],
    [[175, 70], [178, 250]],
  ];
  for (const stroke of strokes) {
    await page.mouse.move(box.x + stroke[0][0], box.y + stroke[0][1]);
    await page.mouse.down();
    for (const [x, y] of stroke.slice(1)) await page.mouse.move(box.x + x, box.y + y, { steps: 25 });
    await page.mouse.up();
  }
  await page.waitForFunction(() => /^\d$/.test(document.getElementById('guess')!.textContent ?? ''));
  await new Promise((r) => setTimeout(r, 500));
  await page.screenshot({ path: `${FIGURES}playground-draw.png`, clip: await clipOf(page, '#draw-section', '#lr-section') });
  console.log(`wrote ${FIGURES}playground-draw.png (guess ${await text(page, 'guess')}; ${await text(page, 'lr-suggestion')})`);
} finally {
  await chromium.close();
  await server.close();
}

function text(page: import('puppeteer-core').Page, id: string): Promise<string> {
  return page.$eval(`#${id}`, (e) => e.textContent ?? '');
}

/** The page rectangle from the top of `from` to the bottom of `to`, full width. */
async function clipOf(page: import('puppeteer-core').Page, from: string, to: string) {
  return page.evaluate(
    (a, b) => {
      const top = document.querySelector(a)!.getBoundingClientRect().top + scrollY;
      const bottom = document.querySelector(b)!.getBoundingClientRect().bottom + scrollY;
      return { x: 0, y: Math.max(0, top - 8), width: document.documentElement.clientWidth, height: bottom - top + 16 };
    },
    from,
    to,
  );
}
