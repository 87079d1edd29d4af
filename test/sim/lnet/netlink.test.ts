/**
 * Generic netlink through the emulator's preload: family lookup with real
 * libnl (genl_ctrl_resolve), LNET_CMD_* requests in the reference's encoding
 * (section 2.3, including a captured request verbatim), dumps decoded by their
 * key tables, acks and NLMSG_ERROR with extack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { attr, attrs, clientPath, cstr, decodeDump, list, nl, nlError, nlRequest, resolveFamily, s64, splitMsgs, str, type NlMsg } from './helpers.js';

const F = { REQUEST: 1, ACK: 4, DUMP: 0x300, REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, CAPPED: 0x100, ACK_TLVS: 0x200, MULTI: 2 };
const CMD = { CONFIGURE: 1, NETS: 2, PEERS: 3, ROUTES: 4, CONNS: 5, PING: 6 };

async function familyOf(emu: LnetEmulator, host: string): Promise<{ id: number; groups: string[]; ops: Map<number, number>; msg: NlMsg } | undefined> {
  // CTRL_CMD_GETFAMILY (3), version 1, CTRL_ATTR_FAMILY_NAME (2) = "lnet", REQUEST|ACK
  const r = await nl(emu, host, nlRequest(0x10, F.REQUEST | F.ACK, 3, 1, [str(2, 'lnet')]));
  const msgs = r.dgrams.flatMap(splitMsgs);
  const reply = msgs.find((m) => m.type === 0x10);
  if (!reply) return undefined;
  const a = attrs(reply.body.subarray(4));
  const id = a.find((x) => x.type === 1)!.data.readUInt16LE(0);
  const groups = attrs(a.find((x) => x.type === 7)!.data).map((g) => cstr(attrs(g.data).find((x) => x.type === 1)!.data));
  const ops = new Map(attrs(a.find((x) => x.type === 6)!.data).map((o) => {
    const f = attrs(o.data);
    return [f.find((x) => x.type === 1)!.data.readUInt32LE(0), f.find((x) => x.type === 2)!.data.readUInt32LE(0)] as [number, number];
  }));
  return { id, groups, ops, msg: reply };
}

/** The acknowledgement or error that ends a doit exchange. */
function ackOf(dgrams: Buffer[]): { errno: number; extack?: string; flags: number } {
  const m = dgrams.flatMap(splitMsgs).find((x) => x.type === 2);
  assert.ok(m, 'an NLMSG_ERROR/ack message');
  return { ...nlError(m!), flags: m!.flags };
}

