/**
 * One collection's fabric metrics as Prometheus text: audit the snapshot
 * (with the previous collection's counter sample, so counter-rate sees one
 * interval's growth), build the registry, render it. CPU-bound (about 2 s
 * for 8,000 ports), so the exporter runs it in a worker thread
 * (render-worker.ts) and its HTTP server stays responsive meanwhile.
 */
import { defaultAuditConfig } from '../audit/config.js';
import { compareWithBaseline } from '../audit/baseline.js';
import { runAudit } from '../audit/engine.js';
import type { AuditConfig, AuditReport } from '../audit/types.js';
import type { CounterSample, Fabric, FabricSnapshot, NodeNameMap } from '../topology/index.js';
import { buildFabricRegistry } from './metrics.js';

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
  const text = await buildFabricRegistry({ snapshot: snap, ...(report ? { report } : {}) }).metrics();
  return { body: new TextEncoder().encode(text), ...(report ? { report } : {}) };
}
