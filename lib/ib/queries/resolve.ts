/**
 * Resolution helpers: port/node GUID to LID and node description to LIDs
 * (through SA NodeRecords, cached per Resolver), LID to directed route
 * (walking the switches' linear forwarding tables from the local port),
 * and the hop-by-hop trace between two LIDs (ibtracert) and the LFT dump
 * with destination names (ibroute).
 */
import type { Address } from '../address.js';
import type { NodeInfo } from '../attributes.js';
import { HpcnetError } from '../../errors.js';
import { formatGuid as g16 } from '../../util/format.js';
import type { Port, QueryOptions } from '../port.js';
import { lftBlock, linearForwardingTable, type LinearForwardingTable } from './smp-tables.js';
import { nodeRecords } from './sa.js';

/** A name could not be resolved (no such GUID, description or route). */
export class ResolveError extends HpcnetError {
  constructor(message: string) {
    super('ERR_NOT_FOUND', message);
  }
}

export interface ResolvedPort {
  lid: number;
  nodeGuid: bigint;
  portGuid: bigint;
  nodeDescription: string;
}

/** Name resolution through the SA, with a cache (entries live `ttlMs`, default 60 s). */
export class Resolver {
  private readonly byGuid = new Map<bigint, { at: number; r: ResolvedPort }>();
  private readonly ttlMs: number;
  /** SA queries sent (the cache's effect is visible here). */
  saQueries = 0;

  constructor(
    private readonly port: Port,
    opts: { ttlMs?: number } = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 60_000;
  }

  /** The LID of a port GUID (or of a node GUID: its first port's record). */
  async guidToLid(guid: bigint, opts: QueryOptions = {}): Promise<number> {
    return (await this.resolveGuid(guid, opts)).lid;
  }

  async resolveGuid(guid: bigint, opts: QueryOptions = {}): Promise<ResolvedPort> {
    const hit = this.byGuid.get(guid);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.r;
    this.saQueries++;
    let t = await nodeRecords(this.port, { portGuid: guid }, opts);
    if (t.records.length === 0) {
      this.saQueries++;
      t = await nodeRecords(this.port, { nodeGuid: guid }, opts);
    }
    const rec = t.records.sort((a, b) => a.lid - b.lid)[0];
    if (!rec) throw new ResolveError(`GUID 0x${guid.toString(16).padStart(16, '0')}: no such port or node in the SA's records`);
    const r: ResolvedPort = { lid: rec.lid, nodeGuid: rec.nodeInfo.nodeGuid, portGuid: rec.nodeInfo.portGuid, nodeDescription: rec.nodeDescription };
    this.byGuid.set(guid, { at: Date.now(), r });
    return r;
  }

  /** Every port whose node description is exactly `desc`. */
  async nodeDescriptionToLids(desc: string, opts: QueryOptions = {}): Promise<ResolvedPort[]> {
    this.saQueries++;
    const t = await nodeRecords(this.port, { nodeDescription: desc }, opts);
    const out = t.records
      .filter((r) => r.nodeDescription === desc)
      .map((r) => ({ lid: r.lid, nodeGuid: r.nodeInfo.nodeGuid, portGuid: r.nodeInfo.portGuid, nodeDescription: r.nodeDescription }));
    if (out.length === 0) throw new ResolveError(`no node with description '${desc}'`);
    for (const r of out) this.byGuid.set(r.portGuid, { at: Date.now(), r });
    return out;
  }

  clear(): void {
    this.byGuid.clear();
  }
}

async function portLidRange(port: Port, addr: Address, ni: NodeInfo, opts: QueryOptions): Promise<{ base: number; top: number; portNum: number }> {
  const portNum = ni.nodeType === 'Switch' ? 0 : ni.localPort;
  const pi = await port.portInfo(addr, portNum, opts);
  return { base: pi.lid, top: pi.lid + (1 << pi.lmc) - 1, portNum };
}

/** The directed route from the local port to the port owning `lid`, found through the LFTs. */
export async function lidToRoute(port: Port, lid: number, opts: QueryOptions = {}): Promise<number[]> {
  const path: number[] = [];
  for (let hop = 0; hop <= 63; hop++) {
    const addr: Address = { path: [...path] };
    const ni = await port.nodeInfo(addr, opts);
    if (ni.nodeType !== 'Switch') {
      const r = await portLidRange(port, addr, ni, opts);
      if (lid >= r.base && lid <= r.top) return path;
      if (hop > 0) throw new ResolveError(`LID ${lid}: the route through the forwarding tables ends at a CA with LID ${r.base}`);
      path.push(port.portNum);
      continue;
    }
    const out = (await lftBlock(port, addr, Math.floor(lid / 64), opts))[lid % 64]!;
    if (out === 0) return path;
    if (out === 0xff) throw new ResolveError(`LID ${lid}: no route in the LFT of the switch at DR path 0,${path.join(',')}`);
    path.push(out);
  }
  throw new ResolveError(`LID ${lid}: no destination within 63 hops`);
}

