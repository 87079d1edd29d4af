/**
 * Output formats of the forwarding tables:
 * - `dump_fts`: what infiniband-diags' dump_fts prints (ibroute's text for
 *   every switch, destinations named from the discovered fabric);
 * - `text`: per switch, the LIDs each output port carries, as ranges;
 * - `json`: schema "hpcnet.routes" (one LFT array per switch);
 * and the snapshot encoding (`routes` in an "hpcnet.fabric" snapshot, the
 * LFT as base64, read back strictly).
 */
import { formatGuid } from '../../util/format.js';
import { displayName, type Fabric, type FabricNode } from '../topology/model.js';
import { NO_ROUTE, type RoutingTables, type SwitchRoutes } from './model.js';

export const ROUTES_FORMATS = ['text', 'json', 'dump_fts'] as const;
export type RoutesFormat = (typeof ROUTES_FORMATS)[number];

const hex4 = (n: number) => '0x' + n.toString(16).padStart(4, '0');
const TYPE_NAMES: Record<string, string> = { CA: 'Channel Adapter', Switch: 'Switch', Router: 'Router' };

interface LidOwner {
  node: FabricNode;
  portGuid: bigint;
  /** 1-based path number within the LMC range, and the range size. */
  path: number;
  paths: number;
}

/** LID -> the port that owns it (switch port 0, CA and router ports with their LMC ranges). */
export function lidOwners(fabric: Fabric): Map<number, LidOwner> {
  const m = new Map<number, LidOwner>();
  for (const n of fabric.nodes) {
    for (const p of n.ports) {
      if (!p.lid || (n.type === 'Switch' && p.portNum !== 0)) continue;
      const paths = 1 << Math.min(p.lmc ?? 0, 7);
      const portGuid = p.guid ?? n.portGuid ?? n.guid;
      for (let k = 0; k < paths; k++) if (!m.has(p.lid + k)) m.set(p.lid + k, { node: n, portGuid, path: k + 1, paths });
    }
  }
  return m;
}

function drWhere(n: FabricNode): string {
  if (n.drPath) return `DR path slid 0; dlid 0; ${['0', ...n.drPath].join(',')}`;
  const lid = n.ports.find((p) => p.portNum === 0)?.lid ?? 0;
  return `Lid ${lid}`;
}

function byId(fabric: Fabric): Map<string, FabricNode> {
  return new Map(fabric.nodes.map((n) => [n.id, n]));
}

/**
 * Every LID's dump_fts line with the port digits at bytes 7-9 ("0x0001 000 : (...)\n"), built once
 * for all switches: `tpl` holds the lines of LIDs 0..top back to back, `off[lid]..off[lid + 1]` is one.
 */
function dumpFtsLines(fabric: Fabric, top: number): { tpl: Buffer; off: Int32Array } {
  const owners = lidOwners(fabric);
  const text: string[] = new Array(top + 1);
  const off = new Int32Array(top + 2);
  for (let lid = 0; lid <= top; lid++) {
    const o = owners.get(lid);
    let info = '';
    if (o) {
      info =
        o.paths > 1
          ? ` : (path #${o.path - 1} out of ${o.paths}: portguid ${formatGuid(o.portGuid)})`
          : ` : (${TYPE_NAMES[o.node.type] ?? o.node.type} portguid ${formatGuid(o.portGuid)}: '${displayName(o.node)}')`;
    }
    text[lid] = `${hex4(lid)} 000${info}\n`;
    off[lid + 1] = off[lid]! + Buffer.byteLength(text[lid]!);
  }
  return { tpl: Buffer.from(text.join('')), off };
}

/**
 * dump_fts's unicast text as one Buffer per switch, for writing in chunks: each line is copied
 * from a per-LID template and only its port digits are written, so the 1.6 M lines of an
 * 8,192-host fabric cost no string per line. With `reuse`, every chunk is written into the same
 * scratch memory (valid until the next one is asked for: write it before): 120 MB of fresh
 * memory at 8,192 hosts cost about 0.3 s in page faults alone.
 */
