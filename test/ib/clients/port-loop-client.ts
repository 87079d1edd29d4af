/**
 * Opens and closes a port `count` times with MADs in flight at every close
 * (run under the simulator by test/ib/exporter/soak.test.ts). Prints the
 * process's fds and threads before and after, and how the requests ended.
 */
import { readdirSync } from 'node:fs';
import { openPort } from '../../../lib/ib/port.js';

const count = Number(process.argv[2] ?? 1000);
const fds = () => readdirSync('/proc/self/fd').length;
const tasks = () => readdirSync('/proc/self/task').length;

const outcomes: Record<string, number> = {};
let fds0 = 0;
let tasks0 = 0;
// The first 10 rounds warm up (the addon's job thread, libuv's lazily made
// handles); the counts are taken after them.
for (let i = -10; i < count; i++) {
  if (i === 0) {
    process.stdout.write(''); // process.stdout is made on first use (a pipe handle and libuv's spare /dev/null fd)
    await new Promise((r) => setTimeout(r, 100));
    fds0 = fds();
    tasks0 = tasks();
  }
  const port = await openPort({ timeoutMs: 500, retries: 1 });
  const inflight = Array.from({ length: 4 }, (_, k): Promise<string> =>
    port.nodeInfo({ lid: 1 + (k % 2) }).then(
      () => 'ok',
      (e: unknown) => String((e as { code?: string }).code),
    ),
  );
  // Once one reply is in, the other three are on the wire or queued: close then.
  await Promise.race(inflight);
  await port.close();
  for (const o of await Promise.all(inflight)) if (i >= 0) outcomes[o] = (outcomes[o] ?? 0) + 1;
}
await new Promise((r) => setTimeout(r, 100));
process.stdout.write(JSON.stringify({ fds0, tasks0, fds1: fds(), tasks1: tasks(), outcomes }) + '\n');
