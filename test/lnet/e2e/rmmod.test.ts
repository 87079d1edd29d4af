/**
 * `hpcnet lnet unload` against the logic of Lustre's lustre_rmmod (the unload
 * part, test/lnet/fixtures/rmmod-logic.sh, run with kmod's lsmod/rmmod on the
 * emulated host and tools-client for `lctl dl`'s devices lookup and `lctl net
 * down`), under every simulated Lustre role: while a role holds LNet both
 * refuse (unload names the devices; the script's rmmod fails on the module in
 * use and the devices stay listed); once released both remove the whole stack.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { packageRoot } from '../../../lib/util/paths.js';
import { toolsClientPath } from '../../sim/lnet/helpers.js';
import { cliRunner } from './cli-runner.js';

const LNET_MODULES = /^(libcfs|lnet|ksocklnd|ko2iblnd|obdclass|ptlrpc|lustre)$/;

for (const release of ['2.15', '2.16'] as const) {
  describe(`hpcnet lnet unload and lustre_rmmod's logic agree under every Lustre role (${release})`, () => {
    let emu: LnetEmulator;
    const { cli, ok } = cliRunner(() => emu);
    const script = join(packageRoot(), 'test', 'lnet', 'fixtures', 'rmmod-logic.sh');
    const rmmodLogic = async () => {
      const r = await emu.exec('n', 'sh', ['-c', `TOOLS='${toolsClientPath()}' sh '${script}'`], { timeoutMs: 60_000 });
      return r;
    };
    const loaded = async () => (await emu.exec('n', 'lsmod', [])).stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]!).filter((m) => LNET_MODULES.test(m));

    before(async () => {
      toolsClientPath();
      emu = await LnetEmulator.start({ release, hosts: ['n=eth0:10.0.0.1'] });
    });
    after(async () => {
      await emu?.stop();
    });

    for (const role of ['client', 'mgs', 'mdt', 'ost'] as const) {
      it(`${role}: both refuse while it holds LNet; both remove everything once released`, async () => {
        await emu.holdByLustre('n', { role });
        const refused = await cli('n', 'lnet', 'unload');
        assert.notEqual(refused.code, 0, 'hpcnet lnet unload refuses');
        assert.match(refused.stderr, / UP /, 'and lists the devices as lctl dl does');
        const r = await rmmodLogic();
        assert.equal(r.code, 1, `lustre_rmmod's logic fails too: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /OBD devices still up/);
        assert.match(r.stderr, /in use|Resource temporarily unavailable|busy/i, 'rmmod of the held module fails');
        assert.ok((await loaded()).includes('ptlrpc'), 'the Lustre stack is still loaded');

        await emu.releaseLustre('n');
        await ok('n', 'lnet', 'unload');
        assert.deepEqual(await loaded(), [], 'unload removed the stack LNet was brought up by');

        await emu.holdByLustre('n', { role });
        await emu.releaseLustre('n');
        const done = await rmmodLogic();
        assert.equal(done.code, 0, done.stdout + done.stderr);
        assert.deepEqual(await loaded(), [], "lustre_rmmod's logic removes the same modules");
      });
    }
  });
}
