/**
 * Training plots as SVG: vega-lite specs (a few lines of JSON each, easy to read and to change),
 * compiled to vega and rendered headless with `renderer: 'none'` — no browser, no canvas package.
 * The spec builders are pure; only `renderSvg` loads vega, lazily, because importing it costs about
 * a second and most commands (and every argument error) never draw anything. vega and vega-lite are
 * optional peer dependencies of the package (27 MB that a library user who never plots should not
 * install): without them `renderSvg` throws a MissingPackageError naming both.
 */
import { createRequire } from 'node:module';
import { optionalPackages } from '../data/index.js';
import type { History } from './history.js';

/** A vega-lite specification (kept loose: vega-lite's own types are large and add nothing here). */
export type VegaLiteSpec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Log names that are not a curve of their own. */
const NOT_CURVES = new Set(['learning_rate', 'seconds', 'samples_per_sec']);

/** The metrics to draw: 'loss' and each training metric (accuracy, mae...), in the history's order. */
function curveMetrics(history: History): string[] {
  return Object.keys(history.history).filter((k) => !k.startsWith('val_') && !NOT_CURVES.has(k));
}

/**
 * Long-format rows, one per (epoch, metric, split): the shape vega-lite's `color` encoding wants. Epochs
 * are drawn from 1, as the per-epoch lines print them (the history counts from 0).
 */
function curveRows(history: History): Array<{ epoch: number; metric: string; split: string; value: number }> {
  const rows = [];
  for (const metric of curveMetrics(history)) {
    for (const [split, name] of [['train', metric], ['validation', `val_${metric}`]]) {
      const column = history.history[name];
      if (column === undefined) continue;
      for (let i = 0; i < history.length; i++) rows.push({ epoch: history.epoch[i] + 1, metric, split, value: column[i] });
    }
  }
  // NaN or Infinity would break the scales; a diverged epoch is simply not drawn.
  return rows.filter((r) => Number.isFinite(r.value));
}

/** curves.svg: the loss and each metric side by side, train and validation as two colours, per epoch. */
export function curvesSpec(history: History, title = 'Training curves'): VegaLiteSpec {
  const panel = (metric: string) => ({
    title: metric,
    width: 320,
    height: 220,
    transform: [{ filter: `datum.metric === '${metric}'` }],
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
      color: { field: 'split', type: 'nominal', title: null },
    },
  });
  return {
    $schema: SCHEMA,
    title,
    data: { values: curveRows(history) },
    hconcat: curveMetrics(history).map(panel),
  };
}

/**
 * lr-find.svg: smoothed loss against the learning rate on a log axis (Smith 2015's range test),
 * with the suggested rate drawn as a vertical rule. The loss axis stops at the larger of the first
 * loss and 4× the minimum (the range test's own stop rule): the last steps of a diverging run reach
 * 1e29 and would otherwise flatten the whole interesting part of the curve into the floor.
 */
