/**
 * NIDs, NID ranges, process ids and the module-parameter syntaxes, checked
 * against the values and rules of reference lnet.md section 3.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LnetSyntaxError } from '../../lib/lnet/errors.js';
import { NetId, Nid, expandNidRange, formatProcessId, nidInRange, parseNidRange, parseProcessId, sameNid } from '../../lib/lnet/nid.js';
import { effectiveNetworks, formatNetworks, ip2netsToNetworks, parseIp2nets, parseNetworks, parseRoutes } from '../../lib/lnet/params.js';

function syntaxAt(fn: () => unknown, position: number, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LnetSyntaxError, `expected LnetSyntaxError, got ${String(e)}`);
    assert.equal(e.position, position, `position in '${e.input}': ${e.message}`);
    if (re) assert.match(e.reason, re);
    return true;
  });
}

describe('NID4 values (reference 3.1)', () => {
  it('192.0.2.2@tcp1 is 0x00020001c0000202', () => {
    assert.equal(Nid.parse('192.0.2.2@tcp1').toNid4(), 0x00020001c0000202n);
  });
  it('1.2.3.6@o2ib is 0x0005000001020306', () => {
    assert.equal(Nid.parse('1.2.3.6@o2ib').toNid4(), 0x0005000001020306n);
  });
  it('0@lo is LNET_NID_LO_0 = 0x0009000000000000', () => {
    assert.equal(Nid.parse('0@lo').toNid4(), 0x0009000000000000n);
    assert.equal(Nid.fromNid4(0x0009000000000000n).toString(), '0@lo');
  });
  it('round-trips through the 64-bit form', () => {
    for (const s of ['192.168.207.2@tcp', '10.0.0.1@o2ib1', '5@gni', '6@kfi', '0@lo']) assert.equal(Nid.fromNid4(Nid.parse(s).toNid4()).toString(), s);
  });
  it('LNET_MKNET: tcp2 is 0x20002 (route add cfg_net observed)', () => {
    assert.equal(NetId.parse('tcp2').value, 0x20002);
  });
});

describe('NID strings (reference 3.2)', () => {
  it('tcp0 equals tcp and prints as tcp', () => {
    assert.ok(NetId.parse('tcp0').equals(NetId.parse('tcp')));
    assert.equal(Nid.parse('1.2.3.4@tcp0').toString(), '1.2.3.4@tcp');
    assert.ok(sameNid('1.2.3.4@tcp0', '1.2.3.4@tcp'));
  });
  it('a NID without @net is @tcp', () => {
    assert.equal(Nid.parse('192.168.1.1').toString(), '192.168.1.1@tcp');
  });
  it('lo takes no net number and only address 0', () => {
    syntaxAt(() => NetId.parse('lo0'), 2, /no number/);
    syntaxAt(() => Nid.parse('1@lo'), 0);
  });
  it('unknown net types are refused at the name', () => {
    syntaxAt(() => Nid.parse('1.2.3.4@foo1'), 8, /unknown network type/);
  });
  it('bad octets point at the offending character', () => {
    syntaxAt(() => Nid.parse('192.168.x.1@tcp'), 8);
    syntaxAt(() => Nid.parse('192.168.300.1@tcp'), 8);
  });
  it('large NIDs: IPv6 with inet_ntop text and the 20-byte struct', () => {
    const n = Nid.parse('fd00:0:0::2@tcp');
    assert.ok(n.isLarge);
    assert.equal(n.toString(), 'fd00::2@tcp');
    const b = n.toLargeBytes();
    assert.equal(b.length, 20);
    assert.equal(b[0], 12); // nid_size = NID_BYTES (20) - 8
    assert.equal(b[1], 2);
    assert.ok(Nid.fromLargeBytes(b).equals(n));
    assert.throws(() => n.toNid4(), RangeError);
  });
  it('a 4-byte large NID starts with the NID4 in big-endian order (reference 3.3)', () => {
    const n = Nid.parse('192.0.2.2@tcp1');
    const b = Buffer.from(n.toLargeBytes().slice(0, 8));
    assert.equal(b.readBigUInt64BE(0), n.toNid4());
  });
  it('refuses IPv6 loopback and link-local (large-NID parser)', () => {
    assert.throws(() => Nid.parse('::1@tcp'), LnetSyntaxError);
    assert.throws(() => Nid.parse('fe80::1@tcp'), LnetSyntaxError);
  });
  it('numeric LNDs print decimal addresses', () => {
    assert.equal(Nid.parse('5@gni').toString(), '5@gni');
    syntaxAt(() => Nid.parse('5x@gni'), 1);
  });
});

describe('process ids', () => {
  it('parses and prints 12345-nid, U-prefixed and LNET_PID_ANY forms', () => {
    const p = parseProcessId('12345-192.168.1.1@tcp');
    assert.equal(p.pid, 12345);
    assert.equal(formatProcessId(p), '12345-192.168.1.1@tcp');
    assert.equal(formatProcessId(parseProcessId('U7-0@lo')), 'U7-0@lo');
    assert.equal(formatProcessId(parseProcessId('192.168.1.1@tcp')), 'LNET_PID_ANY-192.168.1.1@tcp');
  });
});

describe('NID ranges', () => {
  it('192.168.0.[1-10]@tcp expands to 10 NIDs', () => {
    const l = expandNidRange('192.168.0.[1-10]@tcp').map(String);
    assert.equal(l.length, 10);
    assert.equal(l[0], '192.168.0.1@tcp');
    assert.equal(l[9], '192.168.0.10@tcp');
  });
  it('strides and lists: 4.4.[1-2].[1-5/2,9]@tcp', () => {
    assert.deepEqual(expandNidRange('4.4.[1-2].[1-5/2,9]@tcp').map(String), [
      '4.4.1.1@tcp', '4.4.1.3@tcp', '4.4.1.5@tcp', '4.4.1.9@tcp', '4.4.2.1@tcp', '4.4.2.3@tcp', '4.4.2.5@tcp', '4.4.2.9@tcp',
    ]);
  });
  it('numeric nets: [22-25]@gni', () => {
    assert.deepEqual(expandNidRange('[22-25]@gni').map(String), ['22@gni', '23@gni', '24@gni', '25@gni']);
  });
  it('membership', () => {
    const r = parseNidRange('10.0.[0-1].[1-100/3]@o2ib');
    assert.ok(nidInRange(r, Nid.parse('10.0.1.4@o2ib')));
    assert.ok(!nidInRange(r, Nid.parse('10.0.1.5@o2ib')));
    assert.ok(!nidInRange(r, Nid.parse('10.0.1.4@tcp')));
  });
  it('errors point into the expression', () => {
    syntaxAt(() => parseNidRange('192.168.0.[10-1]@tcp'), 11, /reversed/);
    syntaxAt(() => parseNidRange('192.168.0.[1-x]@tcp'), 13);
    syntaxAt(() => parseNidRange('192.168.[1-2]@tcp'), 13, /four octet/);
  });
});

describe('networks= (reference 3.4)', () => {
  it('parses interfaces, per-interface CPTs and net CPTs', () => {
    const l = parseNetworks('tcp1(eth0[0,1],eth1)[2], o2ib0(ib0)');
    assert.equal(l.length, 2);
    assert.equal(l[0]!.net.toString(), 'tcp1');
    assert.deepEqual(l[0]!.interfaces, [{ name: 'eth0', cpts: [0, 1] }, { name: 'eth1' }]);
    assert.deepEqual(l[0]!.cpts, [2]);
    assert.equal(l[1]!.net.toString(), 'o2ib');
    assert.equal(formatNetworks(l), 'tcp1(eth0[0,1],eth1)[2],o2ib(ib0)');
  });
  it('ignores lo and defaults to tcp when empty', () => {
    assert.deepEqual(parseNetworks('lo,tcp(eth0)').map((s) => s.net.toString()), ['tcp']);
    assert.deepEqual(effectiveNetworks('').map((s) => s.net.toString()), ['tcp']);
  });
  it('errors point at the offending character', () => {
    syntaxAt(() => parseNetworks('tcp0(eth0))'), 10);
    syntaxAt(() => parseNetworks('tcp0(eth0'), 9, /missing '\)'/);
    syntaxAt(() => parseNetworks('tcp0(eth0):o2ib'), 10);
    syntaxAt(() => parseNetworks('tcp0(eth0),tcp(eth1)'), 11, /duplicate/);
    syntaxAt(() => parseNetworks('tcp0(,eth0)'), 5, /interface name/);
    syntaxAt(() => parseNetworks('bogus(eth0)'), 0, /unknown network type/);
    syntaxAt(() => parseNetworks('tcp0(eth0[0-x])'), 12);
  });
});

describe('ip2nets= and routes=', () => {
  const manExample = 'tcp0(eth0) 192.168.0.[2,4]; tcp0 192.168.0.*; o2ib0 132.6.[1-3].[2-8/2]';
  it('parses the man page example', () => {
    const rules = parseIp2nets(manExample);
    assert.equal(rules.length, 3);
    assert.deepEqual(ip2netsToNetworks(rules, ['192.168.0.4']).map((s) => formatNetworks([s])), ['tcp(eth0)']);
    assert.deepEqual(ip2netsToNetworks(rules, ['192.168.0.7']).map((s) => formatNetworks([s])), ['tcp']);
    assert.deepEqual(ip2netsToNetworks(rules, ['132.6.2.6']).map((s) => s.net.toString()), ['o2ib']);
    assert.deepEqual(ip2netsToNetworks(rules, ['132.6.2.5']), []);
  });
  it('comments and newlines separate rules; errors point into the range', () => {
    assert.equal(parseIp2nets('# site\ntcp 10.0.0.*  # all\n o2ib 10.1.0.[1-9]\n').length, 2);
    syntaxAt(() => parseIp2nets('tcp 10.0.0.[1-300]'), 14);
    syntaxAt(() => parseIp2nets('tcp 10.0.*'), 10, /four octet/);
  });
  it('routes=: hops, priorities, ranges', () => {
    const r = parseRoutes('o2ib1 2 192.168.0.[1-2]@tcp:3; tcp2 10.0.0.1@o2ib');
    assert.equal(r.length, 2);
    assert.equal(r[0]!.hops, 2);
    assert.deepEqual(r[0]!.gateways.map((g) => [g.nid.toString(), g.priority]), [['192.168.0.1@tcp', 3], ['192.168.0.2@tcp', 3]]);
    assert.equal(r[1]!.hops, -1);
  });
  it('routes= errors', () => {
    syntaxAt(() => parseRoutes('o2ib1 300 1.2.3.4@tcp'), 6, /hops/);
    syntaxAt(() => parseRoutes('o2ib1 1.2.3.x@tcp'), 12);
    syntaxAt(() => parseRoutes('tcp 1.2.3.4@tcp'), 4, /target net/);
    syntaxAt(() => parseRoutes('tcp1 1.2.3.4@tcp:x'), 17, /priority/);
  });
});
