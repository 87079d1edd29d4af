/**
 * An open CA port for management datagrams: typed SMP queries, many in flight.
 *
 *   await using port = await openPort({ ca: 'mlx5_0', port: 1 });
 *   const ni = await port.nodeInfo({ lid: 5 });
 *   const pi = await port.portInfo({ path: [1, 3] }, 2);
 *
 * Requests are pipelined by the native engine: up to `window` outstanding
 * per port and `perDestination` per destination node; each has its own
 * timeout and retries. Every query accepts an AbortSignal.
 */
import { fromNative } from '../errors.js';
import { checkAddress, destinationKey, formatAddress, type Address } from './address.js';
import {
  ATTR,
  METHOD,
  MGMT_CLASS,
  nodeDescriptionFrom,
  nodeInfoFrom,
  portInfoFrom,
  switchInfoFrom,
  type NodeInfo,
  type PortInfo,
  type SwitchInfo,
} from './attributes.js';
import { defaultIbBackend, type IbBackend, type MadRawReply, type MadTransport } from './backend.js';
import {
  BadAddressError,
  decodeMadStatus,
  MadAbortError,
  MadStatusError,
  MadTimeoutError,
  MadTransportError,
  MalformedReplyError,
  PortClosedError,
  type MadContext,
  type MadStatus,
} from './errors.js';
import { decodeGroup, type FieldGroupName, type FieldRecord } from './fields.js';
import * as q from './queries/index.js';

export interface OpenPortOptions {
  /** CA name (default: the first CA with an active port, as the diag tools choose). */
  ca?: string;
  /** Port number (default: the CA's first active port). */
  port?: number;
  /** Per-attempt timeout (default 1000 ms, libibmad's). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 3, libibmad's). */
  retries?: number;
  /** MADs outstanding on this port (default 16). */
  window?: number;
  /** MADs outstanding per destination node (default 2, like libibnetdisc). */
  perDestination?: number;
  /** Allow Set methods that change the fabric (port enable/disable, counter reset). Default false. */
  allowWrites?: boolean;
  backend?: IbBackend;
}

export interface QueryOptions {
  timeoutMs?: number;
  retries?: number;
  signal?: AbortSignal;
}

export interface MadRequest extends QueryOptions {
  mgmtClass: number;
  method: number;
  attrId: number;
  attrMod?: number;
  addr: Address;
  /** Attribute data (at the class's data offset). */
  data?: Buffer;
  /** SA component mask. */
  componentMask?: bigint;
}

export interface MadResponse {
  /** MAD status word (0 = success); for directed-route SMPs without the D bit. */
  status: number;
  statusDecoded: MadStatus;
  /** The attribute payload (from the class's data offset to the end of the reply). */
  data: Buffer;
  /** The whole reply MAD. */
  mad: Buffer;
  attempts: number;
}

/**
 * A reply as MadResponse: `data` and `mad` are views made when first read.
 * Library hot paths (discovery, sweeps) decode from `buffer` at
 * `dataOffset` instead, so no Buffer object is made per MAD.
 */
class MadReply implements MadResponse {
  private dataView: Buffer | undefined;
  private madView: Buffer | undefined;
  constructor(
    readonly status: number,
    readonly attempts: number,
    /** @internal the buffer holding the reply (possibly a batch of replies) */
    readonly buffer: Buffer,
    private readonly base: number,
    private readonly off: number,
    private readonly end: number,
  ) {}
  get statusDecoded(): MadStatus {
    return decodeMadStatus(this.status);
  }
  /** @internal where the attribute payload starts in `buffer` */
  get dataOffset(): number {
    return this.base + this.off;
  }
  get data(): Buffer {
    return (this.dataView ??= this.buffer.subarray(this.base + this.off, this.end));
  }
  get mad(): Buffer {
    return (this.madView ??= this.buffer.subarray(this.base, this.end));
  }
  toJSON(): { status: number; attempts: number; data: Buffer; mad: Buffer } {
    return { status: this.status, attempts: this.attempts, data: this.data, mad: this.mad };
  }
}

