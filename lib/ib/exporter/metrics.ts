/**
 * Fabric metrics: Prometheus text built from a snapshot (and its audit
 * report) once per collection, so a scrape only sends bytes. Written
 * directly (not through prom-client's registry, which took 1.3 s for a
 * 2,048-host fabric and 9 s for 8,192 hosts: a label object, a hash and a
 * map entry per series); the format is prom-client's, byte for byte, which
 * test/ib/exporter/metrics-text.test.ts checks against prom-client itself.
 *
 * Port series carry the labels `guid` (the node's id: its node GUID as
 * 0x + 16 hex digits, with "#2", "#3" for further nodes reporting the same
 * GUID), `description` (NodeDescription) and `port`.
 *
 * Counter semantics:
 * - PMA data counters (PortXmitData, PortRcvData) count octets divided by 4:
 *   they are exported multiplied by 4, as bytes
 *   (`hpcnet_ib_port_transmit_bytes_total`, `..._receive_bytes_total`);
 * - every PMA counter is a Prometheus counter (`_total`): it only grows until
 *   it is reset (a reset is a counter reset for rate()); when
 *   PortCountersExtended was read, its 64-bit value is used;
 * - PortCounters fields are 4 to 32 bits wide and stop (latch) at their
 *   maximum instead of wrapping: a counter at 2^bits-1 is flagged by
 *   `hpcnet_ib_port_counter_saturated{counter="PerfqueryName"} 1` (and
 *   counted per port in `hpcnet_ib_port_saturated_counters`): its real
 *   value is unknown and rate() reads 0 until it is reset.
 */
import { PORT_COUNTER_BITS } from '../audit/counters.js';
import { RULES } from '../audit/rules.js';
import { FINDING_STATES, RULE_IDS, SEVERITIES, type AuditReport, type RuleId } from '../audit/types.js';
import { SPEED_GBPS, WIDTH_LANES, type FabricNode, type FabricPort, type FabricSnapshot, type PhysPortState, type PortState } from '../topology/index.js';
import { formatGuid } from '../../util/format.js';

export const METRIC_PREFIX = 'hpcnet_ib_';

/** PMA counter (perfquery name) to metric name (without prefix) and factor. */
export interface CounterMetric {
  counter: string;
  metric: string;
  help: string;
  factor: 1 | 4;
}

