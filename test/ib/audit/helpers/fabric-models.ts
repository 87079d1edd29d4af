/**
 * Fabric models built without a simulator, as live discovery would build
 * them (FabricBuilder), for report tests that only need the model: a
 * two-level fat tree of thousands of hosts, rings and meshes of switches.
 */
import { FabricBuilder, type CounterSample, type FabricSnapshot, type PortInput } from '../../../../lib/ib/topology/index.js';

const ACTIVE: PortInput = { state: 'Active', physState: 'LinkUp', width: { enabled: ['1X', '4X'], active: '4X' }, speed: { enabled: ['EDR'], active: 'EDR' } };

export interface FatTreeModel {
  snapshot: FabricSnapshot;
  leafId: (l: number) => string;
  spineId: (s: number) => string;
  hostId: (h: number) => string;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** A two-level fat tree (1-based names leaf01, spine01, node0001 HCA-1) with one clean counter sample and a master SM on the first host. */
export function fatTreeModel(o: { leaves: number; spines: number; hostsPerLeaf: number }): FatTreeModel {
  const b = new FabricBuilder({ source: 'discovery', createdAt: new Date().toISOString() });
  b.meta.subnetPrefix = 0xfe80000000000000n;
  const hosts = o.leaves * o.hostsPerLeaf;
  const lw = String(o.leaves).length < 2 ? 2 : String(o.leaves).length;
  const sw = String(o.spines).length < 2 ? 2 : String(o.spines).length;
  const hw = String(hosts).length;
  let lid = 1;
  const spines: string[] = [];
  for (let s = 1; s <= o.spines; s++) {
    const id = b.addNode({ type: 'Switch', guid: 0x0002c90300200000n + BigInt(s), numPorts: o.leaves, description: `spine${pad(s, sw)}`, portGuid: 0x0002c90300200000n + BigInt(s) });
    b.setPort(id, 0, { lid: lid++, lmc: 0, state: 'Active' });
    spines.push(id);
  }
  const leaves: string[] = [];
  for (let l = 1; l <= o.leaves; l++) {
    const id = b.addNode({ type: 'Switch', guid: 0x0002c90300300000n + BigInt(l), numPorts: o.hostsPerLeaf + o.spines, description: `leaf${pad(l, lw)}`, portGuid: 0x0002c90300300000n + BigInt(l) });
    b.setPort(id, 0, { lid: lid++, lmc: 0, state: 'Active' });
    leaves.push(id);
    for (let s = 1; s <= o.spines; s++) {
      b.setPort(id, o.hostsPerLeaf + s, ACTIVE);
      b.setPort(spines[s - 1]!, l, ACTIVE);
      b.addLink({ node: id, port: o.hostsPerLeaf + s }, { node: spines[s - 1]!, port: l });
    }
  }
  const hostIds: string[] = [];
  for (let h = 1; h <= hosts; h++) {
    const guid = 0x0002c90300100000n + BigInt(h);
    const id = b.addNode({ type: 'CA', guid, numPorts: 1, description: `node${pad(h, hw)} HCA-1`, portGuid: guid + 0x1000000n });
    b.setPort(id, 1, { ...ACTIVE, lid: lid++, lmc: 0, guid: guid + 0x1000000n });
    const leaf = leaves[Math.floor((h - 1) / o.hostsPerLeaf)]!;
    const lp = ((h - 1) % o.hostsPerLeaf) + 1;
    b.setPort(leaf, lp, ACTIVE);
    b.addLink({ node: id, port: 1 }, { node: leaf, port: lp });
    hostIds.push(id);
  }
  const fabric = b.build();
  const ports: CounterSample['ports'] = [];
  for (const n of fabric.nodes) for (const p of n.ports) if (p.portNum > 0 && p.remote) ports.push({ node: n.id, port: p.portNum, counters: { SymbolErrorCounter: 0n, LinkDownedCounter: 0n, PortRcvErrors: 0n, PortXmitDiscards: 0n } });
  const master = fabric.nodes.find((n) => n.id === hostIds[0])!;
  return {
    snapshot: { fabric, counters: [{ takenAt: new Date().toISOString(), ports }], subnetManagers: [{ guid: master.portGuid!, lid: master.ports[0]!.lid!, priority: 0, state: 'master' }] },
    leafId: (l) => leaves[l - 1]!,
    spineId: (s) => spines[s - 1]!,
    hostId: (h) => hostIds[h - 1]!,
  };
}

/**
 * Switches joined in a ring (each to the next) or a 2-D mesh (grid
 * neighbours), each with `hosts` hosts: not leveled (switch links within
 * one level).
 */
export function switchGraphModel(o: { kind: 'ring' | 'mesh'; switches: number; hosts: number }): FabricSnapshot {
  const b = new FabricBuilder({ source: 'discovery' });
  const side = Math.ceil(Math.sqrt(o.switches));
  const sws: string[] = [];
  for (let i = 0; i < o.switches; i++) sws.push(b.addNode({ type: 'Switch', guid: 0x500000n + BigInt(i), numPorts: o.hosts + 4, description: `sw${pad(i + 1, 3)}` }));
  const used = new Map<string, number>();
  const nextPort = (id: string) => {
    const p = (used.get(id) ?? o.hosts) + 1;
    used.set(id, p);
    return p;
  };
  const join = (a: string, c: string) => {
    const pa = nextPort(a);
    const pc = nextPort(c);
    b.setPort(a, pa, ACTIVE);
    b.setPort(c, pc, ACTIVE);
    b.addLink({ node: a, port: pa }, { node: c, port: pc });
  };
  for (let i = 0; i < o.switches; i++) {
    if (o.kind === 'ring') {
      if (o.switches > 1 && (i + 1 < o.switches || o.switches > 2)) join(sws[i]!, sws[(i + 1) % o.switches]!);
    } else {
      if ((i + 1) % side !== 0 && i + 1 < o.switches) join(sws[i]!, sws[i + 1]!);
      if (i + side < o.switches) join(sws[i]!, sws[i + side]!);
    }
  }
  let h = 0;
  for (const s of sws) {
    for (let k = 1; k <= o.hosts; k++) {
      h++;
      const id = b.addNode({ type: 'CA', guid: 0x600000n + BigInt(h), numPorts: 1, description: `host${pad(h, 4)} HCA-1` });
      b.setPort(id, 1, ACTIVE);
      b.setPort(s, k, ACTIVE);
      b.addLink({ node: id, port: 1 }, { node: s, port: k });
    }
  }
  return { fabric: b.build(), counters: [] };
}
