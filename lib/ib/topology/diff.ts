/**
 * Topology diff: a reference fabric against a current one. Nodes are
 * matched by node GUID (several nodes with one GUID are paired in order);
 * links by (GUID, port, GUID, port). A reference link that is gone while a
 * new link keeps one of its ends (same node and port), or joins the same
 * two nodes on other ports, is reported as a moved cable rather than as a
 * missing plus an extra link. Links of nodes that are missing or extra
 * altogether are counted on the node, not listed again as links.
 */
import { formatGuid } from '../../util/format.js';
import { FabricIndex, compareWidth, displayName, type Fabric, type FabricNode, type LinkSpeed, type LinkWidth, type NodeType } from './model.js';

export interface DiffNode {
  id: string;
  guid: string;
  type: NodeType;
  description: string;
}

export interface DiffEnd extends DiffNode {
  port: number;
}

export interface DiffLink {
  a: DiffEnd;
  b: DiffEnd;
}

export interface TopologyDiff {
  missingNodes: Array<DiffNode & { links: number }>;
  extraNodes: Array<DiffNode & { links: number }>;
  missingLinks: DiffLink[];
  extraLinks: DiffLink[];
  /** `kept` is the end that did not move (or the first end when both nodes stayed). */
  movedLinks: Array<{ reference: DiffLink; current: DiffLink }>;
  widthChanges: Array<{ link: DiffLink; reference: LinkWidth; current: LinkWidth }>;
  speedChanges: Array<{ link: DiffLink; reference: LinkSpeed; current: LinkSpeed }>;
  descriptionChanges: Array<{ node: DiffNode; reference: string; current: string }>;
}

export function isEmptyDiff(d: TopologyDiff): boolean {
  return (
    d.missingNodes.length + d.extraNodes.length + d.missingLinks.length + d.extraLinks.length + d.movedLinks.length +
      d.widthChanges.length + d.speedChanges.length + d.descriptionChanges.length ===
    0
  );
}

function dn(n: FabricNode): DiffNode {
  return { id: n.id, guid: formatGuid(n.guid), type: n.type, description: displayName(n) };
}

/** Pair nodes of both fabrics by GUID (in order when duplicated). Returns ref id -> cur id. */
function matchNodes(ref: Fabric, cur: Fabric): Map<string, string> {
  const curByGuid = new Map<bigint, FabricNode[]>();
  for (const n of cur.nodes) curByGuid.set(n.guid, [...(curByGuid.get(n.guid) ?? []), n]);
  const m = new Map<string, string>();
  for (const n of ref.nodes) {
    const l = curByGuid.get(n.guid);
    const c = l?.shift();
    if (c) m.set(n.id, c.id);
  }
  return m;
}

interface Ends {
  key: string;
  a: { node: string; port: number };
  b: { node: string; port: number };
}

