/**
 * Kernel modules and module parameters through the emulator's preload, with
 * libkmod itself as the client (lookup by name through modules.dep.bin,
 * probe-insert with dependencies, holders and refcounts from /sys/module).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { client, clientPath, ioctl, v1 } from './helpers.js';

const EAGAIN = 11;

function kmodList(out: string): Map<string, { refcnt: number; holders: string[] }> {
  const m = new Map<string, { refcnt: number; holders: string[] }>();
  for (const line of out.split('\n')) {
    const r = /^(\S+) refcnt=(-?\d+) state=(\S+) holders=(.*)$/.exec(line);
    if (r) m.set(r[1]!, { refcnt: Number(r[2]), holders: r[4]!.split(',').filter(Boolean).sort() });
  }
  return m;
}

describe('LNet emulator: modules through libkmod, 2.16', () => {
  let emu: LnetEmulator;
  const H = 'm1';
  before(async () => {
    clientPath();
    emu = await LnetEmulator.start({ release: '2.16', hosts: ['m1=eth0:10.4.0.1,eth1:10.5.0.1'] });
  });
  after(async () => {
    await emu?.stop();
  });

  test('modprobe lnet by name loads libcfs then lnet (modules.dep.bin lookup), with options', async () => {
    const r = await client(emu, H, ['kmod-probe', 'lnet', 'networks="tcp1(eth1)" lnet_transaction_timeout=100']);
    assert.match(r.stdout, /probe lnet path=\/lib\/modules\/[^/]+\/extra\/kernel\/net\/lustre\/lnet\.ko rc=0/, r.stdout + r.stderr);
    const l = kmodList((await client(emu, H, ['kmod-list'])).stdout);
    assert.deepEqual([...l.keys()].sort(), ['libcfs', 'lnet']);
    assert.deepEqual(l.get('libcfs')!.holders, ['lnet']);
    assert.equal(l.get('libcfs')!.refcnt, 1);
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/parameters/networks'])).stdout, 'tcp1(eth1)\n');
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/parameters/lnet_transaction_timeout'])).stdout, '100\n');
    const again = await client(emu, H, ['kmod-probe', 'lnet']);
    assert.match(again.stdout, /rc=0/, 'already loaded: modprobe succeeds without inserting');
    const unknown = await client(emu, H, ['kmod-probe', 'nosuchmod']);
    assert.match(unknown.stdout, /found=0/);
  });

  test('module parameters: defaults, validation on write, read-only files', async () => {
    const defaults: Record<string, string> = {
      lnet_interfaces_max: '4096\n',
      lnet_peer_discovery_disabled: '0\n',
      lnet_retry_count: '2\n',
      lnet_health_sensitivity: '100\n',
      lnet_recovery_limit: '0\n',
      lnet_max_recovery_ping_interval: '900\n',
      lnet_response_tracking: '3\n',
      lnet_drop_asym_route: '0\n',
      accept: 'secure\n',
      accept_port: '988\n',
      config_on_load: '0\n',
    };
    for (const [k, v] of Object.entries(defaults)) assert.equal((await client(emu, H, ['read', `/sys/module/lnet/parameters/${k}`])).stdout, v, k);
    const w = async (k: string, v: string) => (await client(emu, H, ['write', `/sys/module/lnet/parameters/${k}`, v])).stdout;
    assert.match(await w('lnet_interfaces_max', '15'), /write=-1 errno=22/, 'EINVAL if < 16');
    assert.match(await w('lnet_interfaces_max', '16'), /write=3 errno=0/, 'strlen+1 bytes accepted');
    assert.match(await w('lnet_response_tracking', '4'), /errno=22/);
    assert.match(await w('lnet_peer_discovery_disabled', '2'), /errno=22/);
    assert.match(await w('lnet_transaction_timeout', '0'), /errno=22/);
    assert.match(await w('lnet_retry_count', '101'), /errno=22/, 'retry_count > transaction_timeout (100)');
    assert.match(await w('lnet_health_sensitivity', '0'), /errno=0/);
    assert.match(await w('lnet_retry_count', '1'), /errno=22/, 'retry_count > 0 while health_sensitivity is 0');
    assert.match(await w('lnet_health_sensitivity', 'abc'), /errno=22/);
    assert.match(await w('networks', 'tcp'), /open errno=13/, 'networks is 0444');
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/parameters/lnet_interfaces_max'])).stdout, '16\n');
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/parameters/nosuch'])).stdout, 'open errno=2\n');
  });

  test('stdio writes, glob(3) and stat(2) see the emulated files', async () => {
    const f = await client(emu, H, ['fwrite', '/sys/module/lnet/parameters/lnet_drop_asym_route', '1']);
    assert.match(f.stdout, /fflush=0 errno=0 fclose=0/);
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/parameters/lnet_drop_asym_route'])).stdout, '1\n');
    const bad = await client(emu, H, ['fwrite', '/sys/module/lnet/parameters/lnet_drop_asym_route', '7']);
    assert.match(bad.stdout, /fflush=-1 errno=22/, 'validation error surfaces from fflush');
    const g = await client(emu, H, ['glob', '/sys/module/l*/parameters/lnet_retry_count']);
    assert.equal(g.stdout, 'glob=0\n/sys/module/lnet/parameters/lnet_retry_count\n', 'paths as the program asked for them');
    assert.match((await client(emu, H, ['stat', '/sys/module/lnet/parameters/networks'])).stdout, /stat=0 errno=0 mode=444/);
    assert.match((await client(emu, H, ['stat', '/sys/module/lnet/parameters/lnet_retry_count'])).stdout, /stat=0 errno=0 mode=644/);
    assert.match((await client(emu, H, ['stat', '/dev/lnet'])).stdout, /stat=0/);
    assert.match((await client(emu, H, ['stat', '/sys/module/ko2iblnd'])).stdout, /stat=-1 errno=2/);
  });

  test('configure uses networks= (NID on eth1); holders and refcounts; rmmod refused while in use', async () => {
    assert.equal((await ioctl(emu, H, 59, v1({ flags: 0 }))).rc, 0);
    const nid = await ioctl(emu, H, 50, v1({ count: 1 }));
    assert.equal(nid.data!.readBigUInt64LE(8), 0x00020001_0a050001n, '10.5.0.1@tcp1');
    const l = kmodList((await client(emu, H, ['kmod-list'])).stdout);
    assert.deepEqual(l.get('lnet')!.holders, ['ksocklnd']);
    assert.equal(l.get('lnet')!.refcnt, 2, 'ksocklnd + self-configured LNet');
    assert.equal(l.get('ksocklnd')!.refcnt, 1, 'held by its NI');
    assert.match((await client(emu, H, ['kmod-remove', 'lnet'])).stdout, new RegExp(`rc=-${EAGAIN}`));
    assert.match((await client(emu, H, ['kmod-remove', 'ksocklnd'])).stdout, new RegExp(`rc=-${EAGAIN}`));
    const procModules = (await client(emu, H, ['read', '/proc/modules'])).stdout;
    assert.match(procModules, /^lnet \d+ 2 ksocklnd, Live 0x0000000000000000 \(OE\)$/m);
    assert.match(procModules, /^libcfs \d+ 2 (lnet,ksocklnd|ksocklnd,lnet), Live/m);
    // unconfigure releases everything; then modules unload in dependency order and /dev/lnet goes away
    assert.equal((await ioctl(emu, H, 56, v1())).rc, 0);
    for (const m of ['ksocklnd', 'lnet', 'libcfs']) assert.match((await client(emu, H, ['kmod-remove', m])).stdout, /rc=0/, m);
    assert.equal((await ioctl(emu, H, 50, v1())).errno, 2, '/dev/lnet gone');
    assert.equal((await client(emu, H, ['read', '/proc/modules'])).stdout, '');
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/parameters/networks'])).stdout, 'open errno=2\n');
  });

  test('an open /dev/lnet holds lnet.ko; the reference goes away when the holder is killed', async () => {
    await client(emu, H, ['kmod-probe', 'lnet']);
    const child = emu.spawn(clientPath(), ['hold-dev', '30'], { host: H });
    await new Promise<void>((res) => child.stdout!.once('data', () => res()));
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/refcnt'])).stdout, '1\n');
    assert.match((await client(emu, H, ['kmod-remove', 'lnet'])).stdout, /rc=-11/);
    child.kill('SIGKILL');
    await new Promise((res) => child.once('close', res));
    for (let i = 0; i < 50 && (await client(emu, H, ['read', '/sys/module/lnet/refcnt'])).stdout !== '0\n'; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/refcnt'])).stdout, '0\n');
    assert.match((await client(emu, H, ['kmod-remove', 'lnet'])).stdout, /rc=0/);
  });

  test('the device reference belongs to the process: it outlives the thread that opened /dev/lnet', async () => {
    await client(emu, H, ['kmod-probe', 'lnet']);
    const child = emu.spawn(clientPath(), ['thread-open', '30'], { host: H });
    const line = await new Promise<string>((res) => child.stdout!.once('data', (d: Buffer) => res(d.toString())));
    assert.match(line, /opened fd=\d+/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/refcnt'])).stdout, '1\n', 'still held after the opening thread exited');
    child.kill('SIGKILL');
    await new Promise((res) => child.once('close', res));
    for (let i = 0; i < 50 && (await client(emu, H, ['read', '/sys/module/lnet/refcnt'])).stdout !== '0\n'; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await client(emu, H, ['read', '/sys/module/lnet/refcnt'])).stdout, '0\n');
    assert.match((await client(emu, H, ['kmod-remove', 'lnet'])).stdout, /rc=0/);
  });

  test('the Lustre stack: modprobe lustre starts LNet (held by ptlrpc); lctl dl devices; lustre_rmmod order works', async () => {
    const r = await client(emu, H, ['kmod-probe', 'lustre']);
    assert.match(r.stdout, /probe lustre .* rc=0/);
    const l = kmodList((await client(emu, H, ['kmod-list'])).stdout);
    assert.deepEqual([...l.keys()].sort(), ['ksocklnd', 'libcfs', 'lnet', 'lustre', 'obdclass', 'ptlrpc']);
    assert.deepEqual(l.get('ptlrpc')!.holders, ['lustre']);
    assert.equal((await ioctl(emu, H, 56, v1())).errno, 16, 'LNet held by Lustre: EBUSY');
    const hold = await emu.holdByLustre(H, { role: 'client', fsname: 'testfs' });
    const dl = (await client(emu, H, ['read', '/proc/fs/lustre/devices'])).stdout;
    assert.equal(dl, hold.devices.map((d, i) => `${String(i).padStart(3)} ${d}\n`).join(''));
    assert.match(dl, /testfs-clilov-/);
    assert.match((await client(emu, H, ['kmod-remove', 'lustre'])).stdout, /rc=-11/, 'mounted: lustre in use');
    await emu.releaseLustre(H);
    // unload_dep_modules_inclusive order: dependents first, from the holders lists
    for (const m of ['lustre', 'ptlrpc', 'obdclass', 'ksocklnd', 'lnet', 'libcfs']) assert.match((await client(emu, H, ['kmod-remove', m])).stdout, /rc=0/, m);
  });

  test('module load/unload need CAP_SYS_MODULE', async () => {
    const r = await emu.exec(H, 'setpriv', ['--bounding-set', '-sys_module', clientPath(), 'kmod-probe', 'libcfs']);
    assert.match(r.stdout, /rc=-1\b/, r.stdout + r.stderr);
  });

  test('fault injection on module load', async () => {
    await emu.injectFault({ op: 'module-load', errno: 12, host: H });
    assert.match((await client(emu, H, ['kmod-probe', 'libcfs'])).stdout, /rc=-12/);
    assert.match((await client(emu, H, ['kmod-probe', 'libcfs'])).stdout, /rc=0/);
  });
});

describe('LNet emulator: modules, 2.15', () => {
  let emu: LnetEmulator;
  before(async () => {
    emu = await LnetEmulator.start({ release: '2.15', hosts: ['q=eth0:10.6.0.1'] });
  });
  after(async () => {
    await emu?.stop();
  });
  test('/dev/lnet belongs to libcfs: an open device holds libcfs, not lnet', async () => {
    await client(emu, 'q', ['kmod-probe', 'lnet']);
    const child = emu.spawn(clientPath(), ['hold-dev', '30'], { host: 'q' });
    await new Promise<void>((res) => child.stdout!.once('data', () => res()));
    assert.equal((await client(emu, 'q', ['read', '/sys/module/libcfs/refcnt'])).stdout, '2\n', 'holder lnet + open device');
    assert.equal((await client(emu, 'q', ['read', '/sys/module/lnet/refcnt'])).stdout, '0\n');
    child.kill('SIGKILL');
    await new Promise((res) => child.once('close', res));
  });
});
