/**
 * ibtracert over the model: the hop-by-hop path between two LIDs through
 * forwarding tables already read (a live `readRoutes` or a saved snapshot),
 * with no MAD sent. Same `Trace` shape (and so the same text) as the live
 * `trace` of lib/ib/queries.
 */
import { ResolveError, type Trace, type TraceNode } from '../queries/resolve.js';
import type { Fabric, FabricNode, FabricPort } from '../topology/model.js';
import { outPort, NO_ROUTE, type RoutingTables } from './model.js';

function traceNode(n: FabricNode, p: FabricPort | undefined): TraceNode {
  const lid = p?.lid ?? 0;
  return {
    nodeType: n.type,
    nodeGuid: n.guid,
    portGuid: (n.type === 'Switch' ? n.portGuid : p?.guid) ?? n.portGuid ?? n.guid,
    nodeDescription: n.description,
    lidBase: lid,
    lidTop: lid + (1 << (p?.lmc ?? 0)) - 1,
  };
}

/** The port whose LID range holds `lid`: switch port 0, or a CA/router port. */
function owner(fabric: Fabric, lid: number): { node: FabricNode; port: FabricPort } | undefined {
  for (const n of fabric.nodes) {
    for (const p of n.ports) {
      if (!p.lid || (n.type === 'Switch' && p.portNum !== 0)) continue;
      if (lid >= p.lid && lid < p.lid + (1 << (p.lmc ?? 0))) return { node: n, port: p };
    }
  }
  return undefined;
}

/** Follow the tables from LID `src` to LID `dst`, like ibtracert (which it prints the same as, through traceText). */
export function traceRoutes(fabric: Fabric, routes: RoutingTables, src: number, dst: number): Trace {
  const nodes = new Map(fabric.nodes.map((n) => [n.id, n]));
  const tables = new Map(routes.switches.map((s) => [s.node, s]));
  const from = owner(fabric, src);
  if (!from) throw new ResolveError(`LID ${src}: no port of the fabric has this LID`);
  const portOf = (n: FabricNode, num: number) => n.ports.find((p) => p.portNum === num);
  const lidPort = (n: FabricNode, arrival: number) => (n.type === 'Switch' ? portOf(n, 0) : portOf(n, arrival));
  const inRange = (t: TraceNode) => dst >= t.lidBase && dst <= t.lidTop;
  const start = traceNode(from.node, from.port);
  const hops: Trace['hops'] = [];
  const fromOut = { ...start, portNum: from.port.portNum };
  if (inRange(start)) return { from: fromOut, hops, to: fromOut };
  let cur = from.node;
  let leave = from.node.type === 'Switch' ? -1 : from.port.portNum;
  for (let i = 0; i < 64; i++) {
    if (cur.type === 'Switch') {
      const t = tables.get(cur.id);
      if (!t) throw new ResolveError(`trace ${src} -> ${dst}: no forwarding table for switch ${cur.id}`);
      leave = outPort(t, dst);
      if (leave === NO_ROUTE) throw new ResolveError(`trace ${src} -> ${dst}: no route in the LFT of switch ${cur.id}`);
      if (leave === 0) return { from: fromOut, hops, to: { ...traceNode(cur, portOf(cur, 0)), portNum: 0 } };
    }
    const remote = portOf(cur, leave)?.remote;
    if (!remote) throw new ResolveError(`trace ${src} -> ${dst}: port ${leave} of ${cur.id} has no cable`);
    const next = nodes.get(remote.node)!;
    const tn = traceNode(next, lidPort(next, remote.port));
    hops.push({ outPort: leave, inPort: remote.port, node: tn });
    if (next.type !== 'Switch') {
      if (inRange(tn)) return { from: fromOut, hops, to: { ...tn, portNum: remote.port } };
      throw new ResolveError(`trace ${src} -> ${dst}: the route ends at CA LID ${tn.lidBase}`);
    }
    cur = next;
  }
  throw new ResolveError(`trace ${src} -> ${dst}: more than 63 hops (routing loop?)`);
}

/**
 * The LID of a port GUID (or of a node GUID: a switch's port 0, a CA's first
 * port with a LID) from the discovered fabric: what the SA Resolver answers
 * live, without a query.
 */
export function lidOfGuid(fabric: Fabric, guid: bigint): number {
  for (const n of fabric.nodes) {
    for (const p of n.ports) if (p.guid === guid && p.lid) return p.lid;
  }
  for (const n of fabric.nodes) {
    if (n.guid !== guid && n.portGuid !== guid) continue;
    const p = n.type === 'Switch' ? n.ports.find((x) => x.portNum === 0) : n.ports.find((x) => x.lid);
    if (p?.lid) return p.lid;
  }
  throw new ResolveError(`GUID 0x${guid.toString(16).padStart(16, '0')}: no port or node with a LID in the fabric`);
}
