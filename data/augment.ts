/**
 * Image augmentation for the DataLoader: random affine maps (rotation, scale, shear, translation, with
 * bilinear resampling), elastic distortion (Simard, Steinkraus & Platt 2003) and mirror images, drawn
 * afresh for every sample in every epoch.
 *
 * Determinism: a sample's transform is a pure function of (loader seed, epoch, the sample's index in
 * the data set) — not of the batch it lands in, the batch size or the thread count — so a run resumed
 * mid-epoch, or the same seed on another machine, sees the same images. Each transform draws from its
 * own stream (mixSeed(seed, epoch, sample, stream)), so turning one on does not change another's.
 *
 * Images are H×W float32 rows of a batch (`[B, H*W]`, values already scaled), transformed in place
 * through one scratch image; pixels that come from outside the image are 0, MNIST's background.
 * Resampling is bilinear: out(r, c) = Σ of the four pixels around the source point, each weighted by
 * (1 − its distance) in x times in y.
 */
import { Rng, ShapeError } from '../engine/index.js';
import type { Dataset } from './dataset.js';
import { mixSeed } from './mixSeed.js';

/** The names `--augment` takes. */
export const AUGMENT_NAMES = ['shift', 'affine', 'elastic', 'flip'] as const;
/** One augmentation by name. */
export type AugmentName = (typeof AUGMENT_NAMES)[number];

/** Random affine maps about the image's centre (torchvision's RandomAffine's parameters). */
export interface AffineOptions {
  /** Rotation uniform in [−degrees, degrees] (default 15). */
  degrees?: number;
  /** Translation uniform in [−translate·W, translate·W] pixels in x, and ·H in y (default 0.1). */
  translate?: number;
  /** Scale uniform in [scale[0], scale[1]] (default [0.9, 1.1]). */
  scale?: [number, number];
  /** Shear along x, uniform in [−shear, shear] degrees (default 10). */
  shear?: number;
}

/** Elastic distortion: a random displacement field smoothed by a Gaussian and scaled (Simard et al. 2003). */
export interface ElasticOptions {
  /** The field's scale in pixels (default 34, Simard's for MNIST). */
  alpha?: number;
  /** The Gaussian's standard deviation in pixels (default 4, Simard's). */
  sigma?: number;
  /**
   * Smoothed fields drawn once per loader seed and reused (default 64; 0 draws a fresh field for every
   * sample). Each field is kept under each of the square's 8 symmetries (a uniform field smoothed by a
   * symmetric Gaussian is as likely as its mirror image), and each sample takes one of those for x and one
   * for y, either sign: 64 fields give 1,024 per axis and a million pairs, in 1.6 MB for 28×28 images.
   * Drawing a fresh field costs two 2-D Gaussian filters per sample, 10-20 times the resampling;
   * benchmarks/augment.ts measures both ways.
   */
  bank?: number;
}

/** What `DataLoader`'s `augment` takes: switches and options per augmentation. */
export interface AugmentOptions {
  /** Shifts by whole pixels, up to `maxShift` (default 2) each way in x and y (the loader's original augmentation). */
  shift?: boolean | {
    /** The largest shift in pixels, each way (default 2). */
    maxShift?: number;
  };
  /** Random affine maps. */
  affine?: boolean | AffineOptions;
  /** Elastic distortion. */
  elastic?: boolean | ElasticOptions;
  /**
   * Mirror images (left–right), half of the samples. Only for data whose classes survive a mirror: the
   * data set must say so (`mirrorable: true`, as Fashion-MNIST does); a mirrored 2, 3, 4 or 7 is not a digit.
   */
  flip?: boolean;
  /** Shifts alone by up to this many pixels (the original `{ maxShift }` form). */
  maxShift?: number;
}

/** An augmentation spec with every default filled in; null fields are off. */
export interface ResolvedAugment {
  /** Whole-pixel shifts, or null. */
  shift: {
    /** The largest shift in pixels, each way. */
    maxShift: number;
  } | null;
  /** Random affine maps, or null. */
  affine: Required<AffineOptions> | null;
  /** Elastic distortion, or null. */
  elastic: Required<ElasticOptions> | null;
  /** Mirror images. */
  flip: boolean;
}

