/**
 * The training worker: it holds MNIST and the model, and trains the way `fit` and the command line do,
 * one train/ `trainStep` per batch and train/'s `evaluate` for the test pass, on the model, optimizer
 * and schedule the recipe builds (train/recipe.ts, the command line's builders, from the page's config). It posts what the page draws. Training runs in slices of about
 * SLICE_MS; between slices the worker returns to its event loop, so the page's messages (pause, one
 * batch, reset, classify this drawing) are answered within a slice while it trains.
 *
 * Two kinds of step look inside (inspect.ts): every STATS_MS of training one step also measures the
 * hidden layers (the per-layer charts), and a step the learner asks for ("one batch") is drawn whole:
 * its images, every layer's outputs and gradients, the weights' gradients and the tape. Both are
 * trainStep itself, watched, so they train exactly as the other steps do.
 */
import { Rng, Tensor, getBackend, getThreads, noGrad, setBackend } from '../engine/index.js';
import { DataLoader, type Batch } from '../data/loader.js';
import { Dense, type Sequential } from '../layers/index.js';
import type { Optimizer } from '../optim/index.js';
import {
  buildModel, buildOptimizer, buildSchedule, evaluate, rangeTest, resolveLoss, resolveMetrics, seeds, trainStep, type RunSchedule, type StepResult, type StepSetup,
} from '../train/index.js';
import { CLASSES, INPUTS, noiseSeed, type TrainConfig } from './config.js';
import { argmaxRows, measuredStep, pictureStep } from './inspect.js';
import { fetchMnist, type LoadedMnist } from './mnist.js';
import { GRID_SIZE, STEP_ROWS, WEIGHT_UNITS, type BatchPoint, type FromWorker, type LayerPoint, type ToWorker } from './protocol.js';

/** Longest stretch of training between two looks at the message queue. */
const SLICE_MS = 50;
/** How often the page gets the batches' numbers, the weights and the grid's guesses. */
const POINTS_MS = 250;
const PICTURES_MS = 1000;
/** How often (in training time) a step measures the hidden layers for the per-layer charts. */
const STATS_MS = 200;
/** Smoothing of the per-batch curves (the LR finder's default too). */
const EMA_BETA = 0.98;
const EVAL_BATCH = 1000;

const post = (msg: FromWorker, transfer: Transferable[] = []): void => self.postMessage(msg, transfer);

/**
 * The backend: the WebAssembly kernels wherever SIMD validates — over the tensors' shared memory in a
 * cross-origin-isolated page (the host sends COOP/COEP, or the site's service worker adds them), over a
 * private memory of their own elsewhere (engine/backends/); the TypeScript kernels ('js') only where
 * SIMD is missing. setBackend compiles the module without blocking and says why it cannot run. The
 * page is told the backend, whether it is isolated, and the thread count.
 */
async function chooseBackend(): Promise<void> {
  let reason: string | null = null;
  try {
    await setBackend('wasm');
  } catch (e) {
    reason = (e as Error).message;
  }
  post({ type: 'backend', backend: getBackend(), isolated: self.crossOriginIsolated, threads: getThreads(), reason });
}

let data: LoadedMnist | null = null;
let gridX: Tensor | null = null;

async function load(): Promise<void> {
  if (data !== null) return;
  post({ type: 'status', text: 'loading MNIST…' });
  const t0 = performance.now();
  data = await fetchMnist(new URL('data/', self.location.href).href);
  const ms = performance.now() - t0;
  const grid = data.test.take(GRID_SIZE);
  const gridPixels = (grid.x as Uint8Array).slice();
  const gridFloats = new Float32Array(gridPixels.length);
  for (let i = 0; i < gridPixels.length; i++) gridFloats[i] = gridPixels[i] / 255;
  gridX = Tensor.from(gridFloats, { shape: [GRID_SIZE, 784] });
  post(
    {
      type: 'loaded', trainCount: data.train.count, testCount: data.test.count, bytes: data.bytes, ms,
      gridPixels, gridLabels: grid.labels.slice(),
    },
    [gridPixels.buffer],
  );
}

/**
 * Pause, resume and "one batch". The loop asks `wait()` before a batch while paused: 'run' when it is
 * not paused (any more), 'step' once for each batch asked for while paused.
 */
