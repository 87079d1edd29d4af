/**
 * Slurm `topology.conf` for the tree plugin (`TopologyPlugin=topology/tree`)
 * from the fabric model: one `SwitchName=` line per switch, leaf switches
 * with their hosts in `Nodes=`, upper switches with the switches below them
 * in `Switches=`, both in Slurm's compressed hostlist syntax.
 *
 * Rules (documented in README.md "Slurm topology"):
 * - Host name of a CA: its name in the node-name map (by node GUID, or a
 *   name already set on the node from one), else the `hostnamePattern`
 *   match on the node description (named group `host`, else group 1, else
 *   the whole match), else the first word of the node description. A CA
 *   whose name cannot be derived (empty or vendor-default description,
 *   pattern does not match, not a valid Slurm node name) is left out with a
 *   warning. CAs with the same host name are one host (two HCAs).
 * - Levels: hosts 0; leaves (1) are the switches a named host is cabled
 *   to; every other switch is one more than its nearest leaf (hops over
 *   switch-to-switch links). A switch lists, in `Switches=`, the neighbours
 *   one level below it; links between switches of the same level are not
 *   part of the tree. Switches that reach no leaf are omitted; a switch
 *   cabled to CAs none of which has a name is an upper switch only right
 *   above a leaf (level 2), else omitted.
 * - A host seen on more than one leaf (dual-port HCA, two HCAs) is listed
 *   once: under the leaf of its first port (lowest node GUID, then lowest
 *   port number), or with `dualRail: 'parent'` under the lowest switches
 *   common to all its leaves. Slurm's tree plugin only takes nodes on leaf
 *   entries, so those hosts go into an extra leaf entry `<parent>-dual`
 *   listed in the `Switches=` of each of those common switches. A warning
 *   names every such host.
 * - Switch names: node-name map, else the node description (the host part
 *   of Mellanox/NVIDIA `MF0;name:model/U1` descriptions), with characters
 *   other than letters, digits, `.`, `_`, `-` replaced by `_`; empty
 *   descriptions become `switch-<guid>`; names shared by several switches
 *   get `-<guid>` appended to each.
 * - `linkSpeed`: `LinkSpeed=` is the nominal data rate in Gb/s (4X EDR =
 *   100) most common among the switch's links to its children. Slurm
 *   stores it but does not use it for placement.
 */
import { InvalidArgumentError } from '../../errors.js';
import { compareHostnames, compressHostlist, sortHostnames } from './hostlist.js';
import type { Fabric, FabricNode, LinkSpeed, LinkWidth } from './model.js';
import { WIDTH_LANES } from './model.js';
import type { NodeNameMap } from './nodenamemap.js';

export type DualRailRule = 'first' | 'parent';
export const DUAL_RAIL_RULES: readonly DualRailRule[] = ['first', 'parent'];

export interface SlurmTopologyOptions {
  /** Names by node GUID (opensm node-name map); wins over everything else. */
  nodeNameMap?: NodeNameMap;
  /** Host name from the CA's node description: named group `host`, else group 1, else the whole match. */
  hostnamePattern?: RegExp | string;
  /** Where a host cabled to more than one leaf goes (default 'first'). */
  dualRail?: DualRailRule;
  /** Write `LinkSpeed=` (nominal Gb/s). */
  linkSpeed?: boolean;
}

export type SlurmWarningKind = 'unnamed-host' | 'unattached-host' | 'dual-rail' | 'switch-name' | 'separate-trees';

export interface SlurmWarning {
  kind: SlurmWarningKind;
  message: string;
  /** FabricNode ids concerned. */
  nodes: string[];
}

export interface SlurmSwitch {
  name: string;
  /** FabricNode.id; undefined for the extra `-dual` leaf entries. */
  node?: string;
  /** 1 = leaf (hosts are 0). */
  level: number;
  /** Host names (leaves only), sorted. */
  nodes: string[];
  /** Names of the switches below, sorted. */
  switches: string[];
  linkSpeed?: number;
}

export interface SlurmTopology {
  /** topology.conf text. */
  text: string;
  warnings: SlurmWarning[];
  /** The switches written, in file order. */
  switches: SlurmSwitch[];
  /** Host name -> name of the switch that lists it. */
  hosts: Map<string, string>;
}

/** Nominal per-lane data rate in Gb/s (what vendors print on the cable: 4X EDR = 100). */
const NOMINAL_GBPS: Record<LinkSpeed, number> = { SDR: 2.5, DDR: 5, QDR: 10, FDR10: 10, FDR: 14, EDR: 25, HDR: 50, NDR: 100, XDR: 200 };

