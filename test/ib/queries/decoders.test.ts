/**
 * Issue 4 decoders without a fabric: random bytes into every decoder (errors,
 * never crashes), malformed replies through the mock transport (short
 * payloads, bad status, wrong attribute), writes refused before sending,
 * and the SA table parser on constructed RMPP replies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HpcnetError } from '../../../lib/errors.js';
import { MockIbBackend, type MockAnswer } from '../../../lib/ib/mock-backend.js';
import type { MadWireRequest } from '../../../lib/ib/backend.js';
import { openPort } from '../../../lib/ib/port.js';
import * as q from '../../../lib/ib/queries/index.js';
import { fuzzing } from '../../helpers/fuzz.js';

const DECODERS: Array<[string, (b: Buffer) => unknown]> = [
  ['parseSaReply', q.parseSaReply],
  ['nodeRecordFrom', q.nodeRecordFrom],
  ['portInfoRecordFrom', q.portInfoRecordFrom],
  ['linkRecordFrom', q.linkRecordFrom],
  ['smInfoRecordFrom', q.smInfoRecordFrom],
  ['pathRecordFrom', q.pathRecordFrom],
  ['mcMemberRecordFrom', q.mcMemberRecordFrom],
  ['serviceRecordFrom', q.serviceRecordFrom],
  ['guidInfoRecordFrom', q.guidInfoRecordFrom],
  ['guidInfoFrom', (b) => q.guidInfoFrom(b)],
  ['pkeysFrom', q.pkeysFrom],
  ['lftFrom', q.lftFrom],
  ['mftFrom', q.mftFrom],
  ['slToVlFrom', q.slToVlFrom],
  ['vlArbFrom', q.vlArbFrom],
  ['smInfoFrom', q.smInfoFrom],
  ['pmaClassPortInfoFrom', q.pmaClassPortInfoFrom],
  ['portCountersFrom', q.portCountersFrom],
  ['portCountersExtendedFrom', q.portCountersExtendedFrom],
];

describe('issue 4 decoders', () => {
  it('random bytes of every length: a value or a typed error, never a crash', () =>
    fuzzing(0x4dec0de, (r) => {
      let values = 0;
      let errors = 0;
      for (let i = 0; i < 3000; i++) {
        const len = i < 600 ? i : r.int(2048);
        const buf = r.bytes(len);
        for (const [name, fn] of DECODERS) {
          try {
            fn(buf);
            values++;
          } catch (e) {
            assert.ok(e instanceof HpcnetError || e instanceof RangeError, `${name}(${len} bytes) threw ${String(e)}`);
            errors++;
          }
        }
      }
      // Both outcomes happen: fixed-size decoders give values, record parsers refuse most noise.
      assert.ok(values > 0 && errors > 0, `${values} values, ${errors} errors`);
      // Shapes hold for any input.
      const b = r.bytes(64);
      assert.equal(q.lftFrom(b).length, 64);
      assert.deepEqual(q.lftFrom(b), [...b]);
      assert.equal(q.mftFrom(b).length, 32);
      assert.equal(q.mftFrom(b)[3], b.readUInt16BE(6));
      assert.equal(q.slToVlFrom(b).length, 16);
      assert.equal(q.slToVlFrom(b)[0], b[0]! >> 4);
      assert.equal(q.slToVlFrom(b)[15], b[7]! & 0xf);
      assert.deepEqual(q.vlArbFrom(b)[5], { vl: b[10]! & 0xf, weight: b[11]! });
      assert.equal(q.pkeysFrom(b)[31], b.readUInt16BE(62));
      assert.equal(q.guidInfoFrom(b).guids[7], b.readBigUInt64BE(56));
      // Short inputs decode as zero-padded, never past the end.
      assert.deepEqual(q.lftFrom(Buffer.from([7])).slice(0, 2), [7, 0]);
    }));

  it('parseSaReply: every record of a reassembled reply, truncation when RMPP says more was sent', () => {
    const rec = 8; // AttributeOffset 1
    const n = 60; // 480 bytes of records: more than one MAD
    const head = Buffer.alloc(56);
    head[0] = 1;
    head[1] = 3;
    head[2] = 2;
    head[3] = 0x92;
    head.writeUInt16BE(0x20, 16); // LinkRecord
    head[24] = 1; // RMPP version
    head[25] = 1; // DATA
    head[26] = 0x07; // active, first, last
    head.writeUInt32BE(20 + n * rec, 32); // PayloadLength
    head.writeUInt16BE(1, 44); // AttributeOffset (8-byte words)
    const data = Buffer.alloc(n * rec);
    for (let i = 0; i < n; i++) {
      data.writeUInt16BE(i + 1, i * rec); // FromLID
      data[i * rec + 2] = (i % 36) + 1; // FromPort
      data[i * rec + 3] = 1; // ToPort
      data.writeUInt16BE(1000 + i, i * rec + 4); // ToLID
    }
    const t = q.parseSaReply(Buffer.concat([head, data]));
    assert.equal(t.truncated, false);
    assert.equal(t.records.length, n);
    const links = t.records.map(q.linkRecordFrom);
    assert.deepEqual(links[59], { fromLid: 60, fromPort: (59 % 36) + 1, toPort: 1, toLid: 1059 });
    // Cut to one MAD: flagged, only whole records.
    const cut = q.parseSaReply(Buffer.concat([head, data]).subarray(0, 256));
    assert.equal(cut.truncated, true);
    assert.equal(cut.records.length, 25);
    assert.equal(cut.sentRecords, n);
    // Zero AttributeOffset: no records.
    const empty = Buffer.from(head);
    empty.writeUInt16BE(0, 44);
    assert.deepEqual(q.parseSaReply(empty).records, []);
    // Shorter than the SA header: a typed error.
    assert.throws(() => q.parseSaReply(head.subarray(0, 40)), (e: unknown) => (e as HpcnetError).code === 'EBADMSG');
  });

  const mockPort = async (answer: (req: MadWireRequest) => MockAnswer, allowWrites = false) => {
    const backend = new MockIbBackend({ responder: (req) => answer(req) });
    const port = await openPort({ backend, allowWrites, timeoutMs: 50, retries: 0 });
    return { port, backend };
  };

  it('malformed replies: short payload, bad MAD status, SA status, wrong attribute give typed errors', async () => {
    {
      // A reply MAD that ends in the middle of the LFT payload.
      const { port } = await mockPort((req) => {
        const mad = Buffer.alloc(80);
        mad[0] = 1;
        mad[1] = req.mgmtClass;
        mad[2] = 1;
        mad[3] = 0x81;
        mad.writeUInt16BE(req.attrId, 16);
        return { mad };
      });
      await assert.rejects(q.lftBlock(port, { lid: 2 }, 0), (e: HpcnetError) => e.code === 'EBADMSG' && /LinearForwardingTable/.test(e.message));
      await assert.rejects(q.portCounters(port, { lid: 2 }, 1), (e: HpcnetError) => e.code === 'EBADMSG');
      await port.close();
    }
    {
      const { port } = await mockPort(() => ({ status: 0x001c }));
      await assert.rejects(q.vlArbBlock(port, { lid: 2 }, 1, 1), (e: HpcnetError) => e.code === 'EMADSTATUS' && /invalid-value/.test(e.message));
      await port.close();
    }
    {
      // SA: "no records" is an empty table; "invalid request" an SaStatusError.
      let status = 0x0300;
      const { port } = await mockPort(() => ({ status }));
      assert.deepEqual((await q.nodeRecords(port, { lid: 9 })).records, []);
      status = 0x0200;
      await assert.rejects(q.nodeRecords(port, { lid: 9 }), (e: HpcnetError) => e.code === 'ESASTATUS' && /ERR_REQ_INVALID/.test(e.message));
      await port.close();
    }
    {
      const { port } = await mockPort((req) => {
        const mad = Buffer.alloc(256);
        mad[0] = 1;
        mad[1] = req.mgmtClass;
        mad[2] = 1;
        mad[3] = 0x81;
        mad.writeUInt16BE(req.attrId + 1, 16);
        return { mad };
      });
      await assert.rejects(q.guidInfo(port, { lid: 2 }), (e: HpcnetError) => e.code === 'EBADMSG' && /attribute/.test(e.message));
      await port.close();
    }
  });

  it('writes are refused without allowWrites, before anything is sent', async () => {
    const { port, backend } = await mockPort(() => ({ data: Buffer.alloc(64) }));
    void backend;
    await assert.rejects(q.setPortState(port, { lid: 2 }, 1, { op: 'disable' }), (e: HpcnetError) => e.code === 'ERR_WRITE_NOT_ALLOWED' && /allowWrites/.test(e.message));
    await assert.rejects(q.resetCounters(port, { lid: 2 }, 1), (e: HpcnetError) => e.code === 'ERR_WRITE_NOT_ALLOWED');
    assert.equal(port.stats().sent, 0);
    await port.close();
    // With the opt-in, the Set goes out with the operation encoded by libibmad's PortInfo fields.
    const sent: MadWireRequest[] = [];
    const w = await mockPort((req) => {
      sent.push(req);
      return { data: req.data ?? Buffer.alloc(64) };
    }, true);
    const r = await q.setPortState(w.port, { lid: 2 }, 3, { op: 'disable' });
    assert.equal(sent.length, 2);
    assert.equal(sent[1]!.method, 0x02);
    assert.equal(sent[1]!.attrMod, 3);
    assert.equal(r.after.physicalState, 'Disabled');
    await w.port.close();
  });
});

describe('Resolver', () => {
  it('GUID to LID through SA NodeRecords, cached; node description to LIDs', async () => {
    // A NodeRecord answer built with the same libibmad fields the parser uses.
    const { encode } = await import('../../../lib/ib/queries/common.js');
    const records = [
      { lid: 7, guid: 0x0002c90300001000n, port: 0x0002c90300001001n, desc: 'node07 HCA-1' },
      { lid: 9, guid: 0x0002c90300002000n, port: 0x0002c90300002001n, desc: 'node09 HCA-1' },
    ];
    const sent: MadWireRequest[] = [];
    const backend = new MockIbBackend({
      responder: (req) => {
        sent.push(req);
        const tpl = req.data!;
        const mask = req.componentMask ?? 0n;
        const hit = records.filter(
          (r) =>
            (!(mask & (1n << 8n)) || tpl.readBigUInt64BE(24) === r.port) &&
            (!(mask & (1n << 7n)) || tpl.readBigUInt64BE(16) === r.guid) &&
            (!(mask & (1n << 14n)) || tpl.subarray(44, 108).toString('utf8').replace(/\0+$/, '') === r.desc),
        );
        const mad = Buffer.alloc(56 + 200);
        mad[0] = 1;
        mad[1] = 3;
        mad[2] = 2;
        mad[3] = 0x92;
        mad.writeUInt16BE(0x11, 16);
        mad.writeUInt16BE(14, 44); // 112-byte records
        hit.slice(0, 1).forEach((r) => {
          const rec = Buffer.alloc(200);
          encode('NodeRecord', rec, 0, { Lid: r.lid, Guid: r.guid, PortGuid: r.port, NodeType: 1, NumPorts: 1 });
          Buffer.from(r.desc).copy(rec, 44);
          rec.copy(mad, 56, 0, 112);
        });
        return { mad: hit.length ? mad.subarray(0, 56 + 112) : mad.subarray(0, 56) };
      },
    });
    const port = await openPort({ backend, timeoutMs: 50, retries: 0 });
    const r = new q.Resolver(port);
    assert.equal(await r.guidToLid(0x0002c90300001001n), 7);
    assert.equal(await r.guidToLid(0x0002c90300001001n), 7);
    assert.equal(sent.length, 1, 'the second lookup came from the cache');
    assert.equal(await r.guidToLid(0x0002c90300002000n), 9, 'a node GUID falls back to the NodeGUID component');
    assert.equal(sent.length, 3);
    assert.deepEqual((await r.nodeDescriptionToLids('node09 HCA-1')).map((x) => x.lid), [9]);
    await assert.rejects(r.guidToLid(0x1234n), (e: HpcnetError) => e.code === 'ERR_NOT_FOUND');
    await port.close();
  });
});
