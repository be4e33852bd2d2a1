/**
 * Three ways to hand the model a digit, all through the draw box, so that all three are read the same
 * way (preprocess.ts, MNIST's own recipe): drawing in it with a pointer; pressing one of the test
 * digits (buttons, so Tab and Enter reach them: the keyboard's way in); or choosing an image file
 * (a photo of dark ink on light paper is inverted, since MNIST's digits are light on dark).
 */
import type { ProbabilitiesChart } from './charts.js';
import { drawDigit } from './pictures.js';
import { preprocessDigit } from './preprocess.js';
import { GRID_SIZE } from './protocol.js';

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const draw = el<HTMLCanvasElement>('draw');
const drawCtx = draw.getContext('2d', { willReadFrequently: true })!;
const preview = el<HTMLCanvasElement>('preview');
const previewCtx = preview.getContext('2d')!;

let classify: (pixels: Float32Array) => void = () => {};
let probsChart: ProbabilitiesChart | null = null;
let gridLabels: Int32Array = new Int32Array(0);
let gridFloats: Float32Array = new Float32Array(0);

export function setProbabilitiesChart(chart: ProbabilitiesChart): void {
  probsChart = chart;
}

/** The model's reading of the digit, or null when there is no model to read it. */
export function showGuess(guess: { digit: number; probabilities: number[] } | null): void {
  el('guess').textContent = guess === null ? '–' : String(guess.digit);
  if (guess !== null) probsChart?.show(guess.probabilities);
}

function clearDrawing(): void {
  drawCtx.fillStyle = '#000';
  drawCtx.fillRect(0, 0, draw.width, draw.height);
  previewCtx.clearRect(0, 0, preview.width, preview.height);
  el('guess').textContent = '–';
}

/** Reads the draw box as MNIST would have made it, shows that, and asks the model. */
function classifyDrawing(): void {
  const { data } = drawCtx.getImageData(0, 0, draw.width, draw.height);
  const gray = new Float32Array(draw.width * draw.height);
  for (let i = 0; i < gray.length; i++) gray[i] = data[4 * i] / 255;
  const digit = preprocessDigit(gray, draw.width, draw.height);
  if (digit === null) return;
  drawDigit(previewCtx, digit, 0, preview.width / 28);
  classify(digit);
}

// --- drawing -------------------------------------------------------------------------------------------

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
    requestAnimationFrame(() => {
      classifyQueued = false;
      classifyDrawing();
    });
  }
}

// --- the test digits -------------------------------------------------------------------------------------

/** The grid of test digits, each a button that hands the digit to the model. */
export function showTestDigits(pixels: Uint8Array, labels: Int32Array): void {
  gridLabels = labels;
  gridFloats = Float32Array.from(pixels, (v) => v / 255);
  const cells = [];
  for (let i = 0; i < GRID_SIZE; i++) {
    const cell = document.createElement('button');
    cell.type = 'button';
    cell.className = 'digit';
    cell.dataset.index = String(i);
    const canvas = document.createElement('canvas');
    canvas.width = 52;
    canvas.height = 52;
    drawDigit(canvas.getContext('2d')!, gridFloats, i * 784, 52 / 28);
    const caption = document.createElement('span');
    caption.textContent = '·';
    cell.append(canvas, caption);
    cell.setAttribute('aria-label', `test digit ${i + 1}, a ${labels[i]}: show it to the model`);
    cell.title = `label ${labels[i]}`;
    cell.addEventListener('click', () => pickTestDigit(i));
    cells.push(cell);
  }
  el('digits').replaceChildren(...cells);
}

/** The model's guesses for the grid: under each digit, wrong ones marked. */
export function markGuesses(predictions: Int32Array): void {
  document.querySelectorAll<HTMLElement>('.digit').forEach((cell, i) => {
    const wrong = predictions[i] !== gridLabels[i];
    cell.classList.toggle('wrong', wrong);
    cell.querySelector('span')!.textContent = String(predictions[i]);
    cell.title = wrong ? `label ${gridLabels[i]}, guessed ${predictions[i]}` : `label ${gridLabels[i]}`;
  });
}

/** Test digit i, enlarged 10× into the draw box and read from there like a drawing. */
function pickTestDigit(i: number): void {
  clearDrawing();
  drawDigit(drawCtx, gridFloats, i * 784, draw.width / 28);
  classifyDrawing();
}

// --- an image file -----------------------------------------------------------------------------------------

/** The image fitted into the draw box, in grey, light ink on dark (inverted when the picture is mostly light). */
async function pickFile(file: File): Promise<void> {
  const bitmap = await createImageBitmap(file);
  clearDrawing();
  const scale = Math.min(draw.width / bitmap.width, draw.height / bitmap.height);
  const w = bitmap.width * scale;
  const h = bitmap.height * scale;
  drawCtx.drawImage(bitmap, (draw.width - w) / 2, (draw.height - h) / 2, w, h);
  bitmap.close();
  const img = drawCtx.getImageData(0, 0, draw.width, draw.height);
  const inside = (i: number) => {
    const x = (i % draw.width) - (draw.width - w) / 2;
    const y = Math.floor(i / draw.width) - (draw.height - h) / 2;
    return x >= 0 && x < w && y >= 0 && y < h;
  };
  let sum = 0;
  let count = 0;
  const gray = new Float32Array(draw.width * draw.height);
  for (let i = 0; i < gray.length; i++) {
    const d = img.data;
    gray[i] = (0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2]) / 255;
    if (inside(i)) {
      sum += gray[i];
      count++;
    }
  }
  const invert = count > 0 && sum / count > 0.5;
  // Outside the picture (the margins the fit leaves) is background: black, whichever way the picture goes.
  for (let i = 0; i < gray.length; i++) {
    const v = !inside(i) ? 0 : invert ? 1 - gray[i] : gray[i];
    // Faint paper texture is not ink.
    const ink = v < 0.2 ? 0 : v;
    const byte = Math.round(255 * ink);
    img.data[4 * i] = byte;
    img.data[4 * i + 1] = byte;
    img.data[4 * i + 2] = byte;
    img.data[4 * i + 3] = 255;
  }
  drawCtx.putImageData(img, 0, 0);
  classifyDrawing();
}

/** Wires the draw box, the Clear button and the file input; `send` classifies a preprocessed digit. */
export function initDigitInput(send: (pixels: Float32Array) => void): void {
  classify = send;
  clearDrawing();
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
  el('clear').addEventListener('click', clearDrawing);
  const input = el<HTMLInputElement>('digit-file');
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file === undefined) return;
    pickFile(file).catch((e: unknown) => {
      el('status').textContent = `that file could not be read as an image: ${(e as Error).message}`;
    });
  });
}

/** A new run: the grid's guesses and the drawing's reading are the old model's. */
export function clearDigitInput(): void {
  for (const cell of document.querySelectorAll('.digit')) {
    cell.classList.remove('wrong');
    cell.querySelector('span')!.textContent = '·';
  }
  el('guess').textContent = '–';
}
