/**
 * Fault rules, UDSP and health through the facade on every backend (the mock:
 * the emulator's kernel model in-process; the native addon on the emulator
 * daemon), both release personalities: effects on pings and NI selection,
 * statistics, recovery queues, and the checks made before anything is sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LNet } from '../../../lib/lnet/index.js';
import { LNET_BACKENDS, lnetBed, type LnetBed, type TestNode } from '../../helpers/lnet-backends.js';

async function node(bed: LnetBed): Promise<LNet & { node: TestNode }> {
  const n = await bed.node({
    interfaces: [
      { name: 'eth0', ip: '192.168.1.10' },
      { name: 'eth1', ip: '10.1.0.10' },
    ],
    remotes: [{ nids: ['192.168.1.20@tcp', '10.1.0.20@tcp1'] }],
  });
  await n.l.load({ networks: 'tcp(eth0),tcp1(eth1)' });
  await n.l.configure({ all: true });
  return Object.assign(n.l, { node: n });
}
const sends = async (l: LNet) => Object.fromEntries((await l.nets.show({ verbose: 1 })).flatMap((n) => n.nis.map((ni) => [ni.nid, ni.statistics['send_count']!])));

for (const { kind, release } of LNET_BACKENDS) {
  describe(`LNet facade: faults, UDSP, health (${kind} ${release})`, () => {
    const bed = lnetBed(kind, release);
    it('a drop rule makes pings fail until it is deleted; list counts hits; reset zeroes them', async () => {
      await using l = await node(bed);
      await l.ping('192.168.1.20@tcp', { timeoutMs: 1000 });
      await l.faults.add('drop', { source: '192.168.1.10@tcp', destination: '*', rate: 1, messages: ['get'] });
      await assert.rejects(l.ping('192.168.1.20@tcp', { timeoutMs: 100 }), { code: 'ETIMEDOUT' });
      const [r] = await l.faults.list('drop');
      assert.deepEqual({ ...r, stats: { ...r!.stats } }, {
        kind: 'drop', source: '192.168.1.10@tcp', destination: '<?>', rate: 1, interval: 0, portalMask: '0x0', messageMask: 4,
        stats: { matched: 1, hits: 1, put: 0, ack: 0, get: 1, reply: 0 },
      });
      await l.faults.reset('drop');
      assert.equal((await l.faults.list('drop'))[0]!.stats.hits, 0);
      assert.equal(await l.faults.del('drop', { source: '192.168.1.10@tcp', destination: '*' }), 1);
      assert.deepEqual(await l.faults.list('drop'), []);
      await l.ping('192.168.1.20@tcp', { timeoutMs: 1000 });
    });

    it('fault rules are checked before anything is sent', async () => {
      await using l = await node(bed);
      await assert.rejects(l.faults.add('drop', { source: '*', destination: '*' }), /either drop rate or interval/);
      await assert.rejects(l.faults.add('delay', { source: '*', destination: '*', rate: 1 }), /latency cannot be zero/);
      await assert.rejects(l.faults.add('drop', { source: '*', destination: '*', rate: 1, portals: [64] }), /invalid portal: 64/);
      await assert.rejects(l.faults.add('drop', { source: 'x@y', destination: '*', rate: 1 }), { name: 'LnetSyntaxError' });
      assert.deepEqual(l.node.calls.filter((c) => c.op.startsWith('fault')), [], 'no fault operation reached the backend');
      assert.deepEqual(await l.faults.list('drop'), []);
    });

    it('UDSP: rules round-trip through the kernel in order; a src priority moves the Multi-Rail peer to tcp1; udsp info shows it', async () => {
      await using l = await node(bed);
      await l.discover('192.168.1.20@tcp', {});
      let before = await sends(l);
      await l.ping('192.168.1.20@tcp', { timeoutMs: 1000 });
      let now = await sends(l);
      assert.equal(now['192.168.1.10@tcp']! - before['192.168.1.10@tcp']!, 1);
      await l.udsp.add({ dst: '192.168.1.[1-50/1]@tcp', priority: 2 });
      await l.udsp.add({ src: 'tcp1', priority: 0, idx: 0 });
      assert.deepEqual(await l.udsp.show(), [
        { idx: 0, src: 'tcp1', dst: 'NA', rte: 'NA', action: { priority: 0 } },
        { idx: 1, src: 'NA', dst: '192.168.1.[1-50]@tcp', rte: 'NA', action: { priority: 2 } },
      ]);
      before = now;
      await l.ping('192.168.1.20@tcp', { timeoutMs: 1000 });
      now = await sends(l);
      assert.equal(now['10.1.0.10@tcp1']! - before['10.1.0.10@tcp1']!, 1);
      const tcp1 = (await l.nets.show({ verbose: 4 })).find((n) => n.net === 'tcp1')!.nis[0]!;
      assert.deepEqual(tcp1.udsp, { netPriority: 0, nidPriority: -1 });
      await l.udsp.del(0);
      assert.equal((await l.udsp.show()).length, 1);
      await assert.rejects(l.udsp.del(5), { code: 'ENOENT' });
      await assert.rejects(l.udsp.add({ src: 'tcp', rte: '1.2.3.4@tcp' }), /src and rte cannot be combined/);
      await assert.rejects(l.udsp.add({ dst: '1.2.3@tcp' }), /four parts/);
      await l.udsp.del('all');
      assert.deepEqual(await l.udsp.show(), []);
    });

    it('UDSP in export/import/apply: lnetctl\'s udsp section round-trips, import --del removes by idx, apply makes the rules match once', async () => {
      await using l = await node(bed);
      await l.udsp.add({ src: 'tcp1', priority: 0 });
      await l.udsp.add({ dst: '192.168.1.[1-9]@tcp', priority: 4 });
      const text = await l.export({ backup: true });
      assert.match(text, /\nudsp:\n    - idx: 0\n      src: tcp1\n      dst: NA\n      rte: NA\n      action:\n          priority: 0\n    - idx: 1\n      src: NA\n      dst: 192\.168\.1\.\[1-9\]@tcp\n      rte: NA\n      action:\n          priority: 4\n$/);
      await using fresh = await node(bed);
      const r = await fresh.import(text);
      assert.equal(r.failed.length, 0, JSON.stringify(r.failed));
      assert.deepEqual(await fresh.udsp.show(), await l.udsp.show());
      const again = await fresh.apply(text);
      assert.equal(again.changes.filter((c) => c.section === 'udsp').length, 0, 'apply: nothing to change');
      const d = await fresh.import('udsp:\n    - idx: 0\n', { mode: 'del' });
      assert.equal(d.failed.length, 0);
      assert.deepEqual((await fresh.udsp.show()).map((x) => x.dst), ['192.168.1.[1-9]@tcp']);
      const ap = await fresh.apply('udsp:\n    - src: tcp\n      action:\n          priority: 1\n');
      assert.equal(ap.failed, false, ap.msg);
      assert.deepEqual(await fresh.udsp.show(), [{ idx: 0, src: 'tcp', dst: 'NA', rte: 'NA', action: { priority: 1 } }]);
      await assert.rejects(fresh.import('udsp:\n    - src: tcp\n      rte: 1.2.3.4@tcp\n'), /udsp\[0\]: .*src and rte cannot be combined/);
    });

    it('health: set values, recovery queues, show; refusals', async () => {
      await using l = await node(bed);
      await l.ping('10.1.0.20@tcp1', { timeoutMs: 1000 });
      await l.health.set('local', { nid: '10.1.0.10@tcp1' }, 50);
      await l.health.set('peer', 'all', 10);
      assert.deepEqual(await l.health.recovery('local'), ['10.1.0.10@tcp1']);
      assert.deepEqual(await l.health.recovery('peer'), ['10.1.0.20@tcp1']);
      const h = await l.health.show();
      assert.deepEqual(h.local.map((x) => [x.nid, x.healthValue]), [['192.168.1.10@tcp', 1000], ['10.1.0.10@tcp1', 50]]);
      assert.deepEqual(h.peer.map((x) => [x.nid, x.healthValue]), [['10.1.0.20@tcp1', 10]]);
      await assert.rejects(l.health.set('local', { nid: '10.9.9.9@tcp' }, 5), { code: 'ENOENT' });
      await assert.rejects(l.health.set('local', 'all', 2000), /0-1000/);
      await l.health.set('local', 'all', 1000);
      assert.deepEqual(await l.health.recovery('local'), []);
    });
  });
}
