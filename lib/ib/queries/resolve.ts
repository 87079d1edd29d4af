/**
 * Resolution helpers: port/node GUID to LID and node description to LIDs
 * (through SA NodeRecords, cached per Resolver, or from a discovered or
 * saved fabric without a query), LID to directed route and the hop-by-hop
 * trace between two LIDs (ibtracert), both the routing model's walk
 * (lib/ib/routing/walk.ts) answered live with SMPs by directed route, and
 * the LFT dump with destination names (ibroute).
 */
import type { Address } from '../address.js';
import { formatGuid as g16 } from '../../util/format.js';
import type { Port, QueryOptions } from '../port.js';
import type { Fabric, FabricNode, FabricPort } from '../topology/model.js';
import { ResolveError, runWalkAsync, walkRoute, type Trace, type TraceNode, type WalkAnswer, type WalkAsk, type WalkNode } from '../routing/walk.js';
import { lftBlock, linearForwardingTable, type LinearForwardingTable } from './smp-tables.js';
import { nodeRecords } from './sa.js';

export { ResolveError, type Trace, type TraceHop, type TraceNode } from '../routing/walk.js';

export interface ResolvedPort {
  lid: number;
  nodeGuid: bigint;
  portGuid: bigint;
  nodeDescription: string;
}

/**
 * Name resolution through the SA, with a cache (entries live `ttlMs`, default 60 s); or, given a
 * `fabric` (a discovery or a saved snapshot), from that fabric with no query at all.
 */
export class Resolver {
  private readonly byGuid = new Map<bigint, { at: number; r: ResolvedPort }>();
  private readonly ttlMs: number;
  private readonly fabric: Fabric | undefined;
  /** SA queries sent (the cache's effect is visible here). */
  saQueries = 0;

  constructor(
    private readonly port: Port | undefined,
    opts: { ttlMs?: number; fabric?: Fabric } = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.fabric = opts.fabric;
    if (!port && !this.fabric) throw new TypeError('Resolver: a port (for SA queries) or a fabric is needed');
  }

  /** The LID of a port GUID (or of a node GUID: its first port's record). */
  async guidToLid(guid: bigint, opts: QueryOptions = {}): Promise<number> {
    return (await this.resolveGuid(guid, opts)).lid;
  }

  async resolveGuid(guid: bigint, opts: QueryOptions = {}): Promise<ResolvedPort> {
    if (this.fabric) return fabricGuid(this.fabric, guid);
    const hit = this.byGuid.get(guid);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.r;
    this.saQueries++;
    let t = await nodeRecords(this.port!, { portGuid: guid }, opts);
    if (t.records.length === 0) {
      this.saQueries++;
      t = await nodeRecords(this.port!, { nodeGuid: guid }, opts);
    }
    const rec = t.records.sort((a, b) => a.lid - b.lid)[0];
    if (!rec) throw new ResolveError(`GUID 0x${guid.toString(16).padStart(16, '0')}: no such port or node in the SA's records`);
    const r: ResolvedPort = { lid: rec.lid, nodeGuid: rec.nodeInfo.nodeGuid, portGuid: rec.nodeInfo.portGuid, nodeDescription: rec.nodeDescription };
    this.byGuid.set(guid, { at: Date.now(), r });
    return r;
  }

  /** Every port whose node description is exactly `desc`. */
  async nodeDescriptionToLids(desc: string, opts: QueryOptions = {}): Promise<ResolvedPort[]> {
    let out: ResolvedPort[];
    if (this.fabric) {
      out = this.fabric.nodes.filter((n) => n.description === desc).flatMap((n) => lidPortsOf(n).map((p) => resolved(n, p)));
    } else {
      this.saQueries++;
      const t = await nodeRecords(this.port!, { nodeDescription: desc }, opts);
      out = t.records
        .filter((r) => r.nodeDescription === desc)
        .map((r) => ({ lid: r.lid, nodeGuid: r.nodeInfo.nodeGuid, portGuid: r.nodeInfo.portGuid, nodeDescription: r.nodeDescription }));
    }
    if (out.length === 0) throw new ResolveError(`no node with description '${desc}'`);
    if (!this.fabric) for (const r of out) this.byGuid.set(r.portGuid, { at: Date.now(), r });
    return out;
  }

  clear(): void {
    this.byGuid.clear();
  }
}

