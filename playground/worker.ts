/**
 * The training worker: it holds MNIST and the model, trains with the public API (Sequential, an
 * optimizer, a schedule, Tensor.crossEntropy, noGrad) and posts what the page draws. Training runs in
 * slices of about SLICE_MS; between slices the worker returns to its event loop, so the page's messages
 * (pause, reset, classify this drawing) are answered within a slice while it trains.
 */
import { Tensor, getBackend, noGrad, scoped, setBackend } from '../engine/index.js';
import { DataLoader, type Batch } from '../data/loader.js';
import type { Dataset } from '../data/dataset.js';
import type { Dense, Sequential } from '../layers/index.js';
import { findLearningRate } from '../optim/index.js';
import { buildModel, buildOptimizer, buildSchedule, type TrainConfig } from './config.js';
import { fetchMnist, type LoadedMnist } from './mnist.js';
import { GRID_SIZE, WEIGHT_UNITS, type BatchPoint, type FromWorker, type ToWorker } from './protocol.js';

/** Longest stretch of training between two looks at the message queue. */
const SLICE_MS = 50;
/** How often the page gets the batches' numbers, the weights and the grid's guesses. */
const POINTS_MS = 250;
const PICTURES_MS = 1000;
/** Smoothing of the per-batch curves (the LR finder's default too). */
const EMA_BETA = 0.98;
const EVAL_BATCH = 1000;

const post = (msg: FromWorker, transfer: Transferable[] = []): void => self.postMessage(msg, transfer);

/**
 * The backend: the WebAssembly kernels run wherever SIMD validates — over the tensors' shared memory in
 * a cross-origin-isolated page (the playground's server sends COOP/COEP unless told not to), over a
 * private memory of their own elsewhere; the TypeScript kernels ('js') only where SIMD is missing.
 * setBackend compiles the module without blocking and says why when it cannot run.
 */
async function chooseBackend(): Promise<void> {
  const isolated = self.crossOriginIsolated;
  try {
    await setBackend('wasm');
  } catch (e) {
    post({ type: 'status', text: `WebAssembly backend unavailable here (${(e as Error).message})` });
  }
  post({ type: 'backend', backend: getBackend(), isolated });
}

let data: LoadedMnist | null = null;
let gridX: Tensor | null = null;

interface Run {
  config: TrainConfig;
  model: Sequential;
  stopped: boolean;
}
let run: Run | null = null;
/** Set while paused: resolving it resumes the loop. */
let paused: { promise: Promise<void>; resume: () => void } | null = null;

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

/** Back to the event loop once (a message-channel task, so no timer clamping), and wait out a pause. */
const channel = new MessageChannel();
let wake: (() => void) | null = null;
channel.port1.onmessage = () => {
  const w = wake;
  wake = null;
  w?.();
};
/** Returns the milliseconds spent paused (0 when there was no pause). */
async function breathe(): Promise<number> {
  await new Promise<void>((resolve) => {
    wake = resolve;
    channel.port2.postMessage(0);
  });
  if (paused === null) return 0;
  const t0 = performance.now();
  while (paused !== null) await paused.promise;
  return performance.now() - t0;
}

/** Row-wise argmax of [B, 10] logits. */
function argmaxRows(logits: Float32Array, rows: number, cols: number, out: Int32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let best = 0;
    for (let c = 1; c < cols; c++) if (logits[o + c] > logits[o + best]) best = c;
    out[r] = best;
  }
}

function correctCount(logits: Tensor, labels: Int32Array, scratch: Int32Array): number {
  const rows = logits.shape[0];
  argmaxRows(logits.data, rows, logits.shape[1], scratch);
  let correct = 0;
  for (let r = 0; r < rows; r++) if (scratch[r] === labels[r]) correct++;
  return correct;
}

