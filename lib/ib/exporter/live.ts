/**
 * The exporter's live source: native discovery + counter sweep + SMInfo
 * through ONE port that stays open across collections.
 *
 * Why one long-lived port: a collection that times out is cancelled through
 * its AbortSignal (its MADs are cancelled; those already on the wire are
 * still tracked by the engine until their reply or the kernel's timeout, and ignored
 * then), and the next collection reuses the same port. Opening a port per
 * collection and closing it under MADs in flight is what crashed the
 * exporter under ibsim (issue 12): umad2sim delivers a late reply into the
 * freed queue of a closed fd, and it allows only two ports per process.
 *
 * A port that cannot be opened, or that fails at the transport level, is
 * reported as a failed collection and opened again on the next one.
 */
import { Worker } from 'node:worker_threads';
import { HpcnetError } from '../../errors.js';
import { discover, type DiscoverOptions } from '../discovery/discover.js';
import { readSubnetManagers, sweepCounters } from '../discovery/sweep.js';
import { openPort, type OpenPortOptions, type Port } from '../port.js';
import type { FabricSnapshot } from '../topology/index.js';
import type { AuditReport } from '../audit/types.js';
import type { ExporterAuditOptions } from './render.js';
import { CollectionError, type ExporterSource, type RenderedCollection, type SnapshotRequest } from './source.js';

export interface LivePortSourceOptions {
  port?: OpenPortOptions;
  discover?: Omit<DiscoverOptions, 'signal'>;
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new CollectionError('collection aborted');
}

export class LivePortSource implements ExporterSource {
  readonly kind = 'live';
  private port: Port | undefined;
  private opening: Promise<Port> | undefined;
  private closed = false;

  constructor(private readonly opts: LivePortSourceOptions = {}) {}

  /** Open ports so far (1 while healthy; a reopen after a transport failure adds one). */
  opens = 0;

  private async getPort(): Promise<Port> {
    if (this.port && !this.port.closed) return this.port;
    this.opening ??= (async () => {
      try {
        const p = await openPort(this.opts.port ?? {});
        this.opens++;
        if (this.closed) {
          await p.close();
          throw new CollectionError('exporter closing');
        }
        this.port = p;
        return p;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  async snapshot(req: SnapshotRequest): Promise<FabricSnapshot> {
    if (this.closed) throw new CollectionError('source closed');
    const signal = req.signal;
    let port: Port;
    try {
      port = await this.getPort();
    } catch (e) {
      if (e instanceof CollectionError) throw e;
      throw new CollectionError(e instanceof Error ? e.message : String(e), { cause: e });
    }
    try {
      const { fabric } = await discover(port, { ...this.opts.discover, ...(signal ? { signal } : {}) });
      if (signal?.aborted) throw abortReason(signal);
      const snap: FabricSnapshot = { fabric, counters: [] };
      const q = signal ? { signal } : {};
      for (let i = 0; i < req.samples; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, req.intervalMs));
        snap.counters.push(await sweepCounters(port, fabric, { ...q, onError: (e) => fabric.errors.push({ kind: 'counters', node: e.node, ...(e.port !== undefined ? { port: e.port } : {}), message: e.message }) }));
      }
      if (req.samples > 0) snap.subnetManagers = await readSubnetManagers(port, fabric, q);
      if (signal?.aborted) throw abortReason(signal);
      return snap;
    } catch (e) {
      // A transport failure (not a timeout, abort or fabric answer): open the port afresh next time.
      const code = (e as HpcnetError).code;
      if (code === 'ETRANSPORT' || code === 'ERR_PORT_CLOSED') await this.dropPort();
      throw e;
    }
  }

  private async dropPort(): Promise<void> {
    const p = this.port;
    this.port = undefined;
    await p?.close().catch(() => undefined);
  }

  /** Close the port (after its in-flight MADs are answered or timed out). */
  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    await this.dropPort();
  }
}

/**
 * The live source in its own worker thread (the default of `hpcnet ib
 * exporter`): discovery and the sweep run there, and with collectRendered
 * the audit and the rendering too, so the main thread only answers scrapes
 * and receives each finished text. The worker keeps the port open across
 * collections; aborting a collection cancels its MADs there.
 */
export class WorkerLiveSource implements ExporterSource {
  readonly kind = 'live';
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: WorkerReply) => void; reject: (e: Error) => void }>();
  private closing: Promise<void> | undefined;
  /** The audit options the worker has (they are sent again only when they change). */
  private sentAudit: ExporterAuditOptions | false | undefined;
  /** Ports the worker has opened so far (1 while healthy). */
  opens = 0;

  constructor(private readonly opts: LivePortSourceOptions = {}) {}

  private start(): Worker {
    const w = new Worker(new URL('./live-worker.js', import.meta.url), { workerData: this.opts });
    this.sentAudit = undefined;
    w.on('message', (m: WorkerReply) => {
      if (m.opens !== undefined) this.opens = m.opens;
      const p = m.id !== undefined ? this.pending.get(m.id) : undefined;
      if (!p) return;
      this.pending.delete(m.id!);
      if (m.ok) p.resolve(m);
      else p.reject(new CollectionError(m.error ?? 'collection failed'));
    });
    const fail = (e: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new CollectionError(`live source worker: ${e.message}`, { cause: e }));
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    return w;
  }

  /** Send one request to the worker; an abort of `signal` is forwarded as an abort of that request. */
  private call(msg: Record<string, unknown>, signal?: AbortSignal): Promise<WorkerReply> {
    if (this.closing) return Promise.reject(new CollectionError('source closed'));
    const w = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      let clear = () => {};
      this.pending.set(id, { resolve: (m) => (clear(), resolve(m)), reject: (e) => (clear(), reject(e)) });
      w.postMessage({ ...msg, id });
      if (!signal) return;
      const onAbort = () => w.postMessage({ op: 'abort', id, reason: signal.reason instanceof Error ? signal.reason.message : 'aborted' });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      clear = () => signal.removeEventListener('abort', onAbort);
    });
  }

  async snapshot(req: SnapshotRequest): Promise<FabricSnapshot> {
    return (await this.call({ op: 'snapshot', samples: req.samples, intervalMs: req.intervalMs }, req.signal)).snap!;
  }

  async collectRendered(req: SnapshotRequest, audit: ExporterAuditOptions | false): Promise<RenderedCollection> {
    const msg: Record<string, unknown> = { op: 'collect', samples: req.samples, intervalMs: req.intervalMs };
    // The audit options (a reference topology can be large) cross once, not at every collection.
    if (this.sentAudit !== audit || !this.worker) msg.audit = audit;
    const reply = this.call(msg, req.signal);
    this.sentAudit = audit;
    return (await reply).rendered!;
  }

  async lastRendered(): Promise<{ snapshot: FabricSnapshot; report?: AuditReport } | undefined> {
    if (!this.worker) return undefined;
    return (await this.call({ op: 'last' })).last;
  }

  /** Aborts a running collection, closes the port (after its in-flight MADs) and ends the worker. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const w = this.worker;
      if (!w) return;
      await new Promise<void>((resolve) => {
        w.once('exit', () => resolve());
        w.postMessage({ op: 'close' });
      });
      this.worker = undefined;
    })();
    return this.closing;
  }
}

interface WorkerReply {
  id?: number;
  ok?: boolean;
  error?: string;
  opens?: number;
  snap?: FabricSnapshot;
  rendered?: RenderedCollection;
  last?: { snapshot: FabricSnapshot; report?: AuditReport };
}
