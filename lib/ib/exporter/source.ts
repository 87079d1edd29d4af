/**
 * Where the exporter gets fabric snapshots from. Any `LiveAuditSource`
 * (lib/ib/audit) is an `ExporterSource`: the lead's native discovery +
 * counter sweep plugs in unchanged. Two sources live here:
 *
 * - `SnapshotFileSource`: a saved snapshot (JSON or ibnetdiscover text),
 *   re-read on every collection;
 * - `DiagToolsSource`: the INTERIM live collector, which runs the
 *   infiniband-diags tools (ibnetdiscover, iblinkinfo, perfquery, sminfo) as
 *   child processes, until the native engine's live source exists.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { HpcnetError } from '../../errors.js';
import type { LiveAuditSource } from '../audit/index.js';
import type { AuditReport } from '../audit/types.js';
import type { ExporterAuditOptions } from './render.js';
import {
  applyLinkTable,
  countersFromPerfquery,
  parseFabricText,
  parseLinkTable,
  readIbnetdiscover,
  smInfoFromSminfo,
  type CounterSample,
  type Fabric,
  type FabricNode,
  type FabricSnapshot,
  type NodeNameMap,
  type PortCounters,
} from '../topology/index.js';

/** A collection failed (source unreachable, tool failed, bad file, timeout, aborted). */
export class CollectionError extends HpcnetError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_IB_COLLECTION', message, options);
  }
}

export interface SnapshotRequest {
  /** Counter samples to take (the exporter asks for 1). */
  samples: number;
  /** Time between samples. */
  intervalMs: number;
  /** Aborted when the collection times out or the exporter closes; sources should stop their fabric traffic then. */
  signal?: AbortSignal;
}

/**
 * A source of fabric snapshots. Structurally compatible with
 * `LiveAuditSource`: a live audit source can be passed as it is (it then
 * just ignores `signal`). `close` is called once when the exporter closes.
 */
export interface ExporterSource {
  snapshot(req: SnapshotRequest): Promise<FabricSnapshot>;
  close?(): Promise<void> | void;
  /** Short name for logs and the `hpcnet_ib_exporter_info` metric. */
  readonly kind?: string;
  /**
   * Optional, for a source that collects in its own thread (the live
   * source's worker): collect, audit and render there, so that only the
   * rendered text crosses to the exporter's thread (a snapshot of 8,192
   * hosts takes about a second to copy between threads, which scrapes would
   * wait for). The source keeps the previous counter sample for counter-rate.
   */
  collectRendered?(req: SnapshotRequest, audit: ExporterAuditOptions | false): Promise<RenderedCollection>;
  /** With collectRendered: the last successful collection's snapshot and report (copied from the source's thread on demand). */
  lastRendered?(): Promise<{ snapshot: FabricSnapshot; report?: AuditReport } | undefined>;
}

/** A collection rendered where it was collected: the text, its gzip and a summary. */
export interface RenderedCollection {
  body: Uint8Array;
  gzip: Uint8Array;
  nodes: number;
  /** Linked or not, every port but switch port 0. */
  ports: number;
  /** What the collection could not read (fabric errors). */
  readErrors: number;
  findings?: number;
}

/** Adapt a LiveAuditSource (lib/ib/audit) to an ExporterSource (it ignores the abort signal; the exporter then abandons it at the timeout). */
export function fromLiveSource(live: LiveAuditSource, kind = 'live'): ExporterSource {
  return { kind, snapshot: (req) => live.snapshot({ samples: req.samples, intervalMs: req.intervalMs }) };
}

function abortError(signal: AbortSignal | undefined, what: string): CollectionError {
  const r: unknown = signal?.reason;
  return new CollectionError(`${what}: ${r instanceof Error ? r.message : 'aborted'}`, { cause: r });
}

/** Sleep that ends early (rejecting) when the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, 'wait'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal, 'wait'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// ---------------------------------------------------------------------------
// Saved snapshot file

export interface SnapshotFileSourceOptions {
  nodeNameMap?: NodeNameMap;
}

/** A saved snapshot (hpcnet JSON or ibnetdiscover text), read again on every collection. */
export class SnapshotFileSource implements ExporterSource {
  readonly kind = 'snapshot';
  constructor(
    readonly path: string,
    private readonly opts: SnapshotFileSourceOptions = {},
  ) {}

