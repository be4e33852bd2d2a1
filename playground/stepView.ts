/**
 * The page's "Inside one step" section: what the worker's watched step (inspect.ts pictureStep) sent,
 * drawn. The batch's first images with labels and guesses; a heat strip per layer (a row per image, a
 * column per unit); the loss; the gradient of the layer the learner picks, with respect to its outputs
 * and, for a Dense layer, its weights; how far the update moved each Dense layer; and the tape, laid
 * out by Graphviz (@viz-js/viz, loaded the first time the tape is shown: 1.2 MB the rest of the page
 * does not need).
 */
import { drawDigit, drawHeat, drawWeights, weightGridSize } from './pictures.js';
import type { Stepped } from './protocol.js';

/** Widest a heat strip is drawn, in pixels; a layer narrower than this gets wider cells. */
const STRIP_WIDTH = 420;
const ROW_HEIGHT = 6;
/** Units of a 784-input layer whose weight gradient is drawn as 28×28 tiles. */
const TILE_UNITS = 24;
const TILE_COLUMNS = 8;

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

let last: Stepped | null = null;
let tapeDrawnFor: Stepped | null = null;

/** Draws a stepped batch. */
export function showStep(step: Stepped): void {
  last = step;
  const acc = `${(step.accuracy * 100).toFixed(1)}%`;
  const moved = step.updateRatios.map((r) => r.toExponential(1)).join(', ');
  const info = el('step-info');
  const loss = document.createElement('b');
  loss.id = 'step-loss';
  loss.textContent = step.loss.toPrecision(6);
  // The loss to the last bit, for checks (tests compare it with trainStep's).
  loss.dataset.value = String(step.loss);
  info.replaceChildren(
    `Step ${step.step} (epoch ${step.epoch + 1}, batch ${step.batch + 1} of ${step.batchesPerEpoch}): loss of the stepped batch `,
    loss,
    ` (${acc} of the batch guessed right before the update); learning rate ${step.lr.toPrecision(3)}; `,
    step.applied ? `the update moved each Dense layer's weights by ‖ΔW‖/‖W‖ = ${moved}.` : 'the loss was not finite, so no update was made.',
  );
  el('step-row').hidden = false;
  el('tape-details').hidden = false;
  showImages(step);
  showLayers(step);
  fillLayerPicker(step);
  showGradient();
  if ((el('tape-details') as HTMLDetailsElement).open) void showTape();
}

function showImages(step: Stepped): void {
  const cells = [];
  for (let r = 0; r < step.rows; r++) {
    const figure = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.width = 56;
    canvas.height = 56;
    drawDigit(canvas.getContext('2d')!, step.images, r * 784, 2);
    const caption = document.createElement('figcaption');
    const wrong = step.guesses[r] !== step.labels[r];
    caption.textContent = `${step.labels[r]} → ${step.guesses[r]}`;
    caption.title = `label ${step.labels[r]}, the model's guess ${step.guesses[r]}`;
    if (wrong) figure.classList.add('wrong');
    figure.append(canvas, caption);
    cells.push(figure);
  }
  el('step-images').replaceChildren(...cells);
}

/** A heat strip's size: a row per image, a column per unit, wider columns for narrow layers. */
function sizeStrip(canvas: HTMLCanvasElement, rows: number, units: number): void {
  canvas.width = units >= STRIP_WIDTH ? units : Math.max(1, Math.floor(STRIP_WIDTH / units)) * units;
  canvas.height = rows * ROW_HEIGHT;
}

function strip(values: Float32Array, rows: number, units: number, label: string): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  sizeStrip(canvas, rows, units);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  drawHeat(canvas.getContext('2d')!, values, rows, units);
  return canvas;
}

function showLayers(step: Stepped): void {
  const rows = step.layers.map((layer) => {
    const row = document.createElement('div');
    row.className = 'strip';
    const name = document.createElement('span');
    name.textContent = `${layer.index}: ${layer.name}`;
    row.append(name, strip(layer.values, step.rows, layer.units, `outputs of layer ${layer.index}, ${layer.name}`));
    return row;
  });
  el('step-layers').replaceChildren(...rows);
}

