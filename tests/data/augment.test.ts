/**
 * The loader's augmentations (data/augment.ts): each image's transform is a pure function of (seed,
 * epoch, sample), whatever the batch size or a resume; labels travel with their images and stay true
 * (a nearest-centroid classifier built on clean digits reads augmented ones nearly as well); the
 * resampling kernel equals its naive twin; transforms that should do nothing do nothing, bit for bit;
 * mirror images only where the data set allows them; bad options are errors naming the value.
 */
import { describe, expect, it } from 'vitest';
import { DataLoader, createDataset, loadMnist, shiftImage, type AugmentOptions, type Dataset } from '../../data/index.js';
import {
  NO_FIELD, affineInverse, bilinear, resample, resolveAugment, type DisplacementField,
} from '../../data/augment.js';
import { Rng } from '../../engine/index.js';
import { expectClose } from '../support/expectClose.js';

const { train, test } = loadMnist({ trainSize: 2000, testSize: 500 });
const H = 28;
const W = 28;

/** Every batch of one epoch, copied: [x rows, labels, indices]. */
function epoch(ds: Dataset, augment: AugmentOptions | false, opts: { batchSize?: number; seed?: number; epoch?: number; shuffle?: boolean } = {}) {
  const loader = new DataLoader(ds, { batchSize: opts.batchSize ?? 64, seed: opts.seed ?? 3, augment: augment === false ? undefined : augment, shuffle: opts.shuffle });
  const images = new Map<number, Float32Array>();
  const labels = new Map<number, number>();
  for (const b of loader.epochBatches(opts.epoch ?? 0)) {
    for (let r = 0; r < b.size; r++) {
      images.set(b.indices[r], b.x.data.slice(r * H * W, (r + 1) * H * W));
      labels.set(b.indices[r], b.y[r]);
    }
  }
  return { images, labels };
}

describe('determinism: a sample\'s augmentation is a pure function of (seed, epoch, sample)', () => {
  const spec: AugmentOptions = { affine: true, elastic: true };
  const small = train.take(150);

  it('the same seed gives the same images; another epoch or seed gives others', () => {
    const a = epoch(small, spec);
    const b = epoch(small, spec);
    for (const [i, img] of a.images) expect(b.images.get(i)).toEqual(img);
    const next = epoch(small, spec, { epoch: 1 });
    const other = epoch(small, spec, { seed: 4 });
    let sameEpoch = 0;
    let sameSeed = 0;
    for (const [i, img] of a.images) {
      if (next.images.get(i)!.every((v, k) => v === img[k])) sameEpoch++;
      if (other.images.get(i)!.every((v, k) => v === img[k])) sameSeed++;
    }
    // Blank images stay blank; anything with ink moves.
    expect(sameEpoch).toBe(0);
    expect(sameSeed).toBe(0);
  });

  it('whatever the batch size, the shuffle, or where a resumed epoch starts', () => {
    const base = epoch(small, spec, { batchSize: 64 });
    const other = epoch(small, spec, { batchSize: 17, shuffle: false });
    for (const [i, img] of base.images) expect(other.images.get(i)).toEqual(img);
    // Resume at batch 3 of epoch 2: the same images as an epoch 2 read from the start.
    const full = new DataLoader(small, { batchSize: 20, seed: 3, augment: spec });
    // Each batch is copied as it comes: the loader recycles a batch when it makes the next.
    const copies = (batches: Iterable<{ x: { data: Float32Array }; size: number }>) => {
      const out: Float32Array[] = [];
      for (const b of batches) out.push(b.x.data.slice(0, b.size * H * W));
      return out;
    };
    const whole = copies(full.epochBatches(2));
    const resumed = new DataLoader(small, { batchSize: 20, seed: 3, augment: spec });
    resumed.setState({ seed: full.seed, epoch: 2, batch: 3 });
    const rest = copies(resumed);
    expect(rest).toEqual(whole.slice(3));
  });

  it('turning on one augmentation does not change the order or another\'s draws', () => {
    const plain = new DataLoader(small, { batchSize: 50, seed: 9 });
    const augmented = new DataLoader(small, { batchSize: 50, seed: 9, augment: ['affine', 'elastic'] });
    expect(Array.from(augmented.order(4))).toEqual(Array.from(plain.order(4)));
    expect(augmented.augment).toMatchObject({ affine: { degrees: 15, translate: 0.1, scale: [0.9, 1.1], shear: 10 }, elastic: { alpha: 34, sigma: 4, bank: 64 }, flip: false, shift: null });
  });
});

