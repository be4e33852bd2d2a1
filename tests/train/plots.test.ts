import { describe, expect, it } from 'vitest';
import type { History } from '../../train/history.js';
import { curvesSpec, lrFindSpec, renderSvg, sweepSpec, terminalChart } from '../../train/plots.js';

const history: History = [1, 2, 3].map((epoch) => ({
  epoch,
  loss: 1 / epoch,
  accuracy: 0.8 + epoch / 100,
  valLoss: 1.1 / epoch,
  valAccuracy: 0.79 + epoch / 100,
  lr: 0.1,
  seconds: 1,
  samplesPerSec: 1000,
}));

describe('plots', () => {
  it('renders training curves with both panels and both splits', async () => {
    const svg = await renderSvg(curvesSpec(history));
    expect(svg.startsWith('<svg')).toBe(true);
    for (const word of ['loss', 'accuracy', 'train', 'validation']) expect(svg).toContain(word);
  });

  it('marks the suggestion on a log-rate lr-find plot and skips non-finite losses', async () => {
    const rates = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
    const spec = lrFindSpec(rates, [2.3, 2.2, 1.5, 0.9, 1.4, NaN], 1e-3);
    expect(JSON.stringify(spec)).toContain('"type":"log"');
    const svg = await renderSvg(spec);
    expect(svg).toContain('suggested 1.00e-3');
  });

  it('draws one line per dropout rate in each of two panels', () => {
    const runs = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((rate) => ({ rate, history }));
    const spec = sweepSpec(runs) as { data: { values: Array<Record<string, unknown>> }; hconcat: unknown[] };
    expect(spec.hconcat).toHaveLength(2);
    expect(new Set(spec.data.values.map((v) => v.dropout)).size).toBe(10);
    expect(spec.data.values).toHaveLength(10 * 3 * 2);
  });

  it('draws a terminal chart once there are two epochs', () => {
    expect(terminalChart(history.slice(0, 1))).toBe('');
    const chart = terminalChart(history);
    expect(chart.split('\n').length).toBeGreaterThanOrEqual(8);
    expect(chart).toContain('validation');
  });
});
