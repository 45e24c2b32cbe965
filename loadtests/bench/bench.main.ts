// `npm run bench` at the repo root: the strategy benchmark (this pipeline against the synchronous
// strategies, and the capacity sweep), then the flash sale with holds and a waiting list; each runs
// in a process of its own, one after the other (never both at once: each measures the machine).
//
//   npm run bench                      both, full size; each writes its README block
//   npm run bench -- --smoke           both, tiny numbers
//   npm run bench -- --no-readme       both, without writing results
//
// These two options go to both; any other goes to the strategy benchmark only. One of them alone:
// `npm run bench:strategies -- ...`, `npm run bench:holds -- ...`. Exits with the first non-zero
// exit code of the two (the holds sale runs even when the strategies found a problem).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SHARED = new Set(['--smoke', '--no-readme']);
const args = process.argv.slice(2);

async function run(script: string, scriptArgs: string[]): Promise<number> {
  process.stdout.write(`\n=== ${script} ${scriptArgs.join(' ')}\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), ...scriptArgs], {
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  return code ?? (signal ? 128 : 1);
}

const strategies = await run('./strategies.bench.ts', args);
const holds = await run(
  './holds.bench.ts',
  args.filter((a) => SHARED.has(a)),
);
process.stdout.write(`\nnpm run bench: strategies exited ${strategies}, holds sale exited ${holds}\n`);
process.exit(strategies || holds);