describe('labels are preserved', () => {
  it('each batch\'s labels are its images\' labels', () => {
    const loader = new DataLoader(train, { batchSize: 100, seed: 1, augment: ['affine', 'elastic', 'shift'] });
    for (const b of loader.epochBatches(0)) {
      for (let r = 0; r < b.size; r++) expect(b.y[r]).toBe(train.labels[b.indices[r]]);
    }
  });

  it('a nearest-centroid classifier of clean digits reads the augmented digits nearly as well as the clean ones', () => {
    // Each image is first moved so that its ink's centre of mass is at the centre (nearest-centroid
    // matching is thrown by a shift of two pixels, which says nothing about the digit).
    const centred = (img: ArrayLike<number>, scale: number): Float32Array => {
      let [m, mx, my] = [0, 0, 0];
      for (let k = 0; k < H * W; k++) [m, mx, my] = [m + img[k], mx + img[k] * (k % W), my + img[k] * Math.floor(k / W)];
      const out = new Float32Array(H * W);
      if (m === 0) return out;
      shiftImage(out, 0, Float32Array.from(img, (v) => v * scale), 0, H, W, Math.round((W - 1) / 2 - mx / m), Math.round((H - 1) / 2 - my / m));
      return out;
    };
    const centroids = Array.from({ length: 10 }, () => new Float64Array(H * W));
    const counts = new Array(10).fill(0);
    for (let i = 0; i < train.count; i++) {
      const c = train.labels[i];
      counts[c]++;
      const img = centred(train.x.subarray(i * H * W, (i + 1) * H * W), 1 / 255);
      for (let k = 0; k < H * W; k++) centroids[c][k] += img[k];
    }
    centroids.forEach((cen, c) => cen.forEach((_, k) => (cen[k] /= counts[c])));
    const accuracy = (augment: AugmentOptions | false): number => {
      const { images, labels } = epoch(test, augment, { seed: 5 });
      let right = 0;
      for (const [i, raw] of images) {
        const img = centred(raw, 1);
        let best = -1;
        let bestD = Infinity;
        centroids.forEach((cen, c) => {
          let d = 0;
          for (let k = 0; k < H * W; k++) d += (img[k] - cen[k]) ** 2;
          if (d < bestD) [bestD, best] = [d, c];
        });
        if (best === labels.get(i)) right++;
      }
      return right / images.size;
    };
    const clean = accuracy(false);
    expect(clean).toBeGreaterThan(0.7);
    // Chance is 0.1; a transform that scrambled the digits would fall towards it. Simard's elastic
    // strength (alpha 34, sigma 4) moves strokes by 1.4 pixels (standard deviation; up to 6), which a
    // template matcher feels more than a rotation: 0.75 clean, 0.70 affine, 0.62 elastic here.
    const floors: Array<[AugmentOptions, number]> = [[{ affine: true }, 0.1], [{ elastic: true }, 0.2], [{ affine: true, elastic: true }, 0.25]];
    for (const [augment, drop] of floors) expect(accuracy(augment), JSON.stringify(augment)).toBeGreaterThan(clean - drop);
  });
});

describe('the resampling kernel', () => {
  /** The naive twin: every output pixel, its source point computed directly, read with `bilinear`. */
  function naive(src: Uint8Array, off: number, m: Float64Array, field: DisplacementField): Float32Array {
    const out = new Float32Array(H * W);
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const k = r * W + c;
        const u = c + (field.fx.length > 0 ? field.ax * field.fx[k] : 0);
        const v = r + (field.fy.length > 0 ? field.ay * field.fy[k] : 0);
        out[k] = bilinear(src, off, H, W, m[0] * u + m[1] * v + m[2], m[3] * u + m[4] * v + m[5]) / 255;
      }
    }
    return out;
  }

  /** The non-zero box of image i as resample takes it. */
  function box(src: Uint8Array, off: number): [number, number, number, number] {
    let [c0, c1, r0, r1] = [W, -1, H, -1];
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) if (src[off + r * W + c] !== 0) [c0, c1, r0, r1] = [Math.min(c0, c), Math.max(c1, c), Math.min(r0, r), r];
    return [c0 - 1, c1 + 1, r0 - 1, r1 + 1];
  }

  it('equals its naive twin on random maps, with and without a displacement field (and on the border)', () => {
    const rng = new Rng(12);
    const src = train.x as Uint8Array;
    for (let trial = 0; trial < 40; trial++) {
      const off = rng.int(train.count) * H * W;
      const m = new Float64Array(6);
      // Large shifts and rotations too, so that digits cross the border.
      affineInverse(m, rng.uniformIn(-1, 1), rng.uniformIn(0.7, 1.4), rng.uniformIn(-0.3, 0.3), rng.uniformIn(-8, 8), rng.uniformIn(-8, 8), H, W);
      let field = NO_FIELD;
      if (trial % 2 === 1) {
        const fx = Float32Array.from({ length: H * W }, () => rng.uniformIn(-1, 1));
        const fy = Float32Array.from({ length: H * W }, () => rng.uniformIn(-1, 1));
        field = { fx, ax: 3, fy, ay: -2, reach: 3 };
      }
      const out = new Float32Array(H * W + 5);
      resample(out, 5, src, off, 1 / 255, H, W, m, field, ...box(src, off));
      expectClose(out.subarray(5), naive(src, off, m, field), 1e-6);
    }
  });

  it('bilinear weighs the four neighbours, and only the ones inside the image', () => {
    const img = new Uint8Array([1, 2, 3, 4]); // 2×2
    expect(bilinear(img, 0, 2, 2, 0.5, 0.5)).toBeCloseTo(2.5, 12);
    expect(bilinear(img, 0, 2, 2, 0.25, 0)).toBeCloseTo(1.25, 12);
    expect(bilinear(img, 0, 2, 2, -0.5, 0)).toBeCloseTo(0.5, 12); // half of pixel 1, half of nothing
    expect(bilinear(img, 0, 2, 2, 1.5, 1.5)).toBeCloseTo(1, 12); // a quarter of pixel 4
    expect(bilinear(img, 0, 2, 2, 2, 0)).toBe(0);
  });

  it('an affine map of no change and elastic distortion of strength 0 leave the images exactly as they were', () => {
    const none = epoch(train.take(100), false);
    const still: AugmentOptions = { affine: { degrees: 0, translate: 0, scale: [1, 1], shear: 0 }, elastic: { alpha: 0, bank: 4 } };
    const same = epoch(train.take(100), still);
    for (const [i, img] of none.images) expect(same.images.get(i)).toEqual(img);
  });

  it('a 90° rotation moves each pixel where a rotation puts it', () => {
    const m = new Float64Array(6);
    affineInverse(m, Math.PI / 2, 1, 0, 0, 0, H, W);
    const src = train.x as Uint8Array;
    const out = new Float32Array(H * W);
    resample(out, 0, src, 0, 1, H, W, m, NO_FIELD, -1, W, -1, H);
    // Forward: out = centre + Rot(90°)(in − centre): in (r, c) lands at (r', c') = (c, W − 1 − r).
    const want = new Float32Array(H * W);
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) want[c * W + (W - 1 - r)] = src[r * W + c];
    expectClose(out, want, 1e-5);
  });
});

