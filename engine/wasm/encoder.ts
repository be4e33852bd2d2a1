/**
 * A small WebAssembly binary encoder: just what tapegrad's kernels need, written from the spec
 * (core binary format, the SIMD proposal's BinarySIMD.md and the relaxed-SIMD overview's opcode
 * table). No text format, no validation of its own beyond operand types: `WebAssembly.validate`
 * and `new WebAssembly.Module` are the judges.
 *
 * A kernel is written as nested calls that read like expressions:
 *
 *     f.set('c00', f.f32x4Add(f.get('c00'), f.f32x4Mul(f.get('a'), f.get('b0'))));
 *
 * JavaScript evaluates arguments left to right before the call, so the inner calls emit their
 * bytes first: local.get c00, local.get a, local.get b0, f32x4.mul, f32x4.add, local.set c00 — the
 * stack machine's postfix order. Each call returns an `Expr` (the type of the value it leaves on
 * the stack). The builder keeps the operand stack as it will be at run time and checks every
 * opcode's operands against it: their types, and that they are the values on top, in order. So a
 * generator that mixes up an f32 and a v128, or builds an operand in a `const` before the operand
 * that must precede it, fails where it is written, naming the opcode, not later in the validator.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

/** A value an emitted instruction leaves on the operand stack (each value is its own object). */
export interface Expr {
  readonly type: ValType;
}

