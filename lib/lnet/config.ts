/**
 * lnet.conf / lnetctl YAML documents (reference lnet.md 4.3): parse and
 * validate a whole document into an LnetConfig before anything is applied.
 * Every problem names its line and key. Show-only keys that lnetctl export
 * writes (nid, status, statistics, dev cpt, route state, ...) are accepted
 * and ignored, so an export imports back.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { checkUdspSpec, type UdspRuleSpec } from './udsp.js';
import { LnetConfigError, LnetSyntaxError, type ConfigProblem } from './errors.js';
import { GLOBAL_DEFS, globalDef } from './globals.js';
import { LND, NetId, Nid, expandNidRange } from './nid.js';
import { parseIp2nets, parseNetworks } from './params.js';
import type { BufferSpec, Counters, NiTunables, SettableGlobalKey } from './types.js';

/** Where an item came from in the document. */
export interface Origin {
  /** Path of the item, e.g. `net[1].local NI(s)[0]`. */
  key: string;
  line?: number;
}

export interface ConfigNi extends Origin {
  interfaces: string[];
  /** The NI by NID (when no interface is given). */
  nid?: string;
  tunables: Partial<NiTunables>;
  lndTunables: Counters;
  cpts?: number[];
}

export interface ConfigNet extends Origin {
  net: string;
  nis: ConfigNi[];
}

export interface ConfigRoute extends Origin {
  net: string;
  gateway: string;
  hop: number;
  priority: number;
}

export interface ConfigPeer extends Origin {
  primaryNid: string;
  multiRail: boolean;
  /** NIDs other than the primary. */
  nids: string[];
}

export interface ConfigTarget extends Origin {
  nid: string;
  timeoutMs?: number;
}

/** A validated configuration document. Absent sections are undefined. */
export interface LnetConfig {
  nets?: ConfigNet[];
  routes?: ConfigRoute[];
  peers?: ConfigPeer[];
  routing?: Origin & { enable: boolean };
  buffers?: Origin & BufferSpec;
  global?: Origin & { values: Partial<Record<SettableGlobalKey, number>>; lines: Partial<Record<SettableGlobalKey, number>> };
  numa?: Origin & { range: number };
  discover?: ConfigTarget[];
  ping?: ConfigTarget[];
  /** UDSP rules in document order (lnetctl's `udsp:` section). */
  udsp?: Array<Origin & UdspRuleSpec>;
}

const TUNABLE_KEYS = ['peer_timeout', 'peer_credits', 'peer_buffer_credits', 'credits'] as const;
const LND_TUNABLE_KEYS: Record<number, string[]> = {
  [LND.SOCKLND]: ['conns_per_peer', 'timeout', 'tos'],
  [LND.O2IBLND]: ['peercredits_hiw', 'map_on_demand', 'concurrent_sends', 'fmr_pool_size', 'fmr_flush_trigger', 'fmr_cache', 'ntx', 'conns_per_peer', 'timeout', 'tos'],
};
/** Keys lnetctl export writes that describe state, not configuration. */
const NI_SHOW_ONLY = new Set(['status', 'statistics', 'sent_stats', 'received_stats', 'dropped_stats', 'health stats', 'udsp info', 'dev cpt']);
const PEER_NI_SHOW_ONLY = new Set([
  'state',
  'max_ni_tx_credits',
  'available_tx_credits',
  'min_tx_credits',
  'tx_q_num_of_buf',
  'available_rtr_credits',
  'min_rtr_credits',
  'refcount',
  'statistics',
  'sent_stats',
  'received_stats',
  'dropped_stats',
  'health stats',
  'udsp info',
]);
const SECTIONS = ['net', 'ip2nets', 'route', 'peer', 'routing', 'buffers', 'global', 'numa', 'udsp', 'discover', 'ping', 'statistics'];

class Ctx {
  readonly problems: ConfigProblem[] = [];
  constructor(readonly lc: LineCounter) {}
  line(n: Node | null | undefined): number | undefined {
    const off = n?.range?.[0];
    return off === undefined ? undefined : this.lc.linePos(off).line;
  }
  add(n: Node | null | undefined, key: string, message: string): void {
    const line = this.line(n);
    this.problems.push(line === undefined ? { key, message } : { line, key, message });
  }
}

