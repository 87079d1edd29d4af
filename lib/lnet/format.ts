/**
 * Output in lnetctl's layouts (reference lnet.md 4.1/4.2): documents are
 * built as ordered trees, then emitted either in the cYAML style of the
 * ioctl path (2.15, and the ioctl-only commands of every release) or in the
 * libyaml indent-6 style of the netlink path (2.16+: net, route, peer show,
 * ping, and those parts of export).
 */
import type { Globals, NetInfo, NiInfo, PeerInfo, PingResult, RouteInfo, RoutingInfo, Counters, LnetTransport } from './types.js';
import { GLOBAL_KEYS } from './types.js';

/** A scalar is already-formatted text (quotes included where lnetctl prints them). */
export type YNode = string | YMap | YSeq;
export interface YMap {
  map: [string, YNode][];
}
export interface YSeq {
  seq: YNode[];
}

export type YamlStyle = 'cyaml' | 'netlink';

export const ymap = (entries: [string, YNode][]): YMap => ({ map: entries });
export const yseq = (items: YNode[]): YSeq => ({ seq: items });
const num = (n: number): string => String(n);
const counters = (c: Counters): YMap => ymap(Object.entries(c).map(([k, v]) => [k, num(v)]));

// --- emitters ---------------------------------------------------------------

function cMap(entries: [string, YNode][], level: number, extra: number, out: string[], first: string | null): void {
  entries.forEach(([k, v], i) => {
    const ind = i === 0 && first !== null ? first : ' '.repeat(4 * level + extra);
    if (typeof v === 'string') out.push(`${ind}${k}: ${v}`);
    else if ('map' in v) {
      out.push(`${ind}${k}:`);
      cMap(v.map, level + 1, extra, out, null);
    } else {
      out.push(`${ind}${k}:`);
      cSeq(v.seq, level + 1, out);
    }
  });
}

function cSeq(items: YNode[], level: number, out: string[]): void {
  const dash = ' '.repeat(4 * level) + '- ';
  for (const it of items) {
    if (typeof it === 'string') out.push(dash + it);
    else if ('map' in it) {
      if (it.map.length === 0) out.push(dash.trimEnd());
      else cMap(it.map, level, 2, out, dash);
    } else cSeq(it.seq, level + 1, out);
  }
}

function lMap(entries: [string, YNode][], col: number, out: string[], first: string | null): void {
  entries.forEach(([k, v], i) => {
    const ind = i === 0 && first !== null ? first : ' '.repeat(col);
    if (typeof v === 'string') out.push(`${ind}${k}: ${v}`);
    else if ('map' in v) {
      out.push(`${ind}${k}:`);
      lMap(v.map, col + 6, out, null);
    } else {
      out.push(`${ind}${k}:`);
      lSeq(v.seq, col, out);
    }
  });
}

function lSeq(items: YNode[], col: number, out: string[]): void {
  const dash = ' '.repeat(col) + '-     ';
  for (const it of items) {
    if (typeof it === 'string') out.push(dash + it);
    else if ('map' in it) lMap(it.map, col + 6, out, dash);
    else lSeq(it.seq, col + 6, out);
  }
}

/** Emit a top-level mapping; every line ends with "\n". */
export function emit(doc: YMap, style: YamlStyle): string {
  const out: string[] = [];
  if (style === 'cyaml') cMap(doc.map, 0, 0, out, null);
  else lMap(doc.map, 0, out, null);
  return out.map((l) => l + '\n').join('');
}

// --- documents ----------------------------------------------------------------

const cptText = (c: number[]): string => `"[${c.join(',')}]"`;

function niNode(ni: NiInfo, verbose: number, isLo: boolean): YMap {
  const e: [string, YNode][] = [
    ['nid', ni.nid],
    ['status', ni.status],
  ];
  if (ni.interfaces.length > 0) e.push(['interfaces', ymap(ni.interfaces.map((n, i) => [String(i), n]))]);
  if (verbose >= 1) {
    e.push(['statistics', counters(ni.statistics)]);
    if (verbose >= 4) e.push(['udsp info', ymap([['net priority', num(ni.udsp.netPriority)], ['nid priority', num(ni.udsp.nidPriority)]])]);
    if (verbose >= 2) {
      e.push(['sent_stats', counters(ni.sentStats)], ['received_stats', counters(ni.receivedStats)], ['dropped_stats', counters(ni.droppedStats)], ['health stats', counters(ni.health)]);
    }
    e.push(['tunables', counters(ni.tunables as unknown as Counters)]);
    e.push(['lnd tunables', ymap(isLo ? [] : Object.entries(ni.lndTunables).map(([k, v]) => [k, num(v)]))]);
    e.push(['dev cpt', num(ni.devCpt)]);
    e.push(['CPT', cptText(ni.cpts)]);
  }
  return ymap(e);
}

function niBackupNode(ni: NiInfo): YMap {
  const e: [string, YNode][] = [];
  if (ni.interfaces.length > 0) e.push(['interfaces', ymap(ni.interfaces.map((n, i) => [String(i), n]))]);
  else e.push(['nid', ni.nid]);
  e.push(['tunables', counters(ni.tunables as unknown as Counters)]);
  e.push(['lnd tunables', counters(ni.lndTunables)]);
  e.push(['CPT', cptText(ni.cpts)]);
  return ymap(e);
}

