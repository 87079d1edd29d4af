/**
 * One collection's fabric metrics as Prometheus text: audit the snapshot
 * (with the previous collection's counter sample, so counter-rate sees one
 * interval's growth), render the text and gzip it once (Prometheus scrapes
 * with Accept-Encoding: gzip; the text of a 2,048-host fabric is about
 * 24 MB, 1 MB compressed). CPU-bound, so it runs off the exporter's main
 * thread: in the live source's worker (live-worker.ts), where the snapshot
 * was collected, or in the render worker (render-worker.ts) for other sources.
 */
import { defaultAuditConfig } from '../audit/config.js';
import { compareWithBaseline } from '../audit/baseline.js';
import { runAudit } from '../audit/engine.js';
import type { AuditConfig, AuditReport } from '../audit/types.js';
import type { CounterSample, Fabric, FabricSnapshot, NodeNameMap } from '../topology/index.js';
import { gzipSync, constants as zc } from 'node:zlib';
import { renderFabricMetrics } from './metrics.js';

export interface ExporterAuditOptions {
  config?: AuditConfig;
  reference?: Fabric;
  nodeNameMap?: NodeNameMap;
  /** A previous audit report: findings are counted by state against it (hpcnet_ib_audit_findings_by_state). */
  baseline?: AuditReport;
}

export interface RenderRequest {
  snapshot: FabricSnapshot;
  /** The previous collection's last counter sample. */
  prevSample?: CounterSample;
  /** false: no audit metrics. */
  audit: ExporterAuditOptions | false;
}

export interface RenderResult {
  /** UTF-8 Prometheus text of the fabric metrics. */
  body: Uint8Array;
  /** The same, gzip-compressed (one gzip member). */
  gzip: Uint8Array;
  report?: AuditReport;
}

export async function renderCollection(req: RenderRequest): Promise<RenderResult> {
  const snap = req.snapshot;
  let report: AuditReport | undefined;
  if (req.audit !== false) {
    const counters = req.prevSample && snap.counters.length === 1 ? [req.prevSample, ...snap.counters] : snap.counters;
    report = runAudit(
      {
        snapshot: { ...snap, counters },
        ...(req.audit.reference ? { reference: req.audit.reference } : {}),
        ...(req.audit.nodeNameMap ? { nodeNameMap: req.audit.nodeNameMap } : {}),
      },
      req.audit.config ?? defaultAuditConfig(),
    );
    if (req.audit.baseline) report = compareWithBaseline(report, req.audit.baseline);
  }
  const body = renderFabricMetrics({ snapshot: snap, ...(report ? { report } : {}) });
  // Level 1: a fifth of the time of the default level for a slightly larger body.
  const gzip = gzipSync(body, { level: zc.Z_BEST_SPEED });
  return { body, gzip, ...(report ? { report } : {}) };
}

/**
 * The memory of a result's text and gzip, to move (not copy) to another
 * thread: the receiver gets them without a copy on its side (98 MB of text
 * for an 8,192-host fabric). A buffer of at most Buffer.poolSize bytes may
 * be a view of Node's shared allocation pool, which must never move: those
 * are copied.
 */
export function transferables(r: { body: Uint8Array; gzip: Uint8Array }): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const b of [r.body, r.gzip]) {
    const ab = b.buffer as ArrayBuffer;
    if (ab.byteLength > Buffer.poolSize && !out.includes(ab)) out.push(ab);
  }
  return out;
}

/** What the exporter logs and reports of a collection. */
export function collectionSummary(snap: FabricSnapshot, report: AuditReport | undefined): { nodes: number; ports: number; readErrors: number; findings?: number } {
  let ports = 0;
  for (const n of snap.fabric.nodes) for (const p of n.ports) if (p.portNum > 0) ports++;
  return { nodes: snap.fabric.nodes.length, ports, readErrors: snap.fabric.errors.length, ...(report ? { findings: report.findings.length } : {}) };
}
