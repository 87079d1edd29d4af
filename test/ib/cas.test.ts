/**
 * `hpcnet ib cas` against ibsim + OpenSM, with ibstat (infiniband-diags) on
 * the same simulated CA as the oracle.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IbSim } from '../../lib/sim/ibsim.js';
import { parseIbstat, runCli } from '../helpers/cli.js';

const PHYS: Record<string, string> = { LinkUp: 'LinkUp', Polling: 'Polling', Disabled: 'Disabled', Sleep: 'Sleep' };

interface JsonCa {
  name: string;
  caType: string;
  numPorts: number;
  firmwareVersion: string;
  hardwareVersion: string;
  nodeGuid: string;
  systemImageGuid: string;
  ports: Array<{
    portNum: number;
    state: string;
    physicalState: string;
    rate: number;
    baseLid: number;
    lmc: number;
    smLid: number;
    capabilityMask: number;
    portGuid: string;
    linkLayer: string;
    defaultGid: string;
  }>;
}

function assertMatchesIbstat(json: JsonCa, ibstatText: string): void {
  const { ca, ports } = parseIbstat(ibstatText);
  assert.equal(json.name, ca['name']);
  assert.equal(json.caType, ca['CA type']);
  assert.equal(json.numPorts, Number(ca['Number of ports']));
  assert.equal(json.firmwareVersion, ca['Firmware version']);
  assert.equal(json.hardwareVersion, ca['Hardware version']);
  assert.equal(json.nodeGuid, ca['Node GUID']);
  assert.equal(json.systemImageGuid, ca['System image GUID']);
  assert.equal(json.ports.length, ports.length);
  for (const [i, p] of json.ports.entries()) {
    const o = ports[i]!;
    assert.equal(p.portNum, Number(o['port']));
    assert.equal(p.state, o['State']);
    assert.equal(p.physicalState, PHYS[o['Physical state']!] ?? o['Physical state']);
    assert.equal(p.rate, Number(o['Rate']));
    assert.equal(p.baseLid, Number(o['Base lid']));
    assert.equal(p.lmc, Number(o['LMC']));
    assert.equal(p.smLid, Number(o['SM lid']));
    assert.equal(p.capabilityMask, Number(o['Capability mask']));
    assert.equal(p.portGuid, o['Port GUID']);
    assert.equal(p.linkLayer, o['Link layer']);
    // Default GID = fe80::/64 prefix + port GUID.
    assert.equal(p.defaultGid.replaceAll(':', '').slice(16), p.portGuid.slice(2));
  }
}

describe('hpcnet ib cas on a simulated fabric', () => {
  let sim: IbSim;
  before(async () => {
    sim = await IbSim.start({ name: 'cas-test' });
  });
  after(async () => {
    await sim?.stop();
  });

  for (const host of ['H-node01', 'H-node07', 'H-node12']) {
    it(`matches ibstat for the CA of ${host}`, async () => {
      const ours = await runCli(['--sim-name', sim.name, '--sim-host', host, 'ib', 'cas', '--json']);
      assert.equal(ours.code, 0, ours.stderr);
      const oracle = await sim.exec('ibstat', [], { host });
      assert.equal(oracle.code, 0, oracle.stderr);
      const json = JSON.parse(ours.stdout) as JsonCa[];
      assert.equal(json.length, 1);
      assertMatchesIbstat(json[0]!, oracle.stdout);
      // OpenSM has swept: the port is Active with a LID.
      assert.equal(json[0]!.ports[0]!.state, 'Active');
      assert.ok(json[0]!.ports[0]!.baseLid > 0);
    });
  }

  it('selects a CA by name, and names an unknown CA in the error', async () => {
    const ok = await runCli(['--sim-name', sim.name, 'ib', 'cas', 'ibsim0', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as JsonCa[])[0]!.name, 'ibsim0');
    const bad = await runCli(['--sim-name', sim.name, 'ib', 'cas', 'mlx5_9']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /mlx5_9/);
  });

  it('text output follows ibstat', async () => {
    const ours = await runCli(['--sim-name', sim.name, '--sim-host', 'H-node03', 'ib', 'cas']);
    const oracle = await sim.exec('ibstat', [], { host: 'H-node03' });
    const a = parseIbstat(ours.stdout);
    const b = parseIbstat(oracle.stdout);
    for (const k of Object.keys(b.ca)) assert.equal(a.ca[k], b.ca[k], k);
    for (const k of Object.keys(b.ports[0]!)) assert.equal(a.ports[0]![k], b.ports[0]![k], k);
  });
});

describe('hpcnet --sim (temporary simulator)', () => {
  it('runs ib cas --json on the bundled fabric and matches ibstat on the same fabric', async () => {
    const ours = await runCli(['--sim', 'ib', 'cas', '--json']);
    assert.equal(ours.code, 0, ours.stderr);
    const json = JSON.parse(ours.stdout) as JsonCa[];
    // The same bundled fabric in another simulator: GUIDs come from the net file, LIDs from OpenSM's sweep.
    await using sim = await IbSim.start();
    const oracle = await sim.exec('ibstat');
    assertMatchesIbstat(json[0]!, oracle.stdout);
    assert.deepEqual(IbSim.list().map((s) => s.name), [sim.name], 'the temporary simulator of --sim is gone');
  });
});