/** Mean loss and accuracy over a data set, in eval mode with no tape. */
async function evaluate(model: Sequential, ds: Dataset, r: Run): Promise<{ loss: number; accuracy: number } | null> {
  const loader = new DataLoader(ds, { batchSize: EVAL_BATCH, shuffle: false });
  const scratch = new Int32Array(EVAL_BATCH);
  let lossSum = 0;
  let correct = 0;
  for (const batch of loader.epochBatches(0)) {
    model.eval();
    scoped(() =>
      noGrad(() => {
        const logits = model.forward(batch.x);
        lossSum += Tensor.crossEntropy(logits, batch.y).item() * batch.size;
        correct += correctCount(logits, batch.y, scratch);
      }),
    );
    await breathe();
    if (r.stopped) return null;
  }
  return { loss: lossSum / ds.count, accuracy: correct / ds.count };
}

function postPictures(model: Sequential): void {
  const first = model.layers[0] as Dense;
  const units = Math.min(WEIGHT_UNITS, first.outFeatures);
  const weights = first.weight.data.slice(0, units * 784);
  post({ type: 'weights', units, data: weights }, [weights.buffer]);
  const predictions = new Int32Array(GRID_SIZE);
  model.eval();
  noGrad(() => {
    const logits = model.forward(gridX!);
    argmaxRows(logits.data, GRID_SIZE, 10, predictions);
  });
  model.train();
  post({ type: 'grid', predictions }, [predictions.buffer]);
}

/**
 * The per-batch numbers on their way to the page: each batch's loss and accuracy, their moving averages
 * (debiased as in Adam, so the first points are not pulled toward 0), and the speed, posted every POINTS_MS.
 */
class BatchReport {
  private points: BatchPoint[] = [];
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

  /** Posts what has been collected if POINTS_MS have passed, or now if `force` (an epoch's end). */
  post(where: { lr: number; epoch: number; batch: number; batchesPerEpoch: number }, force = false): void {
    const ms = performance.now() - this.since;
    if (this.points.length === 0 || (!force && ms < POINTS_MS)) return;
    // A short stretch (the tail of an epoch) is too few batches to time.
    const samplesPerSecond = ms >= POINTS_MS / 2 ? (this.samples * 1000) / ms : null;
    post({ type: 'batches', points: this.points, samplesPerSecond, ...where });
    this.points = [];
    this.restartClock();
  }

  /** After a pause or a test pass, which are not training time. */
  restartClock(): void {
    this.samples = 0;
    this.since = performance.now();
  }
}

