/**
 * Audit reports: text (grouped by severity), JSON (schema "hpcnet.audit"
 * version 1, documented in lib/ib/topology/README.md), JUnit XML (one test
 * case per rule), and a single self-contained HTML file (summary, findings
 * table, SVG topology laid out here with problem links highlighted).
 */
import { formatGuid } from '../../util/format.js';
import { linkKey } from '../topology/links.js';
import { displayName, type Fabric, type FabricNode } from '../topology/model.js';
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

// ---------------------------------------------------------------------------
// HTML + SVG

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Placed {
  n: FabricNode;
  x: number;
  y: number;
  level: number;
}

/**
 * Layered layout: CAs and routers on the bottom row, switches above them by
 * hop distance from the end nodes (leaves, then spines, ...); each row in
 * discovery order, neighbours kept close by ordering switches by the mean
 * position of the nodes below them.
 */
export function layoutFabric(fabric: Fabric): { placed: Map<string, Placed>; width: number; height: number } {
  const adj = new Map<string, string[]>();
  for (const l of fabric.links) {
    adj.set(l.a.node, [...(adj.get(l.a.node) ?? []), l.b.node]);
    adj.set(l.b.node, [...(adj.get(l.b.node) ?? []), l.a.node]);
  }
  const level = new Map<string, number>();
  const queue: string[] = [];
  for (const n of fabric.nodes) {
    if (n.type !== 'Switch') {
      level.set(n.id, 0);
      queue.push(n.id);
    }
  }
  if (queue.length === 0 && fabric.nodes[0]) {
    level.set(fabric.nodes[0].id, 1);
    queue.push(fabric.nodes[0].id);
  }
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    for (const nb of adj.get(id) ?? []) {
      if (!level.has(nb)) {
        level.set(nb, level.get(id)! + 1);
        queue.push(nb);
      }
    }
  }
  const maxLevel = Math.max(0, ...level.values());
  for (const n of fabric.nodes) if (!level.has(n.id)) level.set(n.id, n.type === 'Switch' ? maxLevel + 1 : 0);
  const rows = new Map<number, FabricNode[]>();
  for (const n of fabric.nodes) rows.set(level.get(n.id)!, [...(rows.get(level.get(n.id)!) ?? []), n]);
  const levels = [...rows.keys()].sort((a, b) => a - b);
  const widest = Math.max(1, ...[...rows.values()].map((r) => r.length));
  const spacing = widest > 150 ? 8 : widest > 60 ? 16 : widest > 20 ? 40 : 90;
  const width = Math.max(600, widest * spacing + 80);
  const rowGap = 140;
  const height = levels.length * rowGap + 60;
  const placed = new Map<string, Placed>();
  const top = levels.at(-1) ?? 0;
  for (const lv of levels) {
    let row = rows.get(lv)!;
    if (lv > 0) {
      const mean = (n: FabricNode) => {
        const xs = (adj.get(n.id) ?? []).map((x) => placed.get(x)?.x).filter((x): x is number => x !== undefined);
        return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.MAX_SAFE_INTEGER;
      };
      row = [...row].sort((a, b) => mean(a) - mean(b));
    }
    const step = width / (row.length + 1);
    row.forEach((n, i) => placed.set(n.id, { n, x: Math.round(step * (i + 1)), y: 40 + (top - lv) * rowGap, level: lv }));
  }
  return { placed, width, height };
}

