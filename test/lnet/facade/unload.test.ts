/**
 * The unload policy on its own (lib/lnet/unload.ts): the wiki's three rules
 * and lustre_rmmod's order, checked against the modules left loaded. On
 * every backend (test/helpers/lnet-backends.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LnetRefusedError } from '../../../lib/lnet/errors.js';
import type { LnetBackend } from '../../../lib/lnet/backend.js';
import { UnloadPolicy, lustreModules } from '../../../lib/lnet/unload.js';
import { LNET_BACKENDS, lnetBed, type TestNode } from '../../helpers/lnet-backends.js';

for (const { kind, release } of LNET_BACKENDS) {
  describe(`unload policy (${kind} ${release})`, () => {
    const bed = lnetBed(kind, release);
    async function node(): Promise<TestNode & { m: LnetBackend; u: UnloadPolicy }> {
      const n = await bed.node({ interfaces: [{ name: 'eth0', ip: '10.0.0.1' }] });
      await n.l.load({ networks: 'tcp(eth0)' });
      return Object.assign(n, { m: n.backend, u: new UnloadPolicy(n.l) });
    }
    const names = async (m: LnetBackend): Promise<string[]> => (await m.modules()).map((x) => x.name).sort();

    it('nothing loaded: nothing to do', async () => {
      const { l } = await bed.node();
      const r = await new UnloadPolicy(l).unload();
      assert.deepEqual(r.removed, []);
      assert.match(r.msg, /not loaded/);
    });

    it('standalone: refused without unconfigure (nothing removed); with it, unconfigured then removed dependents first', async () => {
      const { m, l, u } = await node();
      await l.configure({ all: true });
      await assert.rejects(u.unload(), (e: unknown) => e instanceof LnetRefusedError && e.code === 'ERR_LNET_STANDALONE');
      assert.deepEqual(await names(m), ['ksocklnd', 'libcfs', 'lnet']);
      const r = await u.unload({ unconfigure: true });
      assert.equal(r.unconfigured, true);
      assert.deepEqual(r.removed, ['ksocklnd', 'lnet', 'libcfs']);
      assert.deepEqual(await names(m), []);
    });

    it('Lustre devices up: refused with the devices listed, nothing removed', async () => {
      const { m, u, startLustre } = await node();
      await startLustre('client');
      const before = await names(m);
      await assert.rejects(u.unload({ unconfigure: true }), (e: unknown) => e instanceof LnetRefusedError && e.code === 'ERR_LNET_BUSY' && e.devices.length === 5);
      assert.deepEqual(await names(m), before);
    });

    it('LNet brought up by Lustre, nothing mounted: the whole stack goes, Lustre above obdclass first', async () => {
      const { m, l, u } = await node();
      await l.load({ module: 'lustre' });
      assert.deepEqual(lustreModules(await m.modules()).sort(), ['lustre', 'obdclass', 'ptlrpc']);
      const r = await u.unload();
      assert.deepEqual(r.removed, ['lustre', 'ptlrpc', 'obdclass', 'ksocklnd', 'lnet', 'libcfs']);
      assert.deepEqual(await names(m), []);
    });
  });
}
