/**
 * Netlink requests: the attribute trees the kernel layer encodes, framed by
 * the addon through libnl (buildRequest), against the captures recorded in
 * shared/reference/lnet.md 2.3 (the raw bytes of `lnetctl net del --net tcp1`
 * and the attribute trees, command, version and flags of the other
 * commands). A recorder stands in for the socket only to capture what each
 * typed method would send; replies from a real kernel are exercised by the
 * emulator tests.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadLnetNative, type LnetNativeHandle } from '../../../lib/native/loader.js';
import { NetlinkTransport } from '../../../lib/lnet/kernel/genl.js';
import { bodyToItems, encodeItems, encodeScalar, LNET_CMD } from '../../../lib/lnet/kernel/netlink.js';
import { genlMsg, nest, nlError, str, tree, u16, u32, type Tree } from './wire.js';

const native = loadLnetNative();
const FAMILY = 0x1a; // the id faked in the reference capture

test('net del --net tcp1: the 56 request bytes of the reference capture', () => {
  const payload = encodeItems(bodyToItems([{ 'net type': 'tcp1' }]));
  const seq = 0x11223344;
  const port = 0x55667788;
  const bytes = native.buildRequest(FAMILY, LNET_CMD.NETS, 5, 0, payload, seq, port);
  // 38000000 1a00 0500 <seq> <pid> | 02 05 0000 | 2400 0180 | 2000 0180 | 0d00 0500 "net type\0" pad | 0900 0500 "tcp1\0" pad
  const expected = Buffer.concat([
    Buffer.from('380000001a000500', 'hex'),
    Buffer.from('44332211', 'hex'),
    Buffer.from('88776655', 'hex'),
    Buffer.from('02050000', 'hex'),
    Buffer.from('24000180', 'hex'),
    Buffer.from('20000180', 'hex'),
    Buffer.from('0d000500', 'hex'),
    Buffer.from('net type\0', 'latin1'),
    Buffer.alloc(3),
    Buffer.from('09000500', 'hex'),
    Buffer.from('tcp1\0', 'latin1'),
    Buffer.alloc(3),
  ]);
  assert.equal(bytes.length, 56);
  assert.equal(bytes.toString('hex'), expected.toString('hex'));
});

test('header-only requests (configure) are 20 bytes with flags | REQUEST|ACK', () => {
  const b = native.buildRequest(FAMILY, LNET_CMD.CONFIGURE, 5, 0x600, Buffer.alloc(0), 1, 2);
  assert.equal(b.length, 20);
  assert.equal(b.readUInt32LE(0), 20);
  assert.equal(b.readUInt16LE(6), 0x605);
  assert.equal(b[16], 1);
  assert.equal(b[17], 5);
});

test('scalars are encoded as lnetctl does (digits -> INT, yes/no -> 1/0, quotes stripped)', () => {
  assert.equal(encodeScalar('16'), 16n);
  assert.equal(encodeScalar('-1'), -1n);
  assert.equal(encodeScalar('yes'), 1);
  assert.equal(encodeScalar('off'), 0);
  assert.equal(encodeScalar("'tcp1'"), 'tcp1');
  assert.equal(encodeScalar('192.168.1.2@tcp'), '192.168.1.2@tcp');
  assert.deepEqual(tree(encodeItems([5n, 'x'])), [5n, 'x']);
});

/** Captures what a typed method sends; answers the family lookup and ACKs everything. */
class Recorder {
  sent: { cmd: number; version: number; flags: number; payload: Buffer; group: number | undefined }[] = [];
  groups: Record<string, number> = { ip2net: 20, net: 21, peer: 22, route: 23, ping: 24, discover: 25 };
  async nlRequest(family: number, cmd: number, version: number, flags: number, payload: Buffer, opts?: { group?: number }) {
    const req = native.buildRequest(family, cmd, version, flags, payload, 7, 99);
    if (family === 0x10) {
      const ops = Object.values(LNET_CMD).map((id, i) => nest(i + 1, u32(1, id), u32(2, 0)));
      const grps = Object.entries(this.groups).map(([n, id], i) => nest(i + 1, str(1, n), u32(2, id)));
      const reply = genlMsg(0x10, 0, 1, 2, Buffer.concat([u16(1, FAMILY), str(2, 'lnet'), u32(3, 5), u32(4, 0), u32(5, 0), nest(6, ...ops), nest(7, ...grps)]));
      return { request: req, replies: [reply, nlError(0, req)] };
    }
    assert.equal(family, FAMILY);
    this.sent.push({ cmd, version, flags, payload, group: opts?.group });
    return { request: req, replies: [nlError(0, req)] };
  }
}

function recorder(): { nl: NetlinkTransport; rec: Recorder } {
  const rec = new Recorder();
  return { nl: new NetlinkTransport(() => rec as unknown as LnetNativeHandle), rec };
}

async function one(fn: (nl: NetlinkTransport) => Promise<unknown>): Promise<{ cmd: number; version: number; flags: number; tree: Tree[]; group: number | undefined }> {
  const { nl, rec } = recorder();
  await fn(nl);
  assert.equal(rec.sent.length, 1);
  const s = rec.sent[0]!;
  // libnl adds REQUEST|ACK (0x5): the observed flags in the reference include it.
  const framed = native.buildRequest(FAMILY, s.cmd, s.version, s.flags, s.payload, 1, 1);
  return { cmd: framed[16]!, version: framed[17]!, flags: framed.readUInt16LE(6), tree: tree(framed.subarray(20)), group: s.group };
}

