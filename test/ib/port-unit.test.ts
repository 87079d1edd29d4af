/**
 * The Port facade on the mock backend (no simulator): scheduling limits,
 * abort, error mapping, malformed replies, and a fuzz of every decoder.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { checkAddress, parseAddress } from '../../lib/ib/address.js';
import { HpcnetError } from '../../lib/errors.js';
import { decodeGroup, fieldGroup, type FieldGroupName } from '../../lib/ib/fields.js';
import { nodeDescriptionAt, nodeDescriptionFrom, nodeInfoFrom, portInfoFrom, switchInfoFrom } from '../../lib/ib/attributes.js';
import { MockIbBackend, type MockResponder } from '../../lib/ib/mock-backend.js';
import { openPort } from '../../lib/ib/port.js';
import { fuzzing } from '../helpers/fuzz.js';

async function mockPort(responder: MockResponder, opts: { window?: number; perDestination?: number } = {}) {
  const backend = new MockIbBackend({ responder });
  const port = await openPort({ backend, timeoutMs: 20, retries: 1, ...opts });
  return { port, transport: backend.transports[0]! };
}

describe('addresses', () => {
  it('parses the diag tools\' forms and rejects the rest with the reason', () => {
    assert.deepEqual(parseAddress('5'), { lid: 5 });
    assert.deepEqual(parseAddress('0x1f'), { lid: 31 });
    assert.deepEqual(parseAddress('0,1,3', { directed: true }), { path: [1, 3] });
    assert.deepEqual(parseAddress('0', { directed: true }), { path: [] });
    assert.throws(() => parseAddress('1,3', { directed: true }), /must start at the local port 0/);
    assert.throws(() => parseAddress('0,1,x', { directed: true }), /hop 2: 'x' is not a number/);
    assert.throws(() => parseAddress('0xc001'), /multicast/);
    assert.throws(() => parseAddress('49152'), /multicast/);
    assert.throws(() => parseAddress('five'), /not a number/);
    assert.deepEqual(checkAddress({ lid: 3, path: [1] }), { lid: 3, path: [1] });
    assert.throws(() => checkAddress({ path: new Array(64).fill(1) }), /at most 63 hops/);
  });
});

describe('Port on the mock backend', () => {
  it('keeps at most `window` MADs outstanding and `perDestination` per node', async () => {
    const { port, transport } = await mockPort(() => ({ data: Buffer.alloc(64) }), { window: 4, perDestination: 2 });
    await Promise.all(Array.from({ length: 60 }, (_, i) => port.nodeInfo({ lid: 1 + (i % 3) })));
    assert.equal(transport.maxActive, 4);
    const one = await mockPort(() => ({ data: Buffer.alloc(64) }), { window: 16, perDestination: 2 });
    await Promise.all(Array.from({ length: 20 }, () => one.port.nodeInfo({ lid: 7 })));
    assert.equal(one.transport.maxActive, 2, 'a single destination never has more than 2 in flight');
  });

  it('retries dropped MADs and reports a timeout with the address after retries + 1 attempts', async () => {
    let calls = 0;
    const { port } = await mockPort(() => (calls++ < 1 ? 'drop' : { data: Buffer.alloc(64) }));
    await port.nodeInfo({ lid: 4 });
    const dead = await mockPort(() => 'drop');
    await assert.rejects(dead.port.nodeInfo({ lid: 9 }, { retries: 2 }), (e: unknown) => {
      assert.ok(e instanceof HpcnetError);
      assert.equal(e.code, 'ETIMEDOUT');
      assert.match(e.message, /NodeInfo \(0x0011\) to LID 9: no reply after 3 attempt/);
      return true;
    });
  });

  it('an AbortSignal rejects at once and frees the slot', async () => {
    const { port, transport } = await mockPort(() => 'drop', { window: 1 });
    const ac = new AbortController();
    const p = port.nodeInfo({ lid: 2 }, { signal: ac.signal, timeoutMs: 10_000, retries: 0 });
    await new Promise((r) => setImmediate(r));
    ac.abort();
    await assert.rejects(p, { code: 'ABORT_ERR' });
    assert.equal(transport.stats().outstanding, 0);
    await assert.rejects(port.nodeInfo({ lid: 2 }, { signal: AbortSignal.abort() }), { code: 'ABORT_ERR' });
  });

  it('thousands of MADs on one signal share one abort listener; aborting cancels every one, queued or in flight', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const { port, transport } = await mockPort(() => 'drop', { window: 4 });
    try {
      const ac = new AbortController();
      const all = Array.from({ length: 5000 }, (_, i) =>
        port.nodeInfo({ lid: 1 + (i % 50) }, { signal: ac.signal, timeoutMs: 60_000, retries: 0 }).then(
          () => 'replied',
          (e: HpcnetError) => e.code,
        ),
      );
      await new Promise((r) => setImmediate(r));
      assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
      assert.equal(transport.stats().outstanding, 5000);
      ac.abort();
      const outcomes = await Promise.all(all);
      assert.deepEqual(new Set(outcomes), new Set(['ABORT_ERR']));
      assert.equal(transport.stats().outstanding, 0);
      assert.equal(getEventListeners(ac.signal, 'abort').length, 0);

      // Requests that settle normally leave no listener behind either.
      const ok = await mockPort(() => ({ data: Buffer.alloc(64) }), { window: 4 });
      const ac2 = new AbortController();
      await Promise.all(Array.from({ length: 500 }, (_, i) => ok.port.nodeInfo({ lid: 1 + (i % 7) }, { signal: ac2.signal })));
      assert.equal(getEventListeners(ac2.signal, 'abort').length, 0);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings.map((w) => w.name), []);
    } finally {
      await port.close();
      process.off('warning', onWarning);
    }
  });

  it('maps MAD status, malformed replies and bad addresses to their error classes', async () => {
    const { port: st } = await mockPort(() => ({ status: 0x1c }));
    await assert.rejects(st.portInfo({ lid: 3 }, 40), (e: unknown) => {
      assert.equal((e as HpcnetError).code, 'EMADSTATUS');
      assert.match((e as Error).message, /PortInfo \(0x0015\) to LID 3: MAD status 0x001c \(invalid-value\)/);
      return true;
    });
    const wrongAttr = await mockPort((req) => {
      const mad = Buffer.alloc(256);
      mad[0] = 1;
      mad[1] = req.mgmtClass;
      mad[3] = 0x81;
      mad.writeUInt16BE(0x15, 16);
      return { mad };
    });
    await assert.rejects(wrongAttr.port.nodeInfo({ lid: 3 }), { code: 'EBADMSG', message: /attribute 0x15, expected 0x11/ });
    const short = await mockPort(() => ({ mad: Buffer.alloc(10) }));
    await assert.rejects(short.port.nodeInfo({ lid: 3 }), { code: 'EBADMSG', message: /shorter than/ });
    const notResp = await mockPort((req) => ({ mad: Buffer.from([1, req.mgmtClass, 1, 0x01, ...new Array(252).fill(0)]) }));
    await assert.rejects(notResp.port.nodeInfo({ lid: 3 }), { code: 'EBADMSG', message: /not a response/ });
    const { port, transport } = await mockPort(() => ({ data: Buffer.alloc(64) }));
    await assert.rejects(port.nodeInfo({ lid: 0 }), { code: 'ERR_BAD_ADDRESS' });
    await assert.rejects(port.mad({ mgmtClass: 0x04, method: 1, attrId: 0x12, addr: { path: [1] } }), { code: 'ERR_BAD_ADDRESS', message: /LID-routed/ });
    assert.equal(transport.log.length, 0, 'nothing was sent');
  });

  it('close() rejects every outstanding request with ERR_PORT_CLOSED, and later calls too', async () => {
    const { port } = await mockPort(() => 'drop');
    const ps = Array.from({ length: 10 }, () => port.nodeInfo({ lid: 5 }, { timeoutMs: 10_000 }));
    await port.close();
    for (const p of ps) await assert.rejects(p, { code: 'ERR_PORT_CLOSED' });
    await assert.rejects(port.nodeInfo({ lid: 5 }), { code: 'ERR_PORT_CLOSED' });
  });

  it('directed routes use the DR class with the path; LID+path sets DrSLID to our LID', async () => {
    const { port, transport } = await mockPort(() => ({ data: Buffer.alloc(64) }));
    await port.nodeInfo({ path: [1, 3] });
    await port.nodeInfo({ lid: 7, path: [2] });
    await port.nodeInfo({ lid: 7 });
    assert.deepEqual(
      transport.log.map((r) => [r.mgmtClass, r.lid, r.path, r.drSlid]),
      [
        [0x81, 0, [1, 3], 0xffff],
        [0x81, 7, [2], port.lid],
        [0x01, 7, undefined, undefined],
      ],
    );
  });
});

describe('decoder fuzz', () => {
  const groups: FieldGroupName[] = ['NodeInfo', 'NodeDescription', 'PortInfo', 'SwitchInfo', 'SMInfo', 'ClassPortInfo', 'PortCounters', 'PortCountersExtended'];
  it('random and truncated payloads never crash a decoder or a typed view', () =>
    fuzzing(0xdec0, (r) => {
      for (let i = 0; i < 3000; i++) {
        const len = i % 7 === 0 ? 0 : r.int(300);
        const buf = r.bytes(len);
        const g = groups[i % groups.length]!;
        const off = r.int(len + 1);
        const rec = decodeGroup(g, buf, off);
        assert.equal(Object.keys(rec).length, fieldGroup(g).length);
        nodeInfoFrom(rec);
        portInfoFrom(rec);
        switchInfoFrom(rec);
        nodeDescriptionFrom(rec);
      }
      assert.throws(() => decodeGroup('NodeInfo', Buffer.alloc(4), 9), RangeError);
    }));

  it('NodeDescription read in place (discovery) equals the field-table decode', () =>
    fuzzing(0xde5c, (r) => {
      for (let i = 0; i < 2000; i++) {
        const buf = r.bytes(64 + r.int(200));
        // Mostly printable text, a NUL somewhere (or none), multi-byte UTF-8 now and then.
        for (let k = 0; k < buf.length; k++) buf[k] = r.next() < 0.9 ? 0x20 + r.int(95) : buf[k]!;
        if (r.next() < 0.2) buf.write('\u00e9\u4e2d', r.int(buf.length - 8), 'utf8');
        if (r.next() < 0.8) buf[r.int(buf.length)] = 0;
        const off = r.int(buf.length - 64 + 1);
        assert.equal(nodeDescriptionAt(buf, off), nodeDescriptionFrom(decodeGroup('NodeDescription', buf, off)));
      }
      assert.equal(nodeDescriptionAt(Buffer.from('abc'), 0), 'abc');
    }));

  it('random reply MADs through the port give a result or an HpcnetError', () =>
    fuzzing(0x3ad, async (r) => {
      const { port } = await mockPort((req) => {
        const mad = r.bytes(r.int(300));
        if (mad.length > 20 && r.next() < 0.5) {
          mad[0] = 1;
          mad[1] = req.mgmtClass;
          mad[3] |= 0x80;
          mad.writeUInt16BE(0, 4); // status: success
          mad.writeUInt16BE(req.attrId, 16);
        }
        return { mad };
      });
      let ok = 0;
      const codes = new Set<string>();
      for (let i = 0; i < 500; i++) {
        try {
          await (i % 2 ? port.portInfo({ lid: 1 }, 1) : port.nodeInfo({ path: [1] }));
          ok++;
        } catch (e) {
          assert.ok(e instanceof HpcnetError, String(e));
          codes.add(e.code);
        }
      }
      // Noise is refused (malformed or bad status), and a reply with a valid header still decodes.
      assert.ok(ok > 0 && codes.size > 0, `${ok} results, error codes ${[...codes].join(', ')}`);
    }));
});
