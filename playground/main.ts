/**
 * The playground page: the form, the buttons and what the worker reports, drawn as it arrives. The
 * worker (worker.ts) does all the training; this file only sends it messages and draws.
 *
 * URL parameters fill the form (same names: `?hidden=128&optimizer=adam&lr=0.001`); `autostart=1`
 * starts training as soon as MNIST has loaded (the browser test uses `?autostart=1&epochs=1`).
 */
import { DEFAULTS, FIELDS, SCHEDULES, DEFAULT_LR, configFields, describeModel, parseConfig, type FieldName, type OptimizerName, type TrainConfig } from './config.js';
import { ProbabilitiesChart, TrainingChart, embedLrFinder } from './charts.js';
import { drawDigit, drawWeights, weightGridSize } from './pictures.js';
import { preprocessDigit } from './preprocess.js';
import { GRID_SIZE, type BatchPoint, type EpochPoint, type FromWorker, type ToWorker } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`playground: the page has no #${id}`);
  return el as T;
};

const form = $<HTMLFormElement>('config');
const buttons = {
  start: $<HTMLButtonElement>('start'),
  pause: $<HTMLButtonElement>('pause'),
  reset: $<HTMLButtonElement>('reset'),
  lrFind: $<HTMLButtonElement>('lr-find'),
};
const text = (id: string, value: string): void => {
  $(id).textContent = value;
};

type State = 'loading' | 'idle' | 'training' | 'paused' | 'finding';
let state: State = 'loading';
/** True once a model exists in the worker (trained, training or paused): the drawing can be classified. */
let hasModel = false;

function setState(next: State): void {
  state = next;
  buttons.start.disabled = !(next === 'idle');
  buttons.pause.disabled = !(next === 'training' || next === 'paused');
  buttons.pause.textContent = next === 'paused' ? 'Resume' : 'Pause';
  buttons.reset.disabled = !(next === 'training' || next === 'paused' || (next === 'idle' && hasModel));
  buttons.lrFind.disabled = !(next === 'idle' || next === 'paused');
}

// --- the form ----------------------------------------------------------------------------------------

const scheduleSelect = form.elements.namedItem('schedule') as HTMLSelectElement;
for (const [name, what] of Object.entries(SCHEDULES)) scheduleSelect.add(new Option(`${name}: ${what}`, name));

function field(name: FieldName): HTMLInputElement | HTMLSelectElement {
  return form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
}

const params = new URLSearchParams(location.search);
{
  const initial = configFields(DEFAULTS);
  for (const name of FIELDS) field(name).value = params.get(name) ?? initial[name];
  // No rate in the URL: each optimizer starts from its own usual rate.
  if (!params.has('lr') && params.has('optimizer')) field('lr').value = String(DEFAULT_LR[field('optimizer').value as OptimizerName] ?? DEFAULTS.lr);
}
field('optimizer').addEventListener('change', () => {
  field('lr').value = String(DEFAULT_LR[field('optimizer').value as OptimizerName]);
});

/** The form as a TrainConfig, or null after showing what is wrong with it. */
function readForm(): TrainConfig | null {
  const values: Partial<Record<FieldName, string>> = {};
  for (const name of FIELDS) values[name] = field(name).value;
  try {
    const config = parseConfig(values);
    text('form-error', '');
    return config;
  } catch (e) {
    text('form-error', (e as Error).message);
    return null;
  }
}

// --- the worker --------------------------------------------------------------------------------------

const worker = new Worker(new URL('worker.js', location.href), { type: 'module' });
const send = (msg: ToWorker, transfer: Transferable[] = []): void => worker.postMessage(msg, transfer);
worker.onerror = (e) => {
  console.error(`playground worker: ${e.message}`);
  text('status', `the worker failed: ${e.message}`);
};

