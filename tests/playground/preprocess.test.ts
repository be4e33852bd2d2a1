import { describe, expect, it } from 'vitest';
import { readIdx, mnistDir } from '../../data/index.js';
import { BOX_SIDE, CENTER, centerOfMass, inkBox, preprocessDigit, resampleArea } from '../../playground/preprocess.js';
import { expectClose } from '../support/expectClose.js';

const W = 280;
const H = 280;

/** A 280×280 drawing: a filled ellipse (centre cx, cy; radii rx, ry) of ink 1 on 0. */
function ellipse(cx: number, cy: number, rx: number, ry: number): Float32Array {
  const img = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const dx = (x + 0.5 - cx) / rx;
      const dy = (y + 0.5 - cy) / ry;
      if (dx * dx + dy * dy <= 1) img[y * W + x] = 1;
    }
  }
  return img;
}

/** A drawing of an "L": a vertical bar and a foot, `t` thick, top-left at (x, y), h tall, w wide. */
function ell(x: number, y: number, w: number, h: number, t: number): Float32Array {
  const img = new Float32Array(W * H);
  for (let j = y; j < y + h; j++) for (let i = x; i < x + t; i++) img[j * W + i] = 1;
  for (let j = y + h - t; j < y + h; j++) for (let i = x; i < x + w; i++) img[j * W + i] = 1;
  return img;
}

describe('resampleArea (the box filter)', () => {
  it('averages what each output pixel covers, weighting partly covered pixels (hand-computed)', () => {
    // 3×3 -> 2×2: output (0,0) covers [0,1.5)², i.e. source (0,0) fully, (1,0) and (0,1) half, (1,1) a quarter.
    const src = Float32Array.from([1, 2, 0, 4, 8, 0, 0, 0, 0]);
    const out = new Float32Array(4);
    resampleArea(out, src, 3, { x0: 0, y0: 0, x1: 3, y1: 3 }, 2, 2);
    expectClose(out[0], (1 + 2 * 0.5 + 4 * 0.5 + 8 * 0.25) / 2.25);
    // Output (1,1) covers [1.5,3)²: source (1,1) a quarter, the rest zeros.
    expectClose(out[3], (8 * 0.25) / 2.25);
    // The mean is preserved: a box filter moves ink around, it neither adds nor loses any.
    expectClose((out[0] + out[1] + out[2] + out[3]) * 2.25, 1 + 2 + 4 + 8);
  });

  it('a 2×2 checkerboard shrinks to its mean', () => {
    const out = new Float32Array(1);
    resampleArea(out, Float32Array.from([1, 0, 0, 1]), 2, { x0: 0, y0: 0, x1: 2, y1: 2 }, 1, 1);
    expectClose(out[0], 0.5);
  });
});

describe('preprocessDigit (MNIST: 20×20 box, aspect kept, centre of mass at the centre)', () => {
  it('returns null for an empty drawing', () => {
    expect(preprocessDigit(new Float32Array(W * H), W, H)).toBeNull();
  });

  it('scales the longer side to 20 pixels, keeps the aspect ratio and puts the centre of mass at (14, 14)', () => {
    // 60 wide, 160 tall, drawn off-centre near the top-left.
    const digit = preprocessDigit(ell(20, 10, 60, 160, 16), W, H)!;
    expect(digit).toHaveLength(784);
    const box = inkBox(digit, 28, 28)!;
    expect(box.y1 - box.y0).toBe(BOX_SIDE);
    expect(box.x1 - box.x0).toBe(Math.round((60 * BOX_SIDE) / 160)); // 7.5 -> 8
    const com = centerOfMass(digit, 28, 28)!;
    expect(Math.abs(com.x - CENTER)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(com.y - CENTER)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...digit)).toBeCloseTo(1, 6);
    // The box filter leaves grey edges (anti-aliasing), as MNIST's digits have.
    expect(digit.some((v) => v > 0.05 && v < 0.95)).toBe(true);
  });

  it('a wide shape fills 20 pixels across instead', () => {
    const digit = preprocessDigit(ellipse(140, 140, 100, 25), W, H)!;
    const box = inkBox(digit, 28, 28)!;
    expect(box.x1 - box.x0).toBe(BOX_SIDE);
    expect(box.y1 - box.y0).toBe(5);
  });

  it('the same shape drawn small in a corner or large in the middle gives (nearly) the same digit', () => {
    const small = preprocessDigit(ell(200, 180, 30, 80, 8), W, H)!;
    const large = preprocessDigit(ell(90, 30, 75, 200, 20), W, H)!;
    let worst = 0;
    for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(small[i] - large[i]));
    expect(worst).toBeLessThan(0.15);
    // Without the centring the two would not even overlap: the raw drawings share no ink.
    const a = ell(200, 180, 30, 80, 8);
    const b = ell(90, 30, 75, 200, 20);
    expect(a.some((v, i) => v > 0 && b[i] > 0)).toBe(false);
  });

  it('turns MNIST digits blown up to 280×280 back into themselves, exactly', () => {
    // MNIST's digits were made by this recipe, so redoing it on a 10× enlargement of one gives the same
    // 28×28 image back: the same size (longer side 20), the same place (centre of mass rounded to 14, 14),
    // the same grey levels (the box filter averages each 10×10 block back to its pixel). Measured: 9,997
    // of the 10,000 test digits come back to within 1e-5 (after our stretch to a peak of 1); the others
    // are digits whose box is not 20 pixels long in the data set.
    const images = readIdx(`${mnistDir()}/t10k-images-idx3-ubyte`);
    const n = 1000;
    let exact = 0;
    const big = new Float32Array(W * H);
    for (let k = 0; k < n; k++) {
      const original = images.data.subarray(k * 784, (k + 1) * 784);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) big[y * W + x] = original[Math.floor(y / 10) * 28 + Math.floor(x / 10)] / 255;
      const again = preprocessDigit(big, W, H)!;
      const peak = Math.max(...original);
      let worst = 0;
      for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(again[i] - original[i] / peak));
      if (worst < 1e-5) exact++;
    }
    expect(exact).toBeGreaterThanOrEqual(998);
  });
});
