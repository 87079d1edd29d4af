/**
 * Test client run under the simulator (LD_PRELOAD=libumad2sim) by the MAD
 * engine tests. Reads a JSON job from argv[2], prints a JSON result.
 */
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { dumpGroup } from '../../../lib/ib/fields.js';
import { openPort } from '../../../lib/ib/port.js';
import type { Address } from '../../../lib/ib/address.js';
import { toJsonValue } from '../../../lib/util/json.js';

type Job =
  | { op: 'query'; items: Array<{ attr: 'nodeinfo' | 'nodedesc' | 'portinfo' | 'switchinfo'; addr: Address; port?: number }> }
  | { op: 'burst'; addr: Address; count: number; timeoutMs?: number; retries?: number }
  | { op: 'timeout'; addr: Address; timeoutMs: number; retries: number }
  | { op: 'close-in-flight'; addr: Address; count: number }
  | { op: 'deadline'; addr: Address; timeoutMs: number; retries: number }
  | { op: 'resources' }
  | { op: 'worker' }
  | { op: 'idle' }
  | { op: 'bad-address' };

const job = JSON.parse(process.argv[2]!) as Job;
const out = (v: unknown) => process.stdout.write(JSON.stringify(toJsonValue(v)) + '\n');

function errInfo(e: unknown) {
  const x = e as { code?: string; message?: string; name?: string; attempts?: number };
  return { code: x.code, message: x.message, name: x.name, attempts: x.attempts };
}

const count = (dir: string) => readdirSync(dir).length;

switch (job.op) {
  case 'query': {
    await using port = await openPort({ window: 16 });
    const results = await Promise.all(
      job.items.map(async (it) => {
        switch (it.attr) {
          case 'nodeinfo': {
            const ni = await port.nodeInfo(it.addr);
            const raw = await port.getFields('NodeInfo', { mgmtClass: 1, attrId: 0x11, addr: it.addr });
            return { typed: ni, text: dumpGroup('NodeInfo', raw) };
          }
          case 'nodedesc':
            return { typed: await port.nodeDescription(it.addr) };
          case 'portinfo': {
            const pi = await port.portInfo(it.addr, it.port ?? 0);
            return { typed: { ...pi, raw: undefined }, text: dumpGroup('PortInfo', pi.raw) };
          }
          case 'switchinfo': {
            const si = await port.switchInfo(it.addr);
            return { typed: { ...si, raw: undefined }, text: dumpGroup('SwitchInfo', si.raw) };
          }
        }
      }),
    );
    out(results);
    break;
  }
  case 'burst': {
    await using port = await openPort({ window: 16, ...(job.timeoutMs ? { timeoutMs: job.timeoutMs } : {}), ...(job.retries !== undefined ? { retries: job.retries } : {}) });
    const res = await Promise.allSettled(Array.from({ length: job.count }, () => port.nodeInfo(job.addr)));
    out({
      ok: res.filter((r) => r.status === 'fulfilled').length,
      errors: res.filter((r) => r.status === 'rejected').map((r) => errInfo((r as PromiseRejectedResult).reason)),
      guids: [...new Set(res.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ nodeGuid: bigint }>).value.nodeGuid))],
      stats: port.stats(),
    });
    break;
  }
  case 'timeout': {
    await using port = await openPort();
    const t0 = performance.now();
    try {
      await port.nodeInfo(job.addr, { timeoutMs: job.timeoutMs, retries: job.retries });
      out({ ok: true });
    } catch (e) {
      out({ ok: false, ms: performance.now() - t0, error: errInfo(e) });
    }
    break;
  }
  case 'close-in-flight': {
    const port = await openPort({ timeoutMs: 60_000, retries: 0 });
    // Submitted and closed in the same tick: no completion can reach JS in between.
    const ps = Array.from({ length: job.count }, () => port.nodeInfo(job.addr).then(() => null, (e: unknown) => errInfo(e)));
    const before = port.stats();
    const t0 = performance.now();
    await port.close();
    const errors = await Promise.all(ps);
    out({ outstandingBeforeClose: before.outstanding, closeMs: performance.now() - t0, errors });
    break;
  }
  case 'deadline': {
    // The test freezes the simulator between "ready" and "go": nobody answers,
    // so only the engine's own deadline can end the request.
    await using port = await openPort();
    await port.nodeInfo({ lid: 1 });
    const lines = (async function* () {
      let buf = '';
      for await (const chunk of process.stdin) {
        buf += String(chunk);
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          yield buf.slice(0, i);
          buf = buf.slice(i + 1);
        }
      }
    })();
    process.stdout.write('ready\n');
    await lines.next();
    const t0 = performance.now();
    try {
      await port.nodeInfo(job.addr, { timeoutMs: job.timeoutMs, retries: job.retries });
      out({ ok: true, ms: performance.now() - t0, stats: port.stats() });
    } catch (e) {
      out({ ok: false, ms: performance.now() - t0, error: errInfo(e), stats: port.stats() });
    }
    await lines.next(); // the simulator runs again: close
    break;
  }
  case 'resources': {
    // The addon keeps one idle job thread per environment (for CA and port opening): warm it first.
    const warm = await openPort();
    await warm.close();
    const fds0 = count('/proc/self/fd');
    const tasks0 = count('/proc/self/task');
    const port = await openPort();
    await port.nodeInfo({ lid: 1 });
    const tasksOpen = count('/proc/self/task');
    await port.close();
    await new Promise((r) => setTimeout(r, 50));
    out({ fds0, tasks0, tasksOpen, fds1: count('/proc/self/fd'), tasks1: count('/proc/self/task') });
    break;
  }
  case 'worker': {
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(new URL('../../../lib/ib/port.js', import.meta.url).href)}).then(async ({ openPort }) => {
        const port = await openPort();
        const ni = await port.nodeInfo({ lid: 1 });
        await port.close();
        parentPort.postMessage(ni.nodeGuid.toString(16));
      });`;
    const w = new Worker(code, { eval: true });
    const guid = await new Promise<string>((resolve, reject) => {
      w.on('message', resolve);
      w.on('error', reject);
    });
    // A second worker is terminated with MADs in flight: no crash, no hang.
    const code2 = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(new URL('../../../lib/ib/port.js', import.meta.url).href)}).then(async ({ openPort }) => {
        const port = await openPort({ timeoutMs: 60000, retries: 0 });
        // Keep MADs in flight until terminated.
        setInterval(() => { for (let i = 0; i < 50; i++) port.nodeInfo({ lid: 1 }).catch(() => {}); }, 1);
        parentPort.postMessage('busy');
      });`;
    const w2 = new Worker(code2, { eval: true });
    await new Promise((r) => w2.on('message', r));
    const exitCode = await w2.terminate();
    out({ guid, terminated: exitCode });
    break;
  }
  case 'idle': {
    // Opens a port, queries, never closes: the process must still exit on its own.
    const port = await openPort();
    const ni = await port.nodeInfo({ lid: 1 });
    out({ guid: ni.nodeGuid });
    break;
  }
  case 'bad-address': {
    await using port = await openPort();
    const bad: unknown[] = [{ lid: 0 }, { lid: 0xc000 }, { lid: 0xffff }, { lid: 1.5 }, { path: new Array(64).fill(1) }, { path: [1, 256] }, { path: [-1] }, {}];
    const errors = [];
    for (const addr of bad) {
      try {
        await port.nodeInfo(addr as Address);
        errors.push(null);
      } catch (e) {
        errors.push(errInfo(e));
      }
    }
    out({ errors, sent: port.stats().sent });
    break;
  }
}
