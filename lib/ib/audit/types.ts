/** Audit types: findings, rule ids, configuration. */
import type { Fabric, LinkSpeed, LinkWidth, NodeType } from '../topology/model.js';
import type { NodeNameMap } from '../topology/nodenamemap.js';
import type { FabricSnapshot } from '../topology/snapshot.js';

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

export const RULE_IDS = [
  'duplicate-guid',
  'duplicate-lid',
  'lid-invalid',
  'lmc-inconsistent',
  'link-degraded-width',
  'link-degraded-speed',
  'link-mismatch',
  'port-not-active',
  'port-polling',
  'counter-threshold',
  'counter-rate',
  'counter-saturated',
  'sm-master',
  'sm-standby',
  'topology-missing-node',
  'topology-extra-node',
  'topology-missing-link',
  'topology-extra-link',
  'topology-moved-link',
  'topology-description',
  'duplicate-description',
  'discovery-error',
  'route-black-hole',
  'route-loop',
  'route-unreachable',
  'route-credit-loop',
  'route-unbalanced',
  'route-hops',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export interface Finding {
  rule: RuleId;
  severity: Severity;
  /** The node the finding is about (GUID as "0x" + 16 hex digits); null for fabric-wide findings. */
  node: { guid: string; description: string } | null;
  /** Port number, or null when the finding is about a whole node or the fabric. */
  port: number | null;
  message: string;
  /** The other end of the link, for link findings. */
  remote?: { guid: string; description: string; port: number };
  /** Against a baseline report only: new since the baseline, or already in it (see compareWithBaseline). */
  state?: FindingState;
}

/** A finding's state against a baseline report (the previous night's audit). */
export type FindingState = 'new' | 'persisting' | 'resolved';
export const FINDING_STATES: readonly FindingState[] = ['new', 'persisting', 'resolved'];

/** What the operator expects of links (all fields optional). */
export interface LinkExpectation {
  width?: LinkWidth;
  speed?: LinkSpeed;
}

export interface FleetExpectation extends LinkExpectation {
  name: string;
  /** Regular expression matched against node names (node-name map) and descriptions. */
  match: RegExp;
}

export interface LinkExpectationRule extends LinkExpectation {
  /** Node GUID ("0x...") or exact name/description. */
  node: string;
  /** Port number; all ports of the node when omitted. */
  port?: number;
}

export interface Expectations extends LinkExpectation {
  byNodeType: Partial<Record<NodeType, LinkExpectation>>;
  fleets: FleetExpectation[];
  links: LinkExpectationRule[];
}

export interface AuditConfig {
  /** Counter thresholds: a finding when value > threshold (ibqueryerrors semantics). */
  thresholds: Record<string, bigint>;
  /** counter-rate: counters whose growth between two samples is reported, with the allowed increase. */
  rate: { counters: Record<string, bigint>; intervalMs: number };
  sm: { minStandby: number };
  skip: Set<RuleId>;
  severities: Partial<Record<RuleId, Severity>>;
  expect: Expectations;
  /** Routing rules (lib/ib/routing): read forwarding tables on a live audit; limits. */
  routing?: { enabled: boolean; maxHops?: number; balanceRatio?: number };
  /** Paths as written in the configuration file (resolved against its folder). */
  referencePath?: string;
  nodeNameMapPath?: string;
}

export interface AuditInput {
  snapshot: FabricSnapshot;
  reference?: Fabric;
  nodeNameMap?: NodeNameMap;
  /** The report's name for the fabric (default: see fabricName). */
  name?: string;
}

export interface AuditReport {
  /** Schema id and version of the JSON report. */
  schema: 'hpcnet.audit';
  version: 1;
  generatedAt: string;
  fabric: {
    /** What was audited: `--name`, else the subnet prefix and the master SM's node description, else the source. */
    name: string;
    source: string;
    nodes: number;
    switches: number;
    cas: number;
    routers: number;
    links: number;
    counterSamples: number;
    subnetManagers: number | null;
    reference: boolean;
  };
  summary: {
    errors: number;
    warnings: number;
    info: number;
    byRule: Partial<Record<RuleId, number>>;
    /** Against a baseline only: findings by state (resolved ones are in `resolved`). */
    byState?: Record<FindingState, number>;
  };
  findings: Finding[];
  /** Against a baseline only: the report compared with. */
  baseline?: { name: string; generatedAt: string; findings: number; file?: string };
  /** Against a baseline only: its findings that are gone (state "resolved"). */
  resolved?: Finding[];
  /** Rules that could not run for lack of input (e.g. no counters), with the reason. */
  notRun: Array<{ rule: RuleId; reason: string }>;
  /** Rules skipped by configuration. */
  skipped: RuleId[];
  /** Problems of the input itself (discovery errors). */
  errors: Array<{ kind: string; message: string }>;
}