/** The ports of a fabric node that have LIDs, as the SA has NodeRecords for them: a switch's port 0, a CA's or router's ports. */
function lidPortsOf(n: FabricNode): FabricPort[] {
  return n.ports.filter((p) => p.lid && (n.type !== 'Switch' || p.portNum === 0));
}

function resolved(n: FabricNode, p: FabricPort): ResolvedPort {
  return { lid: p.lid!, nodeGuid: n.guid, portGuid: (n.type === 'Switch' ? n.portGuid : p.guid) ?? n.portGuid ?? n.guid, nodeDescription: n.description };
}

/** A port GUID (or a node GUID: a switch's port 0, a CA's first port with a LID) in a fabric. */
function fabricGuid(fabric: Fabric, guid: bigint): ResolvedPort {
  for (const n of fabric.nodes) for (const p of lidPortsOf(n)) if (resolved(n, p).portGuid === guid) return resolved(n, p);
  for (const n of fabric.nodes) {
    const p = n.guid === guid || n.portGuid === guid ? lidPortsOf(n)[0] : undefined;
    if (p) return resolved(n, p);
  }
  throw new ResolveError(`GUID 0x${guid.toString(16).padStart(16, '0')}: no port or node with a LID in the fabric`);
}

// ---------------------------------------------------------------------------
// The routing walk, answered live (lidToRoute, trace)

/** Where the live walk stands: the directed route to a node and the port its NodeInfo came in by. */
interface LiveAt {
  path: number[];
  localPort: number;
}

/**
 * The node at a directed route as the walk sees it: NodeInfo, and PortInfo for the LID range
 * (a switch's port 0, the port of a CA). With `full` (a trace shows every node) also its
 * NodeDescription and a switch's LIDs; without, only what following the tables needs.
 */
async function liveNode(port: Port, path: number[], opts: QueryOptions, full: boolean): Promise<WalkNode<LiveAt>> {
  const addr: Address = { path };
  const [ni, desc] = await Promise.all([port.nodeInfo(addr, opts), full ? port.nodeDescription(addr, opts) : undefined]);
  const isSwitch = ni.nodeType === 'Switch';
  const portNum = isSwitch ? 0 : ni.localPort;
  let lidBase = 0;
  let lidTop = -1;
  if (full || !isSwitch) {
    const pi = await port.portInfo(addr, portNum, opts);
    lidBase = pi.lid;
    lidTop = pi.lid + (1 << pi.lmc) - 1;
  }
  return {
    at: { path, localPort: ni.localPort },
    node: { nodeType: ni.nodeType, nodeGuid: ni.nodeGuid, portGuid: ni.portGuid, nodeDescription: desc ?? '', lidBase, lidTop },
    portNum,
    where: `${isSwitch ? 'switch' : 'node'} ${g16(ni.nodeGuid)} at DR path ${['0', ...path].join(',')}`,
  };
}

/** Answers to the walk's questions by SMPs: the LFT block holding the LID, the node one hop further. */
function liveAnswers(port: Port, opts: QueryOptions, full: boolean, label: string): (ask: WalkAsk<LiveAt>) => Promise<WalkAnswer<LiveAt>> {
  return async (ask) => {
    const { path } = ask.at.at;
    if (ask.kind === 'lft') return (await lftBlock(port, { path }, Math.floor(ask.lid / 64), opts))[ask.lid % 64]!;
    if (ask.at.node.nodeType !== 'Switch' && path.length > 0) {
      // CAs do not forward directed routes: a remote CA's neighbour is the node the route came through.
      return { next: await liveNode(port, path.slice(0, -1), opts, full), inPort: path[path.length - 1]! };
    }
    if (path.length >= 63) throw new ResolveError(`${label}: more than 63 hops (routing loop?)`);
    const next = await liveNode(port, [...path, ask.port], opts, full);
    return { next, inPort: next.at.localPort };
  };
}

/** The directed route from the local port to the port owning `lid`, found through the LFTs. */
export async function lidToRoute(port: Port, lid: number, opts: QueryOptions = {}): Promise<number[]> {
  const label = `LID ${lid}`;
  const t = await runWalkAsync(walkRoute(await liveNode(port, [], opts, false), lid, label), liveAnswers(port, opts, false, label));
  return t.hops.map((h) => h.outPort);
}

/**
 * Follow the forwarding tables from LID `src` to LID `dst`, like ibtracert.
 * Nodes are queried by directed route: the route from the local port to
 * `src` (found through the LFTs), extended hop by hop.
 */
