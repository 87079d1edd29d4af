/**
 * The typed fabric model shared by discovery (live, directed-route), the
 * topology readers/writers, the diff and the audit engine.
 *
 * Identity: a node is identified by its node GUID *and* the place it was
 * found (the directed route of a live discovery, or the line of a topology
 * file). Two nodes reporting the same node GUID are two `FabricNode`s with
 * different `id`s; nothing is ever merged or dropped. `id` is the node GUID
 * ("0x" + 16 hex digits) for the first node with that GUID, and
 * "0x...#2", "0x...#3" for later ones.
 *
 * GUIDs are bigint in memory and "0x" + 16 lower-case hex digits in JSON.
 */
import type { NodeType, PhysPortState, PortState } from '../types.js';
import { HpcnetError } from '../../errors.js';
import { formatGuid } from '../../util/format.js';

export type { NodeType, PhysPortState, PortState };

export const LINK_WIDTHS = ['1X', '2X', '4X', '8X', '12X'] as const;
export type LinkWidth = (typeof LINK_WIDTHS)[number];
/** Lanes per width, to order widths. */
export const WIDTH_LANES: Record<LinkWidth, number> = { '1X': 1, '2X': 2, '4X': 4, '8X': 8, '12X': 12 };

export const LINK_SPEEDS = ['SDR', 'DDR', 'QDR', 'FDR10', 'FDR', 'EDR', 'HDR', 'NDR', 'XDR'] as const;
export type LinkSpeed = (typeof LINK_SPEEDS)[number];
/** Per-lane signalling rate (what iblinkinfo prints), in Gb/s. */
export const SPEED_GBPS: Record<LinkSpeed, number> = {
  SDR: 2.5,
  DDR: 5,
  QDR: 10,
  FDR10: 10.3125,
  FDR: 14.0625,
  EDR: 25.78125,
  HDR: 53.125,
  NDR: 106.25,
  XDR: 212.5,
};

export function compareWidth(a: LinkWidth, b: LinkWidth): number {
  return WIDTH_LANES[a] - WIDTH_LANES[b];
}
export function compareSpeed(a: LinkSpeed, b: LinkSpeed): number {
  return LINK_SPEEDS.indexOf(a) - LINK_SPEEDS.indexOf(b);
}

/** Parse a width as written by people and tools: "4x", "4X", "4". */
export function parseWidth(s: string): LinkWidth | undefined {
  const t = s.trim().toUpperCase();
  const w = (/^\d+$/.test(t) ? `${t}X` : t) as LinkWidth;
  return LINK_WIDTHS.includes(w) ? w : undefined;
}
/** Parse a speed name (case-insensitive). */
export function parseSpeed(s: string): LinkSpeed | undefined {
  const t = s.trim().toUpperCase() as LinkSpeed;
  return LINK_SPEEDS.includes(t) ? t : undefined;
}

export interface LinkProps<T> {
  supported?: T[];
  enabled?: T[];
  active?: T;
}

/** A port of a node. Switch port 0 (the management port) is included with its LID. */
export interface FabricPort {
  portNum: number;
  /** Port GUID (switch ports 1..n share port 0's GUID and usually leave it unset). */
  guid?: bigint;
  state?: PortState;
  physState?: PhysPortState;
  width: LinkProps<LinkWidth>;
  speed: LinkProps<LinkSpeed>;
  /** Base LID (CA/router ports, switch port 0). */
  lid?: number;
  lmc?: number;
  capabilityMask?: number;
  /** External (front panel) port number, when known. */
  extPortNum?: number;
  /** The other end of the cable, when linked. */
  remote?: PortRef;
}

export interface PortRef {
  /** FabricNode.id */
  node: string;
  port: number;
}

export interface SwitchInfo {
  linearFdbCap?: number;
  linearFdbTop?: number;
  multicastFdbCap?: number;
  lifeTime?: number;
  enhancedPort0?: boolean;
}

