/**
 * Forwarding tables and routing analysis against ibsim + OpenSM, with the
 * infiniband-diags tools as oracles: `hpcnet ib routes --format dump_fts`
 * equals dump_fts (as switch/LID/port entries), ibroute and ibtracert agree;
 * credit loops on a ring routed by minhop (present) and updn with a root
 * (absent), fat trees routed by ftree and updn (absent), each checked
 * against a second, deliberately naive implementation of the channel
 * dependency graph; black holes after a cable is unlinked with the SM
 * stopped; a loop and a skewed table planted with `lft-set --write`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateFatTree } from '../../../lib/sim/netfile.js';
import { IbSim, type IbSimOptions } from '../../../lib/sim/ibsim.js';
import { packageRoot } from '../../../lib/util/paths.js';
import { runCli } from '../../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'hpcnet-routing-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

/** A ring of n switches r1..rn (port 2 to the next, port 3 to the previous), one host on port 1 of each. */
function ring(n: number): string {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) out.push(`Hca 1 "H-h${i}" # "h${i} HCA-1"`, `[1] "S-r${i}"[1]`, '');
  for (let i = 1; i <= n; i++) {
    const next = (i % n) + 1;
    const prev = ((i + n - 2) % n) + 1;
    out.push(`Switch 3 "S-r${i}" # "r${i}" enhanced port 0 lid 0 lmc 0`, `[1] "H-h${i}"[1]`, `[2] "S-r${next}"[3]`, `[3] "S-r${prev}"[2]`, '');
  }
  return out.join('\n');
}

const ftA = file('ft-a.net', generateFatTree({ leaves: 4, spines: 2, hostsPerLeaf: 3 }));
const ftB = file('ft-b.net', generateFatTree({ leaves: 4, spines: 2, hostsPerLeaf: 4, linksPerSpine: 2 }));
const ring4 = file('ring4.net', ring(4));

async function withSim(opts: IbSimOptions, fn: (sim: IbSim) => Promise<void>): Promise<void> {
  const sim = await IbSim.start(opts);
  try {
    await fn(sim);
  } finally {
    await sim.stop();
  }
}