describe('flip: only where a mirror image keeps the class', () => {
  it('is refused for digits, with the reason and the remedy', () => {
    expect(() => new DataLoader(train, { batchSize: 8, augment: ['flip'] })).toThrow(
      /DataLoader\(mnist\/train\): flip augmentation mirrors images left to right, which changes what mnist\/train shows \(a mirrored 2, 3, 4, 5 or 7 is not a digit\); a data set whose classes survive a mirror says so with mirrorable: true/,
    );
  });

  it('mirrors about half of a mirrorable data set\'s images, exactly, and the rest not at all', () => {
    const clothes = createDataset({ name: 'clothes', x: (train.x as Uint8Array).slice(0, 400 * H * W), featureShape: [H, W], labels: train.labels.slice(0, 400), classNames: train.classNames, mirrorable: true });
    const plain = epoch(clothes, false);
    const flipped = epoch(clothes, { flip: true });
    let mirrored = 0;
    for (const [i, img] of plain.images) {
      const got = flipped.images.get(i)!;
      const mirror = new Float32Array(H * W);
      for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) mirror[r * W + c] = img[r * W + W - 1 - c];
      const isSame = got.every((v, k) => v === img[k]);
      const isMirror = got.every((v, k) => v === mirror[k]);
      expect(isSame || isMirror).toBe(true);
      if (isMirror && !isSame) mirrored++;
    }
    expect(mirrored).toBeGreaterThan(150);
    expect(mirrored).toBeLessThan(250);
    // Subsets and views keep the flag.
    expect(clothes.subset([0, 1]).mirrorable).toBe(true);
    expect(clothes.take(3).mirrorable).toBe(true);
  });
});

describe('bad options are errors that name the value', () => {
  it.each([
    [['spin'], "unknown augmentation \"spin\", expected some of shift, affine, elastic, flip"],
    [{ affine: { degrees: 200 } }, 'augment.affine.degrees must be in [0, 180], got 200'],
    [{ affine: { scale: [1.2, 0.9] } }, 'augment.affine.scale must be [lo, hi] with 0 < lo <= hi, got [1.2, 0.9]'],
    [{ affine: { translate: 1 } }, 'augment.affine.translate must be in [0, 1), got 1'],
    [{ elastic: { sigma: 0 } }, 'augment.elastic.sigma must be in (0, 64] pixels, got 0'],
    [{ elastic: { bank: 2.5 } }, 'augment.elastic.bank must be an integer >= 0, got 2.5'],
    [{ maxShift: -1 }, 'augment.maxShift must be a non-negative integer, got -1'],
  ] as [AugmentOptions, string][])('%j', (augment, message) => {
    expect(() => resolveAugment(augment, 'DataLoader(x)')).toThrow(RangeError);
    expect(() => resolveAugment(augment, 'DataLoader(x)')).toThrow(`DataLoader(x): ${message}`);
  });

  it('augmentation of data that are not images is a ShapeError naming the shape', () => {
    const flat = createDataset({ name: 'flat', x: new Float32Array(8), featureShape: [4], labels: new Int32Array([0, 1]), classNames: ['a', 'b'] });
    expect(() => new DataLoader(flat, { batchSize: 2, augment: ['affine'] })).toThrow(/affine augmentation needs images with featureShape \[H, W\], got \[4\]/);
  });
});
