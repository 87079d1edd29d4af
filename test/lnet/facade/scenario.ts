/**
 * Facade scenarios (import, export round trip, apply idempotence, rollback of
 * an injected kernel failure, unload) as a list of [step, outcome], run on any
 * backend: backends.test.ts runs them on the mock in-process and on the native
 * backend under the emulator daemon, in both personalities, and compares.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HpcnetError } from '../../../lib/errors.js';
import type { LnetBackend } from '../../../lib/lnet/backend.js';
import { LNet } from '../../../lib/lnet/facade.js';
import { packageRoot } from '../../../lib/util/paths.js';

export type Outcome = [step: string, result: string];
/** The node the reference lnet.conf needs. */
export const FACADE_HOST = { name: 'f1', ifaces: [{ name: 'ib0', ip: '172.16.1.10' }, { name: 'eth0', ip: '192.168.1.10' }, { name: 'eth1', ip: '192.168.1.20' }] };

/** `inject(op, errno)`: make the next kernel operation of that kind fail (emulator fault kinds). */
export async function runFacadeScenario(b: LnetBackend, release: '2.15' | '2.16', inject: (op: string, errno: number) => Promise<void>): Promise<Outcome[]> {
  const doc = readFileSync(join(packageRoot(), 'test/lnet/fixtures/lnet.conf'), 'utf8');
  const l = new LNet(b);
  const out: Outcome[] = [];
  const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      const r = await fn();
      out.push([name, typeof r === 'string' ? r : JSON.stringify(r ?? 'ok')]);
    } catch (e) {
      out.push([name, e instanceof HpcnetError ? `${e.code}: ${e.message}` : `not an HpcnetError: ${String(e)}`]);
    }
  };
  await step('load', async () => (await l.load()).map((i) => i.name));
  await step('configure', () => l.configure());
  const before = await l.export({ backup: true });
  // Rollback: the kernel refuses an item midway (2.15: the peer; 2.16: the route,
  // since the netlink fault kinds are per command and the planner reads peers first);
  // everything before it is undone.
  await inject(release === '2.15' ? 'ioctl:ADD_PEER_NI' : 'netlink:ROUTES', 12);
  await step('import with a kernel failure midway', async () => {
    const r = await l.import(doc);
    return { ok: r.ok, failed: r.failed.map((f) => `${f.item} ${f.code}`), rolledBack: r.rolledBack.map((c) => c.item), applied: r.applied.length };
  });
  await step('nets after the rollback', () => l.listNids());
  await step('routes after the rollback', async () => (await l.routes.show()).map((r) => `${r.net} ${r.gateway}`));
  await step('export after the rollback differs from before only by the router peer', async () => (await l.export({ backup: true })).replace(/peer:\n(.*\n)*?(?=global:)/, '') === before);
  await step('import', async () => (await l.import(doc)).msg);
  await step('export --backup', () => l.export({ backup: true }));
  await step('apply the same document again', async () => {
    const r = await l.apply(doc);
    return { changed: r.changed, msg: r.msg };
  });
  await step('apply a smaller document', async () => {
    const r = await l.apply('route: []\nglobal:\n    retry_count: 1\n');
    return { changed: r.changed, failed: r.failed, changes: r.changes.map((c) => `${c.op} ${c.item}`) };
  });
  await inject(release === '2.15' ? 'ioctl:ADD_ROUTE' : 'netlink:ROUTES', 12);
  await step('apply with a kernel failure', async () => {
    const r = await l.apply(doc);
    return { changed: r.changed, failed: r.failed, failures: r.failures.map((f) => f.code), rolledBack: r.rolledBack.length > 0 };
  });
  await step('routes after the failed apply', async () => (await l.routes.show()).map((r) => `${r.net} ${r.gateway}`));
  await step('unload refuses a standalone LNet', async () => (await l.unload()).msg);
  await step('unload --unconfigure', async () => (await l.unload({ unconfigure: true })).removed);
  return out;
}
