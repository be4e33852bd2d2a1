/**
 * The page's range-test chart draws the curve the suggestion is read from (the finder's centered
 * average), as `tapegrad lr-find`'s plot does, not the lagging moving average that only decides when the
 * sweep stops: its lowest point is at twice the suggested rate.
 */
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/index.js';
import { Rng } from '../../engine/index.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { SGD, type LrFinderResult } from '../../optim/index.js';
import { rangeTest } from '../../train/index.js';

// charts.ts is the page's (DOM globals, vega-embed under Bundler resolution): playground/tsconfig.json
// type-checks it, and the root config this test is under cannot, so it is imported by a name tsc does
// not follow. Its specs are plain JSON, which Node builds as the page does.
const charts = new URL('../../playground/charts.ts', import.meta.url).href;
const { lrFinderSpec } = (await import(charts)) as { lrFinderSpec: (found: LrFinderResult) => unknown };

type Row = { rate: number; loss: number } & Record<string, number>;
type Layer = { data?: { values: Row[] }; mark: { type: string }; encoding: { y: { field: string } } };

describe('playground range-test chart', () => {
  it("draws each batch's loss and the finder's centered average, whose minimum is at twice the suggested rate", () => {
    const { train } = loadDataset('iris');
    const rng = new Rng(2);
    const model = new Sequential([new Dense(4, 16, { rng }), new ReLU(), new Dense(16, 3, { rng })]);
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const found = rangeTest(model, { data: train, optimizer, start: 1e-4, end: 100, steps: 120, batchSize: 8 });

    const layers = (lrFinderSpec(found) as unknown as { layer: Layer[] }).layer;
    const points = layers.find((l) => l.mark.type === 'point')!;
    const line = layers.find((l) => l.mark.type === 'line')!;
    expect(points.data!.values.map((r) => r[points.encoding.y.field])).toEqual(found.losses);
    const curve = line.data!.values.map((r) => r[line.encoding.y.field]);
    expect(curve).toEqual(found.centered);

    const lowest = (ys: number[]) => ys.indexOf(Math.min(...ys));
    expect(found.rates[lowest(curve)] / 2).toBe(found.suggested);
    // The moving average lags, so its lowest point is elsewhere: a chart of it would not show the suggestion's reading.
    expect(lowest(found.smoothed)).not.toBe(lowest(curve));
  });
});

type Axis = { values?: number[]; minExtent?: number; format?: string };
type Enc = { type: string; title?: string; scale?: { type?: string; zero?: boolean; domain?: number[]; clamp?: boolean }; axis?: Axis };
type Panel = { layer: { mark: { clip?: boolean }; encoding: { x: Enc; y: Enc } }[] };
const { trainingSpec, epochTicks, layerSpec, layerRows } = (await import(charts)) as {
  trainingSpec: (epochs: number, first: object) => { vconcat: Panel[] };
  epochTicks: (epochs: number) => number[];
  layerSpec: (epochs: number, first: object) => { hconcat: { spec: { layer: { encoding: { y: Enc } }[] } }[] };
  layerRows: (point: { x: number; layers: { values: number[]; grads: number[] }[] }, names: string[]) => { outputs: Record<string, unknown>[]; grads: Record<string, unknown>[] };
};