async function train(r: Run): Promise<void> {
  const { config, model } = r;
  const trainSet = data!.train.take(config.train);
  const optimizer = buildOptimizer(config, model.parameters());
  const loader = new DataLoader(trainSet, { batchSize: config.batchSize, seed: config.seed });
  const batchesPerEpoch = loader.batchesPerEpoch;
  const schedule = buildSchedule(config, optimizer, batchesPerEpoch);
  const scratch = new Int32Array(config.batchSize);
  const report = new BatchReport();
  post({ type: 'status', text: `training ${trainSet.count.toLocaleString('en')} images…` });
  postPictures(model);

  let step = 0;
  let lastSlice = performance.now();
  let lastPictures = lastSlice;
  let testAccuracy = NaN;
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    // A schedule says what steps it: per-epoch ones here, per-batch ones (OneCycle) before each batch.
    if (schedule !== null && schedule.stepsOn === 'epoch') schedule.step(epoch);
    const epochStart = performance.now();
    let pausedMs = 0;
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    for (const batch of loader.epochBatches(epoch)) {
      if (schedule !== null && schedule.stepsOn === 'batch') schedule.step(step);
      const lr = optimizer.lr;
      model.train();
      // One step in an engine memory scope: its activations and gradients go back to the arena at its end.
      const { lossValue, batchCorrect } = scoped(() => {
        optimizer.zeroGrad();
        const logits = model.forward(batch.x);
        const loss = Tensor.crossEntropy(logits, batch.y);
        const value = loss.item();
        if (Number.isFinite(value)) {
          loss.backward();
          optimizer.step();
        }
        return { lossValue: value, batchCorrect: correctCount(logits, batch.y, scratch) };
      });
      if (!Number.isFinite(lossValue)) {
        run = null; // a model with non-finite weights has nothing to say about a drawing
        post({ type: 'stopped', reason: `the loss is ${lossValue} at epoch ${epoch + 1}, batch ${batch.index + 1} (rate ${lr.toPrecision(3)}): training diverged; lower the learning rate` });
        return;
      }
      step++;

      lossSum += lossValue * batch.size;
      correct += batchCorrect;
      seen += batch.size;
      report.add(epoch + (batch.index + 1) / batchesPerEpoch, lossValue, batchCorrect / batch.size, lr, batch.size);
      report.post({ lr: optimizer.lr, epoch, batch: batch.index, batchesPerEpoch });

      const now = performance.now();
      if (now - lastPictures >= PICTURES_MS) {
        postPictures(model);
        lastPictures = now;
      }
      if (now - lastSlice >= SLICE_MS) {
        const paused = await breathe();
        if (r.stopped) return;
        if (paused > 0) report.restartClock();
        pausedMs += paused;
        lastSlice = performance.now();
      }
    }
    report.post({ lr: optimizer.lr, epoch, batch: batchesPerEpoch - 1, batchesPerEpoch }, true);
    const trainSeconds = (performance.now() - epochStart - pausedMs) / 1000;

    post({ type: 'status', text: `epoch ${epoch + 1}: testing on ${data!.test.count.toLocaleString('en')} images…` });
    const test = await evaluate(model, data!.test, r);
    if (test === null) return;
    testAccuracy = test.accuracy;
    postPictures(model);
    post({
      type: 'epoch', epoch: epoch + 1, trainLoss: lossSum / seen, trainAccuracy: correct / seen,
      testLoss: test.loss, testAccuracy: test.accuracy, trainSeconds, samplesPerSecond: seen / trainSeconds,
    });
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
  const probs = noGrad(() => model.forward(Tensor.from(pixels, { shape: [1, 784] })).softmax(-1).data);
  model.train(wasTraining);
  let best = 0;
  for (let c = 1; c < 10; c++) if (probs[c] > probs[best]) best = c;
  post({ type: 'guess', digit: best, probabilities: Array.from(probs) });
}

function lrFind(config: TrainConfig): void {
  if (data === null) throw new Error('lr-find: MNIST is not loaded yet');
  const model = buildModel(config);
  const optimizer = buildOptimizer(config, model.parameters());
  const loader = new DataLoader(data!.train.take(config.train), { batchSize: config.batchSize, seed: config.seed });
  // The command line's range (tapegrad lr-find): 1e-5 to 10 over 100 batches, stopping once the loss blows up.
  const trainOn = (batch: Batch): number =>
    scoped(() => {
      optimizer.zeroGrad();
      const loss = Tensor.crossEntropy(model.forward(batch.x), batch.y);
      const value = loss.item();
      if (Number.isFinite(value)) {
        loss.backward();
        optimizer.step();
      }
      return value;
    });
  const result = findLearningRate(trainOn, loader.epochBatches(0), { model, optimizer, start: 1e-5, end: 10, steps: 100 });
  post({
    type: 'lr-found', rates: result.rates, losses: result.losses, centered: result.centered,
    suggested: result.suggested, stopReason: result.stopReason, optimizer: config.optimizer,
  });
}

function stopRun(): void {
  if (run !== null) run.stopped = true;
  run = null;
  const p = paused;
  paused = null;
  p?.resume();
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'load':
      await load();
      return;
    case 'start': {
      if (data === null) throw new Error('start: MNIST is not loaded yet');
      stopRun();
      const r: Run = { config: msg.config, model: buildModel(msg.config), stopped: false };
      run = r;
      await train(r);
      return;
    }
    case 'pause':
      if (run !== null && paused === null) {
        let resume = () => {};
        const promise = new Promise<void>((res) => (resume = res));
        paused = { promise, resume };
        post({ type: 'paused' });
      }
      return;
    case 'resume': {
      const p = paused;
      paused = null;
      p?.resume();
      post({ type: 'resumed' });
      return;
    }
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