async function hp(sim: IbSim | undefined, args: string[], okCodes = [0]) {
  const r = await runCli([...(sim ? ['--sim-name', sim.name] : []), 'ib', ...args], { cwd: tmp });
  assert.ok(okCodes.includes(r.code), `hpcnet ib ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

async function tool(sim: IbSim, cmd: string, args: string[]): Promise<string> {
  const r = await sim.exec(cmd, args, { cwd: tmp });
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** (switch GUID, LID, port) entries of dump_fts / ibroute text. */
function entries(text: string): string[] {
  const out: string[] = [];
  let sw = '';
  for (const line of text.split('\n')) {
    const h = /^Unicast lids .* guid (0x[0-9a-f]+) \(/.exec(line);
    if (h) sw = h[1]!;
    const e = /^0x([0-9a-f]{4}) (\d{3})/.exec(line);
    if (e) out.push(`${sw} ${parseInt(e[1]!, 16)} ${Number(e[2])}`);
  }
  return out.sort();
}

interface SnapNode {
  id: string;
  type: string;
  guid: string;
  description: string;
  drPath?: number[];
  portGuid?: string;
  ports: Array<{ portNum: number; guid?: string; lid?: number; lmc?: number; state?: string; remote?: { node: string; port: number } }>;
}
interface Snap {
  nodes: SnapNode[];
  routes: { switches: Array<{ node: string; linearFdbTop: number; lft: string }> };
}

interface Finding {
  rule: string;
  node: { guid: string; description: string } | null;
  port: number | null;
  message: string;
}

/** Save the live tables in a snapshot and audit it offline; the route-* findings. */
async function routeFindings(sim: IbSim, name: string): Promise<{ snap: Snap; findings: Finding[]; path: string }> {
  const path = join(tmp, `${name}.json`);
  await hp(sim, ['routes', '--save', path, '-o', join(tmp, `${name}.txt`)]);
  const a = await hp(undefined, ['audit', '--snapshot', path, '--format', 'json'], [0, 1]);
  const findings = (JSON.parse(a.stdout) as { findings: Finding[] }).findings.filter((f) => f.rule.startsWith('route-'));
  return { snap: JSON.parse(readFileSync(path, 'utf8')) as Snap, findings, path };
}

/**
 * The second implementation of the channel dependency graph: for every
 * (CA, LID) pair walk the tables from the CA's switch, and join each two
 * consecutive switch-to-switch channels; then Kahn's algorithm (strip
 * channels without incoming dependencies): a channel left over lies on a
 * cycle. On a ring of 4 the dependencies can be listed by hand.
 */
function naiveCdg(snap: Snap): { deps: Set<string>; cyclic: boolean } {
  const nodes = new Map(snap.nodes.map((n) => [n.id, n]));
  const lft = new Map(snap.routes.switches.map((s) => [s.node, Buffer.from(s.lft, 'base64')]));
  const lids: number[] = [];
  for (const n of snap.nodes) for (const p of n.ports) if (p.lid && (n.type !== 'Switch' || p.portNum === 0)) lids.push(p.lid);
  const deps = new Set<string>();
  for (const ca of snap.nodes.filter((n) => n.type === 'CA')) {
    const entry = ca.ports.find((p) => p.remote)?.remote?.node;
    if (!entry) continue;
    for (const lid of lids) {
      let sw = entry;
      let prev: string | undefined;
      for (let hop = 0; hop < 64; hop++) {
        const out = lft.get(sw)?.[lid];
        if (out === undefined || out === 0 || out === 255) break;
        const rem = nodes.get(sw)!.ports.find((p) => p.portNum === out)?.remote;
        if (!rem || nodes.get(rem.node)!.type !== 'Switch') break;
        const ch = `${nodes.get(sw)!.description}:${out}`;
        if (prev) deps.add(`${prev}>${ch}`);
        prev = ch;
        sw = rem.node;
      }
    }
  }
  const indeg = new Map<string, number>();
  const succ = new Map<string, string[]>();
  for (const d of deps) {
    const [a, b] = d.split('>') as [string, string];
    indeg.set(a, indeg.get(a) ?? 0);
    indeg.set(b, (indeg.get(b) ?? 0) + 1);
    succ.set(a, [...(succ.get(a) ?? []), b]);
  }
  const queue = [...indeg].filter(([, d]) => d === 0).map(([c]) => c);
  let removed = 0;
  while (queue.length) {
    const c = queue.pop()!;
    removed++;
    for (const s of succ.get(c) ?? []) {
      indeg.set(s, indeg.get(s)! - 1);
      if (indeg.get(s) === 0) queue.push(s);
    }
  }
  return { deps, cyclic: removed < indeg.size };
}

/** The channels of the cycle a route-credit-loop finding names, as "switch:port". */
function cycleOf(f: Finding): string[] {
  return [...f.message.matchAll(/"([^"]+)" port (\d+) -> "[^"]+" port \d+/g)].map((m) => `${m[1]}:${m[2]}`);
}

/** LIDs in a finding message's compact list ("1-3,6"). */
function lidsIn(text: string): number[] {
  return text.split(',').flatMap((part) => {
    const [a, b] = part.trim().split('-').map(Number) as [number, number | undefined];
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

const route = (sim: IbSim, snap: Snap, desc: string) => {
  const n = snap.nodes.find((x) => x.description === desc)!;
  return ['-D', ['0', ...(n.drPath ?? [])].join(',')];
};

describe('forwarding tables: hpcnet ib routes against dump_fts, ibroute, ibtracert', () => {
  it('fat tree (4 leaves, 2 spines, 12 hosts): dump_fts entries, ibroute per switch, ibtracert per pair, live audit --routing clean', async () => {
    await withSim({ topology: ftA }, async (sim) => {
      const ours = await hp(sim, ['routes', '--format', 'dump_fts']);
      const theirs = await tool(sim, 'dump_fts', []);
      const e = entries(ours.stdout);
      assert.equal(e.length, 6 * 18, '6 switches x 18 LIDs (12 hosts + 6 switches)');
      assert.deepEqual(e, entries(theirs));
      // Byte for byte, switch block by switch block (the blocks' order follows each tool's discovery order).
      const unicast = (t: string) => t.split(/(?=^Unicast lids)/m).sort();
      assert.deepEqual(unicast(ours.stdout), unicast(theirs));
      // -o FILE holds what stdout shows.
      await hp(sim, ['routes', '--format', 'dump_fts', '-o', join(tmp, 'fts.txt')]);
      assert.deepEqual(unicast(readFileSync(join(tmp, 'fts.txt'), 'utf8')), unicast(theirs));
      // The JSON model agrees with ibroute for sampled switches (by LID).
      const j = JSON.parse((await hp(sim, ['routes', '--format', 'json'])).stdout) as { switches: Array<{ guid: string; lid: number; lft: number[] }> };
      for (const sw of [j.switches[0]!, j.switches[5]!]) {
        const ib = entries(await tool(sim, 'ibroute', [String(sw.lid)]));
        const mine = sw.lft.flatMap((p, lid) => (lid > 0 && p !== 255 ? [`${sw.guid} ${lid} ${p}`] : [])).sort();
        assert.deepEqual(mine, ib, `switch ${sw.guid}`);
      }
      // Multicast: entries written to one switch read back as dump_fts -M prints them.
      const setter = join(packageRoot(), 'dist', 'test', 'ib', 'queries', 'clients', 'set-mft.js');
      await tool(sim, process.execPath, [setter, JSON.stringify({ lid: j.switches[1]!.lid, block: 1, masks: { 0: 0b1010, 7: 0b1001 } })]);
      const blocks = (t: string) => t.split(/(?=^Multicast mlids)/m).sort();
      const mOurs = (await hp(sim, ['routes', '-M', '--format', 'dump_fts'])).stdout;
      assert.deepEqual(blocks(mOurs), blocks(await tool(sim, 'dump_fts', ['-M'])));
      assert.match(mOurs, /^2 valid mlids dumped $/m);
      // ibtracert for sampled LID pairs, against the trace over the saved model (no MAD sent).
      const { snap, path } = await routeFindings(sim, 'ft-a');
      const caLids = snap.nodes.filter((n) => n.type === 'CA').map((n) => n.ports[0]!.lid!);
      const swLid = snap.nodes.find((n) => n.description === 'spine02')!.ports.find((p) => p.portNum === 0)!.lid!;
      for (const [s, d] of [[caLids[0]!, caLids[11]!], [caLids[4]!, caLids[2]!], [caLids[7]!, caLids[8]!], [caLids[5]!, swLid]]) {
        const t = await hp(undefined, ['trace', '--snapshot', path, String(s), String(d)]);
        assert.equal(t.stdout.trim(), (await tool(sim, 'ibtracert', [String(s), String(d)])).trim(), `trace ${s} -> ${d}`);
      }
      // GUIDs resolved from the saved fabric (no SA query) give the same trace as ibtracert -G.
      const cas = snap.nodes.filter((n) => n.type === 'CA');
      const g = (n: SnapNode) => n.ports[0]!.guid ?? n.portGuid!;
      const tg = await hp(undefined, ['trace', '--snapshot', path, '-G', g(cas[1]!), g(cas[10]!)]);
      assert.equal(tg.stdout.trim(), (await tool(sim, 'ibtracert', ['-G', g(cas[1]!), g(cas[10]!)])).trim());
      // The live trace (the same walk, answered with SMPs by directed route) equals ibtracert too, by LID and by GUID (SA).
      for (const args of [[String(caLids[0]), String(caLids[11])], [String(caLids[5]), String(swLid)], ['-G', g(cas[2]!), g(cas[9]!)]]) {
        assert.equal((await hp(sim, ['trace', ...args])).stdout.trim(), (await tool(sim, 'ibtracert', args)).trim(), `live trace ${args.join(' ')}`);
      }
      // The resolver: the directed route to every LID, found through the tables, leads to the port smpquery -D finds
      // there; an unassigned LID has no route. GUIDs and descriptions resolve the same through the SA as from the
      // saved fabric, which sends no SA query.
      const portGuidOf = new Map<number, string>();
      for (const n of snap.nodes) for (const p of n.ports) if (p.lid && (n.type !== 'Switch' || p.portNum === 0)) portGuidOf.set(p.lid, p.guid ?? n.portGuid ?? n.guid);
      const lids = [...portGuidOf.keys()].sort((a, b) => a - b);
      const spine = snap.nodes.find((n) => n.description === 'spine02')!;
      const job = {
        snapshot: path,
        lids: [...lids, lids[lids.length - 1]! + 1],
        guids: [...cas.map(g), cas[3]!.guid, spine.guid, '0x0000000000001234'],
        descriptions: [cas[4]!.description, 'spine02', 'no such node'],
      };
      const r = JSON.parse(await tool(sim, process.execPath, [join(packageRoot(), 'dist', 'test', 'ib', 'routing', 'clients', 'resolve.js'), JSON.stringify(job)])) as {
        routes: Array<{ ok?: number[]; error?: string; message?: string }>;
        guids: Array<{ sa: { ok?: { lid: number; portGuid: string }; error?: string }; fabric: unknown }>;
        descriptions: Array<{ sa: { ok?: unknown[]; error?: string }; fabric: unknown }>;
        saQueries: { sa: number; fabric: number };
      };
      for (const [i, lid] of lids.entries()) {
        const dr = r.routes[i]!.ok;
        assert.ok(dr, `route to LID ${lid}: ${r.routes[i]!.message}`);
        const ni = await tool(sim, 'smpquery', ['-D', 'nodeinfo', ['0', ...dr].join(',')]);
        assert.equal(/PortGuid:\.+(0x[0-9a-f]+)/.exec(ni)?.[1], portGuidOf.get(lid), `LID ${lid} via DR 0,${dr.join(',')}`);
      }
      assert.equal(r.routes[lids.length]!.error, 'ERR_NOT_FOUND');
      assert.match(r.routes[lids.length]!.message!, /^LID \d+: no route in the LFT of switch 0x[0-9a-f]{16} at DR path 0,\d+$/);
      // (Errors compared by code: the messages name where the lookup failed, SA or fabric.)
      const same = (a: unknown, b: unknown, what: string) => assert.deepEqual(JSON.parse(JSON.stringify(a, (k, v: unknown) => (k === 'message' ? undefined : v))), JSON.parse(JSON.stringify(b, (k, v: unknown) => (k === 'message' ? undefined : v))), what);
      for (const [i, x] of r.guids.entries()) same(x.fabric, x.sa, `GUID ${job.guids[i]}`);
      assert.equal(r.guids[0]!.sa.ok!.lid, caLids[0]);
      assert.equal(r.guids[cas.length]!.sa.ok!.portGuid, g(cas[3]!), 'a node GUID gives its port');
      assert.equal(r.guids[cas.length + 2]!.sa.error, 'ERR_NOT_FOUND');
      for (const [i, x] of r.descriptions.entries()) same(x.fabric, x.sa, `description ${job.descriptions[i]}`);
      assert.equal(r.descriptions[1]!.sa.ok!.length, 1);
      assert.equal(r.descriptions[2]!.sa.error, 'ERR_NOT_FOUND');
      assert.ok(r.saQueries.sa >= job.guids.length + 3);
      assert.equal(r.saQueries.fabric, 0);
      // The saved tables print as read live; a node-name map names switches and destinations.
      const mapFile = file('names.map', `${spine.guid} "SPINE-TWO"\n`);
      const saved = (await hp(undefined, ['routes', '--snapshot', path, '--format', 'dump_fts', '--node-name-map', mapFile])).stdout;
      assert.deepEqual(entries(saved), e);
      assert.match(saved, new RegExp(`^Unicast lids \\[0x0-0x[0-9a-f]+\\] of switch .* guid ${spine.guid} \\(SPINE-TWO\\):$`, 'm'));
      assert.match(saved, /^0x[0-9a-f]{4} 000 : \(Switch portguid 0x[0-9a-f]{16}: 'SPINE-TWO'\)$/m);
      const live = await hp(sim, ['audit', '--routing', '--skip', 'counter-rate', '--format', 'json'], [0, 1]);
      const rep = JSON.parse(live.stdout) as { findings: Finding[]; notRun: Array<{ rule: string }> };
      assert.deepEqual(rep.findings.filter((f) => f.rule.startsWith('route-')), []);
      assert.ok(!rep.notRun.some((r) => r.rule.startsWith('route-')), 'every routing rule ran');
      // Without --routing the routing rules are not part of the report.
      const plain = JSON.parse((await hp(sim, ['audit', '--skip', 'counter-rate', '--format', 'json'], [0, 1])).stdout) as { notRun: Array<{ rule: string }> };
      assert.ok(!plain.notRun.some((r) => r.rule.startsWith('route-')));
    });
  });

  it('fat tree with parallel leaf-spine links: dump_fts entries; evenly spread is clean, a table skewed with lft-set --write is route-unbalanced', async () => {
    await withSim({ topology: ftB }, async (sim) => {
      const ours = await hp(sim, ['routes', '--format', 'dump_fts']);
      assert.deepEqual(entries(ours.stdout), entries(await tool(sim, 'dump_fts', [])));
      const before = await routeFindings(sim, 'ft-b');
      assert.deepEqual(before.findings, [], 'OpenSM spreads the LIDs evenly over the parallel up-links');
      assert.equal(naiveCdg(before.snap).cyclic, false);
      await sim.stopSm();
      // leaf01: ports 5,6 go to spine01, 7,8 to spine02. Move every CA LID of port 5 to port 6.
      const leaf = before.snap.nodes.find((n) => n.description === 'leaf01')!;
      const lft = Buffer.from(before.snap.routes.switches.find((s) => s.node === leaf.id)!.lft, 'base64');
      const caLids = new Set(before.snap.nodes.filter((n) => n.type === 'CA').map((n) => n.ports[0]!.lid!));
      const moved = [...lft.entries()].filter(([lid, p]) => p === 5 && caLids.has(lid)).map(([lid]) => lid);
      assert.ok(moved.length >= 2);
      const args = ['lft-set', ...route(sim, before.snap, 'leaf01'), ...moved.map((l) => `${l}:6`)];
      const refused = await hp(sim, args, [2]);
      assert.match(refused.stderr, /--write/);
      assert.equal((await routeFindings(sim, 'ft-b-refused')).findings.length, 0, 'nothing was written without --write');
      await hp(sim, [...args, '--write']);
      const after = await routeFindings(sim, 'ft-b-skewed');
      assert.deepEqual(after.findings.map((f) => `${f.rule} ${f.node?.description}`), ['route-unbalanced leaf01']);
      assert.match(after.findings[0]!.message, new RegExp(`port 5: 0, port 6: ${2 * moved.length}`));
    });
  });
});

describe('credit loops: the channel dependency graph', () => {
  it('a ring of 4 routed by minhop has a cycle; the same ring by updn with a root has none (checked by a second implementation)', async () => {
    await withSim({ topology: ring4, routingEngine: 'minhop' }, async (sim) => {
      const { snap, findings } = await routeFindings(sim, 'ring-minhop');
      const naive = naiveCdg(snap);
      assert.equal(naive.cyclic, true);
      // By hand: with one host per switch, opposite switches are two hops apart; minhop
      // balances them so the four two-hop routes to the switches' own LIDs run one way round.
      assert.equal(naive.deps.size, 8);
      const loops = findings.filter((f) => f.rule === 'route-credit-loop');
      assert.equal(loops.length, 1, JSON.stringify(findings));
      assert.deepEqual(findings.filter((f) => f.rule !== 'route-credit-loop'), []);
      const cyc = cycleOf(loops[0]!);
      assert.equal(cyc.length, 4, loops[0]!.message);
      assert.deepEqual(new Set(cyc.map((c) => c.split(':')[0])), new Set(['r1', 'r2', 'r3', 'r4']));
      for (let i = 0; i < cyc.length; i++) assert.ok(naive.deps.has(`${cyc[i]}>${cyc[(i + 1) % cyc.length]}`), `${cyc[i]} -> ${cyc[(i + 1) % cyc.length]}`);
      assert.match(loops[0]!.message, new RegExp(`\\(${naive.deps.size} dependencies over 8 channels`));
    });
    await withSim({ topology: ring4, routingEngine: 'updn', rootGuids: [0x200000n] }, async (sim) => {
      const { snap, findings } = await routeFindings(sim, 'ring-updn');
      assert.equal(snap.nodes.find((n) => n.description === 'r1')!.guid, '0x0000000000200000', 'the root given is r1');
      assert.equal(naiveCdg(snap).cyclic, false);
      assert.deepEqual(findings, []);
    });
  });

  for (const engine of ['ftree', 'updn']) {
    it(`a fat tree routed by ${engine} has no credit loop`, async () => {
      await withSim({ topology: ftB, routingEngine: engine }, async (sim) => {
        const osm = readFileSync(join(sim.dir, 'osm', 'osm.log'), 'utf8');
        assert.match(osm, new RegExp(`${engine} tables configured on all switches`));
        const { snap, findings } = await routeFindings(sim, `ft-${engine}`);
        assert.equal(naiveCdg(snap).cyclic, false);
        assert.ok(naiveCdg(snap).deps.size > 0);
        assert.deepEqual(findings, []);
      });
    });
  }
});

describe('routing faults', () => {
  it('a cable unlinked with the SM stopped: the switches still pointing at it are black holes; a loop planted with lft-set --write is route-loop', async () => {
    await withSim({}, async (sim) => {
      await sim.stopSm();
      await sim.console('Unlink "S-leaf01"[5]');
      const { snap, findings } = await routeFindings(sim, 'unlinked');
      // Oracle: ibroute of leaf01 (port 5 went to spine01) and spine01 (port 1 went to leaf01).
      const expected = new Map<string, number[]>();
      const caLids = new Set(snap.nodes.filter((n) => n.type === 'CA').map((n) => n.ports[0]!.lid!));
      for (const [desc, port] of [['leaf01', 5], ['spine01', 1]] as const) {
        const lines = entries(await tool(sim, 'ibroute', route(sim, snap, desc)));
        const lids = lines.map((l) => l.split(' ').map(Number) as [number, number, number]).filter(([, , p]) => p === port).map(([, lid]) => lid);
        assert.ok(lids.length > 0, `${desc} still forwards LIDs to port ${port}`);
        expected.set(`${desc} ${port}`, lids);
      }
      const holes = findings.filter((f) => f.rule === 'route-black-hole');
      assert.deepEqual(holes.map((f) => `${f.node?.description} ${f.port}`).sort(), [...expected.keys()].sort());
      for (const f of holes) {
        const listed = lidsIn(/\(([\d,-]+)\) to port/.exec(f.message)![1]!);
        for (const lid of expected.get(`${f.node?.description} ${f.port}`)!) if (caLids.has(lid)) assert.ok(listed.includes(lid), `${f.message} lists LID ${lid}`);
        assert.match(f.message, /port \d+ is Down|has no cable/);
      }
      assert.ok(findings.some((f) => f.rule === 'route-unreachable'));

      // A loop: leaf02 and spine02 send node09's LID (a host on leaf03) to each other.
      const lid = snap.nodes.find((n) => n.description === 'node09 HCA-1')!.ports[0]!.lid!;
      const refused = await hp(sim, ['lft-set', ...route(sim, snap, 'spine02'), `${lid}:2`], [2]);
      assert.match(refused.stderr, /--write/);
      await hp(sim, ['lft-set', ...route(sim, snap, 'leaf02'), `${lid}:6`, '--write']);
      await hp(sim, ['lft-set', ...route(sim, snap, 'spine02'), `${lid}:2`, '--write']);
      const looped = await routeFindings(sim, 'looped');
      const loops = looped.findings.filter((f) => f.rule === 'route-loop');
      assert.equal(loops.length, 1, JSON.stringify(looped.findings));
      assert.match(loops[0]!.message, new RegExp(`LID\\(s\\) ${lid}: `));
      assert.match(loops[0]!.message, /"leaf02" port 6 -> "spine02" port 2|"spine02" port 2 -> "leaf02" port 6/);
      const unreach = looped.findings.find((f) => f.rule === 'route-unreachable' && f.message.startsWith(`LID ${lid} `));
      assert.ok(unreach, 'node09 is unreachable from the switches whose route enters the loop');
      assert.match(unreach.message, /"leaf02"/);
    });
  });
});