/** The buffer holding a reply's payload (for decoders that take a buffer and an offset: no view is made). */
export function payloadBuffer(res: MadResponse): Buffer {
  return res instanceof MadReply ? res.buffer : res.data;
}
/** Where the payload starts in payloadBuffer(res). */
export function payloadOffset(res: MadResponse): number {
  return res instanceof MadReply ? res.dataOffset : 0;
}

const DATA_OFFSET: Record<number, number> = { [MGMT_CLASS.SMI]: 64, [MGMT_CLASS.SMI_DR]: 64, [MGMT_CLASS.SA]: 56, [MGMT_CLASS.PMA]: 64 };
const ATTR_NAMES: Record<string, string> = {};
for (const [name, id] of Object.entries(ATTR)) ATTR_NAMES[`${id}`] ??= name;

function attrName(mgmtClass: number, attrId: number): string {
  if (mgmtClass === MGMT_CLASS.PMA) {
    if (attrId === ATTR.PortCounters) return 'PortCounters';
    if (attrId === ATTR.PortCountersExtended) return 'PortCountersExtended';
  }
  return ATTR_NAMES[`${attrId}`] ?? `attribute`;
}

/**
 * Cancellation for many requests on one AbortSignal. Each signal gets a
 * single 'abort' listener (added when its first request waits, removed when
 * its last one settles); a request joins or leaves the signal's set in O(1),
 * so the cost is the same whatever the number of MADs in flight or queued,
 * and no MaxListenersExceededWarning is ever printed for a busy signal.
 */
class AbortFanOut {
  private readonly waiting = new Map<AbortSignal, { listener: () => void; handlers: Set<() => void> }>();

  add(signal: AbortSignal, onAbort: () => void): void {
    let entry = this.waiting.get(signal);
    if (!entry) {
      const handlers = new Set<() => void>();
      const listener = () => {
        this.waiting.delete(signal);
        for (const h of handlers) h();
      };
      entry = { listener, handlers };
      this.waiting.set(signal, entry);
      signal.addEventListener('abort', listener, { once: true });
    }
    entry.handlers.add(onAbort);
  }

  delete(signal: AbortSignal, onAbort: () => void): void {
    const entry = this.waiting.get(signal);
    if (!entry || !entry.handlers.delete(onAbort) || entry.handlers.size > 0) return;
    this.waiting.delete(signal);
    signal.removeEventListener('abort', entry.listener);
  }
}

export interface PortStats {
  sent: number;
  received: number;
  timeouts: number;
  retries: number;
  outstanding: number;
}

export class Port {
  readonly ca: string;
  readonly portNum: number;
  readonly lid: number;
  readonly smLid: number;
  readonly portGuid: bigint;
  readonly window: number;
  readonly perDestination: number;
  readonly allowWrites: boolean;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private transport: MadTransport | undefined;
  /** Requests waiting on each AbortSignal: one 'abort' listener per signal, not one per MAD. */
  private readonly aborts = new AbortFanOut();
  private closing: Promise<void> | undefined;

  /** @internal use openPort() */
  constructor(transport: MadTransport, opts: OpenPortOptions) {
    this.transport = transport;
    const info = transport.info;
    this.ca = info.ca;
    this.portNum = info.port;
    this.lid = info.baseLid;
    this.smLid = info.smLid;
    this.portGuid = info.portGuid;
    this.window = info.window;
    this.perDestination = info.perDestination;
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.retries = opts.retries ?? 3;
    this.allowWrites = opts.allowWrites ?? false;
  }

  get closed(): boolean {
    return this.transport === undefined;
  }

  /** Send one MAD and wait for its reply. Does not throw on a non-zero MAD status (see `status`). */
  mad(req: MadRequest): Promise<MadResponse> {
    return new Promise((resolve, reject) => this.submit(req, (err, res) => (err ? reject(err) : resolve(res!))));
  }

