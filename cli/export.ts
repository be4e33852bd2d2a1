/**
 * `tapegrad export --model runs/NAME/best.safetensors --format onnx --out model.onnx`: rebuilds the model
 * from the checkpoint's architecture and writes it as an ONNX file (train/onnx.ts: opset 17, a dynamic batch
 * dimension), which ONNX Runtime serves in a page, Node, Python or C++.
 *
 *   0    written: one line naming the file, its input and output shapes and its size
 *   1    a checkpoint that is there but bad, or a file that cannot be written (the line names it)
 *   2    a bad flag, a missing checkpoint, a checkpoint without an architecture (PyTorch's), a folder
 *        for --out that does not exist
 */
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ONNX_OPSET, exportOnnx } from '../train/index.js';
import { writeFileAtomic } from '../data/index.js';
import { loadCheckpointFlag, type Io } from './io.js';
import { EXPORT_FLAGS, UsageError, parseFlags, type RawOptions } from './options.js';

export interface ExportOutcome {
  model: string;
  format: string;
  out: string;
  bytes: number;
  input: number[];
  output: number[];
}

export async function exportCommand(raw: RawOptions, io: Io): Promise<ExportOutcome> {
  const { model: path, format, out: outFlag } = parseFlags(EXPORT_FLAGS, raw);
  const out = outFlag ?? `${path.replace(/\.safetensors$/, '')}.onnx`;
  const folder = dirname(out);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`--out ${out}: the folder ${folder} does not exist`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${out}: is a folder, not a file`);

  const checkpoint = loadCheckpointFlag('--model', path);
  if (!checkpoint.model) {
    throw new UsageError(
      `--model ${path}: the checkpoint has no architecture in its metadata (a PyTorch file?): build the model in code, model.loadStateDict(readSafetensors(path)), then exportOnnx(model)`,
    );
  }
  const model = checkpoint.model;
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx(model);
  } catch (e) {
    throw new UsageError(`--model ${path}: ${(e as Error).message}`, 1);
  }
  writeFileAtomic(out, bytes);
  const input = [-1, ...(model.inputShape()?.slice(1) ?? [])];
  const output = model.outputShape(input);
  const shape = (s: number[]) => `[${s.map((d) => (d < 0 ? 'batch' : String(d))).join(', ')}]`;
  io.out(`wrote ${out}: ONNX opset ${ONNX_OPSET}, input ${shape(input)} -> output ${shape(output)}, ${bytes.length} bytes`);
  return { model: path, format, out, bytes: bytes.length, input, output };
}
