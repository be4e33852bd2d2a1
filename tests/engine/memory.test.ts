// The memory rules of engine/memory.ts, on the production path: poison mode OFF, so a block that went
// back is handed out again at once, exactly as outside the tests. The promise under test: a tensor never
// reads another tensor's numbers; a read either gives its own numbers or throws RecycledTensorError.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm, Dense, ReLU, Sequential } from '../../layers/index.js';
import { SGD } from '../../optim/index.js';
import { RecycledTensorError, Rng, ScopeError, Tensor, alloc, allocPersistent, keep, memoryStats, noGrad, scoped, setBackend, setPoisonOnRelease, type BackendName } from '../../engine/index.js';
import { inSharedMemory, release, sizeClass } from '../../engine/memory.js';

beforeAll(() => setPoisonOnRelease(false));

/** Fills the freed blocks of the recent past with other numbers, as later training would. */
function churn(times = 3, size = 4): void {
  for (let i = 0; i < times; i++) scoped(() => Tensor.full([1, size], 10).add(0));
}

function expectRecycled(read: () => unknown, why: RegExp): void {
  let caught: unknown;
  try {
    read();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(RecycledTensorError);
  expect((caught as Error).message).toMatch(why);
  expect((caught as Error).message).toMatch(/clone\(\).*keep\(\)/);
}

describe('where tensors live', () => {
  it('results on the tape live in the shared WebAssembly memory, 64-byte aligned; tensors you make outside a scope live in ordinary memory', () => {
    const w = Tensor.ones([3, 5], { requiresGrad: true });
    const y = w.mul(2);
    expect(inSharedMemory(y.data)).toBe(true);
    expect(y.data.byteOffset % 64).toBe(0);
    expect(inSharedMemory(w.data)).toBe(true); // a parameter: in the arena, kernels read it in place
    expect(inSharedMemory(Tensor.zeros([3]).data)).toBe(false);
    expect(inSharedMemory(noGrad(() => w.mul(2)).data)).toBe(false); // off the tape: moved out, at once
    expect(scoped(() => inSharedMemory(Tensor.zeros([3]).data))).toBe(true);
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

  it('alloc zeroes a reused block; release of a subarray of a block is an error, not a silent no-op', () => {
    const a = scoped(() => alloc(33).fill(4));
    const b = scoped(() => Array.from(alloc(33)));
    expect(b).toEqual(new Array(33).fill(0));
    expect(a.length).toBe(33);
    const p = allocPersistent(64);
    expect(() => release(p.subarray(4))).toThrow(/not a block the arena handed out/);
  });
});

describe.each(['wasm', 'js'] as BackendName[])('on the %s backend', (backend) => {
  beforeAll(() => setBackend(backend));

  describe('scoped (rule 1)', () => {
    it('a tensor assigned out of a scope throws when read afterwards, never another tensor\'s numbers (the issue\'s first case)', () => {
      let kept!: Tensor;
      scoped(() => {
        kept = Tensor.from([[1, 2, 3, 4]]);
        return kept.sum().item();
      });
      churn(); // later scoped steps reuse the block for [[10, 10, 10, 10]]
      expectRecycled(() => kept.toArray(), /scoped\(\) call that made it ended/);
      expectRecycled(() => kept.data, /scoped/);
      expectRecycled(() => kept.add(1), /scoped/);
      expectRecycled(() => kept.sum(), /scoped/);
      expect(kept.recycled).toBe(true);
    });

    it('keeps everything its result reaches, to any depth: objects, arrays, Maps, Sets and Float32Arrays', () => {
      const r = scoped(() => {
        const logits = Tensor.from([[1, 2], [3, 4]]).mul(1);
        return {
          out: { logits, list: [[Tensor.full([2], 7)]] },
          byName: new Map([['w', Tensor.full([1], 5)]]),
          set: new Set([Tensor.full([1], 6)]),
          raw: Tensor.full([3], 9).add(0).data,
          n: 3,
        };
      });
      churn(5, 2);
      expect(r.out.logits.toArray()).toEqual([[1, 2], [3, 4]]);
      expect(r.out.list[0][0].toArray()).toEqual([7, 7]);
      expect(r.byName.get('w')!.toArray()).toEqual([5]);
      expect([...r.set][0].toArray()).toEqual([6]);
      expect(Array.from(r.raw)).toEqual([9, 9, 9]);
    });

    it('keeps the tape behind a returned loss, so backward outside the scope gives the unscoped gradients', () => {
      const run = (wrap: boolean): number[] => {
        const rng = new Rng(5);
        const model = new Sequential([new Dense(6, 5, { rng }), new ReLU(), new Dense(5, 3, { rng })]);
        const x = Tensor.randn([4, 6], { rng });
        const y = Int32Array.from([0, 1, 2, 1]);
        const loss = wrap ? scoped(() => Tensor.crossEntropy(model.forward(x), y)) : Tensor.crossEntropy(model.forward(x), y);
        churn(4, 20);
        loss.backward();
        return model.parameters().flatMap((p) => Array.from(p.grad!.data));
      };
      expect(run(true)).toEqual(run(false));
    });

    it('gives everything back when it throws, and nested scopes pass their results out one level', () => {
      let inside!: Tensor;
      expect(() =>
        scoped(() => {
          inside = Tensor.full([10], 1);
          throw new Error('boom');
        }),
      ).toThrow('boom');
      churn();
      expectRecycled(() => inside.data, /scoped/);
      let fromInner!: Tensor;
      scoped(() => {
        fromInner = scoped(() => Tensor.full([3], 9));
        churn();
        expect(fromInner.toArray()).toEqual([9, 9, 9]);
      });
      churn();
      expectRecycled(() => fromInner.data, /scoped/);
    });

    it('refuses an async function before running it, and a promise-returning one without recycling anything', async () => {
      let ran = false;
      expect(() =>
        scoped(async () => {
          ran = true;
          return Tensor.ones([1]);
        }),
      ).toThrow(ScopeError);
      expect(ran).toBe(false);
      let made!: Tensor;
      let later!: Promise<Tensor>;
      expect(() =>
        scoped(() => {
          made = Tensor.from([1, 2, 3]);
          later = Promise.resolve().then(() => made.mul(2));
          return later;
        }),
      ).toThrow(/returned a promise; nothing was recycled/);
      churn();
      expect((await later).toArray()).toEqual([2, 4, 6]); // the async continuation still reads its own numbers
      expect(made.toArray()).toEqual([1, 2, 3]);
    });

    it('never recycles parameters or layer buffers: a model built inside a scope keeps its weights and trains', () => {
      const model = scoped(() => new Sequential([new Dense(4, 6, { rng: new Rng(1) }), new BatchNorm(6), new ReLU(), new Dense(6, 2, { rng: new Rng(2) })]));
      const before = model.parameters().map((p) => Array.from(p.data));
      const buffers = model.namedBuffers().map(([, t]) => Array.from(t.data));
      churn(10, 24);
      expect(model.parameters().map((p) => Array.from(p.data))).toEqual(before);
      expect(model.namedBuffers().map(([, t]) => Array.from(t.data))).toEqual(buffers);
      const opt = new SGD(model.parameters(), { lr: 0.1 });
      const x = Tensor.randn([8, 4], { rng: new Rng(3) });
      const y = Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]);
      const losses = [];
      for (let i = 0; i < 30; i++) {
        losses.push(
          scoped(() => {
            opt.zeroGrad();
            const loss = Tensor.crossEntropy(model.forward(x), y);
            loss.backward();
            opt.step();
            return loss.item();
          }),
        );
      }
      expect(losses[29]).toBeLessThan(losses[0]);
    });

    it('detached losses from scoped steps throw when read later; keep() and clone() are the ways out', () => {
      const w = Tensor.from([1, 2], { requiresGrad: true });
      const detached: Tensor[] = [];
      const kept: Tensor[] = [];
      const cloned: Tensor[] = [];
      const seen: number[] = [];
      for (let i = 0; i < 4; i++) {
        scoped(() => {
          const loss = w.mul(i + 1).sum();
          seen.push(loss.item());
          detached.push(loss.detach());
          kept.push(keep(loss.mul(1))); // its own storage: keep(loss.detach()) would keep the shared one
          cloned.push(loss.clone());
        });
      }
      churn();
      expectRecycled(() => detached[0].item(), /scoped/);
      expect(kept.map((t) => t.item())).toEqual(seen);
      expect(cloned.map((t) => t.item())).toEqual(seen);
    });
  });

  describe('steps (rule 2): a loop of your own, with no scope', () => {
    function setup(seed = 7) {
      const rng = new Rng(seed);
      const model = new Sequential([new Dense(20, 32, { rng }), new ReLU(), new Dense(32, 4, { rng })]);
      const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      const x = Tensor.randn([16, 20], { rng });
      const y = Int32Array.from({ length: 16 }, (_, i) => i % 4);
      return { model, opt, x, y };
    }

    it('keeps a step\'s logits and loss readable after step(), and recycles them at the second backward after', () => {
      const { model, opt, x, y } = setup();
      const logits: Tensor[] = [];
      const losses: Tensor[] = [];
      const values: number[][] = [];
      for (let i = 0; i < 4; i++) {
        opt.zeroGrad();
        const out = model.forward(x);
        const loss = Tensor.crossEntropy(out, y);
        loss.backward();
        opt.step();
        values.push(Array.from(out.data)); // after step(): still this step's numbers
        logits.push(out);
        losses.push(loss);
      }
      expect(Array.from(logits[3].data)).toEqual(values[3]); // the last step's are still there
      expectRecycled(() => logits[2].data, /two backward\(\) calls after the step that made it/);
      expectRecycled(() => losses[1].item(), /backward/);
    });

    it('detach() takes a loss out of its step: losses.push(loss.detach()) keeps the numbers', () => {
      const { model, opt, x, y } = setup();
      const detached: Tensor[] = [];
      const seen: number[] = [];
      for (let i = 0; i < 50; i++) {
        opt.zeroGrad();
        const loss = Tensor.crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
        seen.push(loss.item());
        detached.push(loss.detach());
      }
      expect(detached.map((t) => t.item())).toEqual(seen);
    });

    it('runs in flat memory, and trains exactly as the same loop in scopes', () => {
      const free = setup(11);
      const inScope = setup(11);
      const step = (s: ReturnType<typeof setup>): number => {
        s.opt.zeroGrad();
        const loss = Tensor.crossEntropy(s.model.forward(s.x), s.y);
        loss.backward();
        s.opt.step();
        return loss.item();
      };
      for (let i = 0; i < 20; i++) expect(step(free)).toBe(scoped(() => step(inScope)));
      const warm = memoryStats();
      for (let i = 0; i < 500; i++) expect(step(free)).toBe(scoped(() => step(inScope)));
      const after = memoryStats();
      expect(after.arenaBytes).toBe(warm.arenaBytes);
      expect(after.inUseBytes).toBeLessThanOrEqual(warm.inUseBytes);
      expect(after.stepBytes).toBeLessThanOrEqual(warm.stepBytes);
    });

    it('never recycles a graph kept with retainGraph, however many other steps run before it is walked again', () => {
      const w = Tensor.from([1, 2, 3], { requiresGrad: true });
      const h = w.mul(2).relu(); // made at step 0, walked at every step below
      const loss = h.sum();
      for (let i = 0; i < 5; i++) {
        w.grad = null;
        loss.backward({ retainGraph: true });
        expect(w.grad!.toArray()).toEqual([2, 2, 2]);
        expect(h.toArray()).toEqual([2, 4, 6]);
        // an unrelated step in between
        w.mul(3).sum().backward();
      }
    });

    it('a graph that was never walked is recycled too, and says so', () => {
      const { model, x } = setup();
      const unused = model.forward(x);
      const w = model.parameters()[0];
      w.mul(1).sum().backward();
      expect(unused.recycled).toBe(false);
      w.mul(1).sum().backward();
      expectRecycled(() => unused.toArray(), /backward/);
    });
  });

  describe('never another tensor\'s numbers (property)', () => {
    it('random scopes, keeps, clones, detaches, ops and backwards: every tensor reads its own numbers or throws', () => {
      const Action = fc.oneof(
        fc.record({ kind: fc.constant('make'), n: fc.integer({ min: 1, max: 40 }), v: fc.integer({ min: -50, max: 50 }) }),
        fc.record({ kind: fc.constant('op'), i: fc.nat(), v: fc.integer({ min: 1, max: 9 }) }),
        fc.record({ kind: fc.constant('keep'), i: fc.nat() }),
        fc.record({ kind: fc.constant('clone'), i: fc.nat() }),
        fc.record({ kind: fc.constant('detach'), i: fc.nat() }),
        fc.record({ kind: fc.constant('backward'), n: fc.integer({ min: 1, max: 40 }) }),
        fc.record({ kind: fc.constant('dispose'), i: fc.nat() }),
      );
      const Program = fc.array(fc.record({ scoped: fc.boolean(), actions: fc.array(Action, { maxLength: 6 }), returns: fc.boolean() }), { minLength: 1, maxLength: 12 });
      fc.assert(
        fc.property(Program, (program) => {
          const held: { t: Tensor; values: number[]; mustLive: boolean }[] = [];
          const w = Tensor.ones([40], { requiresGrad: true });
          const pick = (i: number) => (held.length === 0 ? undefined : held[i % held.length]);
          const run = (actions: (typeof program)[number]['actions'], inScope: boolean): Tensor | undefined => {
            let last: Tensor | undefined;
            for (const a of actions) {
              const h = 'i' in a ? pick(a.i) : undefined;
              if (a.kind === 'make') {
                const t = Tensor.full([a.n], a.v);
                held.push({ t, values: new Array(a.n).fill(a.v), mustLive: !inScope });
                last = t;
              } else if (a.kind === 'op' && h !== undefined && !h.t.recycled) {
                const t = h.t.mul(a.v); // on the tape (rule 2) when h needs a gradient
                held.push({ t, values: h.values.map((x) => Math.fround(x * a.v)), mustLive: !inScope && !t.requiresGrad });
                last = t;
              } else if (a.kind === 'keep' && h !== undefined && !h.t.recycled) {
                keep(h.t);
                h.mustLive = true;
              } else if (a.kind === 'clone' && h !== undefined && !h.t.recycled) {
                held.push({ t: h.t.clone(), values: h.values.slice(), mustLive: true });
              } else if (a.kind === 'detach' && h !== undefined && !h.t.recycled) {
                held.push({ t: h.t.detach(), values: h.values.slice(), mustLive: false });
              } else if (a.kind === 'backward') {
                const y = w.mul(2).relu();
                held.push({ t: y, values: new Array(40).fill(2), mustLive: false });
                y.sum().backward();
              } else if (a.kind === 'dispose' && h !== undefined && !h.mustLive) {
                h.t.dispose(); // and every tensor sharing its storage
                for (const other of held) if (other.t.storage === h.t.storage) other.mustLive = false;
              }
            }
            return last;
          };
          for (const block of program) {
            if (block.scoped) {
              const r = scoped(() => {
                const last = run(block.actions, true);
                return block.returns ? last : undefined;
              });
              if (r !== undefined && !r.recycled) for (const h of held) if (h.t === r && !r.requiresGrad) h.mustLive = true;
            } else {
              run(block.actions, false);
            }
            churn(1, 16);
          }
          for (const h of held) {
            if (h.t.recycled) {
              expect(h.mustLive, `${h.t} recycled by ${h.t.storage.recycledBy}`).toBe(false);
              expect(() => h.t.data).toThrow(RecycledTensorError);
            } else {
              expect(Array.from(h.t.data)).toEqual(h.values);
            }
          }
        }),
        { numRuns: 150 },
      );
    });
  });
});