type Entry = { key: string; value: Node | null; keyNode: Node | null };

function entries(ctx: Ctx, n: Node | null, path: string): Entry[] | undefined {
  if (!isMap(n)) {
    ctx.add(n, path, 'expected a mapping');
    return undefined;
  }
  return n.items.map((p) => {
    const k = p.key as Node | null;
    const key = isScalar(k) ? String(k.value) : String(k);
    return { key, value: p.value as Node | null, keyNode: k };
  });
}

function items(ctx: Ctx, n: Node | null, path: string): (Node | null)[] | undefined {
  if (!isSeq(n)) {
    ctx.add(n, path, 'expected a list');
    return undefined;
  }
  return n.items as (Node | null)[];
}

function scalar(n: Node | null): unknown {
  return isScalar(n) ? n.value : undefined;
}

function str(ctx: Ctx, n: Node | null, path: string): string | undefined {
  const v = scalar(n);
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v === 'number') return String(v);
  ctx.add(n, path, 'expected a text value');
  return undefined;
}

function int(ctx: Ctx, n: Node | null, path: string, min = -Infinity, max = Infinity): number | undefined {
  let v = scalar(n);
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) v = Number(v.trim());
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    ctx.add(n, path, `expected a whole number, got ${JSON.stringify(v ?? null)}`);
    return undefined;
  }
  if (v < min || v > max) {
    ctx.add(n, path, `${v} is out of range (${min}..${max === Infinity ? 'max' : max})`);
    return undefined;
  }
  return v;
}

function bool(ctx: Ctx, n: Node | null, path: string): boolean | undefined {
  const v = scalar(n);
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string' && /^(yes|true|on|y|1)$/i.test(v)) return true;
  if (typeof v === 'string' && /^(no|false|off|n|0)$/i.test(v)) return false;
  ctx.add(n, path, `expected True/False, got ${JSON.stringify(v ?? null)}`);
  return undefined;
}

function syntax<T>(ctx: Ctx, n: Node | null, path: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof LnetSyntaxError) ctx.add(n, path, `${e.reason} (at character ${e.position + 1} of '${e.input}')`);
    else ctx.add(n, path, (e as Error).message);
    return undefined;
  }
}

function parseNet(ctx: Ctx, n: Node | null, path: string): NetId | undefined {
  const s = str(ctx, n, path);
  return s === undefined ? undefined : syntax(ctx, n, path, () => NetId.parse(s));
}

function parseCpts(ctx: Ctx, n: Node | null, path: string): number[] | undefined {
  if (isSeq(n)) {
    const out: number[] = [];
    n.items.forEach((it, i) => {
      const v = int(ctx, it as Node, `${path}[${i}]`, 0, 255);
      if (v !== undefined) out.push(v);
    });
    return out;
  }
  const s = scalar(n);
  if (typeof s === 'number') return [s];
  if (typeof s === 'string') {
    const m = /^\s*\[([\d\s,-]*)\]\s*$/.exec(s);
    if (m) {
      const out: number[] = [];
      for (const part of m[1]!.split(',').map((x) => x.trim()).filter(Boolean)) {
        const r = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (!r) {
          ctx.add(n, path, `bad CPT list '${s}'`);
          return undefined;
        }
        for (let v = Number(r[1]); v <= Number(r[2] ?? r[1]); v++) out.push(v);
      }
      return out;
    }
  }
  ctx.add(n, path, `expected a CPT list such as "[0,1]", got ${JSON.stringify(s ?? null)}`);
  return undefined;
}

function parseInterfaces(ctx: Ctx, n: Node | null, path: string): string[] {
  const out: string[] = [];
  if (isSeq(n)) n.items.forEach((it, i) => ((s) => s && out.push(s))(str(ctx, it as Node, `${path}[${i}]`)));
  else {
    const es = entries(ctx, n, path);
    for (const e of es ?? []) {
      const s = str(ctx, e.value, `${path}.${e.key}`);
      if (s !== undefined) out.push(s);
    }
  }
  for (const [i, name] of out.entries()) {
    if (name.length > 15 || /[\s/:]/.test(name)) ctx.add(n, `${path}[${i}]`, `'${name}' is not a valid interface name`);
  }
  return out;
}

