/**
 * Routing analysis over the forwarding tables of a whole fabric (pure
 * TypeScript, no fabric access):
 *
 * - reachability: for every (source switch, destination LID) pair the tables
 *   are followed hop by hop, memoized per destination (each switch is
 *   walked once per LID: O(switches x LIDs)); the walk ends delivered, in
 *   a black hole (255, a port that is down or unconnected, a port beyond
 *   the switch's ports, a node that does not own the LID) or in a loop;
 * - the channel dependency graph (a channel is one direction of a
 *   switch-to-switch link): for each destination LID, the traffic from every
 *   switch with CAs attached marks the switches it crosses, and each
 *   switch forwarding from channel (u -> v) to channel (v -> w) adds the
 *   dependency; a cycle (iterative DFS, O(channels + dependencies)) is a
 *   credit loop. One VL is assumed: SL-to-VL tables are not read, so
 *   engines that break cycles with VLs (LASH, DFSSSP) are reported too;
 * - balance: destination CA LIDs per output port (as check_lft_balance
 *   counts them) compared across the up-links of a switch and across the
 *   parallel links to one neighbour;
 * - hops: switch-to-switch links on each route from a switch with CAs to a
 *   CA LID, against the fabric's diameter.
 */
import { FabricIndex, displayName, type Fabric, type FabricNode } from '../topology/model.js';
import { NO_ROUTE, type RoutingTables, type SwitchRoutes } from './model.js';

export type BlackHoleKind = 'no-route' | 'down' | 'unconnected' | 'invalid-port' | 'wrong-node' | 'no-table';

export interface BlackHole {
  /** Index into `RoutingAnalysis.switches`. */
  sw: number;
  port: number;
  kind: BlackHoleKind;
  /** What is wrong with the port (state, remote node ...). */
  detail: string;
  lids: number[];
}

export interface RouteLoop {
  /** The switches of the loop, each with the port it forwards by (in forwarding order). */
  hops: Array<{ sw: number; port: number }>;
  lids: number[];
}

export interface Unreachable {
  lid: number;
  /** Node owning the LID. */
  owner: FabricNode;
  ownerPort: number;
  /** Switches whose route to the LID fails. */
  sources: number[];
  /** How many switches were checked (those with readable tables). */
  of: number;
}

export interface CreditLoop {
  /** The channels of one cycle: switch `sw` sends by `port` to switch `to` (arriving on `toPort`). */
  channels: Array<{ sw: number; port: number; to: number; toPort: number }>;
}

export interface Imbalance {
  sw: number;
  /** 'up-links' or the neighbour switch for parallel links. */
  group: 'up-links' | { neighbour: number };
  counts: Array<{ port: number; lids: number }>;
  max: number;
  min: number;
}

export interface LongRoutes {
  sw: number;
  count: number;
  worst: { lid: number; hops: number };
  examples: number[];
}

export interface RoutingAnalysis {
  /** Switch nodes, index-aligned with `tables` (undefined when the switch's table could not be read). */
  switches: FabricNode[];
  tables: Array<SwitchRoutes | undefined>;
  destinations: number;
  pairs: number;
  blackHoles: BlackHole[];
  loops: RouteLoop[];
  unreachable: Unreachable[];
  creditLoop: CreditLoop | undefined;
  channels: number;
  dependencies: number;
  imbalances: Imbalance[];
  diameter: number;
  maxHops: number;
  longRoutes: LongRoutes[];
}

export interface AnalysisOptions {
  /** route-hops limit; default: the diameter of the switch graph between switches with CAs. */
  maxHops?: number;
  /** route-unbalanced: report when max > min * ratio (and max > min + 1); default: max > min + 1 (check_lft_balance). */
  balanceRatio?: number;
}

interface Dest {
  lid: number;
  owner: FabricNode;
  ownerPort: number;
  /** Switch index when the owner is a switch; else the CA's switch/port (or -1). */
  ownerSwitch: number;
  isCa: boolean;
}

// neighbour kinds
const NONE = 0;
const SWITCH = 1;
const END = 2;

