/**
 * lnet.conf validation, import/export round trips, apply idempotence,
 * all-or-nothing behaviour and exact reporting after an injected kernel
 * failure, on every backend (test/helpers/lnet-backends.ts): the mock and
 * the native addon on the emulator, 2.15 and 2.16. Parsing alone needs no
 * backend and runs once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseLnetConfig } from '../../../lib/lnet/config.js';
import { LnetConfigError } from '../../../lib/lnet/errors.js';
import { packageRoot } from '../../../lib/util/paths.js';
import type { MockCall } from '../../../lib/lnet/mock-backend.js';
import { LNET_BACKENDS, lnetBed, type LnetBed, type TestNode } from '../../helpers/lnet-backends.js';

const REFERENCE_CONF = readFileSync(join(packageRoot(), 'test/lnet/fixtures/lnet.conf'), 'utf8');
const MUTATING = new Set(['loadModule', 'removeModule', 'writeParam', 'configure', 'unconfigure', 'addNi', 'delNi', 'addRoute', 'delRoute', 'setRouting', 'setBuffers', 'addPeer', 'delPeer', 'setNumaRange', 'resetStats']);

/** A node with the interfaces the reference lnet.conf needs, lnet loaded and configured (no nets). */
async function freshNode(bed: LnetBed): Promise<TestNode & { m: TestNode['backend'] }> {
  const n = await bed.node({
    interfaces: [
      { name: 'ib0', ip: '172.16.1.10' },
      { name: 'eth0', ip: '192.168.1.10' },
      { name: 'eth1', ip: '192.168.1.20' },
    ],
    remotes: [{ nids: ['172.16.1.1@o2ib1', '10.10.0.1@o2ib'] }],
  });
  await n.l.load();
  await n.l.configure();
  return Object.assign(n, { m: n.backend });
}

/** An export --backup with the non-MR peer a route through 172.16.1.1@o2ib1 leaves behind (2.15: cYAML; 2.16: netlink layout). */
const withRouterPeer = (exp: string, release: string): string =>
  exp.replace(
    'global:\n',
    release === '2.15'
      ? 'peer:\n    - primary nid: 172.16.1.1@o2ib1\n      Multi-Rail: False\n      peer ni:\n        - nid: 172.16.1.1@o2ib1\nglobal:\n'
      : 'peer:\n-     primary nid: 172.16.1.1@o2ib1\n      Multi-Rail: False\n      peer ni:\n      -     nid: 172.16.1.1@o2ib1\nglobal:\n',
  );

const mutations = (calls: MockCall[], from = 0): string[] => calls.slice(from).filter((c) => MUTATING.has(c.op)).map((c) => c.op);

describe('lnet.conf parsing (reference 4.3)', () => {
  it('reads the reference example: nets, ip2nets, route, peer, routing, buffers, global', () => {
    const c = parseLnetConfig(REFERENCE_CONF);
    assert.deepEqual(c.nets!.map((n) => n.net), ['o2ib1', 'tcp', 'tcp1']);
    const o2ib = c.nets![0]!.nis[0]!;
    assert.deepEqual(o2ib.interfaces, ['ib0']);
    assert.deepEqual(o2ib.tunables, { peer_timeout: 180, peer_credits: 128, peer_buffer_credits: 0, credits: 1024 });
    assert.equal(o2ib.lndTunables['map_on_demand'], 32);
    assert.deepEqual(o2ib.cpts, [0, 1]);
    assert.equal(c.nets![1]!.nis[0]!.nid, '192.168.1.10@tcp');
    assert.equal(c.nets![1]!.nis[0]!.tunables.peer_credits, 16, 'per-net tunables apply to the NIs');
    assert.deepEqual(c.nets![2]!.nis[0]!.interfaces, ['eth1']);
    assert.deepEqual(c.routes, [{ key: 'route[0]', line: c.routes![0]!.line, net: 'o2ib', gateway: '172.16.1.1@o2ib1', hop: -1, priority: 0 }]);
    assert.deepEqual(c.peers![0]!.nids, ['192.168.2.2@o2ib']);
    assert.equal(c.routing!.enable, true);
    assert.deepEqual({ ...c.buffers, key: undefined, line: undefined }, { key: undefined, line: undefined, tiny: 2048, small: 16384, large: 1024 });
    assert.equal(c.global!.values.max_interfaces, 200);
  });

  it('every problem is reported with its line and key, and nothing else is parsed', () => {
    const doc = [
      'net:', //                                   1
      '    - net type: tcp9x', //                  2
      '      local NI(s):', //                     3
      '        - interfaces:', //                  4
      '              0: eth0', //                  5
      'route:', //                                 6
      '    - net: tcp2', //                        7
      '      gateway: 192.168.1.300@tcp', //       8
      '      hop: 0', //                           9
      'global:', //                                10
      '    response_tracking: 10', //              11
      '    max_intf: 8', //                        12
      '    bogus: 1', //                           13
    ].join('\n');
    assert.throws(
      () => parseLnetConfig(doc, 'site.conf'),
      (e: unknown) => {
        assert.ok(e instanceof LnetConfigError);
        const p = e.problems.map((x) => `${x.line}:${x.key}`);
        assert.deepEqual(p, ['2:net[0].net type', '8:route[0].gateway', '9:route[0].hop', '13:global.bogus', '11:global.response_tracking', '12:global.max_interfaces']);
        assert.match(e.message, /^site\.conf: 6 problems, nothing applied/);
        assert.match(e.message, /line 11: global\.response_tracking: 10: must be 0-3/);
        return true;
      },
    );
  });

  it('YAML syntax errors name the line', () => {
    assert.throws(() => parseLnetConfig('net:\n  - net type: tcp\n   local NI(s): x\n'), (e: unknown) => e instanceof LnetConfigError && e.problems[0]!.line === 3);
  });
});

