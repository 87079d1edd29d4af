/**
 * Test oracle for lib/ib/exporter/metrics.ts: the fabric metrics built the
 * way the exporter built them before it wrote the text itself, through
 * prom-client's registry (the reference implementation of the exposition
 * format). renderFabricMetrics() must produce the same bytes.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { RULES } from '../../../../lib/ib/audit/rules.js';
import { FINDING_STATES, RULE_IDS, SEVERITIES, type RuleId } from '../../../../lib/ib/audit/types.js';
import { COUNTER_METRICS, METRIC_PREFIX, PHYS_STATE_VALUE, PORT_STATE_VALUE, isSaturated, mergePortCounters, type FabricMetricsInput } from '../../../../lib/ib/exporter/metrics.js';
import { SPEED_GBPS, WIDTH_LANES, type FabricNode } from '../../../../lib/ib/topology/index.js';
import { formatGuid } from '../../../../lib/util/format.js';

const PORT_LABELS = ['guid', 'description', 'port'] as const;

/** Build the registry of fabric metrics for one collection. */
export function promClientRegistry(input: FabricMetricsInput): Registry {
  const reg = new Registry();
  const P = METRIC_PREFIX;
  const { snapshot, report } = input;
  const fabric = snapshot.fabric;
  const byId = new Map<string, FabricNode>(fabric.nodes.map((n) => [n.id, n]));
  const portLabels = (n: FabricNode, port: number) => ({ guid: n.id, description: n.description, port: String(port) });

  // Nodes and fabric
  const nodeInfo = new Gauge({ name: `${P}node_info`, help: 'A node of the fabric (value 1): type, name (node-name map) and system image GUID', labelNames: ['guid', 'description', 'name', 'type', 'system_image_guid'], registers: [reg] });
  const nodes = new Gauge({ name: `${P}fabric_nodes`, help: 'Nodes found, by type', labelNames: ['type'], registers: [reg] });
  const links = new Gauge({ name: `${P}fabric_links`, help: 'Links (cables) found', registers: [reg] });
  const discErrors = new Gauge({ name: `${P}fabric_discovery_errors`, help: 'What the collection could not read (discovery, counters, SMInfo), by kind', labelNames: ['kind'], registers: [reg] });
  const byType = new Map<string, number>([['CA', 0], ['Switch', 0], ['Router', 0]]);
  for (const n of fabric.nodes) {
    byType.set(n.type, (byType.get(n.type) ?? 0) + 1);
    nodeInfo.set({ guid: n.id, description: n.description, name: n.name ?? '', type: n.type, system_image_guid: n.systemImageGuid !== undefined ? formatGuid(n.systemImageGuid) : '' }, 1);
  }
  for (const [t, c] of byType) nodes.set({ type: t }, c);
  links.set(fabric.links.length);
  const kinds = new Map<string, number>();
  for (const e of fabric.errors) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
  for (const [k, c] of kinds) discErrors.set({ kind: k }, c);

  // Link state, width, speed
  const state = new Gauge({ name: `${P}port_state`, help: 'Logical port state (IBA PortState: 1 Down, 2 Init, 3 Armed, 4 Active)', labelNames: PORT_LABELS, registers: [reg] });
  const phys = new Gauge({ name: `${P}port_physical_state`, help: 'Physical port state (IBA PortPhysicalState: 1 Sleep, 2 Polling, 3 Disabled, 4 PortConfigurationTraining, 5 LinkUp, 6 LinkErrorRecovery, 7 PhyTest)', labelNames: PORT_LABELS, registers: [reg] });
  const width = new Gauge({ name: `${P}port_link_width_lanes`, help: 'Active link width in lanes (1X=1, 4X=4, ...)', labelNames: PORT_LABELS, registers: [reg] });
  const speed = new Gauge({ name: `${P}port_link_speed_gbps`, help: 'Active per-lane signalling rate in Gb/s as iblinkinfo prints it (SDR 2.5 ... HDR 53.125, NDR 106.25)', labelNames: PORT_LABELS, registers: [reg] });
  const linkInfo = new Gauge({
    name: `${P}port_link_info`,
    help: 'A linked port (value 1) with its active width and speed names and the other end of the cable',
    labelNames: [...PORT_LABELS, 'width', 'speed', 'remote_guid', 'remote_description', 'remote_port'],
    registers: [reg],
  });
  for (const n of fabric.nodes) {
    for (const p of n.ports) {
      if (p.portNum === 0) continue;
      const l = portLabels(n, p.portNum);
      const sv = p.state ? PORT_STATE_VALUE[p.state] : undefined;
      if (sv !== undefined) state.set(l, sv);
      const pv = p.physState ? PHYS_STATE_VALUE[p.physState] : undefined;
      if (pv !== undefined) phys.set(l, pv);
      if (p.width.active) width.set(l, WIDTH_LANES[p.width.active]);
      if (p.speed.active) speed.set(l, SPEED_GBPS[p.speed.active]);
      if (p.remote) {
        const r = byId.get(p.remote.node);
        linkInfo.set({ ...l, width: p.width.active ?? '', speed: p.speed.active ?? '', remote_guid: p.remote.node, remote_description: r?.description ?? '', remote_port: String(p.remote.port) }, 1);
      }
    }
  }

  // Port counters
  const counterMetrics = new Map<string, Counter<string>>();
  for (const cm of COUNTER_METRICS) {
    counterMetrics.set(cm.counter, new Counter({ name: `${P}${cm.metric}`, help: cm.help, labelNames: PORT_LABELS, registers: [reg] }));
  }
  const saturated = new Gauge({ name: `${P}port_counter_saturated`, help: 'A PMA counter stuck at its maximum 2^bits-1 (value 1; only saturated counters are listed): its real count is unknown until reset', labelNames: [...PORT_LABELS, 'counter', 'bits'], registers: [reg] });
  const satCount = new Gauge({ name: `${P}port_saturated_counters`, help: 'Number of PMA counters of the port stuck at their maximum', labelNames: PORT_LABELS, registers: [reg] });
  const extended = new Gauge({ name: `${P}port_counters_extended`, help: '1 when the data counters came from PortCountersExtended (64 bits), 0 when only from PortCounters (32 bits, saturating)', labelNames: PORT_LABELS, registers: [reg] });
  for (const [key, m] of mergePortCounters(snapshot)) {
    const slash = key.lastIndexOf('/');
    const n = byId.get(key.slice(0, slash));
    if (!n) continue;
    const l = portLabels(n, Number(key.slice(slash + 1)));
    let sat = 0;
    for (const [name, c] of m) {
      if (isSaturated(c)) {
        sat++;
        saturated.set({ ...l, counter: name, bits: String(c.bits) }, 1);
      }
      const cm = COUNTER_METRICS.find((x) => x.counter === name);
      if (!cm) continue;
      counterMetrics.get(name)!.inc(l, Number(c.value * BigInt(cm.factor)));
    }
    satCount.set(l, sat);
    const data = m.get('PortXmitData') ?? m.get('PortRcvData');
    if (data) extended.set(l, data.bits === 64 ? 1 : 0);
  }

  // Subnet managers
  if (snapshot.subnetManagers) {
    const smInfo = new Gauge({ name: `${P}subnet_manager_info`, help: 'A subnet manager found by SMInfo (value 1)', labelNames: ['guid', 'lid', 'priority', 'state'], registers: [reg] });
    const smCount = new Gauge({ name: `${P}subnet_managers`, help: 'Subnet managers by SMInfo state', labelNames: ['state'], registers: [reg] });
    const counts = new Map<string, number>([['master', 0], ['standby', 0], ['discovering', 0], ['notactive', 0]]);
    for (const sm of snapshot.subnetManagers) {
      counts.set(sm.state, (counts.get(sm.state) ?? 0) + 1);
      smInfo.set({ guid: formatGuid(sm.guid), lid: sm.lid !== undefined ? String(sm.lid) : '', priority: sm.priority !== undefined ? String(sm.priority) : '', state: sm.state }, 1);
    }
    for (const [s, c] of counts) smCount.set({ state: s }, c);
  }

  // Audit
  if (report) {
    const perRule = new Gauge({ name: `${P}audit_findings`, help: 'Audit findings of the last collection by rule (0 for rules that ran clean; rules not run are absent, see hpcnet_ib_audit_rule_ran)', labelNames: ['rule'], registers: [reg] });
    const perSeverity = new Gauge({ name: `${P}audit_findings_by_severity`, help: 'Audit findings of the last collection by severity', labelNames: ['severity'], registers: [reg] });
    const ran = new Gauge({ name: `${P}audit_rule_ran`, help: '1 when the audit rule ran on the last collection, 0 when it was skipped by configuration or lacked input', labelNames: ['rule'], registers: [reg] });
    const perPort = new Gauge({
      name: `${P}audit_port_findings`,
      help: 'Audit findings about a node (port "" when about the whole node) by rule and severity; only nodes with findings are listed',
      labelNames: [...PORT_LABELS, 'rule', 'severity'],
      registers: [reg],
    });
    const notRan = new Set<RuleId>([...report.notRun.map((x) => x.rule), ...report.skipped]);
    for (const rule of RULE_IDS) {
      if (!RULES.some((r) => r.id === rule)) continue;
      ran.set({ rule }, notRan.has(rule) ? 0 : 1);
      if (!notRan.has(rule)) perRule.set({ rule }, report.summary.byRule[rule] ?? 0);
    }
    for (const s of SEVERITIES) perSeverity.set({ severity: s }, report.findings.filter((f) => f.severity === s).length);
    if (report.summary.byState) {
      const perState = new Gauge({ name: `${P}audit_findings_by_state`, help: 'Audit findings of the last collection against the baseline report: new, persisting, resolved (in the baseline, gone now); absent without a baseline', labelNames: ['state', 'severity'], registers: [reg] });
      for (const st of FINDING_STATES) {
        const list = st === 'resolved' ? (report.resolved ?? []) : report.findings.filter((f) => f.state === st);
        for (const sev of SEVERITIES) perState.set({ state: st, severity: sev }, list.filter((f) => f.severity === sev).length);
      }
    }
    const guidToIds = new Map<string, FabricNode[]>();
    for (const n of fabric.nodes) {
      const g = formatGuid(n.guid);
      guidToIds.set(g, [...(guidToIds.get(g) ?? []), n]);
    }
    for (const f of report.findings) {
      if (!f.node) continue;
      // Findings name the node by GUID and description; map back to the node id used as the guid label.
      const cands = guidToIds.get(f.node.guid) ?? [];
      const n = cands.find((c) => c.description === f.node!.description) ?? cands[0];
      const labels = { guid: n?.id ?? f.node.guid, description: f.node.description, port: f.port === null ? '' : String(f.port), rule: f.rule, severity: f.severity };
      perPort.inc(labels, 1);
    }
  }
  return reg;
}
