// The command line in-process, and what a user mistake must look like on it (STYLE habit 8).
import { expect } from 'vitest';
import { memoryIo } from '../../cli/io.js';
import { runCli } from '../../cli/program.js';

/** Runs the CLI in-process; returns the exit code and what it printed. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const io = memoryIo();
  const code = await runCli(argv, io);
  return { code, out: io.lines, err: io.errors };
}

/** One line on stderr, no stack trace, exit `code`; the line contains every one of `words`. */
export function expectOneLine(r: { code: number; err: string[] }, code: number, ...words: string[]): void {
  expect(r.err, r.err.join('\n')).toHaveLength(1);
  expect(r.code, r.err[0]).toBe(code);
  expect(r.err[0]).not.toMatch(/\n|    at |TypeError/);
  for (const w of words) expect(r.err[0]).toContain(w);
}