const SLURM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Descriptions that are a vendor default, not a host name (ConnectX firmware, ibsim, OFED defaults). */
const VENDOR_DEFAULT = /^(MT\d+\b|Mellanox\b|NVIDIA\b|ConnectX|mlx\d+_\d+\b)/i;

function guidHex(n: FabricNode): string {
  return n.guid.toString(16).padStart(16, '0');
}

function compilePattern(p: RegExp | string): RegExp {
  // exec() on a global or sticky expression would carry lastIndex from one CA to the next.
  if (p instanceof RegExp) return p.global || p.sticky ? new RegExp(p.source, p.flags.replace(/[gy]/g, '')) : p;
  try {
    return new RegExp(p);
  } catch (e) {
    throw new InvalidArgumentError(`hostname pattern: invalid regular expression '${p}': ${(e as Error).message}`);
  }
}

function describe(n: FabricNode): string {
  return `${n.type === 'Switch' ? 'switch' : 'CA'} 0x${guidHex(n)} "${n.description}"`;
}

/** Host name of a CA, or why there is none. */
function hostName(n: FabricNode, o: SlurmTopologyOptions, re: RegExp | undefined): { name: string } | { why: string } {
  let name = o.nodeNameMap?.get(n.guid) ?? n.name;
  let from = 'node-name map';
  if (name === undefined && re) {
    const m = re.exec(n.description);
    if (!m) return { why: 'the hostname pattern does not match its node description' };
    name = m.groups?.['host'] ?? m[1] ?? m[0];
    from = 'hostname pattern';
  }
  if (name === undefined) {
    const desc = n.description.trim();
    if (desc === '') return { why: 'its node description is empty' };
    if (VENDOR_DEFAULT.test(desc)) return { why: 'its node description is a vendor default, not a host name' };
    name = desc.split(/\s+/)[0]!;
    from = 'node description';
  }
  if (!SLURM_NAME.test(name)) return { why: `'${name}' (from the ${from}) is not a valid Slurm node name` };
  return { name };
}

function switchBaseName(n: FabricNode, o: SlurmTopologyOptions): string {
  let s = o.nodeNameMap?.get(n.guid) ?? n.name ?? n.description.trim();
  const mf = /^MF0;([^:]+):/.exec(s);
  if (mf) s = mf[1]!;
  s = s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.-]+|_+$/g, '');
  return s === '' ? `switch-${guidHex(n)}` : s;
}

function gbps(width: LinkWidth | undefined, speed: LinkSpeed | undefined): number | undefined {
  if (!width || !speed) return undefined;
  return Math.round(WIDTH_LANES[width] * NOMINAL_GBPS[speed]);
}

/** Most common value (ties: the larger), undefined when empty. */
function mode(values: number[]): number | undefined {
  const count = new Map<number, number>();
  for (const v of values) count.set(v, (count.get(v) ?? 0) + 1);
  let best: number | undefined;
  for (const [v, c] of count) if (best === undefined || c > count.get(best)! || (c === count.get(best)! && v > best)) best = v;
  return best;
}

interface Attachment {
  host: string;
  ca: FabricNode;
  port: number;
  leaf: string;
  rate?: number;
}