/** `net:` as `lnetctl net show [-v N]` (or the backup form of export). */
export function netsDoc(nets: NetInfo[], verbose: number, backup = false): YMap {
  const list = backup ? nets.filter((n) => n.net !== 'lo') : nets;
  return ymap([
    [
      'net',
      yseq(
        list.map((n) =>
          ymap([
            ['net type', n.net],
            ['local NI(s)', yseq(n.nis.map((ni) => (backup ? niBackupNode(ni) : niNode(ni, verbose, n.net === 'lo'))))],
          ]),
        ),
      ),
    ],
  ]);
}

/** `route:` as `lnetctl route show [-v]`. */
export function routesDoc(routes: RouteInfo[], verbose: number, backup = false): YMap {
  return ymap([
    [
      'route',
      yseq(
        routes.map((r) => {
          const e: [string, YNode][] = [
            ['net', r.net],
            ['gateway', r.gateway],
          ];
          if (verbose >= 1 || backup) e.push(['hop', num(r.hop)], ['priority', num(r.priority)]);
          if (verbose >= 1 && !backup) e.push(['state', r.state], ['type', r.type]);
          return ymap(e);
        }),
      ),
    ],
  ]);
}

const poolNode = (p: RoutingInfo['cpts'][number]['tiny']): YMap =>
  ymap([
    ['npages', num(p.npages)],
    ['nbuffers', num(p.nbuffers)],
    ['credits', num(p.credits)],
    ['mincredits', num(p.mincredits)],
  ]);

/** `routing:` and `buffers:` as `lnetctl routing show` (backup: routing as a mapping). */
export function routingDoc(r: RoutingInfo, backup = false): YMap {
  const buffers = ymap([
    ['tiny', num(r.buffers.tiny)],
    ['small', num(r.buffers.small)],
    ['large', num(r.buffers.large)],
  ]);
  const enable = num(r.enabled ? 1 : 0);
  if (backup) return ymap([['routing', ymap([['enable', enable]])], ['buffers', buffers]]);
  return ymap([
    [
      'routing',
      yseq([
        ...r.cpts.map((c, i) =>
          ymap([
            [
              `cpt[${i}]`,
              ymap([
                ['tiny', poolNode(c.tiny)],
                ['small', poolNode(c.small)],
                ['large', poolNode(c.large)],
              ]),
            ],
          ]),
        ),
        ymap([['enable', enable]]),
      ]),
    ],
    ['buffers', buffers],
  ]);
}

/** `peer:` as `lnetctl peer show [-v N]`. */
export function peersDoc(peers: PeerInfo[], verbose: number, backup = false): YMap {
  return ymap([
    [
      'peer',
      yseq(
        peers.map((p) => {
          const e: [string, YNode][] = [
            ['primary nid', p.primaryNid],
            ['Multi-Rail', p.multiRail ? 'True' : 'False'],
          ];
          if (verbose >= 3 && !backup) e.push(['peer state', num(p.state)]);
          e.push([
            'peer ni',
            yseq(
              p.nis.map((ni) => {
                if (backup) return ymap([['nid', ni.nid]]);
                const n: [string, YNode][] = [
                  ['nid', ni.nid],
                  ['state', ni.state],
                ];
                if (verbose >= 1) {
                  for (const [k, v] of Object.entries(ni.credits)) n.push([k, num(v)]);
                  n.push(['statistics', counters(ni.statistics)]);
                }
                if (verbose >= 2) n.push(['sent_stats', counters(ni.sentStats)], ['received_stats', counters(ni.receivedStats)], ['dropped_stats', counters(ni.droppedStats)], ['health stats', counters(ni.health)]);
                return ymap(n);
              }),
            ),
          ]);
          return ymap(e);
        }),
      ),
    ],
  ]);
}

export function peerListDoc(nids: string[]): YMap {
  return ymap([['peer list', yseq(nids.map((n) => ymap([['nid', n]])))]]);
}

/** `ping:` (or `discover:`) as lnetctl prints a successful ping; 0@lo is left out. */
export function pingDoc(results: PingResult[], key: 'ping' | 'discover' = 'ping'): YMap {
  return ymap([
    [
      key,
      yseq(
        results.map((r) =>
          ymap([
            ['primary nid', r.primaryNid],
            ['Multi-Rail', r.multiRail ? 'True' : 'False'],
            ['peer ni', yseq(r.nids.filter((n) => n !== '0@lo').map((n) => ymap([['nid', n]])))],
          ]),
        ),
      ),
    ],
  ]);
}

export function statsDoc(c: Counters): YMap {
  return ymap([['statistics', counters(c)]]);
}

export function globalDoc(g: Partial<Globals>, opts: { withLndTimeout?: boolean } = {}): YMap {
  const keys = GLOBAL_KEYS.filter((k) => g[k] !== undefined && (opts.withLndTimeout !== false || k !== 'lnd_timeout'));
  return ymap([['global', ymap(keys.map((k) => [k, num(g[k]!)]))]]);
}

/** The style lnetctl uses for net/route/peer/ping output on this transport. */
export function showStyle(t: LnetTransport): YamlStyle {
  return t === 'netlink' ? 'netlink' : 'cyaml';
}

/** An lnetctl error report (stderr), in the style of the path that failed. */
export function errorDoc(op: string, what: string, errno: number, descr: string, style: YamlStyle): string {
  if (style === 'cyaml') {
    return emit(ymap([[op, yseq([ymap([[what, ymap([['errno', num(-Math.abs(errno))], ['descr', `"${descr}"`]])]])])]]), 'cyaml');
  }
  return `---\n${op}:\n-     ${what}:\n      errno: ${-Math.abs(errno)}\n      descr: ! "${descr}"\n...\n`;
}