function fillLayerPicker(step: Stepped): void {
  const select = el<HTMLSelectElement>('grad-layer');
  const keep = select.value;
  const options = step.layers.map((l) => new Option(`${l.index}: ${l.name}`, String(l.index)));
  select.replaceChildren(...options);
  // Keep the learner's pick across steps; the first Dense layer to start with.
  select.value = options.some((o) => o.value === keep) ? keep : String(step.weightGradients[0]?.index ?? step.layers[0].index);
}

function showGradient(): void {
  if (last === null) return;
  const index = Number(el<HTMLSelectElement>('grad-layer').value);
  const layer = last.layers.find((l) => l.index === index);
  const out = el<HTMLCanvasElement>('step-grad-out');
  if (layer?.grad) {
    sizeStrip(out, last.rows, layer.units);
    drawHeat(out.getContext('2d')!, layer.grad, last.rows, layer.units);
  }
  const weight = el<HTMLCanvasElement>('step-grad-weight');
  const g = last.weightGradients.find((w) => w.index === index);
  const caption = el('step-grad-caption');
  if (g === undefined) {
    caption.textContent = `d loss / d weight: layer ${index} has no weights.`;
    weight.width = 0;
    weight.height = 0;
    return;
  }
  if (g.cols === 784) {
    // Each unit's 784 weights are a 28×28 image, so their gradient is one too: what this batch pushes each unit to look for.
    const units = Math.min(TILE_UNITS, g.rows);
    caption.textContent = `d loss / d weight, the first ${units} units' as 28×28 images (each scaled to its own largest value):`;
    const size = weightGridSize(units, TILE_COLUMNS);
    weight.width = size.width;
    weight.height = size.height;
    drawWeights(weight.getContext('2d')!, g.data, units, TILE_COLUMNS);
  } else {
    caption.textContent = `d loss / d weight, ${g.rows} units (rows) × ${g.cols} inputs (columns):`;
    const cell = Math.max(1, Math.min(8, Math.floor(STRIP_WIDTH / g.cols)));
    weight.width = g.cols * cell;
    weight.height = g.rows * Math.max(2, cell);
    drawHeat(weight.getContext('2d')!, g.data, g.rows, g.cols);
  }
}

let viz: Promise<{ renderSVGElement(dot: string): SVGSVGElement }> | null = null;

async function showTape(): Promise<void> {
  if (last === null || tapeDrawnFor === last) return;
  const step = last;
  tapeDrawnFor = step;
  const box = el('tape');
  box.textContent = 'laying out the tape…';
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  const svg = (await viz).renderSVGElement(step.dot);
  if (last === step) box.replaceChildren(svg);
}

/** Wires the section's controls; call once. */
export function initStepView(): void {
  el('grad-layer').addEventListener('change', showGradient);
  el('tape-details').addEventListener('toggle', () => {
    if ((el('tape-details') as HTMLDetailsElement).open) {
      showTape().catch((e: unknown) => {
        console.error(`playground: the tape could not be drawn: ${String(e)}`);
        el('tape').textContent = `the tape could not be drawn: ${String(e)}`;
      });
    }
  });
}

/** Forgets the last step (a new run). */
export function clearStep(): void {
  last = null;
  tapeDrawnFor = null;
  el('step-info').replaceChildren('No step yet. Loss of the stepped batch: ', Object.assign(document.createElement('b'), { id: 'step-loss', textContent: '–' }));
  for (const id of ['step-images', 'step-layers', 'tape']) el(id).replaceChildren();
  el('step-row').hidden = true;
  el('tape-details').hidden = true;
  el('grad-layer').replaceChildren();
  for (const id of ['step-grad-out', 'step-grad-weight']) {
    const c = el<HTMLCanvasElement>(id);
    c.width = 0;
    c.height = 0;
  }
}
