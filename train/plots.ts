/**
 * Training plots as SVG: vega-lite specs (a few lines of JSON each, easy to read and to change),
 * compiled to vega and rendered headless with `renderer: 'none'` — no browser, no canvas package.
 * The spec builders are pure; only `renderSvg` loads vega, lazily, because importing it costs about
 * a second and most commands (and every argument error) never draw anything. vega and vega-lite are
 * optional peer dependencies of the package (27 MB that a library user who never plots should not
 * install): without them `renderSvg` throws a MissingPackageError naming both.
 *
 * The specs are plain JSON and work anywhere (a page draws them with vega-embed); `renderSvg`,
 * `requirePlotPackages` and the terminal chart are Node only (node.ts), and a page's bundle holds
 * neither vega nor asciichart: both are loaded by a name the bundler does not follow.
 */
import { optionalPackages } from '../data/index.js';
import type { History } from './history.js';
import { nodeModule, requirePackage } from './node.js';

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

/**
 * The epoch axis: whole epochs only, counted from 1 as the per-epoch lines print them. Every epoch up
 * to 12, then multiples of a round step (2, 5, 10, 20, 25, 50...) keeping about ten ticks. vega's own
 * ticks would split a 2-epoch run into 1.0, 1.2, 1.4...; `tickMinStep` does not stop it.
 */
export function epochAxis(lastEpoch: number): {
  /** The x encoding's vega-lite `scale`: the domain [1, last epoch] ([0.5, 1.5] for one epoch), not rounded out, not from zero. */
  scale: Record<string, unknown>;
  /** The x encoding's vega-lite `axis`: those tick values, as integers, titled 'epoch'. */
  axis: Record<string, unknown>;
} {
  const last = Math.max(1, Math.round(lastEpoch));
  let values: number[];
  if (last <= 12) {
    values = Array.from({ length: last }, (_, i) => i + 1);
  } else {
    const steps = [2, 5, 10, 20, 25, 50];
    let step = steps.find((s) => last / s <= 12);
    for (let scale = 100; step === undefined; scale *= 10) step = [1, 2, 2.5, 5].map((s) => s * scale).find((s) => last / s <= 12);
    values = [1];
    for (let v = step; v <= last; v += step) values.push(v);
  }
  // One epoch alone still needs a span for a scale to have a width.
  const domain = last === 1 ? [0.5, 1.5] : [1, last];
  return { scale: { domain, nice: false, zero: false }, axis: { values, format: 'd', title: 'epoch' } };
}

/**
 * Tick labels that stay short whatever the magnitude: 4 significant digits, trailing zeros dropped
 * (0.9812, 0.05, 2.5e+29 instead of 2.4999999999999997e+29). d3-format's syntax, which vega uses.
 */
export const VALUE_FORMAT = '.4~g';

/** curves.svg: the loss and each metric side by side, train and validation as two colours, per epoch. */
export function curvesSpec(history: History, title = 'Training curves'): VegaLiteSpec {
  const rows = curveRows(history);
  const x = epochAxis(Math.max(1, ...rows.map((r) => r.epoch)));
  const panel = (metric: string) => ({
    title: metric,
    width: 320,
    height: 220,
    transform: [{ filter: `datum.metric === '${metric}'` }],
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', scale: x.scale, axis: x.axis },
      y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false }, axis: { format: VALUE_FORMAT } },
      color: { field: 'split', type: 'nominal', title: null },
    },
  });
  return {
    $schema: SCHEMA,
    title,
    data: { values: rows },
    hconcat: curveMetrics(history).map(panel),
  };
}

/** What lr-find.svg draws: the range test's result (optim's `LrFinderResult` has these fields). */
export interface LrFindPlot {
  /** The rate of each batch. */
  rates: readonly number[];
  /** Each batch's raw loss. */
  losses: readonly number[];
  /** The centered average of the losses, which the suggestion is read from. */
  centered: readonly number[];
  /** The suggested rate: half the rate at the centered average's minimum. */
  suggested?: number;
}

const RAW = 'loss of each batch';
const CENTERED = 'centered average: the suggestion is read from it';

/**
 * lr-find.svg (Smith 2015's range test): against the learning rate on a log axis, the raw loss of each
 * batch (thin, grey) and the centered average that the suggestion is computed from (optim's
 * `findLearningRate` reads its suggestions from it, not from the lagging moving average); a point where
 * that average is lowest ("turns up at", the rate the suggestion halves) and a dashed rule at the
 * suggested rate, each labelled with its rate as the text output prints it. The loss axis runs from the lowest loss
 * to the larger of the first loss and 4× the lowest average (the range test's own stop rule): the last
 * steps of a diverging run reach 1e29 and would otherwise flatten the interesting part of the curve.
 */
