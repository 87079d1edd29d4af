/**
 * Fuzzing the netlink reply decoders: random bytes, every truncation and
 * random bit flips of valid replies, and a nesting bomb. The decoders may
 * only reject with LnetError (LnetProtocolError for malformed input, or a
 * kernel error when the bytes happen to form an error message); any other
 * exception, a hang or a crash fails the test. Seeded, so failures replay.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LnetError } from '../../../lib/lnet/kernel/errors.js';
import { checkReplies, DumpParser, parseFamily, parseKeyTable, parseMessage } from '../../../lib/lnet/kernel/netlink.js';
import { F, done, genlMsg, keyTable, nest, s16, str, u16, u32, u64, type Key } from './wire.js';
import { fuzzing } from '../../helpers/fuzz.js';


/** Run the whole reply pipeline; only LnetError may escape. */
function decode(replies: Buffer[]): void {
  try {
    const msgs = checkReplies(replies, 'fuzz');
    const p = new DumpParser('fuzz');
    for (const m of msgs) p.feed(m);
  } catch (e) {
    if (!(e instanceof LnetError)) throw new Error(`non-LnetError escaped: ${(e as Error)?.stack ?? String(e)}`);
  }
  for (const b of replies) {
    try {
      parseFamily(parseMessage(b, 'fuzz'), 'fuzz');
    } catch (e) {
      if (!(e instanceof LnetError)) throw new Error(`parseFamily: non-LnetError escaped: ${(e as Error)?.stack ?? String(e)}`);
    }
    try {
      parseKeyTable(b, 'fuzz');
    } catch (e) {
      if (!(e instanceof LnetError)) throw new Error(`parseKeyTable: non-LnetError escaped: ${(e as Error)?.stack ?? String(e)}`);
    }
  }
}

const keys: Key[] = [
  ['route', 10, 6],
  ['net', 5],
  ['gateway', 5],
  ['hop', 14],
  ['priority', 3],
  ['health_sensitivity', 3],
  ['state', 5],
  ['type', 5],
  ['nested', 8, 6, [['a', 4], ['b', 13], ['c', 1], ['d', 15], ['e', 12], ['f', 2]]],
];
function valid(): Buffer[] {
  return [
    genlMsg(0x1a, F.CREATE | F.MULTI, 4, 1, keyTable(keys)),
    genlMsg(0x1a, F.MULTI, 4, 1, Buffer.concat([str(1, ''), str(2, 'tcp2'), str(3, '192.168.1.2@tcp'), u32(4, 0xffffffff), u32(5, 1), str(7, 'up'), str(8, 'single-hop'), nest(9, nest(0, u64(1, 1n), s16(2, -2)), nest(1, u16(6, 3)))])),
    genlMsg(0x1a, F.CREATE | F.REPLACE | F.MULTI, 4, 1, keyTable(keys.slice(0, 5))),
    genlMsg(0x1a, F.MULTI, 4, 1, Buffer.concat([str(1, ''), str(2, 'tcp3')])),
    done(0),
  ];
}

test('valid reply decodes (sanity for the corpus)', () => {
  const p = new DumpParser('x');
  for (const m of checkReplies(valid(), 'x')) p.feed(m);
  assert.equal(p.result['route']!.length, 2);
  assert.equal(p.tables.length, 2);
});

test('random bytes never escape as anything but LnetError', () =>
  fuzzing(1, ({ next: r }) => {
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(r() * 200);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(r() * 256);
      // Sometimes make the header plausible so the decoder goes deeper.
      if (len >= 20 && r() < 0.7) {
        b.writeUInt32LE(len, 0);
        b.writeUInt16LE(r() < 0.5 ? 0x1a : [2, 3, 0x10][Math.floor(r() * 3)]!, 4);
        b.writeUInt16LE([F.MULTI, F.CREATE | F.MULTI, F.CREATE | F.REPLACE | F.MULTI, 0x300][Math.floor(r() * 4)]!, 6);
      }
      decode([b]);
      decode([...valid().slice(0, 1), b]);
    }
  }));

test('every truncation of every valid message', () => {
  const v = valid();
  for (let k = 0; k < v.length; k++) {
    for (let cut = 0; cut < v[k]!.length; cut++) {
      const t = v[k]!.subarray(0, cut);
      decode([...v.slice(0, k), t, ...v.slice(k + 1)]);
      // Truncated but with nlmsg_len fixed up, so attribute parsing sees the cut.
      if (cut >= 20) {
        const fixed = Buffer.from(t);
        fixed.writeUInt32LE(cut, 0);
        decode([...v.slice(0, k), fixed, ...v.slice(k + 1)]);
      }
    }
  }
});

test('random bit flips in valid replies', () =>
  fuzzing(7, ({ next: r }) => {
    for (let i = 0; i < 4000; i++) {
      const v = valid().map((b) => Buffer.from(b));
      const flips = 1 + Math.floor(r() * 4);
      for (let f = 0; f < flips; f++) {
        const k = Math.floor(r() * v.length);
        const pos = Math.floor(r() * v[k]!.length);
        v[k]![pos]! ^= 1 << Math.floor(r() * 8);
      }
      decode(v);
    }
  }));

test('a nesting bomb is refused, not a stack overflow', () => {
  let inner = str(1, 'x');
  for (let i = 0; i < 5000 && inner.length < 60000; i++) inner = nest(i % 2 === 0 ? 0 : 9, inner);
  decode([genlMsg(0x1a, F.CREATE | F.MULTI, 4, 1, keyTable(keys)), genlMsg(0x1a, F.MULTI, 4, 1, nest(9, inner))]);
  let table = keyTable([['x', 5]]);
  for (let i = 0; i < 5000 && table.length < 60000; i++) table = nest(1, nest(1, u16(4, 8), table));
  decode([genlMsg(0x1a, F.CREATE | F.MULTI, 4, 1, table)]);
});
