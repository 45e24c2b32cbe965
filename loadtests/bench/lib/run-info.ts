// What a results file says about the run: which code, on what machine, how busy it was.
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `commit abc1234`, plus a note when apps/ or packages/ have uncommitted changes. */
export async function gitState(): Promise<string> {
  try {
    const head = (await run('git', ['rev-parse', '--short', 'HEAD'])).stdout.trim();
    const dirty = (await run('git', ['status', '--porcelain', '--', 'apps', 'packages'])).stdout.trim() !== '';
    return `commit ${head}${dirty ? ' plus uncommitted changes in apps/ or packages/' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

/** `Run: \`<command>\` on <date>, <commit>, Node .., N CPUs (..), load average .. at start (shared machine).` */
export async function runLine(command: string, started: Date, loadAtStart: number): Promise<string> {
  const cpus = os.cpus();
  return (
    `Run: \`${command}\` on ${started.toISOString()}, ${await gitState()}, Node ${process.version}, ` +
    `${cpus.length} CPUs (${cpus[0]?.model ?? 'unknown'}), load average ${loadAtStart.toFixed(2)} at start (shared machine).`
  );
}