// ---------------------------------------------------------------------------
// Trace (ibtracert)

export interface TraceNode {
  nodeType: 'CA' | 'Switch' | 'Router' | 'RNIC' | 'Unknown';
  nodeGuid: bigint;
  portGuid: bigint;
  nodeDescription: string;
  lidBase: number;
  lidTop: number;
}

export interface TraceHop {
  /** Port the packet leaves the previous node by. */
  outPort: number;
  /** Port it arrives on. */
  inPort: number;
  node: TraceNode;
}

export interface Trace {
  from: TraceNode & { portNum: number };
  hops: TraceHop[];
  to: TraceNode & { portNum: number };
}

async function nodeAt(port: Port, addr: Address, opts: QueryOptions): Promise<{ ni: NodeInfo; node: TraceNode; portNum: number }> {
  const [ni, desc] = await Promise.all([port.nodeInfo(addr, opts), port.nodeDescription(addr, opts)]);
  const r = await portLidRange(port, addr, ni, opts);
  return {
    ni,
    portNum: r.portNum,
    node: { nodeType: ni.nodeType, nodeGuid: ni.nodeGuid, portGuid: ni.portGuid, nodeDescription: desc, lidBase: r.base, lidTop: r.top },
  };
}

/**
 * Follow the forwarding tables from LID `src` to LID `dst`, like ibtracert.
 * Nodes are queried by directed route: the route from the local port to
 * `src` (found through the LFTs), extended hop by hop.
 */
export async function trace(port: Port, src: number, dst: number, opts: QueryOptions = {}): Promise<Trace> {
  let curPath = await lidToRoute(port, src, opts);
  let cur = await nodeAt(port, { path: curPath }, opts);
  const from = { ...cur.node, portNum: cur.portNum };
  const hops: TraceHop[] = [];
  const inRange = (n: TraceNode) => dst >= n.lidBase && dst <= n.lidTop;
  if (inRange(cur.node)) return { from, hops, to: from };
  if (cur.ni.nodeType !== 'Switch') {
    // Leave the CA through its port. CAs do not forward directed routes, so
    // when the CA is remote its neighbour is the node the route came through.
    const out = cur.ni.localPort;
    const nextPath = curPath.length ? curPath.slice(0, -1) : [out];
    const next = await nodeAt(port, { path: nextPath }, opts);
    const inPort = curPath.length ? curPath[curPath.length - 1]! : next.ni.localPort;
    hops.push({ outPort: out, inPort, node: next.node });
    if (next.ni.nodeType !== 'Switch') {
      if (inRange(next.node)) return { from, hops, to: { ...next.node, portNum: next.ni.localPort } };
      throw new ResolveError(`trace ${src} -> ${dst}: the route ends at CA LID ${next.node.lidBase}`);
    }
    cur = next;
    curPath = nextPath;
  }
  for (let i = 0; i < 64; i++) {
    const out = (await lftBlock(port, { path: curPath }, Math.floor(dst / 64), opts))[dst % 64]!;
    if (out === 0xff) throw new ResolveError(`trace ${src} -> ${dst}: no route in the LFT of switch 0x${cur.node.nodeGuid.toString(16).padStart(16, '0')}`);
    if (out === 0) return { from, hops, to: { ...cur.node, portNum: 0 } };
    const nextPath = [...curPath, out];
    if (nextPath.length > 63) break;
    const next = await nodeAt(port, { path: nextPath }, opts);
    hops.push({ outPort: out, inPort: next.ni.localPort, node: next.node });
    if (next.ni.nodeType !== 'Switch') {
      if (inRange(next.node)) return { from, hops, to: { ...next.node, portNum: next.ni.localPort } };
      throw new ResolveError(`trace ${src} -> ${dst}: the route ends at CA LID ${next.node.lidBase}`);
    }
    cur = next;
    curPath = nextPath;
  }
  throw new ResolveError(`trace ${src} -> ${dst}: more than 63 hops (routing loop?)`);
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
