/**
 * In-memory InfiniBand backend: a behavioural model, not stubs. It answers on
 * a later tick like the native backend, enforces the same errors, and can be
 * changed by tests (add or remove CAs, change port state).
 */
import { HpcnetError } from '../errors.js';
import { formatGid } from '../util/format.js';
import type { IbBackend, MadRawReply, MadTransport, MadTransportInfo, MadWireRequest } from './backend.js';
import type { CaInfo, CaPort } from './types.js';

export interface MockCaSpec {
  name?: string;
  nodeGuid?: bigint;
  ports?: number;
  lid?: number;
  state?: CaPort['state'];
}

export function mockCa(spec: MockCaSpec = {}): CaInfo {
  const nodeGuid = spec.nodeGuid ?? 0x0002c90300001000n;
  const nports = spec.ports ?? 1;
  const ports: CaPort[] = [];
  for (let i = 1; i <= nports; i++) {
    const portGuid = nodeGuid + BigInt(i);
    const prefix = 0xfe80000000000000n;
    ports.push({
      portNum: i,
      state: spec.state ?? 'Active',
      physicalState: spec.state === 'Down' ? 'Polling' : 'LinkUp',
      rate: 100,
      baseLid: (spec.lid ?? 1) + i - 1,
      lmc: 0,
      smLid: 1,
      smSl: 0,
      capabilityMask: 0x2651e848,
      portGuid,
      gidPrefix: prefix,
      defaultGid: formatGid(prefix, portGuid),
      linkLayer: 'InfiniBand',
    });
  }
  return {
    name: spec.name ?? 'mlx5_0',
    caType: 'MT4123',
    nodeType: 'CA',
    numPorts: nports,
    firmwareVersion: '20.31.1014',
    hardwareVersion: '0',
    nodeGuid,
    systemImageGuid: nodeGuid,
    ports,
  };
}

/**
 * What the mock fabric answers to one attempt of a request: attribute data
 * (a reply with status 0), a reply with a MAD status, a raw reply MAD, or
 * 'drop' (no reply: the attempt times out).
 */
export type MockAnswer = { data?: Buffer; status?: number } | { mad: Buffer } | 'drop';
export type MockResponder = (req: MadWireRequest, attempt: number) => MockAnswer;

const DATA_OFFSET: Record<number, number> = { 0x01: 64, 0x81: 64, 0x03: 56, 0x04: 64 };

/** A reply MAD as a responder would send it (header fields per IBA 13.4.3). */
export function buildReplyMad(req: MadWireRequest, answer: { data?: Buffer; status?: number }): Buffer {
  const mad = Buffer.alloc(256);
  mad[0] = 1;
  mad[1] = req.mgmtClass;
  mad[2] = req.mgmtClass === 0x03 ? 2 : 1;
  mad[3] = 0x80 | req.method;
  mad.writeUInt16BE((answer.status ?? 0) | (req.mgmtClass === 0x81 ? 0x8000 : 0), 4);
  mad.writeUInt16BE(req.attrId, 16);
  mad.writeUInt32BE(req.attrMod >>> 0, 20);
  answer.data?.copy(mad, DATA_OFFSET[req.mgmtClass] ?? 64);
  return mad;
}

/** The mock's transport: same contract as the native one, timing simulated with timers. */
export class MockMadTransport implements MadTransport {
  readonly info: MadTransportInfo;
  private nextId = 1;
  private readonly pending = new Map<number, { req: MadWireRequest; onDone: (r: MadRawReply) => void; attempts: number; timer?: NodeJS.Timeout }>();
  private readonly queue: number[] = [];
  private inflight = new Map<string, number>();
  private active = 0;
  private counters = { sent: 0, received: 0, timeouts: 0, retries: 0 };
  /** Every request sent on the wire, in order (for tests). */
  readonly log: MadWireRequest[] = [];
  /** Highest number of requests outstanding at once (for tests). */
  maxActive = 0;

  constructor(
    private readonly responder: MockResponder,
    info: MadTransportInfo,
  ) {
    this.info = info;
  }

  send(req: MadWireRequest, onDone: (r: MadRawReply) => void): number {
    if (this.closed) throw new HpcnetError('ERR_PORT_CLOSED', 'port closed');
    const id = this.nextId++;
    this.pending.set(id, { req, onDone, attempts: 0 });
    this.queue.push(id);
    setImmediate(() => this.pump());
    return id;
  }