let chart: TrainingChart | null = null;
/** Points that arrive while the chart is being embedded; null when no embedding is under way. */
let chartQueue: { batches: BatchPoint[]; epochs: EpochPoint[] } | null = null;
/** Bumped by every start and reset, so a chart embedded for an earlier run is thrown away. */
let runToken = 0;
let probsChart: ProbabilitiesChart | null = null;
let config: TrainConfig | null = null;
let gridLabels: Int32Array = new Int32Array(0);
let lrFound: number | null = null;

const weightsCanvas = $<HTMLCanvasElement>('weights');
const WEIGHT_COLUMNS = 6;

function start(): void {
  const next = readForm();
  if (next === null || state !== 'idle') return;
  config = next;
  text('model', `${describeModel(config)}, ${config.optimizer} lr ${config.lr}, ${config.schedule}, batch ${config.batchSize}`);
  text('epoch', `0 / ${config.epochs}`);
  text('test-accuracy', '–');
  dropChart();
  $('epochs').querySelector('tbody')!.replaceChildren();
  hasModel = true;
  setState('training');
  send({ type: 'start', config });
}

function reset(): void {
  send({ type: 'reset' });
}

function dropChart(): void {
  runToken++;
  chart?.finalize();
  chart = null;
  chartQueue = null;
  $('chart').replaceChildren();
}

function chartBatches(points: BatchPoint[]): void {
  if (chart !== null) return chart.addBatches(points);
  if (chartQueue !== null) {
    chartQueue.batches.push(...points);
    return;
  }
  chartQueue = { batches: [], epochs: [] };
  const token = runToken;
  TrainingChart.embed($('chart'), config!.epochs, points).then(
    (c) => {
      if (token !== runToken) return c.finalize();
      chart = c;
      const queued = chartQueue!;
      chartQueue = null;
      if (queued.batches.length > 0) c.addBatches(queued.batches);
      for (const e of queued.epochs) c.addEpoch(e);
    },
    (e: unknown) => console.error(`playground: the training chart failed: ${String(e)}`),
  );
}

function chartEpoch(e: EpochPoint): void {
  if (chart !== null) chart.addEpoch(e);
  else chartQueue?.epochs.push(e);
}

/** One row of the epochs table: the numbers of an epoch, its training speed (samples/s over the epoch). */
function addEpochRow(e: EpochPoint): void {
  const row = document.createElement('tr');
  for (const value of [String(e.epoch), e.trainLoss.toFixed(4), e.testLoss.toFixed(4), e.testAccuracy.toFixed(4), Math.round(e.samplesPerSecond).toLocaleString('en')]) {
    row.insertCell().textContent = value;
  }
  $('epochs').querySelector('tbody')!.append(row);
}

