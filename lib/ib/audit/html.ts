/**
 * The HTML audit report: one self-contained file (inline style and script,
 * no network access) with the summary, a findings table (filter by
 * severity, rule and state; sortable; each row links to its place in the
 * topology and back) and a topology view that scales:
 *
 * - leveled fabrics (fat trees: every switch-to-switch link joins adjacent
 *   levels, counted in hops from the hosts) as one switch-to-switch matrix
 *   per pair of adjacent levels (leaves x spines, ...), a cell per pair of
 *   switches with the number of parallel links, coloured by the worst
 *   finding on them; pairs with fewer links than most pairs of the matrix
 *   are marked missing;
 * - per switch with hosts, its ports as a compact row of cells (host link
 *   active, unlinked, or the worst finding);
 * - other fabrics (rings, meshes, small irregular ones) as a graph of the
 *   switches laid out without overlap, up to GRAPH_MAX_NODES nodes, beyond
 *   that as one sparse switch-to-switch matrix.
 *
 * Cells without findings carry no text; their tooltips are made on hover
 * from the embedded data, which keeps an 8,192-host report small.
 */
import { formatGuid } from '../../util/format.js';
import { displayName, type Fabric, type FabricNode, type FabricPort } from '../topology/model.js';
import { SEVERITIES, type AuditReport, type Finding, type RuleId, type Severity } from './types.js';

/** Non-leveled fabrics with more graph nodes than this are drawn as a matrix. */
export const GRAPH_MAX_NODES = 300;

/** What a cell shows, worst first. */
export type CellState = 'missing' | 'down' | 'degraded' | 'errors' | 'other' | 'ok' | 'unlinked';
export const CELL_STATES: readonly CellState[] = ['missing', 'down', 'degraded', 'errors', 'other', 'ok', 'unlinked'];
const STATE_LABEL: Record<CellState, string> = {
  missing: 'missing link',
  down: 'port down / not active',
  degraded: 'degraded width or speed',
  errors: 'error counters',
  other: 'other finding',
  ok: 'active, no finding',
  unlinked: 'no link',
};
const STATE_COLOR: Record<CellState, string> = {
  missing: '#111827',
  down: '#7c3aed',
  degraded: '#dc2626',
  errors: '#f59e0b',
  other: '#2563eb',
  ok: '#86d49a',
  unlinked: '#e5e7eb',
};
const SEV_COLOR: Record<Severity, string> = { error: '#c81e1e', warning: '#b45309', info: '#2563eb' };

export function cellStateOfRule(rule: RuleId | string): CellState {
  switch (rule) {
    case 'topology-missing-link':
    case 'topology-missing-node':
    case 'topology-moved-link':
    case 'port-polling':
      return 'missing';
    case 'port-not-active':
      return 'down';
    case 'link-degraded-width':
    case 'link-degraded-speed':
    case 'link-mismatch':
      return 'degraded';
    case 'counter-threshold':
    case 'counter-rate':
    case 'counter-saturated':
      return 'errors';
    default:
      return 'other';
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const collator = new Intl.Collator('en', { numeric: true });
const label = (n: FabricNode) => displayName(n) || n.id;
const isEnd = (n: FabricNode) => n.type !== 'Switch';

// ---------------------------------------------------------------------------
// The view model

interface Cell {
  id: string;
  findings: number[];
  state: CellState;
}

interface MatrixCell {
  col: number;
  /** Links as [row switch port, column switch port]. */
  links: Array<[number, number]>;
  cell?: Cell;
  missing?: number;
}

interface Matrix {
  title: string;
  rows: FabricNode[];
  cols: FabricNode[];
  cells: MatrixCell[][];
  expected: number;
  /** Groups of switches joined through the matrix (pods). */
  blocks?: number;
}

interface HostPort {
  port: number;
  peer?: { node: FabricNode; port: number };
  p?: FabricPort;
  cell?: Cell;
}

interface GraphNode {
  n: FabricNode;
  x: number;
  y: number;
  cell?: Cell;
}

interface GraphEdge {
  a: number;
  b: number;
  links: Array<[number, number]>;
  cell?: Cell;
}

export interface TopologyView {
  kind: 'leveled' | 'graph' | 'matrix';
  levels: number;
  matrices: Matrix[];
  hostRows: Array<{ sw: FabricNode; ports: HostPort[]; cell?: Cell }>;
  graph?: { nodes: GraphNode[]; edges: GraphEdge[]; width: number; height: number; r: number };
  /** Finding index to the id of its cell. */
  cellOf: Map<number, string>;
  /** Node-level findings of switches shown only as matrix headings (spines). */
  headCells: Map<string, Cell>;
}

/** Levels in hops from the end nodes (CAs, routers: 0); switches not reached get the level above the highest. */
function levels(fabric: Fabric, adj: Map<string, FabricNode[]>): Map<string, number> {
  const level = new Map<string, number>();
  const queue: FabricNode[] = fabric.nodes.filter(isEnd);
  for (const n of queue) level.set(n.id, 0);
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i]!;
    for (const nb of adj.get(n.id) ?? []) {
      if (level.has(nb.id)) continue;
      level.set(nb.id, level.get(n.id)! + 1);
      queue.push(nb);
    }
  }
  const top = Math.max(0, ...level.values());
  for (const n of fabric.nodes) if (!level.has(n.id)) level.set(n.id, isEnd(n) ? 0 : top + 1);
  return level;
}

