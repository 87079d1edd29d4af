/**
 * Live discovery against ibsim + OpenSM, with ibnetdiscover on the same
 * simulated fabric as the oracle.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IbSim } from '../../lib/sim/ibsim.js';
import { generateFatTree, type FatTreeOptions } from '../../lib/sim/netfile.js';
import { parseFabricText, writeFabric, type Fabric } from '../../lib/ib/topology/index.js';
import { packageRoot } from '../../lib/util/paths.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const client = join(packageRoot(), 'dist', 'test', 'ib', 'clients', 'discover-client.js');
const tmp = tempDir('hpcnet-disc-');

function netFile(name: string, o: FatTreeOptions): string {
  const file = join(tmp, name);
  writeFileSync(file, generateFatTree(o));
  return file;
}

interface Run {
  fabric: Fabric;
  stats: { madsSent: number; retries: number; ms: number };
}

async function discoverOn(sim: IbSim, opts: object = {}, host?: string): Promise<Run[]> {
  const r = await sim.runScript(client, [JSON.stringify(opts)], { timeoutMs: 300_000, ...(host ? { host } : {}) });
  assert.equal(r.code, 0, r.stderr);
  const runs = JSON.parse(r.stdout) as Array<{ snapshot: unknown; stats: Run['stats'] }>;
  return runs.map((x) => ({ fabric: parseFabricText(JSON.stringify(x.snapshot)).fabric, stats: x.stats }));
}

/** Cables as "guid:port-guid:port" (each end keyed by node GUID), sorted. */
function linkSet(f: Fabric): string[] {
  const guid = new Map(f.nodes.map((n) => [n.id, n.guid.toString(16)]));
  return f.links
    .map((l) => [`${guid.get(l.a.node)}:${l.a.port}`, `${guid.get(l.b.node)}:${l.b.port}`].sort().join('-'))
    .sort();
}

function nodeSummary(f: Fabric): string[] {
  return f.nodes.map((n) => `${n.guid.toString(16)} ${n.type} ${n.numPorts} ${n.description}`).sort();
}

/** Model invariants that must hold whatever happened during discovery. */
function assertConsistent(f: Fabric): void {
  const byId = new Map(f.nodes.map((n) => [n.id, n]));
  for (const l of f.links) {
    const pa = byId.get(l.a.node)!.ports.find((p) => p.portNum === l.a.port)!;
    const pb = byId.get(l.b.node)!.ports.find((p) => p.portNum === l.b.port)!;
    assert.deepEqual(pa.remote, l.b);
    assert.deepEqual(pb.remote, l.a);
  }
}

describe('discovery on a 2048-host fat tree', () => {
  let sim: IbSim;
  before(async () => {
    sim = await IbSim.start({ topology: netFile('ft2048.net', { leaves: 64, spines: 32, hostsPerLeaf: 32, speed: 'HDR', degraded: [{ host: 100, width: '1x' }] }), readyTimeoutMs: 120_000 });
  });
  after(async () => {
    await sim?.stop();
  });

  it('finds the same nodes and links as ibnetdiscover, with no more MADs', async () => {
    const [ours] = await discoverOn(sim);
    const tool = await sim.exec('ibnetdiscover', ['-m']);
    assert.equal(tool.code, 0, tool.stderr);
    const theirs = parseFabricText(tool.stdout).fabric;
    assert.equal(ours!.fabric.nodes.length, 2048 + 96);
    assert.deepEqual(nodeSummary(ours!.fabric), nodeSummary(theirs));
    assert.deepEqual(linkSet(ours!.fabric), linkSet(theirs));
    assert.equal(ours!.fabric.errors.length, 0);
    const toolMads = Number(/Total MADs used: (\d+)/.exec(tool.stdout)?.[1]);
    assert.ok(ours!.stats.madsSent <= toolMads, `${ours!.stats.madsSent} MADs vs ibnetdiscover's ${toolMads}`);
    // The degraded host link is seen at 1X from both ends, like ibnetdiscover records it.
    const h = ours!.fabric.nodes.find((n) => n.description === 'node0100 HCA-1')!;
    assert.equal(h.ports[0]!.width.active, '1X');
    const t = theirs.nodes.find((n) => n.description === 'node0100 HCA-1')!;
    assert.equal(t.ports.find((p) => p.portNum === 1)!.width.active, '1X');
  });
});