export interface FabricNode {
  /** Unique in the fabric: the GUID, plus "#n" for the n-th node seen with the same GUID. */
  id: string;
  type: NodeType;
  guid: bigint;
  systemImageGuid?: bigint;
  /** NodeInfo PortGUID (the port through which NodeInfo was read; port 0's GUID on switches). */
  portGuid?: bigint;
  /** NodeDescription as read from the node. */
  description: string;
  /** Name from a node-name map, when one was applied. */
  name?: string;
  vendorId?: number;
  deviceId?: number;
  revision?: number;
  numPorts: number;
  switchInfo?: SwitchInfo;
  /** Directed route (out-port numbers from the start node) by which the node was reached; [] = the start node. */
  drPath?: number[];
  /** Where a node read from a file was declared. */
  source?: { file?: string; line: number };
  /** Ports by number (only those known; switch port 0 included). Sorted by portNum. */
  ports: FabricPort[];
}

export interface FabricLink {
  a: PortRef;
  b: PortRef;
}

export interface DiscoveryError {
  /** Short machine-readable kind, e.g. 'timeout', 'unreachable', 'inconsistent', 'duplicate-guid'. */
  kind: string;
  message: string;
  drPath?: number[];
  node?: string;
  port?: number;
}

export interface FabricMeta {
  /** How the model was made: 'discovery', 'ibnetdiscover-file', 'snapshot', ... */
  source: string;
  /** ISO time of discovery or of the file's creation when known. */
  createdAt?: string;
  /** Start node/port of the discovery. */
  fromNode?: bigint;
  fromPort?: bigint;
  file?: string;
  /** GID prefix of the subnet (PortInfo GidPrefix of the port discovery started from). */
  subnetPrefix?: bigint;
}

export interface Fabric {
  meta: FabricMeta;
  /** In the order found. */
  nodes: FabricNode[];
  /** Each cable once; `a` is the end found (or declared) first. */
  links: FabricLink[];
  errors: DiscoveryError[];
}

// ---------------------------------------------------------------------------
// Builder: what a live discovery (or a reader) feeds.

export interface NodeInput {
  type: NodeType;
  guid: bigint;
  numPorts: number;
  description?: string;
  systemImageGuid?: bigint;
  portGuid?: bigint;
  vendorId?: number;
  deviceId?: number;
  revision?: number;
  switchInfo?: SwitchInfo;
  drPath?: number[];
  source?: { file?: string; line: number };
  name?: string;
}

export type PortInput = Partial<Omit<FabricPort, 'portNum' | 'remote' | 'width' | 'speed'>> & {
  width?: LinkProps<LinkWidth>;
  speed?: LinkProps<LinkSpeed>;
};

/** Model errors: inconsistent builder calls (a port linked twice, unknown node ids, ...). */
export class TopologyError extends HpcnetError {
  constructor(message: string) {
    super('ERR_TOPOLOGY', message);
  }
}

/** A malformed input file (topology, node-name map, snapshot, configuration): names the file and line. */
export class TopologyParseError extends HpcnetError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  constructor(message: string, file: string | undefined, line: number | undefined, code = 'ERR_TOPOLOGY_PARSE') {
    super(code, `${file ?? '<input>'}${line !== undefined ? `:${line}` : ''}: ${message}`);
    this.file = file;
    this.line = line;
  }
}

/**
 * Builds a `Fabric` incrementally. Discovery calls `addNode` once per
 * distinct node it finds (use `nodesWithGuid` to decide whether a NodeInfo
 * answer is a node already seen through another path, or a second node with
 * the same GUID), `setPort` for every PortInfo, `addLink` for every cable and
 * `addError` for anything that failed; `build()` returns the model.
 */
export class FabricBuilder {
  private readonly nodes: FabricNode[] = [];
  private readonly byId = new Map<string, FabricNode>();
  private readonly byGuid = new Map<bigint, FabricNode[]>();
  private readonly links: FabricLink[] = [];
  private readonly errors: DiscoveryError[] = [];
  readonly meta: FabricMeta;

  constructor(meta: FabricMeta) {
    this.meta = { ...meta };
  }

  /** Nodes already added with this node GUID (0, 1, or more when duplicated). */
  nodesWithGuid(guid: bigint): readonly FabricNode[] {
    return this.byGuid.get(guid) ?? [];
  }

