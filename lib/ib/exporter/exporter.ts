/**
 * The Prometheus exporter: collects the fabric in the background, one
 * collection at a time, every `intervalMs`; each finished collection is
 * audited and rendered to Prometheus text once. An HTTP scrape never talks
 * to the fabric: `/metrics` returns the last rendered sample plus live
 * collection metadata, `/healthz` the age of the last successful collection
 * and the last error. Binds to 127.0.0.1 unless told otherwise.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { HpcnetError, InvalidArgumentError } from '../../errors.js';
import { Worker } from 'node:worker_threads';
import type { AuditReport } from '../audit/types.js';
import type { CounterSample, FabricSnapshot } from '../topology/index.js';
import { METRIC_PREFIX } from './metrics.js';
import { gzipSync } from 'node:zlib';
import { collectionSummary, renderCollection, type ExporterAuditOptions, type RenderRequest, type RenderResult } from './render.js';
import { CollectionError, type ExporterSource } from './source.js';

/** The exporter cannot start (address in use, bad address). */
export class ExporterError extends HpcnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_IB_EXPORTER', message, options);
  }
}

export const DEFAULT_LISTEN = '127.0.0.1:9315';
export const DEFAULT_INTERVAL_MS = 60_000;
/** How long close() waits (at most; and at most the collection timeout) for an aborted source to settle. */
const CLOSE_GRACE_MS = 5_000;

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Parse `--listen`: `HOST:PORT`, `[IPV6]:PORT`, or just `PORT` / `:PORT`
 * (loopback: 127.0.0.1). All interfaces only when asked: `0.0.0.0:PORT` or `[::]:PORT`.
 */
export function parseListen(text: string): ListenAddress {
  const t = text.trim();
  let host = '127.0.0.1';
  let port: string;
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(t);
  if (v6) {
    host = v6[1]!;
    port = v6[2]!;
  } else if (/^:?\d+$/.test(t)) {
    port = t.replace(/^:/, '');
  } else {
    const m = /^([A-Za-z0-9.-]+):(\d+)$/.exec(t);
    if (!m) throw new InvalidArgumentError(`--listen: expected HOST:PORT, [IPV6]:PORT or PORT, got '${text}'`);
    host = m[1]!;
    port = m[2]!;
  }
  const p = Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new InvalidArgumentError(`--listen: port must be 0..65535, got '${port}'`);
  return { host, port: p };
}

/** Parse a duration: `60s`, `5m`, `1h`, `500ms`, or a number of seconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`${what}: expected a duration like 500ms, 30s, 5m or 1h, got '${text}'`);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(m[1]) * mult);
  if (ms <= 0) throw new InvalidArgumentError(`${what}: must be more than 0, got '${text}'`);
  return ms;
}

export interface IbExporterOptions {
  source: ExporterSource;
  /** Where to listen (default 127.0.0.1:9315; port 0: an ephemeral port, see `address`). */
  listen?: ListenAddress | string;
  /** Time from the start of one collection to the start of the next (default 60 s). */
  intervalMs?: number;
  /** A collection running longer is aborted and counted as failed (default: the interval). */
  timeoutMs?: number;
  /** /healthz answers 503 when the last successful collection is older (default 3 intervals + timeout). */
  staleAfterMs?: number;
  /** Audit each collection (default: the default audit configuration); false: no audit metrics. */
  audit?: ExporterAuditOptions | false;
  /** Progress lines (collections, errors). */
  log?: (line: string) => void;
  /** Audit and render each collection in a worker thread (default true), so scrapes are answered meanwhile. */
  renderInWorker?: boolean;
}

export interface CollectionResult {
  ok: boolean;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  error?: string;
  /** Nodes and ports of the snapshot, when ok. */
  nodes?: number;
  ports?: number;
  findings?: number;
}

export type HealthState = 'ok' | 'degraded' | 'stale' | 'starting' | 'failing';

