/**
 * Audit rules: plain functions over the fabric model, counters and SM
 * records. Each returns its findings (severity is applied by the engine
 * from the rule's default or the configuration), or `{ notRun }` when its
 * input is missing.
 */
import { formatGuid } from '../../util/format.js';
import { diffTopology, type DiffEnd, type DiffNode, type TopologyDiff } from '../topology/diff.js';
import {
  FabricIndex,
  compareSpeed,
  compareWidth,
  displayName,
  portGuidOf,
  type Fabric,
  type FabricLink,
  type FabricNode,
  type FabricPort,
  type LinkSpeed,
  type LinkWidth,
  type PortRef,
} from '../topology/model.js';
import type { FabricSnapshot } from '../topology/snapshot.js';
import { ROUTING_RULES } from '../routing/rules.js';
import { CONGESTION_COUNTERS, counterMax } from './counters.js';
import type { AuditConfig, Finding, LinkExpectation, RuleId, Severity } from './types.js';

export interface RuleContext {
  fabric: Fabric;
  index: FabricIndex;
  snapshot: FabricSnapshot;
  reference?: Fabric;
  referenceIndex?: FabricIndex;
  diff?: TopologyDiff;
  config: AuditConfig;
}

export type RawFinding = Omit<Finding, 'severity'> & { severity?: Severity };
export type RuleResult = RawFinding[] | { notRun: string };

export interface Rule {
  id: RuleId;
  severity: Severity;
  summary: string;
  /** When present and false, the rule is left out of the report (opt-in rule families such as routing). */
  applies?(ctx: RuleContext): boolean;
  run(ctx: RuleContext): RuleResult;
}

// ---------------------------------------------------------------------------
// helpers

/** A directed route as the diag tools write it (smpquery -D): "0" for the local node, then the out-ports. */
export function drText(path: readonly number[]): string {
  return ['0', ...path].join(',');
}

function nodeRef(n: FabricNode): { guid: string; description: string } {
  return { guid: formatGuid(n.guid), description: displayName(n) };
}

function where(ctx: RuleContext, n: FabricNode): string {
  const parts: string[] = [];
  if (n.drPath) parts.push(`DR path ${drText(n.drPath)}`);
  const linked = n.ports.filter((p) => p.remote).slice(0, 2);
  for (const p of linked) {
    const r = ctx.index.node(p.remote!.node);
    if (r) parts.push(`port ${p.portNum} cabled to "${displayName(r)}" port ${p.remote!.port}`);
  }
  if (n.source) parts.push(`line ${n.source.line}`);
  return parts.join(', ') || 'location unknown';
}

function portName(ctx: RuleContext, ref: PortRef): string {
  const n = ctx.index.node(ref.node);
  return `"${n ? displayName(n) || n.id : ref.node}" port ${ref.port}`;
}

function remoteOf(ctx: RuleContext, ref: PortRef): Finding['remote'] {
  const n = ctx.index.node(ref.node);
  return n ? { ...nodeRef(n), port: ref.port } : undefined;
}

/** The end to report a link finding on: the non-switch end when there is one (the host is what people look for). */
function linkEnds(ctx: RuleContext, l: FabricLink): [PortRef, PortRef] {
  const a = ctx.index.node(l.a.node);
  const b = ctx.index.node(l.b.node);
  if (a?.type === 'Switch' && b && b.type !== 'Switch') return [l.b, l.a];
  return [l.a, l.b];
}

function linkFinding(ctx: RuleContext, rule: RuleId, l: FabricLink, message: string, severity?: Severity): RawFinding {
  const [x, y] = linkEnds(ctx, l);
  const f: RawFinding = { rule, node: nodeRef(ctx.index.node(x.node)!), port: x.port, message };
  const r = remoteOf(ctx, y);
  if (r) f.remote = r;
  if (severity) f.severity = severity;
  return f;
}

function min<T>(a: T | undefined, b: T | undefined, cmp: (x: T, y: T) => number): T | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return cmp(a, b) <= 0 ? a : b;
}

