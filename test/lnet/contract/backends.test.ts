/**
 * The mock backend's errno rules against the emulated kernel: the same
 * scenario (scenario.ts) on MockLnetBackend in-process and on the native
 * backend (the addon in a process on an emulated host, test/helpers/lnet-backends.ts),
 * in both release personalities; every step must end the same way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOST, runScenario, type Outcome } from './scenario.js';
import { FACADE_HOST, runFacadeScenario } from '../facade/scenario.js';
import { lnetBed, type LnetBed } from '../../helpers/lnet-backends.js';

/** Steps whose outcome differs between the two runs. */
function differences(mock: Outcome[], native: Outcome[]): string[] {
  return mock.map(([s, x], i) => `${s}:\n  mock     ${x}\n  emulator ${native[i]?.[1]}`).filter((_, i) => mock[i]![1] !== native[i]?.[1]);
}

for (const release of ['2.15', '2.16'] as const) {
  describe(`backend contract: mock vs native on the emulator (${release})`, () => {
    const beds: LnetBed[] = [lnetBed('mock', release), lnetBed('native', release)];

    it('every step has the same outcome', async () => {
      const [mock, native] = await Promise.all(
        beds.map(async (bed) => runScenario((await bed.node({ interfaces: [{ name: HOST.iface, ip: HOST.ip }] })).backend)),
      );
      assert.deepEqual(differences(mock!, native!), [], 'steps whose outcome differs');
      assert.equal(native!.length, mock!.length);
    });

    it('the facade scenarios (import with rollback, export, apply, unload) end the same on both', async () => {
      const [mock, native] = await Promise.all(
        beds.map(async (bed) => {
          const n = await bed.node({ interfaces: FACADE_HOST.ifaces });
          return runFacadeScenario(n.backend, release, (op, errno) => n.injectFault(op as Parameters<typeof n.injectFault>[0], errno));
        }),
      );
      assert.deepEqual(differences(mock!, native!), [], 'steps whose outcome differs');
      assert.equal(native!.length, mock!.length);
      // The scenario did what it says on the mock (so equality above is not of two failures).
      assert.match(mock!.find(([s]) => s === 'import')![1], /import: \d+ changes applied/);
      // A second apply of what was imported changes nothing (on 2.15 the emulator once dropped o2iblnd tunables given by ADD_LOCAL_NI).
      assert.match(mock!.find(([s]) => s === 'apply the same document again')![1], /"changed":false/);
      assert.match(mock!.find(([s]) => s === 'import with a kernel failure midway')![1], /"ok":false.*ENOMEM.*"rolledBack":\["[^\]]+\]/);
    });
  });
}