export function lrFindSpec(result: LrFindPlot): VegaLiteSpec {
  const { rates, losses, centered, suggested } = result;
  const values: Array<{ lr: number; loss: number; curve: string }> = [];
  let m = -1;
  for (let i = 0; i < rates.length; i++) {
    if (!(rates[i] > 0)) continue;
    if (Number.isFinite(losses[i])) values.push({ lr: rates[i], loss: losses[i], curve: RAW });
    if (Number.isFinite(centered[i])) {
      values.push({ lr: rates[i], loss: centered[i], curve: CENTERED });
      if (m < 0 || centered[i] < centered[m]) m = i;
    }
  }
  const domain = lossDomain(losses, centered, m);
  // Ticks and grid lines at the powers of ten only: a log axis's minor lines would crowd the curve.
  const finiteRates = rates.filter((r) => r > 0 && Number.isFinite(r));
  const decades: number[] = [];
  if (finiteRates.length > 0) {
    for (let e = Math.floor(Math.log10(Math.min(...finiteRates))); e <= Math.ceil(Math.log10(Math.max(...finiteRates))); e++) decades.push(Number(`1e${e}`));
  }
  const x = { field: 'lr', type: 'quantitative', scale: { type: 'log' }, title: 'learning rate (log scale)', axis: { format: '.0e', values: decades } };
  const y = { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false, domain, nice: false }, axis: { format: VALUE_FORMAT } };
  // The two curves share one colour scale (through `datum`), which gives them one legend.
  const colors = { domain: [RAW, CENTERED], range: ['#a8a8a8', '#1f5f9f'] };
  const curve = (name: string, strokeWidth: number) => ({
    data: { values },
    transform: [{ filter: { field: 'curve', equal: name } }],
    mark: { type: 'line', clip: true, strokeWidth },
    encoding: { x, y, color: { datum: name, type: 'nominal', title: null, scale: colors, legend: { orient: 'bottom', labelLimit: 400 } } },
  });
  const layers: unknown[] = [curve(RAW, 1), curve(CENTERED, 2.5)];
  if (m >= 0) {
    const turn = { lr: rates[m], loss: centered[m], label: `turns up at ${rates[m].toExponential(2)}` };
    layers.push({ data: { values: [turn] }, mark: { type: 'point', filled: true, size: 60, color: '#1f5f9f' }, encoding: { x: { field: 'lr', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative' } } });
    layers.push({
      data: { values: [turn] },
      mark: { type: 'text', align: 'left', dx: 6, dy: 12, color: '#1f5f9f' },
      encoding: { x: { field: 'lr', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative' }, text: { field: 'label' } },
    });
  }
  if (suggested !== undefined && Number.isFinite(suggested)) {
    const mark = { data: { values: [{ lr: suggested, label: `suggested ${suggested.toExponential(2)}` }] } };
    layers.push({ ...mark, mark: { type: 'rule', color: 'firebrick', strokeDash: [4, 3] }, encoding: { x: { field: 'lr', type: 'quantitative' } } });
    layers.push({
      ...mark,
      mark: { type: 'text', align: 'right', dx: -4, dy: 4, color: 'firebrick', baseline: 'top' },
      encoding: { x: { field: 'lr', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    });
  }
  return { $schema: SCHEMA, title: 'Learning-rate range test', width: 480, height: 300, layer: layers };
}

/**
 * From the lowest loss drawn to the larger of the highest loss before the average's minimum (index m)
 * and 4× that minimum: all of the descent shows, and the explosion after it leaves the top.
 */
function lossDomain(losses: readonly number[], centered: readonly number[], m: number): [number, number] | undefined {
  const drawn = [...losses, ...centered].filter(Number.isFinite);
  if (drawn.length === 0) return undefined;
  const low = Math.min(...drawn);
  const before = m < 0 ? drawn : [...losses.slice(0, m + 1), ...centered.slice(0, m + 1)].filter(Number.isFinite);
  const high = Math.min(Math.max(...drawn), Math.max(...before, m < 0 ? -Infinity : 4 * centered[m]));
  return high > low ? [low, high] : undefined;
}

/** One training run of a sweep: the swept value and the run's per-epoch history. */
export interface SweepRun {
  /** The swept value (a dropout rate; `sweepSpec`'s `label` names it): one line and one colour per rate. */
  rate: number;
  /** The run's history; its `accuracy` and `val_accuracy` are plotted. */
  history: History;
}

/**
 * The sweep's colours: an ordered scale (the rates are ordered, so their colours should be too), viridis
 * from dark purple through blue and teal to green, without its last, pale-yellow part, which vanishes
 * on a white page. Viridis changes hue all along (plasma's first half is all purples), so ten rates get
 * ten steps a reader can tell apart, also in grey and for the common colour blindnesses.
 */
export const SWEEP_SCHEME = {
  /** vega's name of the colour scheme. */
  name: 'viridis',
  /** The part of the scheme used, from 0 to 1: it stops before the pale yellow. */
  extent: [0, 0.85],
};

/**
 * sweep.svg: the two figures of reference article 001's dropout study — training accuracy and
 * validation accuracy per epoch, one line per dropout rate, coloured in the rates' order.
 */
export function sweepSpec(runs: readonly SweepRun[], label = 'dropout'): VegaLiteSpec {
  const values = [];
  let lastEpoch = 1;
  for (const run of runs) {
    const key = String(run.rate);
    const { accuracy, val_accuracy: valAccuracy } = run.history.history;
    for (let i = 0; i < run.history.length; i++) {
      const epoch = run.history.epoch[i] + 1;
      lastEpoch = Math.max(lastEpoch, epoch);
      if (accuracy !== undefined && Number.isFinite(accuracy[i])) values.push({ epoch, [label]: key, split: 'train', accuracy: accuracy[i] });
      if (valAccuracy !== undefined && Number.isFinite(valAccuracy[i])) values.push({ epoch, [label]: key, split: 'validation', accuracy: valAccuracy[i] });
    }
  }
  const order = [...new Set(runs.map((r) => r.rate))].sort((a, b) => a - b).map(String);
  const x = epochAxis(lastEpoch);
  const panel = (split: string) => ({
    title: `${split} accuracy`,
    width: 320,
    height: 240,
    transform: [{ filter: `datum.split === '${split}'` }],
    mark: 'line',
    encoding: {
      x: { field: 'epoch', type: 'quantitative', scale: x.scale, axis: x.axis },
      y: { field: 'accuracy', type: 'quantitative', scale: { zero: false }, axis: { format: VALUE_FORMAT } },
      color: { field: label, type: 'ordinal', title: `${label} rate`, scale: { domain: order, scheme: SWEEP_SCHEME } },
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

/**
 * Throws a MissingPackageError unless vega and vega-lite are installed (commands whose output is a plot
 * check first). Node only.
 */
export function requirePlotPackages(): void {
  checkPlotPackages('requirePlotPackages');
}

function checkPlotPackages(op: string): void {
  nodeModule('node:module', op, 'plots');
  optionalPackages(PLOT_PACKAGES, 'The SVG plots');
}

/**
 * `import(name)` with the name in a variable: Node resolves it when it runs, and a bundler, which
 * follows only literal names, leaves vega (megabytes that only the command line draws with) out of a
 * page's bundle. The comments tell webpack and Vite so, which would otherwise warn that they cannot
 * follow it ("Critical dependency: the request of a dependency is an expression"); the build keeps
 * comments for them (tsconfig.build.json). vega 6 is an ES module with top-level await, so `require`
 * (requirePackage) cannot load it.
 */
const importByName = (name: string): Promise<unknown> => import(/* webpackIgnore: true */ /* @vite-ignore */ name);

/** Compiles a vega-lite spec and renders it to an SVG string, headless. Node only. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  checkPlotPackages('renderSvg');
  const [vega, vegaLite] = (await Promise.all(PLOT_PACKAGES.map(importByName))) as [typeof import('vega'), typeof import('vega-lite')];
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
 * drawn with asciichart. Returns '' with fewer than two epochs, where a line says nothing. Node only.
 */
export function terminalChart(history: History, height = 8, width = 60): string {
  // Loaded through require: asciichart is CommonJS and exports a colour named `default`, which
  // confuses ESM interop about what the default export is. (First, so a page fails whatever the history.)
  const asciichart = requirePackage<typeof import('asciichart')>('asciichart', 'terminalChart', 'chart');
  if (history.length < 2) return '';
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
