/**
 * Audit rules on snapshots built from the real tools (ibnetdiscover,
 * iblinkinfo, perfquery, sminfo, smpquery -D) of simulated fabrics with
 * planted faults: each fault yields exactly its findings, a clean fabric none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IbSim } from '../../../lib/sim/ibsim.js';
import { generateFatTree } from '../../../lib/sim/netfile.js';
import { defaultAuditConfig, parseAuditConfig, runAudit, type AuditConfig, type AuditReport } from '../../../lib/ib/audit/index.js';
import { readSnapshot, writeSnapshot, type Fabric, type FabricSnapshot } from '../../../lib/ib/topology/index.js';
import { drWalk, ibnetdiscover, startSim, toolSnapshot } from '../topology/helpers/fabric-tools.js';

// 2 leaves x 3 hosts, 2 spines: leafNN ports 1-3 hosts, 4 -> spine01, 5 -> spine02.
const FT = { leaves: 2, spines: 2, hostsPerLeaf: 3 } as const;

function brief(r: AuditReport): string[] {
  return r.findings.map((f) => `${f.rule} ${f.severity} ${f.node?.description ?? '-'}${f.port !== null ? `[${f.port}]` : ''}${f.remote ? ` -> ${f.remote.description}[${f.remote.port}]` : ''}`).sort();
}

function audit(snapshot: FabricSnapshot, reference?: Fabric, config: AuditConfig = defaultAuditConfig()): AuditReport {
  // through the JSON snapshot, as an offline re-run would
  const reread = readSnapshot(writeSnapshot(snapshot));
  return runAudit({ snapshot: reread, ...(reference ? { reference } : {}) }, config);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilAllActive(sim: IbSim): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const r = await sim.exec('iblinkinfo', []);
    if (r.code === 0 && !/Initialize|Armed/.test(r.stdout)) return;
    await sleep(200);
  }
  assert.fail('the subnet manager did not bring every port to Active');
}

describe('audit: clean fabric, unlinked cable, counters', () => {
  let sim: IbSim;
  let reference: Fabric;

  before(async () => {
    sim = await startSim(generateFatTree(FT));
    reference = (await ibnetdiscover(sim)).fabric;
  });
  after(async () => {
    await sim?.stop();
  });

  it('a clean fabric yields no finding, every rule runs', async () => {
    const snap = await toolSnapshot(sim, { samples: 2 });
    const r = audit(snap, reference);
    assert.deepEqual(brief(r), []);
    assert.deepEqual(r.notRun, []);
    assert.equal(r.fabric.nodes, 10);
    assert.equal(r.fabric.counterSamples, 2);
    assert.equal(r.fabric.subnetManagers, 1);
    // the directed-route model (enabled widths/speeds known) is clean too
    const walked = runAudit({ snapshot: { fabric: await drWalk(sim), counters: [] }, reference });
    assert.deepEqual(brief(walked), []);
  });

  it('an unlinked cable: one topology-missing-link and port-polling on both ends; clean again after ReLink', async () => {
    await sim.console('Unlink "S-leaf02"[5]');
    await untilAllActive(sim);
    const r = audit(await toolSnapshot(sim), reference);
    assert.deepEqual(brief(r), [
      'port-polling error leaf02[5] -> spine02[2]',
      'port-polling error spine02[2] -> leaf02[5]',
      'topology-missing-link error leaf02[5] -> spine02[2]',
    ]);
    assert.match(r.findings.find((f) => f.rule === 'port-polling' && f.node?.description === 'leaf02')!.message, /\(Down\/Polling\)/);
    await sim.console('ReLink "S-leaf02"[5]');
    await untilAllActive(sim);
    assert.deepEqual(brief(audit(await toolSnapshot(sim), reference)), []);
  });

  it('error counters set with PerformanceSet: threshold, rate (raised between samples only) and saturation', async () => {
    await sim.console('PerformanceSet "S-leaf01"[1] PortCounters.SymbolErrorCounter=42');
    await sim.console('PerformanceSet "H-node03"[1] PortCounters.LinkDownedCounter=3');
    await sim.console('PerformanceSet "S-spine01"[1] PortCounters.PortXmitData=4294967295');
    const snap = await toolSnapshot(sim, {
      samples: 2,
      between: async () => {
        await sim.console('PerformanceSet "S-leaf01"[1] PortCounters.SymbolErrorCounter=50');
      },
    });
    // perfquery is the oracle for the values
    const leaf01 = snap.fabric.nodes.find((n) => n.description === 'leaf01')!;
    const val = (i: number, node: string, port: number, c: string) => snap.counters[i]!.ports.find((p) => p.node === node && p.port === port)!.counters[c];
    assert.equal(val(0, leaf01.id, 1, 'SymbolErrorCounter'), 42n);
    assert.equal(val(1, leaf01.id, 1, 'SymbolErrorCounter'), 50n);
    const r = audit(snap, reference);
    assert.deepEqual(brief(r), [
      'counter-rate error leaf01[1]',
      'counter-saturated warning spine01[1]',
      'counter-threshold error leaf01[1]',
      'counter-threshold error node03 HCA-1[1]',
    ]);
    const msg = (rule: string) => r.findings.filter((f) => f.rule === rule).map((f) => f.message).sort();
    assert.deepEqual(msg('counter-threshold'), ['LinkDownedCounter = 3 (threshold 0)', 'SymbolErrorCounter = 50 (threshold 0)']);
    assert.match(msg('counter-rate')[0]!, /^SymbolErrorCounter grew by 8 from 42 to 50 in /);
    assert.match(msg('counter-saturated')[0]!, /^PortXmitData is at its maximum 4294967295/);
    // Live samples also carry a 64-bit entry per port (PortCountersExtended, extended: true, data counters
    // only): the rules still read the error counters of the PortCounters entry, the rate rule included.
    const withExt = {
      ...snap,
      counters: snap.counters.map((s) => ({ ...s, ports: s.ports.flatMap((p) => [p, { node: p.node, port: p.port, counters: { PortXmitData: 1n }, extended: true }]) })),
    };
    assert.deepEqual(brief(audit(withExt, reference)), brief(r));
    // thresholds from the configuration (ibqueryerrors' example values): SymbolErrorCounter=50 is not above 50
    const cfg = parseAuditConfig('thresholds:\n  SymbolErrorCounter: 50\n  LinkDownedCounter: 10\n');
    assert.deepEqual(
      brief(audit(snap, reference, cfg)).filter((s) => s.startsWith('counter-threshold')),
      [],
    );
    // one sample only: the rate rule says why it did not run
    const one = audit({ ...snap, counters: snap.counters.slice(1) }, reference);
    assert.ok(one.notRun.some((n) => n.rule === 'counter-rate' && /two counter samples/.test(n.reason)));
    assert.ok(!brief(one).some((s) => s.startsWith('counter-rate')));
  });

  it('sm rules: one master is fine; fewer standbys than configured is a warning', async () => {
    const snap = await toolSnapshot(sim, { samples: 1 });
    assert.equal(snap.subnetManagers?.[0]?.state, 'master');
    const cfg = parseAuditConfig('sm:\n  minStandby: 1\nskip: [counter-threshold, counter-saturated]\n');
    assert.deepEqual(brief(audit(snap, reference, cfg)), ['sm-standby warning -']);
  });

  it('swapped host cables: two topology-moved-link findings', async () => {
    await sim.console('Unlink "H-node05"[1]');
    await sim.console('Unlink "H-node06"[1]');
    await sim.console('Link "H-node05"[1] "S-leaf02"[3]');
    await sim.console('Link "H-node06"[1] "S-leaf02"[2]');
    await untilAllActive(sim);
    // counters were planted by the test before: not this test's subject
    const cfg = parseAuditConfig('skip: [counter-threshold, counter-rate, counter-saturated]\n');
    const r = audit(await toolSnapshot(sim), reference, cfg);
    assert.deepEqual(brief(r), ['topology-moved-link error node05 HCA-1[1] -> leaf02[3]', 'topology-moved-link error node06 HCA-1[1] -> leaf02[2]']);
    assert.match(r.findings[0]!.message, /the reference has "node05 HCA-1" port 1 <-> "leaf02" port 2, the fabric has "node05 HCA-1" port 1 <-> "leaf02" port 3/);
    // the same fabric against a reference without node06: an extra node, no moved link for it
    const noSix = readSnapshot(writeSnapshot(reference));
    const six = noSix.fabric.nodes.find((n) => n.description === 'node06 HCA-1')!;
    const json = JSON.parse(writeSnapshot(noSix)) as { nodes: Array<{ id: string; ports: Array<{ remote?: { node: string } }> }>; links: Array<{ a: { node: string }; b: { node: string } }> };
    json.nodes = json.nodes.filter((n) => n.id !== six.id);
    for (const n of json.nodes) for (const p of n.ports) if (p.remote?.node === six.id) delete p.remote;
    json.links = json.links.filter((l) => l.a.node !== six.id && l.b.node !== six.id);
    const r2 = audit(await toolSnapshot(sim), readSnapshot(JSON.stringify(json)).fabric, cfg);
    assert.deepEqual(brief(r2), ['topology-extra-node warning node06 HCA-1', 'topology-moved-link error node05 HCA-1[1] -> leaf02[3]']);
  });
});

describe('audit: degraded link and duplicate GUID', () => {
  let sim: IbSim;
  let cleanReference: Fabric;
  let walkedOnce: Fabric | undefined;
  const walkedFabric = async (): Promise<FabricSnapshot> => ({ fabric: readSnapshot(writeSnapshot((walkedOnce ??= await drWalk(sim)))).fabric, counters: [] });

  before(async () => {
    const clean = await startSim(generateFatTree(FT));
    try {
      cleanReference = (await ibnetdiscover(clean)).fabric;
    } finally {
      await clean.stop();
    }
    sim = await startSim(generateFatTree({ ...FT, degraded: [{ host: 2, width: '1x' }] }));
  });
  after(async () => {
    await sim?.stop();
  });

  it('a 1x link is flagged against the operator expectation or the reference, not against enabled widths', async () => {
    const walked = await walkedFabric();
    // both ends have only 1X enabled (the net file says 1x): the 'enabled' fallback expects 1X
    assert.deepEqual(brief(audit(walked)), []);
    const cfg = defaultAuditConfig();
    cfg.expect.width = '4X';
    const r = audit(walked, undefined, cfg);
    assert.deepEqual(brief(r), ['link-degraded-width error node02 HCA-1[1] -> leaf01[2]']);
    assert.match(r.findings[0]!.message, /runs at 1X, expected 4X \(fleet-wide expectation\)/);
    const ref = audit(walked, cleanReference);
    assert.deepEqual(brief(ref), ['link-degraded-width error node02 HCA-1[1] -> leaf01[2]']);
    assert.match(ref.findings[0]!.message, /expected 4X \(reference topology\)/);
    // same from the ibnetdiscover/iblinkinfo snapshot
    assert.deepEqual(brief(audit(await toolSnapshot(sim), cleanReference)), ['link-degraded-width error node02 HCA-1[1] -> leaf01[2]']);
  });

  it('expectations: per link beats per fleet beats per node type beats fleet-wide', async () => {
    const walked = await walkedFabric();
    const yaml = (links: string) =>
      parseAuditConfig(
        [
          'expect:',
          '  width: 12X',
          '  nodeTypes:',
          '    CA: { width: 4X }',
          '    Switch: { width: 4X }',
          '  fleets:',
          '    - { name: first-hosts, match: "^node0[12] ", width: 4X, speed: EDR }',
          links,
        ].join('\n'),
      );
    assert.deepEqual(brief(audit(walked, undefined, yaml('  links:\n    - { node: "node02 HCA-1", port: 1, width: 1X }'))), []);
    const r = audit(walked, undefined, yaml(''));
    assert.deepEqual(brief(r), ['link-degraded-width error node02 HCA-1[1] -> leaf01[2]']);
    assert.match(r.findings[0]!.message, /fleet "first-hosts" expectation/);
    const typeOnly = parseAuditConfig('expect:\n  width: 1X\n  nodeTypes:\n    CA: { width: 4X }\n');
    assert.match(audit(walked, undefined, typeOnly).findings[0]!.message, /expectation for CA links/);
    const speed = parseAuditConfig('expect:\n  speed: HDR\n');
    assert.equal(audit(walked, undefined, speed).findings.filter((f) => f.rule === 'link-degraded-speed').length, walked.fabric.links.length);
  });

  it('a duplicate GUID set with the Guid console command: ibnetdiscover drops a node, the DR model keeps both and flags it', async () => {
    const node02 = cleanReference.nodes.find((n) => n.description === 'node02 HCA-1')!;
    await sim.console(`Guid "H-node05" 0x${node02.guid.toString(16)}`);
    const disc = (await ibnetdiscover(sim)).fabric;
    assert.equal(disc.nodes.length, 9, 'ibnetdiscover silently drops one of the two');
    const walked = await drWalk(sim);
    assert.equal(walked.nodes.length, 10);
    assert.deepEqual(walked.nodes.filter((n) => n.guid === node02.guid).map((n) => n.id), [`0x${node02.guid.toString(16).padStart(16, '0')}`, `0x${node02.guid.toString(16).padStart(16, '0')}#2`]);
    const r = audit({ fabric: walked, counters: [] });
    assert.deepEqual(brief(r), ['duplicate-guid error node02 HCA-1']);
    assert.match(r.findings[0]!.message, /carried by 2 nodes: "node02 HCA-1" .*; "node05 HCA-1" \(DR path 0,1,4,2,2, port 1 cabled to "leaf02" port 2\)$/);
  });
});

describe('audit: LIDs set with Baselid, duplicate descriptions', () => {
  it('duplicate LID, a multicast LID on an active port, a different LMC; two nodes described alike', async () => {
    // node06 carries node05's description; periodic sweeps off so OpenSM leaves the planted LIDs alone
    const net = generateFatTree(FT).replace(/"node06 HCA-1"/g, '"node05 HCA-1"');
    const sim = await startSim(net, { smArgs: ['-s', '0'] });
    try {
      const before = await drWalk(sim);
      assert.deepEqual(brief(audit({ fabric: before, counters: [] })), ['duplicate-description warning node05 HCA-1']);
      const lid = (d: string) => before.nodes.find((n) => n.description === d)!.ports.find((p) => p.portNum === 1)!.lid!;
      await sim.console(`Baselid "H-node03"[1] ${lid('node02 HCA-1')}`);
      // ibsim refuses LID 0 ("bad lid") but takes 0xC001, which is in the multicast range
      await sim.console('Baselid "H-node04"[1] 49153');
      // LMC 1 on a free, aligned range (256-257)
      await sim.console('Baselid "H-node01"[1] 256 1');
      const fabric = await drWalk(sim);
      const r = audit({ fabric, counters: [] });
      assert.deepEqual(brief(r), [
        'duplicate-description warning node05 HCA-1',
        'duplicate-lid error node03 HCA-1[1]',
        'lid-invalid error node04 HCA-1[1]',
        'lmc-inconsistent warning node01 HCA-1[1]',
      ]);
      assert.match(r.findings.find((f) => f.rule === 'duplicate-lid')!.message, new RegExp(`^LID ${lid('node02 HCA-1')} is used by "node02 HCA-1" port 1 and "node03 HCA-1" port 1$`));
      assert.match(r.findings.find((f) => f.rule === 'lid-invalid')!.message, /^port is Active with LID 49153 \(LMC 0 reaches 49153\); valid unicast LIDs are 1\.\.49151$/);
      assert.match(r.findings.find((f) => f.rule === 'lmc-inconsistent')!.message, /^LMC 1, while \d+ other end port\(s\) use LMC 0$/);
    } finally {
      await sim.stop();
    }
  });
});

describe('audit: ports not activated, subnet managers', () => {
  it('the SM host cable unlinked and relinked with periodic sweeps off: both ends stay in Init', async () => {
    const sim = await startSim(generateFatTree({ leaves: 1, spines: 1, hostsPerLeaf: 3 }), { smArgs: ['-s', '0'] });
    try {
      await sim.console('Unlink "H-node01"[1]');
      await sim.console('ReLink "H-node01"[1]');
      await sleep(500);
      const r = audit({ fabric: await drWalk(sim), counters: [] });
      assert.deepEqual(brief(r), ['port-not-active error leaf01[1] -> node01 HCA-1[1]', 'port-not-active error node01 HCA-1[1] -> leaf01[1]']);
      assert.match(r.findings[0]!.message, /LinkUp but logically Init/);
    } finally {
      await sim.stop();
    }
  });

  it('no subnet manager: no master (sm-master) and every linked port in Init', async () => {
    const sim = await startSim(generateFatTree({ leaves: 1, spines: 1, hostsPerLeaf: 2 }), { sm: false });
    try {
      const fabric = await drWalk(sim);
      const r = audit({ fabric, counters: [], subnetManagers: [] });
      const b = brief(r);
      assert.deepEqual(b.filter((s) => !s.startsWith('port-not-active')), ['sm-master error -']);
      assert.equal(b.filter((s) => s.startsWith('port-not-active')).length, fabric.links.length * 2);
      assert.match(r.findings.find((f) => f.rule === 'sm-master')!.message, /no master subnet manager/);
    } finally {
      await sim.stop();
    }
  });
});