/** Keys (linkKey) of links that have findings, and node ids with node-level findings. */
function problems(fabric: Fabric, findings: Finding[]): { links: Map<string, Severity>; nodes: Map<string, Severity> } {
  const byGuid = new Map<string, FabricNode>();
  for (const n of fabric.nodes) if (!byGuid.has(formatGuid(n.guid))) byGuid.set(formatGuid(n.guid), n);
  const links = new Map<string, Severity>();
  const nodes = new Map<string, Severity>();
  const worse = (a: Severity | undefined, b: Severity) => (a === undefined || SEVERITIES.indexOf(b) < SEVERITIES.indexOf(a) ? b : a);
  for (const f of findings) {
    if (!f.node) continue;
    const n = byGuid.get(f.node.guid);
    if (!n) continue;
    if (f.port === null || f.port === 0) {
      nodes.set(n.id, worse(nodes.get(n.id), f.severity));
      continue;
    }
    const p = n.ports.find((x) => x.portNum === f.port);
    if (p?.remote) {
      const k = linkKey({ node: n.id, port: f.port }, p.remote);
      links.set(k, worse(links.get(k), f.severity));
    } else nodes.set(n.id, worse(nodes.get(n.id), f.severity));
  }
  return { links, nodes };
}

const SEV_COLOR: Record<Severity, string> = { error: '#d0021b', warning: '#e69500', info: '#2f6fd6' };

