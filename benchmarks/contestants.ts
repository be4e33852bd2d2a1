/**
 * Who runs in the MNIST part of the benchmark, as data: one line per row of the training table,
 * and on that line the rows its training speed is divided by (the ratios, all from the same run).
 * Adding a contestant, and its ratios, is adding one line here.
 */

export interface Contestant {
  /** The row's name in the tables; also what the ratios refer to. */
  peer: string;
  /** 'node': a TypeScript script run under tsx; 'python': a script run by the Python that has torch (benchmarks/python.ts). */
  runtime: 'node' | 'python';
  /** Relative to benchmarks/. */
  script: string;
  args: string[];
  /** Timed steps (full, quick): sized so each takes a few seconds at its expected speed. */
  steps: [number, number];
  /** Timed inference batches of 1000 (full, quick). */
  infer: [number, number];
  /** The rows this one's training samples/s is divided by: the ratio `${peer} / ${other}`. */
  vs?: string[];
}

export const CONTESTANTS: Contestant[] = [
  { peer: 'tapegrad-wasm-1t', runtime: 'node', script: 'peers/tapegrad.ts', args: ['--backend', 'wasm', '--threads', '1'], steps: [1200, 300], infer: [20, 4], vs: ['pytorch-1t', 'tfjs-wasm', 'tapegrad-1t'] },
  { peer: 'tapegrad-wasm-2t', runtime: 'node', script: 'peers/tapegrad.ts', args: ['--backend', 'wasm', '--threads', '2'], steps: [1600, 400], infer: [20, 4], vs: ['pytorch-1t', 'tfjs-wasm', 'tfjs-cpu', 'tapegrad-2t', 'tapegrad-wasm-1t'] },
  { peer: 'tapegrad-wasm-2t-dense', runtime: 'node', script: 'peers/tapegrad.ts', args: ['--backend', 'wasm', '--threads', '2', '--zero-skip', '0'], steps: [1200, 300], infer: [10, 2], vs: ['pytorch-1t', 'tfjs-wasm'] },
  { peer: 'tapegrad-1t', runtime: 'node', script: 'peers/tapegrad.ts', args: ['--backend', 'js', '--threads', '1'], steps: [400, 100], infer: [10, 2], vs: ['pytorch-1t', 'tfjs-cpu', 'tfjs-wasm'] },
  { peer: 'tapegrad-2t', runtime: 'node', script: 'peers/tapegrad.ts', args: ['--backend', 'js', '--threads', '2'], steps: [600, 150], infer: [10, 2], vs: ['pytorch-1t', 'tfjs-cpu', 'tfjs-wasm', 'tapegrad-1t'] },
  { peer: 'tapegrad-2t-dense', runtime: 'node', script: 'peers/tapegrad.ts', args: ['--backend', 'js', '--threads', '2', '--zero-skip', '0'], steps: [400, 100], infer: [5, 1], vs: ['pytorch-1t', 'tfjs-cpu', 'tfjs-wasm'] },
  { peer: 'pytorch-1t', runtime: 'python', script: 'peers/pytorch.py', args: ['--threads', '1'], steps: [2000, 400], infer: [40, 10] },
  { peer: 'tfjs-cpu', runtime: 'node', script: 'peers/tfjs.ts', args: ['--backend', 'cpu'], steps: [60, 10], infer: [3, 1] },
  { peer: 'tfjs-wasm', runtime: 'node', script: 'peers/tfjs.ts', args: ['--backend', 'wasm'], steps: [250, 60], infer: [10, 2] },
];

/** A row's training speed, or why it has none (a contestant that could not run here). */
export interface RowSpeed {
  peer: string;
  trainSamplesPerSec: number | null;
  unavailable?: string;
}

export interface Ratio {
  name: string;
  /** null: n/a, because one of the two rows did not run (`missing` says which and why). */
  value: number | null;
  missing?: string;
}

/**
 * Every ratio the table asks for, in row order. A ratio naming a row that is not in the table is a
 * mistake in the table, not a missing contestant, and throws.
 */
export function ratios(table: Contestant[], rows: RowSpeed[]): Ratio[] {
  const byPeer = new Map(rows.map((r) => [r.peer, r]));
  const out: Ratio[] = [];
  for (const c of table) {
    for (const other of c.vs ?? []) {
      const a = byPeer.get(c.peer);
      const b = byPeer.get(other);
      if (a === undefined || b === undefined) throw new Error(`bench: ratio ${c.peer} / ${other} names a row that is not in the table`);
      const name = `${c.peer} / ${other}`;
      const gone = [a, b].filter((r) => r.trainSamplesPerSec === null);
      if (gone.length > 0) {
        out.push({ name, value: null, missing: gone.map((r) => `${r.peer} ${r.unavailable ?? 'did not run'}`).join('; ') });
      } else {
        out.push({ name, value: (a.trainSamplesPerSec as number) / (b.trainSamplesPerSec as number) });
      }
    }
  }
  return out;
}

/** The full run's memory check: five epochs of tapegrad on all 60,000 images, heap and arena after each. */
export const MEMORY_RUN = {
  script: 'peers/tapegrad.ts',
  args: ['--backend', 'wasm', '--threads', '2', '--steps', '20', '--warmup', '5', '--infer-batches', '1', '--epochs', '5'],
  nodeFlags: ['--expose-gc'],
};
