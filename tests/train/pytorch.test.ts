/**
 * best.safetensors loads into PyTorch strictly: `model.load_state_dict(state_dict, strict=True)` with
 * the model's own keys and nothing else (the optimizer's buffers live in last.safetensors). The Python
 * here is PyTorch 1.13 without the `safetensors` package, so it reads the file as the format says (an
 * 8-byte little-endian header length, the JSON header, raw little-endian float32) with the standard
 * library; with the package installed, `load_file(path)` gives the same dictionary (see the README).
 * Skipped, with the reason, where no Python with torch is found.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/program.js';
import { loadDataset } from '../../data/index.js';
import { Tensor } from '../../engine/index.js';
import type { Sequential } from '../../layers/index.js';
import { load } from '../../train/index.js';
import { LOAD_FILE, python } from './pytorch-support.js';

const SCRIPT = `${LOAD_FILE}
import sys
from torch import nn

request = json.load(sys.stdin)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))
result = {}
for which in ('best', 'last'):
    try:
        model.load_state_dict(load_file(request[which]), strict=True)
        result[which] = 'ok'
    except RuntimeError as e:
        result[which] = ' '.join(str(e).split())
model.load_state_dict(load_file(request['best']), strict=True)
model.eval()
with torch.no_grad():
    result['logits'] = model(torch.tensor(request['x'], dtype=torch.float32)).tolist()
print(json.dumps(result))
`;

describe.skipIf(python === undefined)(`best.safetensors in PyTorch (${python ?? 'no Python with torch found: skipped'})`, () => {
  it('loads strictly into the same nn.Sequential and computes the same outputs; last.safetensors does not', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tapegrad-torch-')), 'run');
    const code = await runCli(['train', '--dataset', 'iris', '--layers', '8', '--dropout', '0.2', '--epochs', '3', '--batch-size', '16', '--out', out, '--quiet'], memoryIo());
    expect(code).toBe(0);
    const { test } = loadDataset('iris');
    const x = Array.from({ length: test.count }, (_, i) => Array.from(test.x.subarray(i * 4, i * 4 + 4)));
    const r = spawnSync(python!, ['-c', SCRIPT], { input: JSON.stringify({ best: join(out, 'best.safetensors'), last: join(out, 'last.safetensors'), x }), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { best: string; last: string; logits: number[][] };
    expect(result.best).toBe('ok');
    // Before: best.safetensors was last's twin, and failed so.
    expect(result.last).toMatch(/Unexpected key\(s\) in state_dict: "optimizer\./);

    const model = load(join(out, 'best.safetensors')).model as unknown as Sequential;
    const ours = model.predict(Tensor.from(x)).toArray() as number[][];
    for (let i = 0; i < ours.length; i++) for (let j = 0; j < 3; j++) expect(result.logits[i][j]).toBeCloseTo(ours[i][j], 4);
  });
});