  /**
   * The callback form of mad(), for hot paths (discovery, sweeps): no
   * Promise per MAD. `done` is called exactly once, possibly synchronously
   * for requests refused before sending.
   */
  submit(req: MadRequest, done: (err: Error | undefined, res?: MadResponse) => void): void {
    let addr: Address;
    try {
      addr = checkAddress(req.addr);
    } catch (e) {
      return done(e as Error);
    }
    // Error context, built only when an error needs it (this is the per-MAD hot path).
    let ctxCache: MadContext | undefined;
    const ctx = () => (ctxCache ??= { attribute: attrName(req.mgmtClass, req.attrId), attrId: req.attrId, address: formatAddress(addr) });
    const transport = this.transport;
    if (!transport) return done(new PortClosedError(ctx()));
    const gs = req.mgmtClass === MGMT_CLASS.SA || req.mgmtClass === MGMT_CLASS.PMA;
    if (gs && addr.path) return done(new BadAddressError(`${ctx().attribute}: SA and PMA MADs are LID-routed; a directed route cannot be used`));
    let mgmtClass = req.mgmtClass;
    if (mgmtClass === MGMT_CLASS.SMI || mgmtClass === MGMT_CLASS.SMI_DR) mgmtClass = addr.path ? MGMT_CLASS.SMI_DR : MGMT_CLASS.SMI;
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    const retries = req.retries ?? this.retries;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) return done(new RangeError(`timeoutMs must be a positive whole number, got ${timeoutMs}`));
    if (!Number.isInteger(retries) || retries < 0) return done(new RangeError(`retries must be a whole number >= 0, got ${retries}`));
    const signal = req.signal;
    if (signal?.aborted) return done(new MadAbortError(ctx(), signal.reason));

