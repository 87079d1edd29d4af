/**
 * The planner on its own (lib/lnet/planner.ts): plan says what would change
 * and writes nothing; applyPlan changes it as one transaction and undoes it
 * when the kernel refuses a step; a plan made after applying is empty. On
 * every backend (test/helpers/lnet-backends.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LnetPlanner } from '../../../lib/lnet/planner.js';
import { LNET_BACKENDS, lnetBed, type TestNode } from '../../helpers/lnet-backends.js';

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

for (const { kind, release } of LNET_BACKENDS) {
  describe(`planner (${kind} ${release})`, () => {
    const bed = lnetBed(kind, release);
    async function node(): Promise<TestNode & { p: LnetPlanner }> {
      const n = await bed.node({ interfaces: [{ name: 'eth0', ip: '10.0.0.1' }, { name: 'eth1', ip: '10.1.0.1' }] });
      await n.l.load({ networks: 'tcp(eth0)' });
      await n.l.configure();
      await n.l.nets.add({ net: 'tcp', interfaces: ['eth0'] });
      return Object.assign(n, { p: new LnetPlanner(n.l) });
    }

    it('plan lists the changes in order and writes nothing; applyPlan makes them; the next plan is empty', async () => {
      const { calls, l, p } = await node();
      const mark = calls.length;
      const plan = await p.plan(DOC);
      assert.ok(calls.length > mark, 'planning read the node');
      assert.deepEqual(
        calls.slice(mark).filter((c) => MUTATING.has(c.op)),
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
      const { failNext, l, p } = await node();
      const before = await l.export({ backup: true });
      const plan = await p.plan(DOC);
      await failNext('addRoute', 'ENOMEM');
      const r = await p.applyPlan(plan);
      assert.equal(r.failed, true);
      assert.equal(r.failures[0]!.section, 'route');
      assert.equal(r.failures[0]!.code, 'ENOMEM');
      assert.deepEqual(r.applied, []);
      assert.deepEqual(
        r.rolledBack.map((c) => c.item),
        ['net tcp1 NI eth1', 'net tcp NI eth0', 'global retry_count: 3'],
      );
      assert.equal(await l.export({ backup: true }), before);
    });

    it('dryRun plans only', async () => {
      const { calls, p } = await node();
      const mark = calls.length;
      const r = await p.applyPlan(await p.plan(DOC), { dryRun: true });
      assert.equal(r.dryRun, true);
      assert.equal(r.changed, true);
      assert.deepEqual(calls.slice(mark).filter((c) => MUTATING.has(c.op)), []);
    });
  });
}