function parseTunables(ctx: Ctx, n: Node | null, path: string): Partial<NiTunables> {
  const out: Partial<NiTunables> = {};
  for (const e of entries(ctx, n, path) ?? []) {
    if (!(TUNABLE_KEYS as readonly string[]).includes(e.key)) {
      ctx.add(e.keyNode, `${path}.${e.key}`, `unknown tunable (known: ${TUNABLE_KEYS.join(', ')})`);
      continue;
    }
    const v = int(ctx, e.value, `${path}.${e.key}`, -1, 0x7fffffff);
    if (v !== undefined) out[e.key as keyof NiTunables] = v;
  }
  return out;
}

function parseLndTunables(ctx: Ctx, n: Node | null, path: string, net: NetId | undefined): Counters {
  const out: Counters = {};
  if (isScalar(n) && (n.value === null || n.value === '')) return out;
  const known = net ? LND_TUNABLE_KEYS[net.type] : undefined;
  for (const e of entries(ctx, n, path) ?? []) {
    if (known && !known.includes(e.key)) {
      ctx.add(e.keyNode, `${path}.${e.key}`, `not an lnd tunable of ${net!.toString()} (known: ${known.join(', ')})`);
      continue;
    }
    const v = int(ctx, e.value, `${path}.${e.key}`, -1, 0x7fffffff);
    if (v !== undefined) out[e.key] = v;
  }
  return out;
}

function parseNiList(ctx: Ctx, n: Node | null, path: string, net: NetId | undefined, netTunables: Partial<NiTunables>, netLnd: Counters, netCpts?: number[]): ConfigNi[] {
  const out: ConfigNi[] = [];
  (items(ctx, n, path) ?? []).forEach((it, i) => {
    const p = `${path}[${i}]`;
    const ni: ConfigNi = { key: p, interfaces: [], tunables: { ...netTunables }, lndTunables: { ...netLnd }, ...(netCpts ? { cpts: netCpts } : {}) };
    const line = ctx.line(it);
    if (line !== undefined) ni.line = line;
    let nid: string | undefined;
    for (const e of entries(ctx, it, p) ?? []) {
      const kp = `${p}.${e.key}`;
      if (e.key === 'interfaces') ni.interfaces = parseInterfaces(ctx, e.value, kp);
      else if (e.key === 'nid') {
        const s = str(ctx, e.value, kp);
        const parsed = s === undefined ? undefined : syntax(ctx, e.value, kp, () => Nid.parse(s));
        if (parsed && net && !parsed.net.equals(net)) ctx.add(e.value, kp, `NID ${parsed.toString()} is not on net ${net.toString()}`);
        else if (parsed) nid = parsed.toString();
      } else if (e.key === 'tunables') Object.assign(ni.tunables, parseTunables(ctx, e.value, kp));
      else if (e.key === 'lnd tunables') Object.assign(ni.lndTunables, parseLndTunables(ctx, e.value, kp, net));
      else if (e.key === 'CPT') {
        const c = parseCpts(ctx, e.value, kp);
        if (c) ni.cpts = c;
      } else if (!NI_SHOW_ONLY.has(e.key)) ctx.add(e.keyNode, kp, 'unknown key');
    }
    if (ni.interfaces.length === 0) {
      if (nid !== undefined) ni.nid = nid;
      else if (!net?.isLo) ctx.add(it, p, "an NI needs 'interfaces' or 'nid'");
    }
    out.push(ni);
  });
  return out;
}

function origin(ctx: Ctx, n: Node | null, key: string): Origin {
  const line = ctx.line(n);
  return line === undefined ? { key } : { key, line };
}