export function analyzeRoutes(fabric: Fabric, routes: RoutingTables, opts: AnalysisOptions = {}): RoutingAnalysis {
  const index = new FabricIndex(fabric);
  const switches = fabric.nodes.filter((n) => n.type === 'Switch');
  const S = switches.length;
  const swOf = new Map<string, number>(switches.map((n, i) => [n.id, i]));
  const byNode = new Map(routes.switches.map((s) => [s.node, s]));
  const tables = switches.map((n) => byNode.get(n.id));
  let P = 1;
  for (const n of switches) P = Math.max(P, n.numPorts + 1);

  // Per (switch, port): neighbour kind/index/port and why a port cannot forward.
  const kind = new Uint8Array(S * P);
  const nbr = new Int32Array(S * P).fill(-1);
  const nbrPort = new Uint8Array(S * P);
  const why = new Map<number, { kind: BlackHoleKind; detail: string }>();
  const endNodes: FabricNode[] = [];
  const endOf = new Map<string, number>();
  const hasCa = new Uint8Array(S);
  for (let i = 0; i < S; i++) {
    const n = switches[i]!;
    const byNum: Array<FabricNode['ports'][number] | undefined> = [];
    for (const x of n.ports) byNum[x.portNum] = x;
    for (let p = 1; p <= n.numPorts; p++) {
      const fp = byNum[p];
      const k = i * P + p;
      if (!fp || !fp.remote) {
        why.set(k, fp?.state && fp.state !== 'Active' ? { kind: 'down', detail: `port ${p} is ${fp.state}${fp.physState ? ` (${fp.physState})` : ''}` } : { kind: 'unconnected', detail: `port ${p} has no cable` });
        continue;
      }
      if (fp.state && fp.state !== 'Active') {
        why.set(k, { kind: 'down', detail: `port ${p} is ${fp.state}` });
        continue;
      }
      const r = index.node(fp.remote.node);
      if (!r) continue;
      nbrPort[k] = fp.remote.port;
      if (r.type === 'Switch') {
        kind[k] = SWITCH;
        nbr[k] = swOf.get(r.id)!;
      } else {
        kind[k] = END;
        let e = endOf.get(r.id);
        if (e === undefined) {
          e = endNodes.length;
          endNodes.push(r);
          endOf.set(r.id, e);
        }
        nbr[k] = e;
        if (r.type === 'CA') hasCa[i] = 1;
      }
    }
  }

  // Destinations: the LIDs of active CA/router ports (LMC ranges) and of switch port 0.
  const dests: Dest[] = [];
  const caSwitch = new Map<string, number>();
  for (let i = 0; i < S; i++) {
    for (let p = 1; p < P; p++) if (kind[i * P + p] === END) caSwitch.set(`${endNodes[nbr[i * P + p]!]!.id}/${nbrPort[i * P + p]}`, i);
  }
  for (const n of fabric.nodes) {
    for (const p of n.ports) {
      if (!p.lid) continue;
      if (n.type === 'Switch') {
        if (p.portNum === 0) dests.push({ lid: p.lid, owner: n, ownerPort: 0, ownerSwitch: swOf.get(n.id)!, isCa: false });
        continue;
      }
      if (p.state && p.state !== 'Active') continue;
      const count = 1 << Math.min(p.lmc ?? 0, 7);
      for (let l = p.lid; l < p.lid + count && l <= 0xbfff; l++) {
        dests.push({ lid: l, owner: n, ownerPort: p.portNum, ownerSwitch: caSwitch.get(`${n.id}/${p.portNum}`) ?? -1, isCa: n.type === 'CA' });
      }
    }
  }
  dests.sort((a, b) => a.lid - b.lid);

  // Switch graph facts: ranks (distance from switches with CAs) and the diameter between CA switches.
  const dist = bfsFrom(S, P, kind, nbr, (i) => hasCa[i] === 1);
  const diameter = caDiameter(S, P, kind, nbr, hasCa);
  const maxHops = opts.maxHops ?? diameter;

  const state = new Uint8Array(S); // 0 unknown, 1 on the stack, 2 reaches, 3 fails, 4 undetermined
  const hops = new Int32Array(S);
  const failOf = new Int32Array(S);
  const stack = new Int32Array(S + 1);
  let sp = 0;
  const blackHoles = new Map<string, BlackHole>();
  const loops = new Map<string, RouteLoop>();
  const unreachable: Unreachable[] = [];
  const long = new Map<number, LongRoutes>();
  const checked = tables.filter(Boolean).length;
  const checkedCa = tables.filter((t, i) => t && hasCa[i]).length;
  const caFirst = Int32Array.from([...Array(S).keys()].sort((x, y) => hasCa[y]! - hasCa[x]! || x - y));
  let pairs = 0;

  // Channel dependencies: channel id = switch * P + port. A dependency leaves channel k = (u, p)
  // for a channel (v, q) of the switch v that k leads to, so it is kept as dep[k * P + q].
  const used = new Int32Array(S).fill(-1);
  const C = S * P;
  const dep = new Uint8Array(C * P);
  let depCount = 0;

  for (let di = 0; di < dests.length; di++) {
    const d = dests[di]!;
    const L = d.lid;
    state.fill(0);
    const failures: Array<{ key: string; bh?: BlackHole; loop?: RouteLoop }> = [];
    const failAt = (key: string, make: () => BlackHole | RouteLoop, isLoop: boolean) => {
      let f: BlackHole | RouteLoop | undefined = isLoop ? loops.get(key) : blackHoles.get(key);
      if (!f) {
        f = make();
        if (isLoop) loops.set(key, f as RouteLoop);
        else blackHoles.set(key, f as BlackHole);
      }
      const list = f.lids;
      if (list[list.length - 1] !== L) list.push(L);
      failures.push({ key });
      return failures.length - 1;
    };
    // Sources: every switch for CA and router LIDs; for a switch's own LID only the switches with CAs
    // (CA traffic to a switch: up/down engines leave root-to-root switch routes empty by design).
    const allSources = d.owner.type !== 'Switch';
    for (let si = 0; si < S; si++) {
      const s0 = caFirst[si]!;
      if (state[s0] !== 0) continue;
      if (!allSources && !hasCa[s0]) continue;
      let u = s0;
      // Walk until a switch with a known outcome; then settle the stack.
      let outcome = 0; // 2 reaches (hops in h), 3 fails (failure id in f), 4 undetermined
      let h = 0;
      let f = -1;
      for (;;) {
        const t = tables[u];
        if (!t) {
          outcome = 4;
          break;
        }
        state[u] = 1;
        stack[sp++] = u;
        const out = L <= t.linearFdbTop ? t.lft[L]! : NO_ROUTE;
        const sw = switches[u]!;
        if (out === 0) {
          if (d.owner.type === 'Switch' && d.ownerSwitch === u) {
            outcome = 2;
            h = 0;
          } else {
            outcome = 3;
            f = failAt(`${u}/0/wrong-node`, () => ({ sw: u, port: 0, kind: 'wrong-node', detail: `port 0 delivers to the switch itself, which does not own the LID`, lids: [] }), false);
          }
          break;
        }
        if (out === NO_ROUTE) {
          outcome = 3;
          f = failAt(`${u}/255/no-route`, () => ({ sw: u, port: NO_ROUTE, kind: 'no-route', detail: 'no route (255)', lids: [] }), false);
          break;
        }
        if (out > sw.numPorts) {
          outcome = 3;
          f = failAt(`${u}/${out}/invalid-port`, () => ({ sw: u, port: out, kind: 'invalid-port', detail: `port ${out} does not exist (${sw.numPorts} ports)`, lids: [] }), false);
          break;
        }
        const k = u * P + out;
        const nk = kind[k]!;
        if (nk === NONE) {
          const w = why.get(k) ?? { kind: 'unconnected' as const, detail: `port ${out} has no cable` };
          outcome = 3;
          f = failAt(`${u}/${out}/${w.kind}`, () => ({ sw: u, port: out, kind: w.kind, detail: w.detail, lids: [] }), false);
          break;
        }
        if (nk === END) {
          const e = endNodes[nbr[k]!]!;
          if (e === d.owner && nbrPort[k] === d.ownerPort) {
            outcome = 2;
            h = 1;
          } else {
            outcome = 3;
            f = failAt(`${u}/${out}/wrong-node:${e.id}`, () => ({ sw: u, port: out, kind: 'wrong-node', detail: `port ${out} leads to "${displayName(e)}", which does not own the LID`, lids: [] }), false);
          }
          break;
        }
        const v = nbr[k]!;
        const sv = state[v]!;
        if (sv === 1) {
          // A loop: the stack from v to u.
          const cyc = Array.from(stack.subarray(stack.subarray(0, sp).indexOf(v), sp));
          const keyIds = [...cyc].sort((a, b) => a - b).join(',');
          outcome = 3;
          f = failAt(
            `loop:${keyIds}`,
            () => ({ hops: cyc.map((x) => ({ sw: x, port: tables[x]!.lft[L]! })), lids: [] }),
            true,
          );
          break;
        }
        if (sv === 2) {
          outcome = 2;
          h = hops[v]! + 1;
          break;
        }
        if (sv === 3) {
          outcome = 3;
          f = failOf[v]!;
          break;
        }
        if (sv === 4) {
          outcome = 4;
          break;
        }
        u = v;
      }
      // Settle the stack, innermost first.
      for (let j = sp - 1; j >= 0; j--) {
        const x = stack[j]!;
        state[x] = outcome;
        if (outcome === 2) {
          hops[x] = h;
          h++;
        } else if (outcome === 3) failOf[x] = f;
      }
      sp = 0;
    }
    const sources: number[] = [];
    for (let i = 0; i < S; i++) {
      if (!tables[i] || (!allSources && !hasCa[i])) continue;
      pairs++;
      if (state[i] === 3) sources.push(i);
    }
    if (sources.length > 0) {
      unreachable.push({ lid: L, owner: d.owner, ownerPort: d.ownerPort, sources, of: allSources ? checked : checkedCa });
    }
    // route-hops: from switches with CAs to CA LIDs, switch-to-switch links = hops - 1.
    for (let i = 0; i < S && d.isCa; i++) {
      if (!hasCa[i] || state[i] !== 2) continue;
      const links = hops[i]! - 1;
      if (links <= maxHops) continue;
      let lr = long.get(i);
      if (!lr) long.set(i, (lr = { sw: i, count: 0, worst: { lid: L, hops: links }, examples: [] }));
      lr.count++;
      if (links > lr.worst.hops) lr.worst = { lid: L, hops: links };
      if (lr.examples.length < 8) lr.examples.push(L);
    }

    // Channel dependencies of CA traffic (from every switch with CAs) to this LID (CA, router or switch:
    // GMPs to switches travel on data VLs too).
    for (let s = 0; s < S; s++) {
      if (!hasCa[s]) continue;
      let u = s;
      while (used[u] !== di) {
        used[u] = di;
        const t = tables[u];
        if (!t) break;
        const out = L <= t.linearFdbTop ? t.lft[L]! : NO_ROUTE;
        if (out === 0 || out === NO_ROUTE || out >= P) break;
        const k = u * P + out;
        if (kind[k] !== SWITCH) break;
        const v = nbr[k]!;
        const tv = tables[v];
        if (tv) {
          const out2 = L <= tv.linearFdbTop ? tv.lft[L]! : NO_ROUTE;
          if (out2 !== 0 && out2 !== NO_ROUTE && out2 < P && kind[v * P + out2] === SWITCH && dep[k * P + out2] === 0) {
            dep[k * P + out2] = 1;
            depCount++;
          }
        }
        u = v;
      }
    }
  }

  const creditLoop = findCycle(C, P, dep, depCount, nbr, nbrPort);
  const imbalances = balance(S, P, kind, nbr, tables, dests, dist, opts.balanceRatio);

  return {
    switches,
    tables,
    destinations: dests.length,
    pairs,
    blackHoles: [...blackHoles.values()],
    loops: [...loops.values()],
    unreachable,
    creditLoop,
    channels: countChannels(S, P, kind),
    dependencies: depCount,
    imbalances,
    diameter,
    maxHops,
    longRoutes: [...long.values()],
  };
}