describe('playground training chart', () => {
  it('the epoch axis has whole epochs (quarters for one), at most about ten ticks, ending at the last epoch', () => {
    expect(epochTicks(1)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(epochTicks(3)).toEqual([0, 1, 2, 3]);
    expect(epochTicks(10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(epochTicks(25)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 25]);
    for (let e = 1; e <= 1000; e += 37) {
      const t = epochTicks(e);
      expect(t[0]).toBe(0);
      expect(t[t.length - 1]).toBe(e);
      expect(t.length).toBeLessThanOrEqual(12);
    }
  });

  it('the loss axis reserves its labels\' width (its title stays on the canvas), and accuracy is not cut off below 0.8', () => {
    const [loss, accuracy] = trainingSpec(1, {}).vconcat;
    for (const layer of loss.layer) {
      expect(layer.encoding.y.scale!.type).toBe('log');
      expect(layer.encoding.y.axis!.minExtent).toBeGreaterThanOrEqual(40);
      expect(layer.encoding.x.axis!.values).toEqual([0, 0.25, 0.5, 0.75, 1]);
    }
    for (const layer of accuracy.layer) {
      expect(layer.encoding.y.scale).toEqual({ zero: false });
      expect(layer.encoding.y.axis!.minExtent).toBe(loss.layer[0].encoding.y.axis!.minExtent);
    }
    // The epochs' points sit on the axis's end: that layer is not clipped.
    expect(loss.layer[2].mark.clip).toBeUndefined();
  });

  it('the epoch labels read as epochs, drawn by vega: 0.25 … 1 for one epoch, 0 … 10 for ten (no "1e+1")', async () => {
    const { compile } = await import('vega-lite');
    const vega = await import('vega');
    const labels = async (epochs: number) => {
      const point = { x: 0.5, lossAvg: 1, accuracyAvg: 0.5, loss: 1, accuracy: 0.5, lr: 0.1 };
      const view = new vega.View(vega.parse(compile(trainingSpec(epochs, { batches: [point] }) as never).spec), { renderer: 'none' });
      const svg = await view.toSVG();
      view.finalize();
      // The x axes' labels: the texts of the 'epoch' axes' label groups.
      return [...svg.matchAll(/<g class="mark-text role-axis-label"[^>]*>(.*?)<\/g>/g)].map((g) => [...g[1].matchAll(/>([^<]*)<\/text>/g)].map((t) => t[1]));
    };
    const one = await labels(1);
    expect(one).toContainEqual(['0', '0.25', '0.5', '0.75', '1']);
    const ten = await labels(10);
    expect(ten).toContainEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(ten.flat()).not.toContain('1e+1');
  });

  it('both live specs compile with vega-lite, without a warning', async () => {
    const { compile } = await import('vega-lite');
    const warnings: string[] = [];
    const logger = { level: () => logger, error: (...m: unknown[]) => warnings.push(m.join(' ')), warn: (...m: unknown[]) => warnings.push(m.join(' ')), info: () => logger, debug: () => logger };
    const point = { x: 0.5, lossAvg: 1, accuracyAvg: 0.5, loss: 1, accuracy: 0.5, lr: 0.1 };
    compile(trainingSpec(3, { batches: [point] }) as never, { logger: logger as never });
    compile(layerSpec(3, layerRows({ x: 0.5, layers: [{ values: [0, 1, 2, 3, 4], grads: [1, 2, 3, 4, 5] }] }, ['h'])) as never, { logger: logger as never });
    expect(warnings).toEqual([]);
  });

  it("the layer chart: outputs on a linear axis, |gradients| on a log one, a row per hidden layer and quantile", () => {
    const [outputs, grads] = layerSpec(2, {}).hconcat;
    expect(outputs.spec.layer[0].encoding.y.scale).toEqual({ zero: false });
    expect(grads.spec.layer[0].encoding.y.scale).toEqual({ type: 'log' });
    const rows = layerRows({ x: 0.5, layers: [{ values: [0, 0, 0.1, 0.4, 1.2], grads: [0, 1e-6, 2e-6, 5e-6, 1e-5] }] }, ['hidden 1: 300 relu']);
    expect(rows.outputs).toEqual([{ x: 0.5, layer: 'hidden 1: 300 relu', q05: 0, q25: 0, q50: 0.1, q75: 0.4, q95: 1.2 }]);
    // A log axis cannot draw 0: a zero gradient quantile sits at the floor.
    expect(rows.grads[0]).toMatchObject({ q05: 1e-12, q25: 1e-6, q95: 1e-5 });
  });
});

// isolation.ts is the page's too (DOM globals); modeLine is plain text from plain values.
const { modeLine } = (await import(new URL('../../playground/isolation.ts', import.meta.url).href)) as {
  modeLine: (backend: string, threads: number, isolation: { isolated: boolean; why: string }, reason: string | null) => string;
};

describe('playground mode line', () => {
  it('says which kernels run, on how many threads, and why', () => {
    const byWorker = { isolated: true, why: "COOP/COEP added by this site's service worker" };
    const none = { isolated: false, why: 'the server sends no COOP/COEP headers' };
    expect(modeLine('wasm', 2, byWorker, null)).toBe("WebAssembly SIMD on 2 threads, cross-origin isolated (COOP/COEP added by this site's service worker).");
    expect(modeLine('wasm', 1, byWorker, null)).toBe("WebAssembly SIMD on 1 thread, cross-origin isolated (COOP/COEP added by this site's service worker).");
    expect(modeLine('wasm', 1, none, null)).toBe('WebAssembly SIMD on one thread, not cross-origin isolated: the server sends no COOP/COEP headers; a second thread needs shared memory.');
    expect(modeLine('js', 1, none, 'SIMD does not validate')).toBe(
      "JavaScript fallback (the engine's TypeScript kernels, one thread): SIMD does not validate; not cross-origin isolated: the server sends no COOP/COEP headers.",
    );
  });
});