/**
 * `augment` as the loader takes it (true: shifts of 2 pixels; a list of names; or options) with the
 * defaults filled in and every value checked: a RangeError naming the option and the value.
 */
export function resolveAugment(augment: boolean | AugmentOptions | readonly AugmentName[] | undefined, where: string): ResolvedAugment {
  const off: ResolvedAugment = { shift: null, affine: null, elastic: null, flip: false };
  if (augment === undefined || augment === false) return off;
  if (augment === true) return { ...off, shift: { maxShift: 2 } };
  let spec: AugmentOptions;
  if (Array.isArray(augment)) {
    spec = {};
    for (const name of augment) {
      if (!(AUGMENT_NAMES as readonly string[]).includes(name)) {
        throw new RangeError(`${where}: unknown augmentation ${JSON.stringify(name)}, expected some of ${AUGMENT_NAMES.join(', ')}`);
      }
      spec[name as AugmentName] = true;
    }
  } else {
    spec = augment as AugmentOptions;
  }
  const out = { ...off };
  const shift = spec.maxShift !== undefined ? { maxShift: spec.maxShift } : spec.shift;
  if (shift) {
    const maxShift = shift === true ? 2 : (shift.maxShift ?? 2);
    if (!(Number.isInteger(maxShift) && maxShift >= 0)) throw new RangeError(`${where}: augment.maxShift must be a non-negative integer, got ${maxShift}`);
    out.shift = maxShift > 0 ? { maxShift } : null;
  }
  if (spec.affine) {
    const a = spec.affine === true ? {} : spec.affine;
    const affine = { degrees: a.degrees ?? 15, translate: a.translate ?? 0.1, scale: a.scale ?? ([0.9, 1.1] as [number, number]), shear: a.shear ?? 10 };
    if (!(affine.degrees >= 0 && affine.degrees <= 180)) throw new RangeError(`${where}: augment.affine.degrees must be in [0, 180], got ${affine.degrees}`);
    if (!(affine.translate >= 0 && affine.translate < 1)) throw new RangeError(`${where}: augment.affine.translate must be in [0, 1), got ${affine.translate}`);
    const [lo, hi] = affine.scale;
    if (!(lo > 0 && hi >= lo && Number.isFinite(hi))) throw new RangeError(`${where}: augment.affine.scale must be [lo, hi] with 0 < lo <= hi, got [${affine.scale.join(', ')}]`);
    if (!(affine.shear >= 0 && affine.shear < 90)) throw new RangeError(`${where}: augment.affine.shear must be in [0, 90) degrees, got ${affine.shear}`);
    out.affine = affine;
  }
  if (spec.elastic) {
    const e = spec.elastic === true ? {} : spec.elastic;
    const elastic = { alpha: e.alpha ?? 34, sigma: e.sigma ?? 4, bank: e.bank ?? 64 };
    if (!(elastic.alpha >= 0 && Number.isFinite(elastic.alpha))) throw new RangeError(`${where}: augment.elastic.alpha must be a finite number >= 0, got ${elastic.alpha}`);
    if (!(elastic.sigma > 0 && elastic.sigma <= 64)) throw new RangeError(`${where}: augment.elastic.sigma must be in (0, 64] pixels, got ${elastic.sigma}`);
    if (!(Number.isInteger(elastic.bank) && elastic.bank >= 0)) throw new RangeError(`${where}: augment.elastic.bank must be an integer >= 0, got ${elastic.bank}`);
    out.elastic = elastic;
  }
  out.flip = spec.flip === true;
  return out;
}

/** True when anything but the whole-pixel shift is on: what `Augmenter` does. */
export function hasPerSample(spec: ResolvedAugment): boolean {
  return spec.affine !== null || spec.elastic !== null || spec.flip;
}

