/**
 * Several emulated hosts: ping and discovery on a shared net, routes through
 * a gateway host, a NID nobody owns, an unreachable host, processes killed
 * mid-operation, and cleanup when the emulator stops.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { cliEntry } from '../../../lib/util/paths.js';
import { NID_LO, client, clientPath, configData, decodeDump, ioctl, list, nid, nl, nlRequest, peerCfg, pingData, resolveFamily, s64, str, v1 } from './helpers.js';

const ENOENT = 2, EIO = 5, ETIMEDOUT = 110, EHOSTUNREACH = 113;
const TCP1 = 0x20001;

async function bringUp(emu: LnetEmulator, host: string, networks: string): Promise<void> {
  const r = await client(emu, host, ['kmod-probe', 'lnet', `networks="${networks}"`]);
  assert.match(r.stdout, /rc=0/, r.stdout);
  assert.equal((await ioctl(emu, host, 59, v1({ flags: 0 }))).rc, 0);
}
const ping = (emu: LnetEmulator, host: string, target: bigint, ms = 1000) => ioctl(emu, host, 62, pingData(target, ms, 16), 256);

describe('LNet emulator: several hosts', () => {
  let emu: LnetEmulator;
  before(async () => {
    clientPath();
    emu = await LnetEmulator.start({
      release: '2.16',
      hosts: ['a=eth0:10.0.0.1', 'b=eth0:10.0.0.2', 'r=eth0:10.0.0.3,eth1:10.1.0.3', 'c=eth1:10.1.0.4'],
    });
    await bringUp(emu, 'a', 'tcp(eth0)');
    await bringUp(emu, 'b', 'tcp(eth0)');
    await bringUp(emu, 'r', 'tcp(eth0),tcp1(eth1)');
    await bringUp(emu, 'c', 'tcp1(eth1)');
  });
  after(async () => {
    await emu?.stop();
  });

  test('each host has its own interfaces (getifaddrs) and NIDs', async () => {
    assert.equal((await client(emu, 'r', ['ifaddrs'])).stdout, 'lo 127.0.0.1\neth0 10.0.0.3\neth1 10.1.0.3\n');
    const s = await emu.status();
    assert.deepEqual(s.hosts.find((h) => h.name === 'r')!.nids, ['0@lo', '10.0.0.3@tcp', '10.1.0.3@tcp1']);
  });

  test('ping between hosts on a shared net returns the target ids; the pinger learns a peer', async () => {
    const r = await ping(emu, 'a', nid('10.0.0.2'));
    assert.equal(r.rc, 0);
    assert.equal(r.data!.readUInt32LE(12), 2, 'ping_count');
    assert.equal(r.data!.readBigUInt64LE(24), nid('10.0.0.2'), 'primary NID');
    assert.equal(r.bulk!.readBigUInt64LE(0), NID_LO);
    assert.equal(r.bulk!.readBigUInt64LE(16), nid('10.0.0.2'));
    const l = await ioctl(emu, 'a', 100, peerCfg(0n, 0n, { size: 256 }), 256);
    assert.equal(l.rc, 0);
    assert.equal(l.bulk!.readBigUInt64LE(0), nid('10.0.0.2'));
  });

  test('discovery adds every NID of a Multi-Rail peer', async () => {
    const d = await ioctl(emu, 'b', 77, pingData(nid('10.0.0.3'), 0, 16), 256);
    assert.equal(d.rc, 0);
    assert.equal(d.data!.readUInt32LE(20), 1, 'mr_info');
    const p = await ioctl(emu, 'b', 94, peerCfg(nid('10.0.0.3'), 0n, { size: 284 * 4 }), 284 * 4);
    assert.equal(p.rc, 0);
    assert.equal(p.data!.readUInt32LE(24), 2, 'two peer NIs');
    assert.equal(p.bulk!.readBigUInt64LE(284), nid('10.1.0.3', 2, 1));
  });

  test('a NID nobody owns times out after the ping timeout', async () => {
    const t0 = Date.now();
    const r = await ping(emu, 'a', nid('10.0.0.99'), 400);
    assert.equal(r.errno, ETIMEDOUT);
    assert.ok(Date.now() - t0 >= 400, 'waited for the timeout');
  });

  test('a remote net needs a route: EHOSTUNREACH, then through the gateway once it routes', async () => {
    const target = nid('10.1.0.4', 2, 1);
    assert.equal((await ping(emu, 'a', target)).errno, EHOSTUNREACH, 'no route');
    assert.equal((await ioctl(emu, 'a', 81, configData({ net: TCP1, nid: nid('10.0.0.3'), hop: -1 }))).rc, 0);
    assert.equal((await ping(emu, 'a', target)).errno, EHOSTUNREACH, 'gateway does not route yet');
    assert.equal((await ioctl(emu, 'a', 83, configData({ count: 0 }))).data!.readUInt32LE(36) & 1, 0, 'route down');
    assert.equal((await ioctl(emu, 'r', 87, configData({ enable: 1 }))).rc, 0, 'routing enabled on the gateway');
    assert.equal((await ioctl(emu, 'a', 83, configData({ count: 0 }))).data!.readUInt32LE(36) & 1, 1, 'route up');
    const ok = await ping(emu, 'a', target);
    assert.equal(ok.rc, 0);
    assert.equal(ok.data!.readBigUInt64LE(24), target);
    // the gateway's router buffers exist now
    const b = await ioctl(emu, 'r', 89, configData({ count: 0 }, 52));
    assert.equal(b.rc, 0);
    assert.equal(b.data!.readUInt32LE(180 + 4), 512, 'tiny buffers per CPT');
    assert.equal((await ioctl(emu, 'r', 89, configData({ count: 2 }, 52))).errno, ENOENT, 'past the last CPT');
  });

  test('distances (lctl which_nid): LNET_DIST ioctl and the PEER_DIST dump agree; unreachable NIDs are skipped', async () => {
    const dist = async (n: bigint) => {
      const r = await ioctl(emu, 'a', 58, v1({ nid: n }));
      return r.rc === 0 ? r.data!.readUInt32LE(36) : -r.errno!;
    };
    assert.equal(await dist(nid('10.0.0.1')), 0, 'own NID');
    assert.equal(await dist(nid('10.0.0.2')), 1, 'local net');
    assert.equal(await dist(nid('10.1.0.4', 2, 1)), 2, 'one route away');
    assert.equal(await dist(nid('10.5.5.5', 2, 7)), -EHOSTUNREACH);
    const fam = (await resolveFamily(emu, 'a')).family;
    const d = decodeDump((await nl(emu, 'a', nlRequest(fam, 0x305, 8, 5, [list(str(5, '10.0.0.2@tcp'), str(5, '10.5.5.5@tcp7'), str(5, '10.1.0.4@tcp1'))]))).dgrams);
    assert.equal(d.done?.errno, 0);
    assert.deepEqual(d.objects, [
      { peer: '', nid: '10.0.0.2@tcp', distance: 1, order: 1 },
      { nid: '10.1.0.4@tcp1', distance: 2, order: 0 },
    ]);
  });

  test('netlink ping dump: answered NIDs, then failures under a replaced key table', async () => {
    const fam = (await resolveFamily(emu, 'a')).family;
    assert.ok(fam > 0);
    // lnetctl ping --timeout: "timeout" INT (ms) at top level, NIDs in a LIST
    const req = nlRequest(fam, 0x305, 6, 5, [str(5, 'timeout'), s64(6, 200), str(5, 'nids'), list(str(5, '10.0.0.2@tcp'), str(5, '10.0.0.99@tcp'))]);
    const d = decodeDump((await nl(emu, 'a', req)).dgrams);
    assert.equal(d.done?.errno, 0);
    assert.equal(d.tables, 2);
    assert.equal(d.replaced, 1);
    assert.deepEqual(d.objects[0], { ping: '', 'primary nid': '10.0.0.2@tcp', peer_ni: [{ nid: '10.0.0.2@tcp' }] });
    assert.deepEqual(d.objects[1], { manage: '', ping: '\n', errno: -ETIMEDOUT, descr: 'failed to ping 10.0.0.99@tcp' });
    // discover (doit, NLM_F_CREATE): the peer's NIDs and Multi-Rail
    const disc = nlRequest(fam, 0x405, 6, 5, [str(5, 'nids'), list(str(5, '10.0.0.3@tcp'))]);
    const r = await nl(emu, 'a', disc);
    const dd = decodeDump(r.dgrams);
    assert.equal(dd.error?.errno, 0, 'followed by the ack');
    assert.deepEqual(dd.objects[0], { discover: '', 'primary nid': '10.0.0.3@tcp', 'Multi-Rail': true, peer_ni: [{ nid: '10.0.0.3@tcp' }, { nid: '10.1.0.3@tcp1' }] });
  });

  test('an unreachable host stops answering pings until it is reachable again', async () => {
    await emu.setUnreachable('b');
    assert.equal((await ping(emu, 'a', nid('10.0.0.2'), 300)).errno, ETIMEDOUT);
    await emu.setUnreachable('b', false);
    assert.equal((await ping(emu, 'a', nid('10.0.0.2'))).rc, 0);
  });

  test('threads of one process are served concurrently: a waiting ping does not hold up other calls', async () => {
    const r = await client(emu, 'a', ['concurrent', pingData(nid('10.0.0.88'), 1500, 16).toString('hex'), v1({ count: 0 }).toString('hex')]);
    const g = /getni rc=(-?\d+) ms=(\d+) pingdone=(\d)/.exec(r.stdout);
    const p = /ping rc=(-?\d+) errno=(\d+) ms=(\d+)/.exec(r.stdout);
    assert.ok(g && p, r.stdout + r.stderr);
    assert.equal(Number(g![1]), 0);
    assert.equal(g![3], '0', `GET_NI answered while the ping still waited (GET_NI took ${g![2]} ms, the ping ${p![3]} ms)`);
    assert.equal(Number(p![2]), ETIMEDOUT);
    assert.ok(Number(p![3]) >= 1400, `ping waited its timeout (${p![3]} ms)`);
  });

  test('state shared by every process of a host; a process killed mid-ping leaves it consistent', async () => {
    const before = await emu.status();
    const child = emu.spawn(clientPath(), ['ioctl', '62', pingData(nid('10.0.0.77'), 5000, 16).toString('hex'), '256'], { host: 'a' });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const st = await emu.status();
    const a0 = before.hosts.find((h) => h.name === 'a')!;
    const a1 = st.hosts.find((h) => h.name === 'a')!;
    assert.deepEqual(a1.nids, a0.nids);
    assert.deepEqual(a1.routes, a0.routes);
    assert.equal(a1.refcount, a0.refcount);
    assert.equal(a1.devOpen, 0, 'the dead process holds nothing');
    assert.equal((await ping(emu, 'a', nid('10.0.0.2'))).rc, 0, 'the host still works');
    // another process on the same host sees the same kernel
    assert.equal((await ioctl(emu, 'a', 83, configData({ count: 0 }))).data!.readUInt32LE(8), TCP1);
  });
});

describe('LNet emulator: lifecycle', () => {
  test('a client never hangs when the daemon is gone: EIO and a message', async () => {
    const emu = await LnetEmulator.start({ hosts: ['z=eth0:10.9.0.1'] });
    try {
      await emu.modprobe('z', 'lnet');
      const child = emu.spawn(clientPath(), ['hold-dev', '2'], { host: 'z' });
      await new Promise<void>((res) => child.stdout!.once('data', () => res()));
      process.kill(emu.state.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      const env = { ...process.env, ...emu.env('z') };
      const r = spawnSync(clientPath(), ['ioctl', '50', v1().toString('hex')], { env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.signal, null, 'the client ended by itself, not by the hang guard');
      assert.match(r.stdout, /open errno=5/, r.stdout);
      assert.match(r.stderr, /LNet emulator daemon .* is not reachable/);
      child.kill('SIGKILL');
    } finally {
      await emu.stop();
    }
    assert.ok(!existsSync(emu.dir));
  });

  test('a daemon that stops answering: the client gives up after its timeout with EIO', async () => {
    const emu = await LnetEmulator.start({ hosts: ['s=eth0:10.9.1.1'] });
    try {
      await emu.modprobe('s', 'lnet');
      process.kill(emu.state.pid, 'SIGSTOP');
      const env = { ...process.env, ...emu.env('s'), HPCNET_LNETEMU_TIMEOUT_MS: '500' };
      const r = spawnSync(clientPath(), ['ioctl', '50', v1().toString('hex')], { env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.signal, null, 'the client gave up by itself (its 500 ms timeout), not killed by the hang guard');
      assert.match(r.stdout, /open errno=5/, r.stdout + r.stderr);
      assert.match(r.stderr, /is not reachable: (no answer in time|Connection timed out)/);
    } finally {
      process.kill(emu.state.pid, 'SIGCONT');
      await emu.stop();
    }
  });

  test('SIGINT to the process that started a temporary emulator removes its daemon and files', async () => {
    const script = `
      const { LnetEmulator } = await import(${JSON.stringify(new URL('../../../lib/sim/lnet/index.js', import.meta.url).href)});
      const e = await LnetEmulator.start({ hosts: ['t=eth0:10.9.2.1'] });
      process.stdout.write(JSON.stringify({ dir: e.dir, pid: e.state.pid }) + '\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const info = await new Promise<{ dir: string; pid: number }>((res) => child.stdout!.once('data', (d: Buffer) => res(JSON.parse(d.toString()) as { dir: string; pid: number })));
    assert.ok(existsSync(info.dir));
    child.kill('SIGINT');
    await new Promise((r) => child.once('close', r));
    for (let i = 0; i < 100 && existsSync(`/proc/${info.pid}`); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!existsSync(info.dir), 'state folder removed');
    assert.ok(!existsSync(`/proc/${info.pid}/stat`) || /\) [ZX] /.test(readFileSync(`/proc/${info.pid}/stat`, 'utf8')), 'daemon gone');
  });

  test('stop removes the daemon, the processes started on it and every file', async () => {
    const emu = await LnetEmulator.start({ hosts: ['y=eth0:10.8.0.1'] });
    const child = emu.spawn('sleep', ['60'], { host: 'y' });
    const dir = emu.dir;
    assert.ok(existsSync(join(dir, 'hosts', 'y', 'root', 'proc', 'modules')));
    await emu.stop();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(child.killed || child.exitCode !== null || child.signalCode !== null);
    assert.ok(!existsSync(dir), 'state folder removed');
    assert.throws(() => readFileSync(`/proc/${emu.state.pid}/stat`), 'daemon gone');
    assert.equal(LnetEmulator.list().some((s) => s.name === emu.name), false);
  });

  test('CLI: start, status, exec, fault, stop', async () => {
    const env = { ...process.env, HPCNET_DEBUG: '1' };
    const cli = (...a: string[]) => spawnSync(process.execPath, [cliEntry(), 'sim', 'lnet', ...a], { env, encoding: 'utf8', timeout: 60_000 });
    const name = `clitest-${process.pid}`;
    const s = cli('start', '--name', name, '--release', '2.15', '--host', 'h1=eth0:10.7.0.1');
    assert.equal(s.status, 0, s.stderr);
    try {
      assert.match(s.stdout, /release 2\.15, hosts h1 \(eth0 10\.7\.0\.1\)/);
      const e = cli('exec', '--name', name, '--host', 'h1', '--', clientPath(), 'ifaddrs');
      assert.equal(e.status, 0, e.stderr);
      assert.equal(e.stdout, 'lo 127.0.0.1\neth0 10.7.0.1\n');
      const f = cli('fault', '--name', name, '--op', 'open', '--errno', 'EIO');
      assert.equal(f.status, 0, f.stderr);
      cli('exec', '--name', name, '--', clientPath(), 'kmod-probe', 'libcfs');
      const o = cli('exec', '--name', name, '--', clientPath(), 'ioctl', '50', v1().toString('hex'));
      assert.match(o.stdout, new RegExp(`open errno=${EIO}`));
      const st = cli('status', '--name', name, '--json');
      const parsed = JSON.parse(st.stdout) as Array<{ status: { hosts: Array<{ modules: Array<{ name: string }> }> } }>;
      assert.deepEqual(parsed[0]!.status.hosts[0]!.modules.map((m) => m.name), ['libcfs']);
      const lu = cli('lustre', 'mgs', '--name', name);
      assert.equal(lu.status, 0, lu.stderr);
      assert.match(lu.stdout, /UP mgs MGS MGS/);
      const bad = cli('start', '--name', name);
      assert.notEqual(bad.status, 0, 'name already running');
      assert.match(bad.stderr, /already running/);
    } finally {
      const st = cli('stop', '--name', name);
      assert.equal(st.status, 0, st.stderr);
    }
    assert.match(cli('status', '--name', name).stderr, /no LNet emulator named/);
  });
});
