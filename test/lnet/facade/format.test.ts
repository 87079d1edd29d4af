/**
 * Output of net/route/routing/peer/ping/stats/global show and export,
 * compared with the verbatim example documents of reference lnet.md 4.2
 * (test/lnet/fixtures/reference-examples.ts), on every backend
 * (test/helpers/lnet-backends.ts: the mock, and the native addon on the
 * emulator daemon). The node is put in the state the examples describe
 * (their traffic counters are synthetic: set with the emulator's setCounters).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { LNet } from '../../../lib/lnet/facade.js';
import { emit, errorDoc, globalDoc, netsDoc, peerListDoc, peersDoc, pingDoc, routesDoc, routingDoc, statsDoc } from '../../../lib/lnet/format.js';
import { STATS_KEYS } from '../../../lib/lnet/types.js';
import * as ref from '../fixtures/reference-examples.js';
import { LNET_BACKENDS, lnetBed, type LnetBackendKind, type LnetBed, type TestNode } from '../../helpers/lnet-backends.js';

/** The examples' node: eth0 192.168.1.10 on tcp, a gateway/peer 192.168.1.1@tcp that also has 10.0.0.1@o2ib. */
async function exampleNode(bed: LnetBed, cpts = 2): Promise<TestNode & { m: TestNode['backend'] }> {
  // The gateway also routes to tcp1 (the examples' route).
  const n = await bed.node({ cpts, interfaces: [{ name: 'eth0', ip: '192.168.1.10' }], remotes: [{ nids: ['192.168.1.1@tcp', '10.0.0.1@o2ib', '10.1.0.1@tcp1'] }] });
  const l = n.l;
  await l.load({ networks: 'tcp(eth0)' });
  // The examples' node: socklnd timeout 49 (lnd_timeout in global show, `timeout` in the NI's lnd tunables on 2.16+,
  // which socklnd takes from sock_timeout when the NI starts).
  await n.backend.loadModule('ksocklnd');
  await n.backend.writeParam('ksocklnd', 'sock_timeout', '49');
  await l.configure({ all: true });
  return Object.assign(n, { m: n.backend });
}

/** One bed per release for a describe block of one backend kind (the examples compare releases). */
function beds(kind: LnetBackendKind): Record<'2.15' | '2.16', LnetBed> {
  return { '2.15': lnetBed(kind, '2.15'), '2.16': lnetBed(kind, '2.16') };
}

const KINDS = [...new Set(LNET_BACKENDS.map((b) => b.kind))];

// The formatter alone (no backend): once.
describe('error reports (reference 4.2)', () => {
  it('error reports in both styles', () => {
    assert.equal(errorDoc('add', 'net', 17, 'cannot add LNet NI', 'netlink'), '---\nadd:\n-     net:\n      errno: -17\n      descr: ! "cannot add LNet NI"\n...\n');
    assert.equal(errorDoc('show', 'net', 100, 'Network is down', 'cyaml'), 'show:\n    - net:\n          errno: -100\n          descr: "Network is down"\n');
  });
});

/** 2.15's lnet_ioctl_config_socklnd_tunables has conns_per_peer only: no timeout or tos lines. */
const for215 = (doc: string): string => doc.replace(/ {14}timeout: 49\n {14}tos: -1\n/g, '');

/** Pools allocated (routing enabled once), routing disabled again: the examples' buffers. */
async function poolsThenOff(l: LNet): Promise<void> {
  await l.setRouting(true);
  await l.setRouting(false);
}

/** Lines of `text` between the line equal to `from` (inclusive) and the first line matching `until` (exclusive). */
function block(text: string, from: string, until: RegExp): string {
  const lines = text.split('\n');
  const i = lines.indexOf(from);
  assert.ok(i >= 0, `'${from}' not found in:\n${text}`);
  let j = i + 1;
  while (j < lines.length && !until.test(lines[j]!)) j++;
  return lines.slice(i, j).join('\n') + '\n';
}

