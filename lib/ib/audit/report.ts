/**
 * Audit reports: text (grouped by severity), JSON (schema "hpcnet.audit"
 * version 1, documented in lib/ib/topology/README.md), JUnit XML (one test
 * case per rule); the HTML report is in html.ts.
 */
import type { Fabric } from '../topology/model.js';
import { reportToHtml } from './html.js';
import { RULES } from './rules.js';
import { newFindings } from './baseline.js';
import type { FailOn } from './engine.js';
import { FINDING_STATES, SEVERITIES, type AuditReport, type Finding, type FindingState, type RuleId, type Severity } from './types.js';

export type ReportFormat = 'text' | 'json' | 'junit' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'junit', 'html'];

function where(f: Finding): string {
  const node = f.node ? `"${f.node.description || f.node.guid}" (${f.node.guid})` : 'fabric';
  return f.port !== null ? `${node} port ${f.port}` : node;
}

const HEADINGS: Record<Severity, string> = { error: 'ERRORS', warning: 'WARNINGS', info: 'INFO' };

function textLine(x: Finding, withSeverity = false): string {
  return `  ${withSeverity ? `${x.severity.padEnd(8)}` : ''}[${x.rule}] ${where(x)}: ${x.message}`;
}

const STATE_HEADINGS: Record<FindingState, string> = { new: 'NEW', persisting: 'PERSISTING', resolved: 'RESOLVED' };

export function reportToText(r: AuditReport): string {
  const f = r.fabric;
  const out: string[] = [
    `hpcnet fabric audit of ${f.name}: ${f.nodes} nodes (${f.switches} switches, ${f.cas} CAs${f.routers ? `, ${f.routers} routers` : ''}), ${f.links} links`,
    `  source: ${f.source}; counter samples: ${f.counterSamples}; subnet managers: ${f.subnetManagers ?? 'not collected'}; reference topology: ${f.reference ? 'yes' : 'no'}`,
  ];
  if (r.baseline && r.summary.byState) {
    const b = r.summary.byState;
    out.push(`  baseline: ${r.baseline.name} of ${r.baseline.generatedAt}${r.baseline.file ? ` (${r.baseline.file})` : ''}: ${b.new} new, ${b.persisting} persisting, ${b.resolved} resolved`);
    for (const st of FINDING_STATES) {
      const list = st === 'resolved' ? (r.resolved ?? []) : r.findings.filter((x) => x.state === st);
      if (list.length === 0) continue;
      out.push('', `${STATE_HEADINGS[st]} (${list.length})`);
      for (const x of list) out.push(textLine(x, true));
    }
  } else {
    for (const sev of SEVERITIES) {
      const list = r.findings.filter((x) => x.severity === sev);
      if (list.length === 0) continue;
      out.push('', `${HEADINGS[sev]} (${list.length})`);
      for (const x of list) out.push(textLine(x));
    }
  }
  if (r.errors.length) {
    out.push('', `DISCOVERY ERRORS (${r.errors.length})`);
    for (const e of r.errors) out.push(`  ${e.kind}: ${e.message}`);
  }
  if (r.notRun.length) out.push('', `Not checked: ${r.notRun.map((n) => `${n.rule} (${n.reason})`).join('; ')}`);
  if (r.skipped.length) out.push(`Skipped by configuration: ${r.skipped.join(', ')}`);
  const states = r.summary.byState ? `; ${r.summary.byState.new} new, ${r.summary.byState.persisting} persisting, ${r.summary.byState.resolved} resolved` : '';
  out.push('', `Result: ${r.summary.errors} error(s), ${r.summary.warnings} warning(s), ${r.summary.info} info${states}`);
  return out.join('\n') + '\n';
}

export function reportToJson(r: AuditReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

function xml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ');
}

/**
 * JUnit XML: one test case per rule; error findings (and warnings with
 * strict) fail it, only the new ones with failOn 'new'; rules not run are
 * skipped. Against a baseline each line says the finding's state, and
 * resolved findings are listed in their rule's output.
 */
export function reportToJunit(r: AuditReport, strict = false, failOn: FailOn = 'any'): string {
  const counted = new Set(failOn === 'new' ? newFindings(r) : r.findings);
  const line = (f: Finding) => `${f.severity}${f.state ? ` (${f.state})` : ''}: ${where(f)}: ${f.message}`;
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  for (const rule of RULES) {
    const name = xml(rule.id);
    const cls = 'hpcnet.audit';
    const nr = r.notRun.find((n) => n.rule === rule.id);
    if (r.skipped.includes(rule.id) || nr) {
      skipped++;
      cases.push(`    <testcase classname="${cls}" name="${name}" time="0">\n      <skipped message="${xml(nr ? nr.reason : 'skipped by configuration')}"/>\n    </testcase>`);
      continue;
    }
    const fs = r.findings.filter((f) => f.rule === rule.id);
    const failing = fs.filter((f) => counted.has(f) && (f.severity === 'error' || (strict && f.severity === 'warning')));
    const body: string[] = [];
    if (failing.length) {
      failures++;
      const text = failing.map(line).join('\n');
      body.push(`      <failure message="${xml(`${failing.length} finding(s): ${rule.summary}`)}" type="${failing.some((f) => f.severity === 'error') ? 'error' : 'warning'}">${xml(text)}</failure>`);
    }
    const rest = [...fs.filter((f) => !failing.includes(f)), ...(r.resolved ?? []).filter((f) => f.rule === rule.id)];
    if (rest.length) body.push(`      <system-out>${xml(rest.map(line).join('\n'))}</system-out>`);
    cases.push(`    <testcase classname="${cls}" name="${name}" time="0"${body.length ? `>\n${body.join('\n')}\n    </testcase>` : '/>'}`);
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="hpcnet audit" tests="${RULES.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    `  <testsuite name="${xml(`fabric ${r.fabric.name}`)}" tests="${RULES.length}" failures="${failures}" errors="0" skipped="${skipped}" timestamp="${xml(r.generatedAt)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export function renderReport(r: AuditReport, format: ReportFormat, fabric: Fabric, strict = false, failOn: FailOn = 'any'): string {
  switch (format) {
    case 'text':
      return reportToText(r);
    case 'json':
      return reportToJson(r);
    case 'junit':
      return reportToJunit(r, strict, failOn);
    case 'html':
      return reportToHtml(r, fabric);
  }
}

export type { RuleId };