describe('discovery on small fabrics', () => {
  it('round trip: discover, write the ibnetdiscover format, simulate that file, discover again: equal models', async () => {
    await using a = await IbSim.start({ topology: netFile('rt.net', { leaves: 4, spines: 2, hostsPerLeaf: 5, linksPerSpine: 2, speed: 'EDR', degraded: [{ host: 3, width: '1x' }] }) });
    const [first] = await discoverOn(a);
    const file = join(tmp, 'roundtrip.topo');
    writeFileSync(file, writeFabric(first!.fabric, 'ibnetdiscover'));
    await using b = await IbSim.start({ topology: file });
    const [second] = await discoverOn(b);
    assert.deepEqual(nodeSummary(second!.fabric), nodeSummary(first!.fabric));
    assert.deepEqual(linkSet(second!.fabric), linkSet(first!.fabric));
    const widths = (f: Fabric) => f.nodes.flatMap((n) => n.ports.map((p) => `${n.guid}:${p.portNum}:${p.width.active}:${p.speed.active}`)).sort();
    assert.deepEqual(widths(second!.fabric), widths(first!.fabric));
  });

  it('a duplicated node GUID: both nodes are kept and the duplicate is reported (ibnetdiscover drops one)', async () => {
    await using sim = await IbSim.start();
    // node06's node GUID becomes node05's.
    const [clean] = await discoverOn(sim);
    const n5 = clean!.fabric.nodes.find((n) => n.description === 'node05 HCA-1')!;
    await sim.console(`Guid "H-node06" 0x${n5.guid.toString(16)}`);
    const [dup] = await discoverOn(sim);
    assert.equal(dup!.fabric.nodes.length, clean!.fabric.nodes.length, 'no node lost');
    const same = dup!.fabric.nodes.filter((n) => n.guid === n5.guid);
    assert.equal(same.length, 2);
    assert.deepEqual(same.map((n) => n.description).sort(), ['node05 HCA-1', 'node06 HCA-1']);
    const errs = dup!.fabric.errors.filter((e) => e.kind === 'duplicate-guid');
    assert.equal(errs.length, 1);
    assert.match(errs[0]!.message, /two nodes share this GUID/);
    assertConsistent(dup!.fabric);
    const tool = await sim.exec('ibnetdiscover', ['-H']);
    assert.equal(tool.stdout.trim().split('\n').length, 11, 'the oracle lost one CA: the reason hpcnet keeps both');
  });

  it('20% SMP drops: every node is still found', async () => {
    await using sim = await IbSim.start({ topology: netFile('drop.net', { leaves: 4, spines: 2, hostsPerLeaf: 6 }) });
    const [clean] = await discoverOn(sim);
    // ibsim drops at every errored node a MAD passes through, so drops compound along a route:
    // 20% on every host port (the destination of most discovery MADs) and on one leaf.
    for (let h = 1; h <= 24; h++) await sim.console(`Error "H-node${String(h).padStart(2, '0')}"[1] 20`);
    await sim.console('Error "S-leaf02" 20');
    // Drops come back at once (status 110), so retries are cheap: 40 keep a MAD that crosses two
    // errored nodes (up to about 60% lost per attempt) from failing in any realistic run (0.6^41 < 1e-9).
    const [lossy] = await discoverOn(sim, { discover: { retries: 40 } });
    assert.ok(lossy!.stats.retries > 0, 'drops happened');
    assert.deepEqual(nodeSummary(lossy!.fabric), nodeSummary(clean!.fabric));
    assert.deepEqual(linkSet(lossy!.fabric), linkSet(clean!.fabric));
  });

  it('links flapping during discovery: consistent results, errors instead of crashes', async () => {
    await using sim = await IbSim.start({ topology: netFile('flap.net', { leaves: 3, spines: 2, hostsPerLeaf: 4 }) });
    const [clean] = await discoverOn(sim);
    const full = linkSet(clean!.fabric);
    let flapping = true;
    const flapper = (async () => {
      let up = true;
      while (flapping) {
        await sim.console(up ? 'Unlink "S-spine01"' : 'ReLink "S-spine01"');
        up = !up;
        await new Promise((r) => setTimeout(r, 3));
      }
      await sim.console('ReLink "S-spine01"');
    })();
    let runs: Run[];
    try {
      runs = await discoverOn(sim, { repeat: 15, discover: { timeoutMs: 200, retries: 1 } });
    } finally {
      flapping = false;
      await flapper;
    }
    for (const r of runs) {
      assertConsistent(r.fabric);
      for (const l of linkSet(r.fabric)) assert.ok(full.includes(l), `link ${l} exists in the real fabric`);
    }
    const [after] = await discoverOn(sim);
    assert.deepEqual(linkSet(after!.fabric), full, 'after ReLink the whole fabric is back');
  });

  it('hpcnet ib discover prints what ibnetdiscover prints; ib diff against the live fabric', async () => {
    await using sim = await IbSim.start({ name: 'disc-cli' });
    const ours = await runCli(['--sim-name', 'disc-cli', 'ib', 'discover', '-q']);
    assert.equal(ours.code, 0, ours.stderr);
    const theirs = await sim.exec('ibnetdiscover');
    const body = (t: string) => t.split('\n').filter((l) => !l.startsWith('#')).sort();
    assert.deepEqual(body(ours.stdout), body(theirs.stdout));
    const ref = join(tmp, 'ref.topo');
    writeFileSync(ref, theirs.stdout);
    const same = await runCli(['--sim-name', 'disc-cli', 'ib', 'diff', ref]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    await sim.console('Unlink "H-node07"');
    const changed = await runCli(['--sim-name', 'disc-cli', 'ib', 'diff', ref, '--json']);
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(changed.stdout, /node07 HCA-1/);
  });
});