for (const kind of KINDS) {
describe(`net show (reference 4.2) (${kind})`, () => {
  const bed = beds(kind);
  it('2.15 (ioctl, cYAML) equals the example', async () => {
    const { l } = await exampleNode(bed['2.15']);
    assert.equal(emit(netsDoc(await l.nets.show(), 0), (await l.style()).style), ref.netShowCyaml);
  });
  it('2.16 (netlink, libyaml indent 6) equals the example', async () => {
    const { l } = await exampleNode(bed['2.16']);
    assert.equal(emit(netsDoc(await l.nets.show(), 0), (await l.style()).style), ref.netShowNetlink);
  });
  it('-v adds statistics, tunables, lnd tunables, dev cpt and CPT in the example order and indentation', async () => {
    for (const release of ['2.15', '2.16'] as const) {
      const { l, setCounters } = await exampleNode(bed[release]);
      await setCounters({ send: 11, recv: 20, drop: 0 }, '192.168.1.10@tcp');
      const text = emit(netsDoc(await l.nets.show({ verbose: 1 }), 1), 'cyaml');
      const tcpNi = text.slice(text.indexOf('        - nid: 192.168.1.10@tcp'));
      const after = tcpNi.split('\n').slice(4).join('\n'); // after nid, status, interfaces, 0: eth0
      assert.equal(after, release === '2.15' ? for215(ref.netShowV1Fragment) : ref.netShowV1Fragment, release);
    }
  });
  it('-v on lo: empty lnd tunables, zero tunables, dev cpt -1', async () => {
    const { l } = await exampleNode(bed['2.15']);
    const text = emit(netsDoc(await l.nets.show({ verbose: 1 }), 1), 'cyaml');
    const lo = block(text, '        - nid: 0@lo', /^    - net type/);
    assert.match(lo, /\n          lnd tunables:\n          dev cpt: -1\n/);
    assert.match(lo, /\n          tunables:\n              peer_timeout: 0\n              peer_credits: 0\n              peer_buffer_credits: 0\n              credits: 0\n/);
  });
  it('-v 2 inserts sent_stats, received_stats, dropped_stats and health stats after statistics', async () => {
    const { l } = await exampleNode(bed['2.15']);
    const text = emit(netsDoc(await l.nets.show({ verbose: 2 }), 2), 'cyaml');
    const ni = text.slice(text.indexOf('        - nid: 192.168.1.10@tcp'));
    const frag = ref.netShowV2Fragment.split('\n');
    // The example writes the sent_stats block in full, then abbreviates received/dropped as {put, get, ...}.
    const sentBlock = frag.slice(0, 6).join('\n').replace(/put: 5/, 'put: 0').replace(/get: 3/, 'get: 0') + '\n';
    assert.ok(ni.includes(sentBlock), `sent_stats block:\n${ni}`);
    const health = frag.slice(frag.indexOf('          health stats:'), frag.indexOf('          health stats:') + 11).join('\n') + '\n';
    assert.ok(ni.includes(health), 'health stats block equals the example');
    const keys = ni.split('\n').filter((x) => /^ {10}\S/.test(x)).map((x) => x.trim().replace(/:.*$/, ''));
    assert.deepEqual(keys, ['status', 'interfaces', 'statistics', 'sent_stats', 'received_stats', 'dropped_stats', 'health stats', 'tunables', 'lnd tunables', 'dev cpt', 'CPT']);
    assert.ok(/received_stats:\n {14}put: 0\n {14}get: 0\n {14}reply: 0\n {14}ack: 0\n {14}hello: 0\n/.test(ni));
  });
  it('-v 4 inserts udsp info right after statistics', async () => {
    const { l } = await exampleNode(bed['2.15']);
    const text = emit(netsDoc(await l.nets.show({ verbose: 4 }), 4), 'cyaml');
    assert.match(text, /drop_count: 0\n {10}udsp info:\n {14}net priority: -1\n {14}nid priority: -1\n {10}sent_stats:/);
  });
  it('the netlink and cYAML forms carry the same data', async () => {
    const a = await exampleNode(bed['2.15']);
    const b = await exampleNode(bed['2.16']);
    for (const v of [0, 1, 2, 4]) {
      assert.deepEqual(parse(for215(emit(netsDoc(await b.l.nets.show({ verbose: v }), v), 'cyaml'))), parse(emit(netsDoc(await a.l.nets.show({ verbose: v }), v), 'cyaml')));
      assert.deepEqual(parse(emit(netsDoc(await b.l.nets.show({ verbose: v }), v), 'netlink')), parse(emit(netsDoc(await b.l.nets.show({ verbose: v }), v), 'cyaml')));
    }
  });
});

describe(`route, routing, peer, ping, stats, global (reference 4.2) (${kind})`, () => {
  const bed = beds(kind);
  it('route show and route show -v', async () => {
    const { l } = await exampleNode(bed['2.15']);
    await l.routes.add({ net: 'tcp1', gateway: '192.168.1.1@tcp' });
    const [plain, verbose] = ref.routeShow.split('---- with -v:\n');
    assert.equal(emit(routesDoc(await l.routes.show(), 0), 'cyaml'), plain);
    assert.equal(emit(routesDoc(await l.routes.show({ verbose: 1 }), 1), 'cyaml'), verbose);
  });
  it('routing show', async () => {
    const { l } = await exampleNode(bed['2.15'], 1);
    await poolsThenOff(l);
    assert.equal(emit(routingDoc(await l.routing()), 'cyaml'), ref.routingShow);
  });
  it('peer show, peer show -v, peer list', async () => {
    const { l } = await exampleNode(bed['2.15']);
    await l.routes.add({ net: 'tcp1', gateway: '192.168.1.1@tcp' }); // the examples' node routes through the peer: its state is up
    await l.peers.add({ primaryNid: '192.168.1.1@tcp', nids: ['10.0.0.1@o2ib'] });
    const [plain, vpart] = ref.peerShow.split('---- -v per peer ni:\n');
    // A router peer reports aliveness on every NI (lnet_isrouter() is per peer since 2.13), where the example shows NA.
    assert.equal(emit(peersDoc(await l.peers.show(), 0), 'cyaml'), plain!.replace('state: NA', 'state: up'));
    // The example's peer had traffic (min_tx_credits 7, refcount 4); the emulated one is idle.
    const perNi = vpart!.split('---- -v 2')[0]!.replace('min_tx_credits: 7', 'min_tx_credits: 8').replace('refcount: 4', 'refcount: 2');
    const v1 = emit(peersDoc(await l.peers.show({ verbose: 1 }), 1), 'cyaml');
    assert.ok(v1.includes('          state: up\n' + perNi), `-v lines follow state:\n${v1}`);
    const health = '          health stats:' + vpart!.split('          health stats:')[1]!;
    assert.ok(emit(peersDoc(await l.peers.show({ verbose: 2 }), 2), 'cyaml').includes(health));
    assert.equal(emit(peerListDoc(await l.peers.list()), 'cyaml'), ref.peerList);
  });
  it('ping: cYAML on 2.15, 0@lo filtered out', async () => {
    const { l } = await bed['2.15'].node({ interfaces: [{ name: 'eth0', ip: '192.168.1.10' }], remotes: [{ nids: ['192.168.1.1@tcp'] }] });
    await l.load({ networks: 'tcp(eth0)' });
    await l.configure({ all: true });
    assert.equal(emit(pingDoc([await l.ping('192.168.1.1@tcp')]), 'cyaml'), ref.ping);
  });
  it('stats show: all keys in master order; 2.15 and 2.16 lack the master-only resend keys', async () => {
    // The emulator has no master personality: master's key order from the formatter alone.
    const vals: Record<string, number> = { msgs_max: 2, send_count: 89, recv_count: 88, send_length: 4096, recv_length: 8192 };
    assert.equal(emit(statsDoc(Object.fromEntries(STATS_KEYS.map((k) => [k, vals[k] ?? 0]))), 'cyaml'), ref.statsShow, 'master');
    for (const release of ['2.16', '2.15'] as const) {
      const { l, setCounters } = await exampleNode(bed[release]);
      await setCounters({ msgsMax: 2, send: 89, recv: 88, sendLength: 4096, recvLength: 8192 });
      const want = ref.statsShow.replace(/ {4}(failed|successful)_resends: 0\n/g, '');
      assert.equal(emit(statsDoc(await l.stats.show()), 'cyaml'), want, release);
    }
  });
  it('global show', async () => {
    const { l } = await exampleNode(bed['2.16']);
    await l.globals.set({ max_interfaces: 200 });
    assert.equal(emit(globalDoc(await l.globals.get()), 'cyaml'), ref.globalShow);
  });
});

describe(`export (reference 4.2) (${kind})`, () => {
  const bed = beds(kind);
  async function backupNode(release: '2.15' | '2.16'): Promise<LNet> {
    const { l } = await exampleNode(bed[release]);
    await l.routes.add({ net: 'tcp1', gateway: '192.168.1.1@tcp' });
    await l.peers.add({ primaryNid: '192.168.1.1@tcp', nids: ['10.0.0.1@o2ib'] });
    await l.globals.set({ max_interfaces: 200 });
    // The example's buffer totals: pools of 512/4096/256 allocated, routing off.
    await l.setRouting(true);
    await l.buffers.set({ tiny: 512, small: 4096, large: 256 });
    await l.setRouting(false);
    return l;
  }
  it('export --backup on the ioctl path equals the example', async () => {
    const l = await backupNode('2.15');
    const globalBody = ref.globalShow.split('\n').slice(3).join('\n'); // after global:, numa_range, max_interfaces
    const want = for215(ref.exportBackup.replace('    ... (same keys as global show)\n', globalBody));
    assert.equal(await l.export({ backup: true }), want);
  });
  it('2.16: net, route and peer in netlink style, the rest in cYAML, same data', async () => {
    const a = await backupNode('2.15');
    const b = await backupNode('2.16');
    const tb = await b.export({ backup: true });
    assert.match(tb, /^net:\n-     net type: tcp\n/);
    assert.match(tb, /\nrouting:\n    enable: 0\nbuffers:\n    tiny: 512\n/);
    assert.match(tb, /\npeer:\n-     primary nid: 192.168.1.1@tcp\n/);
    // Same data, but for the socklnd timeout and tos that 2.15's ioctl struct does not carry.
    const doc = parse(tb) as { net: { 'local NI(s)': { 'lnd tunables'?: Record<string, unknown> }[] }[] };
    for (const n of doc.net) for (const ni of n['local NI(s)']) for (const k of ['timeout', 'tos']) delete ni['lnd tunables']?.[k];
    assert.deepEqual(doc, parse(await a.export({ backup: true })));
  });
  it('full export: sections in order net (-v 2), route (-v), routing, buffers, peer (-v 2), global', async () => {
    const l = await backupNode('2.15');
    const text = await l.export();
    const tops = text.split('\n').filter((x) => /^\S/.test(x));
    assert.deepEqual(tops, ['net:', 'route:', 'routing:', 'buffers:', 'peer:', 'global:']);
    assert.match(text, /health stats:/);
    assert.match(text, /state: up\n {6}type: single-hop/);
  });
});
}