test('lnetctl lnet configure / --all / --large / unconfigure: cmd 1, flags 0x605 / 0x405 / +APPEND / 0x5', async () => {
  assert.deepEqual(await one((nl) => nl.configure({ all: false })), { cmd: 1, version: 5, flags: 0x605, tree: [], group: undefined });
  assert.deepEqual(await one((nl) => nl.configure({ all: true })), { cmd: 1, version: 5, flags: 0x405, tree: [], group: undefined });
  assert.equal((await one((nl) => nl.configure({ all: true, large: true }))).flags, 0xc05);
  assert.deepEqual(await one((nl) => nl.unconfigure()), { cmd: 1, version: 5, flags: 0x5, tree: [], group: undefined });
});

test('lnetctl net show [-v] [--net tcp1]: cmd 2, verbosity in the version byte, NLM_F_DUMP', async () => {
  assert.deepEqual(await one((nl) => nl.netsShow()), { cmd: 2, version: 0, flags: 0x305, tree: [], group: 21 });
  assert.equal((await one((nl) => nl.netsShow({ verbosity: 1 }))).version, 1);
  assert.equal((await one((nl) => nl.netsShow({ verbosity: 4 }))).version, 4);
  assert.deepEqual(await one((nl) => nl.netsShow({ net: 'tcp1' })), { cmd: 2, version: 0, flags: 0x305, tree: [[['net type', 'tcp1']]], group: 21 });
});

test('lnetctl net add --net tcp1 --if eth0 --peer-credits 16 --cpt [0,1]: the reference tree (without the leaked "...\\n" marker)', async () => {
  const r = await one((nl) => nl.netAdd({ net: 'tcp1', interfaces: ['eth0'], tunables: { peer_credits: 16 }, lndTunables: { tos: -1 }, cpts: [0, 1] }));
  assert.equal(r.cmd, 2);
  assert.equal(r.version, 5);
  assert.equal(r.flags, 0x405);
  assert.deepEqual(r.tree, [[['net type', 'tcp1', 'local NI(s)', [['interfaces', [0n, 'eth0'], 'tunables', ['peer_credits', 16n], 'lnd tunables', ['tos', -1n], 'CPT', [0n, 1n]]]]]]);
});

test('lnetctl net del --net tcp1: flags 0x5, LIST{LIST{"net type" "tcp1"}}', async () => {
  assert.deepEqual(await one((nl) => nl.netDel({ net: 'tcp1' })), { cmd: 2, version: 5, flags: 0x5, tree: [[['net type', 'tcp1']]], group: 21 });
});

test('lnetctl route add/del/show', async () => {
  assert.deepEqual(await one((nl) => nl.routeAdd({ net: 'tcp2', gateway: '192.168.1.2@tcp', hop: 2, priority: 1 })), {
    cmd: 4, version: 5, flags: 0x405, tree: [[['net', 'tcp2', 'gateway', '192.168.1.2@tcp', 'hop', 2n, 'priority', 1n]]], group: 23,
  });
  assert.deepEqual(await one((nl) => nl.routeDel({ net: 'tcp2', gateway: '192.168.1.2@tcp' })), {
    cmd: 4, version: 5, flags: 0x5, tree: [[['net', 'tcp2', 'gateway', '192.168.1.2@tcp']]], group: 23,
  });
  const show = await one((nl) => nl.routesShow({ verbosity: 1 }));
  assert.equal(show.cmd, 4);
  assert.equal(show.version, 1);
  assert.equal(show.flags & 0x300, 0x300);
  assert.deepEqual(show.tree, []);
});

test('lnetctl peer add/del/show', async () => {
  assert.deepEqual(await one((nl) => nl.peerAdd({ primaryNid: '1.2.3.4@tcp', nids: ['1.2.3.5@tcp'] })), {
    cmd: 3, version: 5, flags: 0x405, tree: [[['primary nid', '1.2.3.4@tcp', 'peer ni', [['nid', '1.2.3.5@tcp']]]]], group: 22,
  });
  assert.equal((await one((nl) => nl.peerAdd({ primaryNid: '1.2.3.4@tcp', lockPrim: true }))).flags, 0x605);
  assert.deepEqual(await one((nl) => nl.peerDel({ primaryNid: '1.2.3.4@tcp' })), { cmd: 3, version: 5, flags: 0x5, tree: [[['primary nid', '1.2.3.4@tcp']]], group: 22 });
  assert.equal((await one((nl) => nl.peerDel({ primaryNid: '1.2.3.4@tcp', force: true }))).flags, 0x205);
  const show = await one((nl) => nl.peersShow());
  assert.deepEqual([show.cmd, show.version, show.flags & 0x300], [3, 0, 0x300]);
});

test('lnetctl ping / discover [--force]: group ping|discover, cmd 6', async () => {
  assert.deepEqual(await one((nl) => nl.ping({ nids: ['192.168.1.1@tcp'] })), { cmd: 6, version: 5, flags: 0x305, tree: ['nids', ['192.168.1.1@tcp']], group: 24 });
  const d = await one((nl) => nl.discover({ nids: ['192.168.1.1@tcp'] }));
  assert.deepEqual([d.cmd, d.flags, d.group], [6, 0x405, 25]);
  assert.equal((await one((nl) => nl.discover({ nids: ['192.168.1.1@tcp'], force: true }))).flags, 0x605);
});
