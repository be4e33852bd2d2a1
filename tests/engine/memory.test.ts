import { describe, expect, it } from 'vitest';
import { Dense, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { Rng, Tensor, alloc, allocPersistent, memoryStats, release, scoped, setPoisonOnRelease } from '../../engine/index.js';
import { inSharedMemory, sizeClass } from '../../engine/memory.js';

describe('the tensor arena', () => {
  it('puts tensors in the shared WebAssembly memory, zeroed, and 64-byte aligned', () => {
    const t = Tensor.zeros([3, 5]);
    expect(inSharedMemory(t.data)).toBe(true);
    expect(t.data.byteOffset % 64).toBe(0);
    expect(Array.from(t.data)).toEqual(new Array(15).fill(0));
    expect(memoryStats().arenaBytes).toBeGreaterThan(0);
  });

  it('size classes: multiples of 64 bytes, then four per power of two (at most 25% waste)', () => {
    expect(sizeClass(4)).toBe(64);
    expect(sizeClass(65)).toBe(128);
    expect(sizeClass(1024)).toBe(1024);
    expect(sizeClass(1025)).toBe(1280);
    for (const n of [3000, 77_000, 940_800, 12_345_678]) {
      const c = sizeClass(n);
      expect(c).toBeGreaterThanOrEqual(n);
      expect(c / n).toBeLessThanOrEqual(1.25);
    }
  });

  it('a scope hands back what was made inside it, except the tensors it returns', () => {
    setPoisonOnRelease(true);
    let inside!: Tensor;
    const kept = scoped(() => {
      inside = Tensor.full([100], 7);
      return Tensor.full([4], 3);
    });
    // The released block was poisoned: reading a tensor after its scope is visible as NaN.
    expect(Number.isNaN(inside.data[0])).toBe(true);
    expect(Array.from(kept.data)).toEqual([3, 3, 3, 3]);
    // An object of tensors keeps each of them.
    const both = scoped(() => ({ a: Tensor.full([2], 1), b: Tensor.full([2], 2), n: 5 }));
    expect([...both.a.data, ...both.b.data]).toEqual([1, 1, 2, 2]);
  });

  it('a scope also hands its blocks back when it throws', () => {
    setPoisonOnRelease(true);
    let inside!: Tensor;
    expect(() =>
      scoped(() => {
        inside = Tensor.full([10], 1);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(Number.isNaN(inside.data[0])).toBe(true);
  });

  it('persistent buffers and clones survive a scope; release() of a non-arena array is a no-op', () => {
    setPoisonOnRelease(true);
    const [p, c] = scoped(() => {
      const p = allocPersistent(8).fill(2);
      const c = Tensor.full([8], 5).clone();
      return [p, c] as const;
    });
    expect(Array.from(p)).toEqual(new Array(8).fill(2));
    expect(Array.from(c.data)).toEqual(new Array(8).fill(5));
    const plain = new Float32Array([1, 2]);
    release(plain);
    expect(Array.from(plain)).toEqual([1, 2]);
  });

  it('nested scopes: what the inner one returns belongs to the outer one', () => {
    setPoisonOnRelease(true);
    let fromInner!: Tensor;
    scoped(() => {
      fromInner = scoped(() => Tensor.full([3], 9));
      expect(Array.from(fromInner.data)).toEqual([9, 9, 9]);
    });
    expect(Number.isNaN(fromInner.data[0])).toBe(true);
  });

  it('a training step in a scope allocates nothing new once warm, and trains exactly as without the scope', () => {
    setPoisonOnRelease(false);
    const make = () => {
      const rng = new Rng(3);
      const model = new Sequential([new Dense(20, 30, { rng }), new ReLU(), new Dense(30, 4, { rng })]);
      const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      const x = Tensor.randn([16, 20], { rng });
      const y = new Int32Array(16).map((_, i) => i % 4);
      return (): number => {
        opt.zeroGrad();
        const loss = Tensor.crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item();
      };
    };
    const inScope = make();
    const free = make();
    const step = (): number => scoped(inScope);
    for (let i = 0; i < 5; i++) expect(step()).toBe(free());
    const warm = memoryStats();
    const losses: number[] = [];
    for (let i = 0; i < 200; i++) {
      losses.push(step());
      expect(losses[i]).toBe(free());
    }
    expect(losses[199]).toBeLessThan(losses[0] / 2);
    // Alone, the scoped steps hand back everything they take: nothing in use grows.
    const before = memoryStats();
    for (let i = 0; i < 200; i++) step();
    const after = memoryStats();
    expect(after.inUseBytes).toBe(before.inUseBytes);
    expect(after.liveBlocks).toBe(before.liveBlocks);
    expect(after.arenaBytes).toBe(warm.arenaBytes);
  });

  it('alloc zeroes a reused block', () => {
    setPoisonOnRelease(false);
    const a = alloc(33).fill(4);
    release(a);
    const b = alloc(33);
    expect(Array.from(b)).toEqual(new Array(33).fill(0));
  });
});

describe('a scope and early releases', () => {
  it('a block released early and handed out again as persistent storage is not recycled by the scope', () => {
    setPoisonOnRelease(false); // reuse at once, as in training
    const persistent = scoped(() => {
      const temp = alloc(50);
      release(temp); // the tape does this with a gradient it has used
      const p = allocPersistent(50); // the same size class: it gets temp's block
      p.fill(7);
      return { p };
    }).p;
    const after = alloc(50); // were the block recycled, this would overwrite it
    after.fill(1);
    expect(Array.from(persistent)).toEqual(new Array(50).fill(7));
  });
});