export async function trace(port: Port, src: number, dst: number, opts: QueryOptions = {}): Promise<Trace> {
  const start = await liveNode(port, await lidToRoute(port, src, opts), opts, true);
  const label = `trace ${src} -> ${dst}`;
  return runWalkAsync(walkRoute(start, dst, label), liveAnswers(port, opts, true, label));
}

type NameMap = Map<bigint, string>;
const label = (t: string) => (t === 'Switch' ? 'switch' : t === 'Router' ? 'router' : 'ca');
const nameOf = (n: TraceNode, map?: NameMap) => map?.get(n.nodeGuid) ?? n.nodeDescription;

/** ibtracert's text. */
export function traceText(t: Trace, map?: NameMap): string {
  const lines = [`From ${label(t.from.nodeType)} {${g16(t.from.nodeGuid)}} portnum ${t.from.portNum} lid ${t.from.lidBase}-${t.from.lidTop} "${nameOf(t.from, map)}"`];
  for (const h of t.hops) {
    const g = h.node.nodeType === 'Switch' ? h.node.nodeGuid : h.node.portGuid;
    lines.push(`[${h.outPort}] -> ${label(h.node.nodeType)} port {${g16(g)}}[${h.inPort}] lid ${h.node.lidBase}-${h.node.lidTop} "${nameOf(h.node, map)}"`);
  }
  lines.push(`To ${label(t.to.nodeType)} {${g16(t.to.nodeGuid)}} portnum ${t.to.portNum} lid ${t.to.lidBase}-${t.to.lidTop} "${nameOf(t.to, map)}"`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// Route dump (ibroute)

export interface RouteEntry {
  lid: number;
  port: number;
  destination?: { nodeType: string; portGuid: bigint; nodeGuid: bigint; nodeDescription: string };
}

export interface RouteDump {
  switchGuid: bigint;
  switchDescription: string;
  lft: LinearForwardingTable;
  /** Entries with a valid port (not 255), with what each LID reaches. */
  entries: RouteEntry[];
}

/** The LFT of a switch with the node behind each destination LID (LID-routed NodeInfo/NodeDescription), like ibroute. */
export async function routeDump(port: Port, addr: Address, opts: QueryOptions & { resolve?: boolean } = {}): Promise<RouteDump> {
  const [ni, desc, lft] = await Promise.all([port.nodeInfo(addr, opts), port.nodeDescription(addr, opts), linearForwardingTable(port, addr, opts)]);
  if (ni.nodeType !== 'Switch') throw new ResolveError(`${JSON.stringify(addr)} is a ${ni.nodeType}, not a switch: it has no forwarding table`);
  const entries: RouteEntry[] = [];
  await Promise.all(
    lft.ports.map(async (p, lid) => {
      if (p === 0xff || lid === 0) return;
      const e: RouteEntry = { lid, port: p };
      if (opts.resolve !== false) {
        try {
          const [dni, dd] = await Promise.all([port.nodeInfo({ lid }, opts), port.nodeDescription({ lid }, opts)]);
          e.destination = { nodeType: dni.nodeType, portGuid: dni.portGuid, nodeGuid: dni.nodeGuid, nodeDescription: dd };
        } catch {
          /* unreachable destination: listed without info */
        }
      }
      entries.push(e);
    }),
  );
  entries.sort((a, b) => a.lid - b.lid);
  return { switchGuid: ni.nodeGuid, switchDescription: desc, lft, entries };
}

const TYPE_NAMES: Record<string, string> = { CA: 'Channel Adapter', Switch: 'Switch', Router: 'Router' };

/** ibroute's text. */
export function routeText(d: RouteDump, where: string, map?: NameMap): string {
  const hex4 = (n: number) => '0x' + n.toString(16).padStart(4, '0');
  const lines = [
    `Unicast lids [0x0-${'0x' + d.lft.top.toString(16)}] of switch ${where} guid ${g16(d.switchGuid)} (${map?.get(d.switchGuid) ?? d.switchDescription}):`,
    '  Lid  Out   Destination',
    '       Port     Info ',
  ];
  for (const e of d.entries) {
    const dst = e.destination;
    const info = dst ? ` : (${TYPE_NAMES[dst.nodeType] ?? dst.nodeType} portguid ${g16(dst.portGuid)}: '${map?.get(dst.nodeGuid) ?? dst.nodeDescription}')` : '';
    lines.push(`${hex4(e.lid)} ${String(e.port).padStart(3, '0')}${info}`);
  }
  lines.push(`${d.entries.length} valid lids dumped `);
  return lines.join('\n');
}
