/**
 * Test oracles built from the real infiniband-diags tools run as clients of
 * ibsim + OpenSM: ibnetdiscover, iblinkinfo, perfquery, sminfo, and a
 * directed-route walk with `smpquery -D` (which, unlike ibnetdiscover, keeps
 * two nodes that carry the same GUID).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IbSim } from '../../../../lib/sim/ibsim.js';
import { tempDir } from '../../../helpers/tmp.js';
import { summarizeNetFile } from '../../../../lib/sim/netfile.js';
import {
  FabricBuilder,
  applyLinkTable,
  countersFromPerfquery,
  nodeInfoFromDump,
  parseLinkTable,
  portInfoFromDump,
  readIbnetdiscover,
  smInfoFromSminfo,
  type CounterSample,
  type Fabric,
  type FabricSnapshot,
  type SmInfo,
} from '../../../../lib/ib/topology/index.js';

/** A temporary folder, removed when the test process exits. */
export function tmpDir(prefix = 'hpcnet-topo-'): string {
  return tempDir(prefix);
}

/** Start a simulator on a net file given as text. */
export async function startSim(net: string, opts: { sm?: boolean; smArgs?: string[] } = {}): Promise<IbSim> {
  const dir = tmpDir();
  const file = join(dir, 'fabric.net');
  writeFileSync(file, net);
  return IbSim.start({ topology: file, ...(opts.sm === false ? { sm: false } : {}), ...(opts.smArgs ? { smArgs: opts.smArgs } : {}) });
}

/** Run a diag tool on the fabric; fails the test on a non-zero exit. */
export async function tool(sim: IbSim, cmd: string, args: string[] = [], allowFail = false): Promise<string> {
  const r = await sim.exec(cmd, args, { timeoutMs: 60_000 });
  if (!allowFail) assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export async function ibnetdiscover(sim: IbSim): Promise<{ text: string; fabric: Fabric }> {
  const text = await tool(sim, 'ibnetdiscover');
  return { text, fabric: readIbnetdiscover(text, { file: 'ibnetdiscover' }) };
}

/** Links a net file declares, as sorted "descA[p] <-> descB[q]" strings (by NodeDescription). */
export function netFileLinks(net: string): { links: string[]; widths: Map<string, string> } {
  const s = summarizeNetFile(net);
  const desc = new Map(s.nodes.map((n) => [n.id, n.description ?? n.id]));
  const set = new Set<string>();
  const widths = new Map<string, string>();
  let cur: string | undefined;
  for (const raw of net.split('\n')) {
    const line = raw.trim();
    const h = /^(?:Switch|Hca|Ca|Rt)\s+\d+\s+"([^"]+)"/.exec(line);
    if (h) {
      cur = h[1];
      continue;
    }
    const p = /^\[(\d+)\]\s*"([^"]+)"\[(\d+)\](?:.*\s(\d+x)\w+\s*$)?/.exec(line);
    if (p && cur) {
      const k = linkString(desc.get(cur)!, Number(p[1]), desc.get(p[2]!)!, Number(p[3]));
      set.add(k);
      if (p[4]) widths.set(k, p[4].toUpperCase());
    }
  }
  return { links: [...set].sort(), widths };
}

export function linkString(a: string, pa: number, b: string, pb: number): string {
  const x = `${a}[${pa}]`;
  const y = `${b}[${pb}]`;
  return x < y ? `${x} <-> ${y}` : `${y} <-> ${x}`;
}

/** A fabric's links as linkString()s, by description (or by GUID with byGuid). */
export function fabricLinks(f: Fabric, byGuid = false): string[] {
  const n = new Map(f.nodes.map((x) => [x.id, byGuid ? x.guid.toString(16) : x.description]));
  return f.links.map((l) => linkString(n.get(l.a.node)!, l.a.port, n.get(l.b.node)!, l.b.port)).sort();
}

/**
 * Breadth-first directed-route walk with smpquery: NodeInfo, NodeDescription
 * and PortInfo of every port of every node. A GUID reached again is the same
 * node when its arrival port is unlinked or linked back to where we came
 * from; otherwise it is a second node with the same GUID.
 */
