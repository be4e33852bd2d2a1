/**
 * The page's charts, as Vega-Lite specs drawn by vega-embed on canvases. The training chart is embedded
 * once per run, when the first batches arrive, with two named data sets ('batches', 'epochs'); later
 * points are inserted into them, so vega re-renders in place instead of rebuilding the chart.
 *
 * `ast: true` makes vega interpret its expressions instead of compiling them with `new Function`, so the
 * page runs under the server's content-security policy (script-src 'self', no 'unsafe-eval').
 */
import embed, { type Result } from 'vega-embed';
import type { TopLevelSpec } from 'vega-lite';
import type { BatchPoint, EpochPoint } from './protocol.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const EMBED = { renderer: 'canvas', actions: false, ast: true } as const;
const PANEL_WIDTH = 600;

/** One colour scale for every layer of both panels, so both share a legend and keep their colours. */
const SERIES = ['batch', 'batch, moving average', 'epoch: train', 'epoch: test'];
const COLORS = ['#9ecae9', '#1f77b4', '#ff7f0e', '#d62728'];
const color = (datum?: string) =>
  datum === undefined
    ? { field: 'split', type: 'nominal' as const, scale: { domain: SERIES, range: COLORS }, title: null }
    : { datum, scale: { domain: SERIES, range: COLORS }, title: null };

function panel(field: 'loss' | 'accuracy', epochs: number): object {
  const avg = field === 'loss' ? 'lossAvg' : 'accuracyAvg';
  const x = { type: 'quantitative' as const, title: 'epoch', scale: { domain: [0, epochs] } };
  // Loss falls by two orders of magnitude, so a log axis keeps the late epochs readable. Accuracy passes
  // 0.8 within the first few hundred batches and then creeps from 0.9 towards 1, which is the part worth
  // seeing: its axis starts at 0.8 and the first batches sit on that floor.
  const y =
    field === 'loss'
      ? { type: 'quantitative' as const, title: 'loss (cross-entropy)', scale: { type: 'log' as const } }
      : { type: 'quantitative' as const, title: 'accuracy', scale: { domain: [0.8, 1], clamp: true } };
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
        data: { name: 'epochs' },
        mark: { type: 'line', point: true, strokeWidth: 2, clip: true },
        encoding: { x: { ...x, field: 'epoch' }, y: { ...y, field }, color: color() },
      },
    ],
  };
}

/** The live chart: loss above accuracy, per batch (raw and averaged) and per epoch (train and test). */
export function trainingSpec(epochs: number, first: BatchPoint[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    // Named data sets, shared by both panels: vega keeps these names, so addBatches/addEpoch insert into
    // them. The first points come with the spec (an empty data set has no extent, and vega warns).
    datasets: { batches: first, epochs: [] },
    vconcat: [panel('loss', epochs), panel('accuracy', epochs)],
    config: { legend: { orient: 'bottom' } },
  } as TopLevelSpec;
}

export class TrainingChart {
  private constructor(private readonly result: Result) {}

  /** Embeds the chart with the run's first batches (later ones go through addBatches). */
  static async embed(el: HTMLElement, epochs: number, first: BatchPoint[]): Promise<TrainingChart> {
    return new TrainingChart(await embed(el, trainingSpec(epochs, first), EMBED));
  }

  addBatches(points: BatchPoint[]): void {
    this.result.view.insert('batches', points).run();
  }

  /** An epoch's train and test numbers, as two rows of the 'epochs' data set. */
  addEpoch(e: EpochPoint): void {
    this.result.view
      .insert('epochs', [
        { epoch: e.epoch, split: 'epoch: train', loss: e.trainLoss, accuracy: e.trainAccuracy },
        { epoch: e.epoch, split: 'epoch: test', loss: e.testLoss, accuracy: e.testAccuracy },
      ])
      .run();
  }

  finalize(): void {
    this.result.finalize();
  }
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
