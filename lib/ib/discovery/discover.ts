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
import { FabricBuilder, type Fabric, type FabricNode, type LinkSpeed as ModelSpeed, type PortRef } from '../topology/model.js';
import type { PortInfo } from '../attributes.js';
import { HpcnetError } from '../../errors.js';
import type { NodeInfo } from '../attributes.js';
import type { Port, QueryOptions } from '../port.js';
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

function speeds(pi: PortInfo): { supported: ModelSpeed[]; enabled: ModelSpeed[]; active?: ModelSpeed } {
  const out: { supported: ModelSpeed[]; enabled: ModelSpeed[]; active?: ModelSpeed } = {
    supported: [...pi.linkSpeedSupported, ...pi.linkSpeedExtSupported],
    enabled: [...pi.linkSpeedEnabled, ...pi.linkSpeedExtEnabled],
  };
  if (pi.activeSpeed) out.active = pi.activeSpeed;
  return out;
}

/** Discover the fabric reachable from `port`. */
export async function discover(port: Port, opts: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const t0 = performance.now();
  const before = port.stats();
  const maxHops = opts.maxHops ?? 63;
  if (!Number.isInteger(maxHops) || maxHops < 0 || maxHops > 63) throw new RangeError(`maxHops must be 0..63, got ${maxHops}`);
  const q: QueryOptions = {
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const b = new FabricBuilder({ source: 'discovery', createdAt: new Date().toISOString(), fromPort: port.portGuid });
  let deepest = 0;
  // Outstanding tasks, counted (not raced: a race over thousands of promises per completion is quadratic).
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

  const spawn = (work: () => Promise<void>) => {
    outstanding++;
    work()
      .catch((e: unknown) => {
        if (e instanceof HpcnetError && e.code === 'ABORT_ERR') failed ??= new DiscoveryAbortedError(opts.signal?.reason);
        else if (!(e instanceof HpcnetError) || e.code === 'ERR_PORT_CLOSED') failed ??= e;
        else b.addError({ kind: 'internal', message: e.message });
      })
      .finally(() => {
        if (--outstanding === 0 || failed) finished();
      });
  };

  const errorKind = (e: unknown) => ((e as HpcnetError).code === 'ETIMEDOUT' ? 'timeout' : (e as HpcnetError).code === 'EMADSTATUS' ? 'mad-status' : 'query-failed');

  /** Which node a NodeInfo answer belongs to: a known one, or a new (possibly duplicate-GUID) one. */
  const placeNode = (ni: NodeInfo, arrival: Arrival): { id: string; isNew: boolean } => {
    const candidates = b.nodesWithGuid(ni.nodeGuid);
    for (const n of candidates) {
      if (n.type !== ni.nodeType || n.numPorts !== ni.numPorts) continue;
      const p = n.ports.find((x) => x.portNum === ni.localPort);
      const remote = p?.remote;
      // The same node when the arrival port is not cabled elsewhere (or is this very cable),
      // or when it is the node we started from and we arrive on our own port again.
      if (!remote || !arrival.from || (remote.node === arrival.from.node && remote.port === arrival.from.port)) {
        if (!arrival.from && n.drPath?.length === 0) return { id: n.id, isNew: false };
        if (arrival.from) return { id: n.id, isNew: false };
      }
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

  const readPort = async (id: string, path: number[], portNum: number, explore: boolean, arrivedOn?: number, portGuid?: bigint) => {
    let pi: PortInfo;
    try {
      pi = await port.portInfo({ path }, portNum, q);
    } catch (e) {
      b.addError({ kind: errorKind(e), message: (e as Error).message, drPath: path, node: id, port: portNum });
      return;
    }
    const node = b.node(id)!;
    const fields: Parameters<FabricBuilder['setPort']>[2] = {
      state: pi.portState,
      physState: pi.physicalState,
      width: { supported: pi.linkWidthSupported, enabled: pi.linkWidthEnabled, ...(pi.linkWidthActive ? { active: pi.linkWidthActive } : {}) },
      speed: speeds(pi),
      capabilityMask: pi.capabilityMask,
    };
    if (node.type !== 'Switch' || portNum === 0) {
      fields.lid = pi.lid;
      fields.lmc = pi.lmc;
    }
    if (node.type === 'Switch' && portNum === 0 && node.portGuid !== undefined) fields.guid = node.portGuid;
    if (portGuid !== undefined) fields.guid = portGuid;
    b.setPort(id, portNum, fields);
    if (explore && portNum !== 0 && portNum !== arrivedOn && pi.physicalState === 'LinkUp' && path.length < maxHops) {
      const next = [...path, portNum];
      spawn(() => reach({ path: next, from: { node: id, port: portNum } }));
    }
  };

  const reach = async (arrival: Arrival): Promise<void> => {
    let ni: NodeInfo;
    try {
      ni = await port.nodeInfo({ path: arrival.path }, q);
    } catch (e) {
      b.addError({
        kind: errorKind(e),
        message: (e as Error).message,
        drPath: arrival.path,
        ...(arrival.from ? { node: arrival.from.node, port: arrival.from.port } : {}),
      });
      return;
    }
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
      // A known node reached through another port: that port's PortInfo (CAs are read per arrival port).
      if (node.type !== 'Switch' && !node.ports.some((p) => p.portNum === ni.localPort && p.state)) {
        await readPort(id, arrival.path, ni.localPort, false, undefined, ni.portGuid);
      }
      return;
    }
    const infoTasks: Promise<unknown>[] = [
      port.nodeDescription({ path: arrival.path }, q).then(
        (d) => b.updateNode(id, { description: d }),
        (e: unknown) => b.addError({ kind: errorKind(e), message: (e as Error).message, drPath: arrival.path, node: id }),
      ),
    ];
    if (node.type === 'Switch') {
      infoTasks.push(
        port.switchInfo({ path: arrival.path }, q).then(
          (si) =>
            b.updateNode(id, {
              switchInfo: {
                linearFdbCap: si.linearFdbCap,
                linearFdbTop: si.linearFdbTop,
                multicastFdbCap: si.multicastFdbCap,
                lifeTime: si.lifeTime,
                enhancedPort0: si.enhancedPort0,
              },
            }),
          (e: unknown) => b.addError({ kind: errorKind(e), message: (e as Error).message, drPath: arrival.path, node: id }),
        ),
      );
      for (let p = 0; p <= ni.numPorts; p++) infoTasks.push(readPort(id, arrival.path, p, true, arrival.from ? ni.localPort : undefined));
    } else {
      // A CA or router: its arrival port; the start node also explores out of it.
      infoTasks.push(readPort(id, arrival.path, ni.localPort, !arrival.from, undefined, ni.portGuid));
    }
    await Promise.all(infoTasks);
  };

  const start = opts.from ?? [];
  spawn(() => reach({ path: start }));
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
