/**
 * data/ without Node: `process.getBuiltinModule` and `Buffer` taken away, as in a page. The parsers,
 * `createDataset`, the loader and Iris still work; every function that reads files throws a
 * `NodeOnlyError` naming itself and the module it needed. (tests/package bundles the same entry for a
 * real Chromium; this is the fast check of each function.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createDataset,
  DataLoader,
  encodeIdx,
  fashionCacheFiles,
  loadDataset,
  loadFashionMnist,
  loadIris,
  loadMnist,
  mnistDir,
  NodeOnlyError,
  optionalPackages,
  parseClothesJson,
  parseIdx,
  readIdx,
  writeFileAtomic,
  writeIdx,
} from '../../data/index.js';

describe('data/ where Node is absent', () => {
  beforeEach(() => {
    vi.stubGlobal('process', { ...process, getBuiltinModule: undefined });
    vi.stubGlobal('Buffer', undefined);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('the file readers throw a NodeOnlyError naming the function and the module', () => {
    const cases: Array<[() => unknown, string, string]> = [
      [() => readIdx('/x.idx'), 'readIdx', 'node:fs'],
      [() => writeIdx('/x.idx', new Uint8Array(1), [1]), 'writeIdx', 'node:fs'],
      [() => writeFileAtomic('/x', new Uint8Array(1)), 'writeFileAtomic', 'node:fs'],
      [() => mnistDir(), 'mnistDir', 'node:module'],
      [() => loadMnist(), 'mnistDir', 'node:module'],
      [() => loadMnist({ dir: '/mnist' }), 'loadMnist', 'node:path'],
      [() => loadDataset('mnist'), 'mnistDir', 'node:module'],
      [() => loadFashionMnist(), 'loadFashionMnistAll', 'node:fs'],
      [() => fashionCacheFiles(), 'fashionCacheFiles', 'node:path'],
      [() => optionalPackages(['vega'], 'The plots'), 'optionalPackages', 'node:module'],
    ];
    for (const [call, op, module] of cases) {
      let caught: unknown;
      try {
        call();
      } catch (err) {
        caught = err;
      }
      expect(caught, op).toBeInstanceOf(NodeOnlyError);
      expect((caught as NodeOnlyError).op).toBe(op);
      expect((caught as NodeOnlyError).module).toBe(module);
      // A reader says how a page makes its data set; a writer, where a page keeps bytes instead.
      const instead = op.startsWith('write') ? 'in a page, keep the bytes' : 'in a page, fetch the bytes';
      expect((caught as Error).message).toMatch(new RegExp(`^${op} needs Node \\(${module}\\), which this runtime does not have; ${instead}`));
    }
  });

  it('the parsers, createDataset, the loader and Iris work', () => {
    const { shape, data } = parseIdx(encodeIdx(Uint8Array.from([0, 51, 255, 102]), [2, 2]), 'fetched', { dims: 2 });
    expect(shape).toEqual([2, 2]);
    const ds = createDataset({ name: 'page', x: data, featureShape: [2], labels: new Int32Array([1, 0]), classNames: ['a', 'b'] });
    const [batch] = [...new DataLoader(ds, { batchSize: 2, shuffle: false }).epochBatches(0)];
    expect(Array.from(batch.x.data)).toEqual([0, 51, 255, 102].map((v) => Math.fround(v / 255)));
    expect(Array.from(batch.y)).toEqual([1, 0]);

    // A non-breaking space (two bytes in UTF-8) in the prefix: the scanner counts bytes, not characters.
    const json = new TextEncoder().encode(`{\u00a0"data":[[${new Array(784).fill(9).join(',')}]]}`);
    const images = parseClothesJson(json, 'nbsp.json');
    expect(images.length).toBe(784);
    expect(images[0]).toBe(9);

    expect(loadIris().count).toBe(150);
    expect(loadDataset('iris').train.count).toBe(120);
  });
});
