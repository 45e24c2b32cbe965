// Keeps a block of the docs (between `<!-- NAME:begin -->` and `<!-- NAME:end -->`) up to date with
// a benchmark's latest figures: in README.md (the latest strategy table) or docs/benchmarks.md (the
// sweep, the holds sale and the throughput targets), wherever the block's markers are.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const FILES = ['../../../README.md', '../../../docs/benchmarks.md'].map((path) => fileURLToPath(new URL(path, import.meta.url)));

/** Replaces the block's content in the first file that has it; false (nothing changed) when none does. */
export async function updateReadmeBlock(name: string, content: string): Promise<boolean> {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  for (const file of FILES) {
    const text = await readFile(file, 'utf8');
    const i = text.indexOf(begin);
    const j = text.indexOf(end);
    if (i < 0 || j < i) continue;
    await writeFile(file, `${text.slice(0, i)}${begin}\n${content.trim()}\n${end}${text.slice(j + end.length)}`);
    return true;
  }
  return false;
}