export function toSlurmTopology(fabric: Fabric, options: SlurmTopologyOptions = {}): SlurmTopology {
  const dualRail = options.dualRail ?? 'first';
  if (!DUAL_RAIL_RULES.includes(dualRail)) {
    throw new InvalidArgumentError(`dual-rail rule: expected one of ${DUAL_RAIL_RULES.join(', ')}, got '${String(dualRail)}'`);
  }
  const re = options.hostnamePattern !== undefined ? compilePattern(options.hostnamePattern) : undefined;
  const warnings: SlurmWarning[] = [];
  const byId = new Map(fabric.nodes.map((n) => [n.id, n]));
  const switches = fabric.nodes.filter((n) => n.type === 'Switch');

  // Hosts and the leaves they are cabled to, in first-port order.
  const attachments: Attachment[] = [];
  const cas = fabric.nodes
    .filter((n) => n.type === 'CA')
    .sort((a, b) => (a.guid < b.guid ? -1 : a.guid > b.guid ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const ca of cas) {
    const h = hostName(ca, options, re);
    if ('why' in h) {
      warnings.push({ kind: 'unnamed-host', message: `${describe(ca)} left out: ${h.why}`, nodes: [ca.id] });
      continue;
    }
    let attached = false;
    for (const p of ca.ports) {
      const peer = p.remote && byId.get(p.remote.node);
      if (!peer || peer.type !== 'Switch') continue;
      const sp = peer.ports.find((q) => q.portNum === p.remote!.port);
      const rate = gbps(sp?.width.active ?? p.width.active, sp?.speed.active ?? p.speed.active);
      attachments.push({ host: h.name, ca, port: p.portNum, leaf: peer.id, ...(rate !== undefined ? { rate } : {}) });
      attached = true;
    }
    if (!attached) warnings.push({ kind: 'unattached-host', message: `${describe(ca)} (host ${h.name}) left out: not cabled to a switch`, nodes: [ca.id] });
  }

  // Levels: leaves 1, others by distance to the nearest leaf over switch links.
  const switchLinks = new Map<string, Array<{ peer: string; rate?: number }>>();
  for (const s of switches) {
    const l: Array<{ peer: string; rate?: number }> = [];
    for (const p of s.ports) {
      const peer = p.remote && byId.get(p.remote.node);
      if (!peer || peer.type !== 'Switch' || peer.id === s.id) continue;
      const rate = gbps(p.width.active, p.speed.active);
      l.push({ peer: peer.id, ...(rate !== undefined ? { rate } : {}) });
    }
    switchLinks.set(s.id, l);
  }
  // A switch cabled to CAs without a name is no leaf; it is an upper switch
  // only right above a leaf (a spine with an unnamed storage server, not a
  // leaf of unnamed CAs above the spines).
  const withCas = new Set<string>();
  for (const n of fabric.nodes) if (n.type !== 'Switch') for (const p of n.ports) if (p.remote) withCas.add(p.remote.node);
  const level = new Map<string, number>();
  let frontier = [...new Set(attachments.map((a) => a.leaf))];
  for (const id of frontier) level.set(id, 1);
  for (let lv = 2; frontier.length; lv++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const { peer } of switchLinks.get(id)!) {
        if (!level.has(peer) && (lv === 2 || !withCas.has(peer))) {
          level.set(peer, lv);
          next.push(peer);
        }
      }
    }
    frontier = next;
  }

  // Names.
  const names = new Map<string, string>();
  const byBase = new Map<string, FabricNode[]>();
  for (const s of switches) {
    if (!level.has(s.id)) continue;
    const b = switchBaseName(s, options);
    const l = byBase.get(b);
    if (l) l.push(s);
    else byBase.set(b, [s]);
  }
  for (const [base, l] of byBase) {
    if (l.length === 1) {
      names.set(l[0]!.id, base);
      continue;
    }
    for (const s of l) names.set(s.id, `${base}-${guidHex(s)}`);
    warnings.push({
      kind: 'switch-name',
      message: `${l.length} switches share the name '${base}': written as ${l.map((s) => names.get(s.id)).join(', ')}`,
      nodes: l.map((s) => s.id),
    });
  }
  const taken = new Set(names.values());

  // Parents (neighbours one level up) and children (one level down).
  const up = (id: string) => [...new Set(switchLinks.get(id)!.filter((x) => level.get(x.peer) === level.get(id)! + 1).map((x) => x.peer))];

  // Hosts to leaves.
  const entries = new Map<string, SlurmSwitch>();
  const entry = (id: string): SlurmSwitch => {
    let e = entries.get(id);
    if (!e) entries.set(id, (e = { name: names.get(id)!, node: id, level: level.get(id)!, nodes: [], switches: [] }));
    return e;
  };
  const extraLeaves = new Map<string, { entry: SlurmSwitch; parents: string[] }>();
  const hostLeaves = new Map<string, Attachment[]>();
  for (const a of attachments) {
    const l = hostLeaves.get(a.host);
    if (l) l.push(a);
    else hostLeaves.set(a.host, [a]);
  }
  const hosts = new Map<string, string>();
  const leafRates = new Map<string, number[]>();
  for (const [host, atts] of hostLeaves) {
    const leaves = [...new Set(atts.map((a) => a.leaf))];
    let target = leaves[0]!;
    if (leaves.length > 1) {
      const where = leaves.map((l) => names.get(l)).join(', ');
      const ids = [...new Set(atts.map((a) => a.ca.id))];
      let common: string[] = [];
      if (dualRail === 'parent') {
        // Switches above every leaf of the host; keep the lowest of them.
        const above = leaves.map((l) => {
          const seen = new Set<string>();
          for (let f = [l]; f.length; ) f = f.flatMap(up).filter((x) => !seen.has(x) && (seen.add(x), true));
          return seen;
        });
        const all = [...above[0]!].filter((x) => above.every((s) => s.has(x)));
        const low = Math.min(...all.map((x) => level.get(x)!));
        common = all.filter((x) => level.get(x) === low).sort((a, b) => compareHostnames(names.get(a)!, names.get(b)!));
      }
      if (common.length === 0) {
        warnings.push({
          kind: 'dual-rail',
          message:
            `host ${host} is cabled to ${leaves.length} leaves (${where}): listed under ${names.get(target)} (its first port)` +
            (dualRail === 'parent' ? ', they have no common parent switch' : ''),
          nodes: ids,
        });
      } else {
        const key = common.join('\u0000');
        let x = extraLeaves.get(key);
        if (!x) {
          let name = `${names.get(common[0]!)}-dual`;
          for (let i = 2; taken.has(name); i++) name = `${names.get(common[0]!)}-dual${i}`;
          taken.add(name);
          x = { entry: { name, level: 1, nodes: [], switches: [] }, parents: common };
          extraLeaves.set(key, x);
        }
        x.entry.nodes.push(host);
        hosts.set(host, x.entry.name);
        for (const a of atts) if (a.rate !== undefined) (leafRates.get(x.entry.name) ?? leafRates.set(x.entry.name, []).get(x.entry.name)!).push(a.rate);
        warnings.push({
          kind: 'dual-rail',
          message: `host ${host} is cabled to ${leaves.length} leaves (${where}): listed under ${x.entry.name}, below ${common.map((c) => names.get(c)).join(', ')}`,
          nodes: ids,
        });
        continue;
      }
    }
    entry(target).nodes.push(host);
    hosts.set(host, names.get(target)!);
    for (const a of atts) if (a.leaf === target && a.rate !== undefined) (leafRates.get(target) ?? leafRates.set(target, []).get(target)!).push(a.rate);
  }

  // Upper switches, bottom up: a switch is written when something below it is.
  const ordered = switches.filter((s) => level.has(s.id)).sort((a, b) => level.get(a.id)! - level.get(b.id)!);
  const upperRates = new Map<string, number[]>();
  for (const s of ordered) {
    const lv = level.get(s.id)!;
    if (lv === 1) continue;
    const kids = new Set<string>();
    const rates: number[] = [];
    for (const x of switchLinks.get(s.id)!) {
      if (level.get(x.peer) !== lv - 1 || !entries.has(x.peer)) continue;
      kids.add(names.get(x.peer)!);
      if (x.rate !== undefined) rates.push(x.rate);
    }
    for (const { entry: e, parents } of extraLeaves.values()) if (parents.includes(s.id)) kids.add(e.name);
    if (kids.size === 0) continue;
    const e = entry(s.id);
    e.switches = [...kids];
    upperRates.set(s.id, rates);
  }

  const out: SlurmSwitch[] = [...entries.values(), ...[...extraLeaves.values()].map((x) => x.entry)];
  for (const e of out) {
    e.nodes = sortHostnames(e.nodes);
    e.switches = sortHostnames(e.switches);
    if (options.linkSpeed) {
      const r = mode(e.level === 1 ? (leafRates.get(e.node ?? e.name) ?? []) : (upperRates.get(e.node!) ?? []));
      if (r !== undefined) e.linkSpeed = r;
    }
  }
  out.sort((a, b) => a.level - b.level || compareHostnames(a.name, b.name));

  // Separate trees: Slurm will not place one job across them.
  const root = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (root.get(r) !== r) r = root.get(r)!;
    while (x !== r) {
      const next = root.get(x)!;
      root.set(x, r);
      x = next;
    }
    return r;
  };
  for (const e of out) root.set(e.name, e.name);
  for (const e of out) for (const c of e.switches) root.set(find(c), find(e.name));
  const tops = [...new Set(out.map((e) => find(e.name)))];
  if (tops.length > 1) {
    warnings.push({
      kind: 'separate-trees',
      message: `the switches form ${tops.length} separate trees (tops: ${tops.sort(compareHostnames).join(', ')}): Slurm will not place a job across them`,
      nodes: [],
    });
  }

  const lines = [
    `# Slurm topology.conf (TopologyPlugin=topology/tree) written by hpcnet: ${out.length} switch${out.length === 1 ? '' : 'es'}, ${hosts.size} host${hosts.size === 1 ? '' : 's'}`,
    ...out.map(
      (e) =>
        `SwitchName=${e.name}` +
        (e.nodes.length ? ` Nodes=${compressHostlist(e.nodes)}` : '') +
        (e.switches.length ? ` Switches=${compressHostlist(e.switches)}` : '') +
        (e.linkSpeed !== undefined ? ` LinkSpeed=${e.linkSpeed}` : ''),
    ),
  ];
  return { text: lines.join('\n') + '\n', warnings, switches: out, hosts };
}
