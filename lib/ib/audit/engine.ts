/**
 * The audit engine: runs every rule (minus those skipped) over a snapshot
 * (fabric + counters + SM records, from a live source or a saved file) and
 * an optional reference topology, and returns the report.
 */
import { diffTopology } from '../topology/diff.js';
import { formatGuid } from '../../util/format.js';
import { FabricIndex, displayName, type Fabric } from '../topology/model.js';
import type { FabricSnapshot } from '../topology/snapshot.js';
import { newFindings } from './baseline.js';
import { applyNodeNameMap } from '../topology/nodenamemap.js';
import { defaultAuditConfig } from './config.js';
import { RULES, type RuleContext } from './rules.js';
import { SEVERITIES, type AuditConfig, type AuditInput, type AuditReport, type Finding, type RuleId } from './types.js';

export function runAudit(input: AuditInput, config: AuditConfig = defaultAuditConfig(), now = new Date()): AuditReport {
  const fabric = input.snapshot.fabric;
  if (input.nodeNameMap) {
    applyNodeNameMap(fabric, input.nodeNameMap);
    if (input.reference) applyNodeNameMap(input.reference, input.nodeNameMap);
  }
  const ctx: RuleContext = { fabric, index: new FabricIndex(fabric), snapshot: input.snapshot, config };
  if (input.reference) {
    ctx.reference = input.reference;
    ctx.referenceIndex = new FabricIndex(input.reference);
    ctx.diff = diffTopology(input.reference, fabric);
  }
  const findings: Finding[] = [];
  const notRun: AuditReport['notRun'] = [];
  const skipped: RuleId[] = [];
  for (const rule of RULES) {
    if (rule.applies && !rule.applies(ctx)) continue;
    if (config.skip.has(rule.id)) {
      skipped.push(rule.id);
      continue;
    }
    const res = rule.run(ctx);
    if (!Array.isArray(res)) {
      notRun.push({ rule: rule.id, reason: res.notRun });
      continue;
    }
    for (const f of res) {
      const severity = config.severities[rule.id] ?? f.severity ?? rule.severity;
      const out: Finding = { rule: f.rule, severity, node: f.node, port: f.port, message: f.message };
      if (f.remote) out.remote = f.remote;
      findings.push(out);
    }
  }
  const sevRank = (s: Finding['severity']) => SEVERITIES.indexOf(s);
  const ruleRank = (r: RuleId) => RULES.findIndex((x) => x.id === r);
  findings.sort(
    (a, b) =>
      sevRank(a.severity) - sevRank(b.severity) ||
      ruleRank(a.rule) - ruleRank(b.rule) ||
      (a.node?.guid ?? '').localeCompare(b.node?.guid ?? '') ||
      (a.port ?? -1) - (b.port ?? -1),
  );
  const byRule: Partial<Record<RuleId, number>> = {};
  for (const f of findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
  return {
    schema: 'hpcnet.audit',
    version: 1,
    generatedAt: now.toISOString(),
    fabric: summarize(fabric, input),
    summary: {
      errors: findings.filter((f) => f.severity === 'error').length,
      warnings: findings.filter((f) => f.severity === 'warning').length,
      info: findings.filter((f) => f.severity === 'info').length,
      byRule,
    },
    findings,
    notRun,
    skipped,
    errors: fabric.errors.map((e) => ({ kind: e.kind, message: e.message })),
  };
}

/**
 * A fabric's name from what it says about itself: the subnet's GID prefix
 * and the master SM's node description (`subnet 0xfe80000000000000, master
 * SM "sm01 HCA-1"`); undefined when the snapshot has neither.
 */
export function fabricName(snapshot: FabricSnapshot): string | undefined {
  const f = snapshot.fabric;
  const parts: string[] = [];
  if (f.meta.subnetPrefix !== undefined) parts.push(`subnet ${formatGuid(f.meta.subnetPrefix)}`);
  const master = snapshot.subnetManagers?.find((s) => s.state === 'master');
  if (master) {
    // SMInfo's GUID is the SM's port GUID; its LID finds the node too.
    const node =
      f.nodes.find((n) => n.ports.some((p) => p.guid === master.guid) || n.portGuid === master.guid) ??
      (master.lid ? f.nodes.find((n) => n.ports.some((p) => p.lid === master.lid && (n.type !== 'Switch' || p.portNum === 0))) : undefined) ??
      f.nodes.find((n) => n.guid === master.guid);
    parts.push(`master SM ${node && displayName(node) ? `"${displayName(node)}"` : formatGuid(master.guid)}`);
  }
  return parts.length ? parts.join(', ') : undefined;
}

function summarize(f: Fabric, input: AuditInput): AuditReport['fabric'] {
  return {
    name: input.name ?? fabricName(input.snapshot) ?? f.meta.file ?? f.meta.source,
    source: f.meta.file ?? f.meta.source,
    nodes: f.nodes.length,
    switches: f.nodes.filter((n) => n.type === 'Switch').length,
    cas: f.nodes.filter((n) => n.type === 'CA').length,
    routers: f.nodes.filter((n) => n.type === 'Router').length,
    links: f.links.length,
    counterSamples: input.snapshot.counters.length,
    subnetManagers: input.snapshot.subnetManagers ? input.snapshot.subnetManagers.length : null,
    reference: input.reference !== undefined,
  };
}

/** Which findings fail an audit: any, or only those new against the baseline (all of them without one). */
export type FailOn = 'any' | 'new';
export const FAIL_ON: readonly FailOn[] = ['any', 'new'];

/** Exit status for a report: 0 clean, 1 errors (or warnings when strict); with failOn 'new', only new findings count. */
export function auditExitCode(r: AuditReport, strict = false, failOn: FailOn = 'any'): 0 | 1 {
  const counted = failOn === 'new' ? newFindings(r) : r.findings;
  return counted.some((f) => f.severity === 'error' || (strict && f.severity === 'warning')) ? 1 : 0;
}