export function diffTopology(reference: Fabric, current: Fabric): TopologyDiff {
  const ri = new FabricIndex(reference);
  const ci = new FabricIndex(current);
  const r2c = matchNodes(reference, current);
  const c2r = new Map([...r2c].map(([r, c]) => [c, r]));
  const d: TopologyDiff = {
    missingNodes: [],
    extraNodes: [],
    missingLinks: [],
    extraLinks: [],
    movedLinks: [],
    widthChanges: [],
    speedChanges: [],
    descriptionChanges: [],
  };
  const linkCount = (f: Fabric, id: string) => f.links.filter((l) => l.a.node === id || l.b.node === id).length;
  for (const n of reference.nodes) if (!r2c.has(n.id)) d.missingNodes.push({ ...dn(n), links: linkCount(reference, n.id) });
  for (const n of current.nodes) if (!c2r.has(n.id)) d.extraNodes.push({ ...dn(n), links: linkCount(current, n.id) });

  // Links in the current fabric's id space (reference links translated through the node match).
  const key = (a: { node: string; port: number }, b: { node: string; port: number }) => {
    const x = `${a.node}/${a.port}`;
    const y = `${b.node}/${b.port}`;
    return x < y ? `${x}|${y}` : `${y}|${x}`;
  };
  const refLinks: Ends[] = [];
  for (const l of reference.links) {
    const a = r2c.get(l.a.node);
    const b = r2c.get(l.b.node);
    if (!a || !b) continue; // counted on the missing node
    const ends = { a: { node: a, port: l.a.port }, b: { node: b, port: l.b.port } };
    refLinks.push({ key: key(ends.a, ends.b), ...ends });
  }
  const curLinks: Ends[] = [];
  for (const l of current.links) {
    if (!c2r.has(l.a.node) || !c2r.has(l.b.node)) continue; // counted on the extra node
    curLinks.push({ key: key(l.a, l.b), a: { ...l.a }, b: { ...l.b } });
  }
  const curKeys = new Map(curLinks.map((l) => [l.key, l]));
  const refKeys = new Set(refLinks.map((l) => l.key));
  const missing = refLinks.filter((l) => !curKeys.has(l.key));
  const extra = curLinks.filter((l) => !refKeys.has(l.key));

  const dlCur = (e: Ends): DiffLink => ({
    a: { ...dn(ci.node(e.a.node)!), port: e.a.port },
    b: { ...dn(ci.node(e.b.node)!), port: e.b.port },
  });
  // Reference links are described with the reference's node data (ids of the reference).
  const dlRef = (e: Ends): DiffLink => ({
    a: { ...dn(ri.node(c2r.get(e.a.node)!)!), port: e.a.port },
    b: { ...dn(ri.node(c2r.get(e.b.node)!)!), port: e.b.port },
  });
  const sameEnd = (x: { node: string; port: number }, y: { node: string; port: number }) => x.node === y.node && x.port === y.port;
  const usedExtra = new Set<Ends>();
  const stillMissing: Ends[] = [];
  const sameNodes = (x: Ends, m: Ends) => (x.a.node === m.a.node && x.b.node === m.b.node) || (x.a.node === m.b.node && x.b.node === m.a.node);
  const sharesEnd = (x: Ends, m: Ends) => sameEnd(x.a, m.a) || sameEnd(x.a, m.b) || sameEnd(x.b, m.a) || sameEnd(x.b, m.b);
  for (const m of missing) {
    // Prefer a new link between the same two nodes that keeps one end (a cable moved to another port of
    // the same switch), then the same two nodes, then any link keeping one end.
    const free = extra.filter((x) => !usedExtra.has(x));
    const e = free.find((x) => sharesEnd(x, m) && sameNodes(x, m)) ?? free.find((x) => sameNodes(x, m)) ?? free.find((x) => sharesEnd(x, m));
    if (e) {
      usedExtra.add(e);
      d.movedLinks.push({ reference: orient(dlRef(m), dlCur(e)), current: orientCur(dlCur(e), dlRef(m)) });
    } else stillMissing.push(m);
  }
  d.missingLinks = stillMissing.map(dlRef);
  d.extraLinks = extra.filter((x) => !usedExtra.has(x)).map(dlCur);

  // Width/speed of links present in both.
  for (const l of refLinks) {
    const c = curKeys.get(l.key);
    if (!c) continue;
    const rp = [ri.port({ node: c2r.get(l.a.node)!, port: l.a.port }), ri.port({ node: c2r.get(l.b.node)!, port: l.b.port })];
    const cp = [ci.port(l.a), ci.port(l.b)];
    const rw = rp[0]?.width.active ?? rp[1]?.width.active;
    const cw = minOf(cp[0]?.width.active, cp[1]?.width.active, compareWidth);
    if (rw && cw && rw !== cw) d.widthChanges.push({ link: dlCur(l), reference: rw, current: cw });
    const rs = rp[0]?.speed.active ?? rp[1]?.speed.active;
    const cs = cp[0]?.speed.active ?? cp[1]?.speed.active;
    if (rs && cs && rs !== cs) d.speedChanges.push({ link: dlCur(l), reference: rs, current: cs });
  }
  for (const [r, c] of r2c) {
    const rn = ri.node(r)!;
    const cn = ci.node(c)!;
    const a = displayName(rn);
    const b = displayName(cn);
    if (a !== '' && b !== '' && a !== b) d.descriptionChanges.push({ node: dn(cn), reference: a, current: b });
  }
  return d;
}

function minOf<T>(a: T | undefined, b: T | undefined, cmp: (x: T, y: T) => number): T | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return cmp(a, b) <= 0 ? a : b;
}

/** Put the end shared with `other` first, so "a" is the end that stayed. */
function orient(l: DiffLink, other: DiffLink): DiffLink {
  const stays = (e: DiffEnd) => [other.a, other.b].some((o) => o.guid === e.guid && o.port === e.port);
  return stays(l.b) && !stays(l.a) ? { a: l.b, b: l.a } : l;
}
function orientCur(l: DiffLink, ref: DiffLink): DiffLink {
  return orient(l, ref);
}

function end(e: DiffEnd): string {
  return `${e.guid}[${e.port}] "${e.description}"`;
}

/** Human-readable diff, one line per difference (empty string when equal). */
export function diffToText(d: TopologyDiff): string {
  const out: string[] = [];
  for (const n of d.missingNodes) out.push(`missing node      ${n.type} ${n.guid} "${n.description}" (${n.links} link(s))`);
  for (const n of d.extraNodes) out.push(`extra node        ${n.type} ${n.guid} "${n.description}" (${n.links} link(s))`);
  for (const l of d.missingLinks) out.push(`missing link      ${end(l.a)} <-> ${end(l.b)}`);
  for (const l of d.extraLinks) out.push(`extra link        ${end(l.a)} <-> ${end(l.b)}`);
  for (const m of d.movedLinks) {
    out.push(`moved link        ${end(m.reference.a)}: was to ${end(m.reference.b)}, now ${end(m.current.a)} <-> ${end(m.current.b)}`);
  }
  for (const c of d.widthChanges) out.push(`width changed     ${end(c.link.a)} <-> ${end(c.link.b)}: ${c.reference} -> ${c.current}`);
  for (const c of d.speedChanges) out.push(`speed changed     ${end(c.link.a)} <-> ${end(c.link.b)}: ${c.reference} -> ${c.current}`);
  for (const c of d.descriptionChanges) out.push(`description       ${c.node.guid}: "${c.reference}" -> "${c.current}"`);
  return out.length ? out.join('\n') + '\n' : '';
}
