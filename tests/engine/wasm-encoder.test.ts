import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ByteWriter, ModuleBuilder } from '../../engine/wasm/encoder.js';
import {
  NR, compileKernels, indexBytes, instantiateKernels, kernelModuleBytes, packedBytes, wasmSupport,
} from '../../engine/wasm/index.js';
import { LAYOUTS, TestArena, firstDifference } from './wasm-checks.js';

type Wasm = {
  validate(b: Uint8Array): boolean;
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => { exports: Record<string, (...a: number[]) => number> };
};
const WA = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

const hex = (w: ByteWriter) => Array.from(w.toBytes(), (b) => b.toString(16).padStart(2, '0')).join(' ');

describe('encoder: primitive encodings (the spec\'s examples and edge values)', () => {
  it('writes unsigned LEB128', () => {
    expect(hex(new ByteWriter().u32(0))).toBe('00');
    expect(hex(new ByteWriter().u32(127))).toBe('7f');
    expect(hex(new ByteWriter().u32(128))).toBe('80 01');
    expect(hex(new ByteWriter().u32(624485))).toBe('e5 8e 26');
    expect(hex(new ByteWriter().u32(0x105))).toBe('85 02'); // f32x4.relaxed_madd's opcode
    expect(hex(new ByteWriter().u32(0xffffffff))).toBe('ff ff ff ff 0f');
    expect(() => new ByteWriter().u32(-1)).toThrow(RangeError);
    expect(() => new ByteWriter().u32(1.5)).toThrow(/u32 1.5/);
  });

  it('writes signed LEB128', () => {
    expect(hex(new ByteWriter().s32(0))).toBe('00');
    expect(hex(new ByteWriter().s32(-1))).toBe('7f');
    expect(hex(new ByteWriter().s32(63))).toBe('3f');
    expect(hex(new ByteWriter().s32(64))).toBe('c0 00'); // bit 6 set would read as negative
    expect(hex(new ByteWriter().s32(-64))).toBe('40');
    expect(hex(new ByteWriter().s32(-65))).toBe('bf 7f');
    expect(hex(new ByteWriter().s32(-123456))).toBe('c0 bb 78');
    expect(hex(new ByteWriter().s32(2147483647))).toBe('ff ff ff ff 07');
    expect(hex(new ByteWriter().s32(-2147483648))).toBe('80 80 80 80 78');
  });

  it('writes f32 and f64 little-endian', () => {
    expect(hex(new ByteWriter().f32(1))).toBe('00 00 80 3f');
    expect(hex(new ByteWriter().f32(-0))).toBe('00 00 00 80');
    expect(hex(new ByteWriter().f64(1))).toBe('00 00 00 00 00 00 f0 3f');
  });
});