function bestCommon<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, cmp: (x: T, y: T) => number): T | undefined {
  if (!a || !b) return undefined;
  // The greatest common value (the last of the sorted common values), without building the lists: this runs per link.
  let best: T | undefined;
  for (const x of a) if (b.includes(x) && (best === undefined || cmp(x, best) >= 0)) best = x;
  return best;
}

// ---------------------------------------------------------------------------
// expectations for a link

interface Expected<T> {
  value: T;
  source: string;
}

function matchesNode(n: FabricNode, key: string): boolean {
  if (/^0x[0-9a-fA-F]+$/.test(key)) return n.guid === BigInt(key);
  return n.name === key || n.description === key;
}

/** Operator expectation for one end (most specific wins: link, fleet, node type, fleet-wide). */
function operatorExpectation(ctx: RuleContext, n: FabricNode, port: number): { exp: LinkExpectation; source: string; rank: number }[] {
  const e = ctx.config.expect;
  const out: { exp: LinkExpectation; source: string; rank: number }[] = [];
  for (const l of e.links) {
    if (matchesNode(n, l.node) && (l.port === undefined || l.port === port)) out.push({ exp: l, source: `expectation for ${l.node}${l.port !== undefined ? ` port ${l.port}` : ''}`, rank: 4 });
  }
  for (const f of e.fleets) {
    if (f.match.test(displayName(n)) || f.match.test(n.description)) out.push({ exp: f, source: `fleet "${f.name}" expectation`, rank: 3 });
  }
  const t = e.byNodeType[n.type];
  if (t) out.push({ exp: t, source: `expectation for ${n.type} links`, rank: 2 });
  if (e.width !== undefined || e.speed !== undefined) out.push({ exp: { ...(e.width ? { width: e.width } : {}), ...(e.speed ? { speed: e.speed } : {}) }, source: 'fleet-wide expectation', rank: 1 });
  return out;
}

function expectedFor<K extends 'width' | 'speed'>(
  ctx: RuleContext,
  l: FabricLink,
  key: K,
): Expected<K extends 'width' ? LinkWidth : LinkSpeed> | undefined {
  type V = K extends 'width' ? LinkWidth : LinkSpeed;
  const cmp = (key === 'width' ? compareWidth : compareSpeed) as (a: V, b: V) => number;
  // 1. operator: the most specific expectation of either end; on a tie, the lower value.
  let best: { value: V; source: string; rank: number } | undefined;
  for (const end of [l.a, l.b]) {
    const n = ctx.index.node(end.node);
    if (!n) continue;
    for (const o of operatorExpectation(ctx, n, end.port)) {
      const v = o.exp[key] as V | undefined;
      if (v === undefined) continue;
      if (!best || o.rank > best.rank || (o.rank === best.rank && cmp(v, best.value) < 0)) best = { value: v, source: o.source, rank: o.rank };
    }
  }
  if (best) return { value: best.value, source: best.source };
  // 2. the reference topology's record for this link.
  if (ctx.reference && ctx.referenceIndex) {
    const na = ctx.index.node(l.a.node)!;
    const nb = ctx.index.node(l.b.node)!;
    for (const ra of ctx.referenceIndex.nodesWithGuid(na.guid)) {
      const rp = ra.ports.find((p) => p.portNum === l.a.port);
      if (!rp?.remote) continue;
      const rn = ctx.referenceIndex.node(rp.remote.node);
      if (!rn || rn.guid !== nb.guid || rp.remote.port !== l.b.port) continue;
      const other = ctx.referenceIndex.port(rp.remote);
      const v = min(rp[key].active as V | undefined, other?.[key].active as V | undefined, cmp);
      if (v !== undefined) return { value: v, source: 'reference topology' };
    }
  }
  // 3. the best value both ends have enabled.
  const pa = ctx.index.port(l.a);
  const pb = ctx.index.port(l.b);
  const v = bestCommon(pa?.[key].enabled as V[] | undefined, pb?.[key].enabled as V[] | undefined, cmp);
  if (v !== undefined) return { value: v, source: 'best value enabled on both ends' };
  return undefined;
}

