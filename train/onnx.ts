/**
 * ONNX export: a model's architecture (its `config()`) and weights (its `stateDict()`) as an ONNX model,
 * opset 17 (IR version 8), the format every serving stack reads (ONNX Runtime for the web, Node, Python,
 * C++, C#, Java; TensorRT, OpenVINO, Core ML converters). The graph is the model in eval mode, for inference:
 *
 *   Dense         Gemm(X, weight, bias, transB=1): weight is [out, in] as PyTorch's Linear and ONNX's
 *                 transB expect; then its activation, if it has one (Relu, Tanh, Sigmoid, Softmax)
 *   ReLU, Tanh, Sigmoid           Relu, Tanh, Sigmoid
 *   Softmax       Softmax(axis=-1) (opset 13 and later: along that axis alone, as tapegrad's)
 *   Dropout       Identity (inverted dropout is the identity at inference)
 *   BatchNorm     BatchNormalization(X, weight, bias, running_mean, running_var) with its epsilon and
 *                 ONNX's momentum convention, which is the other way round from PyTorch's (and tapegrad's):
 *                 ONNX updates running = momentum·running + (1 − momentum)·batch, so its momentum is
 *                 1 − tapegrad's (0.9 for the default 0.1), as torch.onnx.export writes it
 *   LayerNorm     LayerNormalization(X, weight, bias, axis=-1, epsilon) (an opset 17 operator)
 *   Flatten       Flatten(axis=1): [B, d1, d2, ...] → [B, d1·d2·...]
 *   Sequential    its layers in order
 *
 * The first dimension of the input and the output is the symbolic `batch`, so one file serves any batch
 * size. Initializers keep the state dict's names (`0.weight`, `1.running_mean`), which are also what
 * torch.onnx.export names them. A layer of another type (one of your own) has no ONNX form here and is a
 * TypeError naming it.
 *
 * Protocol Buffers, the encoding ONNX files use, are written by `pbf` (Mapbox's protobuf reader and
 * writer: 100 kB, ES modules, no code generation at run time, so the export runs in a page under a strict
 * content-security policy); this file only names ONNX's fields, by their numbers in onnx.proto.
 */
import { PbfWriter } from 'pbf';
import { FormatError } from '../engine/index.js';
import type { Layer, LayerConfig } from '../layers/index.js';

/** The operator set the export targets: 17, the first with LayerNormalization. */
export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17 (ONNX 1.12). */
const IR_VERSION = 8;
/** TensorProto.DataType.FLOAT. */
const FLOAT = 1;
/** AttributeProto.AttributeType: FLOAT, INT. */
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;

/** Options of `exportOnnx`. */
export interface OnnxOptions {
  /**
   * The shape of one sample (without the batch), when the model cannot say it: a model that starts with a
   * Dense knows its input ([in]); one that starts with a Flatten needs, e.g., `[28, 28]`.
   */
  inputShape?: readonly number[];
  /** The graph's input name (default 'input'). */
  inputName?: string;
  /** The graph's output name (default 'output'). */
  outputName?: string;
}

/** One node of the graph. */
interface Node {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Attribute[];
}

type Attribute = { name: string; float: number } | { name: string; int: number };

/** An initializer: a state dict tensor, by its name. */
interface Initializer {
  name: string;
  dims: readonly number[];
  data: Float32Array;
}

/** What the layers' emitters build up: the nodes in order and the weights they read. */
class Graph {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];

  constructor(private readonly state: Record<string, { shape: readonly number[]; data: Float32Array }>) {}

  /** A state dict tensor as an initializer (once), by its name. */
  weight(name: string): string {
    const t = this.state[name];
    if (t === undefined) throw new FormatError(`exportOnnx: the model's config names '${name}', which its stateDict() does not hold`);
    if (!this.initializers.some((i) => i.name === name)) this.initializers.push({ name, dims: t.shape, data: t.data });
    return name;
  }

  /** Adds a node reading `inputs`; returns its output's name. */
  node(op: string, where: string, inputs: string[], attributes: Attribute[] = []): string {
    const name = `${where}/${op}`;
    const output = `${where}/${op}_output`;
    this.nodes.push({ op, name, inputs, outputs: [output], attributes });
    return output;
  }
}

/** How one layer type becomes ONNX nodes: `x` is its input's name, `at` its state dict prefix ('0.', or '' alone). */
type Emitter = (graph: Graph, cfg: LayerConfig, x: string, at: string) => string;

const ACTIVATION_OPS: Record<string, (graph: Graph, x: string, where: string) => string> = {
  linear: (_g, x) => x,
  relu: (g, x, where) => g.node('Relu', where, [x]),
  tanh: (g, x, where) => g.node('Tanh', where, [x]),
  sigmoid: (g, x, where) => g.node('Sigmoid', where, [x]),
  softmax: (g, x, where) => g.node('Softmax', where, [x], [{ name: 'axis', int: -1 }]),
};

/** Where a layer's nodes are named from: its path in the model ('0', '2.1'), or the type for a model of one layer. */
const whereOf = (cfg: LayerConfig, at: string): string => (at === '' ? String(cfg.type) : at.slice(0, -1));