/** Build the view: levels, matrices, host rows or graph, and which cell each finding belongs to. */
export function topologyView(fabric: Fabric, findings: readonly Finding[]): TopologyView {
  const byId = new Map(fabric.nodes.map((n) => [n.id, n]));
  const adj = new Map<string, FabricNode[]>();
  for (const l of fabric.links) {
    const a = byId.get(l.a.node);
    const b = byId.get(l.b.node);
    if (!a || !b) continue;
    (adj.get(a.id) ?? adj.set(a.id, []).get(a.id)!).push(b);
    (adj.get(b.id) ?? adj.set(b.id, []).get(b.id)!).push(a);
  }
  const level = levels(fabric, adj);
  const switches = fabric.nodes.filter((n) => n.type === 'Switch');
  let leveled = switches.length > 0;
  for (const l of fabric.links) {
    const a = byId.get(l.a.node);
    const b = byId.get(l.b.node);
    if (!a || !b) continue;
    if (isEnd(a) && isEnd(b)) leveled = false;
    else if (!isEnd(a) && !isEnd(b) && Math.abs(level.get(a.id)! - level.get(b.id)!) !== 1) leveled = false;
  }
  const graphNodes = leveled ? [] : fabric.nodes.filter((n) => n.type === 'Switch' || !(adj.get(n.id) ?? []).some((x) => x.type === 'Switch'));
  const kind: TopologyView['kind'] = leveled ? 'leveled' : graphNodes.length <= GRAPH_MAX_NODES ? 'graph' : 'matrix';
  const view: TopologyView = { kind, levels: 0, matrices: [], hostRows: [], cellOf: new Map(), headCells: new Map() };
  const sorted = (l: FabricNode[]) => [...l].sort((a, b) => collator.compare(label(a), label(b)) || a.id.localeCompare(b.id));

  // where each switch pair's links go: "idA|idB" -> [matrix, row, col] or graph edge
  const linkSlot = new Map<string, { m?: Matrix; r?: number; c?: number; e?: GraphEdge; flip: boolean }>();
  const pairKey = (a: string, b: string) => `${a}|${b}`;

  const addMatrix = (title: string, rows: FabricNode[], cols: FabricNode[], include: (a: FabricNode, b: FabricNode) => boolean, upperOnly: boolean) => {
    const rIdx = new Map(rows.map((n, i) => [n.id, i]));
    const cIdx = new Map(cols.map((n, i) => [n.id, i]));
    const m: Matrix = { title, rows, cols, cells: rows.map(() => []), expected: 0 };
    const at = (r: number, c: number): MatrixCell => {
      const row = m.cells[r]!;
      let mc = row.find((x) => x.col === c);
      if (!mc) row.push((mc = { col: c, links: [] }));
      return mc;
    };
    for (const l of fabric.links) {
      const a = byId.get(l.a.node);
      const b = byId.get(l.b.node);
      if (!a || !b || !include(a, b)) continue;
      let [x, px, y, py] = [a, l.a.port, b, l.b.port];
      if (!rIdx.has(x.id) || !cIdx.has(y.id) || (upperOnly && rIdx.get(x.id)! > cIdx.get(y.id)!)) [x, px, y, py] = [b, l.b.port, a, l.a.port];
      const r = rIdx.get(x.id);
      const c = cIdx.get(y.id);
      if (r === undefined || c === undefined) continue;
      at(r, c).links.push([px, py]);
    }
    for (const [r, row] of m.cells.entries()) {
      for (const mc of row) {
        const s = { m, r, c: mc.col };
        linkSlot.set(pairKey(rows[r]!.id, cols[mc.col]!.id), { ...s, flip: false });
        linkSlot.set(pairKey(cols[mc.col]!.id, rows[r]!.id), { ...s, flip: true });
      }
    }
    // Blocks (pods): switches joined through this matrix's links. A dense block
    // (most of its pairs linked) expects each of its pairs to have the usual
    // number of links; pairs across blocks expect none.
    if (!upperOnly) {
      const R = rows.length;
      const parent = Array.from({ length: R + cols.length }, (_, i) => i);
      const root = (i: number): number => {
        while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
        return i;
      };
      m.cells.forEach((row, r) => row.forEach((mc) => (parent[root(r)] = root(R + mc.col))));
      const blocks = new Map<number, { rows: number[]; cols: number[]; counts: number[] }>();
      const block = (i: number) => blocks.get(root(i)) ?? blocks.set(root(i), { rows: [], cols: [], counts: [] }).get(root(i))!;
      for (let r = 0; r < R; r++) block(r).rows.push(r);
      for (let c = 0; c < cols.length; c++) block(R + c).cols.push(c);
      m.cells.forEach((row, r) => row.forEach((mc) => block(r).counts.push(mc.links.length)));
      for (const bl of blocks.values()) {
        const pairs = bl.rows.length * bl.cols.length;
        if (pairs < 2 || bl.counts.length < 0.5 * pairs) continue;
        const freq = new Map<number, number>();
        for (const k of bl.counts) freq.set(k, (freq.get(k) ?? 0) + 1);
        const expected = [...freq].sort((x, y) => y[1] - x[1] || y[0] - x[0])[0]![0];
        m.expected = Math.max(m.expected, expected);
        for (const r of bl.rows) {
          const have = new Map(m.cells[r]!.map((x) => [x.col, x.links.length]));
          for (const c of bl.cols) {
            if ((have.get(c) ?? 0) >= expected) continue;
            at(r, c).missing = expected - (have.get(c) ?? 0);
            linkSlot.set(pairKey(rows[r]!.id, cols[c]!.id), { m, r, c, flip: false });
            linkSlot.set(pairKey(cols[c]!.id, rows[r]!.id), { m, r, c, flip: true });
          }
        }
      }
      m.blocks = blocks.size;
    }
    for (const row of m.cells) row.sort((a, b) => a.col - b.col);
    view.matrices.push(m);
  };

  if (kind === 'leveled') {
    const byLevel = new Map<number, FabricNode[]>();
    for (const n of switches) (byLevel.get(level.get(n.id)!) ?? byLevel.set(level.get(n.id)!, []).get(level.get(n.id)!)!).push(n);
    const lv = [...byLevel.keys()].sort((a, b) => a - b);
    view.levels = lv.length;
    for (let i = 0; i + 1 < lv.length; i++) {
      const lo = lv[i]!;
      const hi = lv[i + 1]!;
      const title = lv.length === 2 ? 'leaves × spines' : `level ${lo} × level ${hi} switches`;
      addMatrix(title, sorted(byLevel.get(lo)!), sorted(byLevel.get(hi)!), (a, b) => !isEnd(a) && !isEnd(b), false);
    }
  } else if (kind === 'matrix') {
    const all = sorted(switches);
    addMatrix('switch × switch (each link once)', all, all, (a, b) => !isEnd(a) && !isEnd(b), true);
  } else {
    view.graph = layoutGraph(graphNodes, fabric, byId);
    for (const e of view.graph.edges) {
      const a = view.graph.nodes[e.a]!.n.id;
      const b = view.graph.nodes[e.b]!.n.id;
      linkSlot.set(pairKey(a, b), { e, flip: false });
      linkSlot.set(pairKey(b, a), { e, flip: true });
    }
  }

  // host rows: every switch with an end node or an unlinked port
  const hostSlot = new Map<string, HostPort>();
  const rowOf = new Map<string, TopologyView['hostRows'][number]>();
  for (const sw of sorted(switches)) {
    const ports: HostPort[] = [];
    for (let p = 1; p <= sw.numPorts; p++) {
      const fp = sw.ports.find((x) => x.portNum === p);
      const rn = fp?.remote ? byId.get(fp.remote.node) : undefined;
      if (rn && rn.type === 'Switch') continue;
      const hp: HostPort = { port: p, ...(fp ? { p: fp } : {}), ...(rn && fp?.remote ? { peer: { node: rn, port: fp.remote.port } } : {}) };
      ports.push(hp);
      hostSlot.set(`${sw.id}/${p}`, hp);
      if (rn && fp?.remote) hostSlot.set(`${rn.id}/${fp.remote.port}`, hp);
    }
    if (!ports.some((x) => x.peer) && kind === 'leveled' && level.get(sw.id) !== 1) continue;
    if (ports.length === 0) continue;
    const row = { sw, ports };
    view.hostRows.push(row);
    rowOf.set(sw.id, row);
  }

  // findings -> cells
  const byGuid = new Map<string, FabricNode[]>();
  for (const n of fabric.nodes) {
    const g = formatGuid(n.guid);
    (byGuid.get(g) ?? byGuid.set(g, []).get(g)!).push(n);
  }
  const find = (ref: { guid: string; description: string } | null | undefined) => {
    if (!ref) return undefined;
    const c = byGuid.get(ref.guid) ?? [];
    return c.find((n) => displayName(n) === ref.description || n.description === ref.description) ?? c[0];
  };
  const graphIdx = new Map(view.graph?.nodes.map((g, i) => [g.n.id, i]) ?? []);
  let nextCell = 0;
  const cells: Cell[] = [];
  const newCell = (): Cell => {
    const c: Cell = { id: `c${nextCell++}`, findings: [], state: 'ok' };
    cells.push(c);
    return c;
  };
  const nodeCells = new Map<string, Cell>();
  const nodeCell = (n: FabricNode): Cell | undefined => {
    const have = nodeCells.get(n.id);
    if (have) return have;
    let c: Cell | undefined;
    const gi = graphIdx.get(n.id);
    if (gi !== undefined) c = view.graph!.nodes[gi]!.cell ??= newCell();
    else if (rowOf.has(n.id)) c = rowOf.get(n.id)!.cell ??= newCell();
    if (!c && isEnd(n)) {
      // an end node is found through its link(s)
      const lp = n.ports.find((p) => p.remote && hostSlot.has(`${n.id}/${p.portNum}`));
      if (lp) c = hostSlot.get(`${n.id}/${lp.portNum}`)!.cell ??= newCell();
    }
    if (!c && n.type === 'Switch' && view.matrices.some((m) => m.rows.includes(n) || m.cols.includes(n))) {
      c = newCell();
      view.headCells.set(n.id, c);
    }
    if (c) nodeCells.set(n.id, c);
    return c;
  };
  const linkCell = (a: FabricNode, pa: number, b: FabricNode, pb: number): Cell | undefined => {
    if (a.type === 'Switch' && b.type === 'Switch') {
      const s = linkSlot.get(pairKey(a.id, b.id));
      if (s?.e) return (s.e.cell ??= newCell());
      if (s?.m) {
        const row = s.m.cells[s.r!]!;
        let mc = row.find((x) => x.col === s.c);
        if (!mc) {
          row.push((mc = { col: s.c!, links: [] }));
          row.sort((x, y) => x.col - y.col);
        }
        return (mc.cell ??= newCell());
      }
      return undefined;
    }
    const hs = hostSlot.get(`${a.id}/${pa}`) ?? hostSlot.get(`${b.id}/${pb}`);
    return hs ? (hs.cell ??= newCell()) : undefined;
  };
  const portCell = (n: FabricNode, port: number): Cell | undefined => {
    const hs = hostSlot.get(`${n.id}/${port}`);
    return hs ? (hs.cell ??= newCell()) : undefined;
  };
  findings.forEach((f, i) => {
    if (f.state === 'resolved') return;
    let n = find(f.node);
    let port = f.port;
    let rn = find(f.remote);
    let rport = f.remote?.port ?? null;
    if (!n && rn) [n, port, rn, rport] = [rn, rport, undefined, null];
    if (!n) return;
    if (!rn && port) {
      const p = n.ports.find((x) => x.portNum === port);
      if (p?.remote) {
        rn = byId.get(p.remote.node);
        rport = p.remote.port;
      }
    }
    let c: Cell | undefined;
    if (rn && port && rport) c = linkCell(n, port, rn, rport);
    if (!c && port) c = portCell(n, port);
    if (!c) c = nodeCell(n);
    if (!c) return;
    c.findings.push(i);
    view.cellOf.set(i, c.id);
  });
  for (const c of cells) {
    const rank = (s: CellState) => CELL_STATES.indexOf(s);
    for (const i of c.findings) {
      const s = cellStateOfRule(findings[i]!.rule);
      if (rank(s) < rank(c.state)) c.state = s;
    }
    // worst finding first: the cell's link back goes there
    c.findings.sort((a, b) => rank(cellStateOfRule(findings[a]!.rule)) - rank(cellStateOfRule(findings[b]!.rule)) || SEVERITIES.indexOf(findings[a]!.severity) - SEVERITIES.indexOf(findings[b]!.severity));
  }
  return view;
}

