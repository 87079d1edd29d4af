/**
 * The live audit path (discovery + PMA counter sweep + SM census through the
 * native engine) on the bundled fabric with planted faults; perfquery and
 * sminfo on the same fabric are the oracles for the collected data.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IbSim } from '../../lib/sim/ibsim.js';
import { packageRoot } from '../../lib/util/paths.js';
import { runCli } from '../helpers/cli.js';

const sweepClient = join(packageRoot(), 'dist', 'test', 'ib', 'clients', 'sweep-client.js');

interface Finding {
  rule: string;
  severity: string;
  node: { guid: string; description: string };
  port?: number;
  message: string;
}

async function audit(sim: IbSim, extra: string[] = []): Promise<{ code: number; findings: Finding[] }> {
  const r = await runCli(['--sim-name', sim.name, 'ib', 'audit', '--format', 'json', ...extra]);
  assert.ok(r.code === 0 || r.code === 1, `audit failed (${r.code}): ${r.stderr}`);
  return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: Finding[] }).findings };
}

const key = (f: Finding) => `${f.rule} ${f.node.description}${f.port !== undefined ? ` port ${f.port}` : ''}`;

describe('live audit on the bundled fabric', () => {
  it('collects every port\'s error counters as perfquery reads them, and the master SM as sminfo does', async () => {
    await using sim = await IbSim.start({ name: 'sweep' });
    await sim.console('PerformanceSet "S-leaf02"[2] PortCounters.SymbolErrorCounter=7');
    await sim.console('PerformanceSet "H-node09"[1] PortCounters.LinkDownedCounter=3');
    await sim.console('PerformanceSet "S-spine01"[3] PortCounters.PortRcvErrors=65535');
    const r = await sim.runScript(sweepClient, []);
    assert.equal(r.code, 0, r.stderr);
    const data = JSON.parse(r.stdout) as {
      ports: Array<{ description: string; lid: number; port: number; counters: Record<string, string> }>;
      errors: unknown[];
      sms: Array<{ guid: string; state: string; lid: number }>;
      extended: Array<{ description: string; lid: number; port: number; counters: Record<string, string> }>;
    };
    // ibsim's PMA supports PortCountersExtended: every port also has a 64-bit entry, monotonic against perfquery -x.
    assert.equal(data.extended.length, 36);
    for (const p of data.extended.slice(0, 6)) {
      const pq = await sim.exec('perfquery', ['-x', String(p.lid), String(p.port)]);
      const later = BigInt(/^PortXmitData:\.+(\d+)$/m.exec(pq.stdout)![1]!);
      assert.ok(BigInt(p.counters['PortXmitData']!) <= later, `${p.description} port ${p.port}`);
    }
    assert.deepEqual(data.errors, []);
    assert.equal(data.ports.length, 36, 'every end of the 18 cables');
    const ERR = ['SymbolErrorCounter', 'LinkErrorRecoveryCounter', 'LinkDownedCounter', 'PortRcvErrors', 'PortXmitDiscards', 'VL15Dropped'];
    for (const p of data.ports) {
      const pq = await sim.exec('perfquery', [String(p.lid), String(p.port)]);
      assert.equal(pq.code, 0, pq.stderr);
      for (const c of ERR) {
        const m = new RegExp(`^${c}:\\.+(\\d+)$`, 'm').exec(pq.stdout);
        assert.ok(m, `perfquery prints ${c}`);
        assert.equal(p.counters[c], m[1], `${p.description} port ${p.port} ${c}`);
      }
    }
    const at = (d: string, port: number) => data.ports.find((p) => p.description === d && p.port === port)!.counters;
    assert.equal(at('leaf02', 2)['SymbolErrorCounter'], '7');
    assert.equal(at('node09 HCA-1', 1)['LinkDownedCounter'], '3');
    assert.equal(at('spine01', 3)['PortRcvErrors'], '65535');
    const sm = await sim.exec('sminfo');
    const m = /sminfo: sm lid (\d+) sm guid (0x[0-9a-f]+), activity count \d+ priority \d+ state (\d+) (\w+)/.exec(sm.stdout);
    assert.ok(m, sm.stdout);
    assert.equal(data.sms.length, 1);
    assert.equal(data.sms[0]!.lid, Number(m[1]));
    assert.equal(BigInt(data.sms[0]!.guid), BigInt(m[2]!));
    assert.equal(data.sms[0]!.state, 'master');
  });

  it('a clean fabric has no findings; each planted fault yields exactly its finding', async () => {
    await using sim = await IbSim.start({ name: 'audit-live' });
    const clean = await audit(sim);
    assert.deepEqual(clean.findings.map(key), [], 'no finding on the fabric as built (node12 enables only 1X on both ends)');
    assert.equal(clean.code, 0);

    const degraded = await audit(sim, ['--expect-width', '4X']);
    assert.deepEqual(degraded.findings.map(key), ['link-degraded-width node12 HCA-1 port 1']);
    assert.equal(degraded.code, 1);

    await sim.console('PerformanceSet "S-leaf02"[3] PortCounters.SymbolErrorCounter=5');
    const counters = await audit(sim);
    assert.deepEqual(
      counters.findings.filter((f) => f.rule === 'counter-threshold').map(key),
      ['counter-threshold leaf02 port 3'],
    );
    await sim.console('PerformanceSet "S-leaf02"[3] PortCounters.SymbolErrorCounter=0');

    const n5 = (await sim.exec('smpquery', ['-D', 'nodeinfo', '0,1,5,2,1'])).stdout;
    const guid = /^Guid:\.+(0x[0-9a-f]+)$/m.exec(n5)![1]!;
    await sim.console(`Guid "H-node06" ${guid}`);
    const dup = await audit(sim);
    const dups = dup.findings.filter((f) => f.rule === 'duplicate-guid');
    assert.equal(dups.length, 1, JSON.stringify(dup.findings.map(key)));
    assert.match(dups[0]!.message, /node05 HCA-1|node06 HCA-1/);
  });

  it('--samples 1 is discovery plus one sweep (the counter-rate rule not run), finding what ibqueryerrors finds; the default takes two', async () => {
    await using sim = await IbSim.start({ name: 'audit-1s' });
    await sim.console('PerformanceSet "S-leaf03"[2] PortCounters.SymbolErrorCounter=9');
    type Report = { findings: Finding[]; notRun: Array<{ rule: string; reason: string }> };
    const one = await runCli(['--sim-name', sim.name, 'ib', 'audit', '--samples', '1', '--format', 'json']);
    assert.equal(one.code, 1, one.stderr);
    assert.equal(one.stderr, '');
    const r1 = JSON.parse(one.stdout) as Report;
    assert.deepEqual(r1.findings.filter((f) => f.rule === 'counter-threshold').map(key), ['counter-threshold leaf03 port 2']);
    assert.match(r1.notRun.find((n) => n.rule === 'counter-rate')?.reason ?? '', /two counter samples \(got 1\)/);
    const iqe = await sim.exec('ibqueryerrors');
    assert.match(iqe.stdout, /Errors for 0x[0-9a-f]+ "leaf03"\n(.*\n)*?\s+GUID 0x[0-9a-f]+ port 2: \[SymbolErrorCounter == 9\]/);
    const two = JSON.parse((await runCli(['--sim-name', sim.name, 'ib', 'audit', '--format', 'json'])).stdout) as Report;
    assert.equal(two.notRun.find((n) => n.rule === 'counter-rate'), undefined, 'the default audit takes two samples');
    const bad = await runCli(['--sim-name', sim.name, 'ib', 'audit', '--samples', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--samples: expected 1 or 2, got '0'/);
  });
});
