/**
 * iblinkinfo-style link table and Graphviz DOT output.
 *
 * The link table follows iblinkinfo's layout (infiniband-diags iblinkinfo.c)
 * so that people and scripts used to it can read it:
 *   Switch: 0x<port0 guid> <name>:
 *          <lid> <port>[<ext>] ==(<width> <lane rate> <state>/<phys>)==>  <rlid> <rport>[<rext>] "<rname>" ( )
 *   CA: <name>:
 *         0x<port guid> <lid> <port>[  ] ==( ... )==>  ...
 * Lane rates are printed as libibmad does ("25.78125 Gbps"); FDR10 as
 * "10.0 Gbps (FDR10)". Unknown values print as "?".
 */
import { formatGuid } from '../../util/format.js';
import {
  FabricIndex,
  SPEED_GBPS,
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
} from './model.js';

/** The names libibmad prints for PortState. */
const STATE_TEXT: Record<string, string> = { NoChange: 'NoChange', Down: 'Down', Init: 'Initialize', Armed: 'Armed', Active: 'Active' };

export function laneRateText(s: LinkSpeed): string {
  if (s === 'FDR10') return '10.0 Gbps (FDR10)';
  const g = SPEED_GBPS[s];
  return `${Number.isInteger(g) ? g.toFixed(1) : String(g)} Gbps`;
}

function best<T>(xs: readonly T[] | undefined, ys: readonly T[] | undefined, cmp: (a: T, b: T) => number): T | undefined {
  if (!xs || !ys) return undefined;
  const common = xs.filter((x) => ys.includes(x));
  return common.sort(cmp).at(-1);
}

/** "Could be" hints as iblinkinfo prints them, from both ends' supported sets. */
function couldBe(p: FabricPort, r: FabricPort | undefined): string {
  const parts: string[] = [];
  const w = best(p.width.supported, r?.width.supported, compareWidth);
  if (w && p.width.active && compareWidth(w, p.width.active) > 0) parts.push(`Could be ${w}`);
  const s = best(p.speed.supported, r?.speed.supported, compareSpeed);
  if (s && p.speed.active && compareSpeed(s, p.speed.active) > 0) parts.push(`Could be ${laneRateText(s)}`);
  return parts.length ? parts.join(' ') : ' ';
}

export interface LinkTableOptions {
  /** Only ports that are down (iblinkinfo -d). */
  downOnly?: boolean;
}

/** iblinkinfo-style text for every port of every node (ports 1..n). */
export function writeLinkTable(fabric: Fabric, opts: LinkTableOptions = {}): string {
  const idx = new FabricIndex(fabric);
  const out: string[] = [];
  for (const n of fabric.nodes) {
    const rows: string[] = [];
    for (const p of n.ports) {
      if (p.portNum === 0) continue;
      if (opts.downOnly && p.state !== 'Down') continue;
      rows.push(portRow(idx, n, p));
    }
    if (rows.length === 0) continue;
    if (n.type === 'Switch') out.push(`Switch: ${formatGuid(portGuidOf(n, 0) ?? n.guid)} ${displayName(n)}:`);
    else out.push(`${n.type === 'Router' ? 'Router' : 'CA'}: ${displayName(n)}:`);
    out.push(...rows);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

function portRow(idx: FabricIndex, n: FabricNode, p: FabricPort): string {
  const lid = idx.lidOf({ node: n.id, port: p.portNum }) ?? 0;
  const ext = p.extPortNum ? String(p.extPortNum) : '';
  const state = p.state ? (STATE_TEXT[p.state] ?? p.state) : '?';
  const phys = p.physState ?? '?';
  const down = p.state === 'Down';
  const link = down
    ? `(              ${state.padStart(6)}/${phys.padStart(8)})`
    : `(${(p.width.active ?? '?').padStart(3)} ${(p.speed.active ? laneRateText(p.speed.active) : '?').padStart(18)} ${state.padStart(6)}/${phys.padStart(8)})`;
  let remote: string;
  if (p.remote) {
    const r = idx.node(p.remote.node);
    const rp = idx.port(p.remote);
    const rlid = idx.lidOf(p.remote) ?? 0;
    const rext = rp?.extPortNum ? String(rp.extPortNum) : '';
    remote = `${String(rlid).padStart(6)} ${String(p.remote.port).padStart(4)}[${rext.padStart(2)}] "${r ? displayName(r) : p.remote.node}" (${couldBe(p, rp)})`;
  } else {
    remote = down ? '           [  ] "" ( )' : '    "Port not available"';
  }
  const guid = n.type !== 'Switch' ? `${formatGuid(p.guid ?? 0n)} ` : '';
  return `      ${guid}${String(lid).padStart(6)} ${String(p.portNum).padStart(4)}[${ext.padStart(2)}] ==${link}==>  ${remote}`;
}

// ---------------------------------------------------------------------------
// DOT

export interface DotOptions {
  /** Links to draw in red (e.g. those with audit findings), as linkKey() strings. */
  highlight?: ReadonlySet<string>;
  /** Graph name (default "fabric"). */
  name?: string;
}

/** A stable key for a link, independent of which end is `a`. */
export function linkKey(a: PortRef, b: PortRef): string {
  const x = `${a.node}/${a.port}`;
  const y = `${b.node}/${b.port}`;
  return x < y ? `${x}--${y}` : `${y}--${x}`;
}

function dotString(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}

/** Graphviz DOT: switches as boxes, CAs as ellipses, one edge per cable labelled with ports and width/speed. */
export function writeDot(fabric: Fabric, opts: DotOptions = {}): string {
  const idx = new FabricIndex(fabric);
  const out: string[] = [`graph ${dotString(opts.name ?? 'fabric')} {`, '  graph [overlap=false, splines=true];'];
  for (const n of fabric.nodes) {
    const shape = n.type === 'Switch' ? 'box' : n.type === 'Router' ? 'diamond' : 'ellipse';
    const label = `${displayName(n) || n.id}\n${n.id}`;
    out.push(`  ${dotString(n.id)} [shape=${shape}, label=${dotString(label)}];`);
  }
  for (const l of fabric.links) out.push('  ' + dotEdge(idx, l, opts.highlight));
  out.push('}');
  return out.join('\n') + '\n';
}

function linkText(pa: FabricPort | undefined, pb: FabricPort | undefined): string {
  const w: LinkWidth | undefined = pa?.width.active ?? pb?.width.active;
  const s: LinkSpeed | undefined = pa?.speed.active ?? pb?.speed.active;
  return [w, s].filter(Boolean).join(' ');
}

function dotEdge(idx: FabricIndex, l: FabricLink, highlight?: ReadonlySet<string>): string {
  const hot = highlight?.has(linkKey(l.a, l.b));
  const label = `${l.a.port} - ${l.b.port}` + (linkText(idx.port(l.a), idx.port(l.b)) ? `\n${linkText(idx.port(l.a), idx.port(l.b))}` : '');
  const attrs = [`label=${dotString(label)}`, `taillabel=${dotString(String(l.a.port))}`, `headlabel=${dotString(String(l.b.port))}`];
  if (hot) attrs.push('color=red', 'penwidth=3');
  return `${dotString(l.a.node)} -- ${dotString(l.b.node)} [${attrs.join(', ')}];`;
}
