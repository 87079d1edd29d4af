/**
 * The native handle on this host's real kernel, read-only: a generic
 * netlink round trip to the controller (family "nlctrl", which every Linux
 * kernel has), the absent "lnet" family, /dev/lnet missing, argument abuse,
 * close semantics, V1 packing rules (reference 1.4) and use from a
 * worker_thread that exits on its own.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { loadLnetNative } from '../../../lib/native/loader.js';
import { packV1 } from '../../../lib/lnet/kernel/abi.js';
import { LnetError, openLnetKernel } from '../../../lib/lnet/kernel/index.js';
import { checkReplies, familyRequest, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, parseFamily } from '../../../lib/lnet/kernel/netlink.js';

const native = loadLnetNative();

test('generic netlink round trip through libnl: the controller describes itself (nlctrl = 0x10, group notify)', async () => {
  const h = new native.LnetHandle();
  try {
    const r = await h.nlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0, familyRequest('nlctrl'));
    // The request went out framed by libnl: REQUEST|ACK, our port.
    assert.equal(r.request.readUInt16LE(6), 0x5);
    assert.equal(r.request.readUInt32LE(12), await h.nlPort());
    const msgs = checkReplies(r.replies, 'CTRL_CMD_GETFAMILY');
    const fam = parseFamily(msgs[0]!);
    assert.equal(fam.id, 0x10);
    assert.equal(fam.name, 'nlctrl');
    assert.ok('notify' in fam.groups);
    assert.ok(fam.ops.some((o) => o.id === CTRL_CMD_GETFAMILY));
  } finally {
    h.close();
  }
});

test('an unknown family is ENOENT from the kernel; the layer reports no netlink and the ioctl layout it falls back to', { skip: existsSync('/dev/lnet') ? 'a real LNet is present' : false }, async () => {
  await using k = openLnetKernel();
  const info = await k.info();
  assert.equal(info.netlink, undefined);
  assert.equal(info.release, '2.15');
  assert.equal(info.releaseSource, 'no-netlink-family');
  assert.equal(info.transports.configure, 'ioctl');
  await assert.rejects(k.netlink.request('NETS', 0x300), (e: unknown) => e instanceof LnetError && e.code === 'ENOENT' && /failed to resolve Netlink family id/.test(e.message));
  // /dev/lnet absent: ENOENT from open(), not mistaken for the end of the NID list.
  await assert.rejects(k.listNids(), (e: unknown) => e instanceof LnetError && e.code === 'ENOENT' && e.syscall === 'open' && !e.isKernelRefusal && /modules may not be loaded/.test(e.message));
  assert.deepEqual(k.lastTransport, { op: 'listNids', transport: 'ioctl' });
});

test('argument abuse throws TypeError/RangeError synchronously, never crashes', () => {
  const h = new native.LnetHandle();
  const any = h as unknown as Record<string, (...a: unknown[]) => unknown>;
  assert.throws(() => any['ioctl']!('op', 'x', Buffer.alloc(8)), TypeError);
  assert.throws(() => any['ioctl']!('op', 1, 'not a buffer'), TypeError);
  assert.throws(() => any['ioctl']!('op', 1, Buffer.alloc(4)), RangeError);
  assert.throws(() => any['ioctl']!('op', 1, Buffer.alloc(128), [[124, 0, 0]]), RangeError);
  assert.throws(() => any['ioctl']!('op', 1, Buffer.alloc(128), [[0, 1, 0]], []), RangeError);
  assert.throws(() => any['nlRequest']!(0x10000, 1, 1, 0, Buffer.alloc(0)), RangeError);
  assert.throws(() => any['readFile']!(42), TypeError);
  assert.throws(() => any['writeFile']!('/x', 'a\0b'), TypeError);
  assert.throws(() => native.buildRequest(1, 300, 0, 0, Buffer.alloc(0), 0, 0), RangeError);
  h.close();
});

test('close(): idempotent, later calls reject with ERR_CLOSED; LnetKernel.close waits for calls in flight', async () => {
  const h = new native.LnetHandle();
  h.close();
  h.close();
  await assert.rejects(h.readFile('/proc/self/stat'), { code: 'ERR_CLOSED' });
  const k = openLnetKernel();
  const p = k.modules.readParamRaw('lnet', 'networks').catch((e: unknown) => e);
  await k.close();
  assert.ok((await p) instanceof LnetError, 'the call in flight settled before close returned');
  await assert.rejects(k.listNids(), { code: 'ERR_CLOSED' });
});

test('V1 packing: ioc_len = 128 + round8(l1) + round8(l2), NUL-terminated inline buffers, pointers into the bulk', () => {
  const { arg, patches } = packV1({ count: 3, flags: 1 }, 'tcp', 'abcdefghij');
  assert.equal(arg.buf.readUInt32LE(0), 128 + 8 + 16);
  assert.equal(arg.buf.readUInt32LE(4), 0x0001000a);
  assert.equal(arg.buf.length, 152);
  assert.equal(arg.u32('ioc_inllen1'), 4);
  assert.equal(arg.u32('ioc_inllen2'), 11);
  assert.equal(arg.buf.toString('latin1', 128, 132), 'tcp\0');
  assert.equal(arg.buf.toString('latin1', 136, 147), 'abcdefghij\0');
  assert.deepEqual(patches, [[72, 0, 128], [88, 0, 136]]);
  assert.equal(arg.u32('ioc_count'), 3);
  assert.equal(arg.u32('ioc_flags'), 1);
  const bare = packV1({});
  assert.equal(bare.arg.buf.length, 128);
  assert.equal(bare.arg.buf.readUInt32LE(0), 128);
  assert.deepEqual(bare.patches, []);
  assert.throws(() => packV1({}, Buffer.from('no-nul')), RangeError);
});

test('works in a worker_thread and the worker exits on its own with a handle left open', async () => {
  const url = new URL('../../../lib/lnet/kernel/index.js', import.meta.url).href;
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(url)}).then(async (m) => {
      const k = m.openLnetKernel();
      const fam = await k.netlink.family();
      const r = await k.modules.readParamRaw('nosuchmodule', 'x').catch((e) => e.code);
      parentPort.postMessage({ fam: fam === undefined ? 'none' : fam.name, r });
      // deliberately not closed: the environment cleanup hook must free it
    });`;
  const w = new Worker(code, { eval: true });
  const msg = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.deepEqual(msg, { fam: existsSync('/dev/lnet') ? 'lnet' : 'none', r: 'ENOENT' });
  const exitCode = await new Promise((resolve) => w.once('exit', resolve));
  assert.equal(exitCode, 0);
});

test('a process with a handle left open (after a call) exits on its own', async () => {
  const url = new URL('../../../lib/lnet/kernel/index.js', import.meta.url).href;
  const code = `import(${JSON.stringify(url)}).then(async (m) => { const k = m.openLnetKernel(); await k.netlink.family(); await k.modules.readParamRaw('nosuchmodule', 'x').catch(() => {}); console.log('done'); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  assert.equal(signal, null, 'not killed by the deadline');
  assert.equal(exitCode, 0);
  assert.equal(out.trim(), 'done');
});

test('NativeLnetBackend.close() drains the calls in flight (its file reads included) before closing the handle', { skip: existsSync('/sys/fs/lustre/devices') ? 'Lustre is present' : false }, async () => {
  const { NativeLnetBackend } = await import('../../../lib/lnet/native-backend.js');
  const b = new NativeLnetBackend();
  // lustreDevices() reads the devices file at each of its paths in turn (none exists here).
  const devices = b.lustreDevices();
  await b.close();
  assert.deepEqual(await devices, [], 'the read in flight completed; it was not cut off by close()');
});

test('the ioctl boundary checks ioc_len and every length field against the buffers passed, before the syscall', () => {
  const h = new native.LnetHandle();
  try {
    const io = (cmd: string, arg: Buffer, patches?: [number, number, number][], aux?: Buffer[]): unknown => h.ioctl('test', native.layouts.ioctl[cmd]!, arg, patches, aux);
    const v2 = (size: number, len = size): Buffer => {
      const b = Buffer.alloc(size);
      b.writeUInt32LE(len, 0);
      b.writeUInt32LE(native.layouts.version2, 4);
      return b;
    };
    // ioc_len larger than the buffer: the kernel would copy past its end.
    assert.throws(() => io('GET_NI', v2(184, 4096)), (e: unknown) => e instanceof RangeError && /ioc_len 4096 does not fit the argument buffer \(184 bytes\)/.test(e.message));
    // ping_count ids of 16 bytes written into a 16-byte buffer.
    const ping = v2(56);
    ping.writeUInt32LE(100, 12);
    assert.throws(() => io('PING_PEER', ping, [[40, 1, 0]], [Buffer.alloc(16)]), /ping_count asks for 1600 bytes/);
    // prcfg_size bytes written into the bulk buffer.
    const peer = v2(48);
    peer.writeUInt32LE(4096, 36);
    assert.throws(() => io('GET_PEER_LIST', peer, [[40, 1, 0]], [Buffer.alloc(8)]), /prcfg_size asks for 4096 bytes/);
    // V1: inline lengths beyond ioc_len; a user buffer shorter than ioc_plen1.
    const v1 = Buffer.alloc(136);
    v1.writeUInt32LE(136, 0);
    v1.writeUInt32LE(native.layouts.version1, 4);
    v1.writeUInt32LE(200, 64);
    assert.throws(() => io('LNET_FAULT', v1), /inline buffers need 328 bytes, ioc_len is 136/);
    v1.writeUInt32LE(0, 64);
    v1.writeUInt32LE(64, 96);
    assert.throws(() => io('LNET_FAULT', v1, [[104, 1, 0]], [Buffer.alloc(8)]), /ioc_plen1 asks for 64 bytes/);
    // A pointer whose length field is unknown is refused rather than trusted.
    assert.throws(() => io('GET_NI', v2(184), [[40, 1, 0]], [Buffer.alloc(8)]), /no length field is known/);
  } finally {
    h.close();
  }
});