export function lrFindSpec(rates: readonly number[], losses: readonly number[], suggestion?: number): VegaLiteSpec {
  const values = [];
  for (let i = 0; i < rates.length; i++) {
    if (Number.isFinite(losses[i]) && rates[i] > 0) values.push({ lr: rates[i], loss: losses[i] });
  }
  const layers: unknown[] = [
    {
      data: { values },
      mark: 'line',
      encoding: {
        x: { field: 'lr', type: 'quantitative', scale: { type: 'log' }, title: 'learning rate (log scale)' },
        y: { field: 'loss', type: 'quantitative', title: 'smoothed loss', scale: { zero: false, domain: lossDomain(values), clamp: true } },
      },
    },
  ];
  if (suggestion !== undefined && Number.isFinite(suggestion)) {
    const mark = { data: { values: [{ lr: suggestion, label: `suggested ${suggestion.toExponential(2)}` }] } };
    layers.push({ ...mark, mark: { type: 'rule', color: 'firebrick', strokeDash: [4, 3] }, encoding: { x: { field: 'lr', type: 'quantitative' } } });
    layers.push({
      ...mark,
      mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'firebrick', baseline: 'top' },
      encoding: { x: { field: 'lr', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    });
  }
  return { $schema: SCHEMA, title: 'Learning-rate range test', width: 480, height: 300, layer: layers };
}

function lossDomain(values: readonly { loss: number }[]): [number, number] | undefined {
  if (values.length === 0) return undefined;
  const low = Math.min(...values.map((v) => v.loss));
  const high = Math.min(Math.max(...values.map((v) => v.loss)), Math.max(values[0].loss, 4 * low));
  return high > low ? [low, high] : undefined;
}

/** One training run of a sweep: the swept value and the run's per-epoch history. */
export interface SweepRun {
  rate: number;
  history: History;
}

/**
 * sweep.svg: the two figures of reference article 001's dropout study — training accuracy and
 * validation accuracy per epoch, one line per dropout rate.
 */
export function sweepSpec(runs: readonly SweepRun[], label = 'dropout'): VegaLiteSpec {
  const values = [];
  for (const run of runs) {
    const key = String(run.rate);
    const { accuracy, val_accuracy: valAccuracy } = run.history.history;
    for (let i = 0; i < run.history.length; i++) {
      const epoch = run.history.epoch[i] + 1;
      if (accuracy !== undefined && Number.isFinite(accuracy[i])) values.push({ epoch, [label]: key, split: 'train', accuracy: accuracy[i] });
      if (valAccuracy !== undefined && Number.isFinite(valAccuracy[i])) values.push({ epoch, [label]: key, split: 'validation', accuracy: valAccuracy[i] });
    }
  }
  const panel = (split: string) => ({
    title: `${split} accuracy`,
    width: 320,
    height: 240,
    transform: [{ filter: `datum.split === '${split}'` }],
    mark: 'line',
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
      y: { field: 'accuracy', type: 'quantitative', scale: { zero: false } },
      color: { field: label, type: 'ordinal', title: `${label} rate`, scale: { scheme: 'viridis' } },
    },
  });
  return {
    $schema: SCHEMA,
    title: `Accuracy by ${label} rate`,
    data: { values },
    hconcat: [panel('train'), panel('validation')],
  };
}

const PLOT_PACKAGES = ['vega', 'vega-lite'];

/** Throws a MissingPackageError unless vega and vega-lite are installed (commands whose output is a plot check first). */
export function requirePlotPackages(): void {
  optionalPackages(PLOT_PACKAGES, 'The SVG plots');
}

/** Compiles a vega-lite spec and renders it to an SVG string, headless. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  requirePlotPackages();
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  // vega-lite's TopLevelSpec type is a deep union; our specs are plain JSON checked by the tests.
  const compiled = vegaLite.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * A small terminal chart of the per-epoch loss (train and validation) for the end of `train`,
 * drawn with asciichart. Returns '' with fewer than two epochs, where a line says nothing.
 */
export function terminalChart(history: History, height = 8, width = 60): string {
  if (history.length < 2) return '';
  // Loaded through require: asciichart is CommonJS and exports a colour named `default`, which
  // confuses ESM interop about what the default export is.
  const asciichart = createRequire(import.meta.url)('asciichart') as typeof import('asciichart');
  const train = (history.history.loss ?? []).filter(Number.isFinite);
  const val = (history.history.val_loss ?? []).filter(Number.isFinite);
  // asciichart draws one column per value; stretch the curves to `width` columns so ten epochs read as
  // a curve rather than ten dots (linear interpolation between epochs).
  const stretch = (ys: number[]): number[] => {
    const n = Math.max(ys.length, Math.min(width, 6 * ys.length));
    return Array.from({ length: n }, (_, i) => {
      const t = (i * (ys.length - 1)) / (n - 1);
      const k = Math.min(Math.floor(t), ys.length - 2);
      return ys[k] + (ys[k + 1] - ys[k]) * (t - k);
    });
  };
  const series = (val.length === train.length ? [train, val] : [train]).map(stretch);
  const colors = [asciichart.blue, asciichart.green];
  const chart = asciichart.plot(series, { height, colors: colors.slice(0, series.length), format: (x: number) => x.toFixed(4).padStart(8) });
  const legend = `  loss over ${history.length} epochs: ${series.length === 2 ? 'blue = train, green = validation' : 'train'}`;
  return `${chart}\n${legend}`;
}
