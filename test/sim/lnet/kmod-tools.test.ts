/**
 * The emulated module tree with kmod's own tools as clients (modprobe, lsmod,
 * rmmod, modinfo from the Debian kmod package): loading by name works as on a
 * real node (the Lustre wiki's `modprobe -v lnet` transcript, seed 000).
 */
import assert from 'node:assert/strict';
import { release } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';

describe('LNet emulator: modprobe, lsmod, rmmod, modinfo', () => {
  let emu: LnetEmulator;
  const run = (...a: string[]) => emu.exec('oss', a[0]!, a.slice(1));
  before(async () => {
    emu = await LnetEmulator.start({ release: '2.16', hosts: ['oss=eth0:10.20.0.1,eth1:192.168.207.2'] });
  });
  after(async () => {
    await emu?.stop();
  });

  test('modprobe -v lnet networks=... prints the insmod lines of the wiki transcript', async () => {
    const r = await run('modprobe', '-v', 'lnet', 'networks="tcp0(eth1)"');
    assert.equal(r.code, 0, r.stderr);
    const dir = `/lib/modules/${release()}/extra/kernel/net/lustre`;
    assert.equal(r.stdout, `insmod ${dir}/libcfs.ko \ninsmod ${dir}/lnet.ko networks="tcp0(eth1)"\n`);
    const again = await run('modprobe', '-v', 'lnet');
    assert.equal(again.code, 0);
    assert.equal(again.stdout, '', 'already loaded: nothing inserted');
  });

  test('lsmod shows sizes, counts and holders; rmmod refuses a module in use', async () => {
    const up = await emu.exec('oss', '/usr/sbin/modprobe', ['lustre']);
    assert.equal(up.code, 0, up.stderr);
    const l = await run('lsmod');
    const rows = new Map(l.stdout.trim().split('\n').slice(1).map((line) => {
      const [name, size, count, by] = line.split(/\s+/);
      return [name!, { size: Number(size), count: Number(count), by: (by ?? '').split(',').filter(Boolean).sort() }];
    }));
    assert.deepEqual([...rows.keys()].sort(), ['ksocklnd', 'libcfs', 'lnet', 'lustre', 'obdclass', 'ptlrpc']);
    assert.deepEqual(rows.get('lnet')!.by, ['ksocklnd', 'lustre', 'obdclass', 'ptlrpc']);
    assert.equal(rows.get('lnet')!.count, 4);
    assert.equal(rows.get('ksocklnd')!.count, 1, 'held by the tcp NI that ptlrpc brought up');
    const rm = await run('rmmod', 'lnet');
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /rmmod: ERROR: Module lnet is in use by: /);
    // lustre_rmmod's order (dependents first, from lsmod's holders) empties the table
    for (const m of ['lustre', 'ptlrpc', 'obdclass', 'ksocklnd', 'lnet', 'libcfs']) {
      const r = await run('rmmod', m);
      assert.equal(r.code, 0, `${m}: ${r.stderr}`);
    }
    assert.equal((await run('lsmod')).stdout.trim(), 'Module                  Size  Used by');
    const gone = await run('rmmod', 'lnet');
    assert.match(gone.stderr, /Module lnet is not currently loaded/);
  });

  test('modinfo reads the module files', async () => {
    const r = await run('modinfo', 'ptlrpc');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^depends: +obdclass,lnet,libcfs$/m);
    assert.match(r.stdout, new RegExp(`^vermagic: +${release().replace(/\./g, '\\.')} `, 'm'));
    assert.equal((await run('modinfo', '-F', 'parmtype', 'lnet')).stdout.split('\n').includes('networks:charp'), true);
  });
});
