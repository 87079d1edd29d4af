/**
 * Dump replies decoded by their key tables (reference lnet.md 2.3 "Replies"
 * and 2.4 attribute tables): the first message carries the key table
 * (NLM_F_CREATE|NLM_F_MULTI), a later NLM_F_CREATE|NLM_F_REPLACE message
 * replaces it mid-dump (a different LND's "lnd tunables"), values are keyed
 * by index, collections are nests numbered 0..n, the header key starts an
 * item; errors carry the kernel's extack text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LnetError } from '../../../lib/lnet/kernel/errors.js';
import { checkReplies, DumpParser, parseDump, parseFamily, parseMessage } from '../../../lib/lnet/kernel/netlink.js';
import { F, attr, done, genlMsg, keyTable, nest, nlError, s16, s32, str, u16, u32, u64, type Key } from './wire.js';

const FAM = 0x1a;
const NLA = { U16: 2, U32: 3, U64: 4, STRING: 5, FLAG: 6, NESTED: 8, NUL_STRING: 10, S16: 13, S32: 14 };
const SEQ_MAP = 4 | 2;
const MAP = 2;

// lnet_net_attrs + lnet_net_local_ni_attrs (2.4), with the socklnd "lnd tunables" table.
const sockTun: Key[] = [['conns_per_peer', NLA.U16], ['timeout', NLA.U32], ['tos', NLA.S16]];
const o2ibTun: Key[] = [['peercredits_hiw', NLA.U32], ['map_on_demand', NLA.U32], ['concurrent_sends', NLA.U32], ['fmr_pool_size', NLA.U32], ['fmr_flush_trigger', NLA.U32], ['fmr_cache', NLA.U32], ['ntx', NLA.U16], ['conns_per_peer', NLA.U16], ['timeout', NLA.U32], ['tos', NLA.S16]];
const netKeys = (lnd: Key[]): Key[] => [
  ['net', NLA.NUL_STRING, SEQ_MAP],
  ['net type', NLA.STRING],
  ['local NI(s)', NLA.NESTED, SEQ_MAP, [
    ['nid', NLA.STRING],
    ['status', NLA.STRING],
    ['interfaces', NLA.NESTED, MAP, [['0', NLA.STRING]]],
    ['statistics', NLA.NESTED, MAP, [['send_count', NLA.U32], ['recv_count', NLA.U32], ['drop_count', NLA.U32]]],
    ['udsp info', NLA.NESTED, MAP, []],
    ['sent_stats', NLA.NESTED, MAP, []],
    ['received_stats', NLA.NESTED, MAP, []],
    ['dropped_stats', NLA.NESTED, MAP, []],
    ['health stats', NLA.NESTED, MAP, [['fatal_error', NLA.S32], ['health value', NLA.S32]]],
    ['tunables', NLA.NESTED, MAP, [['peer_timeout', NLA.S32], ['peer_credits', NLA.S32], ['peer_buffer_credits', NLA.S32], ['credits', NLA.S32]]],
    ['lnd tunables', NLA.NESTED, MAP, lnd],
    ['dev cpt', NLA.S32],
    ['CPT', NLA.STRING],
  ]],
];

const m = (flags: number, attrs: Buffer[]): Buffer => genlMsg(FAM, flags, 2, 1, Buffer.concat(attrs));

function netDump(): Buffer[] {
  return [
    m(F.CREATE | F.MULTI, [keyTable(netKeys(sockTun))]),
    m(F.MULTI, [str(1, ''), str(2, 'lo'), nest(3, nest(0, str(1, '0@lo'), str(2, 'up')))]),
    m(F.MULTI, [
      str(1, ''),
      str(2, 'tcp'),
      nest(3, nest(0,
        str(1, '192.168.1.2@tcp'),
        str(2, 'up'),
        nest(3, nest(0, str(1, 'eth0'))),
        nest(4, nest(0, u32(1, 10), u32(2, 11), u32(3, 0))),
        nest(10, nest(0, s32(1, 180), s32(2, 8), s32(3, 0), s32(4, 256))),
        nest(11, nest(0, u16(1, 1), u32(2, 50), s16(3, -1))),
        s32(12, -1),
        str(13, '"[0,1]"'),
      )),
    ]),
    // The LND changes: the kernel replaces the key table before the o2ib net.
    m(F.CREATE | F.REPLACE | F.MULTI, [keyTable(netKeys(o2ibTun))]),
    m(F.MULTI, [
      str(1, ''),
      str(2, 'o2ib'),
      nest(3, nest(0, str(1, '10.0.0.1@o2ib'), str(2, 'down'), nest(11, nest(0, u32(1, 4), u32(2, 1), u32(3, 8), u32(4, 512), u32(5, 384), u32(6, 1), u16(7, 512), u16(8, 1), u32(9, 50), s16(10, -1))))),
    ]),
    done(0),
  ];
}

test('net dump with a key-table replacement mid-dump parses into nested objects', () => {
  const msgs = checkReplies(netDump(), 'LNET_CMD_NETS');
  assert.equal(msgs.length, 5, 'the DONE is removed');
  const r = parseDump(msgs, 'LNET_CMD_NETS');
  assert.deepEqual(r, {
    net: [
      { 'net type': 'lo', 'local NI(s)': [{ nid: '0@lo', status: 'up' }] },
      {
        'net type': 'tcp',
        'local NI(s)': [
          {
            nid: '192.168.1.2@tcp',
            status: 'up',
            interfaces: { '0': 'eth0' },
            statistics: { send_count: 10, recv_count: 11, drop_count: 0 },
            tunables: { peer_timeout: 180, peer_credits: 8, peer_buffer_credits: 0, credits: 256 },
            'lnd tunables': { conns_per_peer: 1, timeout: 50, tos: -1 },
            'dev cpt': -1,
            CPT: '"[0,1]"',
          },
        ],
      },
      {
        'net type': 'o2ib',
        'local NI(s)': [
          {
            nid: '10.0.0.1@o2ib',
            status: 'down',
            'lnd tunables': { peercredits_hiw: 4, map_on_demand: 1, concurrent_sends: 8, fmr_pool_size: 512, fmr_flush_trigger: 384, fmr_cache: 1, ntx: 512, conns_per_peer: 1, timeout: 50, tos: -1 },
          },
        ],
      },
    ],
  });
});

test('without the replacement the o2ib values would be read with the socklnd keys (the replacement is what decides)', () => {
  const all = netDump();
  const noReplace = [...all.slice(0, 3), ...all.slice(4)];
  const r = parseDump(checkReplies(noReplace, 'x'), 'x');
  const o2 = r['net']![2]!['local NI(s)'] as Record<string, unknown>[];
  assert.ok(!('peercredits_hiw' in (o2[0]!['lnd tunables'] as object)));
});

test('a replacement table whose header key has no name continues the same section (as the emulated 2.16 kernel sends it)', () => {
  const all = netDump();
  const unnamed = netKeys(o2ibTun);
  unnamed[0] = ['', NLA.NUL_STRING, SEQ_MAP];
  all[3] = m(F.CREATE | F.REPLACE | F.MULTI, [keyTable(unnamed)]);
  const r = parseDump(checkReplies(all, 'x'), 'x');
  assert.deepEqual(Object.keys(r), ['net']);
  assert.deepEqual(r['net']!.map((n) => n['net type']), ['lo', 'tcp', 'o2ib']);
});

test('each values message is one item, with or without the header key (as lnet_net_show_dump sends nets of one LND); FLAG, U64 and unknown attributes', () => {
  const keys: Key[] = [
    ['peer', NLA.NUL_STRING, SEQ_MAP],
    ['primary nid', NLA.STRING],
    ['Multi-Rail', NLA.FLAG],
    ['peer state', NLA.U32],
    ['peer ni', NLA.NESTED, SEQ_MAP, [['nid', NLA.STRING], ['next_ping', NLA.U64]]],
  ];
  const p = new DumpParser('LNET_CMD_PEERS');
  const msgs = [
    genlMsg(FAM, F.CREATE | F.MULTI, 3, 0, keyTable(keys)),
    genlMsg(FAM, F.MULTI, 3, 0, Buffer.concat([str(1, ''), str(2, '1.2.3.4@tcp'), attr(3, Buffer.alloc(0)), u32(4, 0x139), nest(5, nest(0, str(1, '1.2.3.4@tcp'), u64(2, 2n ** 60n)), nest(1, str(1, '1.2.3.5@tcp'), u64(2, 5n)))])),
    genlMsg(FAM, F.MULTI, 3, 0, Buffer.concat([str(2, '1.2.3.9@tcp'), nest(5, nest(0, str(1, '1.2.3.9@tcp'))), u32(9, 1)])),
  ];
  for (const x of msgs) p.feed(parseMessage(x));
  assert.deepEqual(p.result, {
    peer: [
      {
        'primary nid': '1.2.3.4@tcp',
        'Multi-Rail': true,
        'peer state': 0x139,
        'peer ni': [
          { nid: '1.2.3.4@tcp', next_ping: 2n ** 60n },
          { nid: '1.2.3.5@tcp', next_ping: 5 },
        ],
      },
      { 'primary nid': '1.2.3.9@tcp', 'peer ni': [{ nid: '1.2.3.9@tcp' }], '#9': Buffer.from([1, 0, 0, 0]) },
    ],
  });
  assert.equal(p.tables.length, 1);
});

test('collections numbered from 1 (as the emulated peer dump sends "peer ni") and nested values given directly', () => {
  const keys: Key[] = [
    ['peer', NLA.NUL_STRING, SEQ_MAP],
    ['primary nid', NLA.STRING],
    ['peer ni', NLA.NESTED, SEQ_MAP, [['nid', NLA.STRING], ['statistics', NLA.NESTED, MAP, [['send_count', NLA.U32]]]]],
  ];
  const r = parseDump(
    checkReplies([
      genlMsg(FAM, F.CREATE | F.MULTI, 3, 1, keyTable(keys)),
      genlMsg(FAM, F.MULTI, 3, 1, Buffer.concat([str(1, ''), str(2, '10.0.0.50@tcp'), nest(3, nest(1, str(1, '10.0.0.50@tcp'), nest(2, nest(0, u32(1, 7)))), nest(2, str(1, '10.0.0.60@tcp'), nest(2, u32(1, 9))))])),
      done(0),
    ], 'x'),
    'x',
  );
  assert.deepEqual(r, {
    peer: [{ 'primary nid': '10.0.0.50@tcp', 'peer ni': [{ nid: '10.0.0.50@tcp', statistics: { send_count: 7 } }, { nid: '10.0.0.60@tcp', statistics: { send_count: 9 } }] }],
  });
});

test('kernel errors: NLMSG_ERROR and NLMSG_DONE with extack become LnetError with errno, code and message', () => {
  const req = genlMsg(FAM, 0x305, 2, 0, Buffer.alloc(0));
  assert.throws(() => checkReplies([nlError(-100, req, 'LNet stack down')], 'LNET_CMD_NETS'), (e: unknown) => {
    assert.ok(e instanceof LnetError);
    assert.equal(e.code, 'ENETDOWN');
    assert.equal(e.errno, 100);
    assert.equal(e.op, 'LNET_CMD_NETS');
    assert.equal(e.kernelMessage, 'LNet stack down');
    assert.equal(e.transport, 'netlink');
    assert.match(e.message, /LNET_CMD_NETS: LNet stack down \(ENETDOWN\)/);
    return true;
  });
  assert.throws(() => checkReplies([done(-16, 'LNET busy')], 'LNET_CMD_CONFIGURE'), { code: 'EBUSY', errno: 16, kernelMessage: 'LNET busy' });
  // Without extack the strerror text is used.
  assert.throws(() => checkReplies([nlError(-17, req)], 'LNET_CMD_ROUTES'), { code: 'EEXIST', message: 'LNET_CMD_ROUTES: File exists (EEXIST)' });
  // An ACK (error 0) is not an error.
  assert.deepEqual(checkReplies([nlError(0, req)], 'x'), []);
});

test('controller reply: family id, version, ops and multicast groups', () => {
  const reply = genlMsg(0x10, 0, 1, 2, Buffer.concat([
    u16(1, 0x1a), str(2, 'lnet'), u32(3, 5), u32(4, 0), u32(5, 0),
    nest(6, nest(1, u32(1, 1), u32(2, 0x1e)), nest(2, u32(1, 2), u32(2, 0x1e))),
    nest(7, nest(1, str(1, 'ip2net'), u32(2, 30)), nest(2, str(1, 'net'), u32(2, 31))),
  ]));
  assert.deepEqual(parseFamily(parseMessage(reply)), {
    id: 0x1a, name: 'lnet', version: 5, hdrsize: 0, maxattr: 0,
    ops: [{ id: 1, flags: 0x1e }, { id: 2, flags: 0x1e }],
    groups: { ip2net: 30, net: 31 },
  });
});