/** Each layer type's ONNX form, by its config's `type` (see the table at the top of the file). */
const EMITTERS: Record<string, Emitter> = {
  Dense(g, cfg, x, at) {
    const where = whereOf(cfg, at);
    const inputs = [x, g.weight(`${at}weight`)];
    if (cfg.useBias !== false) inputs.push(g.weight(`${at}bias`));
    const y = g.node('Gemm', where, inputs, [{ name: 'transB', int: 1 }]);
    const activation = ACTIVATION_OPS[String(cfg.activation ?? 'linear')];
    if (activation === undefined) throw new FormatError(`exportOnnx: Dense (${where}) has activation ${JSON.stringify(cfg.activation)}, which has no ONNX form here`);
    return activation(g, y, where);
  },
  ReLU: (g, cfg, x, at) => ACTIVATION_OPS.relu(g, x, whereOf(cfg, at)),
  Tanh: (g, cfg, x, at) => ACTIVATION_OPS.tanh(g, x, whereOf(cfg, at)),
  Sigmoid: (g, cfg, x, at) => ACTIVATION_OPS.sigmoid(g, x, whereOf(cfg, at)),
  Softmax: (g, cfg, x, at) => ACTIVATION_OPS.softmax(g, x, whereOf(cfg, at)),
  Dropout: (g, cfg, x, at) => g.node('Identity', whereOf(cfg, at), [x]),
  Flatten: (g, cfg, x, at) => g.node('Flatten', whereOf(cfg, at), [x], [{ name: 'axis', int: 1 }]),
  BatchNorm(g, cfg, x, at) {
    const inputs = [x, ...['weight', 'bias', 'running_mean', 'running_var'].map((n) => g.weight(`${at}${n}`))];
    const momentum = 1 - Number(cfg.momentum ?? 0.1);
    return g.node('BatchNormalization', whereOf(cfg, at), inputs, [{ name: 'epsilon', float: Number(cfg.eps ?? 1e-5) }, { name: 'momentum', float: momentum }]);
  },
  LayerNorm(g, cfg, x, at) {
    const inputs = [x, g.weight(`${at}weight`), g.weight(`${at}bias`)];
    return g.node('LayerNormalization', whereOf(cfg, at), inputs, [{ name: 'axis', int: -1 }, { name: 'epsilon', float: Number(cfg.eps ?? 1e-5) }]);
  },
  Sequential(g, cfg, x, at) {
    const layers = cfg.layers as LayerConfig[];
    let y = x;
    layers.forEach((layer, i) => {
      y = emit(g, layer, y, `${at}${i}.`);
    });
    return y;
  },
};

function emit(g: Graph, cfg: LayerConfig, x: string, at: string): string {
  const emitter = Object.hasOwn(EMITTERS, cfg.type) ? EMITTERS[cfg.type] : undefined;
  if (emitter === undefined) {
    throw new TypeError(`exportOnnx: layer ${at === '' ? '' : `${at.slice(0, -1)} `}(${cfg.type}) has no ONNX form; exportOnnx writes ${Object.keys(EMITTERS).join(', ')}`);
  }
  return emitter(g, cfg, x, at);
}

/**
 * The model as an ONNX file's bytes (opset 17, a dynamic batch dimension): its layers in eval mode, its
 * weights as they are now. Runs anywhere, a page too; in Node, write the bytes to a file
 * (`tapegrad export --model best.safetensors --format onnx --out model.onnx` does it from a checkpoint).
 * ONNX Runtime then serves the model in a page (onnxruntime-web), Node, Python or C++, with the outputs
 * `model.predict` gives (to float32 rounding).
 *
 * @example
 * ```ts
 * import { Sequential, Dense, BatchNorm, ReLU, LayerNorm, Dropout, exportOnnx } from 'tapegrad';
 *
 * const model = new Sequential([new Dense(4, 16), new BatchNorm(16), new ReLU(), new Dropout(0.2), new Dense(16, 8), new LayerNorm(8), new Dense(8, 3)]);
 * const bytes = exportOnnx(model); // a Uint8Array: fs.writeFileSync('model.onnx', bytes), or a download in a page
 * console.log(bytes.length > 4 * model.parameterCount()); // => true
 * ```
 */
export function exportOnnx(model: Layer, options: OnnxOptions = {}): Uint8Array {
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  const sample = options.inputShape ?? model.inputShape()?.slice(1) ?? null;
  if (sample === null) {
    throw new TypeError(`exportOnnx: the model (${model.type}) does not say its input's shape; give it: exportOnnx(model, { inputShape: [28, 28] }) (one sample, without the batch)`);
  }
  if (!sample.every((d) => Number.isInteger(d) && d > 0)) {
    throw new RangeError(`exportOnnx: inputShape must be positive integers (one sample, without the batch), got [${sample.join(', ')}]`);
  }
  const inputShape = [-1, ...sample];
  const outputShape = model.outputShape(inputShape); // also checks that the input fits the model

  const state: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(model.stateDict())) state[name] = { shape: t.shape, data: t.data };
  const graph = new Graph(state);
  const last = emit(graph, model.config(), inputName, '');
  // The graph's output has a name of its own: the last node's output is renamed (a model of no layer gets an Identity).
  if (graph.nodes.length === 0 || last === inputName) graph.node('Identity', 'output', [last]);
  graph.nodes[graph.nodes.length - 1].outputs[0] = outputName;

  return encodeModel({
    graph,
    name: 'tapegrad',
    input: { name: inputName, shape: inputShape },
    output: { name: outputName, shape: outputShape },
    architecture: JSON.stringify(model.config()),
  });
}