export function topologySvg(fabric: Fabric, findings: Finding[]): string {
  const { placed, width, height } = layoutFabric(fabric);
  const prob = problems(fabric, findings);
  const small = fabric.nodes.length > 300;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" id="topology" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="fabric topology">`,
    `<rect width="100%" height="100%" fill="#fbfbfb"/>`,
  ];
  // normal links first, problem links on top
  const linkEls: Array<[boolean, string]> = [];
  for (const l of fabric.links) {
    const a = placed.get(l.a.node);
    const b = placed.get(l.b.node);
    if (!a || !b) continue;
    const sev = prob.links.get(linkKey(l.a, l.b));
    const title = `${displayName(a.n) || a.n.id} port ${l.a.port} <-> ${displayName(b.n) || b.n.id} port ${l.b.port}`;
    const attrs = sev
      ? `stroke="${SEV_COLOR[sev]}" stroke-width="${small ? 2 : 4}" class="link problem ${sev}" data-severity="${sev}"`
      : `stroke="#9aa5b1" stroke-width="1" class="link"`;
    linkEls.push([!!sev, `<line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" ${attrs} data-link="${esc(linkKey(l.a, l.b))}"><title>${esc(title)}</title></line>`]);
  }
  parts.push(...linkEls.filter(([p]) => !p).map(([, s]) => s), ...linkEls.filter(([p]) => p).map(([, s]) => s));
  for (const p of placed.values()) {
    const sev = prob.nodes.get(p.n.id);
    const stroke = sev ? SEV_COLOR[sev] : '#334e68';
    const sw = sev ? 3 : 1;
    const label = displayName(p.n) || p.n.id;
    const title = `${p.n.type} ${label} (${p.n.id})`;
    if (p.n.type === 'Switch') {
      const w = small ? 10 : 70;
      const h = small ? 8 : 24;
      parts.push(`<g class="node switch${sev ? ' problem' : ''}"><rect x="${p.x - w / 2}" y="${p.y - h / 2}" width="${w}" height="${h}" rx="3" fill="#d9e2ec" stroke="${stroke}" stroke-width="${sw}"/><title>${esc(title)}</title>${small ? '' : `<text x="${p.x}" y="${p.y + 4}" text-anchor="middle" font-size="10">${esc(label.slice(0, 14))}</text>`}</g>`);
    } else {
      const r = small ? 3 : 8;
      parts.push(`<g class="node ca${sev ? ' problem' : ''}"><circle cx="${p.x}" cy="${p.y}" r="${r}" fill="#f0f4f8" stroke="${stroke}" stroke-width="${sw}"/><title>${esc(title)}</title>${small ? '' : `<text x="${p.x}" y="${p.y + 22}" text-anchor="middle" font-size="9" transform="rotate(30 ${p.x} ${p.y + 22})">${esc(label.slice(0, 16))}</text>`}</g>`);
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}

export function reportToHtml(r: AuditReport, fabric: Fabric): string {
  const f = r.fabric;
  const rows = [...r.findings, ...(r.resolved ?? [])]
    .map(
      (x) =>
        `<tr class="${x.severity}"><td><span class="sev ${x.severity}">${x.severity}</span>${x.state ? ` <span class="badge ${x.state}">${x.state}</span>` : ''}</td><td><code>${esc(x.rule)}</code></td>` +
        `<td>${x.node ? `${esc(x.node.description)}<br><code>${esc(x.node.guid)}</code>` : 'fabric'}</td><td>${x.port ?? ''}</td>` +
        `<td>${esc(x.message)}</td></tr>`,
    )
    .join('\n');
  const byRule = Object.entries(r.summary.byRule)
    .map(([k, v]) => `<li><code>${esc(k)}</code>: ${v}</li>`)
    .join('');
  const status = r.summary.errors > 0 ? 'FAIL' : r.summary.warnings > 0 ? 'WARN' : 'PASS';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hpcnet fabric audit: ${esc(f.source)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em;color:#102a43}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em}
.status{display:inline-block;padding:.2em .7em;border-radius:4px;color:#fff;font-weight:bold}
.status.FAIL{background:${SEV_COLOR.error}} .status.WARN{background:${SEV_COLOR.warning}} .status.PASS{background:#2e7d32}
table{border-collapse:collapse;width:100%} th,td{border:1px solid #d9e2ec;padding:.35em .5em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f0f4f8}
.sev{font-weight:bold;text-transform:uppercase;font-size:.8em} .sev.error{color:${SEV_COLOR.error}} .sev.warning{color:${SEV_COLOR.warning}} .sev.info{color:${SEV_COLOR.info}}
#summary td:first-child{font-weight:bold;width:14em}
.figure{overflow:auto;border:1px solid #d9e2ec;max-height:80vh}
.legend span{margin-right:1.2em}
</style>
</head>
<body>
<h1>hpcnet fabric audit <span class="status ${status}" id="status">${status}</span></h1>
<h2>Summary</h2>
<table id="summary">
<tr><td>Fabric</td><td>${esc(f.source)}</td></tr>
<tr><td>Generated</td><td>${esc(r.generatedAt)}</td></tr>
<tr><td>Nodes</td><td>${f.nodes} (${f.switches} switches, ${f.cas} CAs${f.routers ? `, ${f.routers} routers` : ''})</td></tr>
<tr><td>Links</td><td>${f.links}</td></tr>
<tr><td>Counter samples</td><td>${f.counterSamples}</td></tr>
<tr><td>Subnet managers</td><td>${f.subnetManagers ?? 'not collected'}</td></tr>
<tr><td>Reference topology</td><td>${f.reference ? 'yes' : 'no'}</td></tr>
<tr><td>Findings</td><td><span id="count-errors">${r.summary.errors}</span> error(s), <span id="count-warnings">${r.summary.warnings}</span> warning(s), <span id="count-info">${r.summary.info}</span> info<ul>${byRule}</ul></td></tr>
${r.notRun.length ? `<tr><td>Not checked</td><td>${r.notRun.map((n) => `<code>${esc(n.rule)}</code> (${esc(n.reason)})`).join(', ')}</td></tr>` : ''}
${r.skipped.length ? `<tr><td>Skipped</td><td>${r.skipped.map((s) => `<code>${esc(s)}</code>`).join(', ')}</td></tr>` : ''}
</table>
<h2>Findings</h2>
${r.findings.length ? `<table id="findings"><thead><tr><th>Severity</th><th>Rule</th><th>Node</th><th>Port</th><th>Message</th></tr></thead><tbody>\n${rows}\n</tbody></table>` : '<p id="findings">No findings.</p>'}
<h2>Topology</h2>
<p class="legend"><span style="color:${SEV_COLOR.error}">&#9644; link with an error</span><span style="color:${SEV_COLOR.warning}">&#9644; link with a warning</span><span>&#9645; switch</span><span>&#9711; CA</span></p>
<div class="figure">
${topologySvg(fabric, r.findings)}
</div>
</body>
</html>
`;
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
