#!/usr/bin/env node
// The `tapegrad` command. An installed package holds only the compiled command line (dist/, built by
// `npm run build` before packing), and runs it. A clone holds the sources and tsx (a devDependency),
// and runs the sources as `npm run train` does — even when a dist/ is lying around from an earlier
// build, which would be stale as soon as a source file changes. (A fresh clone has no dist/ until
// `npm run build`, or `npm pack`, whose prepack script builds.)
import { existsSync } from 'node:fs';

const sources = new URL('../cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

async function tsxLoader() {
  if (!existsSync(sources)) return null;
  try {
    return await import('tsx/esm/api');
  } catch {
    return null; // a clone installed without devDependencies: use the build if there is one
  }
}

const tsx = await tsxLoader();
if (tsx !== null) {
  tsx.register();
  await import(sources.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  console.error('tapegrad: neither the compiled command (dist/) nor tsx to run the sources is here: run `npm run build`, or `npm ci` in a clone');
  process.exit(1);
}