// ---- the encoding: ONNX's messages, by their field numbers in onnx.proto ----

interface ValueInfo {
  name: string;
  /** -1 for the symbolic batch dimension (the first), or a size not known. */
  shape: readonly number[];
}

interface ModelParts {
  graph: Graph;
  name: string;
  input: ValueInfo;
  output: ValueInfo;
  architecture: string;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8, metadata_props 14. */
function encodeModel(parts: ModelParts): Uint8Array {
  // raw_data is little-endian by ONNX's rule, and a Float32Array is in the host's order.
  if (!HOST_IS_LITTLE_ENDIAN) throw new FormatError('exportOnnx: big-endian hosts are not supported');
  const pbf = new PbfWriter();
  pbf.writeVarintField(1, IR_VERSION);
  pbf.writeStringField(2, 'tapegrad');
  pbf.writeMessage(7, writeGraph, parts);
  pbf.writeMessage(8, writeOpset, ONNX_OPSET);
  // StringStringEntryProto: key 1, value 2. The architecture, so the file says what it was made from.
  pbf.writeMessage(14, (entry: [string, string], p: PbfWriter) => {
    p.writeStringField(1, entry[0]);
    p.writeStringField(2, entry[1]);
  }, ['tapegrad.architecture', parts.architecture] as [string, string]);
  return pbf.finish();
}

/** OperatorSetIdProto: domain 1 (empty: the default ai.onnx), version 2. */
function writeOpset(version: number, pbf: PbfWriter): void {
  pbf.writeVarintField(2, version);
}

/** GraphProto: node 1, name 2, initializer 5, input 11, output 12. */
function writeGraph(parts: ModelParts, pbf: PbfWriter): void {
  for (const node of parts.graph.nodes) pbf.writeMessage(1, writeNode, node);
  pbf.writeStringField(2, parts.name);
  for (const init of parts.graph.initializers) pbf.writeMessage(5, writeTensor, init);
  pbf.writeMessage(11, writeValueInfo, parts.input);
  pbf.writeMessage(12, writeValueInfo, parts.output);
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5. */
function writeNode(node: Node, pbf: PbfWriter): void {
  for (const input of node.inputs) pbf.writeStringField(1, input);
  for (const output of node.outputs) pbf.writeStringField(2, output);
  pbf.writeStringField(3, node.name);
  pbf.writeStringField(4, node.op);
  for (const attribute of node.attributes) pbf.writeMessage(5, writeAttribute, attribute);
}

/** AttributeProto: name 1, f 2 (a float32), i 3 (an int64), type 20. */
function writeAttribute(attribute: Attribute, pbf: PbfWriter): void {
  pbf.writeStringField(1, attribute.name);
  if ('float' in attribute) {
    pbf.writeFloatField(2, attribute.float);
    pbf.writeVarintField(20, ATTRIBUTE_FLOAT);
  } else {
    pbf.writeVarintField(3, attribute.int); // a negative int64 (axis -1) is a ten-byte varint
    pbf.writeVarintField(20, ATTRIBUTE_INT);
  }
}

/** TensorProto: dims 1 (packed int64), data_type 2, name 8, raw_data 9 (little-endian float32). */
function writeTensor(init: Initializer, pbf: PbfWriter): void {
  pbf.writePackedVarint(1, [...init.dims]);
  pbf.writeVarintField(2, FLOAT);
  pbf.writeStringField(8, init.name);
  pbf.writeBytesField(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
}

/**
 * ValueInfoProto: name 1, type 2 → TypeProto: tensor_type 1 → Tensor: elem_type 1, shape 2 →
 * TensorShapeProto: dim 1 → Dimension: dim_value 1 or dim_param 2 (`batch` for the first, unnamed otherwise).
 */
function writeValueInfo(info: ValueInfo, pbf: PbfWriter): void {
  pbf.writeStringField(1, info.name);
  pbf.writeMessage(2, (shape: readonly number[], type: PbfWriter) => {
    type.writeMessage(1, (dims: readonly number[], tensor: PbfWriter) => {
      tensor.writeVarintField(1, FLOAT);
      tensor.writeMessage(2, (all: readonly number[], shapeProto: PbfWriter) => {
        all.forEach((d, i) => {
          shapeProto.writeMessage(1, (size: number, dim: PbfWriter) => {
            if (size >= 0) dim.writeVarintField(1, size);
            else if (i === 0) dim.writeStringField(2, 'batch');
          }, d);
        });
      }, dims);
    }, shape);
  }, info.shape);
}