export function* dumpFtsChunks(fabric: Fabric, routes: RoutingTables, opts: { reuse?: boolean } = {}): Generator<Buffer> {
  let scratch = Buffer.alloc(0);
  const nodes = byId(fabric);
  const { tpl, off } = dumpFtsLines(fabric, routes.switches.reduce((m, s) => Math.max(m, s.linearFdbTop), 0));
  // dump_fts lists switches in the reverse of discovery order (libibnetdisc prepends each switch found).
  for (let i = routes.switches.length - 1; i >= 0; i--) {
    const s = routes.switches[i]!;
    const n = nodes.get(s.node)!;
    const head = Buffer.from(
      `Unicast lids [0x0-${'0x' + s.linearFdbTop.toString(16)}] of switch ${drWhere(n)} guid ${formatGuid(s.guid)} (${displayName(n)}):\n` +
        '  Lid  Out   Destination\n       Port     Info \n',
    );
    const top = Math.min(s.linearFdbTop, s.lft.length - 1);
    let size = head.length;
    let valid = 0;
    for (let lid = 1; lid <= top; lid++) {
      if (s.lft[lid] === NO_ROUTE) continue;
      valid++;
      size += off[lid + 1]! - off[lid]!;
    }
    const foot = Buffer.from(`${valid} valid lids dumped \n`);
    if (!opts.reuse || scratch.length < size + foot.length) scratch = Buffer.allocUnsafe(size + foot.length);
    const buf = scratch.subarray(0, size + foot.length);
    let pos = head.copy(buf, 0);
    for (let lid = 1; lid <= top; ) {
      if (s.lft[lid] === NO_ROUTE) {
        lid++;
        continue;
      }
      // A run of LIDs with routes: their template lines are consecutive, copied at once.
      let end = lid;
      while (end < top && s.lft[end + 1] !== NO_ROUTE) end++;
      tpl.copy(buf, pos, off[lid]!, off[end + 1]!);
      for (; lid <= end; lid++) {
        const p = s.lft[lid]!;
        buf[pos + 7] = 48 + Math.floor(p / 100);
        buf[pos + 8] = 48 + (Math.floor(p / 10) % 10);
        buf[pos + 9] = 48 + (p % 10);
        pos += off[lid + 1]! - off[lid]!;
      }
    }
    foot.copy(buf, pos);
    yield buf;
  }
}

