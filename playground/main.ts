/**
 * The playground page: the form, the buttons and what the worker reports, drawn as it arrives. The
 * worker (worker.ts) does all the training; this file only sends it messages and draws.
 *
 * URL parameters fill the form (same names: `?hidden=128&activation=tanh&optimizer=adam`, see config.ts);
 * `autostart=1` starts training as soon as MNIST has loaded (the browser tests use `?autostart=1&epochs=1`),
 * `charts=0` starts with the live charts off.
 * "Link to these settings" writes such a link.
 */
import {
  DEFAULTS, FIELDS, OPTIMIZER_LABELS, SCHEDULE_LABELS, SWITCHES, configFields, describeModel, parseConfig, scheduleParts, scheduleText, shareUrl,
  type FieldName, type TrainConfig,
} from './config.js';
import {
  DEFAULT_LR, MOMENTUM_DEFAULT, OPTIMIZER_NAMES, SCHEDULE_DEFAULTS, SCHEDULE_NAMES, SCHEDULE_NOTES, SCHEDULE_PARAMS, describeOptimizer, formatScheduleSpec,
  type OptimizerName, type ScheduleName,
} from '../train/recipe.js';
import { LiveChart, MAX_BATCH_POINTS, ProbabilitiesChart, embedLrFinder, epochRows, layerChart, layerRows, trainingChart } from './charts.js';
import { clearDigitInput, initDigitInput, markGuesses, setProbabilitiesChart, showGuess, showTestDigits } from './digitInput.js';
import { isolate, modeLine } from './isolation.js';
import { drawWeights, weightGridSize } from './pictures.js';
import type { EpochPoint, FromWorker, LayerPoint, ToWorker } from './protocol.js';
import { clearStep, initStepView, showStep } from './stepView.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`playground: the page has no #${id}`);
  return el as T;
};

const form = $<HTMLFormElement>('config');
const buttons = {
  start: $<HTMLButtonElement>('start'),
  pause: $<HTMLButtonElement>('pause'),
  step: $<HTMLButtonElement>('step'),
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
  buttons.step.disabled = !(next === 'idle' || next === 'paused');
  buttons.reset.disabled = !(next === 'training' || next === 'paused' || (next === 'idle' && hasModel));
  buttons.lrFind.disabled = !(next === 'idle' || next === 'paused');
}

// --- the form ----------------------------------------------------------------------------------------
// The menus are the recipe's (train/recipe.ts): every optimizer and schedule the command line has, each
// schedule's parameters as fields of their own, empty at their defaults (shown greyed).

const optimizerSelect = form.elements.namedItem('optimizer') as HTMLSelectElement;
for (const name of OPTIMIZER_NAMES) optimizerSelect.add(new Option(OPTIMIZER_LABELS[name], name));
const scheduleSelect = form.elements.namedItem('schedule') as HTMLSelectElement;
for (const name of SCHEDULE_NAMES) scheduleSelect.add(new Option(`${name}: ${SCHEDULE_LABELS[name]}`, name));
const scheduleParams = $('schedule-params');

/** The fields of the chosen schedule's parameters (`schedule-max`...), empty: each at its default. */
function showScheduleParams(name: ScheduleName): void {
  const fields = Object.entries(SCHEDULE_PARAMS[name]).map(([key, kind]) => {
    const label = document.createElement('label');
    const fallback = SCHEDULE_DEFAULTS[name][key];
    let input: HTMLInputElement | HTMLSelectElement;
    if (Array.isArray(kind)) {
      input = document.createElement('select');
      input.add(new Option(`${fallback} (default)`, ''));
      for (const choice of kind as readonly string[]) if (choice !== fallback) input.add(new Option(choice, choice));
    } else {
      input = document.createElement('input');
      input.size = 6;
      input.placeholder = fallback;
      input.title = `${name}'s ${key}${kind === 'epochs' ? ', epochs joined by +' : ''}; empty: ${fallback}${SCHEDULE_NOTES[name] ? ` (${SCHEDULE_NOTES[name]})` : ''}`;
    }
    input.name = `schedule-${key}`;
    input.dataset.param = key;
    label.append(`${key} `, input);
    return label;
  });
  scheduleParams.replaceChildren(...fields);
}

