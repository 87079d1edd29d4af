/**
 * Directed-route fabric discovery, pipelined through the MAD engine.
 *
 * Like libibnetdisc it walks the fabric breadth-first from the local port
 * with NodeInfo, NodeDescription, SwitchInfo and PortInfo SMPs; unlike it,
 * every query of a whole wave is in flight at once, bounded by the port's
 * window and per-destination limit (so no switch SMA sees more than
 * `perDestination` SMPs at a time).
 *
 * Identity is node GUID plus the port a NodeInfo answer came in on. When a
 * GUID arrives on a port that is already cabled to another peer, the answer
 * comes from a different node with the same GUID: both are kept (the second
 * as "0x...#2") and a `duplicate-guid` error is recorded; ibnetdiscover
 * would drop one of them. Timeouts and inconsistent answers (a fabric that
 * changes during the walk) become errors on the result; discovery goes on.
 */
import { FabricBuilder, portOf, type Fabric, type FabricNode, type LinkSpeed, type LinkWidth, type PortInput, type PortRef } from '../topology/model.js';
import { ATTR, MGMT_CLASS, METHOD, PORT_STATE_FIELDS, nodeDescriptionAt, speedsOf, widthsOf, type NodeInfo } from '../attributes.js';
import { HpcnetError } from '../../errors.js';
import { MadStatusError } from '../errors.js';
import { subsetDecoder } from '../fields.js';
import { formatAddress } from '../address.js';
import { payloadBuffer, payloadOffset, type MadResponse, type Port } from '../port.js';
import { NODE_TYPES, PHYS_PORT_STATES, PORT_STATES } from '../types.js';
import { formatGuid } from '../../util/format.js';

export interface DiscoverOptions {
  /** Longest directed route followed (default 63, the protocol's limit). */
  maxHops?: number;
  /** Start at the node this directed route leads to (default: the local node). */
  from?: number[];
  /** Per-attempt timeout and retries for discovery SMPs (default: the port's). */
  timeoutMs?: number;
  retries?: number;
  signal?: AbortSignal;
  /** Called as discovery progresses (at most every `progressIntervalMs`, and once at the end). */
  onProgress?: (p: DiscoveryProgress) => void;
  progressIntervalMs?: number;
}

export interface DiscoveryProgress {
  nodes: number;
  switches: number;
  links: number;
  madsSent: number;
  inFlight: number;
  errors: number;
  done: boolean;
}

export interface DiscoveryResult {
  fabric: Fabric;
  stats: { madsSent: number; retries: number; timeouts: number; ms: number; maxHops: number };
}

type NodeInfoSubset = Pick<NodeInfo, 'nodeType' | 'numPorts' | 'systemImageGuid' | 'nodeGuid' | 'portGuid' | 'deviceId' | 'revision' | 'localPort' | 'vendorId'>;

/** Where a NodeInfo answer came from: the node and port we sent it out of. */
interface Arrival {
  path: number[];
  from?: PortRef;
}

export class DiscoveryAbortedError extends HpcnetError {
  constructor(reason?: unknown) {
    super('ABORT_ERR', 'discovery aborted', { cause: reason });
  }
}


/** The PortInfo fields discovery records (decoded without building the full typed view); field i is word 2i. */
const PI_FIELDS = [...PORT_STATE_FIELDS, 'CapMask'] as const;
const word = (name: (typeof PI_FIELDS)[number]) => 2 * PI_FIELDS.indexOf(name);
const [PI_STATE, PI_PHYS, PI_LID, PI_LMC, PI_CAP] = [word('LinkState'), word('PhysLinkState'), word('Lid'), word('LMC'), word('CapMask')];
const [PI_WSUP, PI_WEN, PI_WACT] = [word('LinkWidthSupported'), word('LinkWidthEnabled'), word('LinkWidthActive')];
const [PI_SSUP, PI_SEN, PI_SACT] = [word('LinkSpeedSupported'), word('LinkSpeedEnabled'), word('LinkSpeedActive')];
const [PI_ESUP, PI_EEN, PI_EACT] = [word('LinkSpeedExtSupported'), word('LinkSpeedExtEnabled'), word('LinkSpeedExtActive')];
const SI_FIELDS = ['LinearFdbCap', 'LinearFdbTop', 'McastFdbCap', 'LifeTime', 'EnhancedPort0'] as const;
/** The NodeInfo fields discovery records, field i at words 2i (low) and 2i+1 (high). */
const NI_FIELDS = ['NodeType', 'NumPorts', 'SystemGuid', 'Guid', 'PortGuid', 'DevId', 'Revision', 'LocalPort', 'VendorId'] as const;
const guidOf = (w: Uint32Array, i: number) => (BigInt(w[2 * i + 1]!) << 32n) | BigInt(w[2 * i]!);