function parseNetSection(ctx: Ctx, n: Node | null, cfg: LnetConfig): void {
  const nets = (cfg.nets ??= []);
  (items(ctx, n, 'net') ?? []).forEach((it, i) => {
    const p = `net[${i}]`;
    const es = entries(ctx, it, p);
    if (!es) return;
    const typeE = es.find((e) => e.key === 'net type');
    if (!typeE) return ctx.add(it, p, "missing 'net type'");
    const net = parseNet(ctx, typeE.value, `${p}.net type`);
    let tun: Partial<NiTunables> = {};
    let lnd: Counters = {};
    let cpts: number[] | undefined;
    for (const e of es) {
      if (e.key === 'tunables') tun = parseTunables(ctx, e.value, `${p}.tunables`);
      else if (e.key === 'lnd tunables') lnd = parseLndTunables(ctx, e.value, `${p}.lnd tunables`, net);
      else if (e.key === 'CPT') cpts = parseCpts(ctx, e.value, `${p}.CPT`);
      else if (e.key !== 'net type' && e.key !== 'local NI(s)') ctx.add(e.keyNode, `${p}.${e.key}`, 'unknown key');
    }
    const nisE = es.find((e) => e.key === 'local NI(s)');
    const nis = nisE ? parseNiList(ctx, nisE.value, `${p}.local NI(s)`, net, tun, lnd, cpts) : [];
    if (!nisE && net && !net.isLo) ctx.add(it, p, "missing 'local NI(s)'");
    if (!net || net.isLo) return; // lo is always there: skipped as lnetctl does
    const name = net.toString();
    const existing = nets.find((x) => x.net === name);
    if (existing) existing.nis.push(...nis);
    else nets.push({ ...origin(ctx, it, p), net: name, nis });
  });
  // The same interface twice on one net is an error.
  for (const net of nets) {
    const seen = new Set<string>();
    for (const ni of net.nis) for (const f of ni.interfaces) {
      if (seen.has(f)) ctx.problems.push({ ...(ni.line !== undefined ? { line: ni.line } : {}), key: ni.key, message: `interface ${f} is given twice on ${net.net}` });
      seen.add(f);
    }
  }
}

function parseIp2netsSection(ctx: Ctx, n: Node | null, cfg: LnetConfig): void {
  const nets = (cfg.nets ??= []);
  (items(ctx, n, 'ip2nets') ?? []).forEach((it, i) => {
    const p = `ip2nets[${i}]`;
    let spec: string | undefined;
    let ifs: string[] = [];
    const ranges: string[] = [];
    for (const e of entries(ctx, it, p) ?? []) {
      const kp = `${p}.${e.key}`;
      if (e.key === 'net-spec') spec = str(ctx, e.value, kp);
      else if (e.key === 'interfaces') ifs = parseInterfaces(ctx, e.value, kp);
      else if (e.key === 'ip-range') for (const r of entries(ctx, e.value, kp) ?? []) ((s) => s && ranges.push(s))(str(ctx, r.value, `${kp}.${r.key}`));
      else ctx.add(e.keyNode, kp, 'unknown key');
    }
    if (spec === undefined) return ctx.add(it, p, "missing 'net-spec'");
    const specs = syntax(ctx, it, `${p}.net-spec`, () => parseNetworks(spec!, 'net-spec'));
    if (!specs || specs.length !== 1) return specs && ctx.add(it, `${p}.net-spec`, 'give exactly one net');
    if (ranges.length === 0) ctx.add(it, p, "missing 'ip-range'");
    else syntax(ctx, it, `${p}.ip-range`, () => parseIp2nets(ranges.map((r) => `${spec} ${r}`).join(';'), 'ip-range'));
    const net = specs[0]!.net.toString();
    const interfaces = ifs.length ? ifs : specs[0]!.interfaces.map((x) => x.name);
    const o = origin(ctx, it, p);
    const nis: ConfigNi[] = interfaces.length ? interfaces.map((f) => ({ ...o, interfaces: [f], tunables: {}, lndTunables: {} })) : [{ ...o, interfaces: [], tunables: {}, lndTunables: {} }];
    if (interfaces.length === 0) ctx.add(it, p, 'hpcnet needs the interfaces of an ip2nets entry');
    const existing = nets.find((x) => x.net === net);
    if (existing) existing.nis.push(...nis);
    else nets.push({ ...o, net, nis });
  });
}

