/**
 * The page's charts, as Vega-Lite specs drawn by vega-embed on canvases. The live ones (the training
 * curves and the hidden layers over time) are `LiveChart`s: embedded when their first rows arrive, with
 * named data sets that later rows are inserted into (vega re-renders in place instead of rebuilding),
 * and redrawn at most every REDRAW_MS, on an animation frame, while they are switched on. Training runs
 * in the worker, so a redraw never stops it; what a redraw costs is the page's own thread and a share
 * of the two cores (measured: playground/chartCost.ts).
 *
 * `ast: true` makes vega interpret its expressions instead of compiling them with `new Function`, so the
 * page runs under the server's content-security policy (script-src 'self', no 'unsafe-eval').
 */
import embed, { type Result } from 'vega-embed';
import type { TopLevelSpec } from 'vega-lite';
import type { EpochPoint, LayerPoint } from './protocol.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const EMBED = { renderer: 'canvas', actions: false, ast: true } as const;
const PANEL_WIDTH = 600;
/** The y axes' reserved width (labels and title), so that a label that grows ("0.002") never pushes the title off the canvas. */
const Y_AXIS_EXTENT = 48;
/** Least time between two redraws of one live chart. */
const REDRAW_MS = 500;
/** Most batch points the training chart draws per line: two per pixel of its width (more are invisible, and cost redraw time). */
export const MAX_BATCH_POINTS = 2 * PANEL_WIDTH;

/** One colour scale for every layer of both panels, so both share a legend and keep their colours. */
const SERIES = ['batch', 'batch, moving average', 'epoch: train', 'epoch: test'];
const COLORS = ['#9ecae9', '#1f77b4', '#ff7f0e', '#d62728'];
const color = (datum?: string) =>
  datum === undefined
    ? { field: 'split', type: 'nominal' as const, scale: { domain: SERIES, range: COLORS }, title: null }
    : { datum, scale: { domain: SERIES, range: COLORS }, title: null };

/**
 * The epoch axis: whole epochs as ticks (at most about ten of them), quarters for a run of one epoch,
 * so that the labels never run into each other (at one epoch vega's own choice was every 0.05).
 */
export function epochTicks(epochs: number): number[] {
  if (epochs <= 1) return [0, 0.25, 0.5, 0.75, 1];
  const every = Math.ceil(epochs / 10);
  const ticks: number[] = [];
  for (let e = 0; e <= epochs; e += every) ticks.push(e);
  if (ticks[ticks.length - 1] !== epochs) ticks.push(epochs);
  return ticks;
}

function epochAxis(epochs: number) {
  return { type: 'quantitative' as const, title: 'epoch', scale: { domain: [0, epochs] }, axis: { values: epochTicks(epochs), format: epochs <= 1 ? '.2~f' : 'd', labelFlush: true } };
}

function panel(field: 'loss' | 'accuracy', epochs: number): object {
  const avg = field === 'loss' ? 'lossAvg' : 'accuracyAvg';
  const x = epochAxis(epochs);
  // Loss falls by two orders of magnitude, so a log axis keeps the late epochs readable. Accuracy's axis
  // follows the data (zero: false), from the first batches' 0.1 up: nothing is cut off.
  const y =
    field === 'loss'
      ? { type: 'quantitative' as const, title: 'loss (log)', scale: { type: 'log' as const }, axis: { minExtent: Y_AXIS_EXTENT, labelOverlap: 'greedy' } }
      : { type: 'quantitative' as const, title: 'accuracy', scale: { zero: false }, axis: { minExtent: Y_AXIS_EXTENT, format: '.2f' } };
  return {
    width: PANEL_WIDTH,
    height: 170,
    layer: [
      {
        data: { name: 'batches' },
        mark: { type: 'line', strokeWidth: 1, clip: true },
        encoding: { x: { ...x, field: 'x' }, y: { ...y, field }, color: color('batch') },
      },
      {
        data: { name: 'batches' },
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: { x: { ...x, field: 'x' }, y: { ...y, field: avg }, color: color('batch, moving average') },
      },
      {
        // Not clipped: the last epoch's points sit on the axis's end and would be cut in half.
        data: { name: 'epochs' },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: { x: { ...x, field: 'epoch' }, y: { ...y, field }, color: color() },
      },
    ],
  };
}

/** The live chart: loss above accuracy, per batch (raw and averaged) and per epoch (train and test). */
export function trainingSpec(epochs: number, first: { batches?: object[]; epochs?: object[] }): TopLevelSpec {
  return {
    $schema: SCHEMA,
    // Named data sets, shared by both panels: vega keeps these names, so later rows are inserted into
    // them. The first rows come with the spec (an empty data set has no extent, and vega warns).
    datasets: { batches: first.batches ?? [], epochs: first.epochs ?? [] },
    vconcat: [panel('loss', epochs), panel('accuracy', epochs)],
    config: { legend: { orient: 'bottom' } },
  } as TopLevelSpec;
}