function one<T>(list: T[]): T | undefined {
  return list.length === 1 ? list[0] : undefined;
}

/** Discover the fabric reachable from `port`. */
export async function discover(port: Port, opts: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const t0 = performance.now();
  const before = port.stats();
  const maxHops = opts.maxHops ?? 63;
  if (!Number.isInteger(maxHops) || maxHops < 0 || maxHops > 63) throw new RangeError(`maxHops must be 0..63, got ${maxHops}`);
  const { timeoutMs, retries, signal } = opts;
  const decodePi = subsetDecoder('PortInfo', PI_FIELDS);
  const decodeSi = subsetDecoder('SwitchInfo', SI_FIELDS);
  const decodeNi = subsetDecoder('NodeInfo', NI_FIELDS);
  /** The NodeInfo view discovery needs, without building every field of the group. */
  const nodeInfoOf = (buf: Buffer, at: number): NodeInfoSubset => {
    const w = decodeNi(buf, at);
    return {
      nodeType: NODE_TYPES[w[0]!] ?? 'Unknown',
      numPorts: w[2]!,
      systemImageGuid: guidOf(w, 2),
      nodeGuid: guidOf(w, 3),
      portGuid: guidOf(w, 4),
      deviceId: w[10]!,
      revision: w[12]!,
      localPort: w[14]!,
      vendorId: w[16]!,
    };
  };
  const b = new FabricBuilder({ source: 'discovery', createdAt: new Date().toISOString(), fromPort: port.portGuid });
  let deepest = 0;
  // Outstanding SMPs, counted: discovery ends when the count falls to 0.
  let outstanding = 0;
  let failed: unknown;
  let finished!: () => void;
  const allDone = new Promise<void>((r) => (finished = r));

  const progress = (done: boolean) => {
    if (!opts.onProgress) return;
    const f = b.build();
    const s = port.stats();
    opts.onProgress({
      nodes: f.nodes.length,
      switches: f.nodes.filter((n) => n.type === 'Switch').length,
      links: f.links.length,
      madsSent: s.sent - before.sent,
      inFlight: s.outstanding,
      errors: f.errors.length,
      done,
    });
  };
  const timer = opts.onProgress ? setInterval(() => progress(false), opts.progressIntervalMs ?? 200) : undefined;

  const errorKind = (e: unknown) => ((e as HpcnetError).code === 'ETIMEDOUT' ? 'timeout' : (e as HpcnetError).code === 'EMADSTATUS' ? 'mad-status' : 'query-failed');

  /**
   * Send one directed-route SMP Get; `onData` gets the attribute payload (buf from offset at).
   * Failures are recorded as errors on the result (`where` says what was asked);
   * an abort or a closed port ends the discovery.
   */
  const smp = (
    attrId: number,
    attribute: string,
    path: number[],
    attrMod: number,
    where: { node?: string; port?: number },
    onData: (buf: Buffer, at: number) => void,
    after?: () => void,
  ) => {
    outstanding++;
    // A fixed-shape request (no spread): this runs once per SMP.
    const req = { mgmtClass: MGMT_CLASS.SMI_DR, method: METHOD.Get, attrId, attrMod, addr: { path }, timeoutMs, retries, signal };
    port.submit(req, (err, res?: MadResponse) => {
      try {
        if (!err && res!.status !== 0) err = new MadStatusError({ attribute, attrId, address: formatAddress({ path }) }, res!.statusDecoded);
        if (err) {
          const code = (err as HpcnetError).code;
          if (code === 'ABORT_ERR') failed ??= new DiscoveryAbortedError(opts.signal?.reason);
          else if (code === 'ERR_PORT_CLOSED' || !(err instanceof HpcnetError)) failed ??= err;
          else b.addError({ kind: errorKind(err), message: err.message, drPath: path, ...where });
        } else if (!failed) {
          onData(payloadBuffer(res!), payloadOffset(res!));
        }
      } catch (e) {
        b.addError({ kind: 'internal', message: (e as Error).message, drPath: path, ...where });
      } finally {
        // `after` may send the next query: before the count, so it never falls to 0 early.
        if (after && !failed) after();
        if (--outstanding === 0 || failed) finished();
      }
    });
  };

  // Width and speed lists by mask, built once per discovery and shared by the
  // ports that report the same mask (frozen: the model's lists are read-only).
  const widthLists = new Map<number, LinkWidth[]>();
  const speedLists = new Map<number, LinkSpeed[]>();
  const widths = (mask: number): LinkWidth[] => {
    let l = widthLists.get(mask);
    if (!l) widthLists.set(mask, (l = Object.freeze(widthsOf(mask)) as LinkWidth[]));
    return l;
  };
  /** Speeds of a LinkSpeed mask followed by those of a LinkSpeedExt mask. */
  const speeds = (mask: number, extMask: number): LinkSpeed[] => {
    const key = mask * 65536 + extMask;
    let l = speedLists.get(key);
    if (!l) speedLists.set(key, (l = Object.freeze(speedsOf(mask).concat(speedsOf(extMask, true))) as LinkSpeed[]));
    return l;
  };

  /** Which node a NodeInfo answer belongs to: a known one, or a new (possibly duplicate-GUID) one. */
  const placeNode = (ni: NodeInfoSubset, arrival: Arrival): { id: string; isNew: boolean } => {
    const candidates = b.nodesWithGuid(ni.nodeGuid);
    for (const n of candidates) {
      if (n.type !== ni.nodeType || n.numPorts !== ni.numPorts) continue;
      if (!arrival.from) {
        if (n.drPath?.length === 0) return { id: n.id, isNew: false };
        continue;
      }
      // The same node when the arrival port is not cabled elsewhere (or is this very cable).
      const remote = portOf(n, ni.localPort)?.remote;
      if (!remote || (remote.node === arrival.from.node && remote.port === arrival.from.port)) return { id: n.id, isNew: false };
    }
    const id = b.addNode({
      type: ni.nodeType,
      guid: ni.nodeGuid,
      numPorts: ni.numPorts,
      systemImageGuid: ni.systemImageGuid,
      portGuid: ni.portGuid,
      vendorId: ni.vendorId,
      deviceId: ni.deviceId,
      revision: ni.revision,
      drPath: arrival.path,
    });
    if (candidates.length > 0) {
      const first = candidates[0]!;
      b.addError({
        kind: 'duplicate-guid',
        message:
          `node GUID ${formatGuid(ni.nodeGuid)} seen again at DR path 0${arrival.path.map((p) => ',' + p).join('')} ` +
          `(port ${ni.localPort}) while ${first.description || first.id} was found at DR path 0${(first.drPath ?? []).map((p) => ',' + p).join('')}: ` +
          `two nodes share this GUID; both are kept (${first.id} and ${id})`,
        drPath: arrival.path,
        node: id,
        port: ni.localPort,
      });
    }
    return { id, isNew: true };
  };

  /** PortInfo of one port; switch ports with a physical link lead on to the next node. */
  const readPort = (id: string, path: number[], portNum: number, explore: boolean, arrivedOn?: number, portGuid?: bigint, after?: () => void) =>
    smp(ATTR.PortInfo, 'PortInfo', path, portNum, { node: id, port: portNum }, (buf, at) => {
      const w = decodePi(buf, at);
      const node = b.node(id)!;
      const physState = PHYS_PORT_STATES[w[PI_PHYS]!] ?? 'Unknown';
      const activeWidth = one(widths(w[PI_WACT]!));
      const activeSpeed = one(speeds(0, w[PI_EACT]!)) ?? one(speeds(w[PI_SACT]!, 0));
      const fields: PortInput = {
        state: PORT_STATES[w[PI_STATE]!] ?? 'Unknown',
        physState,
        width: { supported: widths(w[PI_WSUP]!), enabled: widths(w[PI_WEN]!), active: activeWidth },
        speed: { supported: speeds(w[PI_SSUP]!, w[PI_ESUP]!), enabled: speeds(w[PI_SEN]!, w[PI_EEN]!), active: activeSpeed },
        capabilityMask: w[PI_CAP]!,
      };
      if (node.type !== 'Switch' || portNum === 0) {
        fields.lid = w[PI_LID]!;
        fields.lmc = w[PI_LMC]!;
      }
      if (node.type === 'Switch' && portNum === 0 && node.portGuid !== undefined) fields.guid = node.portGuid;
      if (portGuid !== undefined) fields.guid = portGuid;
      const known = b.setPort(id, portNum, fields).remote;
      // A port whose cable is already known (the node at its other end was reached through that
      // cable and answered with its port number) leads nowhere new: no NodeInfo is sent through it.
      // ibnetdiscover sends one through both ends of every switch-to-switch cable.
      if (explore && portNum !== 0 && portNum !== arrivedOn && physState === 'LinkUp' && path.length < maxHops && !known) {
        reach({ path: [...path, portNum], from: { node: id, port: portNum } });
      }
    }, after);

  /** NodeInfo at the end of a route: place the node, link it, read what a new node needs. */
  const reach = (arrival: Arrival): void =>
    smp(ATTR.NodeInfo, 'NodeInfo', arrival.path, 0, arrival.from ?? {}, (buf, at) => {
      const ni = nodeInfoOf(buf, at);
      const { id, isNew } = placeNode(ni, arrival);
      deepest = Math.max(deepest, arrival.path.length);
      if (arrival.from) {
        try {
          b.addLink(arrival.from, { node: id, port: ni.localPort });
        } catch (e) {
          // The fabric changed under us (a cable moved or flapped): keep what is consistent.
          b.addError({ kind: 'inconsistent', message: (e as Error).message, drPath: arrival.path, node: id, port: ni.localPort });
        }
      }
      const node = b.node(id)!;
      if (!isNew) {
        // A known CA reached through another of its ports: that port's GUID (from this NodeInfo).
        if (node.type !== 'Switch') b.setPort(id, ni.localPort, { guid: ni.portGuid });
        return;
      }
      smp(ATTR.NodeDescription, 'NodeDescription', arrival.path, 0, { node: id }, (buf, at) =>
        b.updateNode(id, { description: nodeDescriptionAt(buf, at) }),
      );
      if (node.type === 'Switch') {
        smp(ATTR.SwitchInfo, 'SwitchInfo', arrival.path, 0, { node: id }, (buf, at) => {
          const w = decodeSi(buf, at);
          b.updateNode(id, {
            switchInfo: { linearFdbCap: w[0]!, linearFdbTop: w[2]!, multicastFdbCap: w[4]!, lifeTime: w[6]!, enhancedPort0: w[8] !== 0 },
          });
        });
        // PortInfo of every port, `perDestination` at a time, the next one sent as one is answered:
        // the switch's SMA sees no more at once anyway, and requests queued for their turn would only
        // sit in memory (thousands on a large fabric, each kept alive across garbage collections).
        const arrivedOn = arrival.from ? ni.localPort : undefined;
        let next = 0;
        const more = () => {
          if (next <= ni.numPorts) readPort(id, arrival.path, next++, true, arrivedOn, undefined, more);
        };
        for (let k = 0; k < port.perDestination; k++) more();
      } else {
        // A CA or router: every port (a down port of a dual-port HCA is worth an audit finding).
        // Only the arrival port leads on, and only from the start node: CAs do not forward SMPs.
        for (let p = 1; p <= ni.numPorts; p++) {
          if (p === ni.localPort) readPort(id, arrival.path, p, !arrival.from, undefined, ni.portGuid);
          else readPort(id, arrival.path, p, false);
        }
      }
    });

  reach({ path: opts.from ?? [] });
  try {
    await allDone;
  } finally {
    clearInterval(timer);
  }
  if (failed) throw failed;
  const fabric = b.build();
  const startNode: FabricNode | undefined = fabric.nodes[0];
  if (startNode) fabric.meta.fromNode = startNode.guid;
  progress(true);
  const s = port.stats();
  return {
    fabric,
    stats: {
      madsSent: s.sent - before.sent,
      retries: s.retries - before.retries,
      timeouts: s.timeouts - before.timeouts,
      ms: performance.now() - t0,
      maxHops: deepest,
    },
  };
}
