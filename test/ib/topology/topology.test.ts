/**
 * Topology model and formats against ibsim + OpenSM, with the
 * infiniband-diags tools as oracles: the reader on real ibnetdiscover
 * output (checked against the net file the simulator was started from),
 * the writer read back by a second ibsim and by ibswitches/ibhosts, the
 * link table against real iblinkinfo, the diff against console-made changes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IbSim } from '../../../lib/sim/ibsim.js';
import { generateFatTree, summarizeNetFile } from '../../../lib/sim/netfile.js';
import {
  TopologyParseError,
  diffToText,
  diffTopology,
  isEmptyDiff,
  parseNodeNameMap,
  readIbnetdiscover,
  readSnapshot,
  writeDot,
  writeIbnetdiscover,
  writeLinkTable,
  writeSnapshot,
  type Fabric,
} from '../../../lib/ib/topology/index.js';
import { drWalk, fabricLinks, ibnetdiscover, linkString, netFileLinks, startSim, tmpDir, tool } from './helpers/fabric-tools.js';

// 3 leaves x 2 hosts, 2 spines, two parallel cables per leaf-spine pair, node03's cable at 1x.
const NET = generateFatTree({ leaves: 3, spines: 2, hostsPerLeaf: 2, linksPerSpine: 2, degraded: [{ host: 3, width: '1x' }] });

function expectParseError(text: string, line: number, re: RegExp): void {
  assert.throws(
    () => readIbnetdiscover(text, { file: 'bad.topo' }),
    (e: unknown) => e instanceof TopologyParseError && e.line === line && e.message.startsWith(`bad.topo:${line}: `) && re.test(e.message),
  );
}

/** A copy of a fabric without one node (and its cables), through the JSON snapshot. */
function withoutNode(f: Fabric, description: string): Fabric {
  const d = JSON.parse(writeSnapshot(f)) as {
    nodes: Array<{ id: string; description: string; ports: Array<{ remote?: { node: string } }> }>;
    links: Array<{ a: { node: string }; b: { node: string } }>;
  };
  const gone = d.nodes.find((n) => n.description === description)!.id;
  d.nodes = d.nodes.filter((n) => n.id !== gone);
  for (const n of d.nodes) for (const p of n.ports) if (p.remote?.node === gone) delete p.remote;
  d.links = d.links.filter((l) => l.a.node !== gone && l.b.node !== gone);
  return readSnapshot(JSON.stringify(d)).fabric;
}

function lineOf(text: string, needle: string | RegExp): number {
  const i = text.split('\n').findIndex((l) => (typeof needle === 'string' ? l.includes(needle) : needle.test(l)));
  assert.ok(i >= 0, `no line matching ${needle}`);
  return i + 1;
}

function replaceLine(text: string, line: number, f: (l: string) => string): string {
  const ls = text.split('\n');
  ls[line - 1] = f(ls[line - 1]!);
  return ls.join('\n');
}

