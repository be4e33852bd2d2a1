import { describe, expect, it } from 'vitest';
import { History } from '../../train/history.js';
import { curvesSpec, lrFindSpec, renderSvg, sweepSpec, terminalChart } from '../../train/plots.js';

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
    expect(terminalChart(historyOf(1))).toBe('');
    const chart = terminalChart(history);
    expect(chart.split('\n').length).toBeGreaterThanOrEqual(8);
    expect(chart).toContain('validation');
  });
});