/** An epoch's train and test numbers as the two rows of the training chart's 'epochs' data set. */
export function epochRows(e: EpochPoint): object[] {
  return [
    { epoch: e.epoch, split: 'epoch: train', loss: e.trainLoss, accuracy: e.trainAccuracy },
    { epoch: e.epoch, split: 'epoch: test', loss: e.testLoss, accuracy: e.testAccuracy },
  ];
}

/** The rows of the layer chart's two data sets from one measurement: a row per hidden layer and quantity. */
export function layerRows(point: LayerPoint, names: readonly string[]): { outputs: object[]; grads: object[] } {
  const row = (layer: number, q: number[]) => ({ x: point.x, layer: names[layer] ?? `hidden ${layer + 1}`, q05: q[0], q25: q[1], q50: q[2], q75: q[3], q95: q[4] });
  return {
    outputs: point.layers.map((l, k) => row(k, l.values)),
    // A log axis cannot show 0: a gradient quantile of exactly 0 (a dead unit's) is drawn at the floor.
    grads: point.layers.map((l, k) => row(k, l.grads.map((g) => Math.max(g, 1e-12)))),
  };
}

function bands(dataset: 'outputs' | 'grads', epochs: number, title: string, log: boolean): object {
  const x = { ...epochAxis(epochs), field: 'x' };
  // Gradients span many decades: powers of ten as 1e-6, a few of them.
  const axis = log ? { minExtent: Y_AXIS_EXTENT, format: '.0e', tickCount: 4 } : { minExtent: Y_AXIS_EXTENT };
  const y = { type: 'quantitative' as const, title, ...(log ? { scale: { type: 'log' as const } } : { scale: { zero: false } }), axis };
  return {
    data: { name: dataset },
    facet: { row: { field: 'layer', type: 'nominal', title: null, sort: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } } },
    spec: {
      width: 270,
      height: 90,
      layer: [
        { mark: { type: 'area', opacity: 0.25, color: '#1f77b4', clip: true }, encoding: { x, y: { ...y, field: 'q05' }, y2: { field: 'q95' } } },
        { mark: { type: 'area', opacity: 0.45, color: '#1f77b4', clip: true }, encoding: { x, y: { ...y, field: 'q25' }, y2: { field: 'q75' } } },
        { mark: { type: 'line', color: '#08306b', strokeWidth: 1.5, clip: true }, encoding: { x, y: { ...y, field: 'q50' } } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/**
 * Each hidden layer over the run: where its outputs lie (left) and where the gradients reaching it lie
 * (right, |d loss / d output| on a log axis), as bands from 5% to 95% and 25% to 75% of the batch with
 * the median as a line. A ReLU layer whose band sits on 0 has gone dead; gradient bands that sink
 * layer by layer towards the input are vanishing gradients.
 */
export function layerSpec(epochs: number, first: { outputs?: object[]; grads?: object[] }): TopLevelSpec {
  return {
    $schema: SCHEMA,
    datasets: { outputs: first.outputs ?? [], grads: first.grads ?? [] },
    hconcat: [bands('outputs', epochs, 'output', false), bands('grads', epochs, '|gradient| (log)', true)],
  } as TopLevelSpec;
}

/**
 * A chart drawn from rows that keep arriving. It is embedded when its first rows are drawn; rows that
 * arrive meanwhile, or while it is switched off or scrolled out of view, wait and are drawn with the
 * next redraw, so coming back shows the whole run. Redraws come at most every REDRAW_MS, on an
 * animation frame, and only while the chart is on and in view: a redraw of a few thousand points takes
 * the page's thread tens of milliseconds, time the training worker could use on a machine of few cores.
 */
export class LiveChart {
  private result: Result | null = null;
  private embedding = false;
  private finished = false;
  private pending = new Map<string, object[]>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastDraw = -Infinity;
  private visible = true;
  private readonly observer: IntersectionObserver;
  /** Redraws done, and the time they took on the page's thread (the cost the page reports). */
  draws = 0;
  drawMs = 0;

  constructor(
    private readonly el: HTMLElement,
    private readonly spec: (first: Record<string, object[]>) => TopLevelSpec,
    private on = true,
  ) {
    this.observer = new IntersectionObserver((entries) => {
      this.visible = entries[entries.length - 1].isIntersecting;
      if (this.visible) this.schedule();
    });
    this.observer.observe(el);
  }

  add(dataset: string, rows: object[]): void {
    if (this.finished || rows.length === 0) return;
    const queue = this.pending.get(dataset);
    if (queue === undefined) this.pending.set(dataset, [...rows]);
    else queue.push(...rows);
    this.schedule();
  }

  setOn(on: boolean): void {
    this.on = on;
    if (on) this.schedule();
  }

  /** Forgets the chart and its rows (a new run). */
  finalize(): void {
    this.finished = true;
    this.observer.disconnect();
    if (this.timer !== null) clearTimeout(this.timer);
    this.result?.finalize();
    this.el.replaceChildren();
  }

  private schedule(): void {
    if (!this.on || !this.visible || this.finished || this.timer !== null || this.embedding) return;
    const wait = Math.max(0, this.lastDraw + REDRAW_MS - performance.now());
    this.timer = setTimeout(() => requestAnimationFrame(() => {
      this.timer = null;
      this.draw().catch((e: unknown) => console.error(`playground: a chart failed: ${String(e)}`));
    }), wait);
  }

  private async draw(): Promise<void> {
    if (!this.on || !this.visible || this.finished || this.pending.size === 0) return;
    const rows = Object.fromEntries(this.pending);
    this.pending = new Map();
    const t0 = performance.now();
    if (this.result === null) {
      this.embedding = true;
      const result = await embed(this.el, this.spec(rows), EMBED);
      this.embedding = false;
      if (this.finished) return result.finalize();
      this.result = result;
    } else {
      const view = this.result.view;
      for (const [name, list] of Object.entries(rows)) view.insert(name, list);
      await view.runAsync();
    }
    this.draws++;
    this.drawMs += performance.now() - t0;
    this.lastDraw = performance.now();
    if (this.pending.size > 0) this.schedule();
  }
}

/** The training chart as a LiveChart: 'batches' and 'epochs' rows. */
export function trainingChart(el: HTMLElement, epochs: number, on: boolean): LiveChart {
  return new LiveChart(el, (first) => trainingSpec(epochs, first), on);
}

/** The hidden layers' chart as a LiveChart: 'outputs' and 'grads' rows. */
export function layerChart(el: HTMLElement, epochs: number, on: boolean): LiveChart {
  return new LiveChart(el, (first) => layerSpec(epochs, first), on);
}

/**
 * The range test's curve: each batch's loss (points) and the finder's centered average (line) against
 * the rate on a log axis, and a rule at the suggested rate. The centered average is the curve the
 * suggestion is read from (optim/lrFinder.ts), as `tapegrad lr-find`'s plot draws it; the moving
 * average that decides when the sweep stops lags the losses, and turns up later than they do.
 */
export function lrFinderSpec(found: { rates: number[]; losses: number[]; centered: number[]; suggested: number }): TopLevelSpec {
  const rows = found.rates.map((rate, i) => ({ rate, loss: found.losses[i], centered: found.centered[i] }));
  const x = { field: 'rate', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'learning rate' };
  // The last losses climb far past the first (the sweep stops at 4x the minimum, raw losses overshoot):
  // cap the axis at 1.5x the first loss so the dip stays visible.
  const y = { type: 'quantitative' as const, title: 'loss', scale: { domain: [0, found.losses[0] * 1.5], clamp: true } };
  return {
    $schema: SCHEMA,
    width: 420,
    height: 200,
    layer: [
      { data: { values: rows }, mark: { type: 'point', size: 12, opacity: 0.5, clip: true }, encoding: { x, y: { ...y, field: 'loss' } } },
      { data: { values: rows }, mark: { type: 'line', clip: true }, encoding: { x, y: { ...y, field: 'centered' } } },
      {
        data: { values: [{ rate: found.suggested, label: `suggested ${found.suggested.toPrecision(2)}` }] },
        layer: [
          { mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] }, encoding: { x } },
          { mark: { type: 'text', align: 'left', dx: 4, dy: -80, color: '#d62728' }, encoding: { x, text: { field: 'label' } } },
        ],
      },
    ],
  } as TopLevelSpec;
}

export async function embedLrFinder(el: HTMLElement, found: Parameters<typeof lrFinderSpec>[0]): Promise<Result> {
  return embed(el, lrFinderSpec(found), EMBED);
}

/** The model's ten probabilities for the drawing, as bars. */
export function probabilitiesSpec(): TopLevelSpec {
  return {
    $schema: SCHEMA,
    width: 220,
    height: 120,
    data: { name: 'probs' },
    mark: 'bar',
    encoding: {
      x: { field: 'digit', type: 'ordinal', axis: { labelAngle: 0 } },
      y: { field: 'p', type: 'quantitative', scale: { domain: [0, 1] }, title: 'probability' },
      color: { condition: { test: 'datum.best', value: '#d62728' }, value: '#1f77b4' },
    },
  } as TopLevelSpec;
}

export class ProbabilitiesChart {
  private constructor(private readonly result: Result) {}

  static async embed(el: HTMLElement): Promise<ProbabilitiesChart> {
    return new ProbabilitiesChart(await embed(el, probabilitiesSpec(), EMBED));
  }

  show(probabilities: number[]): void {
    const best = probabilities.indexOf(Math.max(...probabilities));
    this.result.view.data('probs', probabilities.map((p, digit) => ({ digit, p, best: digit === best }))).run();
  }
}