// ---------------------------------------------------------------------------
// Graph layout (non-leveled fabrics)

/**
 * Force-directed layout (Fruchterman-Reingold, deterministic start on a
 * circle), then nodes closer than two radii plus a gap are pushed apart
 * until none overlap.
 */
function layoutGraph(nodes: FabricNode[], fabric: Fabric, byId: Map<string, FabricNode>): NonNullable<TopologyView['graph']> {
  const idx = new Map(nodes.map((n, i) => [n.id, i]));
  const edgeMap = new Map<string, GraphEdge>();
  for (const l of fabric.links) {
    let a = idx.get(l.a.node);
    let b = idx.get(l.b.node);
    if (a === undefined || b === undefined || !byId.has(l.a.node)) continue;
    let pa = l.a.port;
    let pb = l.b.port;
    if (a > b) [a, b, pa, pb] = [b, a, pb, pa];
    const k = `${a}|${b}`;
    const e = edgeMap.get(k) ?? edgeMap.set(k, { a, b, links: [] }).get(k)!;
    e.links.push([pa, pb]);
  }
  const edges = [...edgeMap.values()];
  const n = nodes.length;
  const r = n > 60 ? 7 : 10;
  const gap = n > 60 ? 6 : 40;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const R = Math.max(60, (n * (2 * r + gap)) / (2 * Math.PI));
  for (let i = 0; i < n; i++) {
    x[i] = R * Math.cos((2 * Math.PI * i) / n);
    y[i] = R * Math.sin((2 * Math.PI * i) / n);
  }
  const area = (2 * R) * (2 * R);
  const k = Math.sqrt(area / Math.max(1, n));
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  const iters = n > 150 ? 120 : 250;
  let t = R / 4;
  for (let it = 0; it < iters && n > 1; it++) {
    dx.fill(0);
    dy.fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let ddx = x[i]! - x[j]!;
        let ddy = y[i]! - y[j]!;
        let d2 = ddx * ddx + ddy * ddy;
        if (d2 < 1e-6) {
          ddx = 0.01 * (i - j);
          ddy = 0.01;
          d2 = ddx * ddx + ddy * ddy;
        }
        const f = (k * k) / d2;
        dx[i] += ddx * f;
        dy[i] += ddy * f;
        dx[j] -= ddx * f;
        dy[j] -= ddy * f;
      }
    }
    for (const e of edges) {
      const ddx = x[e.a]! - x[e.b]!;
      const ddy = y[e.a]! - y[e.b]!;
      const d = Math.sqrt(ddx * ddx + ddy * ddy) || 0.01;
      const f = d / k;
      dx[e.a] -= ddx * f;
      dy[e.a] -= ddy * f;
      dx[e.b] += ddx * f;
      dy[e.b] += ddy * f;
    }
    for (let i = 0; i < n; i++) {
      const d = Math.sqrt(dx[i]! * dx[i]! + dy[i]! * dy[i]!) || 1;
      const s = Math.min(d, t) / d;
      x[i] += dx[i]! * s;
      y[i] += dy[i]! * s;
    }
    t *= 0.97;
  }
  // no overlap: push apart pairs closer than 2r + gap
  const minD = 2 * r + gap;
  for (let pass = 0; pass < 200; pass++) {
    let moved = false;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const ddx = x[j]! - x[i]!;
        const ddy = y[j]! - y[i]!;
        const d = Math.sqrt(ddx * ddx + ddy * ddy);
        if (d >= minD) continue;
        moved = true;
        const ux = d > 1e-9 ? ddx / d : 1;
        const uy = d > 1e-9 ? ddy / d : 0;
        const push = (minD - d) / 2 + 0.5;
        x[i] -= ux * push;
        y[i] -= uy * push;
        x[j] += ux * push;
        y[j] += uy * push;
      }
    }
    if (!moved) break;
  }
  const margin = r + 30;
  if (n === 0) return { nodes: [], edges, width: 0, height: 0, r };
  const minX = Math.min(...x);
  const minY = Math.min(...y);
  const out: GraphNode[] = nodes.map((node, i) => ({ n: node, x: Math.round((x[i]! - minX + margin) * 10) / 10, y: Math.round((y[i]! - minY + margin) * 10) / 10 }));
  const width = Math.ceil(Math.max(...out.map((g) => g.x)) + margin + 40);
  const height = Math.ceil(Math.max(...out.map((g) => g.y)) + margin);
  return { nodes: out, edges, width, height, r };
}