  node(id: string): FabricNode | undefined {
    return this.byId.get(id);
  }

  /** Add a node; always a new node (a GUID already present gets id "0x...#n"). Returns its id. */
  addNode(n: NodeInput): string {
    if (!Number.isInteger(n.numPorts) || n.numPorts < 0 || n.numPorts > 255) {
      throw new TopologyError(`node ${formatGuid(n.guid)}: invalid number of ports ${n.numPorts}`);
    }
    const same = this.byGuid.get(n.guid) ?? [];
    const id = same.length === 0 ? formatGuid(n.guid) : `${formatGuid(n.guid)}#${same.length + 1}`;
    const node: FabricNode = { id, type: n.type, guid: n.guid, description: n.description ?? '', numPorts: n.numPorts, ports: [] };
    if (n.systemImageGuid !== undefined) node.systemImageGuid = n.systemImageGuid;
    if (n.portGuid !== undefined) node.portGuid = n.portGuid;
    if (n.vendorId !== undefined) node.vendorId = n.vendorId;
    if (n.deviceId !== undefined) node.deviceId = n.deviceId;
    if (n.revision !== undefined) node.revision = n.revision;
    if (n.switchInfo !== undefined) node.switchInfo = { ...n.switchInfo };
    if (n.drPath !== undefined) node.drPath = [...n.drPath];
    if (n.source !== undefined) node.source = { ...n.source };
    if (n.name !== undefined) node.name = n.name;
    this.nodes.push(node);
    this.byId.set(id, node);
    this.byGuid.set(n.guid, [...same, node]);
    return id;
  }

  /** Update node fields found later (description, switch info, ...). */
  updateNode(id: string, fields: Partial<Omit<NodeInput, 'guid'>>): void {
    const node = this.must(id);
    Object.assign(node, Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)));
  }

  /** Create or update a port of a node (fields given replace those known). */
  setPort(id: string, portNum: number, p: PortInput = {}): FabricPort {
    const node = this.must(id);
    const maxPort = node.numPorts;
    if (!Number.isInteger(portNum) || portNum < 0 || portNum > maxPort || (portNum === 0 && node.type !== 'Switch')) {
      throw new TopologyError(`${describeNode(node)}: no port ${portNum} (node has ${maxPort} ports)`);
    }
    let port = portOf(node, portNum);
    if (!port) {
      port = { portNum, width: {}, speed: {} };
      // Keep ports sorted: insert in place (they mostly arrive in order, so this is usually an append).
      let i = node.ports.length;
      while (i > 0 && node.ports[i - 1]!.portNum > portNum) i--;
      node.ports.splice(i, 0, port);
    }
    const target = port as unknown as Record<string, unknown>;
    for (const k in p) {
      if (k === 'width' || k === 'speed') continue;
      const v = (p as Record<string, unknown>)[k];
      if (v !== undefined) target[k] = v;
    }
    if (p.width) assignDefined(port.width, p.width);
    if (p.speed) assignDefined(port.speed, p.speed);
    return port;
  }

  /** Connect two ports (creating them if needed). Linking a port already linked elsewhere throws. */
  addLink(a: PortRef, b: PortRef): void {
    if (a.node === b.node && a.port === b.port) throw new TopologyError(`port ${a.port} of ${a.node} linked to itself`);
    const pa = this.setPort(a.node, a.port);
    const pb = this.setPort(b.node, b.port);
    const same = (r: PortRef | undefined, o: PortRef) => r !== undefined && r.node === o.node && r.port === o.port;
    if (same(pa.remote, b) && same(pb.remote, a)) return; // already known from the other side
    for (const [p, ref, other] of [
      [pa, a, b],
      [pb, b, a],
    ] as const) {
      if (p.remote && !same(p.remote, other)) {
        throw new TopologyError(
          `${describeRef(this, ref)} is already linked to ${describeRef(this, p.remote)}, cannot link it to ${describeRef(this, other)}`,
        );
      }
    }
    pa.remote = { node: b.node, port: b.port };
    pb.remote = { node: a.node, port: a.port };
    this.links.push({ a: { node: a.node, port: a.port }, b: { node: b.node, port: b.port } });
  }

  addError(e: DiscoveryError): void {
    this.errors.push({ ...e });
  }

  build(): Fabric {
    return { meta: { ...this.meta }, nodes: this.nodes, links: this.links, errors: this.errors };
  }

  private must(id: string): FabricNode {
    const n = this.byId.get(id);
    if (!n) throw new TopologyError(`unknown node id '${id}'`);
    return n;
  }
}