for (const { kind, release } of LNET_BACKENDS) {
describe(`import and export (${kind} ${release})`, () => {
  const bed = lnetBed(kind, release);
  it('imports the reference lnet.conf (o2ib on IPoIB, tcp by NID, ip2nets) and loads the right LNDs', async () => {
    const { m, l } = await freshNode(bed);
    const r = await l.import(REFERENCE_CONF);
    assert.ok(r.ok, r.msg);
    assert.deepEqual(await l.listNids(), ['172.16.1.10@o2ib1', '192.168.1.10@tcp', '192.168.1.20@tcp1']);
    const mods = (await m.modules()).map((x) => x.name);
    assert.ok(mods.includes('ko2iblnd') && mods.includes('ksocklnd'));
    const nets = await l.nets.show({ verbose: 1 });
    const ib = nets.find((n) => n.net === 'o2ib1')!.nis[0]!;
    assert.equal(ib.tunables.credits, 1024);
    assert.equal(ib.lndTunables['concurrent_sends'], 256);
    assert.equal((await l.routing()).enabled, true);
    assert.deepEqual((await l.routing()).buffers, { tiny: 2048, small: 16384, large: 1024 });
    assert.equal((await l.globals.get()).max_interfaces, 200);
    // The route's gateway is a peer too (the kernel creates it with the route).
    assert.deepEqual(await l.peers.list(), ['172.16.1.1@o2ib1', '192.168.1.2@o2ib']);
  });

  it('export then import into a fresh host gives the same export (backup and full)', async () => {
    const a = await freshNode(bed);
    await a.l.import(REFERENCE_CONF);
    await a.l.globals.set({ retry_count: 3, health_sensitivity: 50 });
    for (const backup of [true, false]) {
      const text = await a.l.export({ backup });
      const b = await freshNode(bed);
      const r = await b.l.import(text);
      assert.ok(r.ok, r.msg);
      assert.equal(await b.l.export({ backup: true }), await a.l.export({ backup: true }));
      await b.close();
    }
  });

  it('import --del removes what the document lists', async () => {
    const { l } = await freshNode(bed);
    await l.import(REFERENCE_CONF);
    const r = await l.import('peer:\n    - primary nid: 192.168.1.2@o2ib\nroute:\n    - net: o2ib\n      gateway: 172.16.1.1@o2ib1\n', { mode: 'del' });
    assert.ok(r.ok, r.msg);
    // The router's peer, created by the kernel with the route, outlives it.
    assert.deepEqual(await l.peers.list(), ['172.16.1.1@o2ib1']);
    assert.deepEqual(await l.routes.show(), []);
  });

  it('a document with one bad item applies nothing and names the item', async () => {
    const { calls, l } = await freshNode(bed);
    const bad = REFERENCE_CONF.replace('gateway: 172.16.1.1@o2ib1', 'gateway: 172.16.1.1@o2ib1x');
    const line = bad.split('\n').findIndex((x) => x.includes('o2ib1x')) + 1;
    const before = calls.length;
    await assert.rejects(l.import(bad), (e: unknown) => {
      assert.ok(e instanceof LnetConfigError);
      assert.equal(e.problems.length, 1);
      assert.equal(e.problems[0]!.key, 'route[0].gateway');
      assert.equal(e.problems[0]!.line, line);
      return true;
    });
    await assert.rejects(l.apply(bad), LnetConfigError);
    assert.deepEqual(mutations(calls, before), []);
  });

  it('a global the kernel would refuse given the current values: nothing applied', async () => {
    const { calls, l } = await freshNode(bed);
    await l.globals.set({ health_sensitivity: 0, retry_count: 0 });
    const before = calls.length;
    // retry_count 1 is valid on its own, but not while health_sensitivity is 0 on this node.
    await assert.rejects(l.import('net:\n    - net type: tcp\n      local NI(s):\n        - interfaces:\n              0: eth0\nglobal:\n    retry_count: 1\n'), /retry_count.*health_sensitivity/);
    assert.deepEqual(mutations(calls, before), []);
  });

  it('an injected kernel failure midway: earlier items rolled back, the result says exactly what is in effect', async () => {
    const { failNext, l } = await freshNode(bed);
    const before = await l.export({ backup: true });
    await failNext('addPeer', 'ENOMEM');
    const r = await l.import(REFERENCE_CONF);
    assert.equal(r.ok, false);
    assert.equal(r.failed.length, 1);
    assert.equal(r.failed[0]!.section, 'peer');
    assert.equal(r.failed[0]!.code, 'ENOMEM');
    assert.equal(r.failed[0]!.key, 'peer[0]');
    assert.ok(r.rolledBack.some((c) => c.item === 'net o2ib1 NI ib0'));
    assert.deepEqual(r.applied, [], 'nothing in effect');
    assert.match(r.msg, /nothing from the document is in effect/);
    // As before, but for the peer the kernel created for the route's gateway: it outlives the route, as on a real node.
    assert.equal(await l.export({ backup: true }), withRouterPeer(before, release), 'the node is as before');
  });

  it('when a rollback step fails too, the result lists exactly what stays in effect', async () => {
    const { failNext, l } = await freshNode(bed);
    const doc = 'net:\n    - net type: tcp\n      local NI(s):\n        - interfaces:\n              0: eth0\nroute:\n    - net: tcp7\n      gateway: 192.168.1.1@tcp\n    - net: tcp8\n      gateway: 192.168.1.2@tcp\n';
    await failNext('addRoute', 'ENOMEM'); // first route fails...
    await failNext('delNi', 'EIO'); // ...and undoing the net fails
    const r = await l.import(doc);
    assert.equal(r.ok, false);
    assert.equal(r.failed[0]!.item, 'route tcp7 via 192.168.1.1@tcp hop -1 priority 0');
    assert.deepEqual(r.rollbackFailed.map((x) => [x.item, x.code]), [['net tcp NI eth0', 'EIO']]);
    assert.deepEqual(r.applied.map((x) => x.item), ['net tcp NI eth0']);
    assert.deepEqual(await l.listNids(), ['192.168.1.10@tcp'], 'the reported item is really in effect');
    assert.deepEqual(await l.routes.show(), []);
    assert.match(r.msg, /still in effect: net tcp NI eth0/);
  });
});

describe(`apply (${kind} ${release})`, () => {
  const bed = lnetBed(kind, release);
  it('applies the difference, and a second run changes nothing', async () => {
    const { calls, l } = await freshNode(bed);
    const first = await l.apply(REFERENCE_CONF);
    assert.equal(first.failed, false, first.msg);
    assert.equal(first.changed, true);
    assert.ok(first.applied.length >= 8);
    const mark = calls.length;
    const second = await l.apply(REFERENCE_CONF);
    assert.equal(second.changed, false);
    assert.deepEqual(second.changes, []);
    assert.equal(second.msg, 'no change: the node matches the document');
    assert.deepEqual(mutations(calls, mark), [], 'no kernel write on the second run');
  });

  it('deletes what the document no longer lists, changes globals, and reports an Ansible diff', async () => {
    const { l } = await freshNode(bed);
    await l.apply(REFERENCE_CONF);
    const edited = REFERENCE_CONF.replace(/route:\n(.*\n){4}/, 'route: []\n')
      .replace('    - net type: tcp\n      local NI(s):\n        - nid: 192.168.1.10@tcp        # alternative to interfaces: bring NI up by NID\n      tunables: {peer_credits: 16}     # tunables may also be given per net (applied to all NIs)\n', '')
      .replace('retry_count: 2', 'retry_count: 3')
      .replace('        - nid: 192.168.2.2@o2ib\n', '');
    const dry = await l.apply(edited, { dryRun: true });
    assert.equal(dry.changed, true);
    assert.deepEqual(dry.applied, []);
    const items = dry.changes.map((c) => `${c.op} ${c.item}`);
    assert.deepEqual(items.sort(), [
      'del net tcp NI eth0',
      'del peer 192.168.1.2@o2ib nid 192.168.2.2@o2ib',
      'del route o2ib via 172.16.1.1@o2ib1 hop -1 priority 0',
      'set global retry_count: 3',
    ]);
    assert.match(dry.diff.before, /^global retry_count: 2$/m);
    assert.match(dry.diff.after, /^global retry_count: 3$/m);
    assert.equal((await l.routes.show()).length, 1, 'dry run changed nothing');
    const r = await l.apply(edited);
    assert.equal(r.failed, false, r.msg);
    assert.deepEqual(await l.listNids(), ['172.16.1.10@o2ib1', '192.168.1.20@tcp1']);
    assert.deepEqual(await l.routes.show(), []);
    assert.equal((await l.globals.get()).retry_count, 3);
    assert.equal((await l.apply(edited)).changed, false);
  });

  it('changed tunables replace the NI', async () => {
    const { l } = await freshNode(bed);
    const doc = (credits: number): string => `net:\n    - net type: tcp\n      local NI(s):\n        - interfaces:\n              0: eth0\n          tunables:\n              credits: ${credits}\n`;
    await l.apply(doc(256));
    const r = await l.apply(doc(512));
    assert.deepEqual(r.changes.map((c) => `${c.op} ${c.item}`), ['del net tcp NI eth0', 'add net tcp NI eth0']);
    assert.equal((await l.nets.show({ net: 'tcp', verbose: 1 }))[0]!.nis[0]!.tunables.credits, 512);
    assert.equal((await l.apply(doc(512))).changed, false);
  });

  it('configures LNet when it is loaded but down', async () => {
    const { l } = await bed.node({ interfaces: [{ name: 'eth0', ip: '10.0.0.5' }] });
    await l.load();
    const r = await l.apply('net:\n    - net type: tcp\n      local NI(s):\n        - interfaces:\n              0: eth0\n');
    assert.equal(r.changes[0]!.op, 'configure');
    assert.deepEqual(await l.listNids(), ['10.0.0.5@tcp']);
  });

  it('an injected failure midway rolls back and the result fits the Ansible protocol', async () => {
    const { failNext, l } = await freshNode(bed);
    const before = await l.export({ backup: true });
    await failNext('setBuffers', 'ENOMEM');
    const r = await l.apply(REFERENCE_CONF);
    assert.equal(r.failed, true);
    assert.equal(r.changed, false, 'everything was rolled back');
    assert.equal(r.failures[0]!.section, 'buffers');
    assert.equal(r.failures[0]!.line, REFERENCE_CONF.split('\n').indexOf('    tiny: 2048') + 1, 'the failed item names its line');
    assert.ok(r.rolledBack.length > 0);
    // As before, but for what the kernel keeps once created: the router pools (routing is off again) and the gateway's peer.
    const pools = 'buffers:\n    tiny: 1024\n    small: 8192\n    large: 512\n';
    assert.equal(await l.export({ backup: true }), withRouterPeer(before, release).replace(/buffers:\n(    .*\n)+/, pools));
    for (const k of ['changed', 'failed', 'msg', 'diff']) assert.ok(k in r, k);
    assert.equal(typeof r.diff.before, 'string');
  });
});
}