// ---------------------------------------------------------------------------
// Rendering

function cellTitle(base: string, c: Cell | undefined, findings: readonly Finding[]): string {
  if (!c || c.findings.length === 0) return base;
  return `${base}\n${c.findings.map((i) => `${findings[i]!.severity} ${findings[i]!.rule}: ${findings[i]!.message}`).join('\n')}`;
}

function cellAttrs(c: Cell | undefined, state: CellState, title: string): string {
  if (!c || c.findings.length === 0) return state === 'ok' ? '' : ` class="${state}"`;
  return ` class="${state} hit" id="${c.id}" data-state="${state}" data-findings="${c.findings.map((i) => `f${i}`).join(' ')}" title="${esc(title)}"`;
}

function nodeTitle(n: FabricNode): string {
  return `${n.type} ${label(n)} (${formatGuid(n.guid)})`;
}

function headAttrs(n: FabricNode, view: TopologyView, used: Set<string>, findings: readonly Finding[]): string {
  const c = view.headCells.get(n.id);
  if (!c || used.has(c.id)) return ` title="${esc(nodeTitle(n))}"`;
  used.add(c.id);
  return ` id="${c.id}" class="hit ${c.state}" data-state="${c.state}" data-findings="${c.findings.map((i) => `f${i}`).join(' ')}" title="${esc(cellTitle(nodeTitle(n), c, findings))}"`;
}