describe('ibnetdiscover format on a simulated fabric', () => {
  let sim: IbSim;
  let text: string;
  let fabric: Fabric;

  before(async () => {
    sim = await startSim(NET);
    ({ text, fabric } = await ibnetdiscover(sim));
  });
  after(async () => {
    await sim?.stop();
  });

  it('reads real ibnetdiscover output: node count, types and every link equal the net file', () => {
    const summary = summarizeNetFile(NET);
    assert.equal(fabric.nodes.length, summary.nodes.length);
    assert.equal(fabric.nodes.filter((n) => n.type === 'Switch').length, summary.switches);
    assert.equal(fabric.nodes.filter((n) => n.type === 'CA').length, summary.cas);
    assert.deepEqual(
      fabric.nodes.map((n) => `${n.type === 'Switch' ? 'Switch' : 'Hca'} ${n.numPorts} ${n.description}`).sort(),
      summary.nodes.map((n) => `${n.kind} ${n.ports} ${n.description}`).sort(),
    );
    const declared = netFileLinks(NET);
    assert.deepEqual(fabricLinks(fabric), declared.links);
    assert.equal(new Set(fabric.nodes.map((n) => n.guid)).size, fabric.nodes.length, 'GUIDs are unique');
    // active width of each port as the net file declared it (node03's link at 1x)
    const desc = new Map(fabric.nodes.map((n) => [n.id, n.description]));
    for (const l of fabric.links) {
      const k = linkString(desc.get(l.a.node)!, l.a.port, desc.get(l.b.node)!, l.b.port);
      const pa = fabric.nodes.find((n) => n.id === l.a.node)!.ports.find((p) => p.portNum === l.a.port)!;
      assert.equal(pa.width.active, declared.widths.get(k), k);
      assert.equal(pa.speed.active, 'EDR', k);
    }
    assert.ok(fabric.meta.fromNode !== undefined && fabric.meta.fromPort !== undefined);
    // every LID OpenSM assigned is in the model: switches on port 0, CAs on their port
    for (const n of fabric.nodes) {
      const lid = n.type === 'Switch' ? n.ports.find((p) => p.portNum === 0)?.lid : n.ports.find((p) => p.portNum === 1)?.lid;
      assert.ok(lid && lid > 0, `${n.description} has a LID`);
    }
  });

  it('writes the format back: a second ibsim started on the written file discovers the same fabric', async () => {
    const dir = tmpDir();
    const file = join(dir, 'written.topo');
    writeFileSync(file, writeIbnetdiscover(fabric));
    const sim2 = await IbSim.start({ topology: file });
    try {
      const again = (await ibnetdiscover(sim2)).fabric;
      assert.deepEqual(fabricLinks(again, true), fabricLinks(fabric, true));
      const nodes = (f: Fabric) =>
        f.nodes.map((n) => `${n.type} ${n.guid.toString(16)} ${n.numPorts} ${n.description} sys=${n.systemImageGuid?.toString(16)} v=${n.vendorId} d=${n.deviceId}`).sort();
      assert.deepEqual(nodes(again), nodes(fabric));
      const ports = (f: Fabric) =>
        f.nodes.flatMap((n) => n.ports.filter((p) => p.portNum > 0).map((p) => `${n.guid.toString(16)}/${p.portNum} ${p.guid?.toString(16)} ${p.width.active} ${p.speed.active}`)).sort();
      assert.deepEqual(ports(again), ports(fabric));
      assert.ok(isEmptyDiff(diffTopology(fabric, again)));
    } finally {
      await sim2.stop();
    }
  });

  it('writes what ibswitches and ibhosts read: same lines as on the live fabric', async () => {
    const file = join(tmpDir(), 'written.topo');
    writeFileSync(file, writeIbnetdiscover(fabric));
    for (const cmd of ['ibswitches', 'ibhosts', 'ibnodes']) {
      const live = (await tool(sim, cmd)).trim().split('\n').sort();
      const offline = execFileSync(cmd, [file], { encoding: 'utf8' }).trim().split('\n').sort();
      assert.deepEqual(offline, live, cmd);
    }
  });

  it('link table: line for line what iblinkinfo prints (model from a directed-route walk)', async () => {
    const walked = await drWalk(sim);
    assert.deepEqual(fabricLinks(walked, true), fabricLinks(fabric, true));
    const real = (await tool(sim, 'iblinkinfo')).trim().split('\n');
    const mine = writeLinkTable(walked).trim().split('\n');
    assert.deepEqual([...mine].sort(), [...real].sort());
    assert.ok(mine.some((l) => /1X\s+25\.78125 Gbps Active\/  LinkUp/.test(l)), 'the degraded link shows 1X');
  });

  it('rejects malformed files with the line number', () => {
    const portLine = lineOf(text, /^\[1\]\t"H-/);
    expectParseError(replaceLine(text, portLine, () => '[1] garbage'), portLine, /malformed port line/);
    expectParseError(replaceLine(text, portLine, (l) => l.replace(/"H-[0-9a-f]{16}"/, '"H-00000000deadbeef"')), portLine, /not declared/);
    expectParseError(replaceLine(text, portLine, (l) => l.replace(/^\[1\]/, '[77]')), portLine, /out of range/);
    expectParseError(replaceLine(text, portLine, (l) => l.replace(/\d+x(EDR)/, '3x$1')), portLine, /unknown link width/);
    expectParseError(replaceLine(text, portLine, (l) => l.replace(/\[1\]\(/, '[2](')), portLine, /disagrees|has 1 ports/);
    const hdr = lineOf(text, /^Switch\t/);
    expectParseError(replaceLine(text, hdr, (l) => l.replace('enhanced port 0', 'strange port 0')), hdr, /malformed switch comment/);
    expectParseError(replaceLine(text, hdr, (l) => l.replace(/"S-[0-9a-f]{16}"/, '"S-00000000000000ff"')), hdr, /does not match the GUID/);
    const junk = text + '\nwhat is this\n';
    expectParseError(junk, junk.split('\n').length - 1, /unrecognised line/);
    // a node declared twice: the appended copy of the first switch is the last Switch line
    const firstSwitch = text.split('\n\n').find((b) => b.split('\n').some((l) => l.startsWith('Switch\t')))!;
    const twice = text.trimEnd() + '\n\n' + firstSwitch + '\n';
    const lines = twice.split('\n');
    const dupLine = lines.length - [...lines].reverse().findIndex((l) => l.startsWith('Switch\t'));
    expectParseError(twice, dupLine, /already declared at line/);
  });

  it('applies an opensm node-name map (names on nodes, used by the writers) and rejects a bad map with its line', () => {
    const sw = fabric.nodes.find((n) => n.type === 'Switch')!;
    const ca = fabric.nodes.find((n) => n.type === 'CA')!;
    const mapText = `# site names\n0x${sw.guid.toString(16).padStart(16, '0')} "rack1-sw"\n${ca.guid} "gpu-host" # decimal GUID\n\n`;
    const named = readIbnetdiscover(text, { nodeNameMap: parseNodeNameMap(mapText, 'names.map') });
    assert.equal(named.nodes.find((n) => n.guid === sw.guid)!.name, 'rack1-sw');
    assert.equal(named.nodes.find((n) => n.guid === ca.guid)!.name, 'gpu-host');
    assert.equal(named.nodes.filter((n) => n.name !== undefined).length, 2);
    assert.match(writeIbnetdiscover(named), /# "rack1-sw" enhanced port 0/);
    assert.match(writeLinkTable(named), /^Switch: 0x[0-9a-f]{16} rack1-sw:$/m);
    assert.throws(() => parseNodeNameMap('0x10 "ok"\nnot-a-guid "x"\n', 'names.map'), /names\.map:2: /);
    assert.throws(() => parseNodeNameMap('0x10\n', 'names.map'), /names\.map:1: no name/);
  });

  it('JSON snapshot: versioned, GUIDs as 0x + 16 hex digits, lossless round trip, strict validation', () => {
    const json = writeSnapshot(fabric);
    const doc = JSON.parse(json) as { schema: string; version: number; nodes: Array<{ guid: string; ports: Array<{ remote?: unknown }> }> };
    assert.equal(doc.schema, 'hpcnet.fabric');
    assert.equal(doc.version, 1);
    for (const n of doc.nodes) assert.match(n.guid, /^0x[0-9a-f]{16}$/);
    assert.equal(writeSnapshot(readSnapshot(json).fabric), json);
    const bad = (mut: (d: Record<string, unknown>) => void, re: RegExp) => {
      const d = JSON.parse(json) as Record<string, unknown>;
      mut(d);
      assert.throws(() => readSnapshot(JSON.stringify(d), 's.json'), re);
    };
    bad((d) => (d['version'] = 7), /\$\.version: unsupported version 7/);
    bad((d) => ((d['nodes'] as Array<Record<string, unknown>>)[2]!['guid'] = 'xyz'), /\$\.nodes\[2\]\.guid: expected a GUID/);
    bad((d) => ((d['nodes'] as Array<Record<string, unknown>>)[0]!['type'] = 'Hub'), /\$\.nodes\[0\]\.type: expected one of/);
    bad((d) => ((d['links'] as unknown[]).pop()), /does not match \$\.links/);
    assert.throws(() => readSnapshot('{"schema": "hpcnet.fabric",\n "version": 1,\n "nodes": [}', 's.json'), /s\.json(:\d+)?: not valid JSON/);
  });

  it('DOT: one vertex per node and one edge per cable', () => {
    const dot = writeDot(fabric);
    assert.match(dot, /^graph "fabric" \{/);
    assert.equal((dot.match(/\[shape=box/g) ?? []).length, fabric.nodes.filter((n) => n.type === 'Switch').length);
    assert.equal((dot.match(/\[shape=ellipse/g) ?? []).length, fabric.nodes.filter((n) => n.type === 'CA').length);
    assert.equal((dot.match(/ -- /g) ?? []).length, fabric.links.length);
    assert.match(dot, /\\n1X EDR"/);
  });
});

describe('topology diff against console-made changes', () => {
  let sim: IbSim;
  let reference: Fabric;
  let refText: string;

  before(async () => {
    sim = await startSim(generateFatTree({ leaves: 2, spines: 2, hostsPerLeaf: 3 }));
    ({ fabric: reference, text: refText } = await ibnetdiscover(sim));
  });
  after(async () => {
    await sim?.stop();
  });

  it('an unchanged fabric diffs empty', async () => {
    const d = diffTopology(reference, (await ibnetdiscover(sim)).fabric);
    assert.ok(isEmptyDiff(d), diffToText(d));
  });

  it('swapped host cables are moved links, an unlinked cable is a missing link', async () => {
    await sim.console('Unlink "H-node05"[1]');
    await sim.console('Unlink "H-node06"[1]');
    await sim.console('Link "H-node05"[1] "S-leaf02"[3]');
    await sim.console('Link "H-node06"[1] "S-leaf02"[2]');
    await sim.console('Unlink "S-leaf02"[5]');
    const current = (await ibnetdiscover(sim)).fabric;
    const d = diffTopology(reference, current);
    assert.deepEqual(d.missingNodes, []);
    assert.deepEqual(d.extraNodes, []);
    assert.deepEqual(d.extraLinks, []);
    assert.deepEqual(d.missingLinks.map((l) => linkString(l.a.description, l.a.port, l.b.description, l.b.port)), [linkString('leaf02', 5, 'spine02', 2)]);
    assert.deepEqual(
      d.movedLinks.map((m) => `${m.reference.a.description}[${m.reference.a.port}]: ${m.reference.b.description}[${m.reference.b.port}] -> ${m.current.b.description}[${m.current.b.port}]`).sort(),
      ['node05 HCA-1[1]: leaf02[2] -> leaf02[3]', 'node06 HCA-1[1]: leaf02[3] -> leaf02[2]'],
    );
    assert.match(diffToText(d), /^moved link/m);
  });

  it('width, speed and description changes and missing/extra nodes from a changed net file', async () => {
    // the same fabric, with node02's cable at 1x SDR, node04 renamed, and node06 removed
    const net = generateFatTree({ leaves: 2, spines: 2, hostsPerLeaf: 3, degraded: [{ host: 2, width: '1x', speed: 'SDR' }] })
      .replace(/"node04 HCA-1"/g, '"node04 renamed"');
    const refWithout = withoutNode(reference, 'node06 HCA-1');
    const sim2 = await startSim(net);
    try {
      const current = (await ibnetdiscover(sim2)).fabric;
      const d = diffTopology(refWithout, current);
      assert.equal(d.widthChanges.length, 1);
      assert.deepEqual([d.widthChanges[0]!.reference, d.widthChanges[0]!.current], ['4X', '1X']);
      assert.ok([d.widthChanges[0]!.link.a.description, d.widthChanges[0]!.link.b.description].includes('node02 HCA-1'));
      assert.equal(d.speedChanges.length, 1);
      assert.deepEqual([d.speedChanges[0]!.reference, d.speedChanges[0]!.current], ['EDR', 'SDR']);
      assert.deepEqual(d.descriptionChanges.map((c) => `${c.reference} -> ${c.current}`), ['node04 HCA-1 -> node04 renamed']);
      assert.deepEqual(d.extraNodes.map((n) => `${n.description} ${n.links}`), ['node06 HCA-1 1']);
      assert.deepEqual(d.missingNodes, []);
      assert.deepEqual(d.missingLinks, []);
      assert.deepEqual(d.extraLinks, []);
      const back = diffTopology(current, refWithout);
      assert.deepEqual(back.missingNodes.map((n) => n.description), ['node06 HCA-1']);
    } finally {
      await sim2.stop();
    }
  });

  it('reads the topology file from disk like the CLI does', () => {
    const file = join(tmpDir(), 'ref.topo');
    writeFileSync(file, refText);
    assert.equal(readIbnetdiscover(readFileSync(file, 'utf8'), { file }).nodes.length, reference.nodes.length);
  });
});
