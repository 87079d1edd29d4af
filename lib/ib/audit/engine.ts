/**
 * The audit engine: runs every rule (minus those skipped) over a snapshot
 * (fabric + counters + SM records, from a live source or a saved file) and
 * an optional reference topology, and returns the report.
 */
import { diffTopology } from '../topology/diff.js';
import { FabricIndex, type Fabric } from '../topology/model.js';
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

function summarize(f: Fabric, input: AuditInput): AuditReport['fabric'] {
  return {
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

/** Exit status for a report: 0 clean, 1 errors (or warnings when strict). */
export function auditExitCode(r: AuditReport, strict = false): 0 | 1 {
  return r.summary.errors > 0 || (strict && r.summary.warnings > 0) ? 1 : 0;
}
