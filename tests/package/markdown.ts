/** The README's fenced code blocks, for the tests that check and run them. */

export interface Block {
  line: number;
  lang: string;
  code: string;
}

/** The fenced blocks of `markdown` (indented ones in lists too, their indentation taken off), with the line they start on. */
export function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j])) body.push(lines[j++].slice(indent));
    blocks.push({ line: i + 1, lang: open[2], code: body.join('\n') });
    i = j;
  }
  return blocks;
}

