/**
 * Jumping xoshiro128** ahead: the state after `steps` draws, without drawing them.
 *
 * One step of the generator (engine/rng.ts) only shifts, rotates and XORs its 128 state bits, so it
 * is a linear map over GF(2): a 128×128 bit matrix T, and `steps` draws are T^steps, which repeated
 * squaring builds in about 2·log2(steps) matrix products. Dropout uses it to cut one stream of random
 * bits into pieces that threads draw at once: the piece starting at draw p·L begins from the state
 * T^(p·L)·s, so every unit gets the very bits, and the generator ends in the very state, that drawing
 * them all in order gives (tests/engine/rngJump.test.ts holds the two to each other).
 *
 * A matrix is 128 columns of 128 bits (four 32-bit words each): column j is where state bit j goes.
 * Applying it XORs together the columns of the state's set bits.
 */

/** The state words after one draw (the output is not needed). */
function stepState(s: Uint32Array): void {
  const t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 11) | (s[3] >>> 21);
}

/** M·v for a state v (four words); into `out`. */
function apply(m: Uint32Array, v: ArrayLike<number>, out: Uint32Array): void {
  let a = 0, b = 0, c = 0, d = 0;
  for (let w = 0; w < 4; w++) {
    const word = v[w] >>> 0;
    for (let bit = 0; bit < 32; bit++) {
      if (((word >>> bit) & 1) === 0) continue;
      const col = 4 * (32 * w + bit);
      a ^= m[col];
      b ^= m[col + 1];
      c ^= m[col + 2];
      d ^= m[col + 3];
    }
  }
  out[0] = a;
  out[1] = b;
  out[2] = c;
  out[3] = d;
}

/** A·B (first B, then A). */
function multiply(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(512);
  for (let j = 0; j < 128; j++) apply(a, b.subarray(4 * j, 4 * j + 4), out.subarray(4 * j, 4 * j + 4));
  return out;
}

function identity(): Uint32Array {
  const m = new Uint32Array(512);
  for (let j = 0; j < 128; j++) m[4 * j + (j >> 5)] = 1 << (j & 31);
  return m;
}

let oneStep: Uint32Array | null = null;

/** T: column j is one step applied to the state with only bit j set. */
function stepMatrix(): Uint32Array {
  if (oneStep !== null) return oneStep;
  const m = identity();
  for (let j = 0; j < 128; j++) stepState(m.subarray(4 * j, 4 * j + 4));
  return (oneStep = m);
}

/** Matrices made so far, by step count (a layer asks for the same few lengths every step). */
const jumps = new Map<number, Uint32Array>();
const MAX_CACHED = 32;

/** T^steps, cached. */
export function jumpMatrix(steps: number): Uint32Array {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`jumpMatrix: steps must be a non-negative integer, got ${steps}`);
  const cached = jumps.get(steps);
  if (cached !== undefined) return cached;
  let result = identity();
  let power = stepMatrix();
  for (let k = steps; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) result = multiply(power, result);
    if (k > 1) power = multiply(power, power);
  }
  if (jumps.size >= MAX_CACHED) jumps.delete(jumps.keys().next().value as number);
  jumps.set(steps, result);
  return result;
}

/** The four state words `steps` draws after `state` (its first four entries). */
export function jumpState(state: ArrayLike<number>, steps: number): Uint32Array {
  return applyJump(jumpMatrix(steps), state);
}

/** Applies a matrix from jumpMatrix to a state: the states of a stream cut into equal pieces, one after another. */
export function applyJump(matrix: Uint32Array, state: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(4);
  apply(matrix, state, out);
  return out;
}
