/**
 * The page's images (not charts): first-layer weights as 28×28 tiles, and MNIST digits. Each image is
 * written pixel by pixel into a small ImageData and scaled up with smoothing off, so every weight or
 * pixel stays a visible square.
 */

/** Writes a 28×28 grey image (values in [0, 1], white ink on black as MNIST stores it) at (x, y). */
export function drawDigit(ctx: CanvasRenderingContext2D, pixels: ArrayLike<number>, offset: number, scale: number, x = 0, y = 0): void {
  const img = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, pixels[offset + i])));
    img.data[4 * i] = v;
    img.data[4 * i + 1] = v;
    img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  blit(ctx, img, scale, x, y);
}

const tile = document.createElement('canvas');
tile.width = 28;
tile.height = 28;
const tileCtx = tile.getContext('2d')!;

function blit(ctx: CanvasRenderingContext2D, img: ImageData, scale: number, x: number, y: number): void {
  tileCtx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tile, x, y, 28 * scale, 28 * scale);
}

export const WEIGHT_SCALE = 2;
export const WEIGHT_GAP = 4;

/** The canvas size a grid of `units` weight tiles needs, `columns` wide. */
export function weightGridSize(units: number, columns: number): { width: number; height: number } {
  const step = 28 * WEIGHT_SCALE + WEIGHT_GAP;
  return { width: columns * step - WEIGHT_GAP, height: Math.ceil(units / columns) * step - WEIGHT_GAP };
}

/**
 * Each unit's 784 incoming weights as a 28×28 tile: red where the unit is excited by ink at that pixel,
 * blue where ink inhibits it, white near zero. Each tile has its own scale (its largest |w| is full
 * colour), since units differ in magnitude and what matters here is the pattern.
 */
export function drawWeights(ctx: CanvasRenderingContext2D, weights: Float32Array, units: number, columns: number): void {
  const step = 28 * WEIGHT_SCALE + WEIGHT_GAP;
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  const img = new ImageData(28, 28);
  for (let u = 0; u < units; u++) {
    const o = u * 784;
    let peak = 1e-12;
    for (let i = 0; i < 784; i++) peak = Math.max(peak, Math.abs(weights[o + i]));
    for (let i = 0; i < 784; i++) {
      const v = weights[o + i] / peak;
      const fade = Math.round(255 * (1 - Math.abs(v)));
      img.data[4 * i] = v > 0 ? 255 : fade;
      img.data[4 * i + 1] = fade;
      img.data[4 * i + 2] = v > 0 ? fade : 255;
      img.data[4 * i + 3] = 255;
    }
    blit(ctx, img, WEIGHT_SCALE, (u % columns) * step, Math.floor(u / columns) * step);
  }
}

const scratch = document.createElement('canvas');
const scratchCtx = scratch.getContext('2d')!;

/** The largest |value|, or a tiny number for all zeros (so that nothing divides by 0). */
export function peakOf(values: ArrayLike<number>, from = 0, to = values.length): number {
  let peak = 1e-30;
  for (let i = from; i < to; i++) {
    const a = Math.abs(values[i]);
    if (a > peak && Number.isFinite(a)) peak = a;
  }
  return peak;
}

/**
 * A rows × cols matrix (row after row) as a heat map on the whole canvas, each value one cell: red
 * where it is positive, blue where negative, white at 0, full colour at ±`peak` (default: the largest
 * |value|, so the picture shows the pattern whatever the magnitude). The canvas is sized by the caller;
 * cells are stretched to fill it with smoothing off, so each value stays a visible rectangle.
 */
export function drawHeat(ctx: CanvasRenderingContext2D, values: ArrayLike<number>, rows: number, cols: number, peak = peakOf(values, 0, rows * cols)): void {
  const img = new ImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const v = Math.max(-1, Math.min(1, values[i] / peak));
    const fade = Math.round(255 * (1 - Math.abs(v)));
    img.data[4 * i] = v > 0 ? 255 : fade;
    img.data[4 * i + 1] = fade;
    img.data[4 * i + 2] = v > 0 ? fade : 255;
    img.data[4 * i + 3] = 255;
  }
  scratch.width = cols;
  scratch.height = rows;
  scratchCtx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.drawImage(scratch, 0, 0, ctx.canvas.width, ctx.canvas.height);
}