export interface Health {
  status: HealthState;
  healthy: boolean;
  source: string;
  intervalSeconds: number;
  lastSuccess: string | null;
  /** Seconds since the last successful collection finished. */
  ageSeconds: number | null;
  lastAttempt: string | null;
  lastDurationSeconds: number | null;
  inProgress: boolean;
  lastError: { message: string; at: string } | null;
  collections: { success: number; error: number };
}

export class IbExporter {
  readonly source: ExporterSource;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly staleAfterMs: number;
  private readonly audit: ExporterAuditOptions | false;
  private readonly log: (line: string) => void;
  private readonly server: Server;
  private fabricBody: Buffer = Buffer.alloc(0);
  private fabricGzip: Buffer = gzipSync(Buffer.alloc(0));
  /** The source collects and renders in its own thread (collectRendered); the snapshot then stays there. */
  private readonly renderInSource: boolean;
  private readonly renderer: { render(req: RenderRequest): Promise<RenderResult>; close(): Promise<void> };
  private prevSample: CounterSample | undefined;
  private running: Promise<CollectionResult> | undefined;
  private abort: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** The source's promise of the current collection (settles once its processes are gone, for sources that honour the signal). */
  private sourcePending: Promise<void> | undefined;
  private lastSuccessAt: number | undefined;
  private lastAttempt: CollectionResult | undefined;
  private lastError: { message: string; at: number } | undefined;
  private readonly counts = { success: 0, error: 0 };
  private readonly waiters: Array<(r: CollectionResult) => void> = [];
  private lastReport: AuditReport | undefined;
  private lastSnapshot: FabricSnapshot | undefined;

  private constructor(o: IbExporterOptions) {
    this.source = o.source;
    this.intervalMs = o.intervalMs ?? DEFAULT_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new InvalidArgumentError(`interval must be more than 0 ms, got ${this.intervalMs}`);
    this.timeoutMs = o.timeoutMs ?? this.intervalMs;
    this.staleAfterMs = o.staleAfterMs ?? 3 * this.intervalMs + this.timeoutMs;
    this.audit = o.audit === false ? false : (o.audit ?? {});
    this.log = o.log ?? (() => {});
    this.server = createServer((req, res) => this.handle(req, res));
    this.renderer = o.renderInWorker === false ? { render: renderCollection, close: async () => {} } : new RenderWorker();
    this.renderInSource = o.renderInWorker !== false && typeof o.source.collectRendered === 'function';
  }