describe('encoder: modules', () => {
  it('builds a module the runtime compiles, and its functions compute', () => {
    const mod = new ModuleBuilder();
    const f = mod.func('axpy', { a: 'f64', x: 'f64', y: 'f64' }, ['f64']);
    f.f64Add(f.f64Mul(f.get('a'), f.get('x')), f.get('y'));
    const g = mod.func('sumTo', { n: 'i32' }, ['i32']);
    g.local('s', 'i32');
    g.local('i', 'i32');
    g.while('i', () => g.i32LtS(g.get('i'), g.get('n')), () => {
      g.set('i', g.i32Add(g.get('i'), g.i32(1)));
      g.set('s', g.i32Add(g.get('s'), g.get('i')));
    });
    g.get('s');
    const h = mod.func('callsAxpy', { x: 'f64' }, ['f64']);
    h.call(f, h.f64(2), h.get('x'), h.f64(-1));
    const bytes = mod.toBytes();
    expect(WA.validate(bytes)).toBe(true);
    const e = new WA.Instance(new WA.Module(bytes), {}).exports;
    expect(e.axpy(3, 4, 5)).toBe(17);
    expect(e.sumTo(100)).toBe(5050);
    expect(e.sumTo(0)).toBe(0);
    expect(e.callsAxpy(10)).toBe(19);
  });

  it('reinterprets float32 bits as an integer and back, and converts a signed integer to f64', () => {
    const mod = new ModuleBuilder();
    const bits = mod.func('bits', { x: 'f32' }, ['i32']);
    bits.i32ReinterpretF32(bits.get('x'));
    const float = mod.func('float', { n: 'i32' }, ['f32']);
    float.f32ReinterpretI32(float.get('n'));
    const signed = mod.func('signed', { n: 'i32' }, ['f64']);
    signed.f64ConvertI32S(signed.get('n'));
    const e = new WA.Instance(new WA.Module(mod.toBytes()), {}).exports;
    const view = new DataView(new ArrayBuffer(4));
    for (const x of [1, -2.5, 1e-40, -0, Infinity, 3.4e38]) {
      view.setFloat32(0, x);
      expect(e.bits(x) >>> 0, String(x)).toBe(view.getUint32(0));
      expect(Object.is(e.float(view.getInt32(0)), Math.fround(x)), String(x)).toBe(true);
    }
    expect(e.signed(-7)).toBe(-7);
    expect(e.signed(-1)).toBe(-1); // f64.convert_i32_u would give 4294967295
  });

  it('rejects operands that are out of order or of the wrong type, where they are written', () => {
    const mod = new ModuleBuilder();
    const f = mod.func('bad', { p: 'i32', x: 'f32' });
    const early = f.get('p'); // built first ...
    expect(() => f.i32Add(f.get('p'), early)).toThrow(/i32.add operand 0 is not on top of the stack in order/);
    const g = mod.func('bad2', { x: 'f32' });
    expect(() => g.f32x4Add(g.get('x'), g.get('x'))).toThrow(/f32x4.add operand 0 is f32, expected v128/);
    const h = mod.func('bad3', { x: 'f32' });
    expect(() => h.set('nope', h.get('x'))).toThrow(/no local or parameter named 'nope'/);
    const k = mod.func('bad4', {});
    expect(() => k.block('b', () => { k.i32(1); })).toThrow(/block 'b' leaves 1 values on the stack/);
    expect(() => k.br('missing')).toThrow(/unknown label 'missing'/);
  });

  it('imports a shared memory with a maximum, or a plain one, as asked', () => {
    const shared = kernelModuleBytes({ fma: false, sharedMemory: true, maxPages: 100 });
    const plain = kernelModuleBytes({ fma: false, sharedMemory: false });
    expect(WA.validate(shared)).toBe(true);
    expect(WA.validate(plain)).toBe(true);
    // A shared memory with a larger maximum than the module declares does not link; a matching one does.
    const Memory = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => object } }).WebAssembly.Memory;
    const mem = (max: number, isShared: boolean) => new Memory({ initial: 1, maximum: max, shared: isShared });
    const m = new WA.Module(shared);
    expect(() => new WA.Instance(m, { env: { memory: mem(200, true) } })).toThrow();
    expect(() => new WA.Instance(m, { env: { memory: mem(100, true) } })).not.toThrow();
    expect(() => new WA.Instance(m, { env: { memory: mem(100, false) } })).toThrow();
    expect(() => new WA.Instance(new WA.Module(plain), { env: { memory: mem(100, false) } })).not.toThrow();
  });

  it('rejects bad build options with a typed error naming them', () => {
    expect(() => kernelModuleBytes({ fma: false, sharedMemory: true, maxPages: 0 })).toThrow(/maxPages must be an integer in \[1, 65536\], got 0/);
    expect(() => kernelModuleBytes({ fma: 'yes' as unknown as boolean, sharedMemory: true })).toThrow(TypeError);
    if (!wasmSupport().relaxedSimd) {
      expect(() => compileKernels({ fma: true, sharedMemory: true })).toThrow(/fma needs relaxed SIMD/);
    }
  });
});

describe('the kernel module in a worker thread', () => {
  it('instantiates again from the same Module over the same shared memory, and two threads give one thread\'s bits', async () => {
    const arena = new TestArena(64, true);
    const module = compileKernels({ fma: false, sharedMemory: true, maxPages: 64 });
    const kernels = instantiateKernels(module, arena.memory);
    const layout = LAYOUTS[1]; // NT, the forward product
    const [M, K, N] = [64, 301, 100];
    const a = arena.f32(M * K);
    const b = arena.f32(N * K);
    for (let i = 0; i < a.view.length; i++) a.view[i] = Math.sin(i) * (i % 5 === 0 ? 0 : 1);
    for (let i = 0; i < b.view.length; i++) b.view[i] = Math.cos(i);
    const [ai, ak, bk, bj] = layout.strides(M, K, N);
    const { Mp, Np, pa, pb, aIdx, bIdx } = arena.panels(M, K, N);
    const one = arena.f32(M * N);
    const two = arena.f32(M * N);
    const scratch = arena.f32(1 << 18);
    kernels.gemm(one.ptr, a.ptr, ai, ak, b.ptr, bk, bj, M, K, N, scratch.ptr, true);
    kernels.packA(pa.ptr, a.ptr, ai, ak, M, K, 0, Mp, aIdx.ptr);
    kernels.packB(pb.ptr, b.ptr, bk, bj, K, N, 0, Np, bIdx.ptr);
    two.view.fill(NaN);
    const mid = Np >> 1;
    // The worker takes column panels [mid, Np): raw exports of its own instance, no TypeScript.
    const worker = new Worker(`
      const { parentPort, workerData: d } = require('node:worker_threads');
      const { exports: k } = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
      k.tiles(d.C, d.N, d.pa, d.pb + d.pbSkip, d.M, d.K, d.N, 0, d.Mp, d.mid, d.Np, d.aIdx, d.bIdx + d.bIdxSkip);
      parentPort.postMessage('done');
    `, {
      eval: true,
      workerData: {
        module, memory: arena.memory, C: two.ptr, N, M, K, Mp, Np, mid, pa: pa.ptr, pb: pb.ptr, aIdx: aIdx.ptr, bIdx: bIdx.ptr,
        pbSkip: packedBytes(NR, mid, K), bIdxSkip: indexBytes(mid, K),
      },
    });
    const done = new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    kernels.tiles(two.ptr, N, pa.ptr, pb.ptr, M, K, N, 0, Mp, 0, mid, aIdx.ptr, bIdx.ptr);
    await done;
    await worker.terminate();
    expect(firstDifference(two.view, one.view)).toBe(-1);
  });
});