function field(name: FieldName): HTMLInputElement | HTMLSelectElement {
  return form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
}
const isSwitch = (name: FieldName) => SWITCHES.includes(name);

function setField(name: FieldName, value: string): void {
  if (name === 'schedule') {
    const { name: schedule, params } = scheduleParts(value);
    scheduleSelect.value = schedule;
    showScheduleParams(schedule);
    for (const input of scheduleParamFields()) input.value = params[input.dataset.param!] ?? '';
  } else if (isSwitch(name)) (field(name) as HTMLInputElement).checked = value === '1';
  else field(name).value = value;
}

function scheduleParamFields(): (HTMLInputElement | HTMLSelectElement)[] {
  return Array.from(scheduleParams.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select'));
}

function fieldValue(name: FieldName): string {
  if (name === 'schedule') return scheduleText(scheduleSelect.value, Object.fromEntries(scheduleParamFields().map((f) => [f.dataset.param!, f.value])));
  return isSwitch(name) ? ((field(name) as HTMLInputElement).checked ? '1' : '0') : field(name).value;
}

/**
 * What the chosen optimizer takes: its momentum's default shown greyed (the field is off for one
 * without momentum), Nesterov for SGD only. `fresh`: it was just chosen, so its own defaults apply.
 */
function showOptimizerFields(fresh: boolean): void {
  const optimizer = field('optimizer').value as OptimizerName;
  const momentum = field('momentum') as HTMLInputElement;
  const nesterov = field('nesterov') as HTMLInputElement;
  const own = MOMENTUM_DEFAULT[optimizer];
  if (fresh) {
    field('lr').value = String(DEFAULT_LR[optimizer]);
    momentum.value = '';
    if (optimizer !== 'sgd') nesterov.checked = false;
  }
  momentum.placeholder = own === undefined ? 'none' : String(own);
  momentum.disabled = own === undefined && momentum.value === '';
  nesterov.disabled = optimizer !== 'sgd' && !nesterov.checked;
}

const params = new URLSearchParams(location.search);
{
  const initial = configFields(DEFAULTS);
  for (const name of FIELDS) {
    try {
      setField(name, params.get(name) ?? initial[name]);
    } catch (e) {
      // A schedule the link spells wrong: the default's, and the reason shown.
      setField(name, initial[name]);
      text('form-error', (e as Error).message);
    }
  }
  // No rate in the URL: each optimizer starts from its own usual rate.
  if (!params.has('lr') && params.has('optimizer')) field('lr').value = String(DEFAULT_LR[field('optimizer').value as OptimizerName] ?? DEFAULTS.lr);
  showOptimizerFields(false);
}
field('optimizer').addEventListener('change', () => showOptimizerFields(true));
scheduleSelect.addEventListener('change', () => showScheduleParams(scheduleSelect.value as ScheduleName));

/** The form as a TrainConfig, or null after showing what is wrong with it. */
function readForm(): TrainConfig | null {
  const values: Partial<Record<FieldName, string>> = {};
  for (const name of FIELDS) values[name] = fieldValue(name);
  try {
    const config = parseConfig(values);
    text('form-error', '');
    return config;
  } catch (e) {
    text('form-error', (e as Error).message);
    return null;
  }
}

$('share').addEventListener('click', () => {
  const config = readForm();
  if (config === null) return;
  const link = shareUrl(config, location.href);
  const out = $<HTMLInputElement>('share-link');
  out.value = link;
  out.select();
  history.replaceState(null, '', link);
  // Copying needs the page to be focused and allowed to; the link is in the box either way.
  navigator.clipboard?.writeText(link).catch(() => {});
});

// --- isolation: decided before anything is fetched, since it may reload the page -----------------------

const isolation = await isolate();
if (isolation === null) {
  text('status', 'reloading once, under the service worker that makes this page cross-origin isolated…');
  await new Promise(() => {}); // the reload is under way
}

// --- the worker --------------------------------------------------------------------------------------

const worker = new Worker(new URL('worker.js', location.href), { type: 'module' });
const send = (msg: ToWorker, transfer: Transferable[] = []): void => worker.postMessage(msg, transfer);
worker.onerror = (e) => {
  console.error(`playground worker: ${e.message}`);
  text('status', `the worker failed: ${e.message}`);
};

const liveCharts = $<HTMLInputElement>('live-charts');
// `charts=0`: start with the live charts off (playground/chartCost.ts measures what they cost).
if (params.get('charts') === '0') liveCharts.checked = false;
let chart: LiveChart | null = null;
let layersChart: LiveChart | null = null;
let config: TrainConfig | null = null;
let lrFound: number | null = null;
/** The names of the hidden layers in the layer chart and table, from the run's config. */
let layerNames: string[] = [];
/** The training chart draws every `batchEvery`-th batch (at most MAX_BATCH_POINTS over the run), counting with `batchCount`. */
let batchEvery = 1;
let batchCount = 0;

const weightsCanvas = $<HTMLCanvasElement>('weights');
const WEIGHT_COLUMNS = 6;

/** Makes the page ready for a run of `next`: the model line, fresh charts, tables and step view. */
function beginRun(next: TrainConfig): void {
  config = next;
  text('model', `${describeModel(config)}; ${describeOptimizer(config)}, schedule ${formatScheduleSpec(config.schedule)}, batch ${config.batchSize}`);
  text('epoch', `0 / ${config.epochs}`);
  text('test-accuracy', '–');
  dropCharts();
  chart = trainingChart($('chart'), config.epochs, liveCharts.checked);
  layersChart = layerChart($('layer-chart'), config.epochs, liveCharts.checked);
  layerNames = config.layers.map((units, k) => `hidden ${k + 1}: ${units} ${config!.activation}`);
  batchEvery = Math.max(1, Math.ceil((config.epochs * Math.ceil(config.train / config.batchSize)) / MAX_BATCH_POINTS));
  batchCount = 0;
  $('epochs').querySelector('tbody')!.replaceChildren();
  $('layer-table').querySelector('tbody')!.replaceChildren();
  clearStep();
  hasModel = true;
}

function start(): void {
  const next = readForm();
  if (next === null || state !== 'idle') return;
  beginRun(next);
  setState('training');
  send({ type: 'start', config: next });
}

function step(): void {
  if (state === 'paused') {
    send({ type: 'step', config: config! });
    return;
  }
  if (state !== 'idle') return;
  const next = readForm();
  if (next === null) return;
  beginRun(next);
  setState('paused');
  send({ type: 'step', config: next });
}

function dropCharts(): void {
  chart?.finalize();
  layersChart?.finalize();
  chart = null;
  layersChart = null;
}

/** Exposes the live charts' redraw count and time on #chart, for playground/chartCost.ts. */
function noteChartCost(): void {
  const draws = (chart?.draws ?? 0) + (layersChart?.draws ?? 0);
  const ms = (chart?.drawMs ?? 0) + (layersChart?.drawMs ?? 0);
  $('chart').dataset.draws = String(draws);
  $('chart').dataset.drawMs = ms.toFixed(0);
}

/** One row of the epochs table: the numbers of an epoch, its training speed (samples/s over the epoch). */
function addEpochRow(e: EpochPoint): void {
  const row = document.createElement('tr');
  for (const value of [String(e.epoch), e.trainLoss.toFixed(4), e.testLoss.toFixed(4), e.testAccuracy.toFixed(4), Math.round(e.samplesPerSecond).toLocaleString('en')]) {
    row.insertCell().textContent = value;
  }
  $('epochs').querySelector('tbody')!.append(row);
}

/** The layer table: the latest measurement of each hidden layer, in numbers. */
function showLayerTable(point: LayerPoint): void {
  const rows = point.layers.map((l, k) => {
    const row = document.createElement('tr');
    for (const value of [layerNames[k] ?? `hidden ${k + 1}`, `${(l.stuck * 100).toFixed(1)}%`, `${(l.deadUnits * 100).toFixed(1)}%`, l.grads[2].toExponential(2)]) {
      row.insertCell().textContent = value;
    }
    return row;
  });
  $('layer-table').querySelector('tbody')!.replaceChildren(...rows);
}

function clearRun(): void {
  hasModel = false;
  dropCharts();
  $('epochs').querySelector('tbody')!.replaceChildren();
  $('layer-table').querySelector('tbody')!.replaceChildren();
  for (const id of ['epoch', 'samples-per-second', 'lr', 'train-loss', 'test-accuracy']) text(id, '–');
  weightsCanvas.getContext('2d')!.clearRect(0, 0, weightsCanvas.width, weightsCanvas.height);
  clearDigitInput();
  clearStep();
  setState('idle');
}

let backendReason: string | null = null;

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'backend':
      backendReason = msg.reason;
      text('backend', msg.backend);
      text('threads', String(msg.threads));
      text('isolated', msg.isolated ? 'yes (SharedArrayBuffer available)' : 'no (no SharedArrayBuffer)');
      text('mode', modeLine(msg.backend, msg.threads, isolation!, backendReason));
      $('mode').dataset.backend = msg.backend;
      return;
    case 'status':
      text('status', msg.text);
      return;
    case 'loaded':
      text('load-time', `${(msg.ms / 1000).toFixed(2)} s (${msg.trainCount.toLocaleString('en')} + ${msg.testCount.toLocaleString('en')} images, ${(msg.bytes / 1e6).toFixed(1)} MB)`);
      text('status', 'ready');
      showTestDigits(msg.gridPixels, msg.gridLabels);
      setState('idle');
      if (params.get('autostart') === '1') start();
      return;
    case 'batches':
      chart?.add('batches', msg.points.filter(() => batchCount++ % batchEvery === 0));
      for (const point of msg.layerPoints) {
        const rows = layerRows(point, layerNames);
        layersChart?.add('outputs', rows.outputs);
        layersChart?.add('grads', rows.grads);
      }
      if (msg.layerPoints.length > 0) showLayerTable(msg.layerPoints[msg.layerPoints.length - 1]);
      noteChartCost();
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
      markGuesses(msg.predictions);
      return;
    case 'epoch':
      chart?.add('epochs', epochRows(msg));
      addEpochRow(msg);
      text('test-accuracy', msg.testAccuracy.toFixed(4));
      if (state !== 'paused') {
        text('status', `epoch ${msg.epoch}: test accuracy ${msg.testAccuracy.toFixed(4)}, loss ${msg.testLoss.toFixed(4)}; trained in ${msg.trainSeconds.toFixed(1)} s, ${Math.round(msg.samplesPerSecond).toLocaleString('en')} samples/s`);
      }
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
      text('status', 'paused: One batch steps, Resume goes on');
      setState('paused');
      return;
    case 'resumed':
      text('status', 'training…');
      setState('training');
      return;
    case 'stepped':
      showStep(msg);
      text('status', `stepped: batch ${msg.batch + 1} of epoch ${msg.epoch + 1}, loss ${msg.loss.toFixed(4)}`);
      return;
    case 'reset':
      text('status', 'reset: press Start to train a new model');
      clearRun();
      return;
    case 'guess':
      if (msg.digit < 0) {
        showGuess(null);
        text('status', 'train a model first (press Start), then draw');
        return;
      }
      showGuess(msg);
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
buttons.step.addEventListener('click', () => step());
buttons.reset.addEventListener('click', () => send({ type: 'reset' }));
liveCharts.addEventListener('change', () => {
  chart?.setOn(liveCharts.checked);
  layersChart?.setOn(liveCharts.checked);
});

initStepView();
initDigitInput((pixels) => send({ type: 'classify', pixels }, [pixels.buffer]));

ProbabilitiesChart.embed($('probs')).then(
  (c) => setProbabilitiesChart(c),
  (e: unknown) => console.error(`playground: the probabilities chart failed: ${String(e)}`),
);
setState('loading');
send({ type: 'load' });