class Gate {
  paused = false;
  private steps = 0;
  private wake: (() => void) | null = null;

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.release();
  }

  step(): void {
    this.steps++;
    this.release();
  }

  async wait(): Promise<'run' | 'step'> {
    for (;;) {
      if (!this.paused) return 'run';
      if (this.steps > 0) {
        this.steps--;
        return 'step';
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private release(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

interface Run {
  config: TrainConfig;
  model: Sequential;
  optimizer: Optimizer;
  schedule: RunSchedule | undefined;
  loader: DataLoader;
  setup: StepSetup & { model: Sequential };
  /** Draws the input noise (config.noise), or null without it. */
  noise: Rng | null;
  gate: Gate;
  stopped: boolean;
}
let run: Run | null = null;

function newRun(config: TrainConfig): Run {
  const model = buildModel(config, INPUTS, CLASSES);
  const optimizer = buildOptimizer(config, model);
  const loader = new DataLoader(data!.train.take(config.train), { batchSize: config.batchSize, seed: seeds.loader(config.seed) });
  const loss = resolveLoss('crossEntropy', 'playground');
  return {
    config, model, optimizer, loader,
    schedule: buildSchedule(config, optimizer, loader.batchesPerEpoch),
    setup: { model, optimizer, loss, metrics: resolveMetrics(['accuracy'], loss, true, 'playground') },
    noise: config.noise > 0 ? new Rng(noiseSeed(config.seed)) : null,
    gate: new Gate(),
    stopped: false,
  };
}

/** Adds the run's input noise to a training batch's pixels, in place (the loader refills them every batch). */
function addNoise(r: Run, batch: Batch): void {
  if (r.noise === null) return;
  const x = batch.x.data;
  const sigma = r.config.noise;
  for (let i = 0; i < x.length; i++) x[i] += sigma * r.noise.normal();
}

/** Back to the event loop once (a message-channel task, so no timer clamping). */
const channel = new MessageChannel();
let wake: (() => void) | null = null;
channel.port1.onmessage = () => {
  const w = wake;
  wake = null;
  w?.();
};
function breathe(): Promise<void> {
  return new Promise<void>((resolve) => {
    wake = resolve;
    channel.port2.postMessage(0);
  });
}

function postPictures(model: Sequential): void {
  const first = model.layers.find((l): l is Dense => l instanceof Dense)!;
  const units = Math.min(WEIGHT_UNITS, first.outFeatures);
  const weights = first.weight.data.slice(0, units * 784);
  post({ type: 'weights', units, data: weights }, [weights.buffer]);
  const wasTraining = model.training;
  model.eval();
  const predictions = noGrad(() => argmaxRows(model.forward(gridX!).data, GRID_SIZE, 10));
  model.train(wasTraining);
  post({ type: 'grid', predictions }, [predictions.buffer]);
}

/**
 * The per-batch numbers on their way to the page: each batch's loss and accuracy, their moving averages
 * (debiased as in Adam, so the first points are not pulled toward 0), the layer measurements, and the
 * speed, posted every POINTS_MS.
 */
class BatchReport {
  private points: BatchPoint[] = [];
  private layerPoints: LayerPoint[] = [];
  private lossEma = 0;
  private accuracyEma = 0;
  private steps = 0;
  private samples = 0;
  private since = performance.now();

  add(x: number, loss: number, accuracy: number, lr: number, size: number): void {
    this.lossEma = EMA_BETA * this.lossEma + (1 - EMA_BETA) * loss;
    this.accuracyEma = EMA_BETA * this.accuracyEma + (1 - EMA_BETA) * accuracy;
    const debias = 1 - Math.pow(EMA_BETA, ++this.steps);
    this.points.push({ x, loss, accuracy, lossAvg: this.lossEma / debias, accuracyAvg: this.accuracyEma / debias, lr });
    this.samples += size;
  }

  addLayers(point: LayerPoint): void {
    this.layerPoints.push(point);
  }

  /** Posts what has been collected if POINTS_MS have passed, or now if `force` (an epoch's end, a step). */
  post(where: { lr: number; epoch: number; batch: number; batchesPerEpoch: number }, force = false): void {
    const ms = performance.now() - this.since;
    if (this.points.length === 0 || (!force && ms < POINTS_MS)) return;
    // A short stretch (the tail of an epoch, one step) is too few batches to time.
    const samplesPerSecond = ms >= POINTS_MS / 2 && !force ? (this.samples * 1000) / ms : null;
    post({ type: 'batches', points: this.points, layerPoints: this.layerPoints, samplesPerSecond, ...where });
    this.points = [];
    this.layerPoints = [];
    this.restartClock();
  }

  /** After a pause or a test pass, which are not training time. */
  restartClock(): void {
    this.samples = 0;
    this.since = performance.now();
  }
}

/** Sum of squares of a Float32Array, in float64. */
function sumSquares(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}

/** One step the learner asked for: trainStep watched whole (inspect.ts), posted as 'stepped'. */
function steppedBatch(r: Run, batch: Batch, step: number): StepResult {
  const dense = r.model.layers.filter((l): l is Dense => l instanceof Dense);
  const before = dense.map((d) => d.weight.data.slice());
  const lr = r.optimizer.lr;
  const pictures = pictureStep(r.setup, batch, STEP_ROWS);
  const updateRatios = dense.map((d, i) => {
    const w = d.weight.data;
    let moved = 0;
    for (let k = 0; k < w.length; k++) moved += (w[k] - before[i][k]) ** 2;
    return Math.sqrt(moved / Math.max(sumSquares(before[i]), 1e-30));
  });
  const { result } = pictures;
  const transfer = [
    pictures.images.buffer, pictures.labels.buffer, pictures.guesses.buffer,
    ...pictures.layers.flatMap((l) => (l.grad === null ? [l.values.buffer] : [l.values.buffer, l.grad.buffer])),
    ...pictures.weightGradients.map((g) => g.data.buffer),
  ];
  post(
    {
      type: 'stepped', step, epoch: batch.epoch, batch: batch.index, batchesPerEpoch: r.loader.batchesPerEpoch,
      loss: result.loss, accuracy: result.metrics[0] / result.size, lr, applied: result.applied,
      rows: pictures.rows, images: pictures.images, labels: pictures.labels, guesses: pictures.guesses,
      layers: pictures.layers, weightGradients: pictures.weightGradients, updateRatios, dot: pictures.dot,
    },
    transfer as Transferable[],
  );
  return result;
}

async function train(r: Run): Promise<void> {
  const { config, model, optimizer, schedule, loader } = r;
  const batchesPerEpoch = loader.batchesPerEpoch;
  const report = new BatchReport();
  post({ type: 'status', text: `training ${loader.dataset.count.toLocaleString('en')} images…` });
  postPictures(model);

  let step = 0;
  let lastSlice = performance.now();
  let lastPictures = lastSlice;
  let lastStats = -Infinity;
  let testAccuracy = NaN;
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    // A schedule says what steps it, as fit's LearningRateScheduler reads it: per-epoch ones here,
    // per-batch ones (onecycle, cyclic) before each batch, metric ones (plateau) at the epoch's end.
    if (schedule?.stepsOn === 'epoch') schedule.step(epoch);
    const epochStart = performance.now();
    let pausedMs = 0;
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    for (const batch of loader.epochBatches(epoch)) {
      // While paused, every batch waits at the gate: it runs when resumed, or alone, watched, when asked for.
      let mode: 'run' | 'step' = 'run';
      if (r.gate.paused || performance.now() - lastSlice >= SLICE_MS) {
        const t0 = performance.now();
        await breathe();
        if (r.gate.paused) {
          mode = await r.gate.wait();
          pausedMs += performance.now() - t0;
          report.restartClock();
        }
        if (r.stopped) return;
        lastSlice = performance.now();
      }

      if (schedule?.stepsOn === 'batch') schedule.step(step);
      const lr = optimizer.lr;
      model.train();
      addNoise(r, batch);
      let result: StepResult;
      const now = performance.now();
      if (mode === 'step') {
        result = steppedBatch(r, batch, step + 1);
      } else if (now - lastStats >= STATS_MS) {
        const measured = measuredStep(r.setup, batch);
        result = measured.result;
        report.addLayers({ x: epoch + (batch.index + 1) / batchesPerEpoch, layers: measured.layers });
        lastStats = now;
      } else {
        result = trainStep(r.setup, batch);
      }
      if (!result.applied) {
        run = null; // a model with non-finite weights has nothing to say about a drawing
        post({ type: 'stopped', reason: `the loss is ${result.loss} at epoch ${epoch + 1}, batch ${batch.index + 1} (rate ${lr.toPrecision(3)}): training diverged; lower the learning rate` });
        return;
      }
      step++;

      const batchCorrect = result.metrics[0];
      lossSum += result.loss * batch.size;
      correct += batchCorrect;
      seen += batch.size;
      report.add(epoch + (batch.index + 1) / batchesPerEpoch, result.loss, batchCorrect / batch.size, lr, batch.size);
      report.post({ lr: optimizer.lr, epoch, batch: batch.index, batchesPerEpoch }, mode === 'step');

      if (mode === 'step' || performance.now() - lastPictures >= PICTURES_MS) {
        postPictures(model);
        lastPictures = performance.now();
      }
    }
    report.post({ lr: optimizer.lr, epoch, batch: batchesPerEpoch - 1, batchesPerEpoch }, true);
    // The page holds out no validation set: the plateau is the training loss's, as fit's without one.
    if (schedule?.stepsOn === 'metric') schedule.step(epoch, lossSum / seen);
    const trainSeconds = (performance.now() - epochStart - pausedMs) / 1000;

    post({ type: 'status', text: `epoch ${epoch + 1}: testing on ${data!.test.count.toLocaleString('en')} images…` });
    await breathe();
    if (r.stopped) return;
    // fit's test pass: eval mode, no tape, batch by batch through evalStep.
    const test = evaluate(model, data!.test, { batchSize: EVAL_BATCH });
    model.train();
    testAccuracy = test.accuracy;
    postPictures(model);
    post({
      type: 'epoch', epoch: epoch + 1, trainLoss: lossSum / seen, trainAccuracy: correct / seen,
      testLoss: test.loss, testAccuracy, trainSeconds, samplesPerSecond: seen / trainSeconds,
    });
    if (!r.gate.paused) post({ type: 'status', text: `epoch ${epoch + 1}: test accuracy ${testAccuracy.toFixed(4)}` });
    report.restartClock();
  }
  post({ type: 'done', testAccuracy });
}

function classify(pixels: Float32Array): void {
  if (run === null) {
    post({ type: 'guess', digit: -1, probabilities: [] });
    return;
  }
  const model = run.model;
  const wasTraining = model.training;
  model.eval();
  const probs = noGrad(() => model.forward(Tensor.from(pixels, { shape: [1, 784] })).softmax(-1).data.slice());
  model.train(wasTraining);
  let best = 0;
  for (let c = 1; c < 10; c++) if (probs[c] > probs[best]) best = c;
  post({ type: 'guess', digit: best, probabilities: Array.from(probs) });
}

/** The command line's range (tapegrad lr-find): 1e-5 to 10 over 100 batches, on a fresh model, through train/'s rangeTest. */
function lrFind(config: TrainConfig): void {
  if (data === null) throw new Error('lr-find: MNIST is not loaded yet');
  const model = buildModel(config, INPUTS, CLASSES);
  const optimizer = buildOptimizer(config, model);
  const result = rangeTest(model, {
    data: data.train.take(config.train), optimizer, start: 1e-5, end: 10, steps: 100, batchSize: config.batchSize, seed: seeds.loader(config.seed),
  });
  post({
    type: 'lr-found', rates: result.rates, losses: result.losses, centered: result.centered,
    suggested: result.suggested, stopReason: result.stopReason, optimizer: config.optimizer,
  });
}

function stopRun(): void {
  if (run === null) return;
  run.stopped = true;
  run.gate.resume();
  run = null;
}

/** A new run of `config`, trained until it ends; started paused when the learner stepped first. */
async function startRun(config: TrainConfig, paused: boolean): Promise<void> {
  if (data === null) throw new Error('start: MNIST is not loaded yet');
  stopRun();
  const r = newRun(config);
  run = r;
  if (paused) {
    r.gate.pause();
    r.gate.step();
  }
  await train(r);
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'load':
      await load();
      return;
    case 'start':
      await startRun(msg.config, false);
      return;
    case 'pause':
      if (run !== null && !run.gate.paused) {
        run.gate.pause();
        post({ type: 'paused' });
      }
      return;
    case 'resume':
      run?.gate.resume();
      post({ type: 'resumed' });
      return;
    case 'step':
      if (run === null) {
        post({ type: 'paused' });
        await startRun(msg.config, true);
      } else if (run.gate.paused) {
        run.gate.step();
      }
      return;
    case 'reset':
      stopRun();
      post({ type: 'reset' });
      return;
    case 'classify':
      classify(msg.pixels);
      return;
    case 'lr-find':
      lrFind(msg.config);
      return;
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((e: unknown) => {
    post({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  });
};

chooseBackend().catch((e: unknown) => post({ type: 'error', message: String(e) }));
