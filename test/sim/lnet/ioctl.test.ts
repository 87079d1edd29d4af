/**
 * /dev/lnet through the emulator's preload, driven by a C client that issues
 * the raw ioctls with the reference's layouts (reference sections 1.2-1.7).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { NID_LO, client, clientPath, configData, configNi, ioctl, nid, peerCfg, pingData, v1, v2 } from './helpers.js';

const ENOENT = 2, EIO = 5, E2BIG = 7, EACCES = 13, EEXIST = 17, EINVAL = 22, EBUSY = 16, ENETDOWN = 100, EHOSTUNREACH = 113;
const NR = { GET_NI: 50, UNCONFIGURE: 56, CONFIGURE: 59, ADD_ROUTE: 81, DEL_ROUTE: 82, GET_ROUTE: 83, ADD_PEER_NI: 92, GET_PEER_NI: 94, ADD_LOCAL_NI: 95, DEL_LOCAL_NI: 96, GET_LOCAL_NI: 97, SET_NUMA: 98, GET_NUMA: 99, GET_PEER_LIST: 100, GET_LNET_STATS: 91, PING: 62 };

describe('LNet emulator: ioctl ABI, 2.16 personality', () => {
  let emu: LnetEmulator;
  const H = 'n1';
  before(async () => {
    clientPath();
    emu = await LnetEmulator.start({ release: '2.16', hosts: ['n1=eth0:10.0.0.1,eth1:10.1.0.1', 'n2=eth0:10.0.0.2'] });
  });
  after(async () => {
    await emu?.stop();
  });

  test('no /dev/lnet before lnet.ko is loaded (2.16: the device belongs to lnet)', async () => {
    const r = await ioctl(emu, H, NR.GET_NI, v1({ count: 0 }));
    assert.equal(r.errno, ENOENT);
    await emu.modprobe(H, 'libcfs');
    assert.equal((await ioctl(emu, H, NR.GET_NI, v1({ count: 0 }))).errno, ENOENT, 'libcfs alone does not make /dev/lnet on 2.16');
    await emu.modprobe(H, 'lnet');
  });

  test('EACCES without CAP_SYS_ADMIN', async () => {
    const r = await emu.exec(H, 'setpriv', ['--bounding-set', '-sys_admin', clientPath(), 'ioctl', String(NR.GET_NI), v1({ count: 0 }).toString('hex')]);
    assert.match(r.stdout, /rc=-1 errno=13\b/, r.stdout + r.stderr);
    assert.equal(EACCES, 13);
  });

  test('command type and number range, header version and length checks give EINVAL', async () => {
    const cases: Array<[string, Buffer]> = [
      ['c0086620', v1()], // type 'f'
      ['c0b86571', v2(184)], // nr 113 > IOC_LIBCFS_MAX_NR
      ['c008651d', v1()], // nr 29 < IOC_LIBCFS_MIN_NR
    ];
    for (const [cmd, s] of cases) {
      const r = await client(emu, H, ['ioctl-cmd', cmd, s.toString('hex')]);
      assert.equal(r.errno, EINVAL, `cmd ${cmd}`);
    }
    const badVer = v1();
    badVer.writeUInt32LE(0x0001000c, 4);
    assert.equal((await ioctl(emu, H, NR.GET_NI, badVer)).errno, EINVAL, 'version');
    const short = v1();
    short.writeUInt32LE(4, 0);
    assert.equal((await ioctl(emu, H, NR.GET_NI, short)).errno, EINVAL, 'ioc_len < 8');
    const huge = v1();
    huge.writeUInt32LE(128 * 1024 + 1, 0);
    assert.equal((await ioctl(emu, H, NR.GET_NI, huge)).errno, EINVAL, 'ioc_len > 128 KiB');
  });

  test('V1 inline-buffer packing rules (lnet_ioctl_is_invalid)', async () => {
    // inllen1 = 5 but ioc_len does not include round8(5): invalid
    const a = v1({ count: 0 });
    a.writeUInt32LE(5, 64);
    assert.equal((await ioctl(emu, H, NR.GET_NI, a)).errno, EINVAL, 'length mismatch');
    // correctly packed: 128 + 8, last inline byte NUL -> accepted (LNet is down: ENETDOWN)
    const b = Buffer.concat([v1({ count: 0 }), Buffer.from('abcd\0\0\0\0')]);
    b.writeUInt32LE(136, 0);
    b.writeUInt32LE(5, 64);
    assert.equal((await ioctl(emu, H, NR.GET_NI, b)).errno, ENETDOWN, 'packed correctly');
    // inline data not NUL-terminated
    const c = Buffer.from(b);
    c.write('abcde', 128);
    assert.equal((await ioctl(emu, H, NR.GET_NI, c)).errno, EINVAL, 'no NUL');
    // inlbuf1 pointer set with inllen1 0
    const d = v1({ count: 0 });
    d.writeBigUInt64LE(0x1000n, 72);
    assert.equal((await ioctl(emu, H, NR.GET_NI, d)).errno, EINVAL, 'inlbuf1 without inllen1');
    // pbuf1 and plen1 inconsistent
    const e = v1({ count: 0 });
    e.writeUInt32LE(16, 96);
    assert.equal((await ioctl(emu, H, NR.GET_NI, e)).errno, EINVAL, 'plen1 without pbuf1');
  });

  test('ENETDOWN while LNet is down; EINVAL for add/del NI when not self-configured', async () => {
    assert.equal((await ioctl(emu, H, NR.GET_NI, v1({ count: 0 }))).errno, ENETDOWN);
    assert.equal((await ioctl(emu, H, NR.ADD_LOCAL_NI, configNi(nid('10.1.0.1', 2, 1), 'eth1'))).errno, EINVAL);
    assert.equal((await ioctl(emu, H, NR.DEL_LOCAL_NI, configNi(nid('10.1.0.1', 2, 1), 'eth1'))).errno, EINVAL);
    assert.equal((await ioctl(emu, H, NR.UNCONFIGURE, v1())).rc, 0, 'unconfigure when never configured returns 0');
  });

  test('CONFIGURE with ioc_flags=1 brings up only lo; GET_NI walks NIDs and ends with ENOENT', async () => {
    assert.equal((await ioctl(emu, H, NR.CONFIGURE, v1({ flags: 1 }))).rc, 0);
    const first = await ioctl(emu, H, NR.GET_NI, v1({ count: 0 }));
    assert.equal(first.rc, 0);
    assert.equal(first.data!.readBigUInt64LE(8), NID_LO, '0@lo first');
    assert.equal((await ioctl(emu, H, NR.GET_NI, v1({ count: 1 }))).errno, ENOENT);
    assert.equal((await ioctl(emu, H, NR.CONFIGURE, v1({ flags: 1 }))).rc, 0, 'second CONFIGURE is idempotent');
  });

  test('ADD_LOCAL_NI / EEXIST / GET_LOCAL_NI sizes and end of list / DEL_LOCAL_NI', async () => {
    const tcp1 = nid('10.1.0.1', 2, 1); // 10.1.0.1@tcp1
    assert.equal((await ioctl(emu, H, NR.ADD_LOCAL_NI, configNi(tcp1, 'eth1'))).rc, 0);
    assert.equal((await ioctl(emu, H, NR.ADD_LOCAL_NI, configNi(tcp1, 'eth1'))).errno, EEXIST);
    // GET_LOCAL_NI needs 808 + 12 + sizeof(lnd tunables) = 988 bytes on 2.16
    const small = v2(808 + 12 + 52);
    small.writeUInt32LE(1, 792);
    assert.equal((await ioctl(emu, H, NR.GET_LOCAL_NI, small)).errno, EINVAL);
    const q = v2(808 + 12 + 168);
    q.writeUInt32LE(1, 792);
    const r = await ioctl(emu, H, NR.GET_LOCAL_NI, q);
    assert.equal(r.rc, 0);
    assert.equal(r.data!.readBigUInt64LE(8), tcp1);
    assert.equal(r.data!.subarray(16, 20).toString(), 'eth1');
    assert.equal(r.data!.readUInt32LE(788), 0x15aac0de, 'LNET_NI_STATUS_UP');
    assert.equal(r.data!.readInt32LE(816 + 4), 180, 'default peer_timeout');
    assert.equal(r.data!.readInt32LE(816 + 8), 8, 'default peer_credits');
    assert.equal(r.data!.readInt32LE(816 + 16), 256, 'default credits');
    q.writeUInt32LE(2, 792);
    assert.equal((await ioctl(emu, H, NR.GET_LOCAL_NI, q)).errno, ENOENT, 'end of list');
    // ksocklnd was loaded on demand and is held by the NI
    const mods = await client(emu, H, ['read', '/proc/modules']);
    assert.match(mods.stdout, /^ksocklnd \d+ 1 - Live/m);
    assert.equal((await ioctl(emu, H, NR.DEL_LOCAL_NI, configNi(nid('10.9.9.9', 2, 7), ''))).errno, ENOENT, 'unknown net');
    assert.equal((await ioctl(emu, H, NR.DEL_LOCAL_NI, configNi(NID_LO, ''))).errno, EINVAL, 'lo is refused');
    assert.equal((await ioctl(emu, H, NR.DEL_LOCAL_NI, configNi((BigInt((2 << 16) | 1) << 32n), ''))).rc, 0, 'whole net');
    assert.match((await client(emu, H, ['read', '/proc/modules'])).stdout, /^ksocklnd \d+ 0 - Live/m);
  });

  test('routes: EEXIST for a local net, EHOSTUNREACH through a non-local gateway, GET_ROUTE and ENOENT', async () => {
    assert.equal((await ioctl(emu, H, NR.ADD_LOCAL_NI, configNi(nid('10.0.0.1'), 'eth0'))).rc, 0);
    const tcp = 0x20000;
    const tcp5 = 0x20005;
    assert.equal((await ioctl(emu, H, NR.ADD_ROUTE, configData({ net: tcp, nid: nid('10.0.0.2', 2, 3), hop: -1 }))).errno, EEXIST, 'target net is local');
    assert.equal((await ioctl(emu, H, NR.ADD_ROUTE, configData({ net: tcp5, nid: nid('10.7.0.2', 2, 3), hop: -1 }))).errno, EHOSTUNREACH, 'gateway net not local');
    assert.equal((await ioctl(emu, H, NR.ADD_ROUTE, configData({ net: tcp5, nid: nid('10.0.0.2'), hop: 300 }))).errno, EINVAL, 'hops > 255');
    assert.equal((await ioctl(emu, H, NR.ADD_ROUTE, configData({ net: tcp5, nid: nid('10.0.0.2'), hop: -1, prio: 3 }))).rc, 0);
    assert.equal((await ioctl(emu, H, NR.ADD_ROUTE, configData({ net: tcp5, nid: nid('10.0.0.2'), hop: -1 }))).errno, EEXIST, 'same route');
    const g = await ioctl(emu, H, NR.GET_ROUTE, configData({ count: 0 }));
    assert.equal(g.rc, 0);
    assert.equal(g.data!.readUInt32LE(8), tcp5);
    assert.equal(g.data!.readBigUInt64LE(16), nid('10.0.0.2'));
    assert.equal(g.data!.readInt32LE(28), -1);
    assert.equal(g.data!.readUInt32LE(32), 3);
    assert.equal(g.data!.readUInt32LE(36) & 1, 0, 'gateway not routing: route down');
    assert.equal((await ioctl(emu, H, NR.GET_ROUTE, configData({ count: 1 }))).errno, ENOENT);
    assert.equal((await ioctl(emu, H, NR.DEL_ROUTE, configData({ net: 0x20009, nid: nid('10.0.0.2') }))).errno, ENOENT);
    assert.equal((await ioctl(emu, H, NR.DEL_ROUTE, configData({ net: tcp5, nid: nid('10.0.0.2') }))).rc, 0);
  });

  test('peers: add, GET_PEER_LIST and GET_PEER_NI answer E2BIG with the size needed', async () => {
    const p = nid('192.168.5.1');
    assert.equal((await ioctl(emu, H, NR.ADD_PEER_NI, peerCfg(0xffffffffffffffffn, 0xffffffffffffffffn))).errno, EINVAL, 'ANY primary');
    assert.equal((await ioctl(emu, H, NR.ADD_PEER_NI, peerCfg(p, 0xffffffffffffffffn))).rc, 0);
    assert.equal((await ioctl(emu, H, NR.ADD_PEER_NI, peerCfg(p, 0xffffffffffffffffn))).errno, EEXIST);
    assert.equal((await ioctl(emu, H, NR.ADD_PEER_NI, peerCfg(p, nid('192.168.6.1')))).rc, 0);
    const l0 = await ioctl(emu, H, NR.GET_PEER_LIST, peerCfg(0n, 0n, { size: 0 }), 64);
    assert.equal(l0.errno, E2BIG);
    const needed = l0.data!.readUInt32LE(36);
    assert.equal(needed, 16 * l0.data!.readUInt32LE(24));
    const l1 = await ioctl(emu, H, NR.GET_PEER_LIST, peerCfg(0n, 0n, { size: needed }), needed);
    assert.equal(l1.rc, 0);
    const prims = Array.from({ length: needed / 16 }, (_, i) => l1.bulk!.readBigUInt64LE(i * 16));
    assert.ok(prims.includes(p));
    const n0 = await ioctl(emu, H, NR.GET_PEER_NI, peerCfg(nid('192.168.6.1'), 0n, { size: 100 }), 600);
    assert.equal(n0.errno, E2BIG);
    assert.equal(n0.data!.readUInt32LE(36), 2 * 284, 'two peer NIs of 284 bytes');
    assert.equal(n0.data!.readBigUInt64LE(8), p, 'primary NID returned');
    const n1 = await ioctl(emu, H, NR.GET_PEER_NI, peerCfg(p, 0n, { size: 568 }), 568);
    assert.equal(n1.rc, 0);
    assert.equal(n1.bulk!.readBigUInt64LE(284), nid('192.168.6.1'));
    assert.equal((await ioctl(emu, H, NR.GET_PEER_NI, peerCfg(nid('1.1.1.1'), 0n, { size: 568 }), 568)).errno, ENOENT);
  });

  test('numa range needs ioc_len exactly 12; stats', async () => {
    const bad = v2(16);
    bad.writeUInt32LE(3, 8);
    assert.equal((await ioctl(emu, H, NR.SET_NUMA, bad)).errno, EINVAL);
    const s = v2(12);
    s.writeUInt32LE(3, 8);
    assert.equal((await ioctl(emu, H, NR.SET_NUMA, s)).rc, 0);
    assert.equal((await ioctl(emu, H, NR.GET_NUMA, v2(12))).data!.readUInt32LE(8), 3);
    assert.equal((await ioctl(emu, H, NR.GET_LNET_STATS, v2(100))).errno, EINVAL, 'smaller than lnet_ioctl_lnet_stats');
    assert.equal((await ioctl(emu, H, NR.GET_LNET_STATS, v2(120))).rc, 0);
  });

  test('fault injection: the next N operations of a kind fail with the given errno', async () => {
    await emu.injectFault({ op: 'ioctl:GET_NI', errno: EIO, count: 2, host: H });
    assert.equal((await ioctl(emu, H, NR.GET_NI, v1({ count: 0 }))).errno, EIO);
    assert.equal((await ioctl(emu, H, NR.GET_NUMA, v2(12))).rc, 0, 'other ioctls unaffected');
    assert.equal((await ioctl(emu, H, NR.GET_NI, v1({ count: 0 }))).errno, EIO);
    assert.equal((await ioctl(emu, H, NR.GET_NI, v1({ count: 0 }))).rc, 0, 'fault used up');
    await assert.rejects(emu.injectFault({ op: 'ioctl:NO_SUCH' as 'ioctl', errno: EIO }), /unknown operation kind 'ioctl:NO_SUCH'/);
  });

  test('UNCONFIGURE returns EBUSY while Lustre holds LNet, 0 once released', async () => {
    const hold = await emu.holdByLustre(H, { role: 'client' });
    assert.equal((await ioctl(emu, H, NR.UNCONFIGURE, v1())).errno, EBUSY);
    assert.equal((await ioctl(emu, H, NR.GET_NI, v1({ count: 0 }))).rc, 0, 'still up: held by Lustre');
    const dl = await client(emu, H, ['read', '/sys/fs/lustre/devices']);
    assert.match(dl.stdout, /^ {2}0 UP mgc MGC10\.0\.0\.1@tcp /m);
    // ADD/DEL NI are refused now: LNet is no longer self-configured
    assert.equal((await ioctl(emu, H, NR.ADD_LOCAL_NI, configNi(nid('10.1.0.1', 2, 1), 'eth1'))).errno, EINVAL);
    assert.equal(await emu.releaseLustre(H, hold.id), 1);
    // Lustre modules are still loaded (ptlrpc holds LNet) until unloaded
    assert.equal((await ioctl(emu, H, NR.UNCONFIGURE, v1())).errno, EBUSY);
    for (const m of ['lustre', 'ptlrpc']) {
      const r = await client(emu, H, ['kmod-remove', m]);
      assert.match(r.stdout, new RegExp(`remove ${m} rc=0`));
    }
    assert.equal((await ioctl(emu, H, NR.UNCONFIGURE, v1())).rc, 0);
    assert.equal((await ioctl(emu, H, NR.GET_NI, v1({ count: 0 }))).errno, ENETDOWN);
  });

  test('IOC_LIBCFS_PING (61) is gone after 2.15: EINVAL', async () => {
    const d = v1({ nid: nid('10.0.0.1') });
    d.writeUInt32LE(1000, 40);
    assert.equal((await ioctl(emu, H, 59, v1({ flags: 1 }))).rc, 0);
    assert.equal((await ioctl(emu, H, 61, d)).errno, EINVAL);
    assert.equal((await ioctl(emu, H, NR.UNCONFIGURE, v1())).rc, 0);
  });

  test('PING requires a positive capacity and a NID', async () => {
    assert.equal((await ioctl(emu, H, NR.CONFIGURE, v1({ flags: 0 }))).rc, 0);
    assert.equal((await ioctl(emu, H, NR.PING, pingData(nid('10.0.0.1'), 1000, 0), 64)).errno, EINVAL);
    const self = await ioctl(emu, H, NR.PING, pingData(nid('10.0.0.1'), 1000, 16), 256);
    assert.equal(self.rc, 0);
    assert.equal(self.data!.readUInt32LE(12), 2, 'lo + tcp');
    assert.equal(self.bulk!.readBigUInt64LE(0), NID_LO);
    assert.equal(self.bulk!.readUInt32LE(8), 12345, 'LNET_PID_LUSTRE');
    assert.equal(self.bulk!.readBigUInt64LE(16), nid('10.0.0.1'));
  });
});

describe('LNet emulator: ioctl fuzzing', () => {
  test('random commands and structs get an errno or success, never a crash or a hang', async () => {
    const emu = await LnetEmulator.start({ hosts: ['f=eth0:10.30.0.1'] });
    try {
      await emu.modprobe('f', 'lnet');
      assert.equal((await ioctl(emu, 'f', NR.CONFIGURE, v1({ flags: 0 }))).rc, 0);
      let seed = 12345;
      const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
      for (let i = 0; i < 40; i++) {
        const nr = 30 + rnd(84);
        const size = [8, 12, 48, 56, 72, 128, 184, 236, 808, 988, 1040][rnd(11)]!;
        const b = Buffer.alloc(size);
        for (let k = 8; k < size; k++) b[k] = rnd(4) === 0 ? rnd(256) : 0;
        b.writeUInt32LE(rnd(8) === 0 ? rnd(1 << 20) : size, 0);
        b.writeUInt32LE(rnd(2) ? 0x0001000b : 0x0001000a, 4);
        // keep user pointers NULL so the client's memory is not scribbled on
        for (const off of [40, 72, 88, 104, 120]) if (off + 8 <= size) b.writeBigUInt64LE(0n, off);
        const r = await ioctl(emu, 'f', nr, b);
        assert.ok(r.rc === 0 || (r.rc === -1 && r.errno! > 0), `nr ${nr}: ${r.stdout}${r.stderr}`);
      }
      assert.ok(emu.isAlive());
      assert.equal((await ioctl(emu, 'f', NR.GET_NI, v1({ count: 0 }))).rc, 0, 'still serving');
    } finally {
      await emu.stop();
    }
  });
});

describe('LNet emulator: ioctl ABI, 2.15 personality', () => {
  let emu: LnetEmulator;
  before(async () => {
    emu = await LnetEmulator.start({ release: '2.15', hosts: ['old=eth0:10.2.0.1'] });
  });
  after(async () => {
    await emu?.stop();
  });

  test('/dev/lnet appears with libcfs alone; LNet ioctls then fail with EINVAL', async () => {
    assert.equal((await ioctl(emu, 'old', NR.GET_NI, v1())).errno, ENOENT);
    await emu.modprobe('old', 'libcfs');
    assert.equal((await ioctl(emu, 'old', NR.GET_NI, v1())).errno, EINVAL);
    assert.equal((await ioctl(emu, 'old', NR.CONFIGURE, v1())).errno, EINVAL);
    await emu.modprobe('old', 'lnet');
    assert.equal((await ioctl(emu, 'old', NR.GET_NI, v1())).errno, ENETDOWN);
  });

  test('GET_LOCAL_NI needs 808 + 12 + 52 bytes (2.15 LND tunables)', async () => {
    assert.equal((await ioctl(emu, 'old', NR.CONFIGURE, v1({ flags: 0 }))).rc, 0);
    const q = v2(808 + 12 + 52);
    q.writeUInt32LE(1, 792);
    const r = await ioctl(emu, 'old', NR.GET_LOCAL_NI, q);
    assert.equal(r.rc, 0);
    assert.equal(r.data!.readBigUInt64LE(8), nid('10.2.0.1'));
    assert.equal(r.data!.readUInt16LE(816 + 20 + 4), 1, 'socklnd conns_per_peer');
  });

  test('IOC_LIBCFS_PING (61) still exists on 2.15: ids through ioc_pbuf1, count in ioc_count', async () => {
    const d = v1({ nid: nid('10.2.0.1') });
    d.writeUInt32LE(0xffffffff, 36); // ioc_u32[0]: pid
    d.writeUInt32LE(1000, 40); // ioc_u32[1]: timeout in ms
    d.writeUInt32LE(256, 96); // ioc_plen1
    const r = await ioctl(emu, 'old', 61, d, 256);
    assert.equal(r.rc, 0, r.stdout);
    assert.equal(r.data!.readUInt32LE(28), 2);
    assert.equal(r.bulk!.readBigUInt64LE(0), NID_LO);
    assert.equal(r.bulk!.readBigUInt64LE(16), nid('10.2.0.1'));
  });
});
