/**
 * The mock backend's errno rules against the emulated kernel: the same
 * scenario (scenario.ts) on MockLnetBackend in-process and on the native
 * backend in a process running under the LNet emulator, in both release
 * personalities; every step must end the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MockLnetBackend } from '../../../lib/lnet/mock-backend.js';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { packageRoot } from '../../../lib/util/paths.js';
import { HOST, runScenario, type Outcome } from './scenario.js';

for (const release of ['2.15', '2.16'] as const) {
  describe(`backend contract: mock vs native on the emulator (${release})`, () => {
    let emu: LnetEmulator;
    before(async () => {
      emu = await LnetEmulator.start({ release, hosts: [`${HOST.name}=${HOST.iface}:${HOST.ip}`] });
    });
    after(async () => {
      await emu?.stop();
    });

    it('every step has the same outcome', async () => {
      const root = packageRoot();
      const driver = `
        const { NativeLnetBackend } = await import(${JSON.stringify(root + '/dist/lib/lnet/native-backend.js')});
        const { runScenario } = await import(${JSON.stringify(root + '/dist/test/lnet/contract/scenario.js')});
        const b = new NativeLnetBackend();
        const out = await runScenario(b);
        await b.close();
        process.stdout.write(JSON.stringify(out));`;
      const r = await emu.exec(HOST.name, process.execPath, ['--input-type=module', '-e', driver], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      const native = JSON.parse(r.stdout) as Outcome[];
      const mock = await runScenario(new MockLnetBackend({ release, interfaces: [{ name: HOST.iface, ip: HOST.ip }] }));
      const diff = mock.map(([s, m], i) => `${s}: mock ${m}, emulator ${native[i]?.[1]}`).filter((_, i) => mock[i]![1] !== native[i]?.[1]);
      assert.deepEqual(diff, [], 'steps whose outcome differs');
      assert.equal(native.length, mock.length);
    });
  });
}
