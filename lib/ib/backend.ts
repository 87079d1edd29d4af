/**
 * The InfiniBand backend interface (as serialport's bindings-interface): the
 * facades talk only to an IbBackend. The native backend wraps the addon; the
 * mock backend (mock-backend.ts) is an in-memory model for unit tests and
 * for developing scripts on hosts without the addon.
 *
 * Contract: every method returns a Promise and never blocks the caller's
 * thread; failures reject with an HpcnetError subclass (never a bare Error).
 */
import { fromNative } from '../errors.js';
import { loadIbNative, type NativeMadPort } from '../native/loader.js';
import { caFromRaw, type CaInfo } from './types.js';

/** One request as the transport takes it: packet fields plus the engine's scheduling data. */
export interface MadWireRequest {
  mgmtClass: number;
  method: number;
  attrId: number;
  attrMod: number;
  /** Destination LID (0 for a pure directed route). */
  lid: number;
  /** Directed route hops (without the leading local port 0). */
  path?: number[];
  drSlid?: number;
  data?: Buffer;
  componentMask?: bigint;
  timeoutMs: number;
  retries: number;
  /** Key of the per-destination limit. */
  dest: string;
}

export interface MadRawReply {
  outcome: 'ok' | 'timeout' | 'error' | 'closed';
  attempts: number;
  errno?: number;
  /** The reply MAD (outcome 'ok'): either `mad`, or `batch[start, end)` (a view not yet made). */
  mad?: Buffer;
  batch?: Buffer;
  start?: number;
  end?: number;
}

export interface MadTransportInfo {
  ca: string;
  port: number;
  baseLid: number;
  smLid: number;
  lmc: number;
  portGuid: bigint;
  window: number;
  perDestination: number;
}

/**
 * An open port's MAD transport. Contract: send() never blocks; `onDone` is
 * called exactly once per request on the JS thread (never for a cancelled
 * one); close() calls every outstanding `onDone` with outcome 'closed'
 * before it returns, and may return a promise that settles once the
 * transport has let go of its resources (the native one: after the MADs on
 * the wire were answered or timed out and the umad fds are closed).
 */
export interface MadTransport {
  readonly info: MadTransportInfo;
  send(req: MadWireRequest, onDone: (reply: MadRawReply) => void): number;
  cancel(id: number): void;
  close(): void | Promise<void>;
  stats(): { sent: number; received: number; timeouts: number; retries: number; outstanding: number };
}

export interface IbBackend {
  readonly kind: 'native' | 'mock';
  /** All local CAs. Rejects with code ENODEV when there are none. */
  listCas(): Promise<CaInfo[]>;
  /** One CA by name. Rejects with code ENOENT when it does not exist. */
  getCa(name: string): Promise<CaInfo>;
  /** Open a port for MADs. */
  openMadTransport(opts: { ca?: string; port?: number; window: number; perDestination: number }): Promise<MadTransport>;
}

const OUTCOMES = ['ok', 'timeout', 'error', 'ok', 'closed'] as const;

/** Numbers per completion record from the addon: id, outcome, attempts, errno, start, end. */
const RECORD = 6;

class NativeMadTransport implements MadTransport {
  readonly info: MadTransportInfo;
  /** The callback of each outstanding request, by id. */
  private readonly waiting = new Map<number, (reply: MadRawReply) => void>();

  constructor(private readonly port: NativeMadPort) {
    const i = port.info();
    this.info = { ca: i.ca, port: i.port, baseLid: i.baseLid, smLid: i.smLid, lmc: i.lmc, portGuid: i.portGuid, window: i.window, perDestination: i.perDestination };
    port.onComplete((records, batch) => this.complete(records, batch));
  }

  /**
   * A batch of completions from the addon (one call per batch, not per MAD).
   * Every request of the batch gets its callback even when one throws; the
   * first exception is thrown after (the addon reports it as uncaught).
   */
  private complete(records: Uint32Array, batch: Buffer | undefined): void {
    let failure: { error: unknown } | undefined;
    for (let i = 0; i < records.length; i += RECORD) {
      const id = records[i]!;
      const onDone = this.waiting.get(id);
      if (!onDone) continue; // cancelled, or failed by close() from an earlier callback of this batch
      this.waiting.delete(id);
      const outcome = OUTCOMES[records[i + 1]!] ?? 'error';
      try {
        // The reply stays a range of the batch: the port reads it in place (no Buffer per MAD).
        onDone({ outcome, attempts: records[i + 2]!, errno: records[i + 3]!, batch: outcome === 'ok' ? batch : undefined, start: records[i + 4]!, end: records[i + 5]! });
      } catch (e) {
        failure ??= { error: e };
      }
    }
    if (failure) throw failure.error;
  }

  send(req: MadWireRequest, onDone: (reply: MadRawReply) => void): number {
    const id = this.port.send(
      req.mgmtClass,
      req.method,
      req.attrId,
      req.attrMod,
      req.lid,
      req.path ?? null,
      req.drSlid ?? 0xffff,
      req.data ?? null,
      req.componentMask ?? null,
      req.timeoutMs,
      req.retries,
      req.dest,
    );
    this.waiting.set(id, onDone);
    return id;
  }
  cancel(id: number): void {
    this.waiting.delete(id);
    this.port.cancel(id);
  }
  close(): Promise<void> {
    // The addon stops delivering at once; every request still waiting (including those of a batch
    // being delivered when a callback closes the port) is failed here, before close() returns.
    const closing = this.port.close();
    let failure: { error: unknown } | undefined;
    for (const [id, onDone] of this.waiting) {
      this.waiting.delete(id);
      try {
        onDone({ outcome: 'closed', attempts: 0, errno: 0 });
      } catch (e) {
        failure ??= { error: e };
      }
    }
    if (failure) throw failure.error;
    return closing;
  }
  stats() {
    return this.port.stats();
  }
}

/** The backend over the hpcnet_ib addon. Loading is deferred to the first call. */
export class NativeIbBackend implements IbBackend {
  readonly kind = 'native' as const;

  async listCas(): Promise<CaInfo[]> {
    const native = loadIbNative();
    try {
      return (await native.getCas()).map(caFromRaw);
    } catch (e) {
      throw fromNative(e, 'listing InfiniBand CAs');
    }
  }

  async getCa(name: string): Promise<CaInfo> {
    const native = loadIbNative();
    try {
      const [ca] = await native.getCas(name);
      return caFromRaw(ca!);
    } catch (e) {
      throw fromNative(e, `reading CA '${name}'`);
    }
  }

  async openMadTransport(opts: { ca?: string; port?: number; window: number; perDestination: number }): Promise<MadTransport> {
    const native = loadIbNative();
    try {
      return new NativeMadTransport(await native.openPort(opts.ca, opts.port ?? 0, opts.window, opts.perDestination));
    } catch (e) {
      throw fromNative(e, `opening ${opts.ca ?? 'the default CA'} port ${opts.port ?? '(default)'} for MADs`);
    }
  }
}

let current: IbBackend | undefined;

/** The backend used when a call does not pass one: native unless replaced. */
export function defaultIbBackend(): IbBackend {
  return (current ??= new NativeIbBackend());
}

/** Replace the default backend (for example with a MockIbBackend); returns the previous one. */
export function setDefaultIbBackend(backend: IbBackend): IbBackend | undefined {
  const prev = current;
  current = backend;
  return prev;
}