  async snapshot(req: SnapshotRequest): Promise<FabricSnapshot> {
    let text: string;
    try {
      text = await readFile(this.path, { encoding: 'utf8', ...(req.signal ? { signal: req.signal } : {}) });
    } catch (e) {
      throw new CollectionError(`cannot read snapshot ${this.path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      return parseFabricText(text, this.path, this.opts.nodeNameMap);
    } catch (e) {
      throw new CollectionError(`snapshot ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }
}

// ---------------------------------------------------------------------------
// Interim live collector: infiniband-diags tools

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface DiagToolsSourceOptions {
  /** Extra environment for the tools (under ibsim: IBSIM_SOCKNAME, LD_PRELOAD, SIM_HOST). */
  env?: Record<string, string>;
  /** Working directory of the tools (umad2sim needs it writable). Default: the process's. */
  cwd?: string;
  /** Arguments given to every tool first, e.g. ['-C', 'mlx5_0', '-P', '1']. */
  toolArgs?: string[];
  /** Nodes whose counters are read at the same time (perfquery processes in flight: 2 per node). Default 2. */
  concurrency?: number;
  /** Kill a tool after this long (default 60 s). */
  toolTimeoutMs?: number;
  nodeNameMap?: NodeNameMap;
  /** Read SMInfo with sminfo (default true). */
  sminfo?: boolean;
}

/** Run a program to completion, killing it on abort or timeout. */
export function runTool(cmd: string, args: string[], o: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; signal?: AbortSignal }): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(abortError(o.signal, cmd));
    const child = spawn(cmd, args, {
      env: { ...process.env, ...o.env },
      ...(o.cwd ? { cwd: o.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let why: string | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const kill = (reason: string) => {
      why ??= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`timed out after ${o.timeoutMs ?? 60_000} ms`), o.timeoutMs ?? 60_000);
    const onAbort = () => kill('aborted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e) => {
      done();
      reject(new CollectionError(`cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      done();
      if (why === 'aborted') reject(abortError(o.signal, `${cmd} ${args.join(' ')}`));
      else if (why) reject(new CollectionError(`${cmd} ${args.join(' ')}: ${why}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** Run tasks with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Split perfquery output with several ports (`perfquery -l LID p,q,...`) into per-port blocks. */
export function splitPerfqueryBlocks(text: string): string[] {
  const blocks: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# Port ')) blocks.push(line + '\n');
    else if (blocks.length > 0) blocks[blocks.length - 1] += line + '\n';
  }
  return blocks;
}

/** The LID a node's PMA answers on and the ports whose counters are read. */
export function counterTargets(n: FabricNode): { lid: number; ports: number[] } | undefined {
  if (n.type === 'Switch') {
    const lid = n.ports.find((p) => p.portNum === 0)?.lid;
    if (!lid) return undefined;
    // Every external port, linked or not: a dead link's LinkDownedCounter matters.
    return { lid, ports: Array.from({ length: n.numPorts }, (_, i) => i + 1) };
  }
  const ports = n.ports.filter((p) => p.portNum > 0 && p.lid && p.remote);
  if (ports.length === 0) return undefined;
  return { lid: ports[0]!.lid!, ports: ports.map((p) => p.portNum) };
}

/**
 * INTERIM live collector built from the infiniband-diags tools:
 * `ibnetdiscover` (topology), `iblinkinfo` (port states, active width/speed,
 * down ports), `perfquery -l LID ports` (PortCounters) and
 * `perfquery -l -x LID ports` (PortCountersExtended, 64-bit), one pair of
 * processes per node with at most `concurrency` nodes in flight, and
 * `sminfo`. Each port gets two `PortCounters` entries in the sample when
 * both reads work: the extended one first (64-bit data counters), then the
 * PortCounters one (error counters; widths from lib/ib/audit/counters.ts).
 * A node whose counters cannot be read is recorded in `fabric.errors`
 * (kind `counters`) and the collection goes on.
 */
export class DiagToolsSource implements ExporterSource {
  readonly kind = 'tools';
  /** Node GUIDs whose PMA refused PortCountersExtended (not asked again). */
  private readonly noExtended = new Set<bigint>();

  constructor(private readonly opts: DiagToolsSourceOptions = {}) {}

  private async tool(cmd: string, args: string[], signal?: AbortSignal): Promise<ToolResult> {
    return runTool(cmd, [...(this.opts.toolArgs ?? []), ...args], {
      ...(this.opts.env ? { env: this.opts.env } : {}),
      ...(this.opts.cwd ? { cwd: this.opts.cwd } : {}),
      timeoutMs: this.opts.toolTimeoutMs ?? 60_000,
      ...(signal ? { signal } : {}),
    });
  }

  private async mustRun(cmd: string, args: string[], signal?: AbortSignal): Promise<string> {
    const r = await this.tool(cmd, args, signal);
    if (r.code !== 0) throw new CollectionError(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${lastLine(r.stderr)}`);
    return r.stdout;
  }

  /** Topology and port states. */
  async discover(signal?: AbortSignal): Promise<Fabric> {
    const topo = await this.mustRun('ibnetdiscover', [], signal);
    let fabric: Fabric;
    try {
      fabric = readIbnetdiscover(topo, { file: 'ibnetdiscover', ...(this.opts.nodeNameMap ? { nodeNameMap: this.opts.nodeNameMap } : {}) });
    } catch (e) {
      throw new CollectionError(`ibnetdiscover output: ${(e as Error).message}`, { cause: e });
    }
    fabric.meta.source = 'infiniband-diags (interim collector)';
    fabric.meta.createdAt = new Date().toISOString();
    const links = await this.mustRun('iblinkinfo', [], signal);
    for (const r of applyLinkTable(fabric, parseLinkTable(links))) {
      fabric.errors.push({ kind: 'inconsistent', message: `iblinkinfo row for "${r.nodeName}" port ${r.port} matches no node ibnetdiscover found` });
    }
    return fabric;
  }

  /** One counter sample of every node's ports. */
  async sample(fabric: Fabric, signal?: AbortSignal): Promise<CounterSample> {
    const takenAt = new Date().toISOString();
    const nodes = fabric.nodes.map((n) => ({ n, t: counterTargets(n) })).filter((x) => x.t !== undefined);
    const per = await mapLimit(nodes, this.opts.concurrency ?? 2, async ({ n, t }) => {
      const list = t!.ports.join(',');
      const [base, ext] = await Promise.all([
        this.tool('perfquery', ['-l', String(t!.lid), list], signal),
        this.noExtended.has(n.guid) ? Promise.resolve(undefined) : this.tool('perfquery', ['-l', '-x', String(t!.lid), list], signal),
      ]);
      const out: PortCounters[] = [];
      const read = (r: ToolResult, extended: boolean): Map<number, PortCounters> => {
        const m = new Map<number, PortCounters>();
        for (const block of splitPerfqueryBlocks(r.stdout)) {
          const c = countersFromPerfquery(block);
          if (c.extended !== extended || !t!.ports.includes(c.port)) continue;
          m.set(c.port, { node: n.id, port: c.port, counters: c.counters, ...(extended ? { extended: true } : {}) });
        }
        return m;
      };
      const baseMap = base.code === 0 ? read(base, false) : new Map<number, PortCounters>();
      let extMap = new Map<number, PortCounters>();
      if (ext && ext.code === 0) extMap = read(ext, true);
      else if (ext && /extended counter support|perfextquery|classportinfo/i.test(ext.stderr) && base.code === 0) this.noExtended.add(n.guid);
      if (base.code !== 0 && (!ext || ext.code !== 0)) {
        fabric.errors.push({ kind: 'counters', node: n.id, message: `perfquery ${t!.lid} ${list} on "${n.description}" failed (exit ${base.code}): ${lastLine(base.stderr)}` });
      }
      for (const p of t!.ports) {
        const e = extMap.get(p);
        const b = baseMap.get(p);
        if (e) out.push(e);
        if (b) out.push(b);
        if (!e && !b && (base.code === 0 || ext?.code === 0)) {
          fabric.errors.push({ kind: 'counters', node: n.id, port: p, message: `perfquery printed no counters for "${n.description}" port ${p}` });
        }
      }
      return out;
    });
    return { takenAt, ports: per.flat() };
  }

  async snapshot(req: SnapshotRequest): Promise<FabricSnapshot> {
    const fabric = await this.discover(req.signal);
    const counters: CounterSample[] = [];
    for (let i = 0; i < req.samples; i++) {
      if (i > 0) await abortableSleep(req.intervalMs, req.signal);
      counters.push(await this.sample(fabric, req.signal));
    }
    const snap: FabricSnapshot = { fabric, counters };
    if (this.opts.sminfo !== false) {
      const r = await this.tool('sminfo', [], req.signal);
      if (r.code === 0) {
        try {
          snap.subnetManagers = [smInfoFromSminfo(r.stdout)];
        } catch (e) {
          fabric.errors.push({ kind: 'sminfo', message: (e as Error).message });
        }
      } else {
        fabric.errors.push({ kind: 'sminfo', message: `sminfo failed (exit ${r.code}): ${lastLine(r.stderr)}` });
      }
    }
    return snap;
  }
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n').filter((l) => !/sim_connect|attached as client/.test(l));
  return lines.at(-1) ?? '(no message)';
}