/** Copy the defined fields of `from` onto `to`. */
function assignDefined<T extends object>(to: T, from: T): void {
  for (const k in from) if (from[k] !== undefined) to[k] = from[k];
}

function describeRef(b: FabricBuilder, r: PortRef): string {
  const n = b.node(r.node);
  return `${n ? describeNode(n) : r.node} port ${r.port}`;
}

// ---------------------------------------------------------------------------
// Read helpers over a built Fabric.

/** Name to show for a node: the node-name-map name, else the NodeDescription. */
/**
 * A node's port by number. Ports are kept sorted by number and are usually
 * dense (0..n on a switch, 1..n on a CA), so the port is almost always at
 * index n or n-1; otherwise a binary search. O(1) where `ports.find` was
 * O(ports): discovery looks ports up for every PortInfo and every cable.
 */
export function portOf(n: FabricNode, portNum: number): FabricPort | undefined {
  const ports = n.ports;
  const a = ports[portNum];
  if (a !== undefined && a.portNum === portNum) return a;
  const b = ports[portNum - 1];
  if (b !== undefined && b.portNum === portNum) return b;
  let lo = 0;
  let hi = ports.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = ports[mid]!.portNum;
    if (m === portNum) return ports[mid];
    if (m < portNum) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

export function displayName(n: FabricNode): string {
  return n.name ?? n.description;
}

export function describeNode(n: FabricNode): string {
  const name = displayName(n);
  return `${n.type} ${n.id}${name ? ` "${name}"` : ''}`;
}

/** Fast lookups over a fabric (build once, then query). */
export class FabricIndex {
  readonly fabric: Fabric;
  private readonly byId = new Map<string, FabricNode>();
  private readonly byGuid = new Map<bigint, FabricNode[]>();

  constructor(fabric: Fabric) {
    this.fabric = fabric;
    for (const n of fabric.nodes) {
      this.byId.set(n.id, n);
      const l = this.byGuid.get(n.guid);
      if (l) l.push(n);
      else this.byGuid.set(n.guid, [n]);
    }
  }

  node(id: string): FabricNode | undefined {
    return this.byId.get(id);
  }
  nodesWithGuid(guid: bigint): FabricNode[] {
    return this.byGuid.get(guid) ?? [];
  }
  port(ref: PortRef): FabricPort | undefined {
    return this.byId.get(ref.node)?.ports.find((p) => p.portNum === ref.port);
  }
  /** Node GUIDs carried by more than one node. */
  duplicateNodeGuids(): Array<{ guid: bigint; nodes: FabricNode[] }> {
    return [...this.byGuid].filter(([, l]) => l.length > 1).map(([guid, nodes]) => ({ guid, nodes }));
  }
  /** Base LID of a node as the diag tools show it: switch port 0, else the port's own. */
  lidOf(ref: PortRef): number | undefined {
    const n = this.byId.get(ref.node);
    if (!n) return undefined;
    if (n.type === 'Switch') return n.ports.find((p) => p.portNum === 0)?.lid;
    return this.port(ref)?.lid;
  }
}

/** Port GUID of a port: its own, else (switch) port 0's, else NodeInfo PortGUID. */
export function portGuidOf(n: FabricNode, portNum: number): bigint | undefined {
  const p = n.ports.find((x) => x.portNum === portNum);
  if (p?.guid !== undefined) return p.guid;
  if (n.type === 'Switch') return n.ports.find((x) => x.portNum === 0)?.guid ?? n.portGuid;
  return undefined;
}
