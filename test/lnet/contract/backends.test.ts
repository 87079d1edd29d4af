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
import { FACADE_HOST, runFacadeScenario } from '../facade/scenario.js';

for (const release of ['2.15', '2.16'] as const) {
  describe(`backend contract: mock vs native on the emulator (${release})`, () => {
    let emu: LnetEmulator;
    before(async () => {
      emu = await LnetEmulator.start({ release, hosts: [`${HOST.name}=${HOST.iface}:${HOST.ip}`, `${FACADE_HOST.name}=${FACADE_HOST.ifaces.map((i) => `${i.name}:${i.ip}`).join(',')}`] });
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
    it('the facade scenarios (import with rollback, export, apply, unload) end the same on both', async () => {
      const root = packageRoot();
      const driver = `
        const { NativeLnetBackend } = await import(${JSON.stringify(root + '/dist/lib/lnet/native-backend.js')});
        const { LnetEmulator } = await import(${JSON.stringify(root + '/dist/lib/sim/lnet/index.js')});
        const { runFacadeScenario } = await import(${JSON.stringify(root + '/dist/test/lnet/facade/scenario.js')});
        const emu = LnetEmulator.attach(process.env.HPCNET_LNETEMU_NAME);
        const b = new NativeLnetBackend();
        const out = await runFacadeScenario(b, ${JSON.stringify(release)}, (op, errno) => emu.injectFault({ op, errno, count: 1, host: ${JSON.stringify(FACADE_HOST.name)} }).then(() => undefined));
        await b.close();
        process.stdout.write(JSON.stringify(out));`;
      const r = await emu.exec(FACADE_HOST.name, process.execPath, ['--input-type=module', '-e', driver], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      const native = JSON.parse(r.stdout) as Outcome[];
      const m = new MockLnetBackend({ release, interfaces: FACADE_HOST.ifaces });
      const mock = await runFacadeScenario(m, release, async (op, errno) => void m.world.faults.push({ op, count: 1, errno }));
      const diff = mock.map(([s, x], i) => `${s}:\n  mock     ${x}\n  emulator ${native[i]?.[1]}`).filter((_, i) => mock[i]![1] !== native[i]?.[1]);
      assert.deepEqual(diff, [], 'steps whose outcome differs');
      assert.equal(native.length, mock.length);
      // The scenario did what it says on the mock (so equality above is not of two failures).
      assert.match(mock.find(([s]) => s === 'import')![1], /import: \d+ changes applied/);
      // A second apply of what was imported changes nothing (on 2.15 the emulator once dropped o2iblnd tunables given by ADD_LOCAL_NI).
      assert.match(mock.find(([s]) => s === 'apply the same document again')![1], /"changed":false/);
      assert.match(mock.find(([s]) => s === 'import with a kernel failure midway')![1], /"ok":false.*ENOMEM.*"rolledBack":\["[^\]]+\]/);
    });
  });
}