function clearRun(): void {
  hasModel = false;
  dropChart();
  $('epochs').querySelector('tbody')!.replaceChildren();
  for (const id of ['epoch', 'samples-per-second', 'lr', 'train-loss', 'test-accuracy']) text(id, '–');
  weightsCanvas.getContext('2d')!.clearRect(0, 0, weightsCanvas.width, weightsCanvas.height);
  for (const cell of document.querySelectorAll('.digit')) {
    cell.classList.remove('wrong');
    cell.querySelector('span')!.textContent = '·';
  }
  text('guess', '–');
  setState('idle');
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'backend':
      text('backend', msg.backend);
      text('isolated', msg.isolated ? 'yes (SharedArrayBuffer available)' : 'no (one thread, no SharedArrayBuffer)');
      return;
    case 'status':
      text('status', msg.text);
      return;
    case 'loaded':
      text('load-time', `${(msg.ms / 1000).toFixed(2)} s (${msg.trainCount.toLocaleString('en')} + ${msg.testCount.toLocaleString('en')} images, ${(msg.bytes / 1e6).toFixed(1)} MB)`);
      text('status', 'ready');
      gridLabels = msg.gridLabels;
      buildGrid(msg.gridPixels);
      setState('idle');
      if (params.get('autostart') === '1') start();
      return;
    case 'batches':
      chartBatches(msg.points);
      text('epoch', `${msg.epoch + 1} / ${config?.epochs ?? '?'}, batch ${msg.batch + 1} / ${msg.batchesPerEpoch}`);
      if (msg.samplesPerSecond !== null) text('samples-per-second', Math.round(msg.samplesPerSecond).toLocaleString('en'));
      text('lr', msg.lr.toPrecision(3));
      if (msg.points.length > 0) {
        const last = msg.points[msg.points.length - 1];
        text('train-loss', `${last.lossAvg.toFixed(4)} (accuracy ${last.accuracyAvg.toFixed(4)})`);
      }
      return;
    case 'weights': {
      const size = weightGridSize(msg.units, WEIGHT_COLUMNS);
      if (weightsCanvas.width !== size.width || weightsCanvas.height !== size.height) {
        weightsCanvas.width = size.width;
        weightsCanvas.height = size.height;
      }
      drawWeights(weightsCanvas.getContext('2d')!, msg.data, msg.units, WEIGHT_COLUMNS);
      return;
    }
    case 'grid':
      showGuesses(msg.predictions);
      return;
    case 'epoch':
      chartEpoch(msg);
      addEpochRow(msg);
      text('test-accuracy', msg.testAccuracy.toFixed(4));
      text('status', `epoch ${msg.epoch}: test accuracy ${msg.testAccuracy.toFixed(4)}, loss ${msg.testLoss.toFixed(4)}; trained in ${msg.trainSeconds.toFixed(1)} s, ${Math.round(msg.samplesPerSecond).toLocaleString('en')} samples/s`);
      return;
    case 'done':
      text('status', `done: test accuracy ${msg.testAccuracy.toFixed(4)}; draw a digit below`);
      setState('idle');
      return;
    case 'stopped':
      text('status', msg.reason);
      hasModel = false;
      setState('idle');
      return;
    case 'paused':
      text('status', 'paused');
      setState('paused');
      return;
    case 'resumed':
      text('status', 'training…');
      setState('training');
      return;
    case 'reset':
      text('status', 'reset: press Start to train a new model');
      clearRun();
      return;
    case 'guess':
      if (msg.digit < 0) {
        text('guess', '–');
        text('status', 'train a model first (press Start), then draw');
        return;
      }
      text('guess', String(msg.digit));
      probsChart?.show(msg.probabilities);
      return;
    case 'lr-found':
      void showLrFinder(msg);
      return;
    case 'error':
      console.error(`playground worker: ${msg.message}`);
      text('status', `error: ${msg.message}`);
      if (state === 'finding') setState('idle');
      return;
  }
};

// --- the digit grid ------------------------------------------------------------------------------------

function buildGrid(pixels: Uint8Array): void {
  const floats = Float32Array.from(pixels, (v) => v / 255);
  const cells = [];
  for (let i = 0; i < GRID_SIZE; i++) {
    const cell = document.createElement('div');
    cell.className = 'digit';
    const canvas = document.createElement('canvas');
    canvas.width = 52;
    canvas.height = 52;
    drawDigit(canvas.getContext('2d')!, floats, i * 784, 52 / 28);
    const caption = document.createElement('span');
    caption.textContent = '·';
    cell.title = `label ${gridLabels[i]}`;
    cell.append(canvas, caption);
    cells.push(cell);
  }
  $('digits').replaceChildren(...cells);
}

function showGuesses(predictions: Int32Array): void {
  const cells = document.querySelectorAll<HTMLElement>('.digit');
  cells.forEach((cell, i) => {
    const wrong = predictions[i] !== gridLabels[i];
    cell.classList.toggle('wrong', wrong);
    cell.querySelector('span')!.textContent = String(predictions[i]);
    cell.title = wrong ? `label ${gridLabels[i]}, guessed ${predictions[i]}` : `label ${gridLabels[i]}`;
  });
}

// --- the learning-rate finder --------------------------------------------------------------------------