describe('LNet emulator: generic netlink, 2.16 personality', () => {
  let emu: LnetEmulator;
  let fam = 0;
  const H = 'n1';
  before(async () => {
    clientPath();
    emu = await LnetEmulator.start({ release: '2.16', hosts: ['n1=eth0:10.0.0.1,eth1:10.1.0.1', 'gw=eth0:10.0.0.9'] });
  });
  after(async () => {
    await emu?.stop();
  });

  test('no "lnet" family until lnet.ko is loaded; then libnl resolves it and its groups', async () => {
    const before = await resolveFamily(emu, H);
    assert.ok(before.family < 0, `genl_ctrl_resolve fails without lnet.ko (${before.family})`);
    const raw = await nl(emu, H, nlRequest(0x10, F.REQUEST | F.ACK, 3, 1, [str(2, 'lnet')]));
    assert.equal(ackOf(raw.dgrams).errno, 2, 'CTRL_CMD_GETFAMILY: ENOENT');
    await emu.modprobe(H, 'lnet');
    const r = await resolveFamily(emu, H, 'net');
    assert.ok(r.family > 0x10, `family id ${r.family}`);
    assert.ok((r.group ?? -1) > 0, 'group "net" resolves');
    const f = await familyOf(emu, H);
    assert.ok(f);
    fam = f!.id;
    assert.equal(fam, r.family);
    // groups as the reference lists them (2.16 branch: up to "fault")
    assert.deepEqual(f!.groups, ['ip2net', 'net', 'peer', 'route', 'ping', 'discover', 'cpt-of-nid', 'dbg-recov', 'fault']);
    // LNET_CMD_NETS has doit and dump, and needs CAP_NET_ADMIN; no CONNS op
    assert.equal(f!.ops.get(CMD.NETS)! & 0x7, 0x7);
    assert.equal(f!.ops.has(CMD.CONNS), false);
    // the controller's reply carries the request's sequence number and our port
    assert.equal(f!.msg.seq, 1);
  });

  test('NETS dump while LNet is down: NLMSG_ERROR ENETDOWN with extack "LNet stack down"', async () => {
    const r = await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.NETS, 0));
    const e = ackOf(r.dgrams);
    assert.equal(e.errno, 100);
    assert.equal(e.extack, 'LNet stack down');
    assert.equal(e.flags & F.ACK_TLVS, F.ACK_TLVS);
  });

  test('admin commands need CAP_NET_ADMIN (EPERM)', async () => {
    const msg = nlRequest(fam, F.REQUEST | F.ACK | F.CREATE | F.EXCL, CMD.CONFIGURE, 5);
    const r = await emu.exec(H, 'setpriv', ['--bounding-set', '-net_admin', clientPath(), 'nl', msg.toString('hex')]);
    const dg = [...r.stdout.matchAll(/^dgram=([0-9a-f]+)$/gm)].map((m) => Buffer.from(m[1]!, 'hex'));
    assert.equal(ackOf(dg).errno, 1);
  });

  test('CONFIGURE with CREATE|EXCL is acked (capped ack, errno 0); unknown command gives EOPNOTSUPP', async () => {
    const r = await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.CREATE | F.EXCL, CMD.CONFIGURE, 5));
    const a = ackOf(r.dgrams);
    assert.equal(a.errno, 0);
    assert.equal(a.flags & F.CAPPED, F.CAPPED);
    const ack = r.dgrams.flatMap(splitMsgs).find((m) => m.type === 2)!;
    assert.equal(ack.pid, r.port, 'ack addressed to our port');
    const u = await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK, CMD.CONNS, 5));
    assert.equal(ackOf(u.dgrams).errno, 95);
  });

  test('NETS show (version 0) decodes by its key table: lo only after CREATE|EXCL', async () => {
    const r = await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.NETS, 0));
    const d = decodeDump(r.dgrams);
    assert.equal(d.done?.errno, 0, 'ends with NLMSG_DONE');
    assert.equal(d.tables, 1);
    assert.deepEqual(d.objects, [{ net: '', 'net type': 'lo', 'local NI(s)': [{ nid: '0@lo', status: 'up' }] }]);
  });

  test('NETS add in lnetctl encoding, then show -v: tunables, lnd tunables, CPT, key table replaced for the LND', async () => {
    // lnetctl net add --net tcp1 --if eth1 --peer-credits 16 --cpt [0,1] (reference 2.3)
    const add = nlRequest(fam, F.REQUEST | F.ACK | F.CREATE, CMD.NETS, 5, [
      list(
        list(
          str(5, 'net type'),
          str(5, 'tcp1'),
          str(5, 'local NI(s)'),
          list(
            list(
              str(5, 'interfaces'),
              list(s64(6, 0), str(5, 'eth1')),
              str(5, 'tunables'),
              list(str(5, 'peer_credits'), s64(6, 16)),
              str(5, 'lnd tunables'),
              list(str(5, 'tos'), s64(6, -1)),
              str(5, 'CPT'),
              list(s64(6, 0), s64(6, 1)),
            ),
          ),
          str(5, '...\n'),
        ),
      ),
    ]);
    const a = await nl(emu, H, add);
    assert.equal(ackOf(a.dgrams).errno, 0, a.out);
    const again = await nl(emu, H, add);
    assert.equal(ackOf(again.dgrams).errno, 17, 'EEXIST');
    const r = await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.NETS, 1));
    const d = decodeDump(r.dgrams);
    assert.equal(d.tables, 2, 'initial key table, then a replacement for the socklnd keys');
    assert.equal(d.replaced, 1);
    const tcp1 = d.objects[1]!;
    // the replacement table names the header key "" (net_update_props_list); its value starts a new item
    assert.equal(tcp1[''], '', 'a new list item starts after each key table');
    assert.equal(d.objects[0]!['net'], '');
    assert.equal(tcp1['net type'], 'tcp1');
    const ni = (tcp1['local NI(s)'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(ni['nid'], '10.1.0.1@tcp1');
    assert.deepEqual(ni['interfaces'], [{ '0': 'eth1' }]);
    assert.deepEqual(ni['statistics'], [{ send_count: 0, recv_count: 0, drop_count: 0 }]);
    assert.deepEqual(ni['tunables'], [{ peer_timeout: 180, peer_credits: 16, peer_buffer_credits: 0, credits: 256 }]);
    assert.deepEqual(Object.keys((ni['lnd tunables'] as object[])[0]!), ['conns_per_peer', 'timeout', 'tos']);
    assert.equal(ni['dev cpt'], 0);
    assert.equal(ni['CPT'], '"[0,1]"', 'CPT is a string including the double quotes');
    // -v 2 adds sent/received/dropped and health stats
    const v2 = decodeDump((await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.NETS, 2))).dgrams);
    const ni2 = (v2.objects[1]!['local NI(s)'] as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(Object.keys(ni2), ['nid', 'status', 'interfaces', 'statistics', 'sent_stats', 'received_stats', 'dropped_stats', 'health stats', 'tunables', 'lnd tunables', 'dev cpt', 'CPT']);
    assert.equal((ni2['health stats'] as Array<Record<string, unknown>>)[0]!['health value'], 1000);
  });

  test('NETS show filtered by net type; unknown net type gives an error', async () => {
    const show = (net: string) =>
      nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.NETS, 0, [list(list(str(5, 'net type'), str(5, net)))]));
    const d = decodeDump((await show('tcp1')).dgrams);
    assert.deepEqual(
      d.objects.map((o) => o['net type']),
      ['tcp1'],
    );
    const bad = await show('nonet');
    assert.equal(ackOf(bad.dgrams).errno, 2);
  });

  test('the captured `lnetctl net del --net tcp1` request (56 bytes) deletes the net', async () => {
    // reference 2.3, verbatim apart from the family id, seq and pid
    const hex =
      '38000000' + fam.toString(16).padStart(2, '0') + '00' + '0500' + '01000000' + '00000000' + '02050000' + '24000180' + '20000180' + '0d000500' + Buffer.from('net type\0').toString('hex') + '000000' + '09000500' + Buffer.from('tcp1\0').toString('hex') + '000000';
    const req = Buffer.from(hex, 'hex');
    assert.equal(req.length, 56);
    const r = await nl(emu, H, req);
    assert.equal(ackOf(r.dgrams).errno, 0);
    const d = decodeDump((await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.NETS, 0))).dgrams);
    assert.deepEqual(
      d.objects.map((o) => o['net type']),
      ['lo'],
    );
  });

  test('routes: EHOSTUNREACH with its extack, add and show, "No routes found"', async () => {
    // no routes: NLMSG_DONE with errno 0 (ENOENT only when the request filtered) and the extack text
    const none = decodeDump((await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.ROUTES, 0))).dgrams);
    assert.equal(none.done?.errno, 0);
    assert.equal(none.done?.extack, 'No routes found');
    assert.equal(none.objects.length, 0);
    const filtered = decodeDump((await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.ROUTES, 0, [list(list(str(5, 'net'), str(5, 'tcp2')))]))).dgrams);
    assert.equal(filtered.done?.errno, 2);
    const route = (gw: string) => list(list(str(5, 'net'), str(5, 'tcp2'), str(5, 'gateway'), str(5, gw), str(5, 'hop'), s64(6, 2), str(5, 'priority'), s64(6, 1)));
    const r1 = await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.CREATE, CMD.ROUTES, 5, [route('10.0.0.9@tcp')]));
    const e1 = ackOf(r1.dgrams);
    assert.equal(e1.errno, 113);
    assert.equal(e1.extack, 'No interface configured on the same net as gateway');
    const addTcp = nlRequest(fam, F.REQUEST | F.ACK | F.CREATE, CMD.NETS, 5, [list(list(str(5, 'net type'), str(5, 'tcp'), str(5, 'local NI(s)'), list(list(str(5, 'interfaces'), list(s64(6, 0), str(5, 'eth0'))))))]);
    assert.equal(ackOf((await nl(emu, H, addTcp)).dgrams).errno, 0);
    assert.equal(ackOf((await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.CREATE, CMD.ROUTES, 5, [route('10.0.0.9@tcp')]))).dgrams).errno, 0);
    const shown = decodeDump((await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.ROUTES, 1))).dgrams);
    assert.deepEqual(shown.objects, [{ route: '', net: 'tcp2', gateway: '10.0.0.9@tcp', hop: 2, priority: 1, state: 'down', type: 'multi-hop' }]);
    const brief = decodeDump((await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.ROUTES, 0))).dgrams);
    assert.deepEqual(Object.keys(brief.objects[0]!), ['route', 'net', 'gateway'], 'hop, priority, state and type only with version >= 1');
    const bad = await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.CREATE, CMD.ROUTES, 5, [list(list(str(5, 'net'), str(5, 'tcp2'), str(5, 'gateway'), str(5, '10.0.0.9@tcp'), str(5, 'hop'), s64(6, 300)))]));
    assert.deepEqual(ackOf(bad.dgrams).extack, 'invalid hop count must be between 1 and 255');
  });

  test('the route key table is byte for byte what reference 2.3 describes', async () => {
    const r = await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.ROUTES, 1));
    const first = r.dgrams.flatMap(splitMsgs)[0]!;
    assert.equal(first.type, fam);
    assert.equal(first.flags, 0x400 | 0x2, 'NLM_F_CREATE | NLM_F_MULTI');
    assert.equal(first.seq, 1);
    assert.equal(first.pid, r.port);
    // expected bytes, written out from the reference: kernel nests carry NLA_F_NESTED (0x8000)
    const u16 = (t: number, v: number) => {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(v);
      return attr(t, b);
    };
    const nested = (t: number, ...c: Buffer[]) => attr(0x8000 | t, Buffer.concat(c));
    const keys: Array<[string, number, number]> = [
      ['route', 10, 6], // NLA_NUL_STRING, LNKF_SEQUENCE | LNKF_MAPPING
      ['net', 5, 0],
      ['gateway', 5, 0],
      ['hop', 14, 0], // NLA_S32
      ['priority', 3, 0], // NLA_U32
      ['health_sensitivity', 3, 0],
      ['state', 5, 0],
      ['type', 5, 0],
    ];
    const table = nested(
      1, // LN_SCALAR_ATTR_LIST
      ...keys.map(([name, type, format], i) =>
        nested(i + 1, ...(i === 0 ? [u16(2, keys.length)] : []), u16(3, i + 1), str(5, name), ...(format ? [u16(7, format)] : []), u16(4, type)),
      ),
    );
    assert.deepEqual(first.body, Buffer.concat([Buffer.from([CMD.ROUTES, 5, 0, 0]), table]));
  });

  test('peers: add with peer ni list, show decodes Multi-Rail flag and peer ni list, delete', async () => {
    const add = nlRequest(fam, F.REQUEST | F.ACK | F.CREATE, CMD.PEERS, 5, [list(list(str(5, 'primary nid'), str(5, '1.2.3.4@tcp'), str(5, 'peer ni'), list(list(str(5, 'nid'), str(5, '1.2.3.5@tcp')))))]);
    assert.equal(ackOf((await nl(emu, H, add)).dgrams).errno, 0);
    const d = decodeDump((await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK | F.DUMP, CMD.PEERS, 0))).dgrams);
    const p = d.objects.find((o) => o['primary nid'] === '1.2.3.4@tcp');
    assert.ok(p, JSON.stringify(d.objects));
    assert.equal(p!['Multi-Rail'], true);
    assert.deepEqual(
      (p!['peer ni'] as Array<Record<string, unknown>>).map((x) => x['nid']),
      ['1.2.3.4@tcp', '1.2.3.5@tcp'],
    );
    const del = nlRequest(fam, F.REQUEST | F.ACK, CMD.PEERS, 5, [list(list(str(5, 'primary nid'), str(5, '1.2.3.4@tcp')))]);
    assert.equal(ackOf((await nl(emu, H, del)).dgrams).errno, 0);
    assert.equal(ackOf((await nl(emu, H, del)).dgrams).errno, 2, 'ENOENT the second time');
  });

  test('unconfigure while Lustre holds LNet: EBUSY without extack', async () => {
    await emu.holdByLustre(H, { role: 'ost' });
    const r = await nl(emu, H, nlRequest(fam, F.REQUEST | F.ACK, CMD.CONFIGURE, 5));
    const e = ackOf(r.dgrams);
    assert.equal(e.errno, 16);
    assert.equal(e.extack, undefined);
    // unlike the ioctls (EINVAL), netlink NETS add/del works on LNet that only Lustre holds
    const add = nlRequest(fam, F.REQUEST | F.ACK | F.CREATE, CMD.NETS, 5, [list(list(str(5, 'net type'), str(5, 'tcp4'), str(5, 'local NI(s)'), list(list(str(5, 'interfaces'), list(s64(6, 0), str(5, 'eth1'))))))]);
    assert.equal(ackOf((await nl(emu, H, add)).dgrams).errno, 0);
    const delMissing = nlRequest(fam, F.REQUEST | F.ACK, CMD.NETS, 5, [list(list(str(5, 'net type'), str(5, 'tcp9')))]);
    const dm = ackOf((await nl(emu, H, delMissing)).dgrams);
    assert.equal(dm.errno, 22);
    assert.equal(dm.extack, 'cannot del network');
    await emu.releaseLustre(H);
  });

  test('malformed and truncated requests get errors, never crash the daemon', async () => {
    const base = nlRequest(fam, F.REQUEST | F.ACK | F.CREATE, CMD.NETS, 5, [list(list(str(5, 'net type'), str(5, 'tcp3')))]);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
    for (let i = 0; i < 12; i++) {
      const m = Buffer.from(base);
      // corrupt attribute bytes (keep the netlink header valid so the message is delivered)
      for (let k = 0; k < 4; k++) m[20 + (rnd() % (m.length - 20))] = rnd();
      const r = await nl(emu, H, m);
      const msgs = r.dgrams.flatMap(splitMsgs);
      assert.ok(msgs.every((x) => x.type === 2 || x.type === 3 || x.type === fam), r.out);
    }
    const trunc = Buffer.from(base);
    trunc.writeUInt16LE(200, 20); // attribute longer than the message
    assert.equal(ackOf((await nl(emu, H, trunc)).dgrams).errno, 22);
    assert.ok(emu.isAlive());
    assert.equal((await resolveFamily(emu, H)).family, fam, 'daemon still answers');
  });
});

describe('LNet emulator: generic netlink, 2.15 personality', () => {
  let emu: LnetEmulator;
  before(async () => {
    emu = await LnetEmulator.start({ release: '2.15', hosts: ['old=eth0:10.3.0.1'] });
  });
  after(async () => {
    await emu?.stop();
  });
  test('2.15 has no "lnet" family even with lnet.ko loaded', async () => {
    await emu.modprobe('old', 'lnet');
    assert.ok((await resolveFamily(emu, 'old')).family < 0);
    assert.equal(await familyOf(emu, 'old'), undefined);
  });
});