function parseRouteSection(ctx: Ctx, n: Node | null, cfg: LnetConfig): void {
  const routes = (cfg.routes ??= []);
  (items(ctx, n, 'route') ?? []).forEach((it, i) => {
    const p = `route[${i}]`;
    let net: NetId | undefined;
    let gws: Nid[] | undefined;
    let hop = -1;
    let priority = 0;
    let ok = true;
    const es = entries(ctx, it, p);
    if (!es) return;
    for (const e of es) {
      const kp = `${p}.${e.key}`;
      if (e.key === 'net') net = parseNet(ctx, e.value, kp);
      else if (e.key === 'gateway') {
        const s = str(ctx, e.value, kp);
        gws = s === undefined ? undefined : syntax(ctx, e.value, kp, () => expandNidRange(s, 'gateway'));
      } else if (e.key === 'hop') {
        const v = int(ctx, e.value, kp, -1, 255);
        if (v === 0) ctx.add(e.value, kp, 'hop must be -1 (unset) or 1-255');
        if (v === undefined || v === 0) ok = false;
        else hop = v;
      } else if (e.key === 'priority') {
        const v = int(ctx, e.value, kp, 0, 0xffffffff);
        if (v === undefined) ok = false;
        else priority = v;
      } else if (e.key !== 'state' && e.key !== 'type' && e.key !== 'health_sensitivity') ctx.add(e.keyNode, kp, 'unknown key');
    }
    if (!es.some((e) => e.key === 'net')) ctx.add(it, p, "missing 'net'");
    if (!es.some((e) => e.key === 'gateway')) ctx.add(it, p, "missing 'gateway'");
    if (!net || !gws || !ok) return;
    if (net.isLo) return ctx.add(it, `${p}.net`, "'lo' cannot be a route target");
    for (const g of gws) {
      if (g.net.equals(net)) {
        ctx.add(it, `${p}.gateway`, `gateway ${g.toString()} is on the target net ${net.toString()}`);
        continue;
      }
      routes.push({ ...origin(ctx, it, p), net: net.toString(), gateway: g.toString(), hop, priority });
    }
  });
}

/** `udsp:` as lnetctl export writes it: idx, src, dst, rte (`NA` when absent), action: { priority }. */
function parseUdspSection(ctx: Ctx, n: Node | null, cfg: LnetConfig): void {
  const rules = (cfg.udsp ??= []);
  (items(ctx, n, 'udsp') ?? []).forEach((it, i) => {
    const p = `udsp[${i}]`;
    const es = entries(ctx, it, p);
    if (!es) return;
    const spec: UdspRuleSpec = {};
    for (const e of es) {
      const kp = `${p}.${e.key}`;
      if (e.key === 'idx') {
        const v = int(ctx, e.value, kp, 0, 0x7fffffff);
        if (v !== undefined) spec.idx = v;
      } else if (e.key === 'src' || e.key === 'dst' || e.key === 'rte') {
        const v = str(ctx, e.value, kp);
        if (v !== undefined && v !== 'NA') spec[e.key] = v;
      } else if (e.key === 'action') {
        for (const f of entries(ctx, e.value, kp) ?? []) {
          if (f.key !== 'priority') ctx.add(f.keyNode, `${kp}.${f.key}`, 'unknown action (priority)');
          else {
            const v = int(ctx, f.value, `${kp}.priority`, 0, 0xfffffffe);
            if (v !== undefined) spec.priority = v;
          }
        }
      } else ctx.add(e.keyNode, kp, 'unknown key (idx, src, dst, rte, action)');
    }
    // an entry with only idx names a rule for import --del
    if (!spec.src && !spec.dst && !spec.rte && spec.idx !== undefined) rules.push({ ...origin(ctx, it, p), ...spec });
    else if (syntax(ctx, it, p, () => checkUdspSpec(spec)) !== undefined) rules.push({ ...origin(ctx, it, p), ...spec });
  });
}