/** dump_fts -M's text: the multicast tables read with `multicast`. */
function dumpFtsMulticast(fabric: Fabric, routes: RoutingTables): string {
  const nodes = byId(fabric);
  const out: string[] = [];
  for (const s of [...routes.switches].reverse()) {
    const n = nodes.get(s.node)!;
    out.push(`Multicast mlids [0xc000-0x${(0xc000 + (n.switchInfo?.multicastFdbCap ?? 1024) - 1).toString(16)}] of switch ${drWhere(n)} guid ${formatGuid(s.guid)} (${displayName(n)}):`);
    out.push('     Ports: ' + Array.from({ length: n.numPorts + 1 }, (_, i) => String(i)).join(' ') + ' ', ' MLid');
    for (const e of s.mft ?? []) {
      const set = new Set(e.ports);
      out.push(`${hex4(e.mlid)}      ` + Array.from({ length: n.numPorts + 1 }, (_, i) => (set.has(i) ? 'x ' : '  ')).join(''));
    }
    out.push(`${(s.mft ?? []).length} valid mlids dumped `);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

/** dump_fts's text (unicast; with `multicast`, the multicast tables as dump_fts -M prints them). */
export function routesDumpFts(fabric: Fabric, routes: RoutingTables, opts: { multicast?: boolean } = {}): string {
  if (opts.multicast) return dumpFtsMulticast(fabric, routes);
  return Buffer.concat([...dumpFtsChunks(fabric, routes)]).toString();
}

/** Per switch, the LIDs each output port carries (ranges). */
export function routesText(fabric: Fabric, routes: RoutingTables): string {
  const nodes = byId(fabric);
  const out: string[] = [];
  for (const s of routes.switches) {
    const n = nodes.get(s.node)!;
    // One pass over the table: per port the LID count and its first 16 ranges (as compactList prints them).
    const RANGES = 16;
    type PortLids = { count: number; shown: number; ranges: number; starts: number[]; ends: number[]; last: number };
    const per: Array<PortLids | undefined> = new Array(256);
    for (let lid = 1; lid <= s.linearFdbTop; lid++) {
      const p = s.lft[lid]!;
      if (p === NO_ROUTE) continue;
      let e = per[p];
      if (!e) per[p] = e = { count: 0, shown: 0, ranges: 0, starts: [], ends: [], last: -2 };
      e.count++;
      if (e.last === lid - 1) {
        if (e.ranges <= RANGES) {
          e.ends[e.ranges - 1] = lid;
          e.shown++;
        }
      } else {
        e.ranges++;
        if (e.ranges <= RANGES) {
          e.starts.push(lid);
          e.ends.push(lid);
          e.shown++;
        }
      }
      e.last = lid;
    }
    out.push(`switch "${displayName(n)}" ${formatGuid(s.guid)} (${drWhere(n)}), LinearFDBTop ${s.linearFdbTop}`);
    for (let p = 0; p < 256; p++) {
      const e = per[p];
      if (!e) continue;
      const remote = n.ports.find((x) => x.portNum === p)?.remote;
      const to = p === 0 ? 'self' : remote ? `"${displayName(nodes.get(remote.node)!)}" port ${remote.port}` : 'no cable';
      const list = e.starts.map((st, i) => (e.ends[i]! > st ? `${st}-${e.ends[i]}` : String(st))).join(',') + (e.count > e.shown ? ` (+${e.count - e.shown} more)` : '');
      out.push(`  port ${String(p).padStart(3)} -> ${to}: ${e.count} LID(s) ${list}`);
    }
    if (s.mft?.length) out.push(`  multicast: ${s.mft.map((e) => `${hex4(e.mlid)} [${e.ports.join(',')}]`).join(' ')}`);
  }
  for (const e of routes.errors) out.push(`error: ${e.node}: ${e.message}`);
  return out.join('\n') + '\n';
}

function switchJson(n: FabricNode, s: SwitchRoutes): Record<string, unknown> {
  return {
    guid: formatGuid(s.guid),
    description: displayName(n),
    ...(n.drPath ? { drPath: n.drPath } : {}),
    lid: n.ports.find((p) => p.portNum === 0)?.lid ?? null,
    linearFdbTop: s.linearFdbTop,
    lft: Array.from(s.lft),
    ...(s.mft ? { mft: s.mft } : {}),
  };
}

/** The "hpcnet.routes" JSON document. */
export function routesJson(fabric: Fabric, routes: RoutingTables): Record<string, unknown> {
  const nodes = byId(fabric);
  return {
    schema: 'hpcnet.routes',
    version: 1,
    readAt: routes.readAt,
    switches: routes.switches.map((s) => switchJson(nodes.get(s.node)!, s)),
    errors: routes.errors,
  };
}

/** JSON.stringify(routesJson(...)) + newline, one switch per chunk. */
function* routesJsonChunks(fabric: Fabric, routes: RoutingTables): Generator<string> {
  const nodes = byId(fabric);
  yield `{"schema":"hpcnet.routes","version":1,"readAt":${JSON.stringify(routes.readAt)},"switches":[`;
  for (let i = 0; i < routes.switches.length; i++) {
    const s = routes.switches[i]!;
    yield (i ? ',' : '') + JSON.stringify(switchJson(nodes.get(s.node)!, s));
  }
  yield `],"errors":${JSON.stringify(routes.errors)}}\n`;
}

/**
 * The tables in a format, in chunks (one or a few per switch) to write one after the other.
 * With `reuse`, a Buffer chunk is valid only until the next is asked for (see dumpFtsChunks).
 */
export function renderRoutesChunks(fabric: Fabric, routes: RoutingTables, format: RoutesFormat, opts: { multicast?: boolean; reuse?: boolean } = {}): Iterable<Buffer | string> {
  if (format === 'json') return routesJsonChunks(fabric, routes);
  if (format === 'dump_fts') return opts.multicast ? [dumpFtsMulticast(fabric, routes)] : dumpFtsChunks(fabric, routes, { reuse: opts.reuse === true });
  return [routesText(fabric, routes)];
}

export function renderRoutes(fabric: Fabric, routes: RoutingTables, format: RoutesFormat, opts: { multicast?: boolean } = {}): string {
  return Buffer.concat([...renderRoutesChunks(fabric, routes, format, opts)].map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).toString();
}

// ---------------------------------------------------------------------------
// Snapshot encoding

export function routesToSnapshotJson(r: RoutingTables): Record<string, unknown> {
  return {
    readAt: r.readAt,
    switches: r.switches.map((s) => ({
      node: s.node,
      guid: formatGuid(s.guid),
      linearFdbTop: s.linearFdbTop,
      lft: Buffer.from(s.lft.buffer, s.lft.byteOffset, s.lft.byteLength).toString('base64'),
      ...(s.mft ? { mft: s.mft } : {}),
    })),
    errors: r.errors,
  };
}

type Fail = (path: string, msg: string) => never;

/** Read `routes` of a snapshot strictly; `fail` throws with the JSON path. */
export function routesFromSnapshotJson(v: unknown, nodeIds: Set<string>, fail: Fail): RoutingTables {
  const obj = (x: unknown, p: string) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(p, 'expected an object');
    return x as Record<string, unknown>;
  };
  const arr = (x: unknown, p: string) => {
    if (!Array.isArray(x)) fail(p, 'expected an array');
    return x as unknown[];
  };
  const int = (x: unknown, p: string, min: number, max: number) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) fail(p, `expected a whole number from ${min} to ${max}`);
    return x as number;
  };
  const node = (x: unknown, p: string) => {
    if (typeof x !== 'string' || !nodeIds.has(x)) fail(p, `no node with id ${JSON.stringify(x)}`);
    return x as string;
  };
  const o = obj(v, '$.routes');
  if (typeof o['readAt'] !== 'string') fail('$.routes.readAt', 'expected a string');
  const switches: SwitchRoutes[] = arr(o['switches'], '$.routes.switches').map((sv, i) => {
    const p = `$.routes.switches[${i}]`;
    const s = obj(sv, p);
    const g = s['guid'];
    if (typeof g !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(g)) fail(`${p}.guid`, 'expected a GUID as "0x" + up to 16 hex digits');
    const top = int(s['linearFdbTop'], `${p}.linearFdbTop`, 0, 0xbfff);
    if (typeof s['lft'] !== 'string' || !/^[A-Za-z0-9+/]*=*$/.test(s['lft'])) fail(`${p}.lft`, 'expected the LFT as base64');
    const buf = Buffer.from(s['lft'] as string, 'base64');
    if (buf.length !== top + 1) fail(`${p}.lft`, `expected ${top + 1} entries (LinearFDBTop + 1), got ${buf.length}`);
    const out: SwitchRoutes = { node: node(s['node'], `${p}.node`), guid: BigInt(g as string), linearFdbTop: top, lft: new Uint8Array(buf) };
    if (s['mft'] !== undefined) {
      out.mft = arr(s['mft'], `${p}.mft`).map((ev, j) => {
        const e = obj(ev, `${p}.mft[${j}]`);
        return {
          mlid: int(e['mlid'], `${p}.mft[${j}].mlid`, 0xc000, 0xffff),
          ports: arr(e['ports'], `${p}.mft[${j}].ports`).map((x, k) => int(x, `${p}.mft[${j}].ports[${k}]`, 0, 254)),
        };
      });
    }
    return out;
  });
  const errors = arr(o['errors'] ?? [], '$.routes.errors').map((ev, i) => {
    const e = obj(ev, `$.routes.errors[${i}]`);
    if (typeof e['message'] !== 'string') fail(`$.routes.errors[${i}].message`, 'expected a string');
    return { node: node(e['node'], `$.routes.errors[${i}].node`), message: e['message'] as string };
  });
  return { readAt: o['readAt'] as string, switches, errors };
}