function renderMatrix(m: Matrix, mi: number, findings: readonly Finding[], view: TopologyView, used: Set<string>): { html: string; data: unknown } {
  const parts: string[] = [];
  const colTpl = `minmax(110px,170px) repeat(${m.cols.length}, var(--cw))`;
  parts.push(`<h3>${esc(m.title)}: ${m.rows.length} × ${m.cols.length}${m.blocks && m.blocks > 1 ? ` in ${m.blocks} groups (pods)` : ''}${m.expected ? `, ${m.expected} link(s) per pair${m.blocks && m.blocks > 1 ? ' of a group' : ''} expected` : ''}</h3>`);
  parts.push(`<div class="scroll"><div class="mx" data-m="${mi}" style="grid-template-columns:${colTpl}">`);
  parts.push(`<b class="corner"></b>${m.cols.map((c, ci) => `<b class="ch"><span id="m${mi}c${ci}"${headAttrs(c, view, used, findings)}>${esc(label(c))}</span></b>`).join('')}`);
  const rowsData: unknown[] = [];
  m.rows.forEach((rn, r) => {
    const cells = m.cells[r]!;
    const out: string[] = [`<div class="r" data-r="${r}"><b class="rh"><span id="m${mi}r${r}"${headAttrs(rn, view, used, findings)}>${esc(label(rn))}</span></b>`];
    let next = 0;
    const rowData: unknown[] = [];
    for (const mc of cells) {
      const cn = m.cols[mc.col]!;
      const state: CellState = mc.cell && mc.cell.findings.length ? mc.cell.state : mc.missing && mc.links.length === 0 ? 'missing' : mc.missing ? 'missing' : 'ok';
      const pos = mc.col === next ? '' : ` style="grid-column:${mc.col + 2}"`;
      next = mc.col + 1;
      const linksText = mc.links.map(([a, b]) => `${label(rn)} port ${a} ↔ ${label(cn)} port ${b}`).join('\n');
      const base = `${linksText || `no link between ${label(rn)} and ${label(cn)}`}${mc.missing ? `\n${mc.missing} link(s) fewer than most pairs (${m.expected})` : ''}`;
      const title = cellTitle(base, mc.cell, findings);
      const text = mc.links.length > 1 || (mc.missing && mc.links.length > 0) ? String(mc.links.length) : mc.links.length === 0 ? '×' : '';
      let attrs = cellAttrs(mc.cell, state, title);
      if (!mc.cell?.findings.length && state === 'missing') attrs = ` class="missing" data-state="missing" title="${esc(title)}"`;
      const href = mc.cell?.findings.length ? ` href="#f${mc.cell.findings[0]}"` : '';
      out.push(`<a${attrs}${pos}${href}>${text}</a>`);
      rowData.push([mc.col, mc.links]);
    }
    out.push('</div>');
    parts.push(out.join(''));
    rowsData.push(rowData);
  });
  parts.push('</div></div>');
  return { html: parts.join('\n'), data: { rows: m.rows.map((n) => label(n)), cols: m.cols.map((n) => label(n)), cells: rowsData } };
}

function hostPortState(hp: HostPort): CellState {
  if (hp.cell && hp.cell.findings.length) return hp.cell.state;
  if (!hp.peer) return 'unlinked';
  return hp.p?.state && hp.p.state !== 'Active' ? 'down' : 'ok';
}

function renderHostRows(view: TopologyView, findings: readonly Finding[]): { html: string; data: unknown } {
  const parts: string[] = [`<div class="hosts">`];
  const data: unknown[] = [];
  view.hostRows.forEach((row, ri) => {
    const sw = row.sw;
    const headTitle = cellTitle(nodeTitle(sw), row.cell, findings);
    const head = row.cell?.findings.length
      ? `<a class="hdr hit ${row.cell.state}" id="${row.cell.id}" data-state="${row.cell.state}" data-findings="${row.cell.findings.map((i) => `f${i}`).join(' ')}" href="#f${row.cell.findings[0]}" title="${esc(headTitle)}">!</a>`
      : '';
    const cells: string[] = [];
    const rd: unknown[] = [];
    for (const hp of row.ports) {
      const st = hostPortState(hp);
      const base = hp.peer
        ? `${label(sw)} port ${hp.port} ↔ ${label(hp.peer.node)} port ${hp.peer.port} (${formatGuid(hp.peer.node.guid)})${hp.p?.width.active ? ` ${hp.p.width.active}` : ''}${hp.p?.speed.active ? ` ${hp.p.speed.active}` : ''}${hp.p?.state ? ` ${hp.p.state}` : ''}`
        : `${label(sw)} port ${hp.port}: no link${hp.p?.physState ? ` (${hp.p.physState})` : ''}`;
      const title = cellTitle(base, hp.cell, findings);
      const href = hp.cell?.findings.length ? ` href="#f${hp.cell.findings[0]}"` : '';
      cells.push(`<a${cellAttrs(hp.cell, st, title)}${href}></a>`);
      rd.push(hp.peer ? [hp.port, label(hp.peer.node), hp.peer.port, formatGuid(hp.peer.node.guid), `${hp.p?.width.active ?? ''} ${hp.p?.speed.active ?? ''} ${hp.p?.state ?? ''}`.trim()] : [hp.port]);
    }
    parts.push(`<div class="hr" data-h="${ri}"><span class="hn" id="h${ri}" title="${esc(nodeTitle(sw))}">${esc(label(sw))}</span><span class="strip">${head}${cells.join('')}</span></div>`);
    data.push({ sw: label(sw), ports: rd });
  });
  parts.push('</div>');
  return { html: parts.join('\n'), data };
}