function parsePeerSection(ctx: Ctx, n: Node | null, cfg: LnetConfig): void {
  const peers = (cfg.peers ??= []);
  (items(ctx, n, 'peer') ?? []).forEach((it, i) => {
    const p = `peer[${i}]`;
    let prim: Nid | undefined;
    let mr = true;
    const nids: string[] = [];
    const es = entries(ctx, it, p);
    if (!es) return;
    for (const e of es) {
      const kp = `${p}.${e.key}`;
      if (e.key === 'primary nid') {
        const s = str(ctx, e.value, kp);
        prim = s === undefined ? undefined : syntax(ctx, e.value, kp, () => Nid.parse(s));
      } else if (e.key === 'Multi-Rail') mr = bool(ctx, e.value, kp) ?? mr;
      else if (e.key === 'peer ni')
        (items(ctx, e.value, kp) ?? []).forEach((pn, j) => {
          const jp = `${kp}[${j}]`;
          for (const f of entries(ctx, pn, jp) ?? []) {
            if (f.key === 'nid') {
              const s = str(ctx, f.value, `${jp}.nid`);
              const list = s === undefined ? undefined : syntax(ctx, f.value, `${jp}.nid`, () => expandNidRange(s));
              for (const x of list ?? []) nids.push(x.toString());
            } else if (!PEER_NI_SHOW_ONLY.has(f.key)) ctx.add(f.keyNode, `${jp}.${f.key}`, 'unknown key');
          }
        });
      else if (e.key !== 'peer state') ctx.add(e.keyNode, kp, 'unknown key');
    }
    if (!es.some((e) => e.key === 'primary nid')) return ctx.add(it, p, "missing 'primary nid'");
    if (!prim) return;
    const ps = prim.toString();
    if (peers.some((x) => x.primaryNid === ps)) return ctx.add(it, p, `peer ${ps} is listed twice`);
    peers.push({ ...origin(ctx, it, p), primaryNid: ps, multiRail: mr, nids: [...new Set(nids.filter((x) => x !== ps))] });
  });
}

function parseRouting(ctx: Ctx, n: Node | null, cfg: LnetConfig): void {
  const take = (m: Node | null, path: string): void => {
    for (const e of entries(ctx, m, path) ?? []) {
      if (e.key === 'enable') {
        const v = int(ctx, e.value, `${path}.enable`, 0, 1);
        if (v !== undefined) cfg.routing = { ...origin(ctx, e.value, 'routing.enable'), enable: v === 1 };
      } else if (!/^cpt\[\d+\]$/.test(e.key)) ctx.add(e.keyNode, `${path}.${e.key}`, 'unknown key');
    }
  };
  if (isSeq(n)) n.items.forEach((it, i) => take(it as Node, `routing[${i}]`));
  else take(n, 'routing');
}

function parseBuffers(ctx: Ctx, n: Node | null, cfg: LnetConfig): void {
  const b: Origin & BufferSpec = origin(ctx, n, 'buffers');
  for (const e of entries(ctx, n, 'buffers') ?? []) {
    if (e.key !== 'tiny' && e.key !== 'small' && e.key !== 'large') {
      ctx.add(e.keyNode, `buffers.${e.key}`, 'unknown key (tiny, small, large)');
      continue;
    }
    const v = int(ctx, e.value, `buffers.${e.key}`, 0, 0x7fffffff);
    if (v !== undefined) b[e.key] = v;
  }
  cfg.buffers = b;
}

function parseGlobal(ctx: Ctx, n: Node | null, cfg: LnetConfig): void {
  const g: NonNullable<LnetConfig['global']> = { ...origin(ctx, n, 'global'), values: {}, lines: {} };
  for (const e of entries(ctx, n, 'global') ?? []) {
    const kp = `global.${e.key}`;
    if (e.key === 'lnd_timeout') continue; // derived by the kernel, shown by export
    const d = globalDef(e.key);
    if (!d) {
      ctx.add(e.keyNode, kp, `unknown global (known: ${GLOBAL_DEFS.map((x) => x.key).join(', ')})`);
      continue;
    }
    const v = int(ctx, e.value, kp, 0, 0xffffffff);
    if (v === undefined) continue;
    g.values[d.key] = v;
    const l = ctx.line(e.value);
    if (l !== undefined) g.lines[d.key] = l;
  }
  // Each value against the document's other values (or the kernel defaults).
  const defaults: Record<string, number> = { retry_count: 2, transaction_timeout: 150, health_sensitivity: 100 };
  for (const [k, v] of Object.entries(g.values) as [SettableGlobalKey, number][]) {
    const why = globalDef(k)!.check(v, (x) => g.values[x] ?? defaults[x] ?? 0);
    if (why) ctx.problems.push({ ...(g.lines[k] !== undefined ? { line: g.lines[k] } : {}), key: `global.${k}`, message: `${v}: ${why}` });
  }
  cfg.global = g;
}