describe('encoder: every opcode method computes what the spec says (checks the opcode numbers)', () => {
  // One function per opcode: load operands from memory, apply it, store the result; then compare
  // lane by lane with JavaScript. An opcode number that names a different valid instruction
  // (min for pmin, le for lt) validates but fails here.
  const mod = new ModuleBuilder();
  mod.importMemory({ module: 'env', name: 'memory', minPages: 1, shared: false });
  type V = import('../../engine/wasm/encoder.js').Expr;
  type Fb = import('../../engine/wasm/encoder.js').FunctionBuilder;
  const binaryV: [string, (f: Fb, a: V, b: V) => V, (a: number, b: number) => number][] = [
    ['f32x4Add', (f, a, b) => f.f32x4Add(a, b), (a, b) => a + b],
    ['f32x4Sub', (f, a, b) => f.f32x4Sub(a, b), (a, b) => a - b],
    ['f32x4Mul', (f, a, b) => f.f32x4Mul(a, b), (a, b) => a * b],
    ['f32x4Div', (f, a, b) => f.f32x4Div(a, b), (a, b) => a / b],
    // max/min: NaN if either is NaN; max(−0, +0) = +0, min(−0, +0) = −0 (spec fmax/fmin)
    ['f32x4Max', (f, a, b) => f.f32x4Max(a, b), (a, b) => Math.max(a, b)],
    ['f32x4Min', (f, a, b) => f.f32x4Min(a, b), (a, b) => Math.min(a, b)],
  ];
  const compares: [string, (f: Fb, a: V, b: V) => V, (a: number, b: number) => boolean][] = [
    ['f32x4Eq', (f, a, b) => f.f32x4Eq(a, b), (a, b) => a === b],
    ['f32x4Ne', (f, a, b) => f.f32x4Ne(a, b), (a, b) => a !== b],
    ['f32x4Lt', (f, a, b) => f.f32x4Lt(a, b), (a, b) => a < b],
    ['f32x4Le', (f, a, b) => f.f32x4Le(a, b), (a, b) => a <= b],
    ['f32x4Gt', (f, a, b) => f.f32x4Gt(a, b), (a, b) => a > b],
    ['f32x4Ge', (f, a, b) => f.f32x4Ge(a, b), (a, b) => a >= b],
  ];
  // Operands at 16 (a), 32 (b), 48 (mask); result at 64.
  const vfn = (name: string, body: (f: Fb, a: () => V, b: () => V, m: () => V) => V) => {
    const f = mod.func(name, {});
    f.v128Store(f.i32(64), body(f, () => f.v128Load(f.i32(16)), () => f.v128Load(f.i32(32)), () => f.v128Load(f.i32(48))));
  };
  for (const [name, op] of [...binaryV, ...compares]) vfn(name, (f, a, b) => op(f, a(), b()));
  vfn('f32x4Sqrt', (f, a) => f.f32x4Sqrt(a()));
  vfn('v128And', (f, a, b) => f.v128And(a(), b()));
  vfn('v128Or', (f, a, b) => f.v128Or(a(), b()));
  vfn('v128Andnot', (f, a, b) => f.v128Andnot(a(), b()));
  vfn('v128Bitselect', (f, a, b, m) => f.v128Bitselect(a(), b(), m()));
  vfn('shuffle', (f, a, b) => f.f32x4Shuffle(a(), b(), [3, 4, 1, 6]));
  vfn('splat', (f) => f.f32x4Splat(f.f32Load(f.i32(20))));
  vfn('load32Splat', (f) => f.v128Load32Splat(f.i32(16), 8));
  vfn('promoteDemote', (f, a) => f.f32x4DemoteF64x2Zero(f.f64x2PromoteLowF32x4(a())));
  vfn('f64x2Ops', (f, a, b) => {
    const lo = (x: () => V) => f.f64x2PromoteLowF32x4(x());
    return f.f32x4DemoteF64x2Zero(f.f64x2Sqrt(f.f64x2Div(f.f64x2Sub(f.f64x2Add(f.f64x2Mul(lo(a), lo(b)), lo(a)), lo(b)), lo(b))));
  });
  vfn('load64ZeroStoreLane', (f) => f.v128Load64Zero(f.i32(24)));
  const s = mod.func('scalars', {});
  s.i32Store(s.i32(80), s.v128AnyTrue(s.v128Load(s.i32(16))));
  s.i32Store(s.i32(84), s.i32x4AllTrue(s.v128Load(s.i32(16))));
  s.f32Store(s.i32(88), s.f32x4ExtractLane(s.v128Load(s.i32(16)), 2));
  s.v128Store64Lane(s.i32(92), s.v128Load(s.i32(32)), 1);
  const bytes = mod.toBytes();

  it('validates and computes lane by lane like JavaScript', () => {
    const Memory = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBuffer } } }).WebAssembly.Memory;
    const memory = new Memory({ initial: 1 });
    const e = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports;
    const f32 = new Float32Array(memory.buffer);
    const u32 = new Uint32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    const cases: [number[], number[]][] = [
      [[1.5, -2, 0, NaN], [0.25, -2, -0, 1]],
      [[-0, Infinity, -Infinity, 3], [0, Infinity, 1, NaN]],
      [[1e-40, 7, 2, -1], [2, 1e-40, 2, -1]],
    ];
    const lanes = (at: number) => Array.from(f32.subarray(at / 4, at / 4 + 4));
    const bits = (at: number) => Array.from(u32.subarray(at / 4, at / 4 + 4));
    const same = (x: number, y: number) => Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
    const show = (x: number) => (Object.is(x, -0) ? '-0' : String(x));
    for (const [a0, b0] of cases) {
      const a = a0.map(Math.fround); // the operands as float32 holds them (1e-40 is subnormal)
      const b = b0.map(Math.fround);
      f32.set(a, 4);
      f32.set(b, 8);
      u32.set([0xffff0000, 0x0000ffff, 0xf0f0f0f0, 0], 12);
      for (const [name, , ref] of binaryV) {
        e[name]();
        const want = a.map((x, i) => Math.fround(ref(x, b[i])));
        lanes(64).forEach((v, i) => expect(same(v, want[i]), `${name}(${show(a[i])}, ${show(b[i])}) = ${show(v)}, want ${show(want[i])}`).toBe(true));
      }
      for (const [name, , ref] of compares) {
        e[name]();
        expect(bits(64), name).toEqual(a.map((x, i) => (ref(x, b[i]) ? 0xffffffff : 0)));
      }
      e.f32x4Sqrt();
      lanes(64).forEach((v, i) => expect(same(v, Math.fround(Math.sqrt(a[i])))).toBe(true));
      const ua = bits(16);
      const ub = bits(32);
      const um = bits(48);
      e.v128And();
      expect(bits(64)).toEqual(ua.map((x, i) => (x & ub[i]) >>> 0));
      e.v128Or();
      expect(bits(64)).toEqual(ua.map((x, i) => (x | ub[i]) >>> 0));
      e.v128Andnot();
      expect(bits(64)).toEqual(ua.map((x, i) => (x & ~ub[i]) >>> 0));
      e.v128Bitselect();
      expect(bits(64)).toEqual(ua.map((x, i) => ((x & um[i]) | (ub[i] & ~um[i])) >>> 0));
      e.shuffle();
      expect(bits(64)).toEqual([ua[3], ub[0], ua[1], ub[2]]);
      e.splat();
      expect(bits(64)).toEqual([ua[1], ua[1], ua[1], ua[1]]);
      e.load32Splat();
      expect(bits(64)).toEqual([ua[2], ua[2], ua[2], ua[2]]);
      e.promoteDemote();
      expect(bits(64)).toEqual([ua[0], ua[1], 0, 0].map((x, i) => (i < 2 && Number.isNaN(a[i]) ? bits(64)[i] : x)));
      e.f64x2Ops();
      const want64 = [0, 1].map((i) => Math.fround(Math.sqrt((a[i] * b[i] + a[i] - b[i]) / b[i])));
      lanes(64).slice(0, 2).forEach((v, i) => expect(same(v, want64[i]), `f64x2 lane ${i}`).toBe(true));
      e.load64ZeroStoreLane();
      expect(bits(64)).toEqual([ua[2], ua[3], 0, 0]);
      e.scalars();
      expect(i32[20]).toBe(ua.some((x) => x !== 0) ? 1 : 0);
      expect(i32[21]).toBe(ua.every((x) => x !== 0) ? 1 : 0);
      expect(same(f32[22], a[2])).toBe(true);
      expect([u32[23], u32[24]]).toEqual([ub[2], ub[3]]);
    }
  });
});