function countChannels(S: number, P: number, kind: Uint8Array): number {
  let c = 0;
  for (let k = 0; k < S * P; k++) if (kind[k] === SWITCH) c++;
  return c;
}

/** Distance (in switch-to-switch links) from the nearest start switch; -1 when unreachable. */
function bfsFrom(S: number, P: number, kind: Uint8Array, nbr: Int32Array, start: (i: number) => boolean): Int32Array {
  const dist = new Int32Array(S).fill(-1);
  const q: number[] = [];
  for (let i = 0; i < S; i++) if (start(i)) {
    dist[i] = 0;
    q.push(i);
  }
  for (let h = 0; h < q.length; h++) {
    const u = q[h]!;
    for (let p = 1; p < P; p++) {
      const k = u * P + p;
      if (kind[k] !== SWITCH) continue;
      const v = nbr[k]!;
      if (dist[v] === -1) {
        dist[v] = dist[u]! + 1;
        q.push(v);
      }
    }
  }
  return dist;
}

/** The largest shortest distance between two switches with CAs (BFS from each). */
function caDiameter(S: number, P: number, kind: Uint8Array, nbr: Int32Array, hasCa: Uint8Array): number {
  let best = 0;
  for (let s = 0; s < S; s++) {
    if (!hasCa[s]) continue;
    const d = bfsFrom(S, P, kind, nbr, (i) => i === s);
    for (let i = 0; i < S; i++) if (hasCa[i] && d[i]! > best) best = d[i]!;
  }
  return best;
}