export const COUNTER_METRICS: readonly CounterMetric[] = [
  { counter: 'PortXmitData', metric: 'port_transmit_bytes_total', help: 'Bytes transmitted on all VLs (PMA PortXmitData counts octets/4; exported x4)', factor: 4 },
  { counter: 'PortRcvData', metric: 'port_receive_bytes_total', help: 'Bytes received on all VLs (PMA PortRcvData counts octets/4; exported x4)', factor: 4 },
  { counter: 'PortXmitPkts', metric: 'port_transmit_packets_total', help: 'Packets transmitted (PortXmitPkts)', factor: 1 },
  { counter: 'PortRcvPkts', metric: 'port_receive_packets_total', help: 'Packets received (PortRcvPkts)', factor: 1 },
  { counter: 'PortUnicastXmitPkts', metric: 'port_unicast_transmit_packets_total', help: 'Unicast packets transmitted (PortUnicastXmitPkts, extended counters)', factor: 1 },
  { counter: 'PortUnicastRcvPkts', metric: 'port_unicast_receive_packets_total', help: 'Unicast packets received (PortUnicastRcvPkts, extended counters)', factor: 1 },
  { counter: 'PortMulticastXmitPkts', metric: 'port_multicast_transmit_packets_total', help: 'Multicast packets transmitted (PortMulticastXmitPkts, extended counters)', factor: 1 },
  { counter: 'PortMulticastRcvPkts', metric: 'port_multicast_receive_packets_total', help: 'Multicast packets received (PortMulticastRcvPkts, extended counters)', factor: 1 },
  { counter: 'PortXmitWait', metric: 'port_transmit_wait_total', help: 'Ticks during which the port had data to send but no flow-control credits (PortXmitWait)', factor: 1 },
  { counter: 'SymbolErrorCounter', metric: 'port_symbol_errors_total', help: 'Minor link errors detected on physical lanes (SymbolErrorCounter)', factor: 1 },
  { counter: 'LinkErrorRecoveryCounter', metric: 'port_link_error_recoveries_total', help: 'Successful link error recoveries (LinkErrorRecoveryCounter)', factor: 1 },
  { counter: 'LinkDownedCounter', metric: 'port_link_downed_total', help: 'Times the link error recovery failed and the link went down (LinkDownedCounter)', factor: 1 },
  { counter: 'PortRcvErrors', metric: 'port_receive_errors_total', help: 'Received packets containing an error (PortRcvErrors)', factor: 1 },
  { counter: 'PortRcvRemotePhysicalErrors', metric: 'port_receive_remote_physical_errors_total', help: 'Received packets marked with the EBP delimiter (PortRcvRemotePhysicalErrors)', factor: 1 },
  { counter: 'PortRcvSwitchRelayErrors', metric: 'port_receive_switch_relay_errors_total', help: 'Received packets discarded because they could not be forwarded (PortRcvSwitchRelayErrors)', factor: 1 },
  { counter: 'PortXmitDiscards', metric: 'port_transmit_discards_total', help: 'Outbound packets discarded (port down or congested) (PortXmitDiscards)', factor: 1 },
  { counter: 'PortXmitConstraintErrors', metric: 'port_transmit_constraint_errors_total', help: 'Packets not transmitted because of constraints (PortXmitConstraintErrors)', factor: 1 },
  { counter: 'PortRcvConstraintErrors', metric: 'port_receive_constraint_errors_total', help: 'Packets received and discarded because of constraints (PortRcvConstraintErrors)', factor: 1 },
  { counter: 'LocalLinkIntegrityErrors', metric: 'port_local_link_integrity_errors_total', help: 'Times the local physical errors exceeded the threshold (LocalLinkIntegrityErrors)', factor: 1 },
  { counter: 'ExcessiveBufferOverrunErrors', metric: 'port_excessive_buffer_overrun_errors_total', help: 'Times consecutive buffer overruns exceeded the threshold (ExcessiveBufferOverrunErrors)', factor: 1 },
  { counter: 'VL15Dropped', metric: 'port_vl15_dropped_total', help: 'Incoming VL15 (subnet management) packets dropped (VL15Dropped)', factor: 1 },
  { counter: 'QP1Dropped', metric: 'port_qp1_dropped_total', help: 'Incoming QP1 (general management) packets dropped (QP1Dropped)', factor: 1 },
];

/** IBA PortInfo PortState values. */
export const PORT_STATE_VALUE: Partial<Record<PortState, number>> = { Down: 1, Init: 2, Armed: 3, Active: 4 };
/** IBA PortInfo PortPhysicalState values. */
export const PHYS_STATE_VALUE: Partial<Record<PhysPortState, number>> = {
  Sleep: 1,
  Polling: 2,
  Disabled: 3,
  PortConfigurationTraining: 4,
  LinkUp: 5,
  LinkErrorRecovery: 6,
  PhyTest: 7,
};

/** A port's counters merged from its sample entries: value and width in bits. */
export interface MergedCounter {
  value: bigint;
  bits: number;
}

/**
 * Merge the entries a sample holds for each port (a source may give a
 * PortCountersExtended entry and a PortCounters entry for one port): the
 * 64-bit value wins over the narrow one. Key: `${nodeId}/${port}`.
 */
export function mergePortCounters(snapshot: FabricSnapshot): Map<string, Map<string, MergedCounter>> {
  const out = new Map<string, Map<string, MergedCounter>>();
  const sample = snapshot.counters.at(-1);
  if (!sample) return out;
  for (const pc of sample.ports) {
    const key = `${pc.node}/${pc.port}`;
    let m = out.get(key);
    if (!m) out.set(key, (m = new Map()));
    const counters = pc.counters;
    for (const name in counters) {
      const value = counters[name]!;
      const bits = pc.extended ? 64 : (PORT_COUNTER_BITS[name] ?? 64);
      const prev = m.get(name);
      if (!prev || bits > prev.bits) m.set(name, { value, bits });
    }
  }
  return out;
}

const MAX_BY_BITS: bigint[] = Array.from({ length: 65 }, (_, bits) => (1n << BigInt(bits)) - 1n);

export function isSaturated(c: MergedCounter): boolean {
  return c.value === MAX_BY_BITS[c.bits];
}

