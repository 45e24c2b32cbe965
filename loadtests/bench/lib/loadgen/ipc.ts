// The load-generator process's side of its IPC channel with the bench (see ../loadgen.process.ts).
import type { FromLoadGen, ToLoadGen } from '../loadgen.types.ts';

const inbox: ToLoadGen[] = [];
const readers: Array<(m: ToLoadGen) => void> = [];
process.on('message', (m: ToLoadGen) => {
  const reader = readers.shift();
  if (reader) reader(m);
  else inbox.push(m);
});
process.on('disconnect', () => process.exit(0));

export function next(): Promise<ToLoadGen> {
  const m = inbox.shift();
  if (m) return Promise.resolve(m);
  return new Promise((resolve) => readers.push(resolve));
}

export async function expect(type: ToLoadGen['type']): Promise<void> {
  const m = await next();
  if (m.type !== type) throw new Error(`expected '${type}' from the bench, got '${m.type}'`);
}

export function send(m: FromLoadGen): void {
  process.send!(m);
}

/** Tells the bench something happened and waits until it has acted on it. */
export async function mark(name: string): Promise<void> {
  send({ type: 'mark', name });
  await expect('ack');
}