/** One cycle of the dependency graph (iterative DFS, white/grey/black), as channels. */
function findCycle(C: number, P: number, dep: Uint8Array, count: number, nbr: Int32Array, nbrPort: Uint8Array): CreditLoop | undefined {
  // CSR adjacency: channel k = (u, p) depends on channels (nbr[k], q) with dep[k * P + q].
  const deg = new Int32Array(C + 1);
  const adj = new Int32Array(count);
  let e = 0;
  for (let k = 0; k < C; k++) {
    deg[k] = e;
    const base = k * P;
    for (let q = 1; q < P; q++) if (dep[base + q]) adj[e++] = nbr[k]! * P + q;
  }
  deg[C] = e;
  const color = new Uint8Array(C);
  const next = new Int32Array(C);
  const parent = new Int32Array(C).fill(-1);
  for (let root = 0; root < C; root++) {
    if (color[root] !== 0 || deg[root] === deg[root + 1]) continue;
    color[root] = 1;
    next[root] = deg[root]!;
    let u = root;
    while (u !== -1) {
      if (next[u]! < deg[u + 1]!) {
        const v = adj[next[u]!++]!;
        if (color[v] === 0) {
          color[v] = 1;
          parent[v] = u;
          next[v] = deg[v]!;
          u = v;
        } else if (color[v] === 1) {
          // Back edge u -> v: the cycle is v ... u.
          const cyc: number[] = [];
          for (let x = u; x !== v; x = parent[x]!) cyc.push(x);
          cyc.push(v);
          cyc.reverse();
          return {
            channels: cyc.map((c) => ({ sw: Math.floor(c / P), port: c % P, to: nbr[c]!, toPort: nbrPort[c]! })),
          };
        }
      } else {
        color[u] = 2;
        u = parent[u]!;
      }
    }
  }
  return undefined;
}