/** The refusals that need the data set: images only, and mirror images only where they keep the class. */
export function checkAugment(spec: ResolvedAugment, dataset: Dataset, where: string): void {
  const on = [spec.shift && 'shift', spec.affine && 'affine', spec.elastic && 'elastic', spec.flip && 'flip'].filter(Boolean);
  if (on.length > 0 && dataset.featureShape.length !== 2) {
    throw new ShapeError(`${where}: ${on.join(', ')} augmentation needs images with featureShape [H, W], got [${dataset.featureShape.join(',')}]`);
  }
  if (spec.flip && dataset.mirrorable !== true) {
    throw new RangeError(
      `${where}: flip augmentation mirrors images left to right, which changes what ${dataset.name} shows (a mirrored 2, 3, 4, 5 or 7 is not a digit); ` +
        'a data set whose classes survive a mirror says so with mirrorable: true (Fashion-MNIST does)',
    );
  }
}

// The generator streams, apart from the loader's shuffle (0x5348) and shift (0x4155) streams.
const FLIP_STREAM = 0x464c;
const AFFINE_STREAM = 0x4146;
const ELASTIC_STREAM = 0x454c;
const BANK_STREAM = 0x424b;

/** The identity map: the source of output pixel (r, c) is (c, r). */
const IDENTITY = new Float64Array([1, 0, 0, 0, 1, 0]);

/** What the augmentations draw from. */
export interface Uniform {
  /** A number uniform in [0, 1). */
  uniform(): number;
}

/**
 * A sample's random numbers: the j-th is mixSeed(key, j) / 2³² with key = mixSeed(seed, epoch, sample,
 * stream). A counter, not a running generator, so starting a sample's stream allocates and costs nothing
 * (the image's few numbers, or a fresh field's 1,568, are each one hash).
 */
class SampleStream implements Uniform {
  private key = 0;
  private j = 0;

  start(seed: number, epoch: number, sample: number, stream: number): void {
    this.key = mixSeed(seed, epoch, sample, stream);
    this.j = 0;
  }

