import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../data/index.js';
import { Rng } from '../../engine/index.js';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { SGD, centeredAverage, suggest } from '../../optim/index.js';
import { rangeTest } from '../../train/index.js';
import { History } from '../../train/history.js';
import { SWEEP_SCHEME, curvesSpec, epochAxis, lrFindSpec, renderSvg, sweepSpec, terminalChart } from '../../train/plots.js';

function historyOf(epochs: number): History {
  const h = new History();
  for (let e = 1; e <= epochs; e++) {
    h.record(e - 1, { loss: 1 / e, accuracy: 0.8 + e / 100, val_loss: 1.1 / e, val_accuracy: 0.79 + e / 100, learning_rate: 0.1, seconds: 1, samples_per_sec: 1000 });
  }
  return h;
}
const history = historyOf(3);

describe('plots', () => {
  it('renders training curves with both panels and both splits', async () => {
    const svg = await renderSvg(curvesSpec(history));
    expect(svg.startsWith('<svg')).toBe(true);
    for (const word of ['loss', 'accuracy', 'train', 'validation']) expect(svg).toContain(word);
  });

  it('draws one panel per metric of the history (a regression: loss and mae), epochs from 1', () => {
    const h = new History();
    h.record(0, { loss: 0.5, mae: 0.4, val_loss: 0.6, val_mae: 0.5, learning_rate: 0.1 });
    h.record(1, { loss: 0.3, mae: 0.2, val_loss: 0.4, val_mae: 0.3, learning_rate: 0.1 });
    const spec = curvesSpec(h) as { hconcat: Array<{ title: string }>; data: { values: Array<{ epoch: number; metric: string; split: string }> } };
    expect(spec.hconcat.map((p) => p.title)).toEqual(['loss', 'mae']);
    expect(spec.data.values).toHaveLength(8);
    expect(new Set(spec.data.values.map((v) => v.epoch))).toEqual(new Set([1, 2]));
  });

  it('marks the suggestion on a log-rate lr-find plot and skips non-finite losses', async () => {
    const rates = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
    const losses = [2.3, 2.2, 1.5, 0.9, 1.4, NaN];
    const spec = lrFindSpec({ rates, losses, centered: losses, suggested: 1e-3 });
    expect(JSON.stringify(spec)).toContain('"type":"log"');
    const svg = await renderSvg(spec);
    expect(svg).toContain('suggested 1.00e-3');
    expect(svg).toContain('turns up at 1.00e-2');
  });

  it("lr-find.svg draws the raw losses and the finder's own centered curve, the marker at the suggestion, the axis down to the lowest loss", () => {
    const { train } = loadDataset('iris');
    const rng = new Rng(1);
    const model = new Sequential([new Dense(4, 16, { rng }), new ReLU(), new Dense(16, 3, { rng })]);
    const result = rangeTest(model, { data: train, batchSize: 8, optimizer: new SGD(model.parameters(), { lr: 0.1 }), start: 1e-5, end: 10, steps: 100 });
    // The curve the suggestion comes from is the one returned (and so the one drawn).
    expect(suggest(result.rates, result.centered).halfTurn).toBe(result.suggested);
    expect(result.centered).toEqual(centeredAverage(result.losses, Math.max(2, Math.round(result.losses.length * 0.03))));

    type Layer = { data: { values: Array<Record<string, number | string>> }; transform?: Array<{ filter: { equal: string } }>; mark: { type: string }; encoding: { y?: { scale?: { domain?: number[] } } } };
    const spec = lrFindSpec(result) as { layer: Layer[] };
    const line = (name: RegExp) => spec.layer.find((l) => l.mark.type === 'line' && name.test(l.transform![0].filter.equal))!;
    const curve = (l: Layer) => l.data.values.filter((v) => v.curve === l.transform![0].filter.equal).map((v) => v.loss);
    expect(curve(line(/each batch/))).toEqual(result.losses);
    expect(curve(line(/centered/))).toEqual(result.centered);
    const rule = spec.layer.find((l) => l.mark.type === 'rule')!;
    expect(rule.data.values[0].lr).toBe(result.suggested);
    expect(rule.data.values[0].label).toBe(`suggested ${result.suggested.toExponential(2)}`);
    // Where the centered average is lowest: twice the suggestion.
    const point = spec.layer.find((l) => l.mark.type === 'point')!;
    expect(point.data.values[0].lr).toBeCloseTo(2 * result.suggested, 12);
    expect(point.data.values[0].loss).toBe(Math.min(...result.centered));
    const domain = line(/centered/).encoding.y!.scale!.domain!;
    expect(domain[0]).toBe(Math.min(...result.losses, ...result.centered));
    expect(domain[1]).toBeGreaterThanOrEqual(Math.max(...result.losses.slice(0, 10)));
  });

  it('epoch axes have whole-number ticks only, every epoch up to 12, round steps beyond', () => {
    expect(epochAxis(1).axis.values).toEqual([1]);
    expect(epochAxis(2).axis.values).toEqual([1, 2]);
    expect(epochAxis(12).axis.values).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(epochAxis(37).axis.values).toEqual([1, 5, 10, 15, 20, 25, 30, 35]);
    expect(epochAxis(100).axis.values).toEqual([1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(epochAxis(3000).axis.values).toEqual([1, 250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2250, 2500, 2750, 3000]);
    for (const n of [1, 2, 3, 7, 13, 50, 99, 501, 12345]) {
      const { values } = epochAxis(n).axis as { values: number[] };
      expect(values.every(Number.isInteger), String(n)).toBe(true);
      expect(values.length).toBeLessThanOrEqual(13);
      expect(Math.max(...values)).toBeLessThanOrEqual(n);
    }
    const spec = JSON.stringify(curvesSpec(historyOf(2)));
    expect(spec).toContain('"values":[1,2]');
    expect(JSON.stringify(sweepSpec([{ rate: 0, history: historyOf(2) }]))).toContain('"values":[1,2]');
  });

  it('a 2-epoch curves.svg has no fractional epoch tick, and huge losses get short labels', async () => {
    const h = new History();
    h.record(0, { loss: 2.4999999999999997e29, accuracy: 0.3, val_loss: 1e30, val_accuracy: 0.3 });
    h.record(1, { loss: 1.2e29, accuracy: 0.31, val_loss: 5e29, val_accuracy: 0.3 });
    const svg = await renderSvg(curvesSpec(h));
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toContain('1');
    expect(labels).toContain('2');
    for (const tick of ['1.2', '1.4', '1.5', '1.6', '1.8', '0.5']) expect(labels).not.toContain(tick);
    expect(labels.some((l) => /e\+29$/.test(l))).toBe(true);
    for (const l of labels.filter((t) => /^[\d.e+-]+$/.test(t))) expect(l.length, l).toBeLessThanOrEqual(8);
    expect(svg).not.toContain('2.4999999999999997e+29');
  });

  it('a sweep colours its rates in their order, on a scale without the pale yellow end', () => {
    const runs = [0.9, 0, 0.5, 0.05].map((rate) => ({ rate, history: historyOf(2) }));
    const spec = sweepSpec(runs) as { hconcat: Array<{ encoding: { color: { type: string; scale: { domain: string[]; scheme: unknown } } } }> };
    const color = spec.hconcat[0].encoding.color;
    expect(color.type).toBe('ordinal');
    expect(color.scale.domain).toEqual(['0', '0.05', '0.5', '0.9']);
    expect(color.scale.scheme).toEqual(SWEEP_SCHEME);
    expect(SWEEP_SCHEME.extent[1]).toBeLessThan(0.9);
  });

  it('draws one line per dropout rate in each of two panels', () => {
    const runs = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((rate) => ({ rate, history }));
    const spec = sweepSpec(runs) as { data: { values: Array<Record<string, unknown>> }; hconcat: unknown[] };
    expect(spec.hconcat).toHaveLength(2);
    expect(new Set(spec.data.values.map((v) => v.dropout)).size).toBe(10);
    expect(spec.data.values).toHaveLength(10 * 3 * 2);
  });

  it('draws a terminal chart once there are two epochs', () => {
    expect(terminalChart(historyOf(1))).toBe('');
    const chart = terminalChart(history);
    expect(chart.split('\n').length).toBeGreaterThanOrEqual(8);
    expect(chart).toContain('validation');
  });
});
