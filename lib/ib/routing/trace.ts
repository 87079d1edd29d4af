/**
 * ibtracert over the model: the hop-by-hop path between two LIDs through
 * forwarding tables already read (a live `readRoutes` or a saved snapshot),
 * with no MAD sent. The walk is `walkRoute`, the same the live `trace` of
 * lib/ib/queries runs, so both give the same `Trace` (and text).
 */
import { formatGuid } from '../../util/format.js';
import type { Fabric, FabricNode, FabricPort } from '../topology/model.js';
import { outPort, type RoutingTables } from './model.js';
import { ResolveError, runWalk, walkRoute, type Trace, type TraceNode, type WalkNode } from './walk.js';

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

const portOf = (n: FabricNode, num: number) => n.ports.find((p) => p.portNum === num);

/** The walk's view of a fabric node entered by port `port` (a switch shows port 0's LIDs). */
function walkNode(n: FabricNode, port: number): WalkNode<FabricNode> {
  const portNum = n.type === 'Switch' ? 0 : port;
  return { at: n, node: traceNode(n, portOf(n, portNum)), portNum, where: `${n.type === 'Switch' ? 'switch' : 'node'} ${formatGuid(n.guid)} (${n.description})` };
}

/** Follow the tables from LID `src` to LID `dst`, like ibtracert (which it prints the same as, through traceText). */
export function traceRoutes(fabric: Fabric, routes: RoutingTables, src: number, dst: number): Trace {
  const nodes = new Map(fabric.nodes.map((n) => [n.id, n]));
  const tables = new Map(routes.switches.map((s) => [s.node, s]));
  const from = owner(fabric, src);
  if (!from) throw new ResolveError(`LID ${src}: no port of the fabric has this LID`);
  const label = `trace ${src} -> ${dst}`;
  return runWalk(walkRoute(walkNode(from.node, from.port.portNum), dst, label), (ask) => {
    if (ask.kind === 'lft') {
      const t = tables.get(ask.at.at.id);
      if (!t) throw new ResolveError(`${label}: no forwarding table for ${ask.at.where}`);
      return outPort(t, ask.lid);
    }
    const remote = portOf(ask.at.at, ask.port)?.remote;
    return remote ? { next: walkNode(nodes.get(remote.node)!, remote.port), inPort: remote.port } : undefined;
  });
}