function balance(
  S: number,
  P: number,
  kind: Uint8Array,
  nbr: Int32Array,
  tables: Array<SwitchRoutes | undefined>,
  dests: Dest[],
  rank: Int32Array,
  ratio: number | undefined,
): Imbalance[] {
  const out: Imbalance[] = [];
  const cnt = new Int32Array(P);
  const unbalanced = (c: Array<{ lids: number }>) => {
    let max = 0;
    let min = Infinity;
    for (const x of c) {
      max = Math.max(max, x.lids);
      min = Math.min(min, x.lids);
    }
    const bad = max > min + 1 && (ratio === undefined || max > min * ratio);
    return { bad, max, min };
  };
  for (let i = 0; i < S; i++) {
    const t = tables[i];
    if (!t) continue;
    cnt.fill(0);
    for (const d of dests) {
      if (!d.isCa || d.lid > t.linearFdbTop) continue;
      const p = t.lft[d.lid]!;
      if (p < P) cnt[p]!++;
    }
    const up: Array<{ port: number; lids: number }> = [];
    const byNbr = new Map<number, Array<{ port: number; lids: number }>>();
    for (let p = 1; p < P; p++) {
      const k = i * P + p;
      if (kind[k] !== SWITCH) continue;
      const v = nbr[k]!;
      const e = { port: p, lids: cnt[p]! };
      if (rank[v]! > rank[i]!) up.push(e);
      const l = byNbr.get(v);
      if (l) l.push(e);
      else byNbr.set(v, [e]);
    }
    let upBad = false;
    if (up.length > 1) {
      const u = unbalanced(up);
      if (u.bad) {
        upBad = true;
        out.push({ sw: i, group: 'up-links', counts: up, max: u.max, min: u.min });
      }
    }
    for (const [v, l] of byNbr) {
      if (l.length < 2) continue;
      if (upBad && rank[v]! > rank[i]!) continue;
      const u = unbalanced(l);
      if (u.bad) out.push({ sw: i, group: { neighbour: v }, counts: l, max: u.max, min: u.min });
    }
  }
  return out;
}

/** "1-3,6,8-9" for a sorted list of numbers, cut after `limit` items with "(+N more)". */
export function compactList(nums: readonly number[], limit = 12, fmt: (n: number) => string = String): string {
  const parts: string[] = [];
  let shown = 0;
  let i = 0;
  while (i < nums.length && parts.length < limit) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j]! + 1) j++;
    parts.push(j > i ? `${fmt(nums[i]!)}-${fmt(nums[j]!)}` : fmt(nums[i]!));
    shown += j - i + 1;
    i = j + 1;
  }
  const rest = nums.length - shown;
  return parts.join(',') + (rest > 0 ? ` (+${rest} more)` : '');
}

const cache = new WeakMap<RoutingTables, Map<string, RoutingAnalysis>>();

/** analyzeRoutes, computed once per (tables, options) (the audit's routing rules share it). */
export function routingAnalysis(fabric: Fabric, routes: RoutingTables, opts: AnalysisOptions = {}): RoutingAnalysis {
  const key = `${opts.maxHops ?? ''}/${opts.balanceRatio ?? ''}`;
  let m = cache.get(routes);
  if (!m) cache.set(routes, (m = new Map()));
  let a = m.get(key);
  if (!a) m.set(key, (a = analyzeRoutes(fabric, routes, opts)));
  return a;
}
