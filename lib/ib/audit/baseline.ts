/**
 * Night-over-night change: compare an audit report with a previous one (the
 * baseline) and mark each finding `new` or `persisting`; the baseline's
 * findings that are gone come back as `resolved`.
 *
 * A finding's identity is its rule, node GUID and port, and for link
 * findings (those with a `remote` end) the peer's GUID and port too; the two
 * ends of a link are compared as an unordered pair, since which end a
 * switch-to-switch finding is reported on depends on discovery order.
 * Fabric-wide findings (no node) add their message. Messages otherwise do not
 * count (they carry counter values that change every night), except to pair
 * several findings of one identity (e.g. two counters over threshold on one
 * port): same message first, then the same first word (the counter name),
 * then in order.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../errors.js';
import { SEVERITIES, type AuditReport, type Finding, type FindingState, type RuleId } from './types.js';

/** The identity of a finding across two audits (see the module comment). */
export function findingKey(f: Finding): string {
  const end = (guid: string | undefined, port: number | null | undefined) => `${guid ?? '-'}:${port ?? '-'}`;
  const here = end(f.node?.guid, f.port);
  if (f.remote) {
    const [a, b] = [here, end(f.remote.guid, f.remote.port)].sort();
    return `${f.rule}|${a}|${b}`;
  }
  return f.node ? `${f.rule}|${here}` : `${f.rule}|fabric|${f.message}`;
}

function byKey(list: readonly Finding[]): Map<string, Finding[]> {
  const m = new Map<string, Finding[]>();
  for (const f of list) {
    const k = findingKey(f);
    const l = m.get(k);
    if (l) l.push(f);
    else m.set(k, [f]);
  }
  return m;
}

const firstWord = (m: string) => m.split(' ', 1)[0] ?? '';

/**
 * Mark `report`'s findings against `baseline` (returns a new report; neither
 * input is changed). `file` is recorded in `report.baseline` when given.
 */
export function compareWithBaseline(report: AuditReport, baseline: AuditReport, file?: string): AuditReport {
  const before = byKey(baseline.findings);
  const state = new Map<Finding, FindingState>();
  const groups = byKey(report.findings);
  for (const [k, cur] of groups) {
    const prev = [...(before.get(k) ?? [])];
    const unpaired = [...cur];
    for (const match of [(a: Finding, b: Finding) => a.message === b.message, (a: Finding, b: Finding) => firstWord(a.message) === firstWord(b.message), () => true]) {
      for (const f of [...unpaired]) {
        const i = prev.findIndex((p) => match(f, p));
        if (i < 0) continue;
        prev.splice(i, 1);
        unpaired.splice(unpaired.indexOf(f), 1);
        state.set(f, 'persisting');
      }
    }
    for (const f of unpaired) state.set(f, 'new');
    before.set(k, prev);
  }
  const findings = report.findings.map((f) => ({ ...f, state: state.get(f) ?? 'new' }));
  const resolved: Finding[] = [];
  for (const l of before.values()) for (const f of l) resolved.push({ ...stripState(f), state: 'resolved' });
  const sevRank = (s: Finding['severity']) => SEVERITIES.indexOf(s);
  resolved.sort((a, b) => sevRank(a.severity) - sevRank(b.severity) || a.rule.localeCompare(b.rule) || findingKey(a).localeCompare(findingKey(b)));
  const byState: Record<FindingState, number> = {
    new: findings.filter((f) => f.state === 'new').length,
    persisting: findings.filter((f) => f.state === 'persisting').length,
    resolved: resolved.length,
  };
  return {
    ...report,
    summary: { ...report.summary, byState },
    findings,
    baseline: { name: baseline.fabric.name ?? baseline.fabric.source, generatedAt: baseline.generatedAt, findings: baseline.findings.length, ...(file ? { file } : {}) },
    resolved,
  };
}

function stripState(f: Finding): Finding {
  const { state: _s, ...rest } = f;
  return rest;
}

/** The findings that are new against the baseline (all findings when the report has no baseline). */
export function newFindings(r: AuditReport): Finding[] {
  return r.baseline ? r.findings.filter((f) => f.state === 'new') : r.findings;
}

/**
 * Read a JSON audit report (`hpcnet ib audit --format json`) to compare with.
 * Errors name the file and what is wrong with it.
 */
export function loadAuditReport(path: string): AuditReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read baseline ${path}: ${(e as Error).message}`);
  }
  return parseAuditReport(text, path);
}

export function parseAuditReport(text: string, file = 'baseline'): AuditReport {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const fail = (path: string, what: string): never => {
    throw new InvalidArgumentError(`${file}: ${path}: ${what} (expected a JSON report of hpcnet ib audit --format json)`);
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('$', 'not an object');
  const r = doc as Record<string, unknown>;
  if (r['schema'] !== 'hpcnet.audit') fail('$.schema', `expected "hpcnet.audit", got ${JSON.stringify(r['schema'])}`);
  if (r['version'] !== 1) fail('$.version', `unsupported version ${JSON.stringify(r['version'])}`);
  if (typeof r['fabric'] !== 'object' || r['fabric'] === null) fail('$.fabric', 'missing');
  if (!Array.isArray(r['findings'])) fail('$.findings', 'expected an array');
  (r['findings'] as unknown[]).forEach((f, i) => {
    const p = `$.findings[${i}]`;
    if (typeof f !== 'object' || f === null) fail(p, 'not an object');
    const x = f as Record<string, unknown>;
    if (typeof x['rule'] !== 'string') fail(`${p}.rule`, 'expected a rule id');
    if (!SEVERITIES.includes(x['severity'] as Finding['severity'])) fail(`${p}.severity`, `expected one of ${SEVERITIES.join(', ')}`);
    if (typeof x['message'] !== 'string') fail(`${p}.message`, 'expected a string');
    if (x['node'] !== null && (typeof x['node'] !== 'object' || typeof (x['node'] as Record<string, unknown>)['guid'] !== 'string')) fail(`${p}.node`, 'expected null or { guid, description }');
    if (x['port'] !== null && !Number.isInteger(x['port'])) fail(`${p}.port`, 'expected null or a port number');
    const rem = x['remote'] as Record<string, unknown> | undefined;
    if (rem !== undefined && (typeof rem !== 'object' || rem === null || typeof rem['guid'] !== 'string' || !Number.isInteger(rem['port']))) fail(`${p}.remote`, 'expected { guid, description, port }');
  });
  const rep = doc as AuditReport;
  // Reports written before reports had names: name them by their source.
  if (typeof rep.fabric.name !== 'string') rep.fabric.name = String(rep.fabric.source ?? 'unknown');
  rep.findings = rep.findings.map((f) => stripState(f) as Finding & { rule: RuleId });
  return rep;
}