export interface FabricMetricsInput {
  snapshot: FabricSnapshot;
  /** Audit report of the same snapshot (omit: no audit metrics). */
  report?: AuditReport;
}

/** Escaping as the exposition format (and prom-client) does it. */
const escapeHelp = (s: string) => (/[\\\n]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : s);
const escapeLabel = (s: string) => (/[\\\n"]/.test(s) ? escapeHelp(s).replace(/"/g, '\\"') : s);

/** A growing byte buffer written in place: the text of an 8,192-host fabric is 98 MB, built without a string per line. */
class ByteWriter {
  private buf: Buffer;
  len = 0;
  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 1 << 16));
  }
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
  /** Any string (UTF-8). */
  text(s: string): void {
    this.ensure(s.length * 3);
    this.len += this.buf.write(s, this.len, 'utf8');
  }
  /** A string known to be ASCII (names, numbers). */
  ascii(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }
  bytes(b: Buffer): void {
    this.ensure(b.length);
    // TypedArray.set: Buffer.copy's argument handling cost more than the copy of a 60-byte label set.
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  get result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** `name="value",...` for the given pairs (values escaped). */
function labelText(pairs: ReadonlyArray<readonly [string, string]>): string {
  let t = '';
  for (const [k, v] of pairs) t += `${t ? ',' : ''}${k}="${escapeLabel(v)}"`;
  return t;
}

type Emit = (labels: string | Buffer, value: number) => void;

/**
 * The fabric metrics of one collection as Prometheus text (version 0.0.4),
 * UTF-8. Each family is written in one pass (HELP, TYPE, its series) into
 * one buffer sized from the fabric up front; every port's label set is
 * encoded once and copied into each of its series.
 */
export function renderFabricMetrics(input: FabricMetricsInput): Buffer {
  const P = METRIC_PREFIX;
  const { snapshot, report } = input;
  const fabric = snapshot.fabric;
  const byId = new Map<string, FabricNode>(fabric.nodes.map((n) => [n.id, n]));
  // The guid and description labels of each node, escaped once.
  const nodeLabels = new Map<string, string>();
  const nodeLabel = (n: FabricNode) => {
    let l = nodeLabels.get(n.id);
    if (l === undefined) nodeLabels.set(n.id, (l = labelText([['guid', n.id], ['description', n.description]])));
    return l;
  };
  const portLabels = (n: FabricNode, port: number | string) => `${nodeLabel(n)},port="${port}"`;
  // Every port but switch port 0, with its labels encoded once.
  const ports: Array<{ n: FabricNode; p: FabricPort; label: Buffer }> = [];
  const labelByKey = new Map<string, Buffer>();
  let labelBytes = 0;
  for (const n of fabric.nodes) {
    for (const p of n.ports) {
      if (p.portNum === 0) continue;
      const label = Buffer.from(portLabels(n, p.portNum), 'utf8');
      ports.push({ n, p, label });
      labelByKey.set(`${n.id}/${p.portNum}`, label);
      labelBytes += label.length;
    }
  }
  // Counters by port, with the port's labels.
  const counted: Array<{ n: FabricNode; port: string; label: Buffer; m: Map<string, MergedCounter> }> = [];
  for (const [key, m] of mergePortCounters(snapshot)) {
    const slash = key.lastIndexOf('/');
    const n = byId.get(key.slice(0, slash));
    if (!n) continue;
    const port = key.slice(slash + 1);
    counted.push({ n, port, label: labelByKey.get(key) ?? Buffer.from(portLabels(n, port), 'utf8'), m });
  }

  // About 35 series per port of about 60 bytes besides the labels, plus the rest.
  const w = new ByteWriter((labelBytes + 60 * ports.length) * 36 + (1 << 20));
  let firstFamily = true;
  /** One family: HELP, TYPE, then the series `each` emits, in that order. */
  const family = (name: string, help: string, type: 'gauge' | 'counter', each: (emit: Emit) => void) => {
    const full = `${P}${name}`;
    w.text(`${firstFamily ? '' : '\n\n'}# HELP ${full} ${escapeHelp(help)}\n# TYPE ${full} ${type}`);
    firstFamily = false;
    const open = Buffer.from(`\n${full}{`, 'latin1');
    each((labels, value) => {
      if (labels.length === 0) return w.ascii(`\n${full} ${value}`);
      w.bytes(open);
      if (typeof labels === 'string') w.text(labels);
      else w.bytes(labels);
      w.ascii(`} ${value}`);
    });
  };
  /** Series summed by labels (a counter incremented more than once), in order of first appearance. */
  const sums = (emit: Emit, add: (add: (labels: string, value: number) => void) => void) => {
    const m = new Map<string, number>();
    add((labels, value) => m.set(labels, (m.get(labels) ?? 0) + value));
    for (const [labels, value] of m) emit(labels, value);
  };

  // Nodes and fabric
  family('node_info', 'A node of the fabric (value 1): type, name (node-name map) and system image GUID', 'gauge', (emit) => {
    for (const n of fabric.nodes) {
      emit(
        `${nodeLabel(n)},${labelText([['name', n.name ?? ''], ['type', n.type], ['system_image_guid', n.systemImageGuid !== undefined ? formatGuid(n.systemImageGuid) : '']])}`,
        1,
      );
    }
  });
  family('fabric_nodes', 'Nodes found, by type', 'gauge', (emit) => {
    const byType = new Map<string, number>([['CA', 0], ['Switch', 0], ['Router', 0]]);
    for (const n of fabric.nodes) byType.set(n.type, (byType.get(n.type) ?? 0) + 1);
    for (const [t, c] of byType) emit(labelText([['type', t]]), c);
  });
  family('fabric_links', 'Links (cables) found', 'gauge', (emit) => emit('', fabric.links.length));
  family('fabric_discovery_errors', 'What the collection could not read (discovery, counters, SMInfo), by kind', 'gauge', (emit) => {
    const kinds = new Map<string, number>();
    for (const e of fabric.errors) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    for (const [k, c] of kinds) emit(labelText([['kind', k]]), c);
  });

  // Link state, width, speed
  family('port_state', 'Logical port state (IBA PortState: 1 Down, 2 Init, 3 Armed, 4 Active)', 'gauge', (emit) => {
    for (const { p, label } of ports) {
      const v = p.state ? PORT_STATE_VALUE[p.state] : undefined;
      if (v !== undefined) emit(label, v);
    }
  });
  family('port_physical_state', 'Physical port state (IBA PortPhysicalState: 1 Sleep, 2 Polling, 3 Disabled, 4 PortConfigurationTraining, 5 LinkUp, 6 LinkErrorRecovery, 7 PhyTest)', 'gauge', (emit) => {
    for (const { p, label } of ports) {
      const v = p.physState ? PHYS_STATE_VALUE[p.physState] : undefined;
      if (v !== undefined) emit(label, v);
    }
  });
  family('port_link_width_lanes', 'Active link width in lanes (1X=1, 4X=4, ...)', 'gauge', (emit) => {
    for (const { p, label } of ports) if (p.width.active) emit(label, WIDTH_LANES[p.width.active]);
  });
  family('port_link_speed_gbps', 'Active per-lane signalling rate in Gb/s as iblinkinfo prints it (SDR 2.5 ... HDR 53.125, NDR 106.25)', 'gauge', (emit) => {
    for (const { p, label } of ports) if (p.speed.active) emit(label, SPEED_GBPS[p.speed.active]);
  });
  family('port_link_info', 'A linked port (value 1) with its active width and speed names and the other end of the cable', 'gauge', (emit) => {
    for (const { n, p } of ports) {
      if (!p.remote) continue;
      const r = byId.get(p.remote.node);
      emit(
        `${portLabels(n, p.portNum)},${labelText([['width', p.width.active ?? ''], ['speed', p.speed.active ?? ''], ['remote_guid', p.remote.node], ['remote_description', r?.description ?? '']])},remote_port="${p.remote.port}"`,
        1,
      );
    }
  });

  // Port counters
  for (const cm of COUNTER_METRICS) {
    const factor = BigInt(cm.factor);
    family(cm.metric, cm.help, 'counter', (emit) => {
      for (const { label, m } of counted) {
        const c = m.get(cm.counter);
        if (c) emit(label, Number(c.value * factor));
      }
    });
  }
  family('port_counter_saturated', 'A PMA counter stuck at its maximum 2^bits-1 (value 1; only saturated counters are listed): its real count is unknown until reset', 'gauge', (emit) => {
    for (const { n, port, m } of counted) {
      for (const [name, c] of m) if (isSaturated(c)) emit(`${portLabels(n, port)},${labelText([['counter', name]])},bits="${c.bits}"`, 1);
    }
  });
  family('port_saturated_counters', 'Number of PMA counters of the port stuck at their maximum', 'gauge', (emit) => {
    for (const { label, m } of counted) {
      let sat = 0;
      for (const c of m.values()) if (isSaturated(c)) sat++;
      emit(label, sat);
    }
  });
  family('port_counters_extended', '1 when the data counters came from PortCountersExtended (64 bits), 0 when only from PortCounters (32 bits, saturating)', 'gauge', (emit) => {
    for (const { label, m } of counted) {
      const data = m.get('PortXmitData') ?? m.get('PortRcvData');
      if (data) emit(label, data.bits === 64 ? 1 : 0);
    }
  });

  // Subnet managers
  const sms = snapshot.subnetManagers;
  if (sms) {
    family('subnet_manager_info', 'A subnet manager found by SMInfo (value 1)', 'gauge', (emit) => {
      for (const sm of sms) {
        emit(labelText([['guid', formatGuid(sm.guid)], ['lid', sm.lid !== undefined ? String(sm.lid) : ''], ['priority', sm.priority !== undefined ? String(sm.priority) : ''], ['state', sm.state]]), 1);
      }
    });
    family('subnet_managers', 'Subnet managers by SMInfo state', 'gauge', (emit) => {
      const counts = new Map<string, number>([['master', 0], ['standby', 0], ['discovering', 0], ['notactive', 0]]);
      for (const sm of sms) counts.set(sm.state, (counts.get(sm.state) ?? 0) + 1);
      for (const [st, c] of counts) emit(labelText([['state', st]]), c);
    });
  }

  // Audit
  if (report) {
    const notRan = new Set<RuleId>([...report.notRun.map((x) => x.rule), ...report.skipped]);
    const rules = RULE_IDS.filter((rule) => RULES.some((r) => r.id === rule));
    family('audit_findings', 'Audit findings of the last collection by rule (0 for rules that ran clean; rules not run are absent, see hpcnet_ib_audit_rule_ran)', 'gauge', (emit) => {
      for (const rule of rules) if (!notRan.has(rule)) emit(labelText([['rule', rule]]), report.summary.byRule[rule] ?? 0);
    });
    family('audit_findings_by_severity', 'Audit findings of the last collection by severity', 'gauge', (emit) => {
      for (const sev of SEVERITIES) emit(labelText([['severity', sev]]), report.findings.filter((f) => f.severity === sev).length);
    });
    family('audit_rule_ran', '1 when the audit rule ran on the last collection, 0 when it was skipped by configuration or lacked input', 'gauge', (emit) => {
      for (const rule of rules) emit(labelText([['rule', rule]]), notRan.has(rule) ? 0 : 1);
    });
    family('audit_port_findings', 'Audit findings about a node (port "" when about the whole node) by rule and severity; only nodes with findings are listed', 'gauge', (emit) =>
      sums(emit, (add) => {
        const guidToIds = new Map<string, FabricNode[]>();
        for (const n of fabric.nodes) {
          const g = formatGuid(n.guid);
          let list = guidToIds.get(g);
          if (!list) guidToIds.set(g, (list = []));
          list.push(n);
        }
        for (const f of report.findings) {
          if (!f.node) continue;
          // Findings name the node by GUID and description; map back to the node id used as the guid label.
          const cands = guidToIds.get(f.node.guid) ?? [];
          const n = cands.find((c) => c.description === f.node!.description) ?? cands[0];
          add(labelText([['guid', n?.id ?? f.node.guid], ['description', f.node.description], ['port', f.port === null ? '' : String(f.port)], ['rule', f.rule], ['severity', f.severity]]), 1);
        }
      }),
    );
    if (report.summary.byState) {
      family('audit_findings_by_state', 'Audit findings of the last collection against the baseline report: new, persisting, resolved (in the baseline, gone now); absent without a baseline', 'gauge', (emit) => {
        for (const st of FINDING_STATES) {
          const list = st === 'resolved' ? (report.resolved ?? []) : report.findings.filter((f) => f.state === st);
          for (const sev of SEVERITIES) emit(labelText([['state', st], ['severity', sev]]), list.filter((f) => f.severity === sev).length);
        }
      });
    }
  }
  w.ascii('\n');
  return w.result;
}
