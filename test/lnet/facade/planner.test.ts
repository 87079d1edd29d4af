/**
 * The planner on its own (lib/lnet/planner.ts): plan says what would change
 * and writes nothing; applyPlan changes it as one transaction and undoes it
 * when the kernel refuses a step; a plan made after applying is empty.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LNet } from '../../../lib/lnet/facade.js';
import { MockLnetBackend } from '../../../lib/lnet/mock-backend.js';
import { LnetPlanner } from '../../../lib/lnet/planner.js';

const DOC = [
  'net:',
  '    - net type: tcp1',
  '      local NI(s):',
  '        - interfaces:',
  '              0: eth1',
  'route:',
  '    - net: tcp9',
  '      gateway: 10.1.0.2@tcp1',
  '      hop: 1',
  '      priority: 0',
  'global:',
  '    retry_count: 3',
  '',
].join('\n');

const MUTATING = new Set(['loadModule', 'removeModule', 'writeParam', 'configure', 'unconfigure', 'addNi', 'delNi', 'addRoute', 'delRoute', 'setRouting', 'setBuffers', 'addPeer', 'delPeer', 'setNumaRange']);

for (const release of ['2.15', '2.16'] as const) {
  describe(`planner (${release})`, () => {
    async function node(): Promise<{ m: MockLnetBackend; l: LNet; p: LnetPlanner }> {
      const m = new MockLnetBackend({ release, interfaces: [{ name: 'eth0', ip: '10.0.0.1' }, { name: 'eth1', ip: '10.1.0.1' }] });
      const l = new LNet(m);
      await l.load({ networks: 'tcp(eth0)' });
      await l.configure();
      await l.nets.add({ net: 'tcp', interfaces: ['eth0'] });
      return { m, l, p: new LnetPlanner(l) };
    }

    it('plan lists the changes in order and writes nothing; applyPlan makes them; the next plan is empty', async () => {
      const { m, l, p } = await node();
      const mark = m.calls.length;
      const plan = await p.plan(DOC);
      assert.deepEqual(
        m.calls.slice(mark).filter((c) => MUTATING.has(c.op)),
        [],
        'planning writes nothing',
      );
      assert.deepEqual(
        plan.changes.map((c) => `${c.op} ${c.item}`),
        ['set global retry_count: 3', 'del net tcp NI eth0', 'add net tcp1 NI eth1', 'add route tcp9 via 10.1.0.2@tcp1 hop 1 priority 0'],
      );
      assert.equal(plan.diff.after, 'global retry_count: 3\nnet tcp1 NI eth1\nroute tcp9 via 10.1.0.2@tcp1 hop 1 priority 0\n');
      const r = await p.applyPlan(plan);
      assert.equal(r.failed, false, r.msg);
      assert.deepEqual(await l.listNids(), ['10.1.0.1@tcp1']);
      assert.equal((await l.globals.get()).retry_count, 3);
      assert.deepEqual((await p.plan(DOC)).changes, []);
    });

    it('a step the kernel refuses: applyPlan undoes the steps before it, in reverse order', async () => {
      const { m, l, p } = await node();
      const before = await l.export({ backup: true });
      const plan = await p.plan(DOC);
      m.failNext('addRoute', 'ENOMEM');
      const r = await p.applyPlan(plan);
      assert.equal(r.failed, true);
      assert.equal(r.failures[0]!.section, 'route');
      assert.deepEqual(r.applied, []);
      assert.deepEqual(
        r.rolledBack.map((c) => c.item),
        ['net tcp1 NI eth1', 'net tcp NI eth0', 'global retry_count: 3'],
      );
      assert.equal(await l.export({ backup: true }), before);
    });

    it('dryRun plans only', async () => {
      const { m, p } = await node();
      const mark = m.calls.length;
      const r = await p.applyPlan(await p.plan(DOC), { dryRun: true });
      assert.equal(r.dryRun, true);
      assert.equal(r.changed, true);
      assert.deepEqual(m.calls.slice(mark).filter((c) => MUTATING.has(c.op)), []);
    });
  });
}