function renderGraph(view: TopologyView, findings: readonly Finding[]): string {
  const g = view.graph!;
  const showLabels = g.nodes.length <= 60;
  const parts: string[] = [
    `<div class="scroll graph"><svg xmlns="http://www.w3.org/2000/svg" id="topology" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}" role="img" aria-label="fabric graph">`,
  ];
  const ordered = [...g.edges].sort((a, b) => (a.cell?.findings.length ? 1 : 0) - (b.cell?.findings.length ? 1 : 0));
  for (const e of ordered) {
    const a = g.nodes[e.a]!;
    const b = g.nodes[e.b]!;
    const st: CellState = e.cell?.findings.length ? e.cell.state : 'ok';
    const base = e.links.map(([pa, pb]) => `${label(a.n)} port ${pa} ↔ ${label(b.n)} port ${pb}`).join('\n');
    const title = cellTitle(base, e.cell, findings);
    const idAttrs = e.cell?.findings.length ? ` id="${e.cell.id}" data-state="${st}" data-findings="${e.cell.findings.map((i) => `f${i}`).join(' ')}"` : '';
    const href = e.cell?.findings.length ? ` href="#f${e.cell.findings[0]}"` : '';
    const mx = (a.x + b.x) / 2;
    const my = (a.y + b.y) / 2;
    parts.push(
      `<a class="edge ${st}${idAttrs ? ' hit' : ''}"${idAttrs}${href}><title>${esc(title)}</title><line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}"/>${e.links.length > 1 ? `<text x="${mx}" y="${my - 3}" class="cnt">${e.links.length}</text>` : ''}</a>`,
    );
  }
  for (const [i, gn] of g.nodes.entries()) {
    const st: CellState = gn.cell?.findings.length ? gn.cell.state : 'ok';
    const title = cellTitle(nodeTitle(gn.n), gn.cell, findings);
    const idAttrs = gn.cell?.findings.length ? ` id="${gn.cell.id}" data-state="${st}" data-findings="${gn.cell.findings.map((k) => `f${k}`).join(' ')}"` : ` id="g${i}"`;
    const href = gn.cell?.findings.length ? ` href="#f${gn.cell.findings[0]}"` : '';
    parts.push(
      `<a class="gnode ${gn.n.type === 'Switch' ? 'sw' : 'ca'} ${st}${gn.cell?.findings.length ? ' hit' : ''}"${idAttrs}${href} data-node="${i}"><title>${esc(title)}</title><circle cx="${gn.x}" cy="${gn.y}" r="${g.r}"/>${showLabels ? `<text x="${gn.x}" y="${gn.y + g.r + 12}">${esc(label(gn.n).slice(0, 18))}</text>` : ''}</a>`,
    );
  }
  parts.push('</svg></div>');
  return parts.join('\n');
}

const STYLE = `
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;padding:1em 1.5em;color:#102a43;max-width:100%;--cw:13px}
h1{font-size:1.4em;margin:.2em 0} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #d9e2ec} h3{font-size:1em;margin:1em 0 .4em}
header{display:flex;flex-wrap:wrap;gap:1em;align-items:center;justify-content:space-between}
.status{display:inline-block;padding:.2em .7em;border-radius:4px;color:#fff;font-weight:bold}
.status.FAIL{background:${SEV_COLOR.error}} .status.WARN{background:${SEV_COLOR.warning}} .status.PASS{background:#2e7d32}
table{border-collapse:collapse;width:100%;table-layout:auto} th,td{border:1px solid #d9e2ec;padding:.3em .5em;text-align:left;vertical-align:top;font-size:.88em;overflow-wrap:anywhere}
th{background:#f0f4f8}
#findings th{cursor:pointer;user-select:none;position:sticky;top:0} #findings th:after{content:' ↕';color:#9aa5b1}
.sev{font-weight:bold;text-transform:uppercase;font-size:.8em} .sev.error{color:${SEV_COLOR.error}} .sev.warning{color:${SEV_COLOR.warning}} .sev.info{color:${SEV_COLOR.info}}
.badge{display:inline-block;border-radius:3px;padding:0 .35em;font-size:.75em;font-weight:bold;color:#fff;margin-left:.3em}
.badge.new{background:#c81e1e} .badge.persisting{background:#64748b} .badge.resolved{background:#2e7d32}
tr.resolved td{color:#64748b}
#summary td:first-child{font-weight:bold;width:14em}
.tablewrap{max-height:70vh;overflow:auto;border:1px solid #d9e2ec}
.filters{display:flex;flex-wrap:wrap;gap:1em;margin:.5em 0;align-items:center}
.scroll{overflow:auto;max-width:100%;max-height:75vh;border:1px solid #d9e2ec;background:#fbfbfb}
.mx{display:grid;grid-template-rows:65px;grid-auto-rows:var(--cw);gap:1px;padding:2px;width:max-content}
.mx .r{display:contents}
.mx a{display:block;background:${STATE_COLOR.ok};font-size:9px;line-height:var(--cw);text-align:center;color:#102a43;text-decoration:none;min-width:0;scroll-margin:85px 20px 20px 185px}
.mx .rh{grid-column:1;position:sticky;left:0;background:#f0f4f8;font-size:10px;font-weight:normal;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-right:.4em;z-index:1;line-height:var(--cw)}
.mx .ch{position:sticky;top:0;background:#f0f4f8;height:65px;writing-mode:vertical-rl;transform:rotate(180deg);font-size:10px;font-weight:normal;white-space:nowrap;overflow:hidden;z-index:1}
.mx .corner{position:sticky;top:0;left:0;background:#f0f4f8;z-index:2;height:65px}
.hosts{display:flex;flex-direction:column;gap:2px;max-height:75vh;overflow:auto;border:1px solid #d9e2ec;padding:4px;background:#fbfbfb}
.hr{display:flex;align-items:center;gap:.5em}
.hn{flex:0 0 9em;font-size:10px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;color:#102a43;text-decoration:none}
.strip{display:flex;flex-wrap:wrap;gap:1px}
.strip a{width:var(--cw);height:var(--cw);background:${STATE_COLOR.ok};display:block;font-size:9px;text-align:center;line-height:var(--cw);color:#fff;text-decoration:none;scroll-margin:6em}
${CELL_STATES.map((s) => `.mx a.${s},.strip a.${s},.legend i.${s}{background:${STATE_COLOR[s]}}`).join('\n')}
.mx a.missing,.mx a.down,.mx a.degraded,.mx a.other{color:#fff}
.edge line{stroke:#9aa5b1;stroke-width:1.5} .gnode circle{fill:#d9e2ec;stroke:#334e68;stroke-width:1.5}
${CELL_STATES.filter((s) => s !== 'ok' && s !== 'unlinked').map((s) => `.edge.${s} line{stroke:${STATE_COLOR[s]};stroke-width:4} .gnode.${s} circle{fill:${STATE_COLOR[s]}}`).join('\n')}
.gnode.ca circle{fill:#fff}
.gnode text{font-size:10px;text-anchor:middle;fill:#102a43} .cnt{font-size:10px;text-anchor:middle;fill:#334e68}
.legend{display:flex;flex-wrap:wrap;gap:1em;font-size:.85em} .legend i{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:.3em;border:1px solid #cbd2d9}
:target,.found{outline:3px solid #0ea5e9 !important;outline-offset:1px;animation:pulse 1s 3}
tr:target td{background:#e0f2fe}
#findings tr{scroll-margin-top:2.5em}
@keyframes pulse{50%{outline-color:#f59e0b}}
#search{font-size:1em;padding:.25em .5em;width:22em;max-width:100%}
#results{font-size:.85em;max-width:40em} #results a{margin-right:.8em}
code{overflow-wrap:anywhere}
`;