export async function drWalk(sim: IbSim): Promise<Fabric> {
  const b = new FabricBuilder({ source: 'smpquery DR walk' });
  const q: Array<{ path: number[]; from?: { node: string; port: number } }> = [{ path: [] }];
  const dr = (p: number[]) => ['0', ...p].join(',');
  while (q.length > 0) {
    const { path, from } = q.shift()!;
    const ni = nodeInfoFromDump(await tool(sim, 'smpquery', ['-D', 'nodeinfo', dr(path)]));
    const arrival = ni.localPort;
    let id: string | undefined;
    for (const n of b.nodesWithGuid(ni.guid)) {
      const p = n.ports.find((x) => x.portNum === arrival);
      if (!from || !p?.remote || (p.remote.node === from.node && p.remote.port === from.port)) {
        id = n.id;
        break;
      }
    }
    if (id !== undefined) {
      if (from) b.addLink(from, { node: id, port: arrival });
      continue;
    }
    const nd = await tool(sim, 'smpquery', ['-D', 'nodedesc', dr(path)]);
    const description = /Node Description:\.*(.*)$/m.exec(nd)?.[1]?.trim() ?? '';
    const { localPort: _lp, ...input } = ni;
    id = b.addNode({ ...input, description, drPath: path });
    const ports = ni.type === 'Switch' ? [...Array(ni.numPorts + 1).keys()] : [...Array(ni.numPorts).keys()].map((x) => x + 1);
    for (const p of ports) {
      const { localPort: _l, ...pi } = portInfoFromDump(await tool(sim, 'smpquery', ['-D', 'portinfo', dr(path), String(p)]));
      if ((ni.type === 'Switch' && p === 0) || (ni.type !== 'Switch' && p === arrival)) pi.guid = ni.portGuid!;
      b.setPort(id, p, pi);
      const canForward = ni.type === 'Switch' || path.length === 0;
      if (p > 0 && canForward && pi.physState === 'LinkUp' && !(from && p === arrival)) {
        q.push({ path: [...path, p], from: { node: id, port: p } });
      }
    }
    if (from) b.addLink(from, { node: id, port: arrival });
  }
  return b.build();
}

/** One perfquery reading of every port 1..n of every node (by LID; needs the SM to have assigned LIDs). */
export async function perfquerySample(sim: IbSim, f: Fabric): Promise<CounterSample> {
  const takenAt = new Date().toISOString();
  const ports: CounterSample['ports'] = [];
  for (const n of f.nodes) {
    for (const p of n.ports) {
      if (p.portNum === 0 || !p.remote) continue;
      const lid = n.type === 'Switch' ? n.ports.find((x) => x.portNum === 0)?.lid : p.lid;
      assert.ok(lid, `no LID for ${n.description} port ${p.portNum}`);
      const c = countersFromPerfquery(await tool(sim, 'perfquery', [String(lid), String(p.portNum)]));
      assert.equal(c.port, p.portNum);
      ports.push({ node: n.id, port: p.portNum, counters: c.counters });
    }
  }
  return { takenAt, ports };
}

export async function sminfo(sim: IbSim): Promise<SmInfo[]> {
  return [smInfoFromSminfo(await tool(sim, 'sminfo'))];
}

/** ibnetdiscover + iblinkinfo (port states) + perfquery samples + sminfo: an audit input from the tools. */
export async function toolSnapshot(sim: IbSim, o: { samples?: number; between?: () => Promise<void>; sm?: boolean } = {}): Promise<FabricSnapshot> {
  const { fabric } = await ibnetdiscover(sim);
  const rows = parseLinkTable(await tool(sim, 'iblinkinfo'));
  assert.deepEqual(applyLinkTable(fabric, rows), [], 'every iblinkinfo row matches a node of the ibnetdiscover output');
  const counters: CounterSample[] = [];
  for (let i = 0; i < (o.samples ?? 1); i++) {
    if (i > 0 && o.between) await o.between();
    counters.push(await perfquerySample(sim, fabric));
  }
  const snap: FabricSnapshot = { fabric, counters };
  if (o.sm !== false) snap.subnetManagers = await sminfo(sim);
  return snap;
}