function parseTargets(ctx: Ctx, n: Node | null, section: 'discover' | 'ping', cfg: LnetConfig): void {
  const list: ConfigTarget[] = [];
  (items(ctx, n, section) ?? []).forEach((it, i) => {
    const p = `${section}[${i}]`;
    const es = entries(ctx, it, p);
    let nid: string | undefined;
    let timeout: number | undefined;
    for (const e of es ?? []) {
      const kp = `${p}.${e.key}`;
      if (e.key === 'nid' || e.key === 'primary nid') {
        const s = str(ctx, e.value, kp);
        nid = s === undefined ? undefined : syntax(ctx, e.value, kp, () => Nid.parse(s).toString());
      } else if (e.key === 'timeout') timeout = int(ctx, e.value, kp, 0, 180000);
      else if (e.key !== 'Multi-Rail' && e.key !== 'peer ni' && e.key !== 'force') ctx.add(e.keyNode, kp, 'unknown key');
    }
    if (nid) list.push({ ...origin(ctx, it, p), nid, ...(timeout !== undefined ? { timeoutMs: timeout } : {}) });
    else if (es && !es.some((e) => e.key === 'nid' || e.key === 'primary nid')) ctx.add(it, p, "missing 'nid'");
  });
  cfg[section] = list;
}

/**
 * Parse and validate an lnet.conf document. Throws LnetConfigError listing
 * every problem (line and key) when any part is bad.
 */
export function parseLnetConfig(text: string, source = 'document'): LnetConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const ctx = new Ctx(lc);
  for (const e of doc.errors) ctx.problems.push({ line: lc.linePos(e.pos[0]).line, key: '(yaml)', message: e.message.split('\n')[0]! });
  if (ctx.problems.length) throw new LnetConfigError(ctx.problems, source);
  const cfg: LnetConfig = {};
  const root = doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return cfg;
  for (const e of entries(ctx, root, '(document)') ?? []) {
    switch (e.key) {
      case 'net':
        parseNetSection(ctx, e.value, cfg);
        break;
      case 'ip2nets':
        parseIp2netsSection(ctx, e.value, cfg);
        break;
      case 'route':
        parseRouteSection(ctx, e.value, cfg);
        break;
      case 'peer':
        parsePeerSection(ctx, e.value, cfg);
        break;
      case 'routing':
        parseRouting(ctx, e.value, cfg);
        break;
      case 'buffers':
        parseBuffers(ctx, e.value, cfg);
        break;
      case 'global':
        parseGlobal(ctx, e.value, cfg);
        break;
      case 'numa':
        for (const f of entries(ctx, e.value, 'numa') ?? []) {
          if (f.key !== 'range') ctx.add(f.keyNode, `numa.${f.key}`, 'unknown key (range)');
          else {
            const v = int(ctx, f.value, 'numa.range', 0, 0xffffffff);
            if (v !== undefined) cfg.numa = { ...origin(ctx, f.value, 'numa.range'), range: v };
          }
        }
        break;
      case 'discover':
      case 'ping':
        parseTargets(ctx, e.value, e.key, cfg);
        break;
      case 'statistics':
        break; // ignored, as lnetctl does
      case 'udsp':
        parseUdspSection(ctx, e.value, cfg);
        break;
      default:
        ctx.add(e.keyNode, e.key, `unknown section (known: ${SECTIONS.join(', ')})`);
    }
  }
  if (ctx.problems.length) throw new LnetConfigError(ctx.problems, source);
  return cfg;
}
