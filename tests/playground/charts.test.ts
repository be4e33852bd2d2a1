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