const SCRIPT = `
(function(){
var D=JSON.parse(document.getElementById('data').textContent);
var rank={error:0,warning:1,info:2};
var tb=document.querySelector('#findings tbody');
function apply(){
  if(!tb)return;
  var s=document.getElementById('fsev').value,r=document.getElementById('frule').value,st=document.getElementById('fstate');st=st?st.value:'';
  var n=0;
  for(var tr of tb.rows){var ok=(!s||tr.dataset.severity===s)&&(!r||tr.dataset.rule===r)&&(!st||tr.dataset.state===st);tr.hidden=!ok;if(ok)n++;}
  document.getElementById('fcount').textContent=n+' shown';
}
for(var id of ['fsev','frule','fstate']){var el=document.getElementById(id);if(el)el.addEventListener('change',apply);}
var dir={};
document.querySelectorAll('#findings th').forEach(function(th,ci){th.addEventListener('click',function(){
  var rows=Array.from(tb.rows),d=dir[ci]=-(dir[ci]||-1);
  var key=function(tr){var t=tr.cells[ci].textContent.trim();if(ci===0)return rank[tr.dataset.severity]*10+(tr.dataset.state==='new'?0:tr.dataset.state==='persisting'?1:2);if(ci===3)return t===''?-1:+t;return t.toLowerCase();};
  rows.sort(function(a,b){var x=key(a),y=key(b);return (x<y?-1:x>y?1:0)*d;});
  for(var tr of rows)tb.appendChild(tr);
});});
document.addEventListener('mouseover',function(e){
  var a=e.target;if(!a||a.tagName!=='A'||a.title)return;
  var row=a.parentElement;
  if(row&&row.classList.contains('r')){
    var m=D.matrices[+row.parentElement.dataset.m],r=+row.dataset.r,i=Array.prototype.indexOf.call(row.children,a)-1,c=m.cells[r][i];
    if(!c)return;var rn=m.rows[r],cn=m.cols[c[0]];
    a.title=c[1].length?c[1].map(function(l){return rn+' port '+l[0]+' \\u2194 '+cn+' port '+l[1];}).join('\\n'):'no link between '+rn+' and '+cn;
  } else if(row&&row.classList.contains('strip')){
    var h=D.hosts[+row.parentElement.dataset.h],k=Array.prototype.indexOf.call(row.querySelectorAll('a:not(.hdr)'),a),p=h.ports[k];
    if(!p)return;
    a.title=p.length>1?h.sw+' port '+p[0]+' \\u2194 '+p[1]+' port '+p[2]+' ('+p[3]+') '+p[4]:h.sw+' port '+p[0]+': no link';
  }
});
var q=document.getElementById('search'),res=document.getElementById('results');
function locate(n){
  var el=null;
  if(n[3]!=null){var row=document.querySelector('.hr[data-h="'+n[3]+'"]');if(row)el=n[4]!=null?row.querySelectorAll('.strip a:not(.hdr)')[n[4]]:row.querySelector('.hn');}
  if(!el&&n[5])el=document.getElementById(n[5]);
  if(!el)return;
  document.querySelectorAll('.found').forEach(function(x){x.classList.remove('found');});
  el.classList.add('found');el.scrollIntoView({block:'center',inline:'center'});
}
if(q)q.addEventListener('input',function(){
  var t=q.value.trim().toLowerCase();res.textContent='';if(t.length<2)return;
  var hits=D.nodes.filter(function(n){return n[0].toLowerCase().indexOf(t)>=0||n[1].indexOf(t)>=0||n[1].replace(/^0x0*/,'').indexOf(t.replace(/^0x0*/,''))===0;}).slice(0,30);
  if(!hits.length){res.textContent='no node matches';return;}
  hits.forEach(function(n){var a=document.createElement('a');a.href='#';a.textContent=n[0]+' ('+n[1]+')';a.addEventListener('click',function(ev){ev.preventDefault();locate(n);});res.appendChild(a);});
  if(hits.length===1)locate(hits[0]);
});
apply();
})();
`;

function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