  uniform(): number {
    // mixSeed(key, j) written out: the finaliser on two parts.
    let h = Math.imul(0x9e3779b9 ^ this.key, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h = Math.imul(h ^ this.j++, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0) / 4294967296;
  }

  /** An integer in [0, n), n <= 2^16 (floor of a 32-bit uniform: the bias is below 2^−16). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

/**
 * Applies the per-sample augmentations to batches of one data set's H×W images. An image that gets an
 * affine map or elastic distortion (or both) is resampled once, straight from the data set's stored
 * values (bytes for MNIST): output pixel (r, c) is displaced by the elastic field to (u, v), and (u, v)
 * is mapped back through the affine map's inverse (mirrored, for a flip) to its source point. So an
 * image that gets both is interpolated once, not blurred twice. A flip alone mirrors the loader's row.
 *
 * Speed (benchmarks/augment.ts): per image, only the output pixels whose source can reach the image's
 * non-zero box are computed (MNIST's digits fill about half of the 28×28 frame); each sample's box is
 * found the first time it is augmented and kept.
 */
export class Augmenter {
  /** Image rows. */
  readonly H: number;
  /** Image columns. */
  readonly W: number;
  private readonly rng = new SampleStream();
  /** The current sample's source map (resample's six numbers). */
  private readonly map = new Float64Array(6);
  /** The current sample's displacement field. */
  private readonly field: DisplacementField = { fx: new Float32Array(0), ax: 0, fy: new Float32Array(0), ay: 0, reach: 0 };
  private readonly fieldX: Float32Array;
  private readonly fieldY: Float32Array;
  private readonly noise: Float32Array;
  /** The rows-blurred noise between the Gaussian's two passes. */
  private readonly blur: Float32Array;
  private readonly kernel: Float32Array;
  /** The bank's fields, each under each symmetry of the square (the rectangle's), alpha 1. */
  private bank: Float32Array[] = [];
  /** max |value| of each of them: how far its displacement can reach. */
  private bankMax = new Float32Array(0);
  private bankSeed = -1;
  /** Each sample's non-zero box (x0, x1, y0, y1 as in `resample`), found when first needed; UNKNOWN until then. */
  private readonly boxes: Int16Array;

  constructor(
    /** The augmentations and their settings. */
    readonly spec: ResolvedAugment,
    /** The images: what `apply`'s indices index. */
    readonly dataset: Dataset,
  ) {
    const [H, W] = dataset.featureShape;
    this.H = H;
    this.W = W;
    const HW = H * W;
    const elastic = spec.elastic !== null;
    this.fieldX = new Float32Array(elastic ? HW : 0);
    this.fieldY = new Float32Array(elastic ? HW : 0);
    this.noise = new Float32Array(elastic ? HW : 0);
    this.blur = new Float32Array(elastic ? HW : 0);
    this.kernel = elastic ? gaussianKernel(spec.elastic!.sigma) : new Float32Array(0);
    this.boxes = new Int16Array(spec.affine || elastic ? 4 * dataset.count : 0).fill(UNKNOWN);
  }

  /**
   * Augments the first `size` rows of x ([size, H*W]: the samples `indices` of the data set, as the
   * loader converted them) in place, for epoch `epoch` of a loader seeded `seed`.
   */
  apply(x: Float32Array, indices: Int32Array, size: number, seed: number, epoch: number): void {
    const { H, W, spec, rng } = this;
    const HW = H * W;
    const src = this.dataset.x;
    const scale = this.dataset.scale;
    if (spec.elastic && spec.elastic.bank > 0 && this.bankSeed !== seed) this.makeBank(seed);
    for (let b = 0; b < size; b++) {
      const off = b * HW;
      const sample = indices[b];
      let flip = false;
      if (spec.flip) {
        rng.start(seed, epoch, sample, FLIP_STREAM);
        flip = rng.uniform() < 0.5;
      }
      if (!spec.affine && !spec.elastic) {
        if (flip) mirror(x, off, H, W);
        continue;
      }
      const box = this.box(sample);
      if (box < 0) continue; // a blank image stays blank
      const m = this.map;
      if (spec.affine) {
        rng.start(seed, epoch, sample, AFFINE_STREAM);
        randomAffine(m, rng, spec.affine, H, W);
      } else {
        m.set(IDENTITY);
      }
      // A mirror image's pixel (r, c) comes from (r, W − 1 − c): the source x reflected.
      if (flip) m.set([-m[0], -m[1], W - 1 - m[2]], 0);
      const field = spec.elastic ? this.drawField(seed, epoch, sample, spec.elastic) : NO_FIELD;
      const boxes = this.boxes;
      resample(x, off, src, sample * HW, scale, H, W, m, field, boxes[box], boxes[box + 1], boxes[box + 2], boxes[box + 3]);
    }
  }

  /** Where sample's box is in `boxes` (found now if it was not yet), or −1 for a blank image. */
  private box(sample: number): number {
    const at = 4 * sample;
    const boxes = this.boxes;
    if (boxes[at] === UNKNOWN) {
      const { H, W } = this;
      const src = this.dataset.x;
      const off = sample * H * W;
      let cmin = W;
      let cmax = -1;
      let rmin = H;
      let rmax = -1;
      for (let r = 0; r < H; r++) {
        for (let c = 0; c < W; c++) {
          if (src[off + r * W + c] === 0) continue;
          if (c < cmin) cmin = c;
          if (c > cmax) cmax = c;
          if (r < rmin) rmin = r;
          rmax = r;
        }
      }
      // A source point can meet a non-zero pixel when its 2×2 neighbourhood overlaps the box: x in [cmin − 1, cmax + 1).
      boxes.set(cmax < 0 ? [BLANK, BLANK, BLANK, BLANK] : [cmin - 1, cmax + 1, rmin - 1, rmax + 1], at);
    }
    return boxes[at] === BLANK ? -1 : at;
  }

  /**
   * The sample's displacement field: with a bank, one bank field per axis through one of the
   * symmetries, times ±alpha; without, two fresh smoothed fields (identity map, times alpha).
   */
  private drawField(seed: number, epoch: number, sample: number, e: Required<ElasticOptions>): DisplacementField {
    const { rng, field } = this;
    rng.start(seed, epoch, sample, ELASTIC_STREAM);
    if (e.bank === 0) {
      const { H, W } = this;
      const maxX = smoothNoise(this.fieldX, this.noise, this.blur, rng, this.kernel, H, W, 1);
      const maxY = smoothNoise(this.fieldY, this.noise, this.blur, rng, this.kernel, H, W, 1);
      field.fx = this.fieldX;
      field.fy = this.fieldY;
      field.ax = field.ay = e.alpha;
      field.reach = e.alpha * Math.max(maxX, maxY);
      return field;
    }
    const i = rng.int(this.bank.length);
    const j = rng.int(this.bank.length);
    field.fx = this.bank[i];
    field.fy = this.bank[j];
    field.ax = rng.uniform() < 0.5 ? -e.alpha : e.alpha;
    field.ay = rng.uniform() < 0.5 ? -e.alpha : e.alpha;
    field.reach = e.alpha * Math.max(this.bankMax[i], this.bankMax[j]);
    return field;
  }

  /** The bank: `bank` unit fields (alpha 1) under each symmetry, drawn from the loader seed's own stream. */
  private makeBank(seed: number): void {
    const e = this.spec.elastic!;
    const { H, W } = this;
    const rng = new Rng(mixSeed(seed, BANK_STREAM));
    const maps = symmetryMaps(H, W);
    const base = new Float32Array(H * W);
    this.bank = [];
    this.bankMax = new Float32Array(e.bank * maps.length);
    for (let k = 0; k < e.bank; k++) {
      const max = smoothNoise(base, this.noise, this.blur, rng, this.kernel, H, W, 1);
      for (const map of maps) {
        this.bankMax[this.bank.length] = max;
        this.bank.push(Float32Array.from(map, (from) => base[from]));
      }
    }
    this.bankSeed = seed;
  }
}

/** A box not found yet, and the box of a blank image. */
const UNKNOWN = -32768;
const BLANK = 32767;

/** A displacement field as `resample` reads it: at output pixel k, dx = ax·fx[k], dy = ay·fy[k]. */
export interface DisplacementField {
  /** The x field (a bank field, or a fresh one); empty: no displacement at all. */
  fx: Float32Array;
  /** Its factor: ±alpha. */
  ax: number;
  /** The y field. */
  fy: Float32Array;
  /** Its factor. */
  ay: number;
  /** A bound on |dx| and |dy| in pixels. */
  reach: number;
}

/** No displacement (an affine map alone). */
export const NO_FIELD: DisplacementField = { fx: new Float32Array(0), ax: 0, fy: new Float32Array(0), ay: 0, reach: 0 };

/** Mirrors one H×W image left to right, in place. */
export function mirror(x: Float32Array, off: number, H: number, W: number): void {
  for (let r = 0; r < H; r++) {
    const row = off + r * W;
    for (let c = 0, d = W - 1; c < d; c++, d--) {
      const t = x[row + c];
      x[row + c] = x[row + d];
      x[row + d] = t;
    }
  }
}

/**
 * The inverse of a random affine map, as the six numbers of `resample`: for output pixel (r, c), the
 * source point is (sx, sy) = (m0·c + m1·r + m2, m3·c + m4·r + m5). The forward map is torchvision's,
 * about the centre (cx, cy) = ((W − 1)/2, (H − 1)/2):
 *
 *     out = centre + t + Rot(θ) · ShearX(φ) · scale · (in − centre)
 *
 * so the source of an output point is centre + (Rot·Shear·scale)⁻¹ · (out − centre − t).
 */
export function randomAffine(m: Float64Array, rng: Uniform, a: Required<AffineOptions>, H: number, W: number): void {
  const theta = ((rng.uniform() * 2 - 1) * a.degrees * Math.PI) / 180;
  const s = a.scale[0] + (a.scale[1] - a.scale[0]) * rng.uniform();
  const phi = ((rng.uniform() * 2 - 1) * a.shear * Math.PI) / 180;
  const tx = (rng.uniform() * 2 - 1) * a.translate * W;
  const ty = (rng.uniform() * 2 - 1) * a.translate * H;
  affineInverse(m, theta, s, phi, tx, ty, H, W);
}

/** Writes to m the six numbers of `resample` for rotation theta, scale s, x-shear phi (radians) and translation (tx, ty). */
export function affineInverse(m: Float64Array, theta: number, s: number, phi: number, tx: number, ty: number, H: number, W: number): void {
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const sh = Math.tan(phi);
  // A = Rot(θ)·ShearX(φ)·s = s·[[cos, cos·sh − sin], [sin, sin·sh + cos]]; det A = s².
  const a00 = s * cos;
  const a01 = s * (cos * sh - sin);
  const a10 = s * sin;
  const a11 = s * (sin * sh + cos);
  const det = a00 * a11 - a01 * a10;
  const i00 = a11 / det;
  const i01 = -a01 / det;
  const i10 = -a10 / det;
  const i11 = a00 / det;
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  // source = centre + Inv·(out − centre − t)
  const ox = -cx - tx;
  const oy = -cy - ty;
  m[0] = i00;
  m[1] = i01;
  m[2] = cx + i00 * ox + i01 * oy;
  m[3] = i10;
  m[4] = i11;
  m[5] = cy + i10 * ox + i11 * oy;
}

/**
 * One H×W image resampled, bilinearly, into out at outOff from the stored image src at srcOff (bytes or
 * floats, times `scale`): output pixel (r, c) at k = r·W + c is displaced to
 * (u, v) = (c + ax·fx[k], r + ay·fy[k]) (no field: (c, r)) and read at its source point
 * (sx, sy) = (m0·u + m1·v + m2, m3·u + m4·v + m5). The image is 0 outside its non-zero box
 * [x0, x1) × [y0, y1) (source coordinates where a 2×2 neighbourhood meets a non-zero pixel), so each
 * row computes only the columns whose source can land in the box (widened by the field's reach) and
 * writes 0 elsewhere. Inside the image the source pixel is found by truncation (the point is >= 0
 * there) and read as three lerps; on its border `bilinear` weighs the pixels that exist.
 */
export function resample(
  out: Float32Array, outOff: number, src: Uint8Array | Float32Array, srcOff: number, scale: number, H: number, W: number,
  m: Float64Array, field: DisplacementField, x0: number, x1: number, y0: number, y1: number,
): void {
  const m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3], m4 = m[4], m5 = m[5];
  const { fx, ax, fy, ay } = field;
  const hasField = fx.length > 0;
  // How far the field can move a source point, in source coordinates.
  const reach = field.reach * Math.max(Math.abs(m0) + Math.abs(m1), Math.abs(m3) + Math.abs(m4));
  const xEnd = W - 1;
  const yEnd = H - 1;
  for (let r = 0; r < H; r++) {
    const row = outOff + r * W;
    const rx = m1 * r + m2;
    const ry = m4 * r + m5;
    const c0 = Math.max(spanStart(rx, m0, x0 - reach, x1 + reach, W), spanStart(ry, m3, y0 - reach, y1 + reach, W));
    const c1 = Math.max(c0, Math.min(spanEnd(rx, m0, x0 - reach, x1 + reach, W), spanEnd(ry, m3, y0 - reach, y1 + reach, W)));
    for (let c = 0; c < c0; c++) out[row + c] = 0;
    for (let c = c1; c < W; c++) out[row + c] = 0;
    for (let c = c0; c < c1; c++) {
      let sx = rx + m0 * c;
      let sy = ry + m3 * c;
      if (hasField) {
        const k = r * W + c;
        const du = ax * fx[k];
        const dv = ay * fy[k];
        sx += m0 * du + m1 * dv;
        sy += m3 * du + m4 * dv;
      }
      let v = 0;
      if (sx >= x0 && sx < x1 && sy >= y0 && sy < y1) {
        if (sx >= 0 && sy >= 0 && sx < xEnd && sy < yEnd) {
          const xi = sx | 0;
          const yi = sy | 0;
          const f = sx - xi;
          const i = (srcOff + yi * W + xi) | 0;
          const a = src[i];
          const top = a + f * (src[i + 1] - a);
          const b = src[i + W];
          v = top + (sy - yi) * (b + f * (src[i + W + 1] - b) - top);
        } else {
          v = bilinear(src, srcOff, H, W, sx, sy);
        }
      }
      out[row + c] = v * scale;
    }
  }
}

/** The first column c >= 0 at which a + b·c can be in [lo, hi) (a conservative bound; W if none). */
function spanStart(a: number, b: number, lo: number, hi: number, W: number): number {
  if (Math.abs(b) < 1e-12) return a >= lo && a < hi ? 0 : W;
  const t = b > 0 ? (lo - a) / b : (hi - a) / b;
  return Math.max(0, Math.floor(t) - 1);
}

/** One past the last column at which a + b·c can be in [lo, hi) (a conservative bound; 0 if none). */
function spanEnd(a: number, b: number, lo: number, hi: number, W: number): number {
  if (Math.abs(b) < 1e-12) return a >= lo && a < hi ? W : 0;
  const t = b > 0 ? (hi - a) / b : (lo - a) / b;
  return Math.min(W, Math.ceil(t) + 2);
}

/**
 * The image (H,W) at srcOff in src at the real point (x, y), bilinearly: the four pixels around it,
 * weighted by (1 − distance) in x times in y; pixels outside the image count as 0.
 */
export function bilinear(src: Uint8Array | Float32Array, srcOff: number, H: number, W: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  if (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H) return 0;
  const fx = x - x0;
  const fy = y - y0;
  let v = 0;
  if (y0 >= 0) {
    if (x0 >= 0) v += (1 - fx) * (1 - fy) * src[srcOff + y0 * W + x0];
    if (x0 + 1 < W) v += fx * (1 - fy) * src[srcOff + y0 * W + x0 + 1];
  }
  if (y0 + 1 < H) {
    if (x0 >= 0) v += (1 - fx) * fy * src[srcOff + (y0 + 1) * W + x0];
    if (x0 + 1 < W) v += fx * fy * src[srcOff + (y0 + 1) * W + x0 + 1];
  }
  return v;
}

/** The 1-D Gaussian of standard deviation sigma, truncated at 3 sigma and normalized to sum 1. */
export function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * Simard's field for one axis: uniform noise in [−1, 1] per pixel, convolved with the 2-D Gaussian
 * (separably: rows, then columns; 0 beyond the border, scipy's mode='constant'), times alpha. out, noise
 * and tmp are H×W. Returns the largest |value|.
 */
export function smoothNoise(out: Float32Array, noise: Float32Array, tmp: Float32Array, rng: Uniform, kernel: Float32Array, H: number, W: number, alpha: number): number {
  for (let i = 0; i < H * W; i++) noise[i] = rng.uniform() * 2 - 1;
  const R = (kernel.length - 1) / 2;
  for (let r = 0; r < H; r++) {
    const row = r * W;
    for (let c = 0; c < W; c++) {
      let s = 0;
      const lo = Math.max(0, c - R);
      const hi = Math.min(W - 1, c + R);
      for (let j = lo; j <= hi; j++) s += kernel[j - c + R] * noise[row + j];
      tmp[row + c] = s;
    }
  }
  let max = 0;
  for (let r = 0; r < H; r++) {
    const lo = Math.max(0, r - R);
    const hi = Math.min(H - 1, r + R);
    for (let c = 0; c < W; c++) {
      let s = 0;
      for (let i = lo; i <= hi; i++) s += kernel[i - r + R] * tmp[i * W + c];
      const v = alpha * s;
      out[r * W + c] = v;
      if (Math.abs(v) > max) max = Math.abs(v);
    }
  }
  return max;
}

/** Index maps of the square's 8 symmetries (the rectangle's 4 when H ≠ W), the identity first: field'[i] = field[map[i]]. */
function symmetryMaps(H: number, W: number): Int32Array[] {
  const maps: Int32Array[] = [];
  const square = H === W;
  for (let t = 0; t < (square ? 8 : 4); t++) {
    const map = new Int32Array(H * W);
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        let rr = r;
        let cc = c;
        if (t & 1) cc = W - 1 - cc;
        if (t & 2) rr = H - 1 - rr;
        if (t & 4) [rr, cc] = [cc, rr]; // transpose (square only)
        map[r * W + c] = rr * W + cc;
      }
    }
    maps.push(map);
  }
  return maps;
}