/** What a void instruction returns: nothing on the stack, so nothing to pass on. */
const NOTHING: Expr = Object.freeze({ type: 'i32' as ValType });

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** A growable byte buffer with the spec's primitive encodings. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  byte(b: number): this {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = b & 0xff;
    return this;
  }

  bytes(bs: ArrayLike<number>): this {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]);
    return this;
  }

  /** Unsigned LEB128 (u32): 7 bits a byte, low bits first, the high bit says "more follows". */
  u32(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`encoder: u32 ${n} is not an integer in [0, 2^32)`);
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n !== 0) b |= 0x80;
      this.byte(b);
    } while (n !== 0);
    return this;
  }

  /**
   * Signed LEB128 (s32, s64 up to 2^53): two's complement, 7 bits a byte; it stops once the rest is
   * all sign bits and the last byte's bit 6 already carries that sign.
   */
  s32(n: number): this {
    if (!Number.isSafeInteger(n)) throw new RangeError(`encoder: s32 ${n} is not a safe integer`);
    for (;;) {
      const b = ((n % 128) + 128) % 128; // the low 7 bits of the two's complement
      n = Math.floor(n / 128); // arithmetic shift right by 7
      const signBit = b & 0x40;
      if ((n === 0 && signBit === 0) || (n === -1 && signBit !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }

  /** IEEE 754 binary32, little-endian (f32.const's immediate). */
  f32(x: number): this {
    const v = new DataView(new ArrayBuffer(4));
    v.setFloat32(0, x, true);
    return this.bytes(new Uint8Array(v.buffer));
  }

  /** IEEE 754 binary64, little-endian (f64.const's immediate). */
  f64(x: number): this {
    const v = new DataView(new ArrayBuffer(8));
    v.setFloat64(0, x, true);
    return this.bytes(new Uint8Array(v.buffer));
  }

  /** A name: its UTF-8 length, then the bytes. */
  name(s: string): this {
    const utf8 = new TextEncoder().encode(s);
    return this.u32(utf8.length).bytes(utf8);
  }

  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

// Opcodes. Core (spec §5.4): one byte. SIMD: the 0xFD prefix, then the opcode as a u32 LEB128
// (so 0x105, f32x4.relaxed_madd, is the bytes FD 85 02).
const OP = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f, call: 0x10,
  drop: 0x1a, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, f64Load: 0x2b, i32Store: 0x36, f32Store: 0x38, f64Store: 0x39,
  i32Const: 0x41, f32Const: 0x43, f64Const: 0x44,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GtU: 0x4b,
  i32LeS: 0x4c, i32LeU: 0x4d, i32GeS: 0x4e, i32GeU: 0x4f,
  f32Eq: 0x5b, f32Ne: 0x5c, f32Lt: 0x5d, f32Gt: 0x5e, f32Le: 0x5f, f32Ge: 0x60,
  f64Eq: 0x61, f64Ne: 0x62, f64Lt: 0x63, f64Gt: 0x64, f64Le: 0x65, f64Ge: 0x66,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Or: 0x72, i32Xor: 0x73, i32Shl: 0x74, i32ShrS: 0x75, i32ShrU: 0x76,
  i32Rotl: 0x77,
  f32Sqrt: 0x91, f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94, f32Div: 0x95, f32Min: 0x96, f32Max: 0x97,
  f64Abs: 0x99, f64Sqrt: 0x9f, f64Add: 0xa0, f64Sub: 0xa1, f64Mul: 0xa2, f64Div: 0xa3, f64Min: 0xa4, f64Max: 0xa5,
  f32DemoteF64: 0xb6, f64ConvertI32S: 0xb7, f64ConvertI32U: 0xb8, f64PromoteF32: 0xbb, i32ReinterpretF32: 0xbc, f32ReinterpretI32: 0xbe,
} as const;

const SIMD_PREFIX = 0xfd;
const SIMD = {
  v128Load: 0x00, v128Load32Splat: 0x09, v128Store: 0x0b, v128Const: 0x0c, i8x16Shuffle: 0x0d,
  i32x4Splat: 0x11, f32x4Splat: 0x13, f64x2Splat: 0x14, f32x4ExtractLane: 0x1f, f64x2ExtractLane: 0x21,
  f32x4Eq: 0x41, f32x4Ne: 0x42, f32x4Lt: 0x43, f32x4Gt: 0x44, f32x4Le: 0x45, f32x4Ge: 0x46,
  f64x2Eq: 0x47, f64x2Ne: 0x48, f64x2Lt: 0x49, f64x2Gt: 0x4a, f64x2Le: 0x4b, f64x2Ge: 0x4c,
  v128Not: 0x4d, v128And: 0x4e, v128Andnot: 0x4f, v128Or: 0x50, v128Xor: 0x51, v128Bitselect: 0x52, v128AnyTrue: 0x53,
  v128Store32Lane: 0x5a, v128Store64Lane: 0x5b, v128Load32Zero: 0x5c, v128Load64Zero: 0x5d, f32x4DemoteF64x2Zero: 0x5e, f64x2PromoteLowF32x4: 0x5f,
  f32x4Nearest: 0x6a,
  i32x4AllTrue: 0xa3, i32x4Shl: 0xab, i32x4ShrS: 0xac, i32x4Add: 0xae, i32x4Sub: 0xb1, i32x4TruncSatF32x4S: 0xf8,
  f32x4Abs: 0xe0, f32x4Neg: 0xe1, f32x4Sqrt: 0xe3, f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Div: 0xe7,
  f32x4Min: 0xe8, f32x4Max: 0xe9, f32x4Pmin: 0xea, f32x4Pmax: 0xeb,
  f64x2Abs: 0xec, f64x2Sqrt: 0xef, f64x2Add: 0xf0, f64x2Sub: 0xf1, f64x2Mul: 0xf2, f64x2Div: 0xf3, f64x2Min: 0xf4, f64x2Max: 0xf5,
  f32x4RelaxedMadd: 0x105,
} as const;

/** Natural alignment (log2 bytes) of each access: the most a memarg may claim. */
const NATURAL_ALIGN = { i32: 2, f32: 2, f64: 3, v128: 4, lane32: 2, lane64: 3, splat32: 2 } as const;


interface Local {
  index: number;
  type: ValType;
}

/**
 * One function's body. Parameters and locals are named, as the kernel's pseudo-code names them;
 * control structures take a label and a callback for their body, and `br`/`brIf` take the label,
 * so no kernel counts nesting depths by hand.
 */
export class FunctionBuilder {
  readonly params: ValType[];
  private readonly locals = new Map<string, Local>();
  private readonly extraLocals: ValType[] = [];
  private readonly code = new ByteWriter();
  private readonly labels: string[] = [];
  /** The operand stack as it will be when the code runs; `heights` where each open block began. */
  private readonly stack: Expr[] = [];
  private readonly heights: number[] = [];

  constructor(
    readonly name: string,
    readonly index: number,
    params: Record<string, ValType>,
    readonly results: ValType[],
  ) {
    this.params = Object.values(params);
    for (const [n, t] of Object.entries(params)) this.locals.set(n, { index: this.locals.size, type: t });
  }

  /** Declares a local (zero-initialised, as the spec says every local is). */
  local(name: string, type: ValType): void {
    if (this.locals.has(name)) throw new Error(`${this.name}: local '${name}' declared twice`);
    this.locals.set(name, { index: this.locals.size, type });
    this.extraLocals.push(type);
  }

  private find(name: string): Local {
    const l = this.locals.get(name);
    if (l === undefined) throw new Error(`${this.name}: no local or parameter named '${name}'`);
    return l;
  }

  /**
   * Pops `operands` off the simulated stack: they must be its top values, in order (the first
   * operand deepest), of the types `types`.
   */
  private consume(op: string, operands: Expr[], types: ValType[]): void {
    for (let i = 0; i < types.length; i++) {
      if (operands[i].type !== types[i]) {
        throw new TypeError(`${this.name}: ${op} operand ${i} is ${operands[i].type}, expected ${types[i]}`);
      }
    }
    const base = this.stack.length - operands.length;
    const floor = this.heights.length === 0 ? 0 : this.heights[this.heights.length - 1];
    for (let i = 0; i < operands.length; i++) {
      if (base + i < floor || this.stack[base + i] !== operands[i]) {
        throw new Error(`${this.name}: ${op} operand ${i} is not on top of the stack in order (emit operands inline, first to last)`);
      }
    }
    this.stack.length = base;
  }

  private push(type: ValType): Expr {
    const e: Expr = { type };
    this.stack.push(e);
    return e;
  }

  private result(out: ValType | null): Expr {
    return out === null ? NOTHING : this.push(out);
  }

  /** A core opcode taking `ins` and leaving `out` (or nothing). */
  private core(op: string, code: number, operands: Expr[], ins: ValType[], out: ValType | null): Expr {
    this.consume(op, operands, ins);
    this.code.byte(code);
    return this.result(out);
  }

  /** A SIMD opcode (0xFD prefix, u32 LEB128 opcode). */
  private simd(op: string, code: number, operands: Expr[], ins: ValType[], out: ValType | null): Expr {
    this.consume(op, operands, ins);
    this.code.byte(SIMD_PREFIX).u32(code);
    return this.result(out);
  }

  /** memarg: the alignment as log2 bytes (a hint; it never changes results), then the offset. */
  private memarg(op: string, align: number, natural: number, offset: number): void {
    if (align > natural) throw new RangeError(`${this.name}: ${op} alignment 2^${align} exceeds natural 2^${natural}`);
    this.code.u32(align).u32(offset);
  }

  // ---- locals ----
  get(name: string): Expr {
    const l = this.find(name);
    this.code.byte(OP.localGet).u32(l.index);
    return this.push(l.type);
  }

  set(name: string, value: Expr): void {
    const l = this.find(name);
    this.consume(`local.set ${name}`, [value], [l.type]);
    this.code.byte(OP.localSet).u32(l.index);
  }

  tee(name: string, value: Expr): Expr {
    const l = this.find(name);
    this.consume(`local.tee ${name}`, [value], [l.type]);
    this.code.byte(OP.localTee).u32(l.index);
    return this.push(l.type);
  }

  // ---- constants ----
  i32(n: number): Expr {
    this.code.byte(OP.i32Const).s32(n | 0);
    return this.push('i32');
  }

  f32(x: number): Expr {
    this.code.byte(OP.f32Const).f32(x);
    return this.push('f32');
  }

  f64(x: number): Expr {
    this.code.byte(OP.f64Const).f64(x);
    return this.push('f64');
  }

  /** v128.const from four f32 lanes. */
  f32x4Const(x0: number, x1: number, x2: number, x3: number): Expr {
    this.code.byte(SIMD_PREFIX).u32(SIMD.v128Const).f32(x0).f32(x1).f32(x2).f32(x3);
    return this.push('v128');
  }

  // ---- control ----
  private open(kind: number, label: string, body: () => void): void {
    this.code.byte(kind).byte(0x40); // 0x40: the empty block type (no parameters, no results)
    this.inside(label, body);
    this.code.byte(OP.end);
  }

  /** Runs a block's body; with the empty block type it must leave the stack as it found it. */
  private inside(label: string, body: () => void): void {
    this.labels.push(label);
    this.heights.push(this.stack.length);
    body();
    const height = this.heights.pop() as number;
    if (this.stack.length !== height) {
      throw new Error(`${this.name}: block '${label}' leaves ${this.stack.length - height} values on the stack`);
    }
    this.labels.pop();
  }

  /** `block label ... end`: `br label` jumps to its end. */
  block(label: string, body: () => void): void {
    this.open(OP.block, label, body);
  }

  /** `loop label ... end`: `br label` jumps back to its start. */
  loop(label: string, body: () => void): void {
    this.open(OP.loop, label, body);
  }

  /** `if ... else ... end` on an i32 condition (non-zero is true). */
  if(cond: Expr, then: () => void, otherwise?: () => void): void {
    this.consume('if', [cond], ['i32']);
    this.code.byte(OP.if).byte(0x40);
    this.inside('<if>', then);
    if (otherwise !== undefined) {
      this.code.byte(OP.else);
      this.inside('<else>', otherwise);
    }
    this.code.byte(OP.end);
  }

  /**
   * `while (cond) body`, emitted as `if (cond) loop { body; br_if cond }`: one branch per
   * iteration at the bottom, the form V8 compiles best. `cond` is called twice (it emits twice).
   */
  while(label: string, cond: () => Expr, body: () => void): void {
    this.if(cond(), () => {
      this.loop(label, () => {
        body();
        this.brIf(label, cond());
      });
    });
  }

  private depth(label: string): number {
    const at = this.labels.lastIndexOf(label);
    if (at < 0) throw new Error(`${this.name}: br to unknown label '${label}'`);
    return this.labels.length - 1 - at;
  }

  br(label: string): void {
    this.code.byte(OP.br).u32(this.depth(label));
  }

  brIf(label: string, cond: Expr): void {
    this.consume('br_if', [cond], ['i32']);
    this.code.byte(OP.brIf).u32(this.depth(label));
  }

  return(): void {
    this.code.byte(OP.return);
  }

  /** Calls a function of the same module (created before this call is emitted). */
  call(fn: FunctionBuilder, ...args: Expr[]): Expr {
    if (args.length !== fn.params.length) throw new Error(`${this.name}: call ${fn.name} with ${args.length} arguments, expected ${fn.params.length}`);
    this.consume(`call ${fn.name}`, args, fn.params);
    this.code.byte(OP.call).u32(fn.index);
    return fn.results.length === 1 ? this.push(fn.results[0]) : NOTHING;
  }

  drop(value: Expr): void {
    this.consume('drop', [value], [value.type]);
    this.code.byte(OP.drop);
  }

  /** `select`: a if cond is non-zero, else b (both are evaluated; no branch). */
  select(a: Expr, b: Expr, cond: Expr): Expr {
    this.consume('select', [a, b, cond], [a.type, a.type, 'i32']);
    this.code.byte(OP.select);
    return this.push(a.type);
  }

  // ---- memory (addresses are i32 byte addresses; `offset` is the memarg's constant) ----
  i32Load(addr: Expr, offset = 0): Expr {
    const e = this.core('i32.load', OP.i32Load, [addr], ['i32'], 'i32');
    this.memarg('i32.load', 2, NATURAL_ALIGN.i32, offset);
    return e;
  }

  i32Store(addr: Expr, value: Expr, offset = 0): void {
    this.core('i32.store', OP.i32Store, [addr, value], ['i32', 'i32'], null);
    this.memarg('i32.store', 2, NATURAL_ALIGN.i32, offset);
  }

  f32Load(addr: Expr, offset = 0): Expr {
    const e = this.core('f32.load', OP.f32Load, [addr], ['i32'], 'f32');
    this.memarg('f32.load', 2, NATURAL_ALIGN.f32, offset);
    return e;
  }

  f32Store(addr: Expr, value: Expr, offset = 0): void {
    this.core('f32.store', OP.f32Store, [addr, value], ['i32', 'f32'], null);
    this.memarg('f32.store', 2, NATURAL_ALIGN.f32, offset);
  }

  /**
   * v128.load. The alignment hint defaults to 2^2: tensors are Float32Arrays, aligned to 4 bytes
   * and no more, and a wrong hint is allowed but a promise we would not keep. (V8 on x64 emits
   * unaligned loads whatever the hint.)
   */
  v128Load(addr: Expr, offset = 0, align = 2): Expr {
    const e = this.simd('v128.load', SIMD.v128Load, [addr], ['i32'], 'v128');
    this.memarg('v128.load', align, NATURAL_ALIGN.v128, offset);
    return e;
  }

  v128Store(addr: Expr, value: Expr, offset = 0, align = 2): void {
    this.simd('v128.store', SIMD.v128Store, [addr, value], ['i32', 'v128'], null);
    this.memarg('v128.store', align, NATURAL_ALIGN.v128, offset);
  }

  /** v128.load32_splat: one f32 from memory into all four lanes. */
  v128Load32Splat(addr: Expr, offset = 0): Expr {
    const e = this.simd('v128.load32_splat', SIMD.v128Load32Splat, [addr], ['i32'], 'v128');
    this.memarg('v128.load32_splat', 2, NATURAL_ALIGN.splat32, offset);
    return e;
  }

  f64Load(addr: Expr, offset = 0): Expr {
    const e = this.core('f64.load', OP.f64Load, [addr], ['i32'], 'f64');
    this.memarg('f64.load', 3, NATURAL_ALIGN.f64, offset);
    return e;
  }

  f64Store(addr: Expr, value: Expr, offset = 0): void {
    this.core('f64.store', OP.f64Store, [addr, value], ['i32', 'f64'], null);
    this.memarg('f64.store', 3, NATURAL_ALIGN.f64, offset);
  }

  /** v128.load32_zero: one f32 into lane 0, zeros above (a vector kernel's one-element tail). */
  v128Load32Zero(addr: Expr, offset = 0): Expr {
    const e = this.simd('v128.load32_zero', SIMD.v128Load32Zero, [addr], ['i32'], 'v128');
    this.memarg('v128.load32_zero', 2, NATURAL_ALIGN.lane32, offset);
    return e;
  }

  /** v128.store32_lane: stores f32 lane `lane` of the vector. */
  v128Store32Lane(addr: Expr, value: Expr, lane: 0 | 1 | 2 | 3, offset = 0): void {
    this.simd('v128.store32_lane', SIMD.v128Store32Lane, [addr, value], ['i32', 'v128'], null);
    this.memarg('v128.store32_lane', 2, NATURAL_ALIGN.lane32, offset);
    this.code.byte(lane);
  }

  /** v128.load64_zero: 8 bytes (two f32) into the low half, zeros above. */
  v128Load64Zero(addr: Expr, offset = 0): Expr {
    const e = this.simd('v128.load64_zero', SIMD.v128Load64Zero, [addr], ['i32'], 'v128');
    this.memarg('v128.load64_zero', 2, NATURAL_ALIGN.lane64, offset);
    return e;
  }

  /** v128.store64_lane: stores 64-bit lane `lane` (two f32 lanes) of the vector. */
  v128Store64Lane(addr: Expr, value: Expr, lane: 0 | 1, offset = 0): void {
    this.simd('v128.store64_lane', SIMD.v128Store64Lane, [addr, value], ['i32', 'v128'], null);
    this.memarg('v128.store64_lane', 2, NATURAL_ALIGN.lane64, offset);
    this.code.byte(lane);
  }

  // ---- i32 arithmetic and comparisons ----
  i32Add(a: Expr, b: Expr): Expr { return this.core('i32.add', OP.i32Add, [a, b], ['i32', 'i32'], 'i32'); }
  i32Sub(a: Expr, b: Expr): Expr { return this.core('i32.sub', OP.i32Sub, [a, b], ['i32', 'i32'], 'i32'); }
  i32Mul(a: Expr, b: Expr): Expr { return this.core('i32.mul', OP.i32Mul, [a, b], ['i32', 'i32'], 'i32'); }
  i32And(a: Expr, b: Expr): Expr { return this.core('i32.and', OP.i32And, [a, b], ['i32', 'i32'], 'i32'); }
  i32Or(a: Expr, b: Expr): Expr { return this.core('i32.or', OP.i32Or, [a, b], ['i32', 'i32'], 'i32'); }
  i32Xor(a: Expr, b: Expr): Expr { return this.core('i32.xor', OP.i32Xor, [a, b], ['i32', 'i32'], 'i32'); }
  i32Rotl(a: Expr, b: Expr): Expr { return this.core('i32.rotl', OP.i32Rotl, [a, b], ['i32', 'i32'], 'i32'); }
  i32Shl(a: Expr, b: Expr): Expr { return this.core('i32.shl', OP.i32Shl, [a, b], ['i32', 'i32'], 'i32'); }
  i32ShrS(a: Expr, b: Expr): Expr { return this.core('i32.shr_s', OP.i32ShrS, [a, b], ['i32', 'i32'], 'i32'); }
  i32ShrU(a: Expr, b: Expr): Expr { return this.core('i32.shr_u', OP.i32ShrU, [a, b], ['i32', 'i32'], 'i32'); }
  i32Eqz(a: Expr): Expr { return this.core('i32.eqz', OP.i32Eqz, [a], ['i32'], 'i32'); }
  i32Eq(a: Expr, b: Expr): Expr { return this.core('i32.eq', OP.i32Eq, [a, b], ['i32', 'i32'], 'i32'); }
  i32Ne(a: Expr, b: Expr): Expr { return this.core('i32.ne', OP.i32Ne, [a, b], ['i32', 'i32'], 'i32'); }
  i32LtS(a: Expr, b: Expr): Expr { return this.core('i32.lt_s', OP.i32LtS, [a, b], ['i32', 'i32'], 'i32'); }
  i32LtU(a: Expr, b: Expr): Expr { return this.core('i32.lt_u', OP.i32LtU, [a, b], ['i32', 'i32'], 'i32'); }
  i32GtS(a: Expr, b: Expr): Expr { return this.core('i32.gt_s', OP.i32GtS, [a, b], ['i32', 'i32'], 'i32'); }
  i32GtU(a: Expr, b: Expr): Expr { return this.core('i32.gt_u', OP.i32GtU, [a, b], ['i32', 'i32'], 'i32'); }
  i32LeS(a: Expr, b: Expr): Expr { return this.core('i32.le_s', OP.i32LeS, [a, b], ['i32', 'i32'], 'i32'); }
  i32LeU(a: Expr, b: Expr): Expr { return this.core('i32.le_u', OP.i32LeU, [a, b], ['i32', 'i32'], 'i32'); }
  i32GeS(a: Expr, b: Expr): Expr { return this.core('i32.ge_s', OP.i32GeS, [a, b], ['i32', 'i32'], 'i32'); }
  i32GeU(a: Expr, b: Expr): Expr { return this.core('i32.ge_u', OP.i32GeU, [a, b], ['i32', 'i32'], 'i32'); }

  // ---- f32 and f64 scalars ----
  f32Add(a: Expr, b: Expr): Expr { return this.core('f32.add', OP.f32Add, [a, b], ['f32', 'f32'], 'f32'); }
  f32Sub(a: Expr, b: Expr): Expr { return this.core('f32.sub', OP.f32Sub, [a, b], ['f32', 'f32'], 'f32'); }
  f32Mul(a: Expr, b: Expr): Expr { return this.core('f32.mul', OP.f32Mul, [a, b], ['f32', 'f32'], 'f32'); }
  f32Div(a: Expr, b: Expr): Expr { return this.core('f32.div', OP.f32Div, [a, b], ['f32', 'f32'], 'f32'); }
  f32Sqrt(a: Expr): Expr { return this.core('f32.sqrt', OP.f32Sqrt, [a], ['f32'], 'f32'); }
  /** f32.max: NaN if either operand is NaN; max(−0, +0) = +0. */
  f32Max(a: Expr, b: Expr): Expr { return this.core('f32.max', OP.f32Max, [a, b], ['f32', 'f32'], 'f32'); }
  f32Min(a: Expr, b: Expr): Expr { return this.core('f32.min', OP.f32Min, [a, b], ['f32', 'f32'], 'f32'); }
  f32Eq(a: Expr, b: Expr): Expr { return this.core('f32.eq', OP.f32Eq, [a, b], ['f32', 'f32'], 'i32'); }
  f32Ne(a: Expr, b: Expr): Expr { return this.core('f32.ne', OP.f32Ne, [a, b], ['f32', 'f32'], 'i32'); }
  f32Lt(a: Expr, b: Expr): Expr { return this.core('f32.lt', OP.f32Lt, [a, b], ['f32', 'f32'], 'i32'); }
  f32Gt(a: Expr, b: Expr): Expr { return this.core('f32.gt', OP.f32Gt, [a, b], ['f32', 'f32'], 'i32'); }
  f32Le(a: Expr, b: Expr): Expr { return this.core('f32.le', OP.f32Le, [a, b], ['f32', 'f32'], 'i32'); }
  f32Ge(a: Expr, b: Expr): Expr { return this.core('f32.ge', OP.f32Ge, [a, b], ['f32', 'f32'], 'i32'); }
  /** f64.convert_i32_u: an i32 read as unsigned, exactly. */
  f64ConvertI32U(a: Expr): Expr { return this.core('f64.convert_i32_u', OP.f64ConvertI32U, [a], ['i32'], 'f64'); }
  /** f64.convert_i32_s: an i32 read as signed, exactly. */
  f64ConvertI32S(a: Expr): Expr { return this.core('f64.convert_i32_s', OP.f64ConvertI32S, [a], ['i32'], 'f64'); }
  /** i32.reinterpret_f32: the float's bits as an integer (sign, 8 exponent bits, 23 fraction bits). */
  i32ReinterpretF32(a: Expr): Expr { return this.core('i32.reinterpret_f32', OP.i32ReinterpretF32, [a], ['f32'], 'i32'); }
  /** f32.reinterpret_i32: an integer's bits as a float. */
  f32ReinterpretI32(a: Expr): Expr { return this.core('f32.reinterpret_i32', OP.f32ReinterpretI32, [a], ['i32'], 'f32'); }
  f64Lt(a: Expr, b: Expr): Expr { return this.core('f64.lt', OP.f64Lt, [a, b], ['f64', 'f64'], 'i32'); }
  f64Add(a: Expr, b: Expr): Expr { return this.core('f64.add', OP.f64Add, [a, b], ['f64', 'f64'], 'f64'); }
  f64Sub(a: Expr, b: Expr): Expr { return this.core('f64.sub', OP.f64Sub, [a, b], ['f64', 'f64'], 'f64'); }
  f64Mul(a: Expr, b: Expr): Expr { return this.core('f64.mul', OP.f64Mul, [a, b], ['f64', 'f64'], 'f64'); }
  f64Div(a: Expr, b: Expr): Expr { return this.core('f64.div', OP.f64Div, [a, b], ['f64', 'f64'], 'f64'); }
  f64Sqrt(a: Expr): Expr { return this.core('f64.sqrt', OP.f64Sqrt, [a], ['f64'], 'f64'); }
  f64Max(a: Expr, b: Expr): Expr { return this.core('f64.max', OP.f64Max, [a, b], ['f64', 'f64'], 'f64'); }
  f64Gt(a: Expr, b: Expr): Expr { return this.core('f64.gt', OP.f64Gt, [a, b], ['f64', 'f64'], 'i32'); }
  /** f64.min: NaN if either operand is NaN; min(−0, +0) = −0 (as Math.min). */
  f64Min(a: Expr, b: Expr): Expr { return this.core('f64.min', OP.f64Min, [a, b], ['f64', 'f64'], 'f64'); }
  /** f64.abs: clears the sign bit (NaN stays NaN). */
  f64Abs(a: Expr): Expr { return this.core('f64.abs', OP.f64Abs, [a], ['f64'], 'f64'); }
  /** f32 → f64, exact. */
  f64PromoteF32(a: Expr): Expr { return this.core('f64.promote_f32', OP.f64PromoteF32, [a], ['f32'], 'f64'); }
  /** f64 → f32, round to nearest even (what a Float32Array store does). */
  f32DemoteF64(a: Expr): Expr { return this.core('f32.demote_f64', OP.f32DemoteF64, [a], ['f64'], 'f32'); }

  // ---- v128: splats, lanes, shuffles, bitwise ----
  i32x4Splat(a: Expr): Expr { return this.simd('i32x4.splat', SIMD.i32x4Splat, [a], ['i32'], 'v128'); }
  i32x4Add(a: Expr, b: Expr): Expr { return this.simd('i32x4.add', SIMD.i32x4Add, [a, b], ['v128', 'v128'], 'v128'); }
  i32x4Sub(a: Expr, b: Expr): Expr { return this.simd('i32x4.sub', SIMD.i32x4Sub, [a, b], ['v128', 'v128'], 'v128'); }
  i32x4Shl(a: Expr, b: Expr): Expr { return this.simd('i32x4.shl', SIMD.i32x4Shl, [a, b], ['v128', 'i32'], 'v128'); }
  i32x4ShrS(a: Expr, b: Expr): Expr { return this.simd('i32x4.shr_s', SIMD.i32x4ShrS, [a, b], ['v128', 'i32'], 'v128'); }
  /** i32x4.trunc_sat_f32x4_s: toward zero, saturating; NaN gives 0. */
  i32x4TruncSatF32x4S(a: Expr): Expr { return this.simd('i32x4.trunc_sat_f32x4_s', SIMD.i32x4TruncSatF32x4S, [a], ['v128'], 'v128'); }
  f32x4Splat(a: Expr): Expr { return this.simd('f32x4.splat', SIMD.f32x4Splat, [a], ['f32'], 'v128'); }
  f64x2Splat(a: Expr): Expr { return this.simd('f64x2.splat', SIMD.f64x2Splat, [a], ['f64'], 'v128'); }

  f32x4ExtractLane(v: Expr, lane: number): Expr {
    if (!(lane >= 0 && lane < 4)) throw new RangeError(`${this.name}: f32x4.extract_lane ${lane} is not in 0..3`);
    const e = this.simd('f32x4.extract_lane', SIMD.f32x4ExtractLane, [v], ['v128'], 'f32');
    this.code.byte(lane);
    return e;
  }

  /**
   * i8x16.shuffle: 16 byte indices, 0–15 from a and 16–31 from b. Kernels shuffle f32 lanes, so
   * this takes four lane indices (0–3 from a, 4–7 from b) and spells out their bytes.
   */
  f32x4Shuffle(a: Expr, b: Expr, lanes: [number, number, number, number]): Expr {
    const e = this.simd('i8x16.shuffle', SIMD.i8x16Shuffle, [a, b], ['v128', 'v128'], 'v128');
    for (const l of lanes) {
      if (!(l >= 0 && l < 8)) throw new RangeError(`${this.name}: shuffle lane ${l} is not in 0..7`);
      for (let byte = 0; byte < 4; byte++) this.code.byte(l * 4 + byte);
    }
    return e;
  }

  v128And(a: Expr, b: Expr): Expr { return this.simd('v128.and', SIMD.v128And, [a, b], ['v128', 'v128'], 'v128'); }
  v128Or(a: Expr, b: Expr): Expr { return this.simd('v128.or', SIMD.v128Or, [a, b], ['v128', 'v128'], 'v128'); }
  /** v128.andnot(a, b) = a & ~b. */
  v128Andnot(a: Expr, b: Expr): Expr { return this.simd('v128.andnot', SIMD.v128Andnot, [a, b], ['v128', 'v128'], 'v128'); }
  /** v128.bitselect(a, b, mask): bits of a where mask is 1, of b where it is 0. */
  v128Bitselect(a: Expr, b: Expr, mask: Expr): Expr {
    return this.simd('v128.bitselect', SIMD.v128Bitselect, [a, b, mask], ['v128', 'v128', 'v128'], 'v128');
  }
  /** v128.any_true: 1 if any bit is set. */
  v128AnyTrue(a: Expr): Expr { return this.simd('v128.any_true', SIMD.v128AnyTrue, [a], ['v128'], 'i32'); }
  /** i32x4.all_true: 1 if every 32-bit lane is non-zero. */
  i32x4AllTrue(a: Expr): Expr { return this.simd('i32x4.all_true', SIMD.i32x4AllTrue, [a], ['v128'], 'i32'); }

  // ---- f32x4 ----
  f32x4Add(a: Expr, b: Expr): Expr { return this.simd('f32x4.add', SIMD.f32x4Add, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Sub(a: Expr, b: Expr): Expr { return this.simd('f32x4.sub', SIMD.f32x4Sub, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Mul(a: Expr, b: Expr): Expr { return this.simd('f32x4.mul', SIMD.f32x4Mul, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Div(a: Expr, b: Expr): Expr { return this.simd('f32x4.div', SIMD.f32x4Div, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Neg(a: Expr): Expr { return this.simd('f32x4.neg', SIMD.f32x4Neg, [a], ['v128'], 'v128'); }
  f32x4Abs(a: Expr): Expr { return this.simd('f32x4.abs', SIMD.f32x4Abs, [a], ['v128'], 'v128'); }
  /** f32x4.nearest: round to the nearest integer, ties to even. */
  f32x4Nearest(a: Expr): Expr { return this.simd('f32x4.nearest', SIMD.f32x4Nearest, [a], ['v128'], 'v128'); }
  f32x4Sqrt(a: Expr): Expr { return this.simd('f32x4.sqrt', SIMD.f32x4Sqrt, [a], ['v128'], 'v128'); }
  /** f32x4.max: NaN in a lane if either operand's lane is NaN (pmax would not propagate it). */
  f32x4Max(a: Expr, b: Expr): Expr { return this.simd('f32x4.max', SIMD.f32x4Max, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Min(a: Expr, b: Expr): Expr { return this.simd('f32x4.min', SIMD.f32x4Min, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Eq(a: Expr, b: Expr): Expr { return this.simd('f32x4.eq', SIMD.f32x4Eq, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Ne(a: Expr, b: Expr): Expr { return this.simd('f32x4.ne', SIMD.f32x4Ne, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Lt(a: Expr, b: Expr): Expr { return this.simd('f32x4.lt', SIMD.f32x4Lt, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Le(a: Expr, b: Expr): Expr { return this.simd('f32x4.le', SIMD.f32x4Le, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Gt(a: Expr, b: Expr): Expr { return this.simd('f32x4.gt', SIMD.f32x4Gt, [a, b], ['v128', 'v128'], 'v128'); }
  f32x4Ge(a: Expr, b: Expr): Expr { return this.simd('f32x4.ge', SIMD.f32x4Ge, [a, b], ['v128', 'v128'], 'v128'); }
  /** f32x4.relaxed_madd(a, b, c) = a·b + c, fused or not as the hardware does it (relaxed SIMD). */
  f32x4RelaxedMadd(a: Expr, b: Expr, c: Expr): Expr {
    return this.simd('f32x4.relaxed_madd', SIMD.f32x4RelaxedMadd, [a, b, c], ['v128', 'v128', 'v128'], 'v128');
  }
  /** f32x4.demote_f64x2_zero: two f64 lanes to f32 lanes 0–1 (round to nearest even), lanes 2–3 zero. */
  f32x4DemoteF64x2Zero(a: Expr): Expr {
    return this.simd('f32x4.demote_f64x2_zero', SIMD.f32x4DemoteF64x2Zero, [a], ['v128'], 'v128');
  }

  // ---- f64x2 ----
  f64x2Add(a: Expr, b: Expr): Expr { return this.simd('f64x2.add', SIMD.f64x2Add, [a, b], ['v128', 'v128'], 'v128'); }
  f64x2Sub(a: Expr, b: Expr): Expr { return this.simd('f64x2.sub', SIMD.f64x2Sub, [a, b], ['v128', 'v128'], 'v128'); }
  f64x2Mul(a: Expr, b: Expr): Expr { return this.simd('f64x2.mul', SIMD.f64x2Mul, [a, b], ['v128', 'v128'], 'v128'); }
  f64x2Div(a: Expr, b: Expr): Expr { return this.simd('f64x2.div', SIMD.f64x2Div, [a, b], ['v128', 'v128'], 'v128'); }
  f64x2Sqrt(a: Expr): Expr { return this.simd('f64x2.sqrt', SIMD.f64x2Sqrt, [a], ['v128'], 'v128'); }
  /** f64x2.max: NaN in a lane if either operand's lane is NaN; max(−0, +0) = +0 (as Math.max). */
  f64x2Max(a: Expr, b: Expr): Expr { return this.simd('f64x2.max', SIMD.f64x2Max, [a, b], ['v128', 'v128'], 'v128'); }
  /** f64x2.min: NaN in a lane if either operand's lane is NaN; min(−0, +0) = −0 (as Math.min). */
  f64x2Min(a: Expr, b: Expr): Expr { return this.simd('f64x2.min', SIMD.f64x2Min, [a, b], ['v128', 'v128'], 'v128'); }
  f64x2Abs(a: Expr): Expr { return this.simd('f64x2.abs', SIMD.f64x2Abs, [a], ['v128'], 'v128'); }
  f64x2Gt(a: Expr, b: Expr): Expr { return this.simd('f64x2.gt', SIMD.f64x2Gt, [a, b], ['v128', 'v128'], 'v128'); }
  f64x2Lt(a: Expr, b: Expr): Expr { return this.simd('f64x2.lt', SIMD.f64x2Lt, [a, b], ['v128', 'v128'], 'v128'); }
  /** f64x2.promote_low_f32x4: f32 lanes 0–1 to two f64 lanes, exactly. */
  f64x2PromoteLowF32x4(a: Expr): Expr {
    return this.simd('f64x2.promote_low_f32x4', SIMD.f64x2PromoteLowF32x4, [a], ['v128'], 'v128');
  }

  /** The function body as the code section holds it: size, local declarations, code, end. */
  encodeBody(): Uint8Array {
    if (this.labels.length !== 0) throw new Error(`${this.name}: body ended inside '${this.labels.at(-1)}'`);
    const want = this.results.join(',');
    const have = this.stack.map((e) => e.type).join(',');
    if (have !== want) throw new Error(`${this.name}: body leaves [${have}] on the stack, its results are [${want}]`);
    const body = new ByteWriter();
    // Locals are declared in runs of one type: (count, type) pairs.
    const runs: [number, ValType][] = [];
    for (const t of this.extraLocals) {
      const last = runs.at(-1);
      if (last !== undefined && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    body.u32(runs.length);
    for (const [n, t] of runs) body.u32(n).byte(VALTYPE[t]);
    body.bytes(this.code.toBytes());
    body.byte(OP.end);
    const sized = new ByteWriter();
    sized.u32(body.length).bytes(body.toBytes());
    return sized.toBytes();
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  /** Pages (64 KiB) the imported memory must have at least. */
  minPages: number;
  /** Pages it may grow to; required when shared (the threads proposal needs a maximum). */
  maxPages?: number;
  shared: boolean;
}

/**
 * A module: type, import, function, export and code sections, in the order the spec requires.
 * Functions are numbered in the order they are created (the module imports no functions), so a
 * function can call any function created before it.
 */
export class ModuleBuilder {
  private readonly functions: FunctionBuilder[] = [];
  private readonly exports = new Map<string, number>();
  private memory: MemoryImport | null = null;

  importMemory(m: MemoryImport): void {
    if (m.shared && m.maxPages === undefined) throw new RangeError('encoder: a shared memory import needs maxPages');
    this.memory = m;
  }

  /** A new function; `exportAs` names it in the export section. */
  func(name: string, params: Record<string, ValType>, results: ValType[] = [], exportAs: string | null = name): FunctionBuilder {
    const f = new FunctionBuilder(name, this.functions.length, params, results);
    this.functions.push(f);
    if (exportAs !== null) {
      if (this.exports.has(exportAs)) throw new Error(`encoder: export '${exportAs}' defined twice`);
      this.exports.set(exportAs, f.index);
    }
    return f;
  }

  toBytes(): Uint8Array {
    const out = new ByteWriter();
    out.bytes([0x00, 0x61, 0x73, 0x6d]); // "\0asm"
    out.bytes([0x01, 0x00, 0x00, 0x00]); // version 1

    // Type section (1): one entry per distinct signature.
    const typeIndex = new Map<string, number>();
    const types: FunctionBuilder[] = [];
    const sigOf = (f: FunctionBuilder) => `${f.params.join(',')}->${f.results.join(',')}`;
    for (const f of this.functions) {
      if (!typeIndex.has(sigOf(f))) {
        typeIndex.set(sigOf(f), types.length);
        types.push(f);
      }
    }
    section(out, 1, (s) => {
      s.u32(types.length);
      for (const f of types) {
        s.byte(0x60).u32(f.params.length);
        for (const p of f.params) s.byte(VALTYPE[p]);
        s.u32(f.results.length);
        for (const r of f.results) s.byte(VALTYPE[r]);
      }
    });

    // Import section (2): the memory, when there is one. Limits flags: bit 0 a maximum follows,
    // bit 1 shared.
    const mem = this.memory;
    if (mem !== null) {
      section(out, 2, (s) => {
        s.u32(1).name(mem.module).name(mem.name).byte(0x02);
        const flags = (mem.maxPages !== undefined ? 1 : 0) | (mem.shared ? 2 : 0);
        s.byte(flags).u32(mem.minPages);
        if (mem.maxPages !== undefined) s.u32(mem.maxPages);
      });
    }

    // Function section (3): each function's type index.
    section(out, 3, (s) => {
      s.u32(this.functions.length);
      for (const f of this.functions) s.u32(typeIndex.get(sigOf(f)) as number);
    });

    // Export section (7): name, kind 0x00 (function), index.
    section(out, 7, (s) => {
      s.u32(this.exports.size);
      for (const [name, index] of this.exports) s.name(name).byte(0x00).u32(index);
    });

    // Code section (10): the bodies, in function order.
    section(out, 10, (s) => {
      s.u32(this.functions.length);
      for (const f of this.functions) s.bytes(f.encodeBody());
    });

    // The "name" custom section (0), function names subsection (1): not needed to run, but profilers
    // and debuggers then show `tiles` instead of `wasm-function[4]`.
    section(out, 0, (s) => {
      s.name('name');
      const names = new ByteWriter();
      names.u32(this.functions.length);
      for (const f of this.functions) names.u32(f.index).name(f.name);
      s.byte(1).u32(names.length).bytes(names.toBytes());
    });
    return out.toBytes();
  }
}

/** A section: its id, its size in bytes (u32 LEB128), its contents. */
function section(out: ByteWriter, id: number, fill: (s: ByteWriter) => void): void {
  const s = new ByteWriter();
  fill(s);
  out.byte(id).u32(s.length).bytes(s.toBytes());
}
