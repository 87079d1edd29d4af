/**
 * Module handling compared with kmod's own tools as oracles, on the LNet
 * emulator: what the kernel layer reports for a load must be what
 * `modprobe -v` prints for the same load on an identical fresh host, and its
 * module list must agree with `lsmod` (size, "Used by" count and holders).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { modprobeVerboseLine, type LoadedModule, type ModuleInsertion } from '../../../lib/lnet/kernel/index.js';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';

const DRIVER = fileURLToPath(new URL('./emu-driver.js', import.meta.url));
const MODPROBE = '/usr/sbin/modprobe';
const LSMOD = '/usr/sbin/lsmod';

async function driver(emu: LnetEmulator, host: string, plan: unknown[]): Promise<Record<string, { ok: boolean; value?: unknown; error?: { code: string } }>> {
  const r = await emu.exec(host, process.execPath, [DRIVER, JSON.stringify(plan)], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const steps = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; ok: boolean; value?: unknown; error?: { code: string } });
  return Object.fromEntries(steps.map((x) => [x.id, x]));
}

describe('modules against kmod (modprobe -v, lsmod) on the emulator', { timeout: 120_000 }, () => {
  let emu: LnetEmulator;
  before(async () => {
    // The oracle is required: ./scripts/setup installs kmod; without it the suite fails, it does not skip.
    for (const tool of [MODPROBE, LSMOD]) assert.ok(existsSync(tool), `${tool} missing: kmod is not installed (./scripts/setup installs it)`);
    emu = await LnetEmulator.start({ release: '2.16', hosts: ['ours=eth0:10.0.0.1/24', 'kmod=eth0:10.0.0.2/24'] });
  });
  after(async () => {
    await emu?.stop();
  });

  test('load lnet with networks= then ksocklnd: the insertions print exactly as modprobe -v', async () => {
    const r = await driver(emu, 'ours', [
      { id: 'lnet', call: 'modules.load', args: ['lnet', { networks: 'tcp0(eth0)' }] },
      { id: 'sock', call: 'modules.load', args: ['ksocklnd'] },
      { id: 'list', call: 'modules.list' },
    ]);
    const ours = [...(r['lnet']!.value as ModuleInsertion[]), ...(r['sock']!.value as ModuleInsertion[])].map(modprobeVerboseLine);
    const a = await emu.exec('kmod', MODPROBE, ['-v', 'lnet', 'networks="tcp0(eth0)"']);
    const b = await emu.exec('kmod', MODPROBE, ['-v', 'ksocklnd']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(ours, (a.stdout + b.stdout).split('\n').filter((l) => l !== ''));
    assert.ok(ours.length >= 3, 'libcfs, lnet and ksocklnd were inserted');

    // lsmod on our host: same modules, sizes, use counts and holders.
    const ls = await emu.exec('ours', LSMOD, []);
    assert.equal(ls.code, 0, ls.stderr);
    const rows = ls.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    const list = r['list']!.value as LoadedModule[];
    assert.equal(list.length, rows.length);
    for (const [name, size, used, by] of rows) {
      const m = list.find((x) => x.name === name);
      assert.ok(m, `${name} listed`);
      assert.equal(m.size, Number(size), `${name} size`);
      assert.equal(m.refcount, Number(used), `${name} use count`);
      assert.deepEqual([...m.holders].sort(), (by ?? '').split(',').filter((x) => x).sort(), `${name} holders`);
    }
  });
});