export function reportToHtml(r: AuditReport, fabric: Fabric): string {
  const f = r.fabric;
  const all = [...r.findings, ...(r.resolved ?? [])];
  const view = topologyView(fabric, all);
  const rows = all
    .map((x, i) => {
      const cell = view.cellOf.get(i);
      return (
        `<tr id="f${i}" class="${x.severity}${x.state ? ` ${x.state}` : ''}" data-severity="${x.severity}" data-rule="${esc(x.rule)}"${x.state ? ` data-state="${x.state}"` : ''}>` +
        `<td><span class="sev ${x.severity}">${x.severity}</span>${x.state ? ` <span class="badge ${x.state}">${x.state}</span>` : ''}</td><td><code>${esc(x.rule)}</code></td>` +
        `<td>${x.node ? `${esc(x.node.description)}<br><code>${esc(x.node.guid)}</code>` : 'fabric'}</td><td>${x.port ?? ''}</td>` +
        `<td>${esc(x.message)}${x.remote ? `<br><small>peer: ${esc(x.remote.description)} port ${x.remote.port}</small>` : ''}</td>` +
        `<td>${cell ? `<a class="tocell" href="#${cell}">show</a>` : ''}</td></tr>`
      );
    })
    .join('\n');
  const byRule = Object.entries(r.summary.byRule)
    .map(([k, v]) => `<li><code>${esc(k)}</code>: ${v}</li>`)
    .join('');
  const status = r.summary.errors > 0 ? 'FAIL' : r.summary.warnings > 0 ? 'WARN' : 'PASS';
  const rules = [...new Set(all.map((x) => x.rule))].sort();
  const usedHeads = new Set<string>();
  const matrices = view.matrices.map((m, i) => renderMatrix(m, i, all, view, usedHeads));
  const hosts = renderHostRows(view, all);
  // search data: [label, guid, type, host row, port index in that row, element id]
  const hostPos = new Map<string, [number, number]>();
  const swRow = new Map<string, number>();
  view.hostRows.forEach((row, ri) => {
    swRow.set(row.sw.id, ri);
    row.ports.forEach((hp, pi) => hp.peer && !hostPos.has(hp.peer.node.id) && hostPos.set(hp.peer.node.id, [ri, pi]));
  });
  const matrixHead = new Map<string, string>();
  view.matrices.forEach((m, mi) => {
    m.rows.forEach((n, ri) => matrixHead.has(n.id) || matrixHead.set(n.id, `m${mi}r${ri}`));
    m.cols.forEach((n, ci) => matrixHead.has(n.id) || matrixHead.set(n.id, `m${mi}c${ci}`));
  });
  const graphId = new Map<string, string>();
  view.graph?.nodes.forEach((g, i) => graphId.set(g.n.id, g.cell?.findings.length ? g.cell.id : `g${i}`));
  const nodesData = fabric.nodes.map((n) => {
    const hp = hostPos.get(n.id);
    const sr = swRow.get(n.id);
    return [label(n), formatGuid(n.guid), n.type, hp ? hp[0] : (sr ?? null), hp ? hp[1] : null, graphId.get(n.id) ?? matrixHead.get(n.id) ?? null];
  });
  const data = { matrices: matrices.map((m) => m.data), hosts: hosts.data, nodes: nodesData };
  const kindText =
    view.kind === 'leveled'
      ? `leveled fabric: ${view.levels} switch level(s), counted in hops from the hosts`
      : view.kind === 'graph'
        ? `not leveled (switch links within a level or skipping one): graph of ${view.graph!.nodes.length} node(s)`
        : `not leveled, ${fabric.nodes.filter((n) => n.type === 'Switch').length} switches: more than ${GRAPH_MAX_NODES} to draw, shown as a matrix`;
  const bs = r.summary.byState;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hpcnet fabric audit: ${esc(f.name)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>hpcnet fabric audit: ${esc(f.name)} <span class="status ${status}" id="status">${status}</span></h1>
<div><input id="search" type="search" placeholder="find a node by name or GUID" aria-label="find a node by name or GUID"><div id="results"></div></div></header>
<h2>Summary</h2>
<table id="summary">
<tr><td>Fabric</td><td>${esc(f.name)}</td></tr>
<tr><td>Source</td><td>${esc(f.source)}</td></tr>
<tr><td>Generated</td><td>${esc(r.generatedAt)}</td></tr>
<tr><td>Nodes</td><td>${f.nodes} (${f.switches} switches, ${f.cas} CAs${f.routers ? `, ${f.routers} routers` : ''})</td></tr>
<tr><td>Links</td><td>${f.links}</td></tr>
<tr><td>Counter samples</td><td>${f.counterSamples}</td></tr>
<tr><td>Subnet managers</td><td>${f.subnetManagers ?? 'not collected'}</td></tr>
<tr><td>Reference topology</td><td>${f.reference ? 'yes' : 'no'}</td></tr>
<tr><td>Findings</td><td><span id="count-errors">${r.summary.errors}</span> error(s), <span id="count-warnings">${r.summary.warnings}</span> warning(s), <span id="count-info">${r.summary.info}</span> info<ul>${byRule}</ul></td></tr>
${r.baseline && bs ? `<tr><td>Since the baseline</td><td id="bystate"><span class="badge new">new</span> ${bs.new} <span class="badge persisting">persisting</span> ${bs.persisting} <span class="badge resolved">resolved</span> ${bs.resolved} (baseline: ${esc(r.baseline.name)}, ${esc(r.baseline.generatedAt)})</td></tr>` : ''}
${r.notRun.length ? `<tr><td>Not checked</td><td>${r.notRun.map((n) => `<code>${esc(n.rule)}</code> (${esc(n.reason)})`).join(', ')}</td></tr>` : ''}
${r.skipped.length ? `<tr><td>Skipped</td><td>${r.skipped.map((s) => `<code>${esc(s)}</code>`).join(', ')}</td></tr>` : ''}
</table>
<h2 id="findings-h">Findings</h2>
${
  all.length
    ? `<div class="filters"><label>Severity <select id="fsev"><option value="">all</option>${SEVERITIES.map((s) => `<option>${s}</option>`).join('')}</select></label>
<label>Rule <select id="frule"><option value="">all</option>${rules.map((x) => `<option>${esc(x)}</option>`).join('')}</select></label>
${r.baseline ? `<label>State <select id="fstate"><option value="">all</option><option>new</option><option>persisting</option><option>resolved</option></select></label>` : ''}
<span id="fcount"></span><small>click a column heading to sort; "show" goes to the finding's place in the topology, a coloured cell comes back here</small></div>
<div class="tablewrap"><table id="findings"><thead><tr><th>Severity</th><th>Rule</th><th>Node</th><th>Port</th><th>Message</th><th>Where</th></tr></thead><tbody>
${rows}
</tbody></table></div>`
    : '<p id="findings">No findings.</p>'
}
<h2 id="topology-h">Topology</h2>
<p>${esc(kindText)}</p>
<p class="legend">${CELL_STATES.map((s) => `<span><i class="${s}"></i>${STATE_LABEL[s]}</span>`).join('')}<span>a number: parallel links</span></p>
<section id="topology-view" data-kind="${view.kind}">
${view.kind === 'graph' && view.graph!.nodes.length ? renderGraph(view, all) : ''}
${matrices.map((m) => m.html).join('\n')}
${view.hostRows.length ? `<h3>Ports of each switch to hosts (one cell per port)</h3>\n${hosts.html}` : ''}
</section>
<script type="application/json" id="data">${jsonForScript(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