    let id = 0;
    let settled = false;
    const onAbort = signal
      ? () => {
          if (settled) return;
          settled = true;
          transport.cancel(id);
          done(new MadAbortError(ctx(), signal.reason));
        }
      : undefined;
    const onReply = (r: MadRawReply) => {
      if (settled) return;
      settled = true;
      if (onAbort) this.aborts.delete(signal!, onAbort);
      let res: MadResponse;
      try {
        res = this.finish(r, ctx, mgmtClass, req, timeoutMs);
      } catch (e) {
        return done(e as Error);
      }
      done(undefined, res);
    };
    try {
      // One fixed-shape object, no spreads: this is the per-MAD hot path.
      const path = addr.path;
      id = transport.send(
        {
          mgmtClass,
          method: req.method,
          attrId: req.attrId,
          attrMod: req.attrMod ?? 0,
          lid: addr.lid ?? 0,
          path,
          drSlid: path ? (addr.lid !== undefined ? this.lid : 0xffff) : undefined,
          data: req.data,
          componentMask: req.componentMask,
          timeoutMs,
          retries,
          dest: destinationKey(addr),
        },
        onReply,
      );
    } catch (e) {
      settled = true;
      return done(fromNative(e, `${ctx().attribute} to ${ctx().address}`));
    }
    if (onAbort) this.aborts.add(signal!, onAbort);
  }

  private finish(r: MadRawReply, ctxOf: () => MadContext, mgmtClass: number, req: MadRequest, timeoutMs: number): MadResponse {
    switch (r.outcome) {
      case 'timeout':
        throw new MadTimeoutError(ctxOf(), r.attempts, timeoutMs);
      case 'closed':
        throw new PortClosedError(ctxOf());
      case 'error':
        throw new MadTransportError(ctxOf(), r.errno ?? 0);
      case 'ok':
        break;
    }
    const ctx = ctxOf;
    // The reply is buf[base, end): a view of the transport's batch (no Buffer made per MAD here).
    const buf = r.mad ?? r.batch!;
    const base = r.mad ? 0 : r.start!;
    const end = r.mad ? r.mad.length : r.end!;
    const off = DATA_OFFSET[mgmtClass]!;
    if (end - base < off) throw new MalformedReplyError(ctx(), `${end - base} bytes, shorter than the ${off}-byte header`);
    if (buf[base] !== 1) throw new MalformedReplyError(ctx(), `base version ${buf[base]}`);
    if (buf[base + 1] !== mgmtClass) throw new MalformedReplyError(ctx(), `management class 0x${buf[base + 1]!.toString(16)}, expected 0x${mgmtClass.toString(16)}`);
    if ((buf[base + 3]! & 0x80) === 0) throw new MalformedReplyError(ctx(), `method 0x${buf[base + 3]!.toString(16)} is not a response`);
    const attrId = buf.readUInt16BE(base + 16);
    if (attrId !== req.attrId) throw new MalformedReplyError(ctx(), `attribute 0x${attrId.toString(16)}, expected 0x${req.attrId.toString(16)}`);
    const status = buf.readUInt16BE(base + 4) & (mgmtClass === MGMT_CLASS.SMI_DR ? 0x7fff : 0xffff);
    return new MadReply(status, r.attempts, buf, base, off, end);
  }

  /** Get an attribute and decode it with libibmad's field tables; throws on a non-zero status. */
  async getFields(group: FieldGroupName, req: Omit<MadRequest, 'method'>): Promise<FieldRecord> {
    const res = await this.mad({ ...req, method: METHOD.Get });
    if (res.status !== 0) {
      throw new MadStatusError({ attribute: group, attrId: req.attrId, address: formatAddress(req.addr) }, res.statusDecoded);
    }
    return decodeGroup(group, res.data);
  }

  async nodeInfo(addr: Address, opts: QueryOptions = {}): Promise<NodeInfo> {
    return nodeInfoFrom(await this.getFields('NodeInfo', { ...opts, mgmtClass: MGMT_CLASS.SMI, attrId: ATTR.NodeInfo, addr }));
  }

  async nodeDescription(addr: Address, opts: QueryOptions = {}): Promise<string> {
    return nodeDescriptionFrom(
      await this.getFields('NodeDescription', { ...opts, mgmtClass: MGMT_CLASS.SMI, attrId: ATTR.NodeDescription, addr }),
    );
  }

  /** PortInfo of port `portNum` (default 0: on a CA, the port the SMP arrives on; on a switch, port 0). */
  async portInfo(addr: Address, portNum = 0, opts: QueryOptions = {}): Promise<PortInfo> {
    if (!Number.isInteger(portNum) || portNum < 0 || portNum > 254) throw new BadAddressError(`port number must be 0..254, got ${portNum}`);
    return portInfoFrom(
      await this.getFields('PortInfo', { ...opts, mgmtClass: MGMT_CLASS.SMI, attrId: ATTR.PortInfo, attrMod: portNum, addr }),
    );
  }

  async switchInfo(addr: Address, opts: QueryOptions = {}): Promise<SwitchInfo> {
    return switchInfoFrom(await this.getFields('SwitchInfo', { ...opts, mgmtClass: MGMT_CLASS.SMI, attrId: ATTR.SwitchInfo, addr }));
  }

  stats(): PortStats {
    if (!this.transport) return { sent: 0, received: 0, timeouts: 0, retries: 0, outstanding: 0 };
    return this.transport.stats();
  }

  /**
   * Close the port. At once: no more requests, and outstanding ones fail
   * with PortClosedError (before close() returns its promise). Then the
   * engine stops sending, waits for the MADs already on the wire (their reply
   * or the kernel's timeout for them, 2 x timeout + 100 ms), unregisters its agents and closes the umad fds; the promise
   * resolves after that. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const t = this.transport;
    this.transport = undefined;
    try {
      this.closing = Promise.resolve(t?.close());
    } catch (e) {
      // A request's callback threw while being failed: the port still closes.
      this.closing = Promise.resolve();
      return Promise.reject(e as Error);
    }
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // --- issue 4 queries ---
  // Thin delegates to lib/ib/queries/* (the functions take the port as first argument).

  /** GUIDInfo block (8 GUIDs). */
  guidInfo(addr: Address, block = 0, opts: QueryOptions = {}): Promise<q.GuidInfoBlock> {
    return q.guidInfo(this, addr, block, opts);
  }
  /** The whole P_Key table of a port. */
  pkeyTable(addr: Address, portNum = 0, opts: QueryOptions = {}): Promise<q.PkeyTable> {
    return q.pkeyTable(this, addr, portNum, opts);
  }
  /** One LinearForwardingTable block (64 LIDs). */
  lftBlock(addr: Address, block: number, opts: QueryOptions = {}): Promise<number[]> {
    return q.lftBlock(this, addr, block, opts);
  }
  /** A switch's whole LinearForwardingTable (0..LinearFDBTop). */
  linearForwardingTable(addr: Address, opts: QueryOptions = {}): Promise<q.LinearForwardingTable> {
    return q.linearForwardingTable(this, addr, opts);
  }
  /** A switch's MulticastForwardingTable (MLIDs with member ports). */
  multicastForwardingTable(addr: Address, opts: QueryOptions = {}): Promise<q.MulticastForwardingTable> {
    return q.multicastForwardingTable(this, addr, opts);
  }
  /** SLtoVLMappingTable for one (in, out) port pair. */
  slToVl(addr: Address, inPort = 0, outPort = 0, opts: QueryOptions = {}): Promise<number[]> {
    return q.slToVl(this, addr, inPort, outPort, opts);
  }
  /** Both VL arbitration tables of a port. */
  vlArbitration(addr: Address, portNum = 0, opts: QueryOptions = {}): Promise<q.VlArbitration> {
    return q.vlArbitration(this, addr, portNum, opts);
  }
  /** SMInfo (default: of the SM the local port knows). */
  smInfo(addr?: Address, opts: QueryOptions = {}): Promise<q.SmInfo & { smLid: number }> {
    return q.smInfo(this, addr, opts);
  }
  /** PMA ClassPortInfo. */
  pmaClassPortInfo(addr: Address, opts: QueryOptions = {}): Promise<q.PmaClassPortInfo> {
    return q.pmaClassPortInfo(this, addr, opts);
  }
  /** PMA PortCounters (portNum 255 = AllPortSelect). */
  portCounters(addr: Address, portNum = 1, opts: QueryOptions = {}): Promise<q.PortCounters> {
    return q.portCounters(this, addr, portNum, opts);
  }
  /** PMA PortCountersExtended (64-bit). */
  portCountersExtended(addr: Address, portNum = 1, opts: QueryOptions = {}): Promise<q.PortCountersExtended> {
    return q.portCountersExtended(this, addr, portNum, opts);
  }
  /** Reset PMA counters (a write: needs allowWrites). */
  resetCounters(addr: Address, portNum: number, opts: q.ResetOptions = {}): Promise<q.PortCounters | q.PortCountersExtended> {
    return q.resetCounters(this, addr, portNum, opts);
  }
  /** ibportstate-style Set(PortInfo) (a write: needs allowWrites). */
  setPortState(addr: Address, portNum: number, change: q.PortStateChange, opts: QueryOptions = {}): Promise<q.PortStateResult> {
    return q.setPortState(this, addr, portNum, change, opts);
  }
  /** The directed route from this port to a LID. */
  routeToLid(lid: number, opts: QueryOptions = {}): Promise<number[]> {
    return q.lidToRoute(this, lid, opts);
  }
}

/** Open a CA port for MADs (SMI, directed-route SMI, SA and PMA agents). */
export async function openPort(opts: OpenPortOptions = {}): Promise<Port> {
  const window = opts.window ?? 16;
  const perDestination = opts.perDestination ?? 2;
  for (const [k, v, max] of [
    ['window', window, 4096],
    ['perDestination', perDestination, 4096],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`${k} must be a whole number from 1 to ${max}, got ${v}`);
  }
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 254)) {
    throw new RangeError(`port must be a port number from 1 to 254, got ${opts.port}`);
  }
  const backend = opts.backend ?? defaultIbBackend();
  const transport = await backend.openMadTransport({
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    window,
    perDestination,
  });
  return new Port(transport, opts);
}