function activeOf<K extends 'width' | 'speed'>(ctx: RuleContext, l: FabricLink, key: K): (K extends 'width' ? LinkWidth : LinkSpeed) | undefined {
  type V = K extends 'width' ? LinkWidth : LinkSpeed;
  const cmp = (key === 'width' ? compareWidth : compareSpeed) as (a: V, b: V) => number;
  return min(ctx.index.port(l.a)?.[key].active as V | undefined, ctx.index.port(l.b)?.[key].active as V | undefined, cmp);
}

function degraded(key: 'width' | 'speed', id: RuleId): Rule {
  return {
    id,
    severity: 'error',
    summary: `active link ${key} below what is expected of the link`,
    run(ctx) {
      const out: RawFinding[] = [];
      const cmp = (key === 'width' ? compareWidth : compareSpeed) as (a: string, b: string) => number;
      for (const l of ctx.fabric.links) {
        const act = activeOf(ctx, l, key);
        if (act === undefined) continue;
        const exp = expectedFor(ctx, l, key);
        if (!exp || cmp(act, exp.value) >= 0) continue;
        out.push(linkFinding(ctx, id, l, `link ${portName(ctx, l.a)} <-> ${portName(ctx, l.b)} runs at ${act}, expected ${exp.value} (${exp.source})`));
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------------------
// the rules

const duplicateGuid: Rule = {
  id: 'duplicate-guid',
  severity: 'error',
  summary: 'a node GUID or port GUID carried by two different nodes',
  run(ctx) {
    const out: RawFinding[] = [];
    const dupNodes = new Set<string>();
    for (const { guid, nodes } of ctx.index.duplicateNodeGuids()) {
      nodes.forEach((n) => dupNodes.add(n.id));
      out.push({
        rule: 'duplicate-guid',
        node: nodeRef(nodes[0]!),
        port: null,
        message: `node GUID ${formatGuid(guid)} is carried by ${nodes.length} nodes: ${nodes.map((n) => `"${displayName(n)}" (${where(ctx, n)})`).join('; ')}`,
      });
    }
    const byPortGuid = new Map<bigint, Array<{ n: FabricNode; port: number }>>();
    for (const n of ctx.fabric.nodes) {
      const ports = n.type === 'Switch' ? [0] : n.ports.map((p) => p.portNum);
      for (const pn of ports) {
        const g = portGuidOf(n, pn);
        if (g === undefined || g === 0n) continue;
        const l = byPortGuid.get(g) ?? [];
        if (!l.some((x) => x.n.id === n.id)) l.push({ n, port: pn });
        byPortGuid.set(g, l);
      }
    }
    for (const [g, l] of byPortGuid) {
      if (l.length < 2 || l.every((x) => dupNodes.has(x.n.id))) continue;
      out.push({
        rule: 'duplicate-guid',
        node: nodeRef(l[1]!.n),
        port: l[1]!.port,
        message: `port GUID ${formatGuid(g)} is used by ${l.map((x) => `"${displayName(x.n)}" port ${x.port}`).join(' and ')}`,
      });
    }
    return out;
  },
};

interface LidUse {
  n: FabricNode;
  port: number;
  lid: number;
  lmc: number;
}

function lidUses(ctx: RuleContext): LidUse[] {
  const out: LidUse[] = [];
  for (const n of ctx.fabric.nodes) {
    for (const p of n.ports) {
      if (n.type === 'Switch' && p.portNum !== 0) continue;
      if (p.lid === undefined || p.lid === 0) continue;
      out.push({ n, port: p.portNum, lid: p.lid, lmc: p.lmc ?? 0 });
    }
  }
  return out;
}

const duplicateLid: Rule = {
  id: 'duplicate-lid',
  severity: 'error',
  summary: 'two ports answering to the same LID (LMC ranges included)',
  run(ctx) {
    const owner = new Map<number, LidUse>();
    const out: RawFinding[] = [];
    const reported = new Set<string>();
    for (const u of lidUses(ctx)) {
      const count = 1 << Math.min(u.lmc, 7);
      for (let lid = u.lid; lid < u.lid + count; lid++) {
        const o = owner.get(lid);
        if (!o) {
          owner.set(lid, u);
          continue;
        }
        const key = `${o.n.id}/${o.port}|${u.n.id}/${u.port}`;
        if (reported.has(key)) continue;
        reported.add(key);
        out.push({
          rule: 'duplicate-lid',
          node: nodeRef(u.n),
          port: u.port,
          message: `LID ${lid} is used by "${displayName(o.n)}" port ${o.port} and "${displayName(u.n)}" port ${u.port}`,
        });
      }
    }
    return out;
  },
};

const UNICAST_MAX = 0xbfff;

const lidInvalid: Rule = {
  id: 'lid-invalid',
  severity: 'error',
  summary: 'an active port whose LID is 0 or outside the unicast range',
  run(ctx) {
    const out: RawFinding[] = [];
    for (const n of ctx.fabric.nodes) {
      if (n.type === 'Switch') {
        const anyActive = n.ports.some((p) => p.portNum > 0 && p.state === 'Active');
        const p0 = n.ports.find((p) => p.portNum === 0);
        if (!anyActive || p0?.lid === undefined) continue;
        const top = p0.lid + (1 << (p0.lmc ?? 0)) - 1;
        if (p0.lid === 0 || top > UNICAST_MAX) {
          out.push({ rule: 'lid-invalid', node: nodeRef(n), port: 0, message: `switch has active ports but its management port 0 has LID ${p0.lid}${p0.lid ? ` (LMC ${p0.lmc ?? 0} reaches ${top})` : ''}; valid unicast LIDs are 1..${UNICAST_MAX}` });
        }
        continue;
      }
      for (const p of n.ports) {
        if (p.state !== 'Active' || p.lid === undefined) continue;
        const top = p.lid + (1 << (p.lmc ?? 0)) - 1;
        if (p.lid === 0 || top > UNICAST_MAX) {
          out.push({ rule: 'lid-invalid', node: nodeRef(n), port: p.portNum, message: `port is Active with LID ${p.lid}${p.lid ? ` (LMC ${p.lmc ?? 0} reaches ${top})` : ''}; valid unicast LIDs are 1..${UNICAST_MAX}` });
        }
      }
    }
    return out;
  },
};

const lmcInconsistent: Rule = {
  id: 'lmc-inconsistent',
  severity: 'warning',
  summary: 'end ports with different LMCs, or a base LID not aligned to its LMC',
  run(ctx) {
    const uses = lidUses(ctx).filter((u) => u.n.type !== 'Switch');
    const out: RawFinding[] = [];
    const counts = new Map<number, number>();
    for (const u of uses) counts.set(u.lmc, (counts.get(u.lmc) ?? 0) + 1);
    const common = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
    for (const u of uses) {
      if (counts.size > 1 && u.lmc !== common) {
        out.push({ rule: 'lmc-inconsistent', node: nodeRef(u.n), port: u.port, message: `LMC ${u.lmc}, while ${counts.get(common!)} other end port(s) use LMC ${common}` });
      } else if (u.lid % (1 << u.lmc) !== 0) {
        out.push({ rule: 'lmc-inconsistent', node: nodeRef(u.n), port: u.port, message: `base LID ${u.lid} is not a multiple of 2^LMC = ${1 << u.lmc}` });
      }
    }
    return out;
  },
};

const linkMismatch: Rule = {
  id: 'link-mismatch',
  severity: 'error',
  summary: 'the two ends of a link report different active width or speed',
  run(ctx) {
    const out: RawFinding[] = [];
    for (const l of ctx.fabric.links) {
      const pa = ctx.index.port(l.a);
      const pb = ctx.index.port(l.b);
      const diffs: string[] = [];
      if (pa?.width.active && pb?.width.active && pa.width.active !== pb.width.active) diffs.push(`width ${pa.width.active} vs ${pb.width.active}`);
      if (pa?.speed.active && pb?.speed.active && pa.speed.active !== pb.speed.active) diffs.push(`speed ${pa.speed.active} vs ${pb.speed.active}`);
      if (diffs.length) out.push(linkFinding(ctx, 'link-mismatch', l, `the ends of ${portName(ctx, l.a)} <-> ${portName(ctx, l.b)} disagree: ${diffs.join(', ')}`));
    }
    return out;
  },
};

const portNotActive: Rule = {
  id: 'port-not-active',
  severity: 'error',
  summary: 'a port physically up (LinkUp) but logically Init or Armed',
  run(ctx) {
    const out: RawFinding[] = [];
    for (const n of ctx.fabric.nodes) {
      for (const p of n.ports) {
        if (p.portNum === 0 || p.physState !== 'LinkUp' || (p.state !== 'Init' && p.state !== 'Armed')) continue;
        const f: RawFinding = {
          rule: 'port-not-active',
          node: nodeRef(n),
          port: p.portNum,
          message: `port is physically LinkUp but logically ${p.state}: the subnet manager has not activated it (is an SM running and sweeping?)`,
        };
        if (p.remote) {
          const r = remoteOf(ctx, p.remote);
          if (r) f.remote = r;
        }
        out.push(f);
      }
    }
    return out;
  },
};

const portPolling: Rule = {
  id: 'port-polling',
  severity: 'error',
  summary: 'a port cabled in the reference topology that has no link',
  run(ctx) {
    if (!ctx.reference || !ctx.referenceIndex) return { notRun: 'no reference topology' };
    const out: RawFinding[] = [];
    for (const rl of ctx.reference.links) {
      for (const [end, other] of [
        [rl.a, rl.b],
        [rl.b, rl.a],
      ] as const) {
        const rn = ctx.referenceIndex.node(end.node)!;
        const cur = ctx.index.nodesWithGuid(rn.guid);
        if (cur.length === 0) continue; // the node is missing: topology-missing-node
        if (cur.some((c) => c.ports.find((p) => p.portNum === end.port)?.remote)) continue;
        const c = cur[0]!;
        const p: FabricPort | undefined = c.ports.find((x) => x.portNum === end.port);
        const ro = ctx.referenceIndex.node(other.node)!;
        const state = p?.state || p?.physState ? ` (${p.state ?? '?'}/${p.physState ?? '?'})` : '';
        out.push({
          rule: 'port-polling',
          node: nodeRef(c),
          port: end.port,
          message: `port has no link${state}; the reference topology has a cable from it to "${displayName(ro)}" port ${other.port}`,
          remote: { ...nodeRef(ro), port: other.port },
        });
      }
    }
    return out;
  },
};

function latest(ctx: RuleContext) {
  return ctx.snapshot.counters.at(-1);
}

const counterThreshold: Rule = {
  id: 'counter-threshold',
  severity: 'error',
  summary: 'error counters above their thresholds (ibqueryerrors semantics: value > threshold)',
  run(ctx) {
    const s = latest(ctx);
    if (!s) return { notRun: 'no port counters in the input' };
    const out: RawFinding[] = [];
    for (const pc of s.ports) {
      const n = ctx.index.node(pc.node);
      if (!n) continue;
      for (const [name, thr] of Object.entries(ctx.config.thresholds)) {
        const v = pc.counters[name];
        if (v === undefined || v <= thr) continue;
        const f: RawFinding = { rule: 'counter-threshold', node: nodeRef(n), port: pc.port, message: `${name} = ${v} (threshold ${thr})` };
        if (CONGESTION_COUNTERS.has(name) && ctx.config.severities['counter-threshold'] === undefined) f.severity = 'warning';
        out.push(f);
      }
    }
    return out;
  },
};

const counterRate: Rule = {
  id: 'counter-rate',
  severity: 'error',
  summary: 'error counters that grew between two samples',
  run(ctx) {
    const samples = ctx.snapshot.counters;
    if (samples.length < 2) return { notRun: 'needs two counter samples (got ' + samples.length + ')' };
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const secs = (Date.parse(last.takenAt) - Date.parse(first.takenAt)) / 1000;
    // Error counters are in the PortCounters entries; a port's 64-bit entry (extended) has data counters only.
    const before = new Map(first.ports.filter((p) => !p.extended).map((p) => [`${p.node}/${p.port}`, p]));
    const out: RawFinding[] = [];
    for (const pc of last.ports) {
      if (pc.extended) continue;
      const prev = before.get(`${pc.node}/${pc.port}`);
      const n = ctx.index.node(pc.node);
      if (!prev || !n) continue;
      for (const [name, allowed] of Object.entries(ctx.config.rate.counters)) {
        const a = prev.counters[name];
        const b = pc.counters[name];
        if (a === undefined || b === undefined || b < a) continue; // a reset in between is not growth
        const grew = b - a;
        if (grew <= allowed) continue;
        const per = Number.isFinite(secs) && secs > 0 ? ` (${(Number(grew) / secs).toPrecision(3)}/s)` : '';
        out.push({ rule: 'counter-rate', node: nodeRef(n), port: pc.port, message: `${name} grew by ${grew} from ${a} to ${b} in ${Number.isFinite(secs) ? secs.toFixed(1) : '?'} s${per}` });
      }
    }
    return out;
  },
};

const counterSaturated: Rule = {
  id: 'counter-saturated',
  severity: 'warning',
  summary: 'a counter stuck at its maximum value: the real count is unknown (reset it)',
  run(ctx) {
    const s = latest(ctx);
    if (!s) return { notRun: 'no port counters in the input' };
    const out: RawFinding[] = [];
    for (const pc of s.ports) {
      const n = ctx.index.node(pc.node);
      if (!n) continue;
      for (const [name, v] of Object.entries(pc.counters)) {
        const max = counterMax(name, pc.extended ?? false);
        if (v === max) out.push({ rule: 'counter-saturated', node: nodeRef(n), port: pc.port, message: `${name} is at its maximum ${v}: the real count is unknown; reset the counter (perfquery -R)` });
      }
    }
    return out;
  },
};

function smNode(ctx: RuleContext, guid: bigint): FabricNode | undefined {
  return ctx.fabric.nodes.find((n) => n.ports.some((p) => p.guid === guid) || n.portGuid === guid || n.guid === guid);
}

const smMaster: Rule = {
  id: 'sm-master',
  severity: 'error',
  summary: 'not exactly one master subnet manager',
  run(ctx) {
    const sms = ctx.snapshot.subnetManagers;
    if (!sms) return { notRun: 'no subnet manager information in the input' };
    const masters = sms.filter((s) => s.state === 'master');
    if (masters.length === 1) return [];
    const n = masters[0] ? smNode(ctx, masters[0].guid) : undefined;
    return [
      {
        rule: 'sm-master',
        node: n ? nodeRef(n) : null,
        port: null,
        message:
          masters.length === 0
            ? `no master subnet manager (${sms.length} SM(s) seen${sms.length ? ': ' + sms.map((s) => `${formatGuid(s.guid)} ${s.state}`).join(', ') : ''})`
            : `${masters.length} master subnet managers: ${masters.map((s) => `${formatGuid(s.guid)} (LID ${s.lid ?? '?'})`).join(', ')}`,
      },
    ];
  },
};

const smStandby: Rule = {
  id: 'sm-standby',
  severity: 'warning',
  summary: 'fewer standby subnet managers than configured (sm.minStandby)',
  run(ctx) {
    const sms = ctx.snapshot.subnetManagers;
    if (!sms) return { notRun: 'no subnet manager information in the input' };
    const standby = sms.filter((s) => s.state === 'standby').length;
    const want = ctx.config.sm.minStandby;
    if (standby >= want) return [];
    return [{ rule: 'sm-standby', node: null, port: null, message: `${standby} standby subnet manager(s), configuration asks for at least ${want}` }];
  },
};

function diffNodeRef(d: DiffNode): { guid: string; description: string } {
  return { guid: d.guid, description: d.description };
}
function endText(e: DiffEnd): string {
  return `"${e.description || e.guid}" port ${e.port}`;
}

function topo(id: RuleId, summary: string, severity: Severity, f: (d: TopologyDiff) => RawFinding[]): Rule {
  return {
    id,
    severity,
    summary,
    run(ctx) {
      if (!ctx.diff) return { notRun: 'no reference topology' };
      return f(ctx.diff);
    },
  };
}

const topologyRules: Rule[] = [
  topo('topology-missing-node', 'a node of the reference topology was not found', 'error', (d) =>
    d.missingNodes.map((n) => ({ rule: 'topology-missing-node', node: diffNodeRef(n), port: null, message: `${n.type} in the reference topology (with ${n.links} link(s)) was not found in the fabric` })),
  ),
  topo('topology-extra-node', 'a node not in the reference topology', 'warning', (d) =>
    d.extraNodes.map((n) => ({ rule: 'topology-extra-node', node: diffNodeRef(n), port: null, message: `${n.type} with ${n.links} link(s) is not in the reference topology` })),
  ),
  topo('topology-missing-link', 'a link of the reference topology is missing', 'error', (d) =>
    d.missingLinks.map((l) => ({ rule: 'topology-missing-link', node: diffNodeRef(l.a), port: l.a.port, remote: { ...diffNodeRef(l.b), port: l.b.port }, message: `link ${endText(l.a)} <-> ${endText(l.b)} of the reference topology is missing` })),
  ),
  topo('topology-extra-link', 'a link not in the reference topology', 'warning', (d) =>
    d.extraLinks.map((l) => ({ rule: 'topology-extra-link', node: diffNodeRef(l.a), port: l.a.port, remote: { ...diffNodeRef(l.b), port: l.b.port }, message: `link ${endText(l.a)} <-> ${endText(l.b)} is not in the reference topology` })),
  ),
  topo('topology-moved-link', 'a cable plugged into other ports than in the reference', 'error', (d) =>
    d.movedLinks.map((m) => ({
      rule: 'topology-moved-link',
      node: diffNodeRef(m.current.a),
      port: m.current.a.port,
      remote: { ...diffNodeRef(m.current.b), port: m.current.b.port },
      message: `cable moved: the reference has ${endText(m.reference.a)} <-> ${endText(m.reference.b)}, the fabric has ${endText(m.current.a)} <-> ${endText(m.current.b)}`,
    })),
  ),
  topo('topology-description', 'a node description differs from the reference', 'info', (d) =>
    d.descriptionChanges.map((c) => ({ rule: 'topology-description', node: diffNodeRef(c.node), port: null, message: `description "${c.current}" differs from the reference "${c.reference}"` })),
  ),
];

const duplicateDescription: Rule = {
  id: 'duplicate-description',
  severity: 'warning',
  summary: 'two nodes with the same description',
  run(ctx) {
    const by = new Map<string, FabricNode[]>();
    for (const n of ctx.fabric.nodes) {
      const d = displayName(n);
      if (d === '') continue;
      by.set(d, [...(by.get(d) ?? []), n]);
    }
    return [...by]
      .filter(([, l]) => l.length > 1)
      .map(([d, l]) => ({
        rule: 'duplicate-description' as const,
        node: nodeRef(l[1]!),
        port: null,
        message: `description "${d}" is used by ${l.length} nodes: ${l.map((n) => `${n.type} ${n.id}`).join(', ')}`,
      }));
  },
};

const discoveryError: Rule = {
  id: 'discovery-error',
  severity: 'warning',
  summary: 'parts of the fabric that discovery could not read (timeouts, unreachable ports)',
  run(ctx) {
    return ctx.fabric.errors.map((e) => {
      const n = e.node ? ctx.index.node(e.node) : undefined;
      return {
        rule: 'discovery-error' as const,
        node: n ? nodeRef(n) : null,
        port: e.port ?? null,
        message: `${e.kind}: ${e.message}${e.drPath ? ` (DR path ${drText(e.drPath)})` : ''}`,
      };
    });
  },
};

export const RULES: readonly Rule[] = [
  duplicateGuid,
  duplicateLid,
  lidInvalid,
  lmcInconsistent,
  degraded('width', 'link-degraded-width'),
  degraded('speed', 'link-degraded-speed'),
  linkMismatch,
  portNotActive,
  portPolling,
  counterThreshold,
  counterRate,
  counterSaturated,
  smMaster,
  smStandby,
  ...topologyRules,
  duplicateDescription,
  discoveryError,
  ...ROUTING_RULES,
];

/** Compute the diff a rule context needs (exported for the CLI's diff-based commands). */
export function contextDiff(reference: Fabric | undefined, fabric: Fabric): TopologyDiff | undefined {
  return reference ? diffTopology(reference, fabric) : undefined;
}
