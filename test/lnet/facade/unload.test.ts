/**
 * The unload policy on its own (lib/lnet/unload.ts): the wiki's three rules
 * and lustre_rmmod's order, checked against the modules left loaded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LnetRefusedError } from '../../../lib/lnet/errors.js';
import { LNet } from '../../../lib/lnet/facade.js';
import { MockLnetBackend } from '../../../lib/lnet/mock-backend.js';
import { UnloadPolicy, lustreModules } from '../../../lib/lnet/unload.js';

for (const release of ['2.15', '2.16'] as const) {
  describe(`unload policy (${release})`, () => {
    async function node(): Promise<{ m: MockLnetBackend; l: LNet; u: UnloadPolicy }> {
      const m = new MockLnetBackend({ release, interfaces: [{ name: 'eth0', ip: '10.0.0.1' }] });
      const l = new LNet(m);
      await l.load({ networks: 'tcp(eth0)' });
      return { m, l, u: new UnloadPolicy(l) };
    }
    const names = async (m: MockLnetBackend): Promise<string[]> => (await m.modules()).map((x) => x.name).sort();

    it('nothing loaded: nothing to do', async () => {
      const m = new MockLnetBackend({ release });
      const r = await new UnloadPolicy(new LNet(m)).unload();
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
      const { m, u } = await node();
      await m.startLustre('client');
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
