// Keeps a block of README.md (between `<!-- NAME:begin -->` and `<!-- NAME:end -->`) up to date
// with a benchmark's latest figures.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

/** Replaces the block's content; false (README unchanged) when the markers are missing. */
export async function updateReadmeBlock(name: string, content: string): Promise<boolean> {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const readme = await readFile(README, 'utf8');
  const i = readme.indexOf(begin);
  const j = readme.indexOf(end);
  if (i < 0 || j < i) return false;
  await writeFile(README, `${readme.slice(0, i)}${begin}\n${content.trim()}\n${end}${readme.slice(j + end.length)}`);
  return true;
}
