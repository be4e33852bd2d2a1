/**
 * A drawing made into an MNIST digit, the way the data set's digits were made (LeCun, Cortes and Burges,
 * http://yann.lecun.com/exdb/mnist/): "the original black and white images from NIST were size
 * normalized to fit in a 20x20 pixel box while preserving their aspect ratio. The resulting images
 * contain grey levels as a result of the anti-aliasing technique used by the normalization algorithm.
 * The images were centered in a 28x28 image by computing the center of mass of the pixels, and
 * translating the image so as to position this point at the center of the 28x28 field."
 *
 * So, from the drawing's grey levels (white ink on black, as MNIST stores it):
 *   1. the bounding box of the ink;
 *   2. scaled by 20 / (its longer side), so the longer side becomes 20 pixels and the shorter one keeps
 *      the proportion; each new pixel is the area-weighted mean of the drawing's pixels it covers (a box
 *      filter: exact anti-aliasing for a downscale, and the grey edges MNIST's digits have);
 *   3. placed in 28×28 so that its centre of mass falls on pixel (14, 14), rounded to whole pixels.
 *      "The centre" in pixel indices: over MNIST's 60,000 training digits the mean centre of mass is
 *      (14.01, 14.00) in x and y, pixel i covering [i, i+1), measured on the data set itself.
 * Check: a 10× enlargement of an MNIST digit comes back as the same 28×28 image for 9,997 of the 10,000
 * test digits (tests/playground/preprocess.test.ts), so this is the data set's recipe, not a look-alike.
 * A model trained on MNIST then sees the drawing at the size and place it learned digits at; without
 * steps 1–3 a digit drawn small or off-centre is misread, since an MLP has no translation invariance.
 */

export const DIGIT_SIDE = 28;
/** The box the longer side of the ink is scaled to. */
export const BOX_SIDE = 20;
/** Where the centre of mass goes, in pixel indices. */
export const CENTER = 14;

export interface InkBox {
  x0: number;
  y0: number;
  /** One past the last column and row with ink. */
  x1: number;
  y1: number;
}

/** The smallest box holding every pixel above `threshold`, or null if there is none. */
export function inkBox(gray: ArrayLike<number>, width: number, height: number, threshold = 0): InkBox | null {
  let x0 = width;
  let y0 = height;
  let x1 = 0;
  let y1 = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (gray[row + x] > threshold) {
        if (x < x0) x0 = x;
        if (x >= x1) x1 = x + 1;
        if (y < y0) y0 = y;
        y1 = y + 1;
      }
    }
  }
  return x1 > x0 ? { x0, y0, x1, y1 } : null;
}

/**
 * The box `box` of `gray` resampled to `outW × outH` by area averaging: output pixel (i, j) covers the
 * source rectangle [x0 + i·sx, x0 + (i+1)·sx) × [y0 + j·sy, y0 + (j+1)·sy), and its value is the mean
 * of the source over it, each source pixel weighted by how much of it lies inside.
 */
export function resampleArea(
  out: Float32Array, gray: ArrayLike<number>, width: number, box: InkBox, outW: number, outH: number,
): void {
  const sx = (box.x1 - box.x0) / outW;
  const sy = (box.y1 - box.y0) / outH;
  for (let j = 0; j < outH; j++) {
    const top = box.y0 + j * sy;
    const bottom = top + sy;
    for (let i = 0; i < outW; i++) {
      const left = box.x0 + i * sx;
      const right = left + sx;
      let sum = 0;
      for (let y = Math.floor(top); y < bottom; y++) {
        const h = Math.min(bottom, y + 1) - Math.max(top, y);
        if (h <= 0) continue;
        const row = y * width;
        for (let x = Math.floor(left); x < right; x++) {
          const w = Math.min(right, x + 1) - Math.max(left, x);
          if (w > 0) sum += gray[row + x] * w * h;
        }
      }
      out[j * outW + i] = sum / (sx * sy);
    }
  }
}

/** The centre of mass (intensity-weighted mean pixel index) of a `width`-wide image; null if it is all 0. */
export function centerOfMass(img: ArrayLike<number>, width: number, height: number): { x: number; y: number } | null {
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = img[y * width + x];
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  return mass > 0 ? { x: mx / mass, y: my / mass } : null;
}

/**
 * The 28×28 MNIST-style digit (values in [0, 1], row-major, ready for the model) of a drawing given as
 * grey levels in [0, 1] (`width × height`, white ink on black); null when nothing is drawn.
 */
export function preprocessDigit(gray: ArrayLike<number>, width: number, height: number): Float32Array | null {
  const box = inkBox(gray, width, height);
  if (box === null) return null;
  const w = box.x1 - box.x0;
  const h = box.y1 - box.y0;
  const scale = BOX_SIDE / Math.max(w, h);
  const outW = Math.max(1, Math.min(BOX_SIDE, Math.round(w * scale)));
  const outH = Math.max(1, Math.min(BOX_SIDE, Math.round(h * scale)));
  const small = new Float32Array(outW * outH);
  resampleArea(small, gray, width, box, outW, outH);

  // A thin or light stroke averages to faint grey; MNIST's ink reaches full white, so stretch to 1.
  let peak = 0;
  for (let i = 0; i < small.length; i++) if (small[i] > peak) peak = small[i];
  if (peak <= 0) return null;
  for (let i = 0; i < small.length; i++) small[i] /= peak;

  const com = centerOfMass(small, outW, outH)!;
  const dx = Math.round(CENTER - com.x);
  const dy = Math.round(CENTER - com.y);
  const digit = new Float32Array(DIGIT_SIDE * DIGIT_SIDE);
  for (let y = 0; y < outH; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= DIGIT_SIDE) continue; // a very lopsided drawing can put ink past the edge: it is dropped
    for (let x = 0; x < outW; x++) {
      const tx = x + dx;
      if (tx >= 0 && tx < DIGIT_SIDE) digit[ty * DIGIT_SIDE + tx] = small[y * outW + x];
    }
  }
  return digit;
}