async function showLrFinder(found: Extract<FromWorker, { type: 'lr-found' }>): Promise<void> {
  await embedLrFinder($('lr-chart'), found);
  lrFound = found.suggested;
  const why = found.stopReason === 'completed' ? 'the sweep ran all 100 batches' : `stopped early: the loss ${found.stopReason === 'diverged' ? 'blew up' : 'was not finite'}`;
  text('lr-suggestion', `${found.optimizer}: suggested rate ${found.suggested.toPrecision(2)} (${why}).`);
  $('lr-use').hidden = false;
  text('status', 'range test done');
  setState(pausedBeforeFinding ? 'paused' : 'idle');
}

let pausedBeforeFinding = false;
buttons.lrFind.addEventListener('click', () => {
  const cfg = readForm();
  if (cfg === null) return;
  pausedBeforeFinding = state === 'paused';
  text('status', 'running the range test…');
  setState('finding');
  send({ type: 'lr-find', config: cfg });
});
$('lr-use').addEventListener('click', () => {
  if (lrFound !== null) field('lr').value = lrFound.toPrecision(2);
});

// --- the buttons ---------------------------------------------------------------------------------------

buttons.start.addEventListener('click', () => start());
buttons.pause.addEventListener('click', () => send({ type: state === 'paused' ? 'resume' : 'pause' }));
buttons.reset.addEventListener('click', reset);

// --- draw a digit ----------------------------------------------------------------------------------------

const draw = $<HTMLCanvasElement>('draw');
const drawCtx = draw.getContext('2d', { willReadFrequently: true })!;
const preview = $<HTMLCanvasElement>('preview');
const previewCtx = preview.getContext('2d')!;

function clearDrawing(): void {
  drawCtx.fillStyle = '#000';
  drawCtx.fillRect(0, 0, draw.width, draw.height);
  previewCtx.clearRect(0, 0, preview.width, preview.height);
  text('guess', '–');
}
clearDrawing();

let drawing = false;
let last: { x: number; y: number } | null = null;
let classifyQueued = false;

function canvasPoint(e: PointerEvent): { x: number; y: number } {
  const r = draw.getBoundingClientRect();
  return { x: ((e.clientX - r.left) * draw.width) / r.width, y: ((e.clientY - r.top) * draw.height) / r.height };
}

function strokeTo(p: { x: number; y: number }): void {
  drawCtx.strokeStyle = '#fff';
  drawCtx.lineWidth = 20;
  drawCtx.lineCap = 'round';
  drawCtx.lineJoin = 'round';
  drawCtx.beginPath();
  const from = last ?? p;
  drawCtx.moveTo(from.x, from.y);
  drawCtx.lineTo(p.x + (last === null ? 0.01 : 0), p.y);
  drawCtx.stroke();
  last = p;
  // Classify at most once a frame, however fast the pointer moves.
  if (!classifyQueued) {
    classifyQueued = true;
    requestAnimationFrame(classifyDrawing);
  }
}

function classifyDrawing(): void {
  classifyQueued = false;
  const { data } = drawCtx.getImageData(0, 0, draw.width, draw.height);
  const gray = new Float32Array(draw.width * draw.height);
  for (let i = 0; i < gray.length; i++) gray[i] = data[4 * i] / 255;
  const digit = preprocessDigit(gray, draw.width, draw.height);
  if (digit === null) return;
  drawDigit(previewCtx, digit, 0, preview.width / 28);
  send({ type: 'classify', pixels: digit }, [digit.buffer]);
}

draw.addEventListener('pointerdown', (e) => {
  drawing = true;
  last = null;
  draw.setPointerCapture(e.pointerId);
  strokeTo(canvasPoint(e));
});
draw.addEventListener('pointermove', (e) => {
  if (drawing) strokeTo(canvasPoint(e));
});
const endStroke = (): void => {
  drawing = false;
  last = null;
};
draw.addEventListener('pointerup', endStroke);
draw.addEventListener('pointercancel', endStroke);
$('clear').addEventListener('click', clearDrawing);

ProbabilitiesChart.embed($('probs')).then(
  (c) => (probsChart = c),
  (e: unknown) => console.error(`playground: the probabilities chart failed: ${String(e)}`),
);

setState('loading');
send({ type: 'load' });