  /** Bind the HTTP server and start collecting (the first collection starts at once). */
  static async start(o: IbExporterOptions): Promise<IbExporter> {
    const ex = new IbExporter(o);
    const addr = typeof o.listen === 'string' ? parseListen(o.listen) : (o.listen ?? parseListen(DEFAULT_LISTEN));
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        reject(new ExporterError(`cannot listen on ${addr.host}:${addr.port}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`, { cause: e }));
      };
      ex.server.once('error', onError);
      ex.server.listen({ host: addr.host, port: addr.port }, () => {
        ex.server.off('error', onError);
        resolve();
      });
    });
    ex.server.on('error', (e) => ex.log(`http server error: ${e.message}`));
    void ex.runCollection();
    return ex;
  }

  /** The bound address (with the real port when 0 was asked for). */
  get address(): ListenAddress {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /**
   * The last successful collection's snapshot and audit report (undefined
   * before the first), when this thread holds them: with a source that
   * renders in its own thread (the live source) it is undefined; use
   * lastCollection().
   */
  get last(): { snapshot: FabricSnapshot; report?: AuditReport } | undefined {
    if (!this.lastSnapshot) return undefined;
    return { snapshot: this.lastSnapshot, ...(this.lastReport ? { report: this.lastReport } : {}) };
  }

  /** The last successful collection's snapshot and audit report, from wherever they are kept (undefined before the first). */
  async lastCollection(): Promise<{ snapshot: FabricSnapshot; report?: AuditReport } | undefined> {
    if (this.renderInSource) return this.lastSuccessAt === undefined ? undefined : this.source.lastRendered?.();
    return this.last;
  }

  /** Start a collection now (or join the one running); resolves when it ends. */
  collectNow(): Promise<CollectionResult> {
    if (this.closed) return Promise.reject(new ExporterError('exporter is closed'));
    return this.runCollection();
  }

  /** Resolves when the next collection (the running one, if any) ends. */
  nextCollection(): Promise<CollectionResult> {
    if (this.running) return this.running;
    return new Promise((r) => this.waiters.push(r));
  }

  private runCollection(): Promise<CollectionResult> {
    if (this.running) return this.running;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const p = this.collect().then((r) => {
      this.running = undefined;
      for (const w of this.waiters.splice(0)) w(r);
      if (!this.closed) {
        this.timer = setTimeout(() => void this.runCollection(), Math.max(0, this.intervalMs - r.durationMs));
      }
      return r;
    });
    this.running = p;
    return p;
  }

  private async collect(): Promise<CollectionResult> {
    // The previous collection, if it timed out, may still be winding down in
    // its source (cancelling its MADs): let it finish first (bounded), so two
    // collections never share the fabric.
    if (this.sourcePending) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.sourcePending, new Promise<void>((r) => (t = setTimeout(r, this.timeoutMs)))]);
      clearTimeout(t);
    }
    const ac = new AbortController();
    this.abort = ac;
    const startedAt = Date.now();
    const t0 = performance.now();
    const timer = setTimeout(() => ac.abort(new CollectionError(`collection timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    let result: CollectionResult;
    try {
      const req = { samples: 1, intervalMs: 0, signal: ac.signal };
      // The source's promise is kept (close() and the next collection wait for it to wind down); this one gives up at an abort.
      const fromSource = <T>(pending: Promise<T>): Promise<T> => {
        this.sourcePending = pending.then(
          () => undefined,
          () => undefined,
        );
        return raceAbort(pending, ac.signal);
      };
      let summary: { nodes: number; ports: number; readErrors: number; findings?: number };
      if (this.renderInSource) {
        // Collected, audited and rendered in the source's thread: only the text comes here.
        const r = await fromSource(this.source.collectRendered!(req, this.audit));
        if (ac.signal.aborted) throw ac.signal.reason;
        this.fabricBody = Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
        this.fabricGzip = Buffer.from(r.gzip.buffer, r.gzip.byteOffset, r.gzip.byteLength);
        summary = r;
      } else {
        const snap = await fromSource(this.source.snapshot(req));
        const rendered = await raceAbort(this.renderer.render({ snapshot: snap, audit: this.audit, ...(this.prevSample ? { prevSample: this.prevSample } : {}) }), ac.signal);
        const report = rendered.report;
        if (ac.signal.aborted) throw ac.signal.reason;
        this.fabricBody = Buffer.from(rendered.body.buffer, rendered.body.byteOffset, rendered.body.byteLength);
        this.fabricGzip = Buffer.from(rendered.gzip.buffer, rendered.gzip.byteOffset, rendered.gzip.byteLength);
        this.lastSnapshot = snap;
        this.lastReport = report;
        this.prevSample = snap.counters.at(-1) ?? this.prevSample;
        summary = collectionSummary(snap, report);
      }
      const finishedAt = Date.now();
      this.lastSuccessAt = finishedAt;
      this.counts.success++;
      result = {
        ok: true,
        startedAt,
        finishedAt,
        durationMs: performance.now() - t0,
        nodes: summary.nodes,
        ports: summary.ports,
        ...(summary.findings !== undefined ? { findings: summary.findings } : {}),
      };
      this.log(`collection ok in ${(result.durationMs / 1000).toFixed(2)} s: ${result.nodes} nodes, ${result.ports} ports${summary.findings !== undefined ? `, ${summary.findings} findings` : ''}${summary.readErrors ? `, ${summary.readErrors} read errors` : ''}`);
    } catch (e) {
      const finishedAt = Date.now();
      const message = e instanceof Error ? e.message : String(e);
      this.lastError = { message, at: finishedAt };
      this.counts.error++;
      result = { ok: false, startedAt, finishedAt, durationMs: performance.now() - t0, error: message };
      this.log(this.closed ? `collection aborted: ${message}` : `collection failed after ${(result.durationMs / 1000).toFixed(2)} s: ${message}`);
    } finally {
      clearTimeout(timer);
      this.abort = undefined;
    }
    this.lastAttempt = result;
    return result;
  }

  /**
   * Collection metadata, rendered at every scrape into a fresh registry (a
   * handful of series, no fabric traffic); series whose value is not known
   * yet (before the first collection, no error so far) are absent, not 0.
   */
  private metaRegistry(now = Date.now()): Registry {
    const P = `${METRIC_PREFIX}exporter_`;
    const reg = new Registry();
    const gauge = (name: string, help: string, value: number | undefined) => {
      if (value === undefined) return;
      new Gauge({ name: `${P}${name}`, help, registers: [reg] }).set(value);
    };
    new Gauge({ name: `${P}info`, help: 'The exporter (value 1): its fabric source and collection interval', labelNames: ['source', 'interval_seconds'], registers: [reg] }).set(
      { source: this.source.kind ?? 'custom', interval_seconds: String(this.intervalMs / 1000) },
      1,
    );
    const a = this.lastAttempt;
    gauge('collection_duration_seconds', 'Duration of the last collection (successful or not)', a ? a.durationMs / 1000 : undefined);
    gauge('collection_success', '1 when the last collection succeeded, 0 when it failed (the fabric metrics then still show the last successful one)', a ? (a.ok ? 1 : 0) : undefined);
    gauge('collection_in_progress', '1 while a collection is running', this.running ? 1 : 0);
    gauge('last_collection_timestamp_seconds', 'Unix time the last collection (successful or not) ended', a ? a.finishedAt / 1000 : undefined);
    gauge('last_success_timestamp_seconds', 'Unix time the last successful collection ended (the time of the fabric metrics served)', this.lastSuccessAt !== undefined ? this.lastSuccessAt / 1000 : undefined);
    gauge('sample_age_seconds', 'Seconds since the last successful collection ended (age of the fabric metrics served)', this.lastSuccessAt !== undefined ? (now - this.lastSuccessAt) / 1000 : undefined);
    gauge('last_error_timestamp_seconds', 'Unix time of the last failed collection (its message is in /healthz)', this.lastError ? this.lastError.at / 1000 : undefined);
    const total = new Counter({ name: `${P}collections_total`, help: 'Collections by result', labelNames: ['result'], registers: [reg] });
    total.inc({ result: 'success' }, this.counts.success);
    total.inc({ result: 'error' }, this.counts.error);
    return reg;
  }

  /** The /metrics body: collection metadata (live) followed by the last sample's fabric metrics (rendered once per collection). */
  async metricsBody(): Promise<Buffer> {
    return Buffer.concat([Buffer.from(await this.metaRegistry().metrics()), this.fabricBody]);
  }

  /**
   * The /metrics body as parts to write one after the other (no copy of the
   * fabric text): with gzip, two gzip members (the live metadata, compressed
   * now, then the fabric text compressed once per collection), which gzip
   * readers (Prometheus's included) read as one stream.
   */
  private async metricsParts(gzip: boolean): Promise<Buffer[]> {
    const meta = Buffer.from(await this.metaRegistry().metrics());
    return gzip ? [gzipSync(meta), this.fabricGzip] : [meta, this.fabricBody];
  }

  async metricsText(): Promise<string> {
    return (await this.metricsBody()).toString('utf8');
  }

  get contentType(): string {
    return new Registry().contentType;
  }

  health(now = Date.now()): Health {
    const age = this.lastSuccessAt !== undefined ? (now - this.lastSuccessAt) / 1000 : null;
    let status: HealthState;
    if (this.lastSuccessAt === undefined) status = this.lastError ? 'failing' : 'starting';
    else if (now - this.lastSuccessAt > this.staleAfterMs) status = 'stale';
    else status = this.lastAttempt?.ok === false ? 'degraded' : 'ok';
    return {
      status,
      healthy: status === 'ok' || status === 'degraded',
      source: this.source.kind ?? 'custom',
      intervalSeconds: this.intervalMs / 1000,
      lastSuccess: this.lastSuccessAt !== undefined ? new Date(this.lastSuccessAt).toISOString() : null,
      ageSeconds: age,
      lastAttempt: this.lastAttempt ? new Date(this.lastAttempt.finishedAt).toISOString() : null,
      lastDurationSeconds: this.lastAttempt ? this.lastAttempt.durationMs / 1000 : null,
      inProgress: this.running !== undefined,
      lastError: this.lastError ? { message: this.lastError.message, at: new Date(this.lastError.at).toISOString() } : null,
      collections: { ...this.counts },
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const send = (code: number, type: string, body: string | Buffer) => {
      res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/metrics') {
      const gzip = acceptsGzip(req.headers['accept-encoding']);
      this.metricsParts(gzip).then(
        (parts) => {
          res.writeHead(200, {
            'Content-Type': this.contentType,
            'Content-Length': parts[0]!.length + parts[1]!.length,
            'Cache-Control': 'no-store',
            Vary: 'Accept-Encoding',
            ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
          });
          if (req.method === 'HEAD') return res.end();
          res.write(parts[0]);
          res.end(parts[1]);
        },
        (e: unknown) => send(500, 'text/plain; charset=utf-8', `cannot render metrics: ${e instanceof Error ? e.message : String(e)}\n`),
      );
    } else if (path === '/healthz') {
      const h = this.health();
      send(h.healthy ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(h, null, 2) + '\n');
    } else if (path === '/') {
      send(200, 'text/html; charset=utf-8', '<html><head><title>hpcnet InfiniBand exporter</title></head><body><h1>hpcnet InfiniBand exporter</h1><p><a href="/metrics">/metrics</a> <a href="/healthz">/healthz</a></p></body></html>\n');
    } else {
      send(404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
    }
  }

  /** Stop collecting (aborting a running collection), close the HTTP server and the source. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.abort?.abort(new CollectionError('exporter closing'));
      await this.running?.catch(() => undefined);
      // Give a source that honours the abort signal time to end its fabric traffic (kill and reap its tools).
      if (this.sourcePending) {
        let t: NodeJS.Timeout | undefined;
        await Promise.race([this.sourcePending, new Promise<void>((r) => (t = setTimeout(r, Math.min(CLOSE_GRACE_MS, this.timeoutMs))))]);
        clearTimeout(t);
      }
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
      await this.renderer.close();
      await this.source.close?.();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Whether an Accept-Encoding header allows gzip (a q of 0 refuses it). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of text.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)).find(Boolean);
    return !q || Number(q[1]) > 0;
  }
  return false;
}

/** Settle with the promise, or reject as soon as the signal aborts (for sources that ignore the signal). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** The render worker: one thread per exporter, requests answered in order. */
class RenderWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: RenderResult) => void; reject: (e: Error) => void }>();

  private start(): Worker {
    const w = new Worker(new URL('./render-worker.js', import.meta.url));
    w.on('message', (m: { id: number; ok: boolean; result?: RenderResult; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result!);
      else p.reject(new ExporterError(`rendering the metrics failed: ${m.error}`));
    });
    const fail = (e: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new ExporterError(`render worker: ${e.message}`, { cause: e }));
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    return w;
  }

  render(req: RenderRequest): Promise<RenderResult> {
    this.worker ??= this.start();
    const id = this.nextId++;
    const w = this.worker;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, req });
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}