  private closed = false;

  private pump(): void {
    for (let i = 0; i < this.queue.length && this.active < this.info.window; ) {
      const id = this.queue[i]!;
      const p = this.pending.get(id);
      if (!p) {
        this.queue.splice(i, 1);
        continue;
      }
      if ((this.inflight.get(p.req.dest) ?? 0) >= this.info.perDestination) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      this.inflight.set(p.req.dest, (this.inflight.get(p.req.dest) ?? 0) + 1);
      this.attempt(id);
    }
  }

  private attempt(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    p.attempts++;
    this.counters.sent++;
    this.log.push(p.req);
    const answer = this.responder(p.req, p.attempts);
    if (answer === 'drop') {
      p.timer = setTimeout(() => {
        if (p.attempts <= p.req.retries) {
          this.counters.retries++;
          this.attempt(id);
        } else {
          this.counters.timeouts++;
          this.complete(id, { outcome: 'timeout', attempts: p.attempts });
        }
      }, p.req.timeoutMs);
      return;
    }
    const mad = 'mad' in answer ? answer.mad : buildReplyMad(p.req, answer);
    p.timer = setTimeout(() => {
      this.counters.received++;
      this.complete(id, { outcome: 'ok', attempts: p.attempts, mad });
    }, 0);
  }

  private release(req: MadWireRequest): void {
    this.active--;
    const n = (this.inflight.get(req.dest) ?? 1) - 1;
    if (n <= 0) this.inflight.delete(req.dest);
    else this.inflight.set(req.dest, n);
  }

  private complete(id: number, reply: MadRawReply): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.release(p.req);
    p.onDone(reply);
    this.pump();
  }

  cancel(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    const q = this.queue.indexOf(id);
    if (q >= 0) this.queue.splice(q, 1);
    else this.release(p.req);
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.pending.values()];
    this.pending.clear();
    this.queue.length = 0;
    for (const p of all) {
      clearTimeout(p.timer);
      p.onDone({ outcome: 'closed', attempts: p.attempts });
    }
  }

  stats() {
    return { ...this.counters, outstanding: this.pending.size };
  }
}

export class MockIbBackend implements IbBackend {
  readonly kind = 'mock' as const;
  readonly cas: CaInfo[];
  readonly responder: MockResponder;
  /** Transports opened on this backend (for tests). */
  readonly transports: MockMadTransport[] = [];

  constructor(opts: { cas?: CaInfo[]; responder?: MockResponder } = {}) {
    this.cas = opts.cas ?? [mockCa()];
    this.responder = opts.responder ?? (() => 'drop');
  }

  async openMadTransport(opts: { ca?: string; port?: number; window: number; perDestination: number }): Promise<MadTransport> {
    await Promise.resolve();
    const ca = opts.ca === undefined ? this.cas[0] : this.cas.find((c) => c.name === opts.ca);
    if (!ca) throw new HpcnetError('ENOENT', `opening ${opts.ca ?? 'the default CA'} for MADs: no such CA`);
    const port = ca.ports.find((p) => opts.port === undefined || p.portNum === opts.port);
    if (!port) throw new HpcnetError('ENOENT', `opening ${ca.name} port ${opts.port}: no such port`);
    const t = new MockMadTransport(this.responder, {
      ca: ca.name,
      port: port.portNum,
      baseLid: port.baseLid,
      smLid: port.smLid,
      lmc: port.lmc,
      portGuid: port.portGuid,
      window: opts.window,
      perDestination: opts.perDestination,
    });
    this.transports.push(t);
    return t;
  }

  async listCas(): Promise<CaInfo[]> {
    await Promise.resolve();
    if (this.cas.length === 0) throw new HpcnetError('ENODEV', 'listing InfiniBand CAs: no InfiniBand CA found');
    return structuredClone(this.cas);
  }

  async getCa(name: string): Promise<CaInfo> {
    await Promise.resolve();
    const ca = this.cas.find((c) => c.name === name);
    if (!ca) throw new HpcnetError('ENOENT', `reading CA '${name}': no such CA`);
    return structuredClone(ca);
  }
}
